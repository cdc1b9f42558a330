package handlers_test

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"backoffice/internal/sandbox"
	"backoffice/web/webtest"
)

func partnerForm(account, password string) url.Values {
	return url.Values{"account": {account}, "password": {password}}
}

func TestPartnerSignInPage(t *testing.T) {
	t.Parallel()
	srv := newCancelServer(t, sandbox.Options{})
	b := srv.NewBrowser(t)
	b.Header.Set("Accept-Language", "en")

	kasko := page(t, b, "/signin", http.StatusOK)
	if kasko.Doc.Find(`#key-form`).Length() != 1 || kasko.Doc.Find(`[data-testid="partner-form"]`).Length() != 0 {
		t.Error("the default tab is not the KASKO key form")
	}
	if kasko.Doc.Find(`[data-testid="tab-casco"]`).AttrOr("href", "") != "/signin?tab=casco" {
		t.Errorf("partner tab link = %q", kasko.Doc.Find(`[data-testid="tab-casco"]`).AttrOr("href", ""))
	}
	partner := page(t, b, "/signin?tab=casco&next=%2Fcasco", http.StatusOK)
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
	if !strings.Contains(textOf(partner.Doc.Find(`[data-testid="demo-partner"]`).First()), sandbox.CascoDemoAccount) {
		t.Error("the demo account is not listed")
	}
}

func TestPartnerSignInOutcomes(t *testing.T) {
	t.Parallel()
	srv := newCancelServer(t, sandbox.Options{})
	down := webtest.NewServer(t, webtest.Options{Sandbox: sandbox.Options{Policies: 20, Faults: sandbox.Faults{ErrorRate: 1}}, UpstreamTimeout: 300 * time.Millisecond})
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
			msg := textOf(r.Doc.Find(`[data-testid="partner-error"]`))
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
	srv := newCancelServer(t, sandbox.Options{})
	b := signedIn(t, srv, sandbox.KeyASecretTest)

	r := b.Post("/signin/partner", partnerForm(sandbox.CascoDemoAccount, sandbox.CascoDemoPassword))
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/casco" {
		t.Fatalf("partner sign-in = %d to %q, want 303 to /casco", r.Status, r.Header.Get("Location"))
	}
	home := page(t, b, "/casco", http.StatusOK)
	if got := textOf(home.Doc.Find(`[data-testid="casco-account"]`)); !strings.Contains(got, sandbox.CascoDemoAccount) {
		t.Errorf("casco page = %q", got)
	}
	// The header shows both sign-ins, and both kinds of pages work.
	for _, path := range []string{"/casco", "/policies"} {
		p := page(t, b, path, http.StatusOK)
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
	srv := newCancelServer(t, sandbox.Options{})
	kaskoOnly := signedIn(t, srv, sandbox.KeyASecretTest)
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
	srv := newCancelServer(t, sandbox.Options{CascoTokenTTL: 2 * time.Second})
	b := srv.NewBrowser(t)
	b.Post("/signin/partner", partnerForm(sandbox.CascoDemoAccount, sandbox.CascoDemoPassword))
	page(t, b, "/casco", http.StatusOK)
	if n := srv.Upstream.Sandbox.Calls(sandbox.RouteCascoRenew); n != 0 {
		t.Fatalf("renewed %d times with a fresh token", n)
	}
	// Each county's localities are an upstream call (the first of each is
	// not cached yet).
	time.Sleep(1700 * time.Millisecond) // inside the renewal margin
	page(t, b, "/casco/options/localities?county=CJ", http.StatusOK)
	if n := srv.Upstream.Sandbox.Calls(sandbox.RouteCascoRenew); n != 1 {
		t.Fatalf("renewals = %d, want 1 near expiry", n)
	}
	// The renewed pair was kept: the next call needs no renewal, and the
	// rotated refresh token is not tried again.
	page(t, b, "/casco/options/localities?county=TM", http.StatusOK)
	if n := srv.Upstream.Sandbox.Calls(sandbox.RouteCascoRenew); n != 1 {
		t.Errorf("renewals = %d after the renewed tokens were stored, want still 1", n)
	}

	// A refresh token that no longer works: back to the partner sign-in,
	// with the way back.
	short := newCancelServer(t, sandbox.Options{CascoTokenTTL: time.Second, CascoRefreshTTL: time.Second})
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

func TestNomenclatureOptionsAreSharedAndCached(t *testing.T) {
	t.Parallel()
	srv := newCancelServer(t, sandbox.Options{})
	partnerA := srv.NewBrowser(t)
	partnerA.Post("/signin/partner", partnerForm(sandbox.CascoDemoAccount, sandbox.CascoDemoPassword))
	partnerB := srv.NewBrowser(t)
	partnerB.Post("/signin/partner", partnerForm(sandbox.CascoPartnerAccount, sandbox.CascoPartnerPassword))

	// Many at once, from two partners: one upstream call.
	var wg sync.WaitGroup
	counts := make([]int, 12)
	for i := range counts {
		b := partnerA
		if i%2 == 1 {
			b = partnerB
		}
		wg.Go(func() { counts[i] = b.Get("/casco/options/counties").Doc.Find("option").Length() })
	}
	wg.Wait()
	for i, n := range counts {
		if n != 43 { // the placeholder, 41 counties and Bucharest
			t.Errorf("request %d: %d options, want 43", i, n)
		}
	}
	page(t, partnerA, "/casco/options/counties", http.StatusOK)
	if n := srv.Upstream.Sandbox.Calls(sandbox.RouteCascoCounties); n != 1 {
		t.Errorf("upstream county requests = %d, want 1", n)
	}

	tests := []struct {
		name, path   string
		wantMin      int
		wantSelected string
	}{
		{"localities of Cluj", "/casco/options/localities?county=CJ&selected=CLUJ-NAPOCA", 50, "CLUJ-NAPOCA"},
		{"lower-case county", "/casco/options/localities?county=cj", 50, ""},
		{"unknown county", "/casco/options/localities?county=QQ", 0, ""},
		{"county not a code", "/casco/options/localities?county=Cluj%2F..", 0, ""},
		{"makes", "/casco/options/makes?selected=Dacia", 30, "Dacia"},
		{"models of Dacia", "/casco/options/models?make=Dacia&selected=Logan", 3, "Logan"},
		{"unknown make", "/casco/options/models?make=Trabbi", 0, ""},
		{"make with a slash", "/casco/options/models?make=a%2Fb", 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := page(t, partnerA, tt.path, http.StatusOK)
			opts := r.Doc.Find("option")
			if first := opts.First(); first.AttrOr("value", "x") != "" {
				t.Error("the first option is not the empty placeholder")
			}
			if n := opts.Length() - 1; n < tt.wantMin || (tt.wantMin == 0 && n != 0) {
				t.Errorf("%d options, want at least %d", n, tt.wantMin)
			}
			if got := r.Doc.Find("option[selected]").AttrOr("value", ""); got != tt.wantSelected {
				t.Errorf("selected = %q, want %q", got, tt.wantSelected)
			}
		})
	}
	// Reference data needs a partner sign-in, like every CASCO page.
	kaskoOnly := signedIn(t, srv, sandbox.KeyASecretTest)
	if r := kaskoOnly.Get("/casco/options/counties"); r.Status != http.StatusSeeOther {
		t.Errorf("options without a partner sign-in = %d, want 303", r.Status)
	}
}
