package metrics_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"backoffice/apiclient"
	"backoffice/internal/metrics"
)

// scrape fetches m's /metrics over HTTP and returns its text and its
// samples, keyed by series as series() writes them.
func scrape(t *testing.T, m *metrics.Metrics) (string, map[string]float64) {
	t.Helper()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("scrape: got %d %q, want 200 text/plain", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	samples := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("scrape: unparseable line %q", line)
		}
		samples[line[:i]] = v
	}
	return string(b), samples
}

// series writes a series the way the text format does: labels sorted by
// name, except a histogram bucket's le, which comes last.
func series(name string, labels ...string) string {
	type kv struct{ k, v string }
	var kvs []kv
	for i := 0; i+1 < len(labels); i += 2 {
		kvs = append(kvs, kv{labels[i], labels[i+1]})
	}
	slices.SortFunc(kvs, func(a, b kv) int {
		switch {
		case a.k == "le":
			return 1
		case b.k == "le":
			return -1
		}
		return strings.Compare(a.k, b.k)
	})
	var b strings.Builder
	b.WriteString(name)
	if len(kvs) > 0 {
		b.WriteString("{")
		for i, p := range kvs {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString(p.k + `="` + p.v + `"`)
		}
		b.WriteString("}")
	}
	return b.String()
}

// want checks the value of one series, absent counting as 0.
func want(t *testing.T, samples map[string]float64, s string, v float64) {
	t.Helper()
	if got := samples[s]; got != v {
		t.Errorf("%s: got %v, want %v", s, got, v)
	}
}

func TestMiddlewareLabelsByPatternNotPath(t *testing.T) {
	m := metrics.New()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /policies/{id}", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "policy") })
	mux.HandleFunc("POST /policies/{id}/cancel", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/policies/"+r.PathValue("id"), http.StatusSeeOther)
	})
	mux.HandleFunc("GET /broken", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusBadGateway) })
	mux.HandleFunc("GET /panics", func(http.ResponseWriter, *http.Request) { panic("boom") })
	mux.HandleFunc("GET /silent", func(http.ResponseWriter, *http.Request) {})
	patternOf := func(r *http.Request) string { _, p := mux.Handler(r); return p }
	// As in web, a recovering middleware sits outside: the panic passes
	// through the metrics middleware first.
	recoverer := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() {
				if recover() != nil {
					http.Error(w, "internal error", http.StatusInternalServerError)
				}
			}()
			next.ServeHTTP(w, r)
		})
	}
	srv := httptest.NewServer(recoverer(m.Middleware(patternOf)(mux)))
	defer srv.Close()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{"GET", "/policies/tpol_secret_1", 200},
		{"GET", "/policies/tpol_secret_2", 200},
		{"POST", "/policies/tpol_secret_1/cancel", 303},
		{"GET", "/broken", 502},
		{"GET", "/panics", 500},
		{"GET", "/silent", 200},
		{"GET", "/no/such/tpol_secret_3", 404},
		{"DELETE", "/policies/tpol_secret_4", 405},
		{"BREW", "/policies/tpol_secret_5", 405},
	} {
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, nil)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Fatalf("%s %s: got %d, want %d", tc.method, tc.path, resp.StatusCode, tc.status)
		}
	}

	text, samples := scrape(t, m)
	const name = "backoffice_http_request_duration_seconds_count"
	want(t, samples, series(name, "pattern", "GET /policies/{id}", "method", "GET", "code", "2xx"), 2)
	want(t, samples, series(name, "pattern", "POST /policies/{id}/cancel", "method", "POST", "code", "3xx"), 1)
	want(t, samples, series(name, "pattern", "GET /broken", "method", "GET", "code", "5xx"), 1)
	want(t, samples, series(name, "pattern", "GET /panics", "method", "GET", "code", "5xx"), 1)
	want(t, samples, series(name, "pattern", "GET /silent", "method", "GET", "code", "2xx"), 1)
	want(t, samples, series(name, "pattern", "other", "method", "GET", "code", "4xx"), 1)
	want(t, samples, series(name, "pattern", "other", "method", "DELETE", "code", "4xx"), 1)
	want(t, samples, series(name, "pattern", "other", "method", "other", "code", "4xx"), 1)
	if strings.Contains(text, "tpol_secret") || strings.Contains(text, "BREW") {
		t.Errorf("a raw path or method became a label:\n%s", grep(text, "backoffice_http"))
	}
	// Every request lands in the +Inf bucket of its series, and the sum
	// is a duration.
	var total float64
	for k, v := range samples {
		if strings.HasPrefix(k, "backoffice_http_request_duration_seconds_bucket{") && strings.Contains(k, `le="+Inf"`) {
			total += v
		}
	}
	if total != 9 {
		t.Errorf("+Inf buckets: got %v requests, want 9", total)
	}
}

func grep(text, prefix string) string {
	var out []string
	for line := range strings.Lines(text) {
		if strings.HasPrefix(line, prefix) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "")
}

// TestMiddlewareKeepsFlushing streams through the middleware: the first
// chunk must reach the client before the handler ends.
func TestMiddlewareKeepsFlushing(t *testing.T) {
	m := metrics.New()
	release := make(chan struct{})
	handlerErr := make(chan error, 1)
	h := m.Middleware(func(*http.Request) string { return "GET /stream" })(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := w.(http.Flusher); !ok {
			handlerErr <- errors.New("the wrapped writer is not an http.Flusher")
			return
		}
		rc := http.NewResponseController(w)
		if err := rc.SetWriteDeadline(time.Now().Add(time.Minute)); err != nil {
			handlerErr <- errors.New("SetWriteDeadline through Unwrap: " + err.Error())
			return
		}
		io.WriteString(w, "first\n")
		if err := rc.Flush(); err != nil {
			handlerErr <- err
			return
		}
		<-release
		io.WriteString(w, "second\n")
		handlerErr <- nil
	}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	defer close(release)

	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(resp.Body).ReadString('\n')
		line <- s
	}()
	select {
	case s := <-line:
		if s != "first\n" {
			t.Errorf("first chunk: got %q", s)
		}
	case err := <-handlerErr:
		t.Fatalf("handler: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("the first chunk did not arrive before the handler ended: not flushed")
	}
}

// bareWriter supports nothing optional.
type bareWriter struct{ h http.Header }

func (w *bareWriter) Header() http.Header         { return w.h }
func (w *bareWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *bareWriter) WriteHeader(int)             {}

func TestMiddlewareReportsFlushNotSupported(t *testing.T) {
	m := metrics.New()
	var err error
	h := m.Middleware(func(*http.Request) string { return "GET /" })(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err = http.NewResponseController(w).Flush()
	}))
	h.ServeHTTP(&bareWriter{h: http.Header{}}, httptest.NewRequest("GET", "/", nil))
	if !errors.Is(err, http.ErrNotSupported) {
		t.Errorf("Flush over a writer that cannot: got %v, want http.ErrNotSupported", err)
	}
}

func TestObserveUpstream(t *testing.T) {
	m := metrics.New()
	transport := apiclient.TransportError("kasko", "", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")})
	tests := []struct {
		op      string
		status  int
		d       time.Duration
		err     error
		outcome string
		kind    string // "" when no error is counted
	}{
		{"GET /ok", 200, 200 * time.Millisecond, nil, "ok", ""},
		{"GET /not-found", 404, 30 * time.Millisecond, &apiclient.Error{StatusCode: 404, Kind: apiclient.ErrNotFound}, "client_error", "not_found"},
		{"POST /conflict", 409, 30 * time.Millisecond, &apiclient.Error{StatusCode: 409, Kind: apiclient.ErrConflict}, "client_error", "conflict"},
		{"GET /down", 503, 30 * time.Millisecond, &apiclient.Error{StatusCode: 503, Kind: apiclient.ErrUnavailable}, "server_error", "unavailable"},
		{"GET /slow", 0, 10 * time.Second, apiclient.TransportError("kasko", "", context.DeadlineExceeded), "timeout", "timeout"},
		{"GET /cut", 200, time.Second, apiclient.TransportError("kasko", "", context.DeadlineExceeded), "timeout", "timeout"},
		{"GET /refused", 0, time.Millisecond, transport, "transport", "transport"},
		{"GET /left", 0, time.Millisecond, apiclient.TransportError("kasko", "", context.Canceled), "canceled", "canceled"},
		{"GET /garbage", 200, 30 * time.Millisecond, &apiclient.Error{StatusCode: 200, Kind: apiclient.ErrInvalidResponse}, "server_error", "invalid_response"},
		{"GET /bare-500", 500, 30 * time.Millisecond, nil, "server_error", "unavailable"},
	}
	for _, tt := range tests {
		m.ObserveUpstream("kasko", tt.op, tt.status, tt.d, tt.err)
	}
	_, samples := scrape(t, m)
	for _, tt := range tests {
		want(t, samples, series("backoffice_upstream_request_duration_seconds_count", "upstream", "kasko", "operation", tt.op, "outcome", tt.outcome), 1)
		sum := samples[series("backoffice_upstream_request_duration_seconds_sum", "upstream", "kasko", "operation", tt.op, "outcome", tt.outcome)]
		if math.Abs(sum-tt.d.Seconds()) > 1e-9 {
			t.Errorf("%s: duration sum got %v, want %v", tt.op, sum, tt.d.Seconds())
		}
		var errs float64
		for k, v := range samples {
			if strings.HasPrefix(k, "backoffice_upstream_errors_total{") && strings.Contains(k, `operation="`+tt.op+`"`) {
				errs += v
			}
		}
		if tt.kind == "" {
			if errs != 0 {
				t.Errorf("%s: got %v errors counted, want none", tt.op, errs)
			}
			continue
		}
		want(t, samples, series("backoffice_upstream_errors_total", "upstream", "kasko", "operation", tt.op, "kind", tt.kind), 1)
		if errs != 1 {
			t.Errorf("%s: got %v errors counted, want 1", tt.op, errs)
		}
	}
	// The 200ms call sits in the 0.25 bucket, not in the 0.1 one.
	ok := func(le string) string {
		return series("backoffice_upstream_request_duration_seconds_bucket", "upstream", "kasko", "operation", "GET /ok", "outcome", "ok", "le", le)
	}
	want(t, samples, ok("0.1"), 0)
	want(t, samples, ok("0.25"), 1)
	want(t, samples, ok("30"), 1)
}

func TestCounters(t *testing.T) {
	m := metrics.New()
	m.Claim("cancel", metrics.ClaimWon)
	m.Claim("cancel", metrics.ClaimLost)
	m.Claim("cancel", metrics.ClaimLost)
	m.Claim("push", metrics.ClaimExpired)
	m.Claim("push", "whatever")
	m.Replay("cancel")
	m.Replay("cancel")
	m.Write("cancel", metrics.WriteAccepted)
	m.Write("cancel", metrics.WriteRejected)
	m.Write("create", metrics.WriteUnknown)
	m.Write("create", "exploded")
	for _, o := range []string{metrics.WriteCompleted, metrics.WriteFailed, metrics.WriteRefused} {
		m.Write("convert", o)
	}
	m.WriteStarted()
	m.WriteStarted()
	m.WriteStarted()
	m.WriteEnded()

	_, samples := scrape(t, m)
	claims := "backoffice_form_token_claims_total"
	want(t, samples, series(claims, "kind", "cancel", "result", "won"), 1)
	want(t, samples, series(claims, "kind", "cancel", "result", "lost"), 2)
	want(t, samples, series(claims, "kind", "push", "result", "expired"), 1)
	want(t, samples, series(claims, "kind", "push", "result", "other"), 1)
	want(t, samples, series(claims, "kind", "push", "result", "whatever"), 0)
	want(t, samples, series("backoffice_form_token_replays_total", "kind", "cancel"), 2)
	writes := "backoffice_writes_total"
	want(t, samples, series(writes, "action", "cancel", "outcome", "accepted"), 1)
	want(t, samples, series(writes, "action", "cancel", "outcome", "rejected"), 1)
	want(t, samples, series(writes, "action", "create", "outcome", "unknown"), 1)
	want(t, samples, series(writes, "action", "create", "outcome", "other"), 1)
	want(t, samples, series(writes, "action", "convert", "outcome", "completed"), 1)
	want(t, samples, series(writes, "action", "convert", "outcome", "failed"), 1)
	want(t, samples, series(writes, "action", "convert", "outcome", "refused"), 1)
	want(t, samples, "backoffice_writes_in_flight", 2)
}

func TestSignInFailures(t *testing.T) {
	m := metrics.New()
	name := "backoffice_signin_failures_total"
	_, samples := scrape(t, m)
	// Every kind and reason is served, at zero, before the first failure.
	for _, kind := range []string{"kasko", "casco"} {
		for _, reason := range []string{"rejected", "throttled", "malformed"} {
			if v, ok := samples[series(name, "kind", kind, "reason", reason)]; !ok || v != 0 {
				t.Errorf("%s{%s,%s} = %v (served %v), want 0 served", name, kind, reason, v, ok)
			}
		}
	}
	m.SignInFailure(metrics.SignInKasko, metrics.SignInRejected)
	m.SignInFailure(metrics.SignInKasko, metrics.SignInRejected)
	m.SignInFailure(metrics.SignInCasco, metrics.SignInThrottled)
	m.SignInFailure(metrics.SignInCasco, metrics.SignInMalformed)
	m.SignInFailure("ldap", "typo")
	_, samples = scrape(t, m)
	want(t, samples, series(name, "kind", "kasko", "reason", "rejected"), 2)
	want(t, samples, series(name, "kind", "casco", "reason", "throttled"), 1)
	want(t, samples, series(name, "kind", "casco", "reason", "malformed"), 1)
	want(t, samples, series(name, "kind", "other", "reason", "other"), 1)
}

// TestOwnRegistry: the runtime collectors are there, nothing registered
// on the global default registry is, and two instances coexist (a test
// process runs several servers).
func TestOwnRegistry(t *testing.T) {
	leak := prometheus.NewCounter(prometheus.CounterOpts{Name: "backoffice_test_global_leak_total", Help: "x"})
	prometheus.MustRegister(leak)
	defer prometheus.Unregister(leak)
	leak.Inc()

	a, b := metrics.New(), metrics.New()
	a.Replay("cancel")
	text, samples := scrape(t, b)
	if strings.Contains(text, "backoffice_test_global_leak_total") {
		t.Error("a metric of the default registry is served")
	}
	want(t, samples, series("backoffice_form_token_replays_total", "kind", "cancel"), 0)
	for _, name := range []string{"go_goroutines", "process_start_time_seconds", "promhttp_metric_handler_requests_total"} {
		if !strings.Contains(text, "\n"+name) {
			t.Errorf("%s missing from the scrape", name)
		}
	}
	// Fixed-set series exist before anything happens, at zero.
	want(t, samples, "backoffice_writes_in_flight", 0)
	if !strings.Contains(text, "# TYPE backoffice_writes_in_flight gauge") {
		t.Error("backoffice_writes_in_flight is not served before the first write")
	}
}

func TestNilMetricsIsANoOp(t *testing.T) {
	var m *metrics.Metrics
	m.ObserveUpstream("kasko", "GET /policies", 500, time.Second, errors.New("x"))
	m.Claim("cancel", metrics.ClaimWon)
	m.Replay("cancel")
	m.Write("cancel", metrics.WriteCompleted)
	m.WriteStarted()
	m.WriteEnded()
	m.SignInFailure(metrics.SignInKasko, metrics.SignInRejected)

	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	h := m.Middleware(nil)(next)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != http.StatusTeapot {
		t.Errorf("nil middleware: got %d, want the handler's 418", rec.Code)
	}
	rec = httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("nil Handler: got %d, want 404", rec.Code)
	}
}

// BenchmarkMiddleware measures what the middleware adds to a request: the
// difference between "bare" and "metrics" is its cost; "metrics+mux" adds
// the route lookup the dashboard's patternOf makes.
func BenchmarkMiddleware(b *testing.B) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /policies/{id}", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	req := httptest.NewRequest("GET", "/policies/tpol_3a1d4c1e1d58fd04ad6b0de1b50c", nil)
	w := &bareWriter{h: http.Header{}}
	m := metrics.New()
	for _, bc := range []struct {
		name string
		h    http.Handler
	}{
		{"bare", mux},
		{"metrics", m.Middleware(func(*http.Request) string { return "GET /policies/{id}" })(mux)},
		{"metrics+mux", m.Middleware(func(r *http.Request) string { _, p := mux.Handler(r); return p })(mux)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				bc.h.ServeHTTP(w, req)
			}
		})
	}
}
