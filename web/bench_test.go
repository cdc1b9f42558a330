package web_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"backoffice/apiclient"
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

// listClients is how many people use the list at once in
// BenchmarkListConcurrent.
const listClients = 20

// BenchmarkListConcurrent measures the list page served from the index
// under listClients concurrent clients, beside the upstream's own list
// measured in the same run. Three kinds of load, each for a fixed time,
// alternate (A, B, C, A, B, C) so that machine noise hits all alike:
//
//   - A (dash): each client is a signed-in browser with its own cookie
//     jar and connection, GET the page asking for gzip, body read;
//   - B (upstream): the raw upstream list call (100 newest, v2, secret
//     key), body read: what the upstream itself serves;
//   - C (client): the same call through the KASKO client with decoding,
//     what the list handler paid before the index.
//
// ratio is dash req/s ÷ upstream req/s; the upstream figures are those
// of the newest-first list in every variant, the baseline the list had
// before the index. BENCH_LIST_PHASE sets one phase's duration (default
// 5s); every phase also stops after listMaxPerClient requests per client.
func BenchmarkListConcurrent(b *testing.B) {
	phase := 5 * time.Second
	if v := os.Getenv("BENCH_LIST_PHASE"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 || d > 5*time.Minute {
			b.Fatalf("BENCH_LIST_PHASE=%q: want a duration within (0, 5m]", v)
		}
		phase = d
	}
	// BENCH_LIST_ONLY=dash runs phase A alone, so that a CPU profile
	// (-cpuprofile) shows the dashboard's costs without the others'.
	dashOnly := false
	switch v := os.Getenv("BENCH_LIST_ONLY"); v {
	case "":
	case "dash":
		dashOnly = true
	default:
		b.Fatalf("BENCH_LIST_ONLY=%q: only \"dash\" is known", v)
	}
	srv := webtest.NewServer(b, webtest.Options{Index: true})
	key := secretTestKey(b, srv.Upstream.Sandbox.Credentials())

	// One client per person, each with a connection of its own: the
	// default transport keeps only two idle connections per host, so
	// twenty clients sharing it would measure dialling, not serving.
	dash := make([]*http.Client, listClients)
	raw := make([]*http.Client, listClients)
	for i := range listClients {
		br := srv.NewBrowser(b)
		br.SignIn(key)
		c := *br.Client()
		c.Transport = loopbackTransport()
		dash[i] = &c
		raw[i] = &http.Client{Transport: loopbackTransport(), Timeout: 30 * time.Second}
	}
	kc, err := kasko.New(srv.Upstream.KaskoURL, kasko.WithTimeout(10*time.Second))
	if err != nil {
		b.Fatal(err)
	}
	// One shared client, as the dashboard has one for every session.
	direct := kc.WithKey(key)
	upstreamURL := srv.Upstream.KaskoURL + "/policies?limit=100&sort=-created_at"

	// varied cycles through 676 searches (every two-letter prefix, each
	// URL once per cycle): more than the dashboard keeps rendered, in the
	// order that makes a least-recently-used cache miss every time, so it
	// measures the list as computed, not as kept.
	var seq atomic.Int64
	varied := func() string {
		n := seq.Add(1) % 676
		return "/policies?size=100&sort=-created_at&q=" + string(rune('a'+n/26)) + string(rune('a'+n%26))
	}
	for _, v := range []struct {
		name, path string
		next       func() string
	}{
		{"newest", "/policies?size=100", nil},
		{"search-filter", "/policies?q=berz&status=paid&size=100", nil},
		{"deep-sorted", "/policies?sort=-gross_premium&page=20&size=100", nil},
		{"never-kept", "/policies?size=100&sort=-created_at&q=ja", varied},
	} {
		b.Run(v.name, func(b *testing.B) {
			pageURL := srv.URL + v.path
			rows := countRows(b, dash[0], pageURL)
			getDash := func(ctx context.Context, w int) (int, error) {
				u := pageURL
				if v.next != nil {
					u = srv.URL + v.next()
				}
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
				if err != nil {
					return 0, err
				}
				req.Header.Set("Accept", "text/html,application/xhtml+xml")
				req.Header.Set("Accept-Encoding", "gzip")
				return drain(dash[w].Do(req))
			}
			getRaw := func(ctx context.Context, w int) (int, error) {
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, upstreamURL, nil)
				if err != nil {
					return 0, err
				}
				req.Header.Set("Accept", kasko.MediaTypeV2)
				req.Header.Set("Authorization", "Bearer "+key)
				return drain(raw[w].Do(req))
			}
			params := kasko.ListParams{Limit: 100, Sort: "-created_at"}
			getDecoded := func(ctx context.Context, _ int) (int, error) {
				page, err := direct.ListPolicies(ctx, params)
				if err != nil {
					var ae *apiclient.Error
					if errors.As(err, &ae) && ae.StatusCode != 0 {
						return ae.StatusCode, nil
					}
					return 0, err
				}
				if len(page.Policies) != 100 {
					return 0, fmt.Errorf("%d policies, want 100", len(page.Policies))
				}
				return http.StatusOK, nil
			}

			var a, up, cl phaseStats
			for range b.N {
				for range 2 {
					a.add(b, "dash", hammer(getDash, phase))
					if dashOnly {
						continue
					}
					up.add(b, "upstream", hammer(getRaw, phase))
					cl.add(b, "client", hammer(getDecoded, phase))
				}
			}
			b.ReportMetric(a.rate(), "dash-req/s")
			b.ReportMetric(ms(a.percentile(50)), "dash-p50-ms")
			b.ReportMetric(ms(a.percentile(99)), "dash-p99-ms")
			b.ReportMetric(float64(rows), "rows")
			if dashOnly {
				b.ReportMetric(float64(a.errs), "errors")
				return
			}
			b.ReportMetric(up.rate(), "upstream-req/s")
			b.ReportMetric(ms(up.percentile(50)), "upstream-p50-ms")
			b.ReportMetric(ms(up.percentile(99)), "upstream-p99-ms")
			b.ReportMetric(cl.rate(), "client-req/s")
			b.ReportMetric(ms(cl.percentile(99)), "client-p99-ms")
			b.ReportMetric(a.rate()/up.rate(), "ratio")
			b.ReportMetric(float64(a.errs+up.errs+cl.errs), "errors")
		})
	}
}

// listMaxPerClient bounds one client's requests in one phase, whatever
// the phase's duration.
const listMaxPerClient = 100_000

// phaseResult is one phase: every client's latencies, the wall time from
// the first request to the last answer, and what went wrong.
type phaseResult struct {
	lat     []time.Duration
	elapsed time.Duration
	errs    int   // transport errors and non-200 answers
	status  int   // the first non-200 status, 0 if none
	err     error // the first transport error
}

// hammer runs listClients clients calling do back to back for d (or
// listMaxPerClient calls each). do returns the HTTP status, or an error
// when there was no answer.
func hammer(do func(ctx context.Context, client int) (int, error), d time.Duration) phaseResult {
	ctx := context.Background()
	// One untimed call per client first: a fresh connection each, and
	// the first call's costs (handshake, lazy set-up) out of the figures.
	for w := range listClients {
		_, _ = do(ctx, w)
	}
	type clientResult struct {
		lat    []time.Duration
		errs   int
		status int
		err    error
	}
	results := make([]clientResult, listClients)
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(d)
	for w := range listClients {
		wg.Go(func() {
			r := &results[w]
			r.lat = make([]time.Duration, 0, 1024)
			for range listMaxPerClient {
				t0 := time.Now()
				if !t0.Before(deadline) {
					return
				}
				status, err := do(ctx, w)
				switch {
				case err != nil:
					r.errs++
					if r.err == nil {
						r.err = err
					}
				case status != http.StatusOK:
					r.errs++
					if r.status == 0 {
						r.status = status
					}
				default:
					r.lat = append(r.lat, time.Since(t0))
				}
			}
		})
	}
	wg.Wait()
	res := phaseResult{elapsed: time.Since(start)}
	for _, r := range results {
		res.lat = append(res.lat, r.lat...)
		res.errs += r.errs
		if res.status == 0 {
			res.status = r.status
		}
		if res.err == nil {
			res.err = r.err
		}
	}
	return res
}

// phaseStats adds up the phases of one kind of load.
type phaseStats struct {
	lat     []time.Duration
	elapsed time.Duration
	errs    int
}

// add counts r, and fails the benchmark on any non-200 answer or on
// transport errors above 1% (figures over a failing server mean nothing).
func (s *phaseStats) add(b *testing.B, name string, r phaseResult) {
	b.Helper()
	if r.status != 0 {
		b.Fatalf("%s: answered %d (%d errors in the phase)", name, r.status, r.errs)
	}
	if r.errs*100 > len(r.lat) {
		b.Fatalf("%s: %d transport errors for %d answers, first: %v", name, r.errs, len(r.lat), r.err)
	}
	if len(r.lat) == 0 {
		b.Fatalf("%s: no request completed", name)
	}
	s.lat = append(s.lat, r.lat...)
	s.elapsed += r.elapsed
	s.errs += r.errs
}

func (s *phaseStats) rate() float64 { return float64(len(s.lat)) / s.elapsed.Seconds() }

func (s *phaseStats) percentile(p int) time.Duration {
	if len(s.lat) == 0 {
		return 0
	}
	sorted := slices.Clone(s.lat)
	slices.Sort(sorted)
	return sorted[min(len(sorted)-1, len(sorted)*p/100)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// drain reads an answer's body to the end (so that its connection is
// reused) and returns its status.
func drain(resp *http.Response, err error) (int, error) {
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return 0, err
	}
	return resp.StatusCode, nil
}

// loopbackTransport is a private connection pool that takes no proxy
// from the environment and leaves gzip bodies compressed, as they are
// on the wire.
func loopbackTransport() *http.Transport {
	return &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
}

// countRows fetches the page once, checks it, and returns its rows.
func countRows(b *testing.B, c *http.Client, pageURL string) int {
	b.Helper()
	req, err := http.NewRequest(http.MethodGet, pageURL, nil)
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	resp, err := c.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("GET %s = %d\n%.500s", pageURL, resp.StatusCode, body)
	}
	n := strings.Count(string(body), `data-testid="policy-row"`)
	if n == 0 {
		b.Fatalf("GET %s: no rows", pageURL)
	}
	return n
}
