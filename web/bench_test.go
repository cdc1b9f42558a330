package web_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptrace"
	"slices"
	"strings"
	"testing"
	"time"

	"backoffice/apiclient/kasko"
	"backoffice/internal/sandbox"
	"backoffice/web/webtest"
)

// BenchmarkListLatencyRatio measures what the dashboard adds on top of the
// upstream for the largest list page. Each iteration makes two requests,
// interleaved so that machine noise hits both alike:
//
//   - dashboard: GET /policies?size=100 as a signed-in browser asking for
//     gzip, the whole (compressed) body read;
//   - direct: the same upstream call the handler makes (100 policies,
//     newest first, same key) with the KASKO client, decoded.
//
// ns/op is the sum of both. ratio is median(dashboard)/median(direct);
// gz-bytes and html-bytes are the page's size on the wire and unpacked.
func BenchmarkListLatencyRatio(b *testing.B) {
	srv := webtest.NewServer(b, webtest.Options{})
	key := secretTestKey(b, srv.Upstream.Sandbox.Credentials())

	br := srv.NewBrowser(b)
	br.SignIn(key)
	dash := br.Client() // cookie jar with the session; one keep-alive pool
	pageURL := srv.URL + "/policies?size=100"

	kc, err := kasko.New(srv.Upstream.KaskoURL, kasko.WithTimeout(2*time.Second))
	if err != nil {
		b.Fatal(err)
	}
	direct := kc.WithKey(key) // one client, one keep-alive pool
	params := kasko.ListParams{Limit: 100, Sort: "-created_at"}

	var sink []byte // reused body buffer
	getPage := func(ctx context.Context) (body []byte, encoding string) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, pageURL, nil)
		if err != nil {
			b.Fatal(err)
		}
		req.Header.Set("Accept", "text/html,application/xhtml+xml")
		req.Header.Set("Accept-Encoding", "gzip") // set by hand: the transport leaves the body compressed
		resp, err := dash.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		buf := bytes.NewBuffer(sink[:0])
		_, err = buf.ReadFrom(resp.Body)
		resp.Body.Close()
		if err != nil {
			b.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("GET /policies?size=100 = %d", resp.StatusCode)
		}
		sink = buf.Bytes()
		return sink, resp.Header.Get("Content-Encoding")
	}
	listDirect := func(ctx context.Context) {
		page, err := direct.ListPolicies(ctx, params)
		if err != nil {
			b.Fatal(err)
		}
		if len(page.Policies) != 100 {
			b.Fatalf("direct list: %d policies, want 100", len(page.Policies))
		}
	}

	// Warm up both paths (connections, the sandbox's sorted index and JSON
	// cache, the first preference save) and check that the second request
	// of each rides on a kept-alive connection.
	for i := range 3 {
		var dashReused, directReused bool
		getPage(withReuseTrace(context.Background(), &dashReused))
		listDirect(withReuseTrace(context.Background(), &directReused))
		if i > 0 && (!dashReused || !directReused) {
			b.Fatalf("connection not reused (dashboard %v, direct %v): keep-alive is broken", dashReused, directReused)
		}
	}

	// The page's size, once: on the wire and unpacked.
	gz, enc := getPage(context.Background())
	if enc != "gzip" {
		b.Fatalf("Content-Encoding %q, want gzip", enc)
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		b.Fatal(err)
	}
	html, err := io.ReadAll(zr)
	if err != nil {
		b.Fatal(err)
	}
	if n := strings.Count(string(html), `data-testid="policy-row"`); n != 100 {
		b.Fatalf("page has %d rows, want 100", n)
	}
	gzBytes, htmlBytes := len(gz), len(html)

	ctx := context.Background()
	dashLat := make([]time.Duration, 0, b.N)
	directLat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// Alternate which goes first, so that neither always follows the other.
		for j := range 2 {
			if (i+j)%2 == 0 {
				t0 := time.Now()
				getPage(ctx)
				dashLat = append(dashLat, time.Since(t0))
			} else {
				t0 := time.Now()
				listDirect(ctx)
				directLat = append(directLat, time.Since(t0))
			}
		}
	}
	b.StopTimer()

	dashP50, directP50 := median(dashLat), median(directLat)
	b.ReportMetric(float64(dashP50)/float64(directP50), "ratio")
	b.ReportMetric(float64(dashP50)/float64(time.Microsecond), "dash-p50-µs")
	b.ReportMetric(float64(directP50)/float64(time.Microsecond), "upstream-p50-µs")
	b.ReportMetric(float64(gzBytes), "gz-bytes")
	b.ReportMetric(float64(htmlBytes), "html-bytes")
}

// secretTestKey is the first distributor's secret test key, the demo key
// the sign-in page lists first.
func secretTestKey(b *testing.B, creds []sandbox.Credential) string {
	b.Helper()
	if len(creds) == 0 {
		b.Fatal("the sandbox lists no demo credentials")
	}
	for _, c := range creds {
		if c.DistributorID == creds[0].DistributorID && c.Kind == "secret" && c.Mode == "test" {
			return c.Key
		}
	}
	b.Fatal("the first distributor has no secret test key")
	return ""
}

// withReuseTrace records in *reused whether the request got a kept-alive
// connection.
func withReuseTrace(ctx context.Context, reused *bool) context.Context {
	return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GotConn: func(info httptrace.GotConnInfo) { *reused = info.Reused },
	})
}

func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	if n := len(s); n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return s[len(s)/2]
}
