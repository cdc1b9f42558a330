package kasko_test

import (
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"backoffice/internal/sandbox"
	"backoffice/internal/throttle"
	"backoffice/web/webtest"
)

// fakeClock is the limiter's "now", moved by the test.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// failures counts what the guard reports to the metric.
type failures struct {
	mu sync.Mutex
	n  map[string]int
}

func (f *failures) add(kind, reason string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n[kind+"/"+reason]++
}

func (f *failures) get(k string) int { f.mu.Lock(); defer f.mu.Unlock(); return f.n[k] }

// throttledServer is a dashboard whose sign-in forms are throttled with
// the default limits on a fake clock; the loopback peer is a trusted
// proxy, so that each test client names its address in X-Forwarded-For.
func throttledServer(t *testing.T, trusted ...netip.Prefix) (*webtest.Server, *fakeClock, *failures) {
	t.Helper()
	clk := &fakeClock{t: time.Date(2031, 3, 4, 5, 6, 7, 0, time.UTC)}
	lim, err := throttle.NewMemory(throttle.DefaultLimits, throttle.WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	f := &failures{n: map[string]int{}}
	g := throttle.NewGuard(throttle.GuardConfig{Limiter: lim, TrustedProxies: trusted, Failure: f.add})
	return webtest.NewServer(t, webtest.Options{Sandbox: sandbox.Options{Policies: 20}, Throttle: g}), clk, f
}

// wrongKey is a well-formed key the sandbox does not know, ending in
// last4: its masked form, the account it is counted against, is the
// one of every key with the same prefix and last four characters.
func wrongKey(i int, last4 string) string {
	return fmt.Sprintf("sk_test_%028d%s", i, last4)
}

func secretTestKey(t *testing.T, srv *webtest.Server) string {
	t.Helper()
	for _, c := range srv.Upstream.Sandbox.Credentials() {
		if c.Kind == "secret" && c.Mode == "test" {
			return c.Key
		}
	}
	t.Fatal("the sandbox has no secret test key")
	return ""
}

// client is a browser at a client address, behind the trusted proxy.
func client(t *testing.T, srv *webtest.Server, ip, lang string) *webtest.Browser {
	b := srv.NewBrowser(t)
	b.Header.Set("Accept-Language", lang)
	if ip != "" {
		b.Header.Set("X-Forwarded-For", ip)
	}
	return b
}

const throttledEN = "Too many failed sign-ins with this key or from this network. Nothing was checked; wait a few minutes and try again."

// signIn posts key and checks the status and how many upstream checks
// it cost; it returns the answer.
func signIn(t *testing.T, srv *webtest.Server, b *webtest.Browser, key string, wantStatus, wantCalls int) webtest.Response {
	t.Helper()
	before := srv.Upstream.Sandbox.Calls(sandbox.RouteListPolicies)
	r := b.Post("/signin", url.Values{"key": {key}})
	if r.Status != wantStatus {
		t.Fatalf("sign-in with …%s: %d, want %d\n%.600s", key[len(key)-4:], r.Status, wantStatus, r.Body)
	}
	if calls := srv.Upstream.Sandbox.Calls(sandbox.RouteListPolicies) - before; calls != wantCalls {
		t.Fatalf("sign-in with …%s cost %d upstream checks, want %d", key[len(key)-4:], calls, wantCalls)
	}
	return r
}

// retryAfter checks a 429's Retry-After and message.
func retryAfter(t *testing.T, r webtest.Response, message string) time.Duration {
	t.Helper()
	secs, err := strconv.Atoi(r.Header.Get("Retry-After"))
	if err != nil || secs < 1 || secs > 600 {
		t.Fatalf("Retry-After = %q, want whole seconds up to 10 minutes", r.Header.Get("Retry-After"))
	}
	if r.Doc == nil {
		t.Fatal("the 429 is not a page")
	}
	if got := webtest.Text(r.Doc.Find(`[data-testid="key-error"]`)); got != message {
		t.Errorf("message = %q, want %q", got, message)
	}
	return time.Duration(secs) * time.Second
}

func TestSignInThrottled(t *testing.T) {
	t.Parallel()
	srv, clk, fails := throttledServer(t, netip.MustParsePrefix("127.0.0.1/32"))
	good := secretTestKey(t, srv)
	last4 := good[len(good)-4:]
	guesser := client(t, srv, "198.51.100.1", "en")

	// Five wrong keys counted against the good key's masked form: each
	// one asks the upstream and is refused.
	for i := range 5 {
		signIn(t, srv, guesser, wrongKey(i, last4), http.StatusUnprocessableEntity, 1)
	}
	// The sixth is refused here, without asking.
	r := signIn(t, srv, guesser, wrongKey(5, last4), http.StatusTooManyRequests, 0)
	wait := retryAfter(t, r, throttledEN)

	// The account is held from anywhere, even with the right key, in
	// the user's language, and through htmx (the key form alone).
	owner := client(t, srv, "203.0.113.20", "de")
	r = signIn(t, srv, owner, good, http.StatusTooManyRequests, 0)
	retryAfter(t, r, "Zu viele fehlgeschlagene Anmeldungen mit diesem Schlüssel oder aus diesem Netz. Es wurde nichts geprüft; warten Sie einige Minuten und versuchen Sie es dann erneut.")
	before := srv.Upstream.Sandbox.Calls(sandbox.RouteListPolicies)
	r = owner.Post("/signin", url.Values{"key": {good}}, "HX-Request", "true", "HX-Target", "key-form")
	if r.Status != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" || strings.Contains(r.Body, "<html") || r.Doc.Find(`[data-testid="key-error"]`).Length() != 1 {
		t.Errorf("htmx sign-in: %d, Retry-After %q\n%.400s", r.Status, r.Header.Get("Retry-After"), r.Body)
	}
	if srv.Upstream.Sandbox.Calls(sandbox.RouteListPolicies) != before {
		t.Error("the htmx sign-in asked the upstream")
	}

	// Another account from the guesser's address still goes to the
	// upstream, until the address has 20 failures (a malformed key is
	// one of them).
	signIn(t, srv, guesser, "sk_test_tooshort", http.StatusUnprocessableEntity, 0)
	for i := range 14 {
		signIn(t, srv, guesser, wrongKey(100+i, fmt.Sprintf("%04d", i)), http.StatusUnprocessableEntity, 1)
	}
	r = signIn(t, srv, guesser, wrongKey(200, "zzzz"), http.StatusTooManyRequests, 0)
	retryAfter(t, r, throttledEN)
	// Elsewhere, that account is fine.
	signIn(t, srv, client(t, srv, "192.0.2.33", "en"), wrongKey(200, "zzzz"), http.StatusUnprocessableEntity, 1)

	// Once Retry-After has passed, the right key works again.
	clk.Add(wait)
	signIn(t, srv, owner, good, http.StatusSeeOther, 1)

	if fails.get("kasko/rejected") != 20 || fails.get("kasko/malformed") != 1 || fails.get("kasko/throttled") != 4 {
		t.Errorf("failures reported: %v; want 20 rejected, 1 malformed, 4 throttled", fails.n)
	}
}

// TestSignInThrottleIgnoresSpoofedForwardedFor: with no trusted proxy,
// a client naming a new address in X-Forwarded-For for every guess is
// still one address.
func TestSignInThrottleIgnoresSpoofedForwardedFor(t *testing.T) {
	t.Parallel()
	srv, _, _ := throttledServer(t)
	b := client(t, srv, "", "en")
	for i := range 20 {
		b.Header.Set("X-Forwarded-For", fmt.Sprintf("198.51.100.%d", i+1))
		signIn(t, srv, b, wrongKey(i, fmt.Sprintf("%04d", i)), http.StatusUnprocessableEntity, 1)
	}
	b.Header.Set("X-Forwarded-For", "203.0.113.99")
	r := signIn(t, srv, b, wrongKey(99, "abcd"), http.StatusTooManyRequests, 0)
	retryAfter(t, r, throttledEN)
}

// TestSignInUnthrottledByDefault: without a guard (nil), failures are
// only what they were.
func TestSignInUnthrottledByDefault(t *testing.T) {
	t.Parallel()
	srv := webtest.NewServer(t, webtest.Options{Sandbox: sandbox.Options{Policies: 20}})
	b := client(t, srv, "", "en")
	for i := range 7 {
		signIn(t, srv, b, wrongKey(i, "abcd"), http.StatusUnprocessableEntity, 1)
	}
}
