package handlers_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"backoffice/handlers"
	"backoffice/internal/sandbox"
	"backoffice/web/webtest"
)

// unknownKey is well-formed but belongs to nobody.
const unknownKey = "sk_test_ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ"

func TestSignInPageListsDemoKeysInSandboxMode(t *testing.T) {
	srv := webtest.NewServer(t, webtest.Options{})
	r := srv.NewBrowser(t).Get("/signin")
	if r.Status != http.StatusOK {
		t.Fatalf("status = %d", r.Status)
	}
	rows := r.Doc.Find(`[data-testid="demo-key"]`)
	if rows.Length() != len(srv.Upstream.Sandbox.Credentials()) {
		t.Fatalf("demo keys listed = %d, want %d", rows.Length(), len(srv.Upstream.Sandbox.Credentials()))
	}
	first := rows.First()
	if got := first.Find("code").Text(); got != sandbox.KeyASecretTest {
		t.Errorf("first demo key = %q, want %q", got, sandbox.KeyASecretTest)
	}
	if !strings.Contains(first.Text(), sandbox.DistributorAName) || !strings.Contains(first.Text(), "secret key: staff") {
		t.Errorf("first row = %q, want distributor and kind", first.Text())
	}
	form := first.Find("form")
	if form.AttrOr("action", "") != "/signin" || form.Find(`input[name="key"]`).AttrOr("value", "") != sandbox.KeyASecretTest {
		t.Error("the demo key row has no one-click sign-in form")
	}
	// Outside sandbox mode nothing of the sandbox shows.
	plain := webtest.NewServer(t, webtest.Options{Features: &handlers.Features{Kasko: true}})
	p := plain.NewBrowser(t).Get("/signin")
	if p.Doc.Find(`[data-testid="demo-keys"]`).Length() != 0 || strings.Contains(p.Body, sandbox.KeyASecretTest) || p.Doc.Find(`[data-testid="env-band"]`).Length() != 0 {
		t.Error("demo keys shown outside sandbox mode")
	}
}

func TestSignInOutcomes(t *testing.T) {
	srv := webtest.NewServer(t, webtest.Options{Sandbox: sandbox.Options{Policies: 100}})
	down := webtest.NewServer(t, webtest.Options{Sandbox: sandbox.Options{Policies: 100, Faults: sandbox.Faults{ErrorRate: 1}}})
	tests := []struct {
		name         string
		server       *webtest.Server
		form         url.Values
		hx           bool
		wantStatus   int
		wantLocation string
		wantHX       string // HX-Redirect
		wantError    string // start of the message on the field
		wantReqID    bool   // the upstream request id is shown
		wantName     string // the display name kept in the form
	}{
		{"empty", srv, url.Values{"key": {" "}}, false, 422, "", "", "Enter your API key.", false, ""},
		{"malformed", srv, url.Values{"key": {"sk_test_short"}, "display_name": {"Ana"}}, false, 422, "", "", "This is not a KASKO API key.", false, "Ana"},
		{"rejected upstream", srv, url.Values{"key": {unknownKey}}, false, 422, "", "", "The insurance service does not accept this key.", true, ""},
		{"upstream down", down, url.Values{"key": {sandbox.KeyASecretTest}}, false, 422, "", "", "The insurance service could not check your key", true, ""},
		{"name too long", srv, url.Values{"key": {sandbox.KeyASecretTest}, "display_name": {strings.Repeat("x", 81)}}, false, 422, "", "", "Your name may have at most 80 characters.", false, strings.Repeat("x", 81)},
		{"htmx error is a fragment", srv, url.Values{"key": {"nope"}}, true, 422, "", "", "This is not a KASKO API key.", false, ""},
		{"secret key", srv, url.Values{"key": {sandbox.KeyASecretTest}}, false, 303, "/policies", "", "", false, ""},
		{"back to where the user was", srv, url.Values{"key": {sandbox.KeyAPublicTest}, "next": {"/policies?page=3&sort=-created_at"}}, false, 303, "/policies?page=3&sort=-created_at", "", "", false, ""},
		{"foreign next ignored", srv, url.Values{"key": {sandbox.KeyASecretLive}, "next": {"//evil.example/"}}, false, 303, "/policies", "", "", false, ""},
		{"htmx success redirects the page", srv, url.Values{"key": {sandbox.KeyBSecretTest}}, true, 204, "", "/policies", "", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.server.NewBrowser(t)
			var header []string
			if tt.hx {
				header = []string{"HX-Request", "true"}
			}
			r := b.Post("/signin", tt.form, header...)
			if r.Status != tt.wantStatus {
				t.Fatalf("status = %d, want %d\n%.400s", r.Status, tt.wantStatus, r.Body)
			}
			if got := r.Header.Get("Location"); got != tt.wantLocation {
				t.Errorf("Location = %q, want %q", got, tt.wantLocation)
			}
			if got := r.Header.Get("HX-Redirect"); got != tt.wantHX {
				t.Errorf("HX-Redirect = %q, want %q", got, tt.wantHX)
			}
			if tt.wantError == "" {
				return
			}
			errText := r.Doc.Find(`[data-testid="key-error"]`).Text()
			if !strings.HasPrefix(strings.TrimSpace(errText), tt.wantError) {
				t.Errorf("error = %q, want prefix %q", errText, tt.wantError)
			}
			if got := strings.Contains(errText, "Request id:"); got != tt.wantReqID {
				t.Errorf("request id shown = %v, want %v (%q)", got, tt.wantReqID, errText)
			}
			if tt.hx == (r.Doc.Find("h1").Length() == 1) {
				t.Errorf("htmx=%v but full page=%v", tt.hx, r.Doc.Find("h1").Length() == 1)
			}
			key := r.Doc.Find("#key-form input#key")
			if _, has := key.Attr("value"); has || key.AttrOr("aria-invalid", "") != "true" {
				t.Error("the key field must be empty and marked invalid")
			}
			if k := strings.TrimSpace(tt.form.Get("key")); len(k) > 8 && k != sandbox.KeyASecretTest && strings.Contains(r.Body, k) {
				t.Error("the submitted key is echoed into the page")
			}
			if got := r.Doc.Find("#display_name").AttrOr("value", ""); got != tt.wantName {
				t.Errorf("display name kept = %q, want %q", got, tt.wantName)
			}
		})
	}
	if n := srv.Upstream.Sandbox.Calls(sandbox.RouteListPolicies); n != 5 {
		// One cheap check per well-formed key that reached the upstream:
		// rejected, secret, back-to, foreign-next, htmx (empty, malformed
		// and too-long names never leave the dashboard).
		t.Errorf("upstream list calls = %d, want 5", n)
	}
}

func TestSignOutAndProtectedPages(t *testing.T) {
	srv := webtest.NewServer(t, webtest.Options{Sandbox: sandbox.Options{Policies: 100}})
	b := srv.NewBrowser(t)
	if r := b.Get("/"); r.Header.Get("Location") != "/signin" {
		t.Fatalf("signed out: / → %q, want /signin", r.Header.Get("Location"))
	}
	b.SignIn(sandbox.KeyASecretTest)
	if r := b.Get("/"); r.Header.Get("Location") != "/policies" {
		t.Fatalf("signed in: / → %q, want /policies", r.Header.Get("Location"))
	}
	r := b.Post("/signout", nil)
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/signin" {
		t.Fatalf("sign-out = %d → %q", r.Status, r.Header.Get("Location"))
	}
	if r := b.Get("/"); r.Header.Get("Location") != "/signin" {
		t.Fatalf("after sign-out: / → %q, want /signin", r.Header.Get("Location"))
	}
	// Signing out from another site is refused.
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/signout", nil)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if r := b.Do(req); r.Status != http.StatusForbidden {
		t.Errorf("cross-site sign-out = %d, want 403", r.Status)
	}
}

func TestLanguagePreferenceOutlivesSignOut(t *testing.T) {
	srv := webtest.NewServer(t, webtest.Options{Sandbox: sandbox.Options{Policies: 100}})
	b := srv.NewBrowser(t)
	b.Header.Set("Accept-Language", "en")
	b.SignIn(sandbox.KeyASecretTest)
	r := b.Post("/preferences/language", url.Values{"lang": {"de"}, "return": {"/signin"}})
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/signin" {
		t.Fatalf("switch = %d → %q", r.Status, r.Header.Get("Location"))
	}
	b.Post("/signout", nil)
	page := b.Get("/signin")
	if got := page.Doc.Find("h1").Text(); got != "Anmelden" {
		t.Errorf("after sign-out the page is in %q, want German", got)
	}
	if got := page.Doc.Find("#lang-select option[selected]").AttrOr("value", ""); got != "de" {
		t.Errorf("switcher shows %q selected, want de", got)
	}
	for _, bad := range []url.Values{{"lang": {"fr"}}, {"lang": {"de"}, "return": {"https://evil.example/"}}} {
		r := b.Post("/preferences/language", bad)
		if bad.Get("lang") == "fr" && r.Status != http.StatusBadRequest {
			t.Errorf("unsupported language = %d, want 400", r.Status)
		}
		if bad.Get("return") != "" && r.Header.Get("Location") != "/" {
			t.Errorf("foreign return = %q, want /", r.Header.Get("Location"))
		}
	}
}

func TestIdleSessionEnds(t *testing.T) {
	srv := webtest.NewServer(t, webtest.Options{Sandbox: sandbox.Options{Policies: 100}, IdleTimeout: 300 * time.Millisecond})
	b := srv.NewBrowser(t)
	b.SignIn(sandbox.KeyASecretTest)
	if r := b.Get("/"); r.Header.Get("Location") != "/policies" {
		t.Fatalf("fresh session: / → %q", r.Header.Get("Location"))
	}
	time.Sleep(500 * time.Millisecond)
	if r := b.Get("/"); r.Header.Get("Location") != "/signin" {
		t.Fatalf("idle session: / → %q, want /signin", r.Header.Get("Location"))
	}
}

// TestSignInNamesTheKeptLogin: a sign-in keeps the session's other login
// (a planted partner login survives a KASKO sign-in, and the reverse),
// so the page it lands on names that login, once, with a sign-out of it
// alone that works.
func TestSignInNamesTheKeptLogin(t *testing.T) {
	t.Parallel()
	srv := webtest.NewServer(t, webtest.Options{Sandbox: sandbox.Options{Policies: 20}})
	partner := srv.Upstream.Sandbox.CascoAccounts()[0]
	partnerForm := url.Values{"account": {partner.Account}, "password": {partner.Password}}

	t.Run("partner kept by a key sign-in", func(t *testing.T) {
		b := srv.NewBrowser(t)
		b.Header.Set("Accept-Language", "en")
		if r := b.Post("/signin/partner", partnerForm); r.Status != http.StatusSeeOther {
			t.Fatalf("partner sign-in: got %d, want 303", r.Status)
		}
		// The first page after the partner sign-in names nothing: no key.
		if n := b.Page(t, "/casco", http.StatusOK).Doc.Find(`[data-testid="kept-login"]`).Length(); n != 0 {
			t.Fatalf("got %d kept-login notices after a lone sign-in, want 0", n)
		}
		r := b.Post("/signin", url.Values{"key": {sandbox.KeyASecretTest}})
		if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/policies" {
			t.Fatalf("key sign-in: got %d to %q, want 303 to /policies", r.Status, r.Header.Get("Location"))
		}
		land := b.Page(t, "/policies", http.StatusOK)
		notice := land.Doc.Find(`[data-testid="kept-login"]`)
		if notice.Length() != 1 || notice.AttrOr("data-kind", "") != "partner" {
			t.Fatalf("got %d kept-login notices (kind %q), want 1 naming the partner", notice.Length(), notice.AttrOr("data-kind", ""))
		}
		if got := webtest.Text(notice); !strings.Contains(got, partner.Account) {
			t.Errorf("notice: got %q, want it to name %q", got, partner.Account)
		}
		form := notice.Find("form")
		if form.AttrOr("method", "") != "post" || form.AttrOr("action", "") != "/signout/partner" {
			t.Errorf("sign-out form: got %s %q, want post /signout/partner", form.AttrOr("method", ""), form.AttrOr("action", ""))
		}
		// Once only.
		if n := b.Page(t, "/policies", http.StatusOK).Doc.Find(`[data-testid="kept-login"]`).Length(); n != 0 {
			t.Errorf("got %d notices on the second page, want 0", n)
		}
		out := b.Post("/signout/partner", url.Values{})
		if out.Status != http.StatusSeeOther || out.Header.Get("Location") != "/" {
			t.Fatalf("partner sign-out: got %d to %q, want 303 to /", out.Status, out.Header.Get("Location"))
		}
		if r := b.Get("/casco"); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/signin") {
			t.Errorf("/casco after the partner sign-out: got %d to %q, want the sign-in", r.Status, r.Header.Get("Location"))
		}
		if badge := b.Page(t, "/policies", http.StatusOK).Doc.Find(`[data-testid="user-key"]`); webtest.Text(badge) != "sk_test_…"+sandbox.KeyASecretTest[len(sandbox.KeyASecretTest)-4:] {
			t.Errorf("the KASKO login did not stay: badge %q", webtest.Text(badge))
		}
	})

	t.Run("key kept by a partner sign-in", func(t *testing.T) {
		b := srv.SignedIn(t, sandbox.KeyASecretTest)
		if r := b.Post("/signin/partner", partnerForm); r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/casco" {
			t.Fatalf("partner sign-in: got %d to %q, want 303 to /casco", r.Status, r.Header.Get("Location"))
		}
		notice := b.Page(t, "/casco", http.StatusOK).Doc.Find(`[data-testid="kept-login"]`)
		want := "sk_test_…" + sandbox.KeyASecretTest[len(sandbox.KeyASecretTest)-4:]
		if notice.AttrOr("data-kind", "") != "kasko" || !strings.Contains(webtest.Text(notice), want) {
			t.Fatalf("notice: got %q (kind %q), want it to name %s", webtest.Text(notice), notice.AttrOr("data-kind", ""), want)
		}
		if strings.Contains(notice.Text(), sandbox.KeyASecretTest) {
			t.Error("the notice shows the whole key")
		}
		if got := notice.Find("form").AttrOr("action", ""); got != "/signout/kasko" {
			t.Errorf("sign-out form action: got %q, want /signout/kasko", got)
		}
		if out := b.Post("/signout/kasko", url.Values{}); out.Status != http.StatusSeeOther {
			t.Fatalf("key sign-out: got %d, want 303", out.Status)
		}
		if r := b.Get("/policies"); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/signin") {
			t.Errorf("/policies after the key sign-out: got %d to %q, want the sign-in", r.Status, r.Header.Get("Location"))
		}
		b.Page(t, "/casco", http.StatusOK)
	})

	t.Run("cross-site sign-out is refused", func(t *testing.T) {
		b := srv.SignedIn(t, sandbox.KeyASecretTest)
		if r := b.Post("/signout/kasko", url.Values{}, "Sec-Fetch-Site", "cross-site"); r.Status != http.StatusForbidden {
			t.Errorf("got %d, want 403", r.Status)
		}
	})
}
