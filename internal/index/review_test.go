package index_test

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"backoffice/internal/audit/pgtest"
	"backoffice/internal/index"
)

// reviewRows are 600 rows over two years, two currencies, every status,
// some open-ended, cancellations with effect on various days.
func reviewRows(tenant string) []index.Row {
	rng := rand.New(rand.NewPCG(7, 11))
	statuses := []string{"paid", "paid", "paid", "cancelled", "pending", "accepted"}
	var rows []index.Row
	base := time.Date(2025, 1, 1, 10, 0, 0, 0, time.UTC)
	for i := range 600 {
		created := base.Add(time.Duration(rng.IntN(700*24)) * time.Hour)
		start := created.AddDate(0, 0, rng.IntN(20))
		r := index.Row{Tenant: tenant, ID: fmt.Sprintf("tpol_rv%04d", i), InsurerID: fmt.Sprintf("RV-%04d", i),
			FirstName: "Ilze", LastName: "Vītola", ProductID: []string{"kasko-lv", "mini-kasko"}[i%2],
			Status: statuses[rng.IntN(len(statuses))], Currency: []string{"eur", "ron"}[rng.IntN(2)],
			GrossMinor: 1000 + rng.Int64N(100000), TaxMinor: rng.Int64N(1000), Zone: "Europe/Riga",
			CreatedAt: created, StartDate: start, CreatedDay: created.Format(time.DateOnly), StartDay: start.Format(time.DateOnly),
			Version: "v1", SeenAt: base}
		if i%9 != 0 {
			r.EndDate = start.AddDate(1, 0, -1)
			r.EndDay = r.EndDate.Format(time.DateOnly)
		}
		if r.Status == "cancelled" {
			r.Cancelled = true
			r.TerminationDate = start.AddDate(0, 0, rng.IntN(300))
			r.TerminationDay = r.TerminationDate.Format(time.DateOnly)
		}
		rows = append(rows, r)
	}
	return rows
}

func reviewContract(t *testing.T, s index.Store) {
	rows := append(reviewRows(tenantA), reviewRows(tenantB)[:50]...)
	mustUpsert(t, s, rows...)
	checkReview(t, s, rows)
	// Rows change (cancelled, ended earlier, moved to another currency
	// or product, a later start) and go: the figures follow.
	rng := rand.New(rand.NewPCG(3, 5))
	var kept []index.Row
	var gone []string
	for i, r := range rows {
		switch {
		case r.Tenant != tenantA:
		case i%10 == 0:
			gone = append(gone, r.ID)
			continue
		case i%7 == 0 && r.Status == "paid":
			r.Status, r.Cancelled = "cancelled", true
			r.TerminationDate = r.StartDate.AddDate(0, 0, rng.IntN(400)-30)
			r.TerminationDay = r.TerminationDate.Format(time.DateOnly)
		case i%5 == 0:
			r.Currency, r.ProductID, r.GrossMinor = "eur", "kasko-plus", r.GrossMinor+7
		case i%3 == 0 && r.EndDay != "":
			r.EndDate = r.EndDate.AddDate(0, -2, 0)
			r.EndDay = r.EndDate.Format(time.DateOnly)
		}
		r.SeenAt = r.SeenAt.Add(time.Hour)
		kept = append(kept, r)
	}
	mustUpsert(t, s, kept...)
	if err := s.Delete(ctx, tenantA, gone); err != nil {
		t.Fatal(err)
	}
	checkReview(t, s, kept)
	if _, err := s.Purge(ctx, tenantA); err != nil {
		t.Fatal(err)
	}
	checkReview(t, s, kept[len(kept):])
}

func checkReview(t *testing.T, s index.Store, rows []index.Row) {
	t.Helper()
	rev, err := index.ReviewOf(s)
	if err != nil {
		t.Fatal(err)
	}
	q := index.ReviewQuery{Tenant: tenantA, From: "2026-01-01", To: "2026-03-31", PrevFrom: "2025-10-01", PrevTo: "2025-12-31",
		Buckets: []index.DayRange{{"2026-01-01", "2026-01-31"}, {"2026-02-01", "2026-02-28"}, {"2026-03-01", "2026-03-31"}}}
	got, err := rev.Review(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	// The same figures counted row by row.
	want := map[string]map[string]index.Figures{"cur": {}, "prev": {}}
	newPer, cancelledPer := make([]int, 3), make([]int, 3)
	premium := map[string]map[string]int64{}
	inForce := func(r index.Row, d string) bool {
		return r.StartDay <= d && (r.EndDay == "" || r.EndDay >= d) &&
			(r.Status == "paid" || r.Status == "cancelled" && r.TerminationDay > d)
	}
	for _, r := range rows {
		if r.Tenant != tenantA {
			continue
		}
		for name, p := range map[string][2]string{"cur": {q.From, q.To}, "prev": {q.PrevFrom, q.PrevTo}} {
			f := want[name][r.Currency]
			if r.CreatedDay >= p[0] && r.CreatedDay <= p[1] {
				f.New++
				f.GrossMinor += r.GrossMinor
				f.TaxMinor += r.TaxMinor
			}
			if r.Cancelled && r.TerminationDay >= p[0] && r.TerminationDay <= p[1] {
				f.Cancelled++
			}
			if inForce(r, p[1]) {
				f.InForce++
			}
			want[name][r.Currency] = f
		}
		for i, b := range q.Buckets {
			if r.CreatedDay >= b.From && r.CreatedDay <= b.To {
				newPer[i]++
				if premium[r.Currency] == nil {
					premium[r.Currency] = map[string]int64{}
				}
				premium[r.Currency][r.ProductID] += r.GrossMinor
			}
			if r.Cancelled && r.TerminationDay >= b.From && r.TerminationDay <= b.To {
				cancelledPer[i]++
			}
		}
	}
	for _, cur := range []string{"eur", "ron"} {
		if got.Current[cur] != want["cur"][cur] {
			t.Errorf("%s current: got %+v, want %+v", cur, got.Current[cur], want["cur"][cur])
		}
		if got.Previous[cur] != want["prev"][cur] {
			t.Errorf("%s previous: got %+v, want %+v", cur, got.Previous[cur], want["prev"][cur])
		}
		for p, v := range premium[cur] {
			if got.PremiumByProduct[cur][p] != v {
				t.Errorf("%s %s premium: got %d, want %d", cur, p, got.PremiumByProduct[cur][p], v)
			}
		}
		// The list filtered to a figure counts the same rows.
		for name, c := range map[string]struct {
			q    index.Query
			want int
		}{
			"new":       {index.Query{CreatedFrom: q.From, CreatedTo: q.To}, want["cur"][cur].New},
			"cancelled": {index.Query{Status: []string{"cancelled"}, TerminatedFrom: q.From, TerminatedTo: q.To}, want["cur"][cur].Cancelled},
			"in force":  {index.Query{InForceOn: q.To}, want["cur"][cur].InForce},
		} {
			c.q.Currency = []string{cur}
			if p := search(t, s, c.q); p.Total != c.want {
				t.Errorf("%s %s: the list counts %d, the review %d", cur, name, p.Total, c.want)
			}
		}
	}
	if fmt.Sprint(got.NewPerBucket) != fmt.Sprint(newPer) || fmt.Sprint(got.CancelledPerBucket) != fmt.Sprint(cancelledPer) {
		t.Errorf("buckets: new %v cancelled %v, want %v %v", got.NewPerBucket, got.CancelledPerBucket, newPer, cancelledPer)
	}
	if len(rows) > 0 && (got.ByStatus["paid"] == 0 || got.ByStatus["cancelled"] == 0) {
		t.Errorf("by status: %v", got.ByStatus)
	}
	for _, bad := range []index.ReviewQuery{
		{Tenant: tenantA, From: "2026-02-01", To: "2026-01-01", PrevFrom: "2025-01-01", PrevTo: "2025-01-31"},
		{Tenant: tenantA, From: "9999-99-99", To: "2026-01-01", PrevFrom: "2025-01-01", PrevTo: "2025-01-31"},
		{Tenant: "", From: "2026-01-01", To: "2026-01-31", PrevFrom: "2025-12-01", PrevTo: "2025-12-31"},
	} {
		if _, err := rev.Review(ctx, bad); err == nil {
			t.Errorf("Review(%+v) took it", bad)
		}
	}
}

func TestReviewSQLite(t *testing.T) {
	t.Parallel()
	reviewContract(t, mustOpen(t, index.Config{Path: filepath.Join(t.TempDir(), "index.db")}))
}

func TestReviewPostgres(t *testing.T) {
	t.Parallel()
	reviewContract(t, mustOpen(t, index.Config{DatabaseURL: pgtest.Start(t).NewDatabase(t)}))
}
