package web_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"backoffice/handlers"
	kaskopages "backoffice/handlers/kasko"
	"backoffice/internal/i18n"
	"backoffice/internal/session"
	"backoffice/static"
	"backoffice/web"
)

// newPanickingServer serves the dashboard with a KASKO client factory
// that panics, so that a key sign-in panics inside a handler; secure
// makes cookies Secure (COOKIE_SECURE).
func newPanickingServer(t *testing.T, secure bool) (*httptest.Server, *i18n.Catalog) {
	t.Helper()
	assets, err := static.New()
	if err != nil {
		t.Fatal(err)
	}
	catalog, err := i18n.New()
	if err != nil {
		t.Fatal(err)
	}
	sessions, err := session.New(session.Config{Store: "memory", Secure: secure, Secret: []byte("web-test-secret-web-test-secret!")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sessions.Close() })
	root, err := web.New(web.Config{
		Sessions: sessions, Assets: assets, Catalog: catalog, Features: handlers.Features{Kasko: true},
		Kasko: kaskopages.Deps{Kasko: func(string) kaskopages.PolicyAPI { panic("boom") }},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(root)
	t.Cleanup(srv.Close)
	return srv, catalog
}

// TestPanicAnswersWithFallbackPage: a handler that panics ends on the
// pre-rendered HTML page, status 500, in the viewer's language, with the
// request id, not on a plain-text "Internal Server Error".
func TestPanicAnswersWithFallbackPage(t *testing.T) {
	srv, catalog := newPanickingServer(t, false)
	for _, tt := range []struct {
		name, acceptLanguage, wantLang string
		hx                             bool
	}{
		{"german", "de-DE,de;q=0.9", "de", false},
		{"romanian", "ro", "ro", false},
		{"english by default", "fr", "en", false},
		{"htmx, german", "de", "de", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := map[string]string{"Sec-Fetch-Site": "same-origin", "Accept-Language": tt.acceptLanguage}
			if tt.hx {
				h["HX-Request"] = "true"
			}
			r := postForm(t, srv.URL+"/signin", url.Values{"key": {wellFormedKey}}, h)
			if r.status != http.StatusInternalServerError {
				t.Fatalf("status: got %d, want 500\n%.300s", r.status, r.body)
			}
			if r.doc == nil {
				t.Fatalf("Content-Type: got %q, want HTML", r.header.Get("Content-Type"))
			}
			p := catalog.Printer(tt.wantLang)
			id := r.header.Get("X-Request-Id")
			if id == "" {
				t.Fatal("no X-Request-Id")
			}
			if got := r.header.Get("Content-Language"); got != tt.wantLang {
				t.Errorf("Content-Language: got %q, want %q", got, tt.wantLang)
			}
			if r.header.Get("Content-Security-Policy") == "" {
				t.Error("the fallback lost the Content-Security-Policy")
			}
			if got := strings.TrimSpace(r.doc.Find(`[data-testid="request-id"]`).Text()); got != p.T("error.request_id", "ID", id) {
				t.Errorf("request id: got %q, want %q", got, p.T("error.request_id", "ID", id))
			}
			if tt.hx {
				if r.header.Get("HX-Retarget") != "#flash" || r.doc.Find(`[data-testid="alert"]`).Length() != 1 {
					t.Errorf("htmx: got HX-Retarget %q and %d alerts, want #flash and 1", r.header.Get("HX-Retarget"), r.doc.Find(`[data-testid="alert"]`).Length())
				}
				if !strings.Contains(r.doc.Find(`[data-testid="alert"]`).Text(), p.T("error.internal")) {
					t.Errorf("htmx alert: got %q", r.doc.Find(`[data-testid="alert"]`).Text())
				}
				return
			}
			if got := r.doc.Find("html").AttrOr("lang", ""); got != tt.wantLang {
				t.Errorf("html lang: got %q, want %q", got, tt.wantLang)
			}
			if got := r.doc.Find(`[data-testid="fallback"] h1`).Text(); got != p.T("error.title") {
				t.Errorf("title: got %q, want %q", got, p.T("error.title"))
			}
			if got := r.doc.Find(`[data-testid="error-message"]`).Text(); got != p.T("error.internal") {
				t.Errorf("message: got %q, want %q", got, p.T("error.internal"))
			}
			if css := r.doc.Find(`link[rel="stylesheet"]`).AttrOr("href", ""); !strings.HasPrefix(css, static.Prefix) {
				t.Errorf("stylesheet: got %q, want the app's", css)
			}
			if r.doc.Find("script, style, [style]").Length() != 0 {
				t.Error("the fallback has inline script or style")
			}
		})
	}
}

// TestHSTSOnlyWithSecureCookies: Strict-Transport-Security is sent when
// the dashboard is served over TLS (COOKIE_SECURE), never otherwise.
func TestHSTSOnlyWithSecureCookies(t *testing.T) {
	for _, secure := range []bool{false, true} {
		srv, _ := newPanickingServer(t, secure)
		for _, path := range []string{"/signin", "/no-such-page"} {
			got := get(t, srv.URL+path, nil).header.Get("Strict-Transport-Security")
			want := ""
			if secure {
				want = "max-age=31536000; includeSubDomains"
			}
			if got != want {
				t.Errorf("secure %v, %s: got Strict-Transport-Security %q, want %q", secure, path, got, want)
			}
		}
	}
}
