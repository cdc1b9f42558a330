package index_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"backoffice/internal/audit/pgtest"
	"backoffice/internal/index"
)

// benchRows is the large tenant's size; benchOther is a second tenant's,
// there to show that a query's cost is its own tenant's.
const (
	benchRows   = 1_000_000
	benchOther  = 50_000
	benchTenant = "kasko:bench:live"
	benchBatch  = 10_000
	// benchDataVersion names the cached SQLite file: change it when the
	// schema or the generator changes.
	benchDataVersion = 6
)

// benchRow is the i-th synthetic row of a tenant: about 1,200 last
// names, 40 first names, e-mails, phones, VINs and plates of the shapes
// the upstream sends.
func benchRow(tenant string, i int) index.Row {
	var (
		benchFirst = []string{"Jānis", "Anna", "Pēteris", "Līga", "Andris", "Ilze", "Mārtiņš", "Inese", "Ștefan", "Ioana",
			"Mihai", "Elena", "Andrei", "Maria", "Paweł", "Małgorzata", "Krzysztof", "Agnieszka", "Jürgen", "Jörg",
			"Sabine", "Günther", "Ēriks", "Dace", "Kārlis", "Zane", "Raimonds", "Gunta", "Edgars", "Sandra",
			"Tomasz", "Katarzyna", "Łukasz", "Ewa", "Radu", "Cristina", "Vlad", "Alina", "Uwe", "Heike"}
		benchStems = []string{"Bērziņ", "Kalniņ", "Ozoliņ", "Jansons", "Liepiņ", "Krūmiņ", "Balodis", "Zariņ", "Pētersons",
			"Kļaviņ", "Popesc", "Ionesc", "Țurcan", "Dumitr", "Ștefănesc", "Stoica", "Nowak", "Kowalsk", "Wiśniewsk",
			"Wójcik", "Łukasiewicz", "Strauß", "Müller", "Schröder", "Weiß", "Brandt", "Vītol", "Lāc", "Eglīt", "Siliņ"}
		benchSuffixes = []string{"š", "a", "s", "u", "escu", "i", "ski", "ska", "er", "ek", "ov", "ens", "ane", "iņa",
			"uks", "is", "e", "o", "ić", "ak", "as", "ys", "an", "on", "ul", "el", "ar", "ut", "ik", "ey",
			"ard", "ert", "ald", "olf", "ick", "ach", "off", "ing", "ley", "son"}
		benchStatuses = []string{"paid", "paid", "paid", "paid", "accepted", "accepted", "pending", "pending", "cancelled", "cancelled", "expired"}
		benchProducts = []string{"kasko-lv", "kasko-lv", "kasko-ro", "kasko-pl", "kasko-de", "mini-kasko", "kasko-plus"}
		benchCurrency = []string{"eur", "eur", "eur", "ron", "pln"}
	)
	rng := rand.New(rand.NewPCG(uint64(i), uint64(len(tenant))))
	first := benchFirst[rng.IntN(len(benchFirst))]
	last := benchStems[rng.IntN(len(benchStems))] + benchSuffixes[rng.IntN(len(benchSuffixes))]
	created := time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(rng.Int64N(int64(3 * 365 * 24 * time.Hour))))
	start := created.Add(time.Duration(rng.IntN(30*24)) * time.Hour)
	r := index.Row{
		Tenant: tenant, ID: fmt.Sprintf("tpol_%08x", uint32(i)*2654435761), InsurerID: fmt.Sprintf("TEST-TESTE%07d", i),
		FirstName: first, LastName: last, ProductID: benchProducts[rng.IntN(len(benchProducts))],
		Status: benchStatuses[rng.IntN(len(benchStatuses))], Currency: benchCurrency[rng.IntN(len(benchCurrency))],
		GrossMinor: 5000 + rng.Int64N(500000), Language: "lv", Zone: "Europe/Riga",
		CreatedAt: created, StartDate: start, CreatedDay: created.Format(time.DateOnly), StartDay: start.Format(time.DateOnly),
		Version: fmt.Sprintf("v%d", rng.IntN(5)), SeenAt: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
		Email: fmt.Sprintf("%s.%s.%d@example.com", strings.ToLower(index.Fold(first)), strings.ToLower(index.Fold(last)), rng.IntN(10000)),
		Phone: fmt.Sprintf("+371 2%03d %04d", rng.IntN(1000), rng.IntN(10000)),
		VIN:   fmt.Sprintf("WVWZZZ%011d", rng.Int64N(1e11)), Plate: fmt.Sprintf("%c%c-%04d", 'A'+rng.IntN(26), 'A'+rng.IntN(26), rng.IntN(10000)),
	}
	if i%3 == 0 {
		r.ExternalID = fmt.Sprintf("EXT-%07d", i)
	}
	if i%10 != 0 { // one in ten open-ended
		r.EndDate = start.AddDate(1, 0, 0)
		r.EndDay = r.EndDate.Format(time.DateOnly)
		r.Expired = r.EndDate.Before(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	}
	r.Cancelled = r.Status == "cancelled"
	r.TaxMinor = r.GrossMinor / 11
	if r.Cancelled {
		r.TerminationDate = start.Add(time.Duration(rng.IntN(300*24)) * time.Hour)
		r.TerminationDay = r.TerminationDate.Format(time.DateOnly)
	}
	return r
}

// fill writes both tenants' rows through the bulk path: batches of
// benchBatch rows, one transaction each, the sort indexes built at the
// end.
func fill(b *testing.B, s index.Store) {
	batches := func(yield func([]index.Row) bool) {
		for _, t := range []struct {
			tenant string
			n      int
		}{{benchTenant, benchRows}, {"kasko:other:live", benchOther}} {
			rows := make([]index.Row, 0, benchBatch)
			for i := range t.n {
				rows = append(rows, benchRow(t.tenant, i))
				if len(rows) == benchBatch || i == t.n-1 {
					if !yield(rows) {
						return
					}
					rows = rows[:0]
				}
			}
		}
	}
	if err := index.BulkLoad(ctx, s, batches); err != nil {
		b.Fatal(err)
	}
}

// benchSQLite opens the cached 1M-row SQLite file, building it first
// when missing (a few minutes, once per machine).
func benchSQLite(b *testing.B) (index.Store, string) {
	path := filepath.Join(os.TempDir(), fmt.Sprintf("backoffice-index-bench-v%d.db", benchDataVersion))
	if _, err := os.Stat(path); err != nil {
		tmp := path + ".building"
		for _, suffix := range []string{"", "-wal", "-shm"} {
			os.Remove(tmp + suffix)
		}
		began := time.Now()
		s, err := index.Open(ctx, index.Config{Path: tmp})
		if err != nil {
			b.Fatal(err)
		}
		fill(b, s)
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			b.Fatal(err)
		}
		b.Logf("built %s in %v", path, time.Since(began).Round(time.Second))
	}
	s := mustOpen(b, index.Config{Path: path})
	return s, path
}

func benchPostgres(b *testing.B) index.Store {
	s := mustOpen(b, index.Config{DatabaseURL: pgtest.Start(b).NewDatabase(b)})
	began := time.Now()
	fill(b, s)
	// What autovacuum does in time on a live server: statistics for the
	// planner, and the visibility map for index-only counts.
	if err := index.Exec(ctx, s, `VACUUM ANALYZE`); err != nil {
		b.Fatal(err)
	}
	b.Logf("built the PostgreSQL index in %v", time.Since(began).Round(time.Second))
	return s
}

// BenchmarkIndex1M measures the list's queries over 1,000,000 rows of one
// tenant (and 50,000 of another). Run it with
//
//	go test -run '^$' -bench Index1M -benchtime 200x ./internal/index/
//
// Each sub-benchmark reports its p50 and p95 latency; "cached" ones
// count with the totals and facets cache the store keeps, "uncached"
// ones without it (the first request after a write).
func BenchmarkIndex1M(b *testing.B) {
	if testing.Short() {
		b.Skip("skipped in -short: builds a 1,000,000-row index")
	}
	b.Run("sqlite", func(b *testing.B) {
		s, path := benchSQLite(b)
		var size int64
		for _, suffix := range []string{"", "-wal"} {
			if fi, err := os.Stat(path + suffix); err == nil {
				size += fi.Size()
			}
		}
		b.Logf("SQLite file: %d bytes", size)
		benchQueries(b, s, size)
	})
	b.Run("postgres", func(b *testing.B) {
		s := benchPostgres(b)
		var size int64
		if err := index.QueryInt(ctx, s, `SELECT pg_database_size(current_database())`, &size); err != nil {
			b.Fatal(err)
		}
		b.Logf("PostgreSQL database: %d bytes", size)
		benchQueries(b, s, size)
	})
}

func benchQueries(b *testing.B, s index.Store, size int64) {
	n, err := s.Count(ctx, benchTenant)
	if err != nil || n != benchRows {
		b.Fatalf("Count = %d, %v", n, err)
	}
	// Texts people type: names (in either order, without diacritics),
	// prefixes, ids, e-mail and phone fragments, VINs, plates.
	probe := benchRow(benchTenant, 123457)
	texts := []string{
		"berzins janis", "bērz", "kalnin", "Popescu", "stefan turc", "nowak pawel", "strauss",
		probe.ID, probe.InsurerID, strings.TrimPrefix(probe.ID, "tpol_"), "TEST-TESTE01234",
		probe.Email[:8], strings.SplitN(probe.Email, "@", 2)[0], probe.Phone[5:], probe.Phone, probe.VIN[:10], probe.Plate,
		"janis", "wisniewska", "müller jörg",
	}
	page := func(i int) index.Query {
		return index.Query{Tenant: benchTenant, Status: []string{"paid"}, Currency: []string{"eur"},
			Sort: "-" + index.SortPremium, Offset: (i % 5) * 100, Limit: 100}
	}
	sorts := []string{index.SortCreated, "-" + index.SortCreated, index.SortHolder, "-" + index.SortEnd, index.SortEnd,
		index.SortInsurerID, "-" + index.SortPremium, index.SortStatus, index.SortProduct, index.SortEmail, index.SortStart}
	facetQueries := []index.Query{
		{Tenant: benchTenant},
		{Tenant: benchTenant, Status: []string{"paid"}},
		{Tenant: benchTenant, Status: []string{"paid"}, Currency: []string{"eur"}},
		{Tenant: benchTenant, Expired: new(bool), Product: []string{"kasko-lv"}},
		{Tenant: benchTenant, Text: "berzins"},
	}
	run := func(name string, op func(i int) error) {
		b.Run(name, func(b *testing.B) {
			var lat []time.Duration
			i := 0
			for b.Loop() {
				began := time.Now()
				if err := op(i); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(began))
				i++
			}
			slices.Sort(lat)
			pct := func(p float64) float64 {
				return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
			}
			b.ReportMetric(pct(0.50), "p50-ms")
			b.ReportMetric(pct(0.95), "p95-ms")
			b.ReportMetric(float64(size), "db-bytes")
		})
	}
	run("search", func(i int) error {
		_, err := s.Search(ctx, index.Query{Tenant: benchTenant, Text: texts[i%len(texts)], Limit: 25})
		return err
	})
	run("search-public", func(i int) error {
		_, err := s.Search(ctx, index.Query{Tenant: benchTenant, Text: texts[i%len(texts)], Public: true, Limit: 25})
		return err
	})
	run("page", func(i int) error {
		_, err := s.Search(ctx, page(i))
		return err
	})
	run("sorts", func(i int) error {
		_, err := s.Search(ctx, index.Query{Tenant: benchTenant, Sort: sorts[i%len(sorts)], Offset: (i % 3) * 50, Limit: 50})
		return err
	})
	run("facets", func(i int) error {
		_, err := s.Facets(ctx, facetQueries[i%len(facetQueries)])
		return err
	})
	index.NoCache(s)
	run("page-uncached", func(i int) error {
		_, err := s.Search(ctx, page(i))
		return err
	})
	run("sorts-uncached", func(i int) error {
		_, err := s.Search(ctx, index.Query{Tenant: benchTenant, Sort: sorts[i%len(sorts)], Offset: (i % 3) * 50, Limit: 50})
		return err
	})
	run("facets-uncached", func(i int) error {
		_, err := s.Facets(ctx, facetQueries[i%len(facetQueries)])
		return err
	})
}
