package web_test

import (
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"backoffice/handlers"
	kaskopages "backoffice/handlers/kasko"
	"backoffice/internal/i18n"
	"backoffice/internal/session"
	"backoffice/static"
	"backoffice/web"
)

const wellFormedKey = "sk_test_OhbVrpoiVgRV5IfLBcbfnoGMbJmTPSIA"

// newServer serves the dashboard with the given upstreams on a loopback
// httptest server.
func newServer(t *testing.T, up handlers.Features, probes ...web.Upstream) *httptest.Server {
	t.Helper()
	return newServerWithStores(t, up, nil, probes...)
}

// newServerWithStores is newServer with stores for /readyz to check.
func newServerWithStores(t *testing.T, up handlers.Features, stores map[string]func(context.Context) error, probes ...web.Upstream) *httptest.Server {
	t.Helper()
	assets, err := static.New()
	if err != nil {
		t.Fatal(err)
	}
	catalog, err := i18n.New()
	if err != nil {
		t.Fatal(err)
	}
	sessions, err := session.New(session.Config{Store: "memory", Secret: []byte("web-test-secret-web-test-secret!")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sessions.Close() })
	root, err := web.New(web.Config{
		Sessions: sessions, Assets: assets, Catalog: catalog, Features: up, Upstreams: probes, Stores: stores,
		Kasko: kaskopages.Deps{Kasko: func(string) kaskopages.PolicyAPI {
			t.Fatal("these tests must not reach an upstream")
			return nil
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(root)
	t.Cleanup(srv.Close)
	return srv
}

// noRedirects is a client that shows redirects instead of following them.
func noRedirects() *http.Client {
	return &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

type response struct {
	status int
	header http.Header
	body   string
	doc    *goquery.Document
}

func do(t *testing.T, req *http.Request) response {
	t.Helper()
	resp, err := noRedirects().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := response{status: resp.StatusCode, header: resp.Header, body: string(b)}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		r.doc, err = goquery.NewDocumentFromReader(strings.NewReader(r.body))
		if err != nil {
			t.Fatal(err)
		}
	}
	return r
}

func get(t *testing.T, rawURL string, header map[string]string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	return do(t, req)
}

func postForm(t *testing.T, rawURL string, form url.Values, header map[string]string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, rawURL, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	return do(t, req)
}

func TestRootRedirectsToSignIn(t *testing.T) {
	srv := newServer(t, handlers.Features{Kasko: true})
	r := get(t, srv.URL+"/", nil)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/signin" {
		t.Fatalf("GET / = %d Location %q, want 303 /signin", r.status, r.header.Get("Location"))
	}
}

func TestSignInPage(t *testing.T) {
	srv := newServer(t, handlers.Features{Kasko: true, SandboxURL: "http://127.0.0.1:1/_sandbox"})
	r := get(t, srv.URL+"/signin", nil)
	if r.status != http.StatusOK {
		t.Fatalf("status = %d, want 200", r.status)
	}
	if got := r.doc.Find("html").AttrOr("lang", ""); got != "en" {
		t.Errorf("html lang = %q, want en", got)
	}
	if got := r.doc.Find("h1#signin-title").Text(); got != "Sign in" {
		t.Errorf("h1 = %q, want Sign in", got)
	}
	if got := strings.TrimSpace(r.doc.Find("title").Text()); got != "Sign in · Policy back-office" {
		t.Errorf("title = %q", got)
	}
	form := r.doc.Find("form#key-form")
	if form.AttrOr("method", "") != "post" || form.AttrOr("action", "") != "/signin" || form.AttrOr("hx-post", "") != "/signin" {
		t.Errorf("form method/action/hx-post = %q %q %q", form.AttrOr("method", ""), form.AttrOr("action", ""), form.AttrOr("hx-post", ""))
	}
	key := form.Find("input#key")
	if key.AttrOr("type", "") != "password" || key.AttrOr("name", "") != "key" || key.AttrOr("autocomplete", "") != "current-password" {
		t.Errorf("key input attributes wrong: type=%q name=%q autocomplete=%q", key.AttrOr("type", ""), key.AttrOr("name", ""), key.AttrOr("autocomplete", ""))
	}
	if _, has := key.Attr("value"); has {
		t.Error("key input carries a value")
	}
	if label := r.doc.Find(`label[for="key"]`).Text(); label != "API key" {
		t.Errorf("label = %q, want API key", label)
	}
	if r.doc.Find(`[data-testid="env-band"]`).Length() != 1 {
		t.Error("sandbox mode should show the environment band")
	}
	if note := r.doc.Find(`[data-testid="sandbox-note"]`).Text(); !strings.Contains(note, "http://127.0.0.1:1/_sandbox") {
		t.Errorf("sandbox note = %q, want the sandbox URL", note)
	}
	if r.doc.Find("a.skip-link").AttrOr("href", "") != "#main" || r.doc.Find("main#main").Length() != 1 {
		t.Error("skip link to #main missing")
	}

	// Headers: request id, CSP with a nonce, no caching of pages, Vary.
	if !regexp.MustCompile(`^[0-9a-f]{24}$`).MatchString(r.header.Get("X-Request-Id")) {
		t.Errorf("X-Request-Id = %q", r.header.Get("X-Request-Id"))
	}
	csp := r.header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "script-src 'self' 'nonce-", "object-src 'none'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if r.header.Get("Cache-Control") != "no-store" || !strings.Contains(strings.Join(r.header.Values("Vary"), ","), "HX-Request") {
		t.Errorf("Cache-Control %q, Vary %q", r.header.Get("Cache-Control"), r.header.Values("Vary"))
	}
	if r.header.Get("X-Content-Type-Options") != "nosniff" || r.header.Get("X-Frame-Options") != "DENY" {
		t.Error("hardening headers missing")
	}

	// The stylesheet and htmx are served from their hashed URLs, cached for a year.
	css := r.doc.Find(`link[rel="stylesheet"]`).AttrOr("href", "")
	js := r.doc.Find(`script[src]`).AttrOr("src", "")
	for _, path := range []string{css, js} {
		if !regexp.MustCompile(`^/static/[0-9a-f]{12}/`).MatchString(path) {
			t.Errorf("asset URL %q is not content-hashed", path)
			continue
		}
		a := get(t, srv.URL+path, nil)
		if a.status != http.StatusOK || a.header.Get("Cache-Control") != "public, max-age=31536000, immutable" {
			t.Errorf("GET %s = %d, Cache-Control %q", path, a.status, a.header.Get("Cache-Control"))
		}
	}
}

func TestSignInPageWithoutKasko(t *testing.T) {
	srv := newServer(t, handlers.Features{Casco: true})
	r := get(t, srv.URL+"/signin", nil)
	if r.doc.Find("form#key-form").Length() != 0 {
		t.Error("the KASKO key form is shown although no KASKO API is configured")
	}
	if r.doc.Find(`[data-testid="env-band"]`).Length() != 0 {
		t.Error("environment band shown outside sandbox mode")
	}
	post := postForm(t, srv.URL+"/signin", url.Values{"key": {wellFormedKey}}, nil)
	if post.status != http.StatusNotFound {
		t.Errorf("POST /signin without KASKO = %d, want 404", post.status)
	}
}

func TestSignInLanguages(t *testing.T) {
	srv := newServer(t, handlers.Features{Kasko: true})
	tests := []struct{ accept, lang, h1 string }{
		{"de-DE,de;q=0.9", "de", "Anmelden"},
		{"ro", "ro", "Autentificare"},
		{"fr", "en", "Sign in"},
	}
	for _, tt := range tests {
		r := get(t, srv.URL+"/signin", map[string]string{"Accept-Language": tt.accept})
		if got := r.doc.Find("html").AttrOr("lang", ""); got != tt.lang {
			t.Errorf("Accept-Language %q: lang = %q, want %q", tt.accept, got, tt.lang)
		}
		if got := r.doc.Find("h1").Text(); got != tt.h1 {
			t.Errorf("Accept-Language %q: h1 = %q, want %q", tt.accept, got, tt.h1)
		}
	}
}

func TestCrossOriginPostIsRefused(t *testing.T) {
	srv := newServer(t, handlers.Features{Kasko: true})
	r := postForm(t, srv.URL+"/signin", url.Values{"key": {wellFormedKey}}, map[string]string{"Sec-Fetch-Site": "cross-site"})
	if r.status != http.StatusForbidden {
		t.Fatalf("status = %d, want 403", r.status)
	}
	if got := r.doc.Find(`[data-testid="error-message"]`).Text(); !strings.Contains(got, "sent from another site") {
		t.Errorf("message = %q", got)
	}
	same := postForm(t, srv.URL+"/signin", url.Values{"key": {""}}, map[string]string{"Sec-Fetch-Site": "same-origin"})
	if same.status != http.StatusUnprocessableEntity {
		t.Errorf("same-origin POST = %d, want 422", same.status)
	}
	noHeaders := postForm(t, srv.URL+"/signin", url.Values{"key": {""}}, map[string]string{"Origin": "http://evil.example"})
	if noHeaders.status != http.StatusForbidden {
		t.Errorf("POST with a foreign Origin = %d, want 403", noHeaders.status)
	}
}

func TestNotFoundAndMethodNotAllowed(t *testing.T) {
	srv := newServer(t, handlers.Features{Kasko: true})
	tests := []struct {
		name, method, path string
		hx                 bool
		wantStatus         int
		wantAllow          string
		wantMessage        string
		wantRetarget       string
	}{
		{"unknown page", "GET", "/no/such/page", false, 404, "", "There is nothing at this address.", ""},
		{"wrong method", "DELETE", "/signin", false, 405, "GET, POST, HEAD", "This address does not accept", ""},
		{"post to health", "POST", "/healthz", false, 405, "GET, HEAD", "This address does not accept", ""},
		{"htmx 404 goes to the flash region", "GET", "/nope", true, 404, "", "There is nothing at this address.", "#flash"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, srv.URL+tt.path, nil)
			req.Header.Set("Sec-Fetch-Site", "same-origin")
			if tt.hx {
				req.Header.Set("HX-Request", "true")
			}
			r := do(t, req)
			if r.status != tt.wantStatus {
				t.Errorf("status = %d, want %d", r.status, tt.wantStatus)
			}
			if got := r.header.Get("Allow"); got != tt.wantAllow {
				t.Errorf("Allow = %q, want %q", got, tt.wantAllow)
			}
			if got := r.header.Get("HX-Retarget"); got != tt.wantRetarget {
				t.Errorf("HX-Retarget = %q, want %q", got, tt.wantRetarget)
			}
			msg := r.doc.Find(`[data-testid="error-message"]`).Text()
			if tt.hx {
				msg = r.doc.Find(`[data-testid="alert"]`).Text()
				if r.doc.Find("h1").Length() != 0 {
					t.Error("htmx error answer is a full page")
				}
			}
			if !strings.Contains(msg, tt.wantMessage) {
				t.Errorf("message = %q, want %q", msg, tt.wantMessage)
			}
			if !strings.Contains(r.body, r.header.Get("X-Request-Id")) {
				t.Error("the request id is not shown")
			}
		})
	}
}

func TestHealth(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized) // an answer, even a refusal, proves reachability
	}))
	defer up.Close()
	down := httptest.NewServer(http.NotFoundHandler())
	downURL := down.URL
	down.Close()

	ok := newServer(t, handlers.Features{Kasko: true}, web.Upstream{Name: "kasko", URL: up.URL})
	if r := get(t, ok.URL+"/healthz", nil); r.status != 200 || !strings.Contains(r.body, `"ok"`) {
		t.Errorf("healthz = %d %s", r.status, r.body)
	}
	if r := get(t, ok.URL+"/readyz", nil); r.status != 200 || !strings.Contains(r.body, `"kasko":{"ok":true,"status":401`) {
		t.Errorf("readyz = %d %s", r.status, r.body)
	}
	bad := newServer(t, handlers.Features{Kasko: true}, web.Upstream{Name: "kasko", URL: up.URL}, web.Upstream{Name: "push", URL: downURL})
	r := get(t, bad.URL+"/readyz", nil)
	if r.status != http.StatusServiceUnavailable || !strings.Contains(r.body, `"push":{"ok":false`) || !strings.Contains(r.body, `"status":"unavailable"`) {
		t.Errorf("readyz with a dead upstream = %d %s", r.status, r.body)
	}
	if r := get(t, bad.URL+"/healthz", nil); r.status != 200 {
		t.Errorf("healthz must not depend on upstreams: %d", r.status)
	}

	// A store the dashboard writes to (the audit log) counts too, and its
	// error stays in the log.
	storeDown := newServerWithStores(t, handlers.Features{Kasko: true}, map[string]func(context.Context) error{
		"audit": func(context.Context) error { return errors.New("disk I/O error at /secret/path") },
	}, web.Upstream{Name: "kasko", URL: up.URL})
	r = get(t, storeDown.URL+"/readyz", nil)
	if r.status != http.StatusServiceUnavailable || !strings.Contains(r.body, `"audit":{"ok":false`) || strings.Contains(r.body, "/secret/path") {
		t.Errorf("readyz with a failing store = %d %s", r.status, r.body)
	}
	storeUp := newServerWithStores(t, handlers.Features{Kasko: true}, map[string]func(context.Context) error{
		"audit": func(context.Context) error { return nil },
	}, web.Upstream{Name: "kasko", URL: up.URL})
	if r := get(t, storeUp.URL+"/readyz", nil); r.status != 200 || !strings.Contains(r.body, `"audit":{"ok":true`) {
		t.Errorf("readyz with a working store = %d %s", r.status, r.body)
	}
}

func TestStaticAssets(t *testing.T) {
	srv := newServer(t, handlers.Features{Kasko: true})
	page := get(t, srv.URL+"/signin", nil)
	js := page.doc.Find(`script[src]`).AttrOr("src", "")

	// Compressed when asked, identical once decompressed.
	req, _ := http.NewRequest(http.MethodGet, srv.URL+js, nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Encoding") != "gzip" || resp.Header.Get("Content-Type") != "text/javascript; charset=utf-8" {
		t.Fatalf("Content-Encoding %q, Content-Type %q", resp.Header.Get("Content-Encoding"), resp.Header.Get("Content-Type"))
	}
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	unzipped, _ := io.ReadAll(zr)
	plain := get(t, srv.URL+js, map[string]string{"Accept-Encoding": "identity"})
	if string(unzipped) != plain.body || !strings.Contains(plain.body, "htmx") {
		t.Error("gzipped and plain bodies differ")
	}

	// Revalidation by ETag.
	notModified := get(t, srv.URL+js, map[string]string{"If-None-Match": plain.header.Get("ETag")})
	if notModified.status != http.StatusNotModified {
		t.Errorf("If-None-Match = %d, want 304", notModified.status)
	}

	// A stale hash moves to the current URL; an unknown file is a 404.
	stale := get(t, srv.URL+"/static/000000000000/js/htmx.min.js", nil)
	if stale.status != http.StatusFound || stale.header.Get("Location") != js {
		t.Errorf("stale hash = %d → %q, want 302 → %q", stale.status, stale.header.Get("Location"), js)
	}
	if r := get(t, srv.URL+"/static/000000000000/js/nope.js", nil); r.status != http.StatusNotFound {
		t.Errorf("unknown asset = %d, want 404", r.status)
	}
}

func TestPagesAreCompressed(t *testing.T) {
	srv := newServer(t, handlers.Features{Kasko: true})
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/signin", nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Encoding") != "gzip" || !strings.Contains(strings.Join(resp.Header.Values("Vary"), ","), "Accept-Encoding") {
		t.Fatalf("Content-Encoding %q, Vary %q", resp.Header.Get("Content-Encoding"), resp.Header.Values("Vary"))
	}
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := goquery.NewDocumentFromReader(zr)
	if err != nil {
		t.Fatal(err)
	}
	if doc.Find("form#key-form").Length() != 1 {
		t.Error("the decompressed page lacks the sign-in form")
	}
	// Static assets and health checks never open a session.
	for _, path := range []string{"/healthz", doc.Find(`link[rel="stylesheet"]`).AttrOr("href", "")} {
		if r := get(t, srv.URL+path, nil); r.header.Get("Set-Cookie") != "" {
			t.Errorf("%s sets a cookie: %q", path, r.header.Get("Set-Cookie"))
		}
	}
}
