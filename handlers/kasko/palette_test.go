package kasko_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"backoffice/internal/sandbox"
	"backoffice/web/webtest"
)

// paletteOptions are the palette's options by their href, with labels.
func paletteOptions(t *testing.T, b *webtest.Browser, from string) (byHref map[string]string, doc *goquery.Document) {
	t.Helper()
	r := b.Page(t, "/palette?from="+url.QueryEscape(from), http.StatusOK)
	byHref = map[string]string{}
	r.Doc.Find(`[data-palette-entries] [role="option"]`).Each(func(_ int, s *goquery.Selection) {
		href, _ := s.Attr("data-href")
		byHref[href] = webtest.Text(s.Find(".palette-label"))
	})
	return byHref, r.Doc
}

// TestPaletteScopedToSession: the palette offers what the session may
// do and nothing more. Staff get the new-policy form, the export on the
// list and cancelling on a policy page; a public key gets neither; a
// partner gets the quotes and no KASKO page; a tenant's saved views stay
// its own; a signed-out browser is sent to sign in.
func TestPaletteScopedToSession(t *testing.T) {
	t.Parallel()
	srv := webtest.NewServer(t, webtest.Options{Sandbox: sandbox.Options{Policies: 60}, Index: true,
		IndexKeys: []string{sandbox.KeyASecretTest, sandbox.KeyBSecretTest}})
	staff := srv.SignedIn(t, sandbox.KeyASecretTest)

	// A saved view of tenant A, with a name that must stay text.
	list := staff.Page(t, "/policies?status=paid", http.StatusOK)
	state, _ := list.Doc.Find(`[data-testid="save-view-form"] input[name="state"]`).Attr("value")
	viewName := `Paid <script>alert(1)</script>`
	r := staff.Post("/views", url.Values{"name": {viewName}, "state": {state}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("POST /views = %d, want 303", r.Status)
	}
	viewHref := ""
	for _, a := range staff.Page(t, "/policies", http.StatusOK).Doc.Find(`[data-testid="nav-view"]`).EachIter() {
		viewHref, _ = a.Attr("href")
	}
	if viewHref == "" {
		t.Fatal("the saved view is not in the navigation")
	}

	policyPage := "/policies/" + sandbox.FixturePolicyID
	cancelHref := policyPage + "/cancel"

	// Staff of tenant A, on the list.
	opts, doc := paletteOptions(t, staff, "/policies")
	for href, want := range map[string]string{"/policies": "Policies", "/policies/new": "New policy", "/audit": "Audit log",
		"/review": "Overview", "/review/expiring": "Expiring", viewHref: viewName, "/policies/export": "Export this list as CSV"} {
		if got, ok := opts[href]; !ok || got != want {
			t.Errorf("staff: option %s is %q (offered %v), want %q", href, got, ok, want)
		}
	}
	if _, ok := opts[cancelHref]; ok {
		t.Error("staff: the list offers to cancel a policy")
	}
	if doc.Find("script").Length() != 0 {
		t.Error("a saved view's name became markup in the palette")
	}
	find := doc.Find(`[data-palette-find]`)
	if href, _ := find.Attr("data-href"); find.Length() != 1 || !strings.Contains(href, "open=1") {
		t.Errorf("staff: the policy jump is %q (%d), want the indexed list's open", href, find.Length())
	}
	if tpl, _ := find.Attr("data-template"); !strings.Contains(tpl, "{id}") {
		t.Errorf("the policy jump's label %q has no place for the id", tpl)
	}
	if click, _ := doc.Find(`[data-href="/policies/export"]`).Attr("data-click"); click == "" {
		t.Error("the export action does not name the list's own button")
	}
	// On a policy page: cancelling, not the export.
	opts, _ = paletteOptions(t, staff, policyPage)
	if opts[cancelHref] != "Cancel this policy" {
		t.Errorf("staff on a policy page: cancel is %q", opts[cancelHref])
	}
	if _, ok := opts["/policies/export"]; ok {
		t.Error("a policy page offers the list's export")
	}
	// A from that is not a local path counts as no page.
	if opts, _ = paletteOptions(t, staff, "//evil.example"+policyPage); len(opts) == 0 {
		t.Error("a foreign from emptied the palette")
	} else if _, ok := opts[cancelHref]; ok {
		t.Error("a foreign from offered an action")
	}

	// A public key of tenant A: the tenant's views, no writes.
	public := srv.SignedIn(t, sandbox.KeyAPublicTest)
	for _, from := range []string{"/policies", policyPage} {
		opts, doc := paletteOptions(t, public, from)
		if _, ok := opts["/policies/new"]; ok {
			t.Errorf("public key on %s: offered New policy", from)
		}
		for href, label := range opts {
			if strings.HasSuffix(href, "/cancel") || strings.Contains(label, "Cancel") || label == "New policy" {
				t.Errorf("public key on %s: offered %q (%s)", from, label, href)
			}
		}
		if opts[viewHref] != viewName {
			t.Errorf("public key: the tenant's view is %q", opts[viewHref])
		}
		if doc.Find(`[data-palette-find]`).Length() != 1 {
			t.Error("public key: no policy jump")
		}
	}

	// Tenant B never sees A's view.
	other := srv.SignedIn(t, sandbox.KeyBSecretTest)
	opts, _ = paletteOptions(t, other, "/policies")
	if _, ok := opts[viewHref]; ok {
		t.Error("tenant B is offered tenant A's saved view")
	}
	for _, label := range opts {
		if label == viewName {
			t.Error("tenant B is offered a view named like A's")
		}
	}

	// A partner alone: the quotes, no KASKO page, no policy jump.
	partner := srv.NewBrowser(t)
	if r := partner.Post("/signin/partner", url.Values{"account": {sandbox.CascoDemoAccount}, "password": {sandbox.CascoDemoPassword}}); r.Status != http.StatusSeeOther {
		t.Fatalf("partner sign-in = %d, want 303", r.Status)
	}
	opts, doc = paletteOptions(t, partner, "/casco")
	if _, ok := opts["/casco"]; !ok {
		t.Errorf("partner: no quotes in %v", opts)
	}
	for href := range opts {
		if strings.HasPrefix(href, "/policies") || strings.HasPrefix(href, "/audit") || strings.HasPrefix(href, "/review") || strings.HasPrefix(href, "/views") {
			t.Errorf("partner: offered the KASKO page %s", href)
		}
	}
	if doc.Find(`[data-palette-find]`).Length() != 0 {
		t.Error("partner: offered the KASKO policy jump")
	}

	// Staff get no quotes without a partner login.
	if opts, _ = paletteOptions(t, staff, "/policies"); opts["/casco"] != "" {
		t.Error("a KASKO session is offered the partner's quotes")
	}

	// Signed out: to the sign-in page, no entries.
	anon := srv.NewBrowser(t)
	if r := anon.Get("/palette"); r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/signin") {
		t.Errorf("signed out: GET /palette = %d to %q, want 303 to sign in", r.Status, r.Header.Get("Location"))
	}
}
