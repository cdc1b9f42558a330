package kasko_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"backoffice/internal/audit"
	"backoffice/internal/sandbox"
	"backoffice/internal/savedviews"
	"backoffice/web/webtest"
)

// TestSavedViews: a staff session saves a filtered, sorted list; every
// session of the tenant (its public key too) finds it in the navigation
// and opens it to the same rows; another tenant neither sees nor deletes
// it; a public key cannot save or delete; bad names say why, on the
// field.
func TestSavedViews(t *testing.T) {
	t.Parallel()
	srv := webtest.NewServer(t, webtest.Options{Sandbox: sandbox.Options{Policies: 120}, Index: true,
		IndexKeys: []string{sandbox.KeyASecretTest, sandbox.KeyBSecretTest}})
	staff := srv.SignedIn(t, sandbox.KeyASecretTest)
	listURL := "/policies?status=paid&status=cancelled&sort=-gross_premium&size=10"
	orig := staff.Page(t, listURL, http.StatusOK)
	want := rowTexts(orig.Doc)
	if len(want) == 0 {
		t.Fatal("the filtered list is empty; the test needs rows")
	}
	form := orig.Doc.Find(`[data-testid="save-view-form"]`)
	if form.Length() != 1 {
		t.Fatal("no save form for a staff session")
	}
	state, _ := form.Find(`input[name="state"]`).Attr("value")
	name := `Paid <script>alert(1)</script> & cancelled`
	r := staff.Post("/views", url.Values{"name": {name}, "state": {state}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("POST /views = %d, want 303\n%.500s", r.Status, r.Body)
	}
	opened := staff.Page(t, r.Header.Get("Location"), http.StatusOK)
	if got := webtest.Text(opened.Doc.Find(`[data-testid="open-view-name"]`)); got != name {
		t.Errorf("the list names the open view %q, want %q", got, name)
	}
	if opened.Doc.Find(`[data-testid="open-view-changed"]`).Length() != 0 {
		t.Error("a view just opened says it changed")
	}

	// Every session of tenant A lists it; tenant B does not.
	var viewLink string
	for _, key := range []string{sandbox.KeyASecretTest, sandbox.KeyAPublicTest} {
		b := srv.SignedIn(t, key)
		page := b.Page(t, "/policies", http.StatusOK)
		link := page.Doc.Find(`[data-testid="nav-view"]`)
		if link.Length() != 1 || webtest.Text(link) != name {
			t.Fatalf("%s…: nav lists %q, want the view", key[:8], webtest.Text(link))
		}
		if page.Doc.Find(`[data-testid="nav-views"] script`).Length() != 0 {
			t.Errorf("%s…: the view's name is markup in the nav", key[:8])
		}
		viewLink, _ = link.Attr("href")
		// Opening it gives the rows of the original URL.
		r := b.Get(viewLink)
		if r.Status != http.StatusSeeOther {
			t.Fatalf("GET %s = %d, want 303", viewLink, r.Status)
		}
		loc := r.Header.Get("Location")
		if !strings.Contains(loc, "view=") {
			t.Errorf("the view opens as %s, without its id", loc)
		}
		got := rowTexts(b.Page(t, loc, http.StatusOK).Doc)
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s…: the view shows\n%q\nthe original URL\n%q", key[:8], got, want)
		}
		if key == sandbox.KeyAPublicTest {
			p := b.Page(t, loc, http.StatusOK)
			if p.Doc.Find(`[data-testid="save-view-form"], [data-testid="delete-view"]`).Length() != 0 {
				t.Error("a public key is offered to save or delete views")
			}
			if r := b.Post("/views", url.Values{"name": {"Mine"}, "state": {state}}); r.Status != http.StatusForbidden {
				t.Errorf("a public key saves a view: %d, want 403", r.Status)
			}
			id := strings.TrimPrefix(viewLink, "/views/")
			if r := b.Post("/views/"+id+"/delete", nil); r.Status != http.StatusForbidden {
				t.Errorf("a public key deletes a view: %d, want 403", r.Status)
			}
		}
	}
	other := srv.SignedIn(t, sandbox.KeyBSecretTest)
	if n := other.Page(t, "/policies", http.StatusOK).Doc.Find(`[data-testid="nav-view"]`).Length(); n != 0 {
		t.Errorf("tenant B lists %d of A's views", n)
	}
	other.Page(t, viewLink, http.StatusNotFound)
	if r := other.Post(viewLink+"/delete", nil); r.Status != http.StatusNotFound {
		t.Errorf("tenant B deletes A's view: %d, want 404", r.Status)
	}

	// Bad names: each says why, on the field, with and without htmx.
	for _, tt := range []struct{ name, wantText string }{
		{"", "Give the view a name."},
		{strings.Repeat("x", 81), "at most 80 characters"},
		{"PAID <SCRIPT>ALERT(1)</SCRIPT> & CANCELLED", "exists already"},
		{"two\nlines", "cannot be shown"},
		{"Paid\u202Efdp.exe", "invisible formatting characters"},
		{"Paid\u200B", "invisible formatting characters"},
	} {
		for _, hx := range []bool{false, true} {
			var header []string
			if hx {
				header = []string{"HX-Request", "true"}
			}
			r := staff.Post("/views", url.Values{"name": {tt.name}, "state": {state}}, header...)
			if r.Status != http.StatusBadRequest {
				t.Errorf("name %q (htmx %v) = %d, want 400", tt.name, hx, r.Status)
				continue
			}
			doc, _ := goquery.NewDocumentFromReader(strings.NewReader(r.Body))
			input := doc.Find(`#view-name`)
			if v, _ := input.Attr("aria-invalid"); v != "true" {
				t.Errorf("name %q: the field is not marked invalid", tt.name)
			}
			if _, ok := input.Attr("autofocus"); !ok {
				t.Errorf("name %q: focus does not go to the field", tt.name)
			}
			desc, _ := input.Attr("aria-describedby")
			if msg := webtest.Text(doc.Find("#" + desc)); desc == "" || !strings.Contains(msg, tt.wantText) {
				t.Errorf("name %q: message %q (by %q), want %q", tt.name, msg, desc, tt.wantText)
			}
			if v, _ := input.Attr("value"); v != tt.name && !strings.Contains(tt.name, "\n") {
				t.Errorf("name %q: the field keeps %q", tt.name, v)
			}
		}
	}

	// Deleting: the view leaves the nav.
	id := strings.TrimPrefix(viewLink, "/views/")
	if r := staff.Post("/views/"+id+"/delete", nil); r.Status != http.StatusSeeOther {
		t.Fatalf("delete = %d, want 303", r.Status)
	}
	if n := staff.Page(t, "/policies", http.StatusOK).Doc.Find(`[data-testid="nav-view"]`).Length(); n != 0 {
		t.Errorf("%d views listed after the delete", n)
	}
	staff.Page(t, viewLink, http.StatusNotFound)
}

// TestColumnChooser: a column hidden stays hidden across requests (the
// preferences cookie), a view's own columns win while it is open, and a
// public key never gets the email column.
func TestColumnChooser(t *testing.T) {
	t.Parallel()
	srv := webtest.NewServer(t, webtest.Options{Sandbox: sandbox.Options{Policies: 40}, Index: true, IndexKeys: []string{sandbox.KeyASecretTest}})
	staff := srv.SignedIn(t, sandbox.KeyASecretTest)
	headers := func(doc *goquery.Document) string {
		var out []string
		doc.Find("table.data thead th").Each(func(_ int, s *goquery.Selection) { out = append(out, webtest.Text(s)) })
		return strings.Join(out, "|")
	}
	page := staff.Page(t, "/policies", http.StatusOK)
	if h := headers(page.Doc); !strings.Contains(h, "Email") || !strings.Contains(h, "Product") {
		t.Fatalf("default headers %q", h)
	}
	chooser := page.Doc.Find(`[data-testid="column-chooser"]`)
	if chooser.Find("fieldset legend").Length() != 1 || chooser.Find(`input[type="checkbox"][name="col"]`).Length() != 9 {
		t.Errorf("the chooser has no legend or not 9 columns:\n%s", webtest.Text(chooser))
	}
	chooser.Find(`input[type="checkbox"]`).Each(func(_ int, s *goquery.Selection) {
		id, _ := s.Attr("id")
		if chooser.Find(`label[for="`+id+`"]`).Length() != 1 {
			t.Errorf("checkbox %s has no label", id)
		}
	})
	r := staff.Post("/policies/columns", url.Values{"col": {"id", "holder", "status", "bogus"}, "return": {"/policies?sort=last_name&cols=email"}})
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/policies?sort=last_name#column-chooser" {
		t.Fatalf("POST /policies/columns = %d → %q", r.Status, r.Header.Get("Location"))
	}
	for range 2 {
		p := staff.Page(t, "/policies", http.StatusOK)
		if h := headers(p.Doc); h != "Policy|Policyholder|Status" && !strings.HasPrefix(h, "Policy") {
			t.Errorf("after the choice, headers %q", h)
		}
		if n := p.Doc.Find(`[data-testid="policy-row"]`).First().Find("td").Length(); n != 3 {
			t.Errorf("rows have %d cells, want 3", n)
		}
		if strings.Contains(headers(p.Doc), "Email") {
			t.Error("a hidden column is shown")
		}
	}
	// A view's own columns win while it is open.
	p := staff.Page(t, "/policies?cols=email,premium", http.StatusOK)
	if n := p.Doc.Find(`[data-testid="policy-row"]`).First().Find("td").Length(); n != 2 || !strings.Contains(headers(p.Doc), "Email") {
		t.Errorf("cols=email,premium shows %q", headers(p.Doc))
	}
	if r := staff.Post("/policies/columns", url.Values{"return": {"/policies"}}); r.Status != http.StatusBadRequest {
		t.Errorf("no column chosen = %d, want 400", r.Status)
	}

	pk := srv.SignedIn(t, sandbox.KeyAPublicTest)
	for _, path := range []string{"/policies", "/policies?cols=email,id"} {
		p := pk.Page(t, path, http.StatusOK)
		if strings.Contains(headers(p.Doc), "Email") || p.Doc.Find(`input[name="col"][value="email"]`).Length() != 0 {
			t.Errorf("%s: a public key is shown or offered the email column: %q", path, headers(p.Doc))
		}
	}
	pk.Post("/policies/columns", url.Values{"col": {"email", "id"}, "return": {"/policies"}})
	if h := headers(pk.Page(t, "/policies", http.StatusOK).Doc); strings.Contains(h, "Email") {
		t.Errorf("a public key chose the email column: %q", h)
	}
}

// saveView saves state as name for b and returns the view's /views/{id}.
func saveView(t *testing.T, b *webtest.Browser, name, state string) string {
	t.Helper()
	r := b.Post("/views", url.Values{"name": {name}, "state": {state}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("POST /views = %d, want 303\n%.500s", r.Status, r.Body)
	}
	loc, err := url.Parse(r.Header.Get("Location"))
	if err != nil || loc.Query().Get("view") == "" {
		t.Fatalf("the view opens as %q", r.Header.Get("Location"))
	}
	return "/views/" + loc.Query().Get("view")
}

// TestSavedViewSearchNotForPublicKeys: a view's search text (staff may
// have typed an email, a phone number, a VIN or a plate) is left out
// when a public key opens the view, and the page says so; staff still
// get it, and a public key's list does not count as changed for it.
func TestSavedViewSearchNotForPublicKeys(t *testing.T) {
	t.Parallel()
	srv := webtest.NewServer(t, webtest.Options{Sandbox: sandbox.Options{Policies: 30}, Index: true, IndexKeys: []string{sandbox.KeyASecretTest}})
	staff := srv.SignedIn(t, sandbox.KeyASecretTest)
	const secret = "driver.secret@example.com"
	link := saveView(t, staff, "By email", url.Values{"q": {secret}, "sort": {"-email"}, "size": {"10"}}.Encode())

	r := staff.Get(link)
	if loc := r.Header.Get("Location"); r.Status != http.StatusSeeOther || !strings.Contains(loc, url.QueryEscape(secret)) {
		t.Errorf("staff open the view as %d %q, want its search", r.Status, loc)
	}

	pk := srv.SignedIn(t, sandbox.KeyAPublicTest)
	r = pk.Get(link)
	loc := r.Header.Get("Location")
	if r.Status != http.StatusSeeOther || strings.Contains(loc, "q=") || strings.Contains(loc, "secret") || strings.Contains(loc, "email") {
		t.Fatalf("a public key opens the view as %d %q, with its search or email order", r.Status, loc)
	}
	p := pk.Page(t, loc, http.StatusOK)
	if strings.Contains(p.Body, "secret@") || strings.Contains(p.Body, "driver.secret") {
		t.Error("the public key's page shows the view's search text")
	}
	if v, _ := p.Doc.Find(`#find-q`).Attr("value"); v != "" {
		t.Errorf("the public key's search box holds %q", v)
	}
	omitted := p.Doc.Find(`[data-testid="open-view-status"] [data-testid="open-view-search-omitted"]`)
	if !strings.Contains(webtest.Text(omitted), "search text is left out") {
		t.Errorf("the page does not say the search was left out: %q", webtest.Text(p.Doc.Find(`[data-testid="open-view"]`)))
	}
	if p.Doc.Find(`[data-testid="open-view-changed"]`).Length() != 0 {
		t.Error("the view just opened by a public key says it changed")
	}
	// Staff's page of the same view says nothing of the kind.
	sp := staff.Page(t, staff.Get(link).Header.Get("Location"), http.StatusOK)
	if sp.Doc.Find(`[data-testid="open-view-search-omitted"]`).Length() != 0 {
		t.Error("staff are told the search was left out")
	}
}

// TestSavedViewsAudited: creating and deleting a view (what the whole
// tenant sees) is in the audit log, named on the audit page; a public
// key's attempts are recorded as refused.
func TestSavedViewsAudited(t *testing.T) {
	t.Parallel()
	srv := webtest.NewServer(t, webtest.Options{Sandbox: sandbox.Options{Policies: 20}, Index: true, IndexKeys: []string{sandbox.KeyASecretTest}})
	staff := srv.SignedIn(t, sandbox.KeyASecretTest)
	link := saveView(t, staff, "Paid ones", "status=paid&size=10")
	entries := srv.AuditEntries(t)
	if len(entries) != 1 {
		t.Fatalf("%d audit entries after a create, want 1: %+v", len(entries), entries)
	}
	if e := entries[0]; e.Action != audit.ActionViewCreate || e.Outcome != audit.OutcomeCompleted ||
		e.Reference != link || e.Message != "Paid ones" || !strings.HasPrefix(e.Actor, "sk_test_") || e.Tenant == "" {
		t.Errorf("create entry = %+v", e)
	}

	pk := srv.SignedIn(t, sandbox.KeyAPublicTest)
	if r := pk.Post("/views", url.Values{"name": {"Mine"}, "state": {"size=10"}}); r.Status != http.StatusForbidden {
		t.Errorf("a public key saves a view: %d", r.Status)
	}
	if r := pk.Post(link+"/delete", nil); r.Status != http.StatusForbidden {
		t.Errorf("a public key deletes a view: %d", r.Status)
	}
	if r := staff.Post(link+"/delete", nil); r.Status != http.StatusSeeOther {
		t.Fatalf("delete = %d", r.Status)
	}
	entries = srv.AuditEntries(t)
	if len(entries) != 4 {
		t.Fatalf("%d audit entries, want 4: %+v", len(entries), entries)
	}
	// Newest first: the delete, the two refusals, the create.
	if e := entries[0]; e.Action != audit.ActionViewDelete || e.Outcome != audit.OutcomeCompleted || e.Reference != link || e.Message != "Paid ones" {
		t.Errorf("delete entry = %+v", e)
	}
	refused := map[string]bool{}
	for _, e := range entries[1:3] {
		if e.Outcome != audit.OutcomeRefused || !strings.HasPrefix(e.Actor, "pk_test_") {
			t.Errorf("refusal entry = %+v", e)
		}
		refused[e.Action] = true
	}
	if !refused[audit.ActionViewCreate] || !refused[audit.ActionViewDelete] {
		t.Errorf("refused actions %v, want a create and a delete", refused)
	}

	p := staff.Page(t, "/audit", http.StatusOK)
	var labels []string
	p.Doc.Find(`[data-testid="audit-action"]`).Each(func(_ int, s *goquery.Selection) { labels = append(labels, webtest.Text(s)) })
	if got := strings.Join(labels, "|"); got != "Saved view deleted|Saved view deleted|Saved view created|Saved view created" &&
		got != "Saved view deleted|Saved view created|Saved view deleted|Saved view created" {
		t.Errorf("audit page actions %q", got)
	}
}

// TestSavedViewControls: the name field takes what the server takes;
// the open view's status region is its text alone; deleting asks first,
// without JavaScript; the column chooser's answer lands on the chooser.
func TestSavedViewControls(t *testing.T) {
	t.Parallel()
	srv := webtest.NewServer(t, webtest.Options{Sandbox: sandbox.Options{Policies: 20}, Index: true, IndexKeys: []string{sandbox.KeyASecretTest}})
	staff := srv.SignedIn(t, sandbox.KeyASecretTest)
	page := staff.Page(t, "/policies", http.StatusOK)
	if m, _ := page.Doc.Find(`#view-name`).Attr("maxlength"); m != strconv.Itoa(savedviews.MaxNameRunes) {
		t.Errorf("the name field's maxlength is %q, the server takes %d characters", m, savedviews.MaxNameRunes)
	}
	// A refused name's form too.
	r := staff.Post("/views", url.Values{"name": {""}, "state": {"size=10"}}, "HX-Request", "true")
	doc, _ := goquery.NewDocumentFromReader(strings.NewReader(r.Body))
	if m, _ := doc.Find(`#view-name`).Attr("maxlength"); m != strconv.Itoa(savedviews.MaxNameRunes) {
		t.Errorf("the refused form's maxlength is %q", m)
	}

	name := `Team <view> & co`
	link := saveView(t, staff, name, "status=paid&size=10")
	p := staff.Page(t, staff.Get(link).Header.Get("Location"), http.StatusOK)
	status := p.Doc.Find(`[data-testid="open-view"] [role="status"]`)
	if status.Length() != 1 || !strings.Contains(webtest.Text(status), name) {
		t.Fatalf("the open view's status region is %q", webtest.Text(status))
	}
	if n := status.Find("a, button, input, select, textarea, form, details, summary").Length(); n != 0 {
		t.Errorf("the status region holds %d controls", n)
	}
	if n := p.Doc.Find(`[data-testid="open-view"][role="status"]`).Length(); n != 0 {
		t.Error("the whole bar, controls and all, is a status region")
	}

	// Delete asks first: the only form that deletes sits in a closed
	// disclosure whose question names the view and who loses it.
	forms := p.Doc.Find(`form[action="` + link + `/delete"]`)
	if forms.Length() != 1 {
		t.Fatalf("%d delete forms", forms.Length())
	}
	details := forms.ParentsFiltered("details")
	if details.Length() != 1 {
		t.Fatal("the delete form is not behind a disclosure: one click deletes the team's view")
	}
	if _, open := details.Attr("open"); open {
		t.Error("the delete disclosure is open already")
	}
	if s := details.ChildrenFiltered("summary"); webtest.Text(s) == "" {
		t.Error("the delete disclosure has no summary to open it by")
	}
	q := forms.Find(`[data-testid="delete-view-question"]`)
	if txt := webtest.Text(q); !strings.Contains(txt, name) || !strings.Contains(txt, "everyone") {
		t.Errorf("the question is %q", txt)
	}
	btn := forms.Find(`button[type="submit"]`)
	if d, _ := btn.Attr("aria-describedby"); d == "" || d != q.AttrOr("id", "-") {
		t.Errorf("the delete button is described by %q, the question is #%s", d, q.AttrOr("id", ""))
	}

	// The chooser's answer comes back to the chooser's summary, by a
	// fragment the browser focuses: a plain form, so it is a page load.
	chooser := p.Doc.Find(`[data-testid="column-chooser"]`)
	if _, hx := chooser.Find("form").Attr("hx-post"); hx {
		t.Error("the chooser posts by htmx, whose redirect would drop the fragment")
	}
	r = staff.Post("/policies/columns", url.Values{"col": {"id", "status"}, "return": {"/policies?status=paid"}})
	loc := r.Header.Get("Location")
	frag := loc[strings.LastIndex(loc, "#")+1:]
	if r.Status != http.StatusSeeOther || !strings.HasSuffix(loc, "#column-chooser") {
		t.Fatalf("POST /policies/columns = %d → %q, want the chooser's fragment", r.Status, loc)
	}
	after := staff.Page(t, loc, http.StatusOK)
	target := after.Doc.Find("#" + frag)
	if target.Length() != 1 || goquery.NodeName(target) != "summary" || target.ParentsFiltered(`[data-testid="column-chooser"]`).Length() != 1 {
		t.Errorf("#%s is not the chooser's summary", frag)
	}
}
