package sandbox_test

import (
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"backoffice/internal/sandbox"
)

// BenchmarkListV2_100 serves 100-policy v2 pages in-process, spreading the
// offsets over the whole range so that the per-policy JSON cache is cold for
// most pages at 200,000 policies.
func BenchmarkListV2_100(b *testing.B) {
	for _, n := range []int{2500, 200000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			clk := newClock()
			t0 := time.Now()
			sb, err := sandbox.New(sandbox.Options{Policies: n, Now: clk.Now, BaseURL: "http://sandbox.test"})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(time.Since(t0).Milliseconds()), "seed-ms")
			total := n * 85 / 100
			serve := func(i int) {
				off := (i * 7919 * 100) % (total - 100)
				req := httptest.NewRequest("GET", "/kasko/policies?limit=100&offset="+strconv.Itoa(off), nil)
				req.SetBasicAuth(sandbox.KeyASecretTest, "")
				req.Header.Set("Accept", v2)
				rec := httptest.NewRecorder()
				sb.ServeHTTP(rec, req)
				if rec.Code != 200 {
					b.Fatalf("status %d", rec.Code)
				}
			}
			serve(0) // builds the sorted index once
			b.ResetTimer()
			i := 0
			for b.Loop() {
				i++
				serve(i)
			}
		})
	}
}

func TestSeedLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds 200,000 policies")
	}
	t0 := time.Now()
	sb, err := sandbox.New(sandbox.Options{Policies: 200000})
	if err != nil {
		t.Fatal(err)
	}
	// Reported, not enforced: speed is a benchmark's business, and a
	// loaded CI machine must not fail a correct sandbox.
	t.Logf("seeding 200,000 policies took %v", time.Since(t0))
	req := httptest.NewRequest("GET", "/kasko/policies?sort=last_name&limit=100", nil)
	req.SetBasicAuth(sandbox.KeyASecretTest, "")
	rec := httptest.NewRecorder()
	sb.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Fatalf("list: %d", rec.Code)
	}
}
