package index_test

import (
	"slices"
	"testing"
	"time"

	"backoffice/internal/index"
)

// BenchmarkReview1M measures the managers' overview over 1,000,000 rows
// of one tenant (the BenchmarkIndex1M data), cold (no kept result, as
// after any write) and kept. Run it with
//
//	go test -run '^$' -bench Review1M -benchtime 40x ./internal/index/
func BenchmarkReview1M(b *testing.B) {
	if testing.Short() {
		b.Skip("skipped in -short: builds a 1,000,000-row index")
	}
	b.Run("sqlite", func(b *testing.B) {
		s, _ := benchSQLite(b)
		benchReview(b, s)
	})
	b.Run("postgres", func(b *testing.B) {
		benchReview(b, benchPostgres(b))
	})
}

func benchReview(b *testing.B, s index.Store) {
	rev, err := index.ReviewOf(s)
	if err != nil {
		b.Fatal(err)
	}
	month := func(y int, m time.Month) index.ReviewQuery {
		from := time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
		weeks := []index.DayRange{}
		for d := from; d.Month() == m; d = d.AddDate(0, 0, 7) {
			end := d.AddDate(0, 0, 6)
			if last := from.AddDate(0, 1, -1); end.After(last) {
				end = last
			}
			weeks = append(weeks, index.DayRange{From: d.Format(time.DateOnly), To: end.Format(time.DateOnly)})
		}
		return index.ReviewQuery{Tenant: benchTenant, From: from.Format(time.DateOnly), To: from.AddDate(0, 1, -1).Format(time.DateOnly),
			PrevFrom: from.AddDate(0, -1, 0).Format(time.DateOnly), PrevTo: from.AddDate(0, 0, -1).Format(time.DateOnly), Buckets: weeks}
	}
	year := index.ReviewQuery{Tenant: benchTenant, From: "2024-01-01", To: "2024-12-31", PrevFrom: "2023-01-01", PrevTo: "2023-12-31"}
	for m := 1; m <= 12; m++ {
		from := time.Date(2024, time.Month(m), 1, 0, 0, 0, 0, time.UTC)
		year.Buckets = append(year.Buckets, index.DayRange{From: from.Format(time.DateOnly), To: from.AddDate(0, 1, -1).Format(time.DateOnly)})
	}
	queries := []index.ReviewQuery{month(2024, 3), month(2024, 7), month(2023, 11), year}
	run := func(name string, cold bool) {
		b.Run(name, func(b *testing.B) {
			var lat []time.Duration
			i := 0
			for b.Loop() {
				if cold {
					index.NoCache(s)
				}
				began := time.Now()
				if _, err := rev.Review(ctx, queries[i%len(queries)]); err != nil {
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
		})
	}
	// Kept first: NoCache turns the store's cache off for good.
	run("kept", false)
	run("cold", true)
}
