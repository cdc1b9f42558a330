package casco_test

import (
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"backoffice/internal/sandbox"
	"backoffice/internal/throttle"
	"backoffice/web/webtest"
)

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

const partnerThrottledEN = "Too many failed sign-ins for this account or from this network. Nothing was checked; wait a few minutes and try again."

func TestPartnerSignInThrottled(t *testing.T) {
	t.Parallel()
	clk := &fakeClock{t: time.Date(2031, 3, 4, 5, 6, 7, 0, time.UTC)}
	lim, err := throttle.NewMemory(throttle.DefaultLimits, throttle.WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	reported := map[string]int{}
	g := throttle.NewGuard(throttle.GuardConfig{
		Limiter: lim, TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
		Failure: func(kind, reason string) { mu.Lock(); reported[kind+"/"+reason]++; mu.Unlock() },
	})
	srv := webtest.NewServer(t, webtest.Options{Sandbox: sandbox.Options{Policies: 20}, UpstreamTimeout: 2 * time.Second, Throttle: g})

	browser := func(ip, lang string) *webtest.Browser {
		b := srv.NewBrowser(t)
		b.Header.Set("Accept-Language", lang)
		b.Header.Set("X-Forwarded-For", ip)
		return b
	}
	post := func(b *webtest.Browser, account, password string, wantStatus int, wantCalls bool) webtest.Response {
		t.Helper()
		before := srv.Upstream.Sandbox.Calls(sandbox.RouteCascoAuth)
		r := b.Post("/signin/partner", partnerForm(account, password))
		if r.Status != wantStatus {
			t.Fatalf("partner sign-in %s: %d, want %d\n%.600s", account, r.Status, wantStatus, r.Body)
		}
		if called := srv.Upstream.Sandbox.Calls(sandbox.RouteCascoAuth) > before; called != wantCalls {
			t.Fatalf("partner sign-in %s asked the CascoApi: %v, want %v", account, called, wantCalls)
		}
		return r
	}
	throttled := func(r webtest.Response, message string) time.Duration {
		t.Helper()
		secs, err := strconv.Atoi(r.Header.Get("Retry-After"))
		if err != nil || secs < 1 || secs > 600 {
			t.Fatalf("Retry-After = %q, want whole seconds up to 10 minutes", r.Header.Get("Retry-After"))
		}
		if got := webtest.Text(r.Doc.Find(`[data-testid="partner-error"]`)); got != message {
			t.Errorf("message = %q, want %q", got, message)
		}
		return time.Duration(secs) * time.Second
	}

	guesser := browser("198.51.100.1", "en")
	// Five wrong passwords, the account's case changed between them: one
	// account, each refused upstream.
	for i, account := range []string{"demo", "DEMO", "Demo", "dEmo", "demo"} {
		post(guesser, account, "guess-"+strconv.Itoa(i), http.StatusUnprocessableEntity, true)
	}
	// The sixth is refused here, without asking, even with the right
	// password and from elsewhere, in the user's language.
	wait := throttled(post(guesser, "demo", "guess-6", http.StatusTooManyRequests, false), partnerThrottledEN)
	other := browser("203.0.113.7", "ro")
	throttled(post(other, sandbox.CascoDemoAccount, sandbox.CascoDemoPassword, http.StatusTooManyRequests, false),
		"Prea multe autentificări eșuate pentru acest cont sau din această rețea. Nu s-a verificat nimic; așteptați câteva minute și încercați din nou.")

	// Another account from the guesser's address still works.
	post(guesser, sandbox.CascoPartnerAccount, sandbox.CascoPartnerPassword, http.StatusSeeOther, true)

	// Once Retry-After has passed, the right password works.
	clk.Add(wait)
	post(other, sandbox.CascoDemoAccount, sandbox.CascoDemoPassword, http.StatusSeeOther, true)

	// A malformed account counts against the address alone, never asks.
	post(guesser, string(make([]byte, 201)), "x", http.StatusUnprocessableEntity, false)

	mu.Lock()
	defer mu.Unlock()
	if reported["casco/rejected"] != 5 || reported["casco/throttled"] != 2 || reported["casco/malformed"] != 1 {
		t.Errorf("failures reported: %v; want 5 rejected, 2 throttled, 1 malformed", reported)
	}
}

// TestPartnerSignInAddressLimit: many accounts from one address stop at
// the address's limit.
func TestPartnerSignInAddressLimit(t *testing.T) {
	t.Parallel()
	lim, err := throttle.NewMemory(throttle.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	srv := webtest.NewServer(t, webtest.Options{Sandbox: sandbox.Options{Policies: 20}, Throttle: throttle.NewGuard(throttle.GuardConfig{Limiter: lim})})
	b := srv.NewBrowser(t)
	for i := range 20 {
		if r := b.Post("/signin/partner", partnerForm("account-"+strconv.Itoa(i), "x")); r.Status != http.StatusUnprocessableEntity {
			t.Fatalf("attempt %d: %d, want 422", i, r.Status)
		}
	}
	before := srv.Upstream.Sandbox.Calls(sandbox.RouteCascoAuth)
	r := b.Post("/signin/partner", url.Values{"account": {sandbox.CascoDemoAccount}, "password": {sandbox.CascoDemoPassword}})
	if r.Status != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
		t.Errorf("21st attempt: %d, Retry-After %q; want 429 with it", r.Status, r.Header.Get("Retry-After"))
	}
	if srv.Upstream.Sandbox.Calls(sandbox.RouteCascoAuth) != before {
		t.Error("the 21st attempt asked the CascoApi")
	}
}
