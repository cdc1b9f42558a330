package sandbox_test

import (
	"bytes"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"backoffice/internal/sandbox"
)

// BenchmarkSyncPaging pages a 200,000-policy seed the way a full sync does:
// ascending created_at, 100 rows at a time, the next page keyed on the last
// row's insurer_policy_id. One b.Loop iteration is one page; the cursor
// wraps to the first page at the end. The "push every 10 pages" case
// writes while it pages, which must not cost a re-sort per write.
func BenchmarkSyncPaging(b *testing.B) {
	for _, pushEvery := range []int{0, 10} {
		name := "quiet"
		if pushEvery > 0 {
			name = "push every " + strconv.Itoa(pushEvery) + " pages"
		}
		b.Run(name, func(b *testing.B) {
			clk := newClock()
			sb, err := sandbox.New(sandbox.Options{Policies: 200000, Now: clk.Now, BaseURL: "http://sandbox.test"})
			if err != nil {
				b.Fatal(err)
			}
			cursor := ""
			page := func() {
				u := "/kasko/policies?sort=created_at&limit=100"
				if cursor != "" {
					u += "&offset_policy_id=" + url.QueryEscape(cursor)
				}
				req := httptest.NewRequest("GET", u, nil)
				req.SetBasicAuth(sandbox.KeyASecretTest, "")
				req.Header.Set("Accept", v2)
				rec := httptest.NewRecorder()
				sb.ServeHTTP(rec, req)
				if rec.Code != 200 {
					b.Fatalf("status %d: %s", rec.Code, rec.Body.Bytes())
				}
				// The cursor is cut from the bytes: decoding 100 policies
				// would cost the client more than the sandbox spends.
				body := rec.Body.Bytes()
				const k = `"insurer_policy_id":"`
				i := bytes.LastIndex(body, []byte(k))
				if i < 0 || !bytes.Contains(body, []byte(`"count":100,`)) {
					cursor = ""
					return
				}
				rest := body[i+len(k):]
				cursor = string(rest[:bytes.IndexByte(rest, '"')])
			}
			pushOne := func() {
				clk.Add(time.Second)
				req := httptest.NewRequest("POST", "/push/", strings.NewReader(pushBody("Bench")))
				req.SetBasicAuth(sandbox.KeyASecretTest, "")
				req.Header.Set("Content-Type", "application/json")
				rec := httptest.NewRecorder()
				sb.ServeHTTP(rec, req)
				if rec.Code != 200 {
					b.Fatalf("push: %d", rec.Code)
				}
			}
			t0 := time.Now()
			page() // builds the sorted index once
			first := time.Since(t0)
			b.ResetTimer()
			n := 0
			for b.Loop() {
				n++
				if pushEvery > 0 && n%pushEvery == 0 {
					pushOne()
				}
				page()
			}
			b.ReportMetric(float64(first.Microseconds())/1000, "first-page-ms")
		})
	}
}
