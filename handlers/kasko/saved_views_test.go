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
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/policies?sort=last_name" {
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
