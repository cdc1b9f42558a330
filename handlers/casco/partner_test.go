package casco_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"backoffice/internal/sandbox"
	"backoffice/web/webtest"
)

// newPartnerServer is a dashboard over a sandbox whose calls time out
// sooner than the default, so that a hung upstream fails the test fast.
// Not much sooner: under the race detector on a loaded CI machine a
// token renewal and a county's localities took over 300 ms.
func newPartnerServer(t *testing.T, opts sandbox.Options) *webtest.Server {
	t.Helper()
	if opts.Policies == 0 {
		opts.Policies = 60
	}
	return webtest.NewServer(t, webtest.Options{Sandbox: opts, UpstreamTimeout: 5 * time.Second})
}

func partnerForm(account, password string) url.Values {
	return url.Values{"account": {account}, "password": {password}}
}

func TestPartnerSignInPage(t *testing.T) {
	t.Parallel()
	srv := newPartnerServer(t, sandbox.Options{})
	b := srv.NewBrowser(t)
	b.Header.Set("Accept-Language", "en")

	kasko := b.Page(t, "/signin", http.StatusOK)
	if kasko.Doc.Find(`#key-form`).Length() != 1 || kasko.Doc.Find(`[data-testid="partner-form"]`).Length() != 0 {
		t.Error("the default tab is not the KASKO key form")
	}
	if kasko.Doc.Find(`[data-testid="tab-casco"]`).AttrOr("href", "") != "/signin?tab=casco" {
		t.Errorf("partner tab link = %q", kasko.Doc.Find(`[data-testid="tab-casco"]`).AttrOr("href", ""))
	}
	partner := b.Page(t, "/signin?tab=casco&next=%2Fcasco", http.StatusOK)
	if partner.Doc.Find(`[data-testid="partner-form"] input[name="account"]`).Length() != 1 || partner.Doc.Find(`#key-form`).Length() != 0 {
		t.Fatal("the partner tab does not show the partner form")
	}
	if partner.Doc.Find(`[data-testid="tab-casco"]`).AttrOr("aria-current", "") != "page" {
		t.Error("the partner tab is not marked current")
	}
	if got := partner.Doc.Find(`[data-testid="partner-form"] input[name="next"]`).AttrOr("value", ""); got != "/casco" {
		t.Errorf("next kept = %q", got)
	}
	if n := partner.Doc.Find(`[data-testid="demo-partner"]`).Length(); n != 2 {
		t.Errorf("demo partners listed = %d, want 2", n)
	}
	if !strings.Contains(webtest.Text(partner.Doc.Find(`[data-testid="demo-partner"]`).First()), sandbox.CascoDemoAccount) {
		t.Error("the demo account is not listed")
	}
}

func TestPartnerSignInOutcomes(t *testing.T) {
	t.Parallel()
	srv := newPartnerServer(t, sandbox.Options{})
	down := webtest.NewServer(t, webtest.Options{Sandbox: sandbox.Options{Policies: 20, Faults: sandbox.Faults{ErrorRate: 1}}, UpstreamTimeout: 5 * time.Second})
	tests := []struct {
		name      string
		srv       *webtest.Server
		form      url.Values
		wantError string
		wantReqID bool
	}{
		{"empty", srv, partnerForm("", ""), "Enter your partner account and password.", false},
		{"no password", srv, partnerForm(sandbox.CascoDemoAccount, ""), "Enter your partner account and password.", false},
		{"overlong", srv, partnerForm(strings.Repeat("a", 201), "x"), "That account name or password is too long to be real.", false},
		{"wrong password", srv, partnerForm(sandbox.CascoDemoAccount, "guess"), "The CASCO service did not accept this account and password.", true},
		{"upstream down", down, partnerForm(sandbox.CascoDemoAccount, sandbox.CascoDemoPassword), "The CASCO service could not be reached to check your account. Try again in a moment.", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.srv.NewBrowser(t)
			b.Header.Set("Accept-Language", "en")
			r := b.Post("/signin/partner", tt.form)
			if r.Status != http.StatusUnprocessableEntity {
				t.Fatalf("status = %d, want 422", r.Status)
			}
			msg := webtest.Text(r.Doc.Find(`[data-testid="partner-error"]`))
			if !strings.HasPrefix(msg, tt.wantError) {
				t.Errorf("message = %q, want %q", msg, tt.wantError)
			}
			if got := strings.Contains(msg, "req_") || strings.Contains(msg, "Request id"); got != tt.wantReqID && tt.wantReqID {
				t.Errorf("request id shown = %v, want %v (%q)", got, tt.wantReqID, msg)
			}
			if got := r.Doc.Find(`[data-testid="partner-form"] input[name="password"]`).AttrOr("value", ""); got != "" {
				t.Errorf("the password came back in the form: %q", got)
			}
			if got := r.Doc.Find(`input[name="account"]`).AttrOr("value", ""); got != strings.TrimSpace(tt.form.Get("account")) {
				t.Errorf("account kept = %q", got)
			}
			// htmx gets the form alone.
			hx := b.Post("/signin/partner", tt.form, "HX-Request", "true")
			if hx.Doc.Find("header.site-header").Length() != 0 || hx.Doc.Find(`[data-testid="partner-form"]`).Length() != 1 {
				t.Error("the htmx answer is not the form alone")
			}
		})
	}
}

func TestPartnerBesideKaskoAndSignOut(t *testing.T) {
	t.Parallel()
	srv := newPartnerServer(t, sandbox.Options{})
	b := srv.SignedIn(t, sandbox.KeyASecretTest)

	r := b.Post("/signin/partner", partnerForm(sandbox.CascoDemoAccount, sandbox.CascoDemoPassword))
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/casco" {
		t.Fatalf("partner sign-in = %d to %q, want 303 to /casco", r.Status, r.Header.Get("Location"))
	}
	home := b.Page(t, "/casco", http.StatusOK)
	if got := webtest.Text(home.Doc.Find(`[data-testid="casco-account"]`)); !strings.Contains(got, sandbox.CascoDemoAccount) {
		t.Errorf("casco page = %q", got)
	}
	// The header shows both sign-ins, and both kinds of pages work.
	for _, path := range []string{"/casco", "/policies"} {
		p := b.Page(t, path, http.StatusOK)
		if p.Doc.Find(`[data-testid="partner-badge"]`).Length() != 1 || p.Doc.Find(`[data-testid="user-badge"]`).Length() != 1 {
			t.Errorf("%s: header lacks a badge (partner %d, kasko %d)", path, p.Doc.Find(`[data-testid="partner-badge"]`).Length(), p.Doc.Find(`[data-testid="user-badge"]`).Length())
		}
		if p.Doc.Find(`[data-testid="nav-casco"]`).Length() != 1 || p.Doc.Find(`[data-testid="nav-policies"]`).Length() != 1 {
			t.Errorf("%s: navigation lacks a section", path)
		}
	}
	if strings.Contains(home.Body, sandbox.CascoDemoPassword) || strings.Contains(home.Body, "eyJ") {
		t.Error("a password or token reached the page")
	}

	// Signing out ends the upstream session too.
	before := srv.Upstream.Sandbox.Calls(sandbox.RouteCascoDeauth)
	out := b.Post("/signout", nil)
	if out.Status != http.StatusSeeOther {
		t.Fatalf("sign-out = %d", out.Status)
	}
	if n := srv.Upstream.Sandbox.Calls(sandbox.RouteCascoDeauth) - before; n != 1 {
		t.Errorf("DELETE /auth calls = %d, want 1", n)
	}
	if p := b.Get("/casco"); p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Header.Get("Location"), "/signin?tab=casco") {
		t.Errorf("after sign-out /casco = %d to %q", p.Status, p.Header.Get("Location"))
	}
}

func TestPartnerPagesNeedPartnerSignIn(t *testing.T) {
	t.Parallel()
	srv := newPartnerServer(t, sandbox.Options{})
	kaskoOnly := srv.SignedIn(t, sandbox.KeyASecretTest)
	r := kaskoOnly.Get("/casco")
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/signin?tab=casco&next=%2Fcasco" {
		t.Errorf("/casco with a KASKO key only = %d to %q", r.Status, r.Header.Get("Location"))
	}
	hx := kaskoOnly.Get("/casco", "HX-Request", "true")
	if hx.Status != http.StatusUnauthorized || !strings.HasPrefix(hx.Header.Get("HX-Redirect"), "/signin?tab=casco") {
		t.Errorf("htmx /casco = %d, HX-Redirect %q", hx.Status, hx.Header.Get("HX-Redirect"))
	}
	// A partner alone lands on the quotes from /, and is sent back where
	// they were going after signing in.
	partner := srv.NewBrowser(t)
	in := partner.Post("/signin/partner", url.Values{"account": {sandbox.CascoDemoAccount}, "password": {sandbox.CascoDemoPassword}, "next": {"/casco?x=1"}})
	if in.Header.Get("Location") != "/casco?x=1" {
		t.Errorf("after sign-in the partner goes to %q, want /casco?x=1", in.Header.Get("Location"))
	}
	if home := partner.Get("/"); home.Header.Get("Location") != "/casco" {
		t.Errorf("/ for a partner = %q, want /casco", home.Header.Get("Location"))
	}
	if p := partner.Get("/policies"); p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Header.Get("Location"), "/signin?next=") {
		t.Errorf("/policies for a partner alone = %d to %q, want the KASKO sign-in", p.Status, p.Header.Get("Location"))
	}
}

func TestPartnerTokensRenewAndExpire(t *testing.T) {
	t.Parallel()
	srv := newPartnerServer(t, sandbox.Options{CascoTokenTTL: 2 * time.Second})
	b := srv.NewBrowser(t)
	b.Post("/signin/partner", partnerForm(sandbox.CascoDemoAccount, sandbox.CascoDemoPassword))
	b.Page(t, "/casco", http.StatusOK)
	if n := srv.Upstream.Sandbox.Calls(sandbox.RouteCascoRenew); n != 0 {
		t.Fatalf("renewed %d times with a fresh token", n)
	}
	// Each county's localities are an upstream call (the first of each is
	// not cached yet).
	time.Sleep(1700 * time.Millisecond) // inside the renewal margin
	b.Page(t, "/casco/options/localities?county=CJ", http.StatusOK)
	if n := srv.Upstream.Sandbox.Calls(sandbox.RouteCascoRenew); n != 1 {
		t.Fatalf("renewals = %d, want 1 near expiry", n)
	}
	// The renewed pair was kept: the next call needs no renewal, and the
	// rotated refresh token is not tried again.
	b.Page(t, "/casco/options/localities?county=TM", http.StatusOK)
	if n := srv.Upstream.Sandbox.Calls(sandbox.RouteCascoRenew); n != 1 {
		t.Errorf("renewals = %d after the renewed tokens were stored, want still 1", n)
	}

	// A refresh token that no longer works: back to the partner sign-in,
	// with the way back.
	short := newPartnerServer(t, sandbox.Options{CascoTokenTTL: time.Second, CascoRefreshTTL: time.Second})
	s := short.NewBrowser(t)
	s.Post("/signin/partner", partnerForm(sandbox.CascoDemoAccount, sandbox.CascoDemoPassword))
	time.Sleep(1300 * time.Millisecond)
	r := s.Get("/casco/options/localities?county=CJ")
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/signin?tab=casco&next=%2Fcasco%2Foptions%2Flocalities%3Fcounty%3DCJ" {
		t.Errorf("with a dead refresh token = %d to %q", r.Status, r.Header.Get("Location"))
	}
	if p := s.Get("/casco"); p.Status != http.StatusSeeOther {
		t.Errorf("the dead login was kept: /casco = %d", p.Status)
	}
}
