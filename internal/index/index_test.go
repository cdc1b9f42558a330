package index_test

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"backoffice/internal/audit/pgtest"
	"backoffice/internal/index"
)

var ctx = context.Background()

const (
	tenantA = "kasko:d1:test"
	tenantB = "kasko:d2:test"
)

func mustOpen(t testing.TB, cfg index.Config) index.Store {
	t.Helper()
	s, err := index.Open(ctx, cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestSQLite(t *testing.T) {
	t.Parallel()
	contract(t, func(t *testing.T) index.Store {
		return mustOpen(t, index.Config{Path: filepath.Join(t.TempDir(), "index.db")})
	})
}

// TestPostgres runs against a real server: a throwaway one started here,
// or AUDIT_TEST_DATABASE_URL's.
func TestPostgres(t *testing.T) {
	t.Parallel()
	srv := pgtest.Start(t)
	contract(t, func(t *testing.T) index.Store {
		return mustOpen(t, index.Config{DatabaseURL: srv.NewDatabase(t)})
	})
}

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t.Add(9 * time.Hour)
}

func ptr[T any](v T) *T { return &v }

// fixture is tenant A's rows (r1…r5, r7) and tenant B's r6, which
// shares r1's id and holder.
func fixture() []index.Row {
	seen := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)
	row := func(tenant, id, insurer, external, first, last, product, status, currency string, gross int64,
		created, start, end string, expired bool) index.Row {
		r := index.Row{Tenant: tenant, ID: id, InsurerID: insurer, ExternalID: external, FirstName: first, LastName: last,
			ProductID: product, Status: status, Currency: currency, GrossMinor: gross, Language: "lv", Zone: "Europe/Riga",
			CreatedAt: day(created), StartDate: day(start), CreatedDay: created, StartDay: start, Expired: expired,
			Cancelled: status == "cancelled", Version: "v1", SeenAt: seen}
		if end != "" {
			r.EndDate, r.EndDay = day(end), end
		}
		return r
	}
	r1 := row(tenantA, "tpol_3a1d", "TEST-TESTE76", "EXT-9001", "Jānis", "Bērziņš", "kasko-lv", "paid", "eur", 12000, "2024-01-10", "2024-01-11", "2025-01-10", false)
	r1.Email, r1.Phone, r1.VIN, r1.Plate = "janis.b.1990@example.com", "+371 2123 4567", "WVWZZZ1JZXW000001", "AB-1234"
	r2 := row(tenantA, "tpol_4b2e", "TEST-TESTE77", "", "Ștefan", "Țurcanu", "kasko-ro", "pending", "ron", 50000, "2024-02-01", "2024-02-01", "", false)
	r2.Email, r2.Phone, r2.VIN, r2.Plate = "stefan@example.ro", "0740 123 456", "UU1KSDAA000000002", "B-123-XYZ"
	r3 := row(tenantA, "tpol_5c3f", "TEST-TESTE78", "EXT-9003", "Jürgen", "Strauß", "kasko-lv", "cancelled", "eur", 8000, "2023-06-01", "2023-06-01", "2024-06-01", true)
	r3.Email, r3.Phone = "j.strauss@example.de", "+49 30 1234567"
	r3.TerminationDate = day("2023-09-01")
	r4 := row(tenantA, "lpol_6d4a", "TEST-TESTE79", "", "Paweł", "Łukasiewicz", "kasko-pl", "paid", "pln", 12000, "2024-01-10", "2024-03-01", "2025-03-01", false)
	r4.Email = "pawel@example.pl"
	r4.CreatedAt = r1.CreatedAt // a tie, broken by id
	r5 := row(tenantA, "tpol_7e5b", "TEST-TESTE80", "", "Anna", "Bērziņa", "kasko-lv", "accepted", "eur", 0, "2024-03-15", "2024-04-01", "2024-12-31", true)
	r5.Email = "anna@example.lv"
	r6 := row(tenantB, "tpol_3a1d", "OTHER-1", "", "Jānis", "Bērziņš", "kasko-lv", "paid", "eur", 100, "2024-01-01", "2024-01-01", "", false)
	r6.Email, r6.Phone = "janis.b.1990@example.com", "+371 2123 4567"
	r7 := row(tenantA, "tpol_8f6c", "TEST-TESTE81", "EXT-90012", "Ēriks", "Kalniņš", "kasko-lv", "accepted", "EUR", 30000, "2024-05-01", "2024-05-01", "2025-05-01", false)
	r7.Email = "eriks@example.lv"
	return []index.Row{r1, r2, r3, r4, r5, r6, r7}
}

// rowsOf is fixture's rows of one tenant, by id.
func rowsOf(tenant string) map[string]index.Row {
	out := map[string]index.Row{}
	for _, r := range fixture() {
		if r.Tenant == tenant {
			r.Currency = strings.ToLower(r.Currency)
			out[r.ID] = r
		}
	}
	return out
}

func seeded(t *testing.T, open func(*testing.T) index.Store) index.Store {
	t.Helper()
	s := open(t)
	if err := s.Upsert(ctx, fixture()); err != nil {
		t.Fatalf("Upsert: %v", err)
	}
	return s
}

func search(t *testing.T, s index.Store, q index.Query) index.Page {
	t.Helper()
	if q.Tenant == "" {
		q.Tenant = tenantA
	}
	if q.Limit == 0 {
		q.Limit = index.MaxLimit
	}
	p, err := s.Search(ctx, q)
	if err != nil {
		t.Fatalf("Search(%+v): %v", q, err)
	}
	return p
}

func ids(p index.Page) []string {
	out := make([]string, len(p.Rows))
	for i, r := range p.Rows {
		out[i] = r.ID
	}
	return out
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func contract(t *testing.T, open func(*testing.T) index.Store) {
	t.Run("broad text", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		// More rows match "anna" than a relevance search ranks; the
		// oldest one is the only exact id match.
		n := index.RankedMatches + 30
		base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
		var rows []index.Row
		for i := range n {
			created := base.Add(time.Duration(i) * time.Minute)
			rows = append(rows, index.Row{Tenant: tenantA, ID: fmt.Sprintf("tpol_broad%05d", i), InsurerID: fmt.Sprintf("BROAD-%05d", i),
				FirstName: "Anna", LastName: fmt.Sprintf("Ozola%d", i%7), ProductID: "kasko-lv", Status: "paid", Currency: "eur",
				CreatedAt: created, StartDate: created, CreatedDay: created.Format(time.DateOnly), StartDay: created.Format(time.DateOnly),
				Version: "v1", SeenAt: base})
		}
		mustUpsert(t, s, rows...)
		p := search(t, s, index.Query{Text: "anna", Limit: 25})
		if !p.Capped || p.Total != index.RankedMatches || len(p.Rows) != 25 {
			t.Fatalf("broad relevance search: capped %v, total %d, %d rows", p.Capped, p.Total, len(p.Rows))
		}
		// The newest matches are the ones ranked: none of the 30 oldest.
		for _, r := range p.Rows {
			if r.ID < fmt.Sprintf("tpol_broad%05d", n-index.RankedMatches-1) {
				t.Errorf("an old match %s was ranked", r.ID)
			}
		}
		last := search(t, s, index.Query{Text: "anna", Limit: 25, Offset: index.RankedMatches - 25})
		if len(last.Rows) != 25 || !last.Capped {
			t.Errorf("the last ranked page: %d rows, capped %v", len(last.Rows), last.Capped)
		}
		past := search(t, s, index.Query{Text: "anna", Limit: 25, Offset: index.RankedMatches})
		if len(past.Rows) != 0 || past.Total != index.RankedMatches || !past.Capped {
			t.Errorf("past the cap: %d rows, total %d, capped %v", len(past.Rows), past.Total, past.Capped)
		}
		// A sort by a column orders every match, and counts them all.
		sorted := search(t, s, index.Query{Text: "anna", Sort: index.SortCreated, Limit: 10})
		if sorted.Capped || sorted.Total != n || sorted.Rows[0].ID != "tpol_broad00000" {
			t.Errorf("sorted broad search: capped %v, total %d, first %s", sorted.Capped, sorted.Total, sorted.Rows[0].ID)
		}
		// A narrow text is ranked whole.
		narrow := search(t, s, index.Query{Text: "anna ozola3"})
		if narrow.Capped || narrow.Total != (n+3)/7 {
			t.Errorf("narrow search: capped %v, total %d, want %d", narrow.Capped, narrow.Total, (n+3)/7)
		}
	})
	t.Run("text", func(t *testing.T) {
		t.Parallel()
		s := seeded(t, open)
		for _, c := range []struct {
			text   string
			public bool
			want   []string
		}{
			{"berzins janis", false, []string{"tpol_3a1d"}},
			{"janis berzins", true, []string{"tpol_3a1d"}},
			{"Jānis Bērziņš", true, []string{"tpol_3a1d"}},
			{"BĒRZ", false, []string{"tpol_3a1d", "tpol_7e5b"}},
			{"berz", true, []string{"tpol_3a1d", "tpol_7e5b"}},
			{"berz*", true, []string{"tpol_3a1d", "tpol_7e5b"}},
			{"stefan turcanu", true, []string{"tpol_4b2e"}},
			{"ŞTEFAN", true, []string{"tpol_4b2e"}}, // the cedilla spelling
			{"Ștefan Țurcanu", true, []string{"tpol_4b2e"}},
			{"strauss jurgen", true, []string{"tpol_5c3f"}},
			{"Strauß", true, []string{"tpol_5c3f"}},
			{"Łukasiewicz", true, []string{"lpol_6d4a"}},
			{"pawel luk", true, []string{"lpol_6d4a"}},
			{"eriks kalnins", true, []string{"tpol_8f6c"}},
			{"janis.b", false, []string{"tpol_3a1d"}},
			{"janis.b.1990", true, nil}, // "1990" is in the e-mail only
			{"example.com", false, []string{"tpol_3a1d"}},
			{"example", true, nil},
			{"2123 4567", false, []string{"tpol_3a1d"}},
			{"+371 2123 4567", false, []string{"tpol_3a1d"}},
			{"(371) 2123-4567", false, []string{"tpol_3a1d"}},
			{"21234567", false, []string{"tpol_3a1d"}},
			{"2123 4567", true, nil},
			{"0740 123 456", false, []string{"tpol_4b2e"}},
			{"40 123 456", false, []string{"tpol_4b2e"}},
			{"WVWZZZ1", false, []string{"tpol_3a1d"}},
			{"wvwzzz1jzxw000001", false, []string{"tpol_3a1d"}},
			{"WVWZZZ1", true, nil},
			{"AB-1234", false, []string{"tpol_3a1d"}},
			{"ab1234", false, []string{"tpol_3a1d"}},
			{"ab1234", true, nil},
			{"tpol3a1d", true, []string{"tpol_3a1d"}},
			{"3a1d", true, []string{"tpol_3a1d"}},
			{"tpol_3a1d", true, []string{"tpol_3a1d"}},
			{"TEST-TESTE76", true, []string{"tpol_3a1d"}},
			{"testteste76", true, []string{"tpol_3a1d"}},
			{"teste7", true, []string{"lpol_6d4a", "tpol_3a1d", "tpol_4b2e", "tpol_5c3f"}},
			{"ext9003", true, []string{"tpol_5c3f"}},
			{"lpol", true, []string{"lpol_6d4a"}},
			// Query syntax and SQL in the text is searched for as text.
			{`"`, false, nil},
			{`*`, false, nil},
			{`AND`, false, nil},
			{`NEAR(`, false, nil},
			{`NEAR(janis berzins)`, false, nil},
			{`janis NOT berzins`, false, nil},
			{`janis OR anna`, false, nil},
			{`janis" OR "anna`, false, nil},
			{`-janis`, false, []string{"tpol_3a1d"}},
			{`'; DROP TABLE index_rows; --`, false, nil},
			{`'; DROP TABLE index_rows; --`, true, nil},
			{`{pub}:`, false, nil},
			{`{sec} : janis`, true, nil},
			{`sec:janis`, false, nil},
			{`pub: berz`, true, nil},
			{`^`, false, nil},
			{`-`, false, nil},
			{`'`, false, nil},
			{`\`, false, nil},
			{`janis:*`, false, []string{"tpol_3a1d"}},
			{`janis & !berzins`, false, []string{"tpol_3a1d"}},
			{`berz | anna`, false, []string{"tpol_7e5b"}},
			{"🚗", false, nil},
			{"janis 🚗", false, []string{"tpol_3a1d"}},
			{strings.Repeat("a", 10000), false, nil},
			{strings.Repeat("janis ", 2000), false, []string{"tpol_3a1d"}},
			{"janis\x00", false, []string{"tpol_3a1d"}},
			{"\x00", false, nil},
			{"   ", false, []string{"lpol_6d4a", "tpol_3a1d", "tpol_4b2e", "tpol_5c3f", "tpol_7e5b", "tpol_8f6c"}},
		} {
			p := search(t, s, index.Query{Text: c.text, Public: c.public})
			name := c.text
			if len(name) > 40 {
				name = name[:40] + "…"
			}
			if got := sorted(ids(p)); !slices.Equal(got, c.want) {
				t.Errorf("Search(%q, public %v) = %v, want %v", name, c.public, got, c.want)
			}
			if p.Total != len(c.want) {
				t.Errorf("Search(%q, public %v): Total %d, want %d", name, c.public, p.Total, len(c.want))
			}
		}
		if n, err := s.Count(ctx, tenantA); err != nil || n != 6 {
			t.Errorf("Count after the hostile texts = %d, %v; want 6", n, err)
		}
	})

	t.Run("exact id first", func(t *testing.T) {
		t.Parallel()
		s := seeded(t, open)
		for _, text := range []string{"EXT-9001", "ext-9001"} {
			// tpol_8f6c (EXT-90012) matches too, and is newer.
			if got := ids(search(t, s, index.Query{Text: text})); !slices.Equal(got, []string{"tpol_3a1d", "tpol_8f6c"}) {
				t.Errorf("Search(%q) = %v, want the exact match first", text, got)
			}
		}
		if got := ids(search(t, s, index.Query{Text: "ext-9001-3"})); len(got) != 0 {
			t.Errorf("Search(ext-9001-3) = %v, want none", got)
		}
	})

	t.Run("public readers", func(t *testing.T) {
		t.Parallel()
		s := seeded(t, open)
		p := search(t, s, index.Query{Text: "janis", Public: true})
		if len(p.Rows) != 1 {
			t.Fatalf("got %v", ids(p))
		}
		r := p.Rows[0]
		if r.Email != "" || r.Phone != "" || r.VIN != "" || r.Plate != "" {
			t.Errorf("public row carries restricted fields: %+v", r)
		}
		if r.FirstName != "Jānis" || r.InsurerID != "TEST-TESTE76" {
			t.Errorf("public row lost its public fields: %+v", r)
		}
		p = search(t, s, index.Query{Public: true})
		for _, r := range p.Rows {
			if r.Email != "" || r.Phone != "" || r.VIN != "" || r.Plate != "" {
				t.Errorf("public row carries restricted fields: %+v", r)
			}
		}
		secret := search(t, s, index.Query{Text: "janis"})
		if secret.Rows[0].Email != "janis.b.1990@example.com" || secret.Rows[0].Plate != "AB-1234" {
			t.Errorf("secret row lost its restricted fields: %+v", secret.Rows[0])
		}
		for _, sort := range []string{index.SortEmail, "-" + index.SortEmail} {
			if _, err := s.Search(ctx, index.Query{Tenant: tenantA, Public: true, Sort: sort, Limit: 10}); !errors.Is(err, index.ErrBadSort) {
				t.Errorf("public sort by %s: %v, want ErrBadSort", sort, err)
			}
			if _, err := s.Search(ctx, index.Query{Tenant: tenantA, Sort: sort, Limit: 10}); err != nil {
				t.Errorf("secret sort by %s: %v", sort, err)
			}
		}
	})

	t.Run("validation", func(t *testing.T) {
		t.Parallel()
		s := seeded(t, open)
		for _, c := range []struct {
			q    index.Query
			want error
		}{
			{index.Query{Limit: 10}, index.ErrBadQuery},
			{index.Query{Tenant: tenantA}, index.ErrBadQuery},
			{index.Query{Tenant: tenantA, Limit: index.MaxLimit + 1}, index.ErrBadQuery},
			{index.Query{Tenant: tenantA, Limit: -1}, index.ErrBadQuery},
			{index.Query{Tenant: tenantA, Limit: 10, Offset: -1}, index.ErrBadQuery},
			{index.Query{Tenant: tenantA, Limit: 10, Sort: "bogus"}, index.ErrBadSort},
			{index.Query{Tenant: tenantA, Limit: 10, Sort: "--created_at"}, index.ErrBadSort},
			{index.Query{Tenant: tenantA, Limit: 10, Sort: "id; DROP TABLE index_rows"}, index.ErrBadSort},
		} {
			if _, err := s.Search(ctx, c.q); !errors.Is(err, c.want) {
				t.Errorf("Search(%+v) = %v, want %v", c.q, err, c.want)
			}
		}
		if _, err := s.Facets(ctx, index.Query{}); !errors.Is(err, index.ErrBadQuery) {
			t.Errorf("Facets without a tenant: %v", err)
		}
		if _, err := s.Facets(ctx, index.Query{Tenant: tenantA, Sort: "bogus"}); err != nil {
			t.Errorf("Facets looked at the sort: %v", err)
		}
	})

	t.Run("filters", func(t *testing.T) {
		t.Parallel()
		s := seeded(t, open)
		all := []string{"lpol_6d4a", "tpol_3a1d", "tpol_4b2e", "tpol_5c3f", "tpol_7e5b", "tpol_8f6c"}
		for _, c := range []struct {
			name string
			q    index.Query
			want []string
		}{
			{"none", index.Query{}, all},
			{"status", index.Query{Status: []string{"paid"}}, []string{"lpol_6d4a", "tpol_3a1d"}},
			{"statuses", index.Query{Status: []string{"paid", "pending"}}, []string{"lpol_6d4a", "tpol_3a1d", "tpol_4b2e"}},
			{"unknown status", index.Query{Status: []string{"nope"}}, nil},
			{"product", index.Query{Product: []string{"kasko-lv"}}, []string{"tpol_3a1d", "tpol_5c3f", "tpol_7e5b", "tpol_8f6c"}},
			{"currency", index.Query{Currency: []string{"EUR"}}, []string{"tpol_3a1d", "tpol_5c3f", "tpol_7e5b", "tpol_8f6c"}},
			{"currencies", index.Query{Currency: []string{"ron", "pln"}}, []string{"lpol_6d4a", "tpol_4b2e"}},
			{"expired", index.Query{Expired: ptr(true)}, []string{"tpol_5c3f", "tpol_7e5b"}},
			{"not expired", index.Query{Expired: ptr(false)}, []string{"lpol_6d4a", "tpol_3a1d", "tpol_4b2e", "tpol_8f6c"}},
			{"created day", index.Query{CreatedFrom: "2024-01-10", CreatedTo: "2024-01-10"}, []string{"lpol_6d4a", "tpol_3a1d"}},
			{"created from", index.Query{CreatedFrom: "2024-03-15"}, []string{"tpol_7e5b", "tpol_8f6c"}},
			{"created to", index.Query{CreatedTo: "2023-06-01"}, []string{"tpol_5c3f"}},
			{"created inverted", index.Query{CreatedFrom: "2024-02-01", CreatedTo: "2024-01-01"}, nil},
			{"start", index.Query{StartFrom: "2024-01-11", StartTo: "2024-03-01"}, []string{"lpol_6d4a", "tpol_3a1d", "tpol_4b2e"}},
			{"start inverted", index.Query{StartFrom: "2024-03-01", StartTo: "2024-01-11"}, nil},
			{"end from", index.Query{EndFrom: "2025-01-10"}, []string{"lpol_6d4a", "tpol_3a1d", "tpol_8f6c"}},
			{"end to", index.Query{EndTo: "2099-12-31"}, []string{"lpol_6d4a", "tpol_3a1d", "tpol_5c3f", "tpol_7e5b", "tpol_8f6c"}},
			{"end range", index.Query{EndFrom: "2024-06-01", EndTo: "2024-12-31"}, []string{"tpol_5c3f", "tpol_7e5b"}},
			{"end inverted", index.Query{EndFrom: "2025-01-01", EndTo: "2024-01-01"}, nil},
			{"premium min", index.Query{PremiumMin: ptr[int64](12000)}, []string{"lpol_6d4a", "tpol_3a1d", "tpol_4b2e", "tpol_8f6c"}},
			{"premium max", index.Query{PremiumMax: ptr[int64](12000)}, []string{"lpol_6d4a", "tpol_3a1d", "tpol_5c3f", "tpol_7e5b"}},
			{"premium exact", index.Query{PremiumMin: ptr[int64](12000), PremiumMax: ptr[int64](12000)}, []string{"lpol_6d4a", "tpol_3a1d"}},
			{"premium zero", index.Query{PremiumMax: ptr[int64](0)}, []string{"tpol_7e5b"}},
			{"premium inverted", index.Query{PremiumMin: ptr[int64](20000), PremiumMax: ptr[int64](100)}, nil},
			{"status and currency", index.Query{Status: []string{"paid"}, Currency: []string{"eur"}}, []string{"tpol_3a1d"}},
			{"combined", index.Query{Product: []string{"kasko-lv"}, Expired: ptr(false), CreatedFrom: "2024-01-01", PremiumMin: ptr[int64](1)}, []string{"tpol_3a1d", "tpol_8f6c"}},
			{"text and filter", index.Query{Text: "berz", Expired: ptr(true)}, []string{"tpol_7e5b"}},
			{"text and status", index.Query{Text: "teste7", Status: []string{"paid", "cancelled"}}, []string{"lpol_6d4a", "tpol_3a1d", "tpol_5c3f"}},
			{"other tenant", index.Query{Tenant: tenantB, Status: []string{"paid"}}, []string{"tpol_3a1d"}},
		} {
			p := search(t, s, c.q)
			if got := sorted(ids(p)); !slices.Equal(got, c.want) || p.Total != len(c.want) {
				t.Errorf("%s: got %v (Total %d), want %v", c.name, got, p.Total, c.want)
			}
			if c.q.Tenant == "" {
				for _, r := range p.Rows {
					if r.Tenant != tenantA {
						t.Errorf("%s: a row of %s", c.name, r.Tenant)
					}
				}
			}
		}
	})

	t.Run("sort", func(t *testing.T) {
		t.Parallel()
		s := seeded(t, open)
		want := rowsOf(tenantA)
		for _, field := range index.SortFields {
			for _, desc := range []bool{false, true} {
				sortBy := field
				if desc {
					sortBy = "-" + field
				}
				expected := expectedOrder(want, field, desc)
				got := ids(search(t, s, index.Query{Sort: sortBy}))
				if !slices.Equal(got, expected) {
					t.Errorf("sort %s = %v, want %v", sortBy, got, expected)
				}
				// Pages of two make up the same order.
				var paged []string
				for off := 0; off < len(expected)+2; off += 2 {
					p := search(t, s, index.Query{Sort: sortBy, Offset: off, Limit: 2})
					if p.Total != len(expected) {
						t.Errorf("sort %s offset %d: Total %d, want %d", sortBy, off, p.Total, len(expected))
					}
					paged = append(paged, ids(p)...)
				}
				if !slices.Equal(paged, expected) {
					t.Errorf("sort %s in pages = %v, want %v", sortBy, paged, expected)
				}
			}
		}
		// The stored row reads back whole.
		got, err := s.Get(ctx, tenantA, "tpol_5c3f")
		if err != nil {
			t.Fatal(err)
		}
		if w := want["tpol_5c3f"]; !rowsEqual(got, w) {
			t.Errorf("Get = %+v\nwant %+v", got, w)
		}
		got, _ = s.Get(ctx, tenantA, "tpol_4b2e")
		if w := want["tpol_4b2e"]; !rowsEqual(got, w) || !got.EndDate.IsZero() || got.EndDay != "" {
			t.Errorf("Get open-ended = %+v\nwant %+v", got, w)
		}
	})

	t.Run("facets", func(t *testing.T) {
		t.Parallel()
		s := seeded(t, open)
		f, err := s.Facets(ctx, index.Query{Tenant: tenantA, Status: []string{"paid"}})
		if err != nil {
			t.Fatal(err)
		}
		wantFacets(t, "status=paid", f, index.Facets{
			Status:   map[string]int{"paid": 2, "pending": 1, "cancelled": 1, "accepted": 2},
			Product:  map[string]int{"kasko-lv": 1, "kasko-pl": 1},
			Currency: map[string]int{"eur": 1, "pln": 1},
			Expired:  map[bool]int{false: 2},
		})
		f, err = s.Facets(ctx, index.Query{Tenant: tenantA, Currency: []string{"eur"}, Expired: ptr(true)})
		if err != nil {
			t.Fatal(err)
		}
		wantFacets(t, "eur, expired", f, index.Facets{
			Status:   map[string]int{"cancelled": 1, "accepted": 1},
			Product:  map[string]int{"kasko-lv": 2},
			Currency: map[string]int{"eur": 2},
			Expired:  map[bool]int{false: 2, true: 2},
		})
		f, err = s.Facets(ctx, index.Query{Tenant: tenantA, Text: "berz"})
		if err != nil {
			t.Fatal(err)
		}
		wantFacets(t, "berz", f, index.Facets{
			Status:   map[string]int{"paid": 1, "accepted": 1},
			Product:  map[string]int{"kasko-lv": 2},
			Currency: map[string]int{"eur": 2},
			Expired:  map[bool]int{false: 1, true: 1},
		})
		f, err = s.Facets(ctx, index.Query{Tenant: tenantA, Text: "janis.b.1990", Public: true})
		if err != nil {
			t.Fatal(err)
		}
		wantFacets(t, "public e-mail", f, index.Facets{Status: map[string]int{}, Product: map[string]int{}, Currency: map[string]int{}, Expired: map[bool]int{}})
		f, err = s.Facets(ctx, index.Query{Tenant: tenantB})
		if err != nil {
			t.Fatal(err)
		}
		wantFacets(t, "tenant B", f, index.Facets{
			Status: map[string]int{"paid": 1}, Product: map[string]int{"kasko-lv": 1},
			Currency: map[string]int{"eur": 1}, Expired: map[bool]int{false: 1},
		})
		// A cached answer is not the caller's to change, and a write is
		// counted at once.
		f.Status["paid"] = 99
		r := fixture()[5]
		r.ID, r.Status = "tpol_new", "pending"
		if err := s.Upsert(ctx, []index.Row{r}); err != nil {
			t.Fatal(err)
		}
		f, _ = s.Facets(ctx, index.Query{Tenant: tenantB})
		if !mapsEqual(f.Status, map[string]int{"paid": 1, "pending": 1}) {
			t.Errorf("after a write: %v", f.Status)
		}
	})

	t.Run("upsert", func(t *testing.T) {
		t.Parallel()
		s := seeded(t, open)
		r := rowsOf(tenantA)["tpol_3a1d"]
		c0, _ := s.Changed(ctx, tenantA)

		older := r
		older.SeenAt, older.LastName, older.Version = r.SeenAt.Add(-time.Minute), "Older", "v0"
		mustUpsert(t, s, older)
		if got, _ := s.Get(ctx, tenantA, r.ID); got.LastName != "Bērziņš" {
			t.Errorf("an older sighting replaced the row: %q", got.LastName)
		}
		if c, _ := s.Changed(ctx, tenantA); c != c0 {
			t.Errorf("Changed moved (%d → %d) without a change", c0, c)
		}
		if got := ids(search(t, s, index.Query{Text: "older"})); len(got) != 0 {
			t.Errorf("the older sighting's words were indexed: %v", got)
		}

		newer := r
		newer.SeenAt, newer.LastName, newer.Email, newer.Version = r.SeenAt.Add(time.Minute), "Ozoliņš", "new@example.net", "v2"
		mustUpsert(t, s, newer)
		got, _ := s.Get(ctx, tenantA, r.ID)
		if got.LastName != "Ozoliņš" || got.Version != "v2" {
			t.Errorf("a newer sighting did not replace the row: %+v", got)
		}
		if got := ids(search(t, s, index.Query{Text: "ozolins janis"})); !slices.Equal(got, []string{r.ID}) {
			t.Errorf("new words: %v", got)
		}
		for _, old := range []string{"berzins janis", "janis.b.1990"} {
			if got := ids(search(t, s, index.Query{Text: old})); len(got) != 0 {
				t.Errorf("old words %q still find %v", old, got)
			}
		}
		c1, _ := s.Changed(ctx, tenantA)
		if c1 <= c0 {
			t.Errorf("Changed %d → %d after a replacement", c0, c1)
		}
		if n, _ := s.Count(ctx, tenantA); n != 6 {
			t.Errorf("Count %d after a replacement, want 6", n)
		}
		// Equal sightings: the later write wins.
		same := newer
		same.Status = "cancelled"
		mustUpsert(t, s, same)
		if got, _ := s.Get(ctx, tenantA, r.ID); got.Status != "cancelled" {
			t.Errorf("an equal sighting did not replace the row")
		}
		// One batch with the same row twice keeps the newer.
		a, b := newer, newer
		a.SeenAt, a.Status = newer.SeenAt.Add(2*time.Minute), "paid"
		b.SeenAt, b.Status = newer.SeenAt.Add(time.Minute), "pending"
		mustUpsert(t, s, a, b)
		if got, _ := s.Get(ctx, tenantA, r.ID); got.Status != "paid" {
			t.Errorf("in one batch, %q won over the newer sighting", got.Status)
		}
		if err := s.Upsert(ctx, []index.Row{{Tenant: tenantA}}); err == nil {
			t.Errorf("a row without an id was accepted")
		}
		if n, _ := s.Count(ctx, tenantB); n != 1 {
			t.Errorf("tenant B: Count %d", n)
		}
		checkCounts(t, s, tenantA)
		checkCounts(t, s, tenantB)
	})

	t.Run("delete", func(t *testing.T) {
		t.Parallel()
		s := seeded(t, open)
		c0, _ := s.Changed(ctx, tenantA)
		cb, _ := s.Changed(ctx, tenantB)
		if err := s.Delete(ctx, tenantA, []string{"tpol_3a1d", "tpol_4b2e", "nope"}); err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{"tpol_3a1d", "tpol_4b2e"} {
			if _, err := s.Get(ctx, tenantA, id); !errors.Is(err, index.ErrNotFound) {
				t.Errorf("Get(%s) after Delete: %v", id, err)
			}
		}
		if got := ids(search(t, s, index.Query{Text: "berzins"})); len(got) != 0 {
			t.Errorf("deleted row still found: %v", got)
		}
		if n, _ := s.Count(ctx, tenantA); n != 4 {
			t.Errorf("Count %d, want 4", n)
		}
		if c, _ := s.Changed(ctx, tenantA); c <= c0 {
			t.Errorf("Changed did not move")
		}
		// Tenant B's row of the same id is left.
		if _, err := s.Get(ctx, tenantB, "tpol_3a1d"); err != nil {
			t.Errorf("tenant B lost its row: %v", err)
		}
		if got := ids(search(t, s, index.Query{Tenant: tenantB, Text: "berzins"})); len(got) != 1 {
			t.Errorf("tenant B's row not found: %v", got)
		}
		if c, _ := s.Changed(ctx, tenantB); c != cb {
			t.Errorf("tenant B's counter moved")
		}
		checkCounts(t, s, tenantA)
		checkCounts(t, s, tenantB)
		if index.IsSQLite(s) {
			if n, err := index.FTSMatches(ctx, s, `"berzins"`); err != nil || n != 1 {
				t.Errorf("FTS rows for berzins: %d, %v; want tenant B's only", n, err)
			}
		}
	})

	t.Run("delete unseen", func(t *testing.T) {
		t.Parallel()
		s := seeded(t, open)
		start := fixture()[0].SeenAt.Add(time.Hour)
		var seen []index.Row
		for id, r := range rowsOf(tenantA) {
			if id == "tpol_3a1d" || id == "tpol_8f6c" {
				r.SeenAt = start.Add(time.Second)
				seen = append(seen, r)
			}
		}
		mustUpsert(t, s, seen...)
		n, err := s.DeleteUnseen(ctx, tenantA, start)
		if err != nil || n != 4 {
			t.Fatalf("DeleteUnseen = %d, %v; want 4", n, err)
		}
		if got := sorted(ids(search(t, s, index.Query{}))); !slices.Equal(got, []string{"tpol_3a1d", "tpol_8f6c"}) {
			t.Errorf("left %v", got)
		}
		if got := ids(search(t, s, index.Query{Text: "strauss"})); len(got) != 0 {
			t.Errorf("an unseen row is still found: %v", got)
		}
		if c, _ := s.Count(ctx, tenantA); c != 2 {
			t.Errorf("Count %d", c)
		}
		if c, _ := s.Count(ctx, tenantB); c != 1 {
			t.Errorf("tenant B: Count %d", c)
		}
		if n, _ := s.DeleteUnseen(ctx, tenantA, start); n != 0 {
			t.Errorf("second DeleteUnseen removed %d", n)
		}
		checkCounts(t, s, tenantA)
	})

	t.Run("purge", func(t *testing.T) {
		t.Parallel()
		s := seeded(t, open)
		for _, tn := range []string{tenantA, tenantB} {
			if err := s.SaveSyncState(ctx, index.SyncState{Tenant: tn, Cursor: "x"}); err != nil {
				t.Fatal(err)
			}
			if ok, err := s.ClaimDelivery(ctx, tn, "d1"); err != nil || !ok {
				t.Fatal(ok, err)
			}
		}
		if got, _ := s.Tenants(ctx); !slices.Equal(got, []string{tenantA, tenantB}) {
			t.Errorf("Tenants = %v", got)
		}
		c0, _ := s.Changed(ctx, tenantA)
		n, err := s.Purge(ctx, tenantA)
		if err != nil || n != 6 {
			t.Fatalf("Purge = %d, %v", n, err)
		}
		if got := search(t, s, index.Query{}); len(got.Rows) != 0 || got.Total != 0 {
			t.Errorf("rows left: %v", ids(got))
		}
		if st, _ := s.SyncState(ctx, tenantA); st != (index.SyncState{Tenant: tenantA}) {
			t.Errorf("sync state left: %+v", st)
		}
		if ok, _ := s.ClaimDelivery(ctx, tenantA, "d1"); !ok {
			t.Errorf("delivery left")
		}
		if c, _ := s.Changed(ctx, tenantA); c <= c0 {
			t.Errorf("Changed %d → %d", c0, c)
		}
		if got, _ := s.Tenants(ctx); !slices.Equal(got, []string{tenantB}) {
			t.Errorf("Tenants after Purge = %v", got)
		}
		if c, _ := s.Count(ctx, tenantA); c != 0 {
			t.Errorf("Count %d", c)
		}
		// Tenant B is whole.
		if got := ids(search(t, s, index.Query{Tenant: tenantB, Text: "janis.b"})); len(got) != 1 {
			t.Errorf("tenant B: %v", got)
		}
		if st, _ := s.SyncState(ctx, tenantB); st.Cursor != "x" {
			t.Errorf("tenant B's sync state: %+v", st)
		}
		if ok, _ := s.ClaimDelivery(ctx, tenantB, "d1"); ok {
			t.Errorf("tenant B's delivery was forgotten")
		}
		checkCounts(t, s, tenantA)
		checkCounts(t, s, tenantB)
		if index.IsSQLite(s) {
			if n, err := index.FTSMatches(ctx, s, `"teste76" OR "wvwzzz1jzxw000001" OR "stefan"`); err != nil || n != 0 {
				t.Errorf("FTS rows left: %d, %v", n, err)
			}
		}
	})

	t.Run("sync state", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		if st, err := s.SyncState(ctx, tenantA); err != nil || st != (index.SyncState{Tenant: tenantA}) {
			t.Errorf("fresh = %+v, %v", st, err)
		}
		want := index.SyncState{Tenant: tenantA, Cursor: "TEST-TESTE76", Full: true, Done: 5, Total: 10,
			FullStarted: time.Date(2024, 1, 2, 3, 4, 5, 6000, time.UTC), FullDone: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
			Polled: time.Date(2024, 1, 2, 3, 5, 0, 0, time.UTC), Error: "upstream: 502"}
		if err := s.SaveSyncState(ctx, want); err != nil {
			t.Fatal(err)
		}
		if st, err := s.SyncState(ctx, tenantA); err != nil || st != want {
			t.Errorf("got %+v, %v\nwant %+v", st, err, want)
		}
		want.Full, want.Error, want.FullDone = false, "", time.Date(2024, 1, 3, 0, 0, 0, 0, time.UTC)
		if err := s.SaveSyncState(ctx, want); err != nil {
			t.Fatal(err)
		}
		if st, _ := s.SyncState(ctx, tenantA); st != want {
			t.Errorf("got %+v\nwant %+v", st, want)
		}
		if st, _ := s.SyncState(ctx, tenantB); st != (index.SyncState{Tenant: tenantB}) {
			t.Errorf("tenant B = %+v", st)
		}
		if got, _ := s.Tenants(ctx); !slices.Equal(got, []string{tenantA}) {
			t.Errorf("Tenants = %v", got)
		}
	})

	t.Run("lease", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		const ttl = 300 * time.Millisecond
		take := func(holder string, want bool) {
			t.Helper()
			if ok, err := s.Lease(ctx, "sync", holder, ttl); err != nil || ok != want {
				t.Errorf("Lease(%s) = %v, %v; want %v", holder, ok, err, want)
			}
		}
		take("a", true)
		take("b", false)
		take("a", true) // renewed
		if ok, _ := s.Lease(ctx, "other", "b", ttl); !ok {
			t.Errorf("another lease name was taken")
		}
		time.Sleep(ttl + 150*time.Millisecond)
		take("b", true)
		take("a", false)
	})

	t.Run("deliveries", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		claim := func(tenant, id string, want bool) {
			t.Helper()
			if ok, err := s.ClaimDelivery(ctx, tenant, id); err != nil || ok != want {
				t.Errorf("ClaimDelivery(%s, %.20s) = %v, %v; want %v", tenant, id, ok, err, want)
			}
		}
		claim(tenantA, "del-1", true)
		claim(tenantA, "del-1", false)
		claim(tenantB, "del-1", true)
		if err := s.ReleaseDelivery(ctx, tenantA, "del-1"); err != nil {
			t.Fatal(err)
		}
		claim(tenantA, "del-1", true)
		claim(tenantA, "del-1", false)
		claim(tenantB, "del-1", false)
		long := strings.Repeat("x", 64)
		claim(tenantA, long+"1", true)
		claim(tenantA, long+"2", true)
		claim(tenantA, long+"1", false)
		// Records go after 30 days.
		index.SetClock(s, func() time.Time { return time.Now().Add(31 * 24 * time.Hour) })
		claim(tenantA, "del-1", true)
		claim(tenantA, "del-1", false)
	})

	t.Run("changed", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		if c, err := s.Changed(ctx, tenantA); err != nil || c != 0 {
			t.Errorf("fresh: %d, %v", c, err)
		}
		last := int64(0)
		step := func(what string, fn func()) {
			t.Helper()
			fn()
			c, err := s.Changed(ctx, tenantA)
			if err != nil || c <= last {
				t.Errorf("after %s: Changed %d (was %d), %v", what, c, last, err)
			}
			last = c
		}
		rows := rowsOf(tenantA)
		step("insert", func() { mustUpsert(t, s, rows["tpol_3a1d"]) })
		r := rows["tpol_3a1d"]
		r.SeenAt = r.SeenAt.Add(time.Second)
		step("replace", func() { mustUpsert(t, s, r) })
		step("delete", func() { _ = s.Delete(ctx, tenantA, []string{r.ID}) })
		step("insert again", func() { mustUpsert(t, s, rows["tpol_4b2e"]) })
		step("delete unseen", func() { _, _ = s.DeleteUnseen(ctx, tenantA, time.Now()) })
		step("purge", func() { _, _ = s.Purge(ctx, tenantA) })
		step("insert after purge", func() { mustUpsert(t, s, rows["tpol_4b2e"]) })
		if c, _ := s.Changed(ctx, tenantB); c != 0 {
			t.Errorf("tenant B moved: %d", c)
		}
	})

	t.Run("tenant isolation", func(t *testing.T) {
		t.Parallel()
		s := seeded(t, open)
		b, err := s.Get(ctx, tenantB, "tpol_3a1d")
		if err != nil || b.InsurerID != "OTHER-1" {
			t.Errorf("Get B = %+v, %v", b, err)
		}
		if _, err := s.Get(ctx, tenantA, "tpol_3a1d"); err != nil {
			t.Errorf("Get A: %v", err)
		}
		if _, err := s.Get(ctx, tenantB, "tpol_4b2e"); !errors.Is(err, index.ErrNotFound) {
			t.Errorf("Get of A's row as B: %v", err)
		}
		if _, err := s.Get(ctx, "kasko:nobody:test", "tpol_3a1d"); !errors.Is(err, index.ErrNotFound) {
			t.Errorf("Get as a stranger: %v", err)
		}
		p := search(t, s, index.Query{Tenant: tenantB, Text: "janis"})
		if len(p.Rows) != 1 || p.Rows[0].Tenant != tenantB || p.Total != 1 {
			t.Errorf("B's search: %+v", p)
		}
		if p := search(t, s, index.Query{Tenant: "kasko:nobody:test"}); len(p.Rows) != 0 || p.Total != 0 {
			t.Errorf("stranger's search: %v", ids(p))
		}
		if err := s.Delete(ctx, tenantB, []string{"tpol_4b2e"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Get(ctx, tenantA, "tpol_4b2e"); err != nil {
			t.Errorf("B's Delete removed A's row: %v", err)
		}
		if n, _ := s.DeleteUnseen(ctx, tenantB, time.Now()); n != 1 {
			t.Errorf("B's DeleteUnseen = %d", n)
		}
		if n, _ := s.Count(ctx, tenantA); n != 6 {
			t.Errorf("A's Count after B's deletions: %d", n)
		}
		if n, _ := s.Purge(ctx, "kasko:nobody:test"); n != 0 {
			t.Errorf("a stranger's Purge removed %d", n)
		}
		if n, _ := s.Count(ctx, tenantA); n != 6 {
			t.Errorf("A's Count after a stranger's Purge: %d", n)
		}
	})
}

// checkCounts compares Facets and Total with the tenant's rows counted
// one by one (SQLite keeps them in index_counts).
func checkCounts(t *testing.T, s index.Store, tenant string) {
	t.Helper()
	p := search(t, s, index.Query{Tenant: tenant})
	want := index.Facets{Status: map[string]int{}, Product: map[string]int{}, Currency: map[string]int{}, Expired: map[bool]int{}}
	for _, r := range p.Rows {
		want.Status[r.Status]++
		want.Product[r.ProductID]++
		want.Currency[r.Currency]++
		want.Expired[r.Expired]++
	}
	f, err := s.Facets(ctx, index.Query{Tenant: tenant})
	if err != nil {
		t.Fatal(err)
	}
	wantFacets(t, "counts of "+tenant, f, want)
	if p2 := search(t, s, index.Query{Tenant: tenant, Limit: 1}); p2.Total != len(p.Rows) {
		t.Errorf("Total %d, %d rows", p2.Total, len(p.Rows))
	}
}

func mustUpsert(t *testing.T, s index.Store, rows ...index.Row) {
	t.Helper()
	if err := s.Upsert(ctx, rows); err != nil {
		t.Fatalf("Upsert: %v", err)
	}
}

// expectedOrder is the order a sort must give the rows: by the field,
// ties by id, both in the sort's direction.
func expectedOrder(rows map[string]index.Row, field string, desc bool) []string {
	var list []index.Row
	for _, r := range rows {
		list = append(list, r)
	}
	if field == index.SortRelevance {
		// Without text: newest first, whichever way.
		field, desc = index.SortCreated, true
	}
	endKey := func(r index.Row) int64 {
		if r.EndDate.IsZero() {
			return 1 << 62
		}
		return r.EndDate.UnixMicro()
	}
	slices.SortFunc(list, func(a, b index.Row) int {
		var c int
		switch field {
		case index.SortInsurerID:
			c = cmp.Compare(a.InsurerID, b.InsurerID)
		case index.SortHolder:
			c = cmp.Or(cmp.Compare(index.Fold(a.LastName), index.Fold(b.LastName)), cmp.Compare(index.Fold(a.FirstName), index.Fold(b.FirstName)))
		case index.SortEmail:
			c = cmp.Compare(a.Email, b.Email)
		case index.SortProduct:
			c = cmp.Compare(a.ProductID, b.ProductID)
		case index.SortStatus:
			c = cmp.Compare(a.Status, b.Status)
		case index.SortStart:
			c = a.StartDate.Compare(b.StartDate)
		case index.SortEnd:
			c = cmp.Compare(endKey(a), endKey(b))
		case index.SortPremium:
			c = cmp.Compare(a.GrossMinor, b.GrossMinor)
		case index.SortCreated:
			c = a.CreatedAt.Compare(b.CreatedAt)
		default:
			panic(field)
		}
		c = cmp.Or(c, cmp.Compare(a.ID, b.ID))
		if desc {
			c = -c
		}
		return c
	})
	out := make([]string, len(list))
	for i, r := range list {
		out[i] = r.ID
	}
	return out
}

func rowsEqual(a, b index.Row) bool {
	times := func(r index.Row) [5]time.Time {
		return [5]time.Time{r.CreatedAt, r.StartDate, r.EndDate, r.TerminationDate, r.SeenAt}
	}
	ta, tb := times(a), times(b)
	for i := range ta {
		if !ta[i].Equal(tb[i]) {
			return false
		}
	}
	a.CreatedAt, a.StartDate, a.EndDate, a.TerminationDate, a.SeenAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}, time.Time{}
	b.CreatedAt, b.StartDate, b.EndDate, b.TerminationDate, b.SeenAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}, time.Time{}
	return a == b
}

func mapsEqual[K comparable](a, b map[K]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func wantFacets(t *testing.T, name string, got, want index.Facets) {
	t.Helper()
	if !mapsEqual(got.Status, want.Status) || !mapsEqual(got.Product, want.Product) ||
		!mapsEqual(got.Currency, want.Currency) || !mapsEqual(got.Expired, want.Expired) {
		t.Errorf("%s: facets %+v\nwant %+v", name, got, want)
	}
}

// TestSQLiteFile: the file is private, and what a purge removed is not
// left readable in it.
func TestSQLiteFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "index.db")
	s, err := index.Open(ctx, index.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := fi.Mode().Perm(); mode != 0o600 {
		t.Errorf("mode %o, want 600", mode)
	}
	var rows []index.Row
	for i := range 200 {
		r := fixture()[0]
		r.ID = fmt.Sprintf("tpol_%04d", i)
		r.Email = fmt.Sprintf("secret.person.%04d@example.com", i)
		r.VIN = fmt.Sprintf("ZZSECRETVIN%06d", i)
		rows = append(rows, r)
	}
	if err := s.Upsert(ctx, rows); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Purge(ctx, tenantA); err != nil || n != 200 {
		t.Fatalf("Purge = %d, %v", n, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"secret.person.", "zzsecretvin", "ZZSECRETVIN"} {
		if bytes.Contains(data, []byte(secret)) {
			t.Errorf("%q is still in the file after Purge", secret)
		}
	}
	if _, err := os.Stat(path + "-wal"); err == nil {
		if wal, _ := os.ReadFile(path + "-wal"); bytes.Contains(wal, []byte("secret.person.")) {
			t.Logf("the WAL still holds purged rows (until its checkpoint)")
		}
	}
}
