package handlers_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"backoffice/internal/sandbox"
	"backoffice/web/webtest"
)

// TestThemePreference: the header's colour choice is kept in the
// preferences cookie (also before sign-in), written on <html> for the
// stylesheet, and "" goes back to the system's; an unknown one is
// refused with a message.
func TestThemePreference(t *testing.T) {
	t.Parallel()
	srv := webtest.NewServer(t, webtest.Options{Sandbox: sandbox.Options{Policies: 20}})
	b := srv.NewBrowser(t)
	theme := func(path string) (string, bool) {
		return b.Page(t, path, http.StatusOK).Doc.Find("html").Attr("data-theme")
	}
	if v, ok := theme("/signin"); ok {
		t.Fatalf("a new viewer has data-theme=%q, want none (the system's)", v)
	}
	if sel := b.Page(t, "/signin", http.StatusOK).Doc.Find(`[data-testid="theme-switch"] select option[selected]`); sel.AttrOr("value", "x") != "" {
		t.Errorf("the switch starts on %q, want the system's", sel.AttrOr("value", "x"))
	}
	r := b.Post("/preferences/theme", url.Values{"theme": {"dark"}, "return": {"/signin"}})
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/signin" {
		t.Fatalf("POST dark = %d to %q", r.Status, r.Header.Get("Location"))
	}
	if v, _ := theme("/signin"); v != "dark" {
		t.Errorf("after choosing dark, data-theme=%q", v)
	}
	b.SignIn(sandbox.KeyASecretTest)
	if v, _ := theme("/policies"); v != "dark" {
		t.Errorf("signed in, data-theme=%q, want the choice kept", v)
	}
	b.Post("/preferences/theme", url.Values{"theme": {"light"}, "return": {"/policies"}})
	if v, _ := theme("/policies"); v != "light" {
		t.Errorf("after choosing light, data-theme=%q", v)
	}
	b.Post("/preferences/theme", url.Values{"theme": {""}, "return": {"/policies"}})
	if v, ok := theme("/policies"); ok {
		t.Errorf("back to the system's, data-theme=%q is still set", v)
	}
	for _, bad := range []string{"solarized", "<script>", strings.Repeat("d", 300)} {
		r := b.Post("/preferences/theme", url.Values{"theme": {bad}})
		if r.Status != http.StatusBadRequest {
			t.Errorf("theme %q: status %d, want 400", bad, r.Status)
			continue
		}
		if msg := r.Doc.Find(`[data-testid="error-message"], [data-testid="alert"]`).Text(); !strings.Contains(msg, "light or dark") {
			t.Errorf("theme %q: message %q", bad, msg)
		}
	}
}
