package casco_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"backoffice/apiclient"
	"backoffice/apiclient/casco"
)

func TestNewRejectsBadOptions(t *testing.T) {
	for _, base := range []string{"", "ftp://h", "http://", "http://h/?q=1", "http://u:p@h/", "::"} {
		if _, err := casco.New(base); err == nil {
			t.Errorf("New(%q): got nil error, want one", base)
		}
	}
	bad := map[string]casco.Option{
		"timeout 0":       casco.WithTimeout(0),
		"nil http client": casco.WithHTTPClient(nil),
		"nil logger":      casco.WithLogger(nil),
		"language de":     casco.WithLanguage("de"),
		"doc size 0":      casco.WithMaxDocumentSize(0),
		"renew before <0": casco.WithRenewBefore(-time.Second),
		"nil clock":       casco.WithClock(nil),
		"UA line break":   casco.WithUserAgent("a\r\nX-Evil: 1"),
	}
	for name, opt := range bad {
		if _, err := casco.New("http://h", opt); err == nil || !strings.HasPrefix(err.Error(), "casco: ") {
			t.Errorf("%s: got %v, want a casco: error", name, err)
		}
	}
	c := mustNew(t, "http://h/casco/")
	if got := c.BaseURL(); got != "http://h/casco" {
		t.Errorf("BaseURL: got %q", got)
	}
}

func TestLoginRequestAndTokens(t *testing.T) {
	clk := newClock()
	f, srv := newFake(t, clk)
	c := mustNew(t, srv.URL, casco.WithClock(clk.Now), casco.WithLanguage("ro"), casco.WithUserAgent("ua-test/1"))
	var got *http.Request
	f.routes["GET /nomenclature/county"] = func(w http.ResponseWriter, r *http.Request) {
		got = r.Clone(context.Background())
		counties(w, r)
	}
	s := mustLogin(t, c)
	tk := s.Tokens()
	if !strings.HasPrefix(tk.Token, "eyJ") || !strings.HasPrefix(tk.RefreshToken, "rt-1-") {
		t.Errorf("tokens: got %+v", tk)
	}
	if want := clk.Now().Add(5 * time.Minute); !tk.ExpiresAt.Equal(want) || tk.ExpiresAt.Location() != time.UTC {
		t.Errorf("ExpiresAt: got %v, want %v UTC", tk.ExpiresAt, want)
	}
	login := f.calls("POST /auth")
	if len(login) != 1 || !strings.HasSuffix(login[0], "/auth ") {
		t.Errorf("login calls: got %q, want one without a Token header", login)
	}
	if _, err := s.Counties(context.Background()); err != nil {
		t.Fatal(err)
	}
	for h, want := range map[string]string{"Token": tk.Token, "Content-Language": "ro", "User-Agent": "ua-test/1",
		"Accept": "application/json", "Authorization": ""} {
		if v := got.Header.Get(h); v != want {
			t.Errorf("%s: got %q, want %q", h, v, want)
		}
	}
	if err := s.SetLanguage("en"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Counties(context.Background()); err != nil {
		t.Fatal(err)
	}
	if v := got.Header.Get("Content-Language"); v != "en" {
		t.Errorf("session language: got %q, want en", v)
	}
}

// TestExpiresAtIsBucharestTime: without an exp claim, expires_at is read
// as Bucharest wall-clock time, not UTC (contract trap 12).
func TestExpiresAtIsBucharestTime(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /auth", func(w http.ResponseWriter, r *http.Request) {
		// 19:41:27 in Bucharest in September is 16:41:27 UTC (EEST).
		writeEnvelope(w, 200, map[string]any{"token": "opaque-not-a-jwt", "expires_at": "2021-09-03 19:41:27", "refresh_token": "rt-x"}, "")
	})
	s := mustLogin(t, mustNew(t, httptestServer(t, mux)))
	if want := time.Date(2021, 9, 3, 16, 41, 27, 0, time.UTC); !s.Tokens().ExpiresAt.Equal(want) {
		t.Errorf("ExpiresAt: got %v, want %v", s.Tokens().ExpiresAt, want)
	}
	// With both, the earlier wins, so a wrong exp cannot delay renewal.
	mux2 := http.NewServeMux()
	mux2.HandleFunc("POST /auth", func(w http.ResponseWriter, r *http.Request) {
		exp := time.Date(2021, 9, 3, 18, 0, 0, 0, time.UTC)
		writeEnvelope(w, 200, map[string]any{"token": mkJWT(exp, time.Time{}, 1), "expires_at": "2021-09-03 19:41:27", "refresh_token": "rt-x"}, "")
	})
	s = mustLogin(t, mustNew(t, httptestServer(t, mux2)))
	if want := time.Date(2021, 9, 3, 16, 41, 27, 0, time.UTC); !s.Tokens().ExpiresAt.Equal(want) {
		t.Errorf("ExpiresAt (exp later): got %v, want %v", s.Tokens().ExpiresAt, want)
	}
}

func TestLoginFailures(t *testing.T) {
	_, srv := newFake(t, newClock())
	c := mustNew(t, srv.URL)
	ctx := context.Background()

	_, err := c.Login(ctx, testAccount, "wrong")
	if !errors.Is(err, apiclient.ErrUnauthorized) || !errors.Is(err, casco.ErrInvalidCredentials) || errors.Is(err, casco.ErrSessionExpired) {
		t.Errorf("wrong password: got %v, want ErrUnauthorized + ErrInvalidCredentials", err)
	}
	if e := mustAPIError(t, err); e.StatusCode != 401 || e.Message != "Invalid credentials" || e.RequestID != "req-401" || e.Op != "POST /auth" {
		t.Errorf("wrong password: got %+v", e)
	}

	_, err = c.Login(ctx, " ", "")
	e := mustAPIError(t, err)
	if !errors.Is(err, apiclient.ErrBadRequest) || e.StatusCode != 0 || len(e.Fields["account"]) != 1 || len(e.Fields["password"]) != 1 {
		t.Errorf("empty credentials: got %+v", e)
	}

	if _, err := c.Resume(casco.Tokens{Token: "x"}); !errors.Is(err, casco.ErrSessionExpired) || !errors.Is(err, apiclient.ErrUnauthorized) {
		t.Errorf("Resume without refresh token: got %v", err)
	}
}

// TestConcurrentProactiveRenewal: fifty calls find the token about to
// expire at once; exactly one PATCH renews it, all calls use the new
// token, and OnRenew hears of it once.
func TestConcurrentProactiveRenewal(t *testing.T) {
	clk := newClock()
	f, srv := newFake(t, clk)
	f.routes["GET /nomenclature/county"] = counties
	c := mustNew(t, srv.URL, casco.WithClock(clk.Now))
	s := mustLogin(t, c)
	old := s.Tokens()
	var renewed []casco.Tokens
	var hookMu sync.Mutex
	s.OnRenew(func(tk casco.Tokens) {
		hookMu.Lock()
		defer hookMu.Unlock()
		renewed = append(renewed, tk)
	})
	clk.Advance(4*time.Minute + 30*time.Second) // 30 s left, inside the 1 min margin

	f.patchGate = make(chan struct{})
	const n = 50
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			_, err := s.Counties(context.Background())
			errs <- err
		})
	}
	// Let every goroutine reach the renewal before it completes.
	waitFor(t, func() bool { return f.patches.Load() >= 1 })
	time.Sleep(50 * time.Millisecond)
	close(f.patchGate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("call: %v", err)
		}
	}
	if got := f.patches.Load(); got != 1 {
		t.Errorf("PATCH /auth calls: got %d, want 1", got)
	}
	now := s.Tokens()
	if now.Token == old.Token || now.RefreshToken == old.RefreshToken {
		t.Errorf("tokens not rotated: %+v", now)
	}
	if patch := f.calls("PATCH /auth"); len(patch) != 1 || patch[0] != "PATCH /auth Refresh "+old.RefreshToken {
		t.Errorf("PATCH: got %q, want Token: Refresh <old refresh token>", patch)
	}
	calls := f.calls("GET /nomenclature/county")
	if len(calls) != n {
		t.Errorf("county calls: got %d, want %d", len(calls), n)
	}
	for _, call := range calls {
		if !strings.HasSuffix(call, " "+now.Token) {
			t.Errorf("call with the old token: %s", call)
		}
	}
	hookMu.Lock()
	defer hookMu.Unlock()
	if len(renewed) != 1 || renewed[0] != now {
		t.Errorf("OnRenew: got %d calls %+v, want one with %+v", len(renewed), renewed, now)
	}
}

// TestConcurrentRenewalAfter401: the upstream revokes the access token
// early; twenty calls get 401 at once, one PATCH renews it, and every
// call is retried once with the new token.
func TestConcurrentRenewalAfter401(t *testing.T) {
	clk := newClock()
	f, srv := newFake(t, clk)
	f.routes["GET /nomenclature/county"] = counties
	s := mustLogin(t, mustNew(t, srv.URL, casco.WithClock(clk.Now)))
	f.expireAll()
	const n = 20
	var wg sync.WaitGroup
	var failed atomic.Int32
	for range n {
		wg.Go(func() {
			if _, err := s.Counties(context.Background()); err != nil {
				t.Errorf("call: %v", err)
				failed.Add(1)
			}
		})
	}
	wg.Wait()
	if got := f.patches.Load(); got != 1 {
		t.Errorf("PATCH /auth calls: got %d, want 1", got)
	}
	if got := len(f.calls("GET /nomenclature/county")); got < n+1 || got > 2*n {
		t.Errorf("county calls: got %d, want between %d and %d", got, n+1, 2*n)
	}
}

// TestResumedSessionsShareRenewal: each dashboard request rebuilds its
// session from the stored tokens; concurrent ones still renew once, and
// a request that resumes the old tokens after the renewal adopts the new
// ones instead of spending the used refresh token.
func TestResumedSessionsShareRenewal(t *testing.T) {
	clk := newClock()
	f, srv := newFake(t, clk)
	f.routes["GET /nomenclature/county"] = counties
	c := mustNew(t, srv.URL, casco.WithClock(clk.Now))
	stored := mustLogin(t, c).Tokens()
	clk.Advance(5 * time.Minute) // expired

	f.patchGate = make(chan struct{})
	const n = 10
	sessions := make([]*casco.Session, n)
	hooks := make([]atomic.Int32, n)
	var wg sync.WaitGroup
	for i := range n {
		s, err := c.Resume(stored)
		if err != nil {
			t.Fatal(err)
		}
		s.OnRenew(func(casco.Tokens) { hooks[i].Add(1) })
		sessions[i] = s
		wg.Go(func() {
			if _, err := s.Counties(context.Background()); err != nil {
				t.Errorf("session %d: %v", i, err)
			}
		})
	}
	waitFor(t, func() bool { return f.patches.Load() >= 1 })
	time.Sleep(50 * time.Millisecond)
	close(f.patchGate)
	wg.Wait()
	if got := f.patches.Load(); got != 1 {
		t.Errorf("PATCH /auth calls: got %d, want 1", got)
	}
	for i, s := range sessions {
		if s.Tokens() != sessions[0].Tokens() || s.Tokens().Token == stored.Token {
			t.Errorf("session %d: tokens %+v differ or were not renewed", i, s.Tokens())
		}
		if hooks[i].Load() != 1 {
			t.Errorf("session %d: OnRenew called %d times, want 1", i, hooks[i].Load())
		}
	}

	late, err := c.Resume(stored)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := late.Counties(context.Background()); err != nil {
		t.Errorf("late resume: %v", err)
	}
	if got := f.patches.Load(); got != 1 || late.Tokens() != sessions[0].Tokens() {
		t.Errorf("late resume: %d PATCHes, tokens %+v; want 1 and the renewed ones", got, late.Tokens())
	}
}

func TestRefreshRefused(t *testing.T) {
	clk := newClock()
	f, srv := newFake(t, clk)
	f.routes["GET /nomenclature/county"] = counties
	c := mustNew(t, srv.URL, casco.WithClock(clk.Now))
	s := mustLogin(t, c)
	f.mu.Lock()
	clear(f.refresh) // revoked upstream
	f.mu.Unlock()
	f.expireAll()

	_, err := s.Counties(context.Background())
	if !errors.Is(err, casco.ErrSessionExpired) || !errors.Is(err, apiclient.ErrUnauthorized) {
		t.Fatalf("got %v, want ErrSessionExpired and ErrUnauthorized", err)
	}
	e := mustAPIError(t, err)
	if e.Op != "PATCH /auth" || e.StatusCode != 401 || e.Message != "Invalid refresh token" || e.RequestID == "" {
		t.Errorf("error: got %+v", e)
	}
	if got := len(f.calls("GET /nomenclature/county")); got != 1 {
		t.Errorf("county calls: got %d, want 1 (no retry without a new token)", got)
	}

	// Proactive: the token is about to expire and the refresh is refused.
	s = mustLogin(t, c)
	f.mu.Lock()
	clear(f.refresh)
	f.mu.Unlock()
	clk.Advance(4*time.Minute + 50*time.Second)
	if _, err := s.Counties(context.Background()); !errors.Is(err, casco.ErrSessionExpired) {
		t.Errorf("proactive: got %v, want ErrSessionExpired", err)
	}
}

// TestRenewalUnavailableUsesValidToken: a renewal that fails because the
// upstream is down is not fatal while the token still works.
func TestRenewalUnavailableUsesValidToken(t *testing.T) {
	clk := newClock()
	f, srv := newFake(t, clk)
	f.routes["GET /nomenclature/county"] = counties
	s := mustLogin(t, mustNew(t, srv.URL, casco.WithClock(clk.Now)))
	old := s.Tokens()
	f.patchStatus.Store(503)
	clk.Advance(4*time.Minute + 30*time.Second)
	if _, err := s.Counties(context.Background()); err != nil {
		t.Fatalf("got %v, want success with the still-valid token", err)
	}
	if s.Tokens() != old {
		t.Error("tokens changed after a failed renewal")
	}
	clk.Advance(time.Minute) // now expired
	_, err := s.Counties(context.Background())
	if !errors.Is(err, apiclient.ErrUnavailable) || errors.Is(err, casco.ErrSessionExpired) {
		t.Errorf("expired token, upstream down: got %v, want ErrUnavailable", err)
	}
	f.patchStatus.Store(0)
	if _, err := s.Counties(context.Background()); err != nil {
		t.Errorf("after recovery: %v", err)
	}
}

// TestUnauthorizedAfterRenewal: a 401 with a token just renewed is the
// upstream's fault, not an expired session: one renewal, one retry, and
// ErrUnauthorized without ErrSessionExpired.
func TestUnauthorizedAfterRenewal(t *testing.T) {
	clk := newClock()
	f, srv := newFake(t, clk)
	f.routes["GET /nomenclature/county"] = func(w http.ResponseWriter, r *http.Request) {
		writeEnvelope(w, 401, nil, "Unauthorized")
	}
	s := mustLogin(t, mustNew(t, srv.URL, casco.WithClock(clk.Now)))
	_, err := s.Counties(context.Background())
	if !errors.Is(err, apiclient.ErrUnauthorized) || errors.Is(err, casco.ErrSessionExpired) {
		t.Errorf("got %v, want ErrUnauthorized only", err)
	}
	if p, calls := f.patches.Load(), len(f.calls("GET /nomenclature/county")); p != 1 || calls != 2 {
		t.Errorf("got %d PATCHes and %d calls, want 1 and 2", p, calls)
	}
}

func TestLogout(t *testing.T) {
	clk := newClock()
	f, srv := newFake(t, clk)
	f.routes["GET /nomenclature/county"] = counties
	c := mustNew(t, srv.URL, casco.WithClock(clk.Now))
	s := mustLogin(t, c)
	tk := s.Tokens()
	if err := s.Logout(context.Background()); err != nil {
		t.Fatal(err)
	}
	if d := f.calls("DELETE /auth"); len(d) != 1 || d[0] != "DELETE /auth "+tk.Token {
		t.Errorf("DELETE: got %q", d)
	}
	if s.Tokens() != (casco.Tokens{}) {
		t.Errorf("Tokens after Logout: got %+v, want empty", s.Tokens())
	}
	before := len(f.calls(""))
	if _, err := s.Counties(context.Background()); !errors.Is(err, casco.ErrSessionExpired) {
		t.Errorf("call after Logout: got %v, want ErrSessionExpired", err)
	}
	if err := s.Logout(context.Background()); err != nil {
		t.Errorf("second Logout: %v", err)
	}
	if after := len(f.calls("")); after != before {
		t.Errorf("calls after Logout reached the upstream: %d", after-before)
	}

	// A session whose tokens the upstream no longer takes logs out
	// quietly.
	s = mustLogin(t, c)
	f.expireAll()
	f.mu.Lock()
	clear(f.refresh)
	f.mu.Unlock()
	if err := s.Logout(context.Background()); err != nil {
		t.Errorf("Logout of a dead session: %v", err)
	}
	// Any other failure keeps the session open.
	s = mustLogin(t, c)
	f.deleteStatus.Store(503)
	if err := s.Logout(context.Background()); !errors.Is(err, apiclient.ErrUnavailable) {
		t.Errorf("Logout, upstream down: got %v, want ErrUnavailable", err)
	}
	if _, err := s.Counties(context.Background()); err != nil {
		t.Errorf("call after a failed Logout: %v", err)
	}
}

// TestRenewExplicit: Renew rotates at once and reports through OnRenew.
func TestRenewExplicit(t *testing.T) {
	clk := newClock()
	f, srv := newFake(t, clk)
	s := mustLogin(t, mustNew(t, srv.URL, casco.WithClock(clk.Now)))
	var got casco.Tokens
	s.OnRenew(func(tk casco.Tokens) { got = tk })
	old := s.Tokens()
	if err := s.Renew(context.Background()); err != nil {
		t.Fatal(err)
	}
	if f.patches.Load() != 1 || got != s.Tokens() || got.Token == old.Token {
		t.Errorf("Renew: %d PATCHes, hook %+v, tokens %+v", f.patches.Load(), got, s.Tokens())
	}
}

// TestRenewalWaitHonoursContext: a caller whose context ends while the
// renewal is under way returns at once; the renewal still completes for
// the others.
func TestRenewalWaitHonoursContext(t *testing.T) {
	clk := newClock()
	f, srv := newFake(t, clk)
	f.routes["GET /nomenclature/county"] = counties
	s := mustLogin(t, mustNew(t, srv.URL, casco.WithClock(clk.Now)))
	clk.Advance(5 * time.Minute)
	f.patchGate = make(chan struct{})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := s.Counties(ctx)
	if !errors.Is(err, apiclient.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want ErrUnavailable and DeadlineExceeded", err)
	}
	close(f.patchGate)
	if _, err := s.Counties(context.Background()); err != nil {
		t.Errorf("after the renewal: %v", err)
	}
	if got := f.patches.Load(); got != 1 {
		t.Errorf("PATCH /auth calls: got %d, want 1", got)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
