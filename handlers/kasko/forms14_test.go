package kasko_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"backoffice/internal/audit"
	"backoffice/internal/sandbox"
	"backoffice/web/webtest"
)

// Issue 14: a refused form is headed by a summary that takes the focus
// and links each field in error; fields in error say so to assistive
// technology (aria-invalid="true", their message described); swapped-in
// content says where the focus goes next.

// checkSummary fails unless doc holds one error summary that takes the
// focus, with one link per field of wantIDs, in order, each to a field
// that is marked invalid and described by an existing message.
func checkSummary(t *testing.T, doc *goquery.Document, wantIDs ...string) {
	t.Helper()
	sum := doc.Find(`[data-testid="error-summary"]`)
	if sum.Length() != 1 {
		t.Fatalf("error summaries = %d, want 1", sum.Length())
	}
	if sum.AttrOr("tabindex", "") != "-1" || sum.AttrOr("role", "") != "group" {
		t.Errorf("summary tabindex=%q role=%q, want -1 and group", sum.AttrOr("tabindex", ""), sum.AttrOr("role", ""))
	}
	for _, attr := range []string{"autofocus", "data-swap-focus"} {
		if _, ok := sum.Attr(attr); !ok {
			t.Errorf("the summary has no %s", attr)
		}
	}
	if n := doc.Find("[autofocus]").Length(); n != 1 {
		t.Errorf("%d elements have autofocus, want 1 (the summary)", n)
	}
	title := doc.Find("#" + sum.AttrOr("aria-labelledby", "none"))
	want := "1 field needs attention"
	if len(wantIDs) > 1 {
		want = strings.Replace("N fields need attention", "N", string(rune('0'+len(wantIDs))), 1)
	}
	if got := webtest.Text(title); got != want {
		t.Errorf("summary title = %q, want %q", got, want)
	}
	var got []string
	sum.Find("a").Each(func(_ int, a *goquery.Selection) {
		href := a.AttrOr("href", "")
		got = append(got, strings.TrimPrefix(href, "#"))
		if webtest.Text(a) == "" {
			t.Errorf("summary link %s has no text", href)
		}
		field := doc.Find(href)
		if !strings.HasPrefix(href, "#") || field.Length() != 1 {
			t.Errorf("summary link %q has no field to go to", href)
			return
		}
		if v := field.AttrOr("aria-invalid", ""); v != "true" {
			t.Errorf("%s aria-invalid = %q, want true", href, v)
		}
		ids := strings.Fields(field.AttrOr("aria-describedby", ""))
		if len(ids) == 0 {
			t.Errorf("%s describes no message", href)
		}
		for _, id := range ids {
			if doc.Find("#"+id).Length() != 1 {
				t.Errorf("%s is described by #%s, which is not in the page", href, id)
			}
		}
		if len(ids) > 0 && webtest.Text(doc.Find("#"+ids[0])) == "" {
			t.Errorf("%s: its first description #%s is empty", href, ids[0])
		}
	})
	if !slices.Equal(got, wantIDs) {
		t.Errorf("summary links to %q, want %q", got, wantIDs)
	}
	checkNoBareInvalid(t, doc)
}

// checkNoBareInvalid fails on any aria-invalid other than "true", which
// assistive technology reads as not invalid.
func checkNoBareInvalid(t *testing.T, doc *goquery.Document) {
	t.Helper()
	doc.Find("[aria-invalid]").Each(func(_ int, s *goquery.Selection) {
		if v := s.AttrOr("aria-invalid", ""); v != "true" {
			t.Errorf("#%s has aria-invalid=%q", s.AttrOr("id", "?"), v)
		}
	})
}

// swapFocus is the element marked to take the focus after a swap.
func swapFocus(t *testing.T, doc *goquery.Document) *goquery.Selection {
	t.Helper()
	s := doc.Find("[data-swap-focus]").First()
	if s.Length() == 0 {
		t.Fatal("nothing is marked to take the focus after the swap")
	}
	return s
}

func TestPushFormErrorSummary(t *testing.T) {
	t.Parallel()
	srv := newCancelServer(t, sandbox.Options{})
	b := srv.SignedIn(t, sandbox.KeyASecretTest)
	fresh := b.Page(t, "/policies/new", http.StatusOK).Doc
	if fresh.Find(`[data-testid="error-summary"]`).Length() != 0 {
		t.Error("a fresh form has an error summary")
	}
	checkNoBareInvalid(t, fresh)
	for _, hx := range []bool{false, true} {
		form := pushValues(newPushForm(t, b))
		form.Set("first_name", "")
		form.Set("vin", "WVWZZZ1KZ8W0061")
		form["meta_key"] = []string{"Bad Key"}
		var header []string
		if hx {
			header = []string{"HX-Request", "true", "HX-Target", "new-policy"}
		}
		r := b.Post("/policies/new", form, header...)
		if r.Status != http.StatusUnprocessableEntity {
			t.Fatalf("htmx=%v: status %d, want 422", hx, r.Status)
		}
		if hx != (r.Doc.Find("header.site-header").Length() == 0) {
			t.Errorf("htmx=%v: whole page = %v", hx, !hx)
		}
		checkSummary(t, r.Doc, "f-first_name", "f-vin", "meta-key-1")
		if got := r.Doc.Find("#f-vin").AttrOr("aria-describedby", ""); got != "e-vin h-vin" {
			t.Errorf("VIN describedby = %q, want the error then the hint", got)
		}
		if got := r.Doc.Find(`[data-testid="metadata"]`).AttrOr("aria-describedby", ""); got != "e-metadata" {
			t.Errorf("metadata fieldset describedby = %q", got)
		}
		if got := webtest.Text(r.Doc.Find(`[data-testid="error-summary"] a[href="#f-first_name"]`)); !strings.HasPrefix(got, "First name: ") {
			t.Errorf("first name entry = %q, want it to name the field", got)
		}
		if r.Doc.Find("#f-email").AttrOr("aria-describedby", "") != "" {
			t.Error("a valid field is described by an error message that is not there")
		}
	}
}

// TestPushAddMetadataRowTakesTheFocus: "Add metadata row" lands on the
// new row's key, with or without htmx, and only there.
func TestPushAddMetadataRowTakesTheFocus(t *testing.T) {
	t.Parallel()
	srv := newCancelServer(t, sandbox.Options{})
	b := srv.SignedIn(t, sandbox.KeyASecretTest)
	if fresh := b.Page(t, "/policies/new", http.StatusOK).Doc; fresh.Find("[autofocus], [data-swap-focus]").Length() != 0 {
		t.Error("a fresh form moves the focus")
	}
	for _, hx := range []bool{false, true} {
		form := pushValues(newPushForm(t, b))
		form["meta_key"] = []string{"crm_id"}
		form["meta_value"] = []string{"CRM-1"}
		form.Set("step", "add_meta")
		var header []string
		if hx {
			header = []string{"HX-Request", "true", "HX-Target", "new-policy"}
		}
		r := b.Post("/policies/new", form, header...)
		if r.Status != http.StatusOK {
			t.Fatalf("htmx=%v: status %d, want 200", hx, r.Status)
		}
		if n := r.Doc.Find(".meta-row").Length(); n != 2 {
			t.Fatalf("htmx=%v: %d metadata rows, want 2", hx, n)
		}
		if id := swapFocus(t, r.Doc).AttrOr("id", ""); id != "meta-key-2" {
			t.Errorf("htmx=%v: focus goes to %q, want the new row's key", hx, id)
		}
		if r.Doc.Find("#meta-key-2[autofocus]").Length() != 1 || r.Doc.Find("[autofocus]").Length() != 1 {
			t.Errorf("htmx=%v: autofocus is not on the new row alone", hx)
		}
		if got := r.Doc.Find("#meta-key-1").AttrOr("value", ""); got != "crm_id" {
			t.Errorf("htmx=%v: the first row lost its key: %q", hx, got)
		}
	}
}

func TestCancelFormErrorSummaryAndReviewFocus(t *testing.T) {
	t.Parallel()
	srv := newCancelServer(t, sandbox.Options{})
	b := srv.SignedIn(t, sandbox.KeyASecretTest)
	hxHeader := []string{"HX-Request", "true", "HX-Target", "cancel-panel"}

	// The form opened into the panel gives the focus to its first field.
	open := b.Page(t, cancelPath, http.StatusOK, hxHeader...)
	if f := swapFocus(t, open.Doc); f.AttrOr("id", "") != "cancel-reason" {
		t.Errorf("the opened form focuses #%s, want #cancel-reason", f.AttrOr("id", ""))
	}
	checkNoBareInvalid(t, open.Doc)
	token := openCancelForm(t, b, fixturePath)

	for _, hx := range []bool{false, true} {
		form := cancelForm(token, "review")
		form.Set("reason", "")
		form.Set("termination_date", "not a date")
		var header []string
		if hx {
			header = hxHeader
		}
		r := b.Post(cancelPath, form, header...)
		if r.Status != http.StatusUnprocessableEntity {
			t.Fatalf("htmx=%v: status %d, want 422", hx, r.Status)
		}
		checkSummary(t, r.Doc, "cancel-reason", "cancel-date")
		if f := swapFocus(t, r.Doc); f.AttrOr("data-testid", "") != "error-summary" {
			t.Errorf("htmx=%v: the swap focuses %q, want the summary", hx, f.AttrOr("data-testid", ""))
		}
		if got := r.Doc.Find("#cancel-reason").AttrOr("aria-describedby", ""); got != "cancel-reason-error" {
			t.Errorf("reason describedby = %q", got)
		}

		// A valid review: its heading takes the focus, with and without
		// JavaScript, and no summary is shown.
		rv := b.Post(cancelPath, cancelForm(token, "review"), header...)
		if rv.Status != http.StatusOK || rv.Doc.Find(`[data-testid="cancel-review-form"]`).Length() != 1 {
			t.Fatalf("htmx=%v: review = %d", hx, rv.Status)
		}
		h := rv.Doc.Find(`[data-testid="cancel-review-heading"]`)
		if got := webtest.Text(h); got != "Check and confirm the cancellation" || h.AttrOr("tabindex", "") != "-1" {
			t.Errorf("review heading = %q tabindex %q", got, h.AttrOr("tabindex", ""))
		}
		if _, ok := h.Attr("autofocus"); !ok || swapFocus(t, rv.Doc).AttrOr("id", "") != "cancel-review-heading" {
			t.Errorf("htmx=%v: the review heading does not take the focus", hx)
		}
		if rv.Doc.Find(`[data-testid="error-summary"]`).Length() != 0 || rv.Doc.Find("[autofocus]").Length() != 1 {
			t.Errorf("htmx=%v: a valid review has a summary or several autofocus", hx)
		}
	}
}

func TestCancelLiveConfirmErrorSummary(t *testing.T) {
	t.Parallel()
	srv := newCancelServer(t, sandbox.Options{})
	b := srv.SignedIn(t, sandbox.KeyASecretLive)
	livePath := "/policies/" + sandbox.FixtureLiveID
	form := cancelForm(openCancelForm(t, b, livePath), "confirm")
	form.Set("termination_date", time.Now().AddDate(0, 1, 0).Format(time.DateOnly))
	form.Set("confirm_id", "HOME-WRONG")
	r := b.Post(livePath+"/cancel", form, "HX-Request", "true", "HX-Target", "cancel-panel")
	if r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("status %d, want 422", r.Status)
	}
	checkSummary(t, r.Doc, "cancel-confirm")
	if f := swapFocus(t, r.Doc); f.AttrOr("data-testid", "") != "error-summary" {
		t.Errorf("the swap focuses %q, want the summary", f.AttrOr("data-testid", ""))
	}
}

func TestCancelProgressTakesFocus(t *testing.T) {
	t.Parallel()
	srv := newCancelServer(t, sandbox.Options{CancelDelay: time.Hour})
	b := srv.SignedIn(t, sandbox.KeyASecretTest)
	r := b.Post(cancelPath, cancelForm(openCancelForm(t, b, fixturePath), "confirm"), "HX-Request", "true", "HX-Target", "cancel-panel")
	if r.Status != http.StatusOK {
		t.Fatalf("confirm = %d", r.Status)
	}
	f := swapFocus(t, r.Doc)
	if f.AttrOr("data-testid", "") != "cancel-message" || f.AttrOr("tabindex", "") != "-1" {
		t.Errorf("the progress panel focuses %q (tabindex %q), want its message", f.AttrOr("data-testid", ""), f.AttrOr("tabindex", ""))
	}
	if r.Doc.Find("[autofocus]").Length() != 0 {
		t.Error("a polled panel has autofocus, which htmx obeys at every poll")
	}
}

func TestSignInErrorSummaryAndAutocomplete(t *testing.T) {
	t.Parallel()
	srv := newCancelServer(t, sandbox.Options{})
	page := srv.NewBrowser(t).Page(t, "/signin", http.StatusOK).Doc
	key := page.Find("#key-form input#key")
	if got := key.AttrOr("autocomplete", ""); got != "current-password" {
		t.Errorf("key autocomplete = %q, want current-password", got)
	}
	user := page.Find(`#key-form input[autocomplete="username"]`)
	if user.Length() != 1 || user.AttrOr("name", "") != "" {
		t.Errorf("username fields for password managers = %d (name %q), want 1 without a name", user.Length(), user.AttrOr("name", ""))
	}
	if _, hidden := user.Attr("hidden"); !hidden {
		t.Error("the username field for password managers is not hidden")
	}
	if page.Find(`[data-testid="error-summary"]`).Length() != 0 {
		t.Error("a fresh sign-in page has an error summary")
	}
	tests := []struct {
		name  string
		form  url.Values
		field string
	}{
		{"empty key", url.Values{"key": {""}}, "key"},
		{"malformed key", url.Values{"key": {"sk_test_short"}}, "key"},
		{"long name", url.Values{"key": {sandbox.KeyASecretTest}, "display_name": {strings.Repeat("n", 81)}}, "display_name"},
	}
	for _, tt := range tests {
		for _, hx := range []bool{false, true} {
			var header []string
			if hx {
				header = []string{"HX-Request", "true"}
			}
			r := srv.NewBrowser(t).Post("/signin", tt.form, header...)
			if r.Status != http.StatusUnprocessableEntity {
				t.Fatalf("%s htmx=%v: status %d", tt.name, hx, r.Status)
			}
			if tt.field == "key" {
				checkSummary(t, r.Doc, "key")
				continue
			}
			// The name's message is shown on the key field, as before;
			// the summary's link goes to the name.
			if got := r.Doc.Find(`[data-testid="error-summary"] a`).AttrOr("href", ""); got != "#display_name" {
				t.Errorf("%s: summary links %q, want #display_name", tt.name, got)
			}
		}
	}
}

func TestPartnerSignInErrorSummary(t *testing.T) {
	t.Parallel()
	srv := newCancelServer(t, sandbox.Options{})
	tests := []struct {
		name, account, password, field string
	}{
		{"empty", "", "", "account"},
		{"wrong password", sandbox.CascoDemoAccount, "guess", "password"},
	}
	for _, tt := range tests {
		for _, hx := range []bool{false, true} {
			var header []string
			if hx {
				header = []string{"HX-Request", "true"}
			}
			b := srv.NewBrowser(t)
			b.Header.Set("Accept-Language", "en")
			r := b.Post("/signin/partner", url.Values{"account": {tt.account}, "password": {tt.password}}, header...)
			if r.Status != http.StatusUnprocessableEntity {
				t.Fatalf("%s: status %d", tt.name, r.Status)
			}
			checkSummary(t, r.Doc, tt.field)
			for _, id := range []string{"account", "password"} {
				f := r.Doc.Find("#" + id)
				if f.AttrOr("aria-invalid", "") != "true" || f.AttrOr("aria-describedby", "") != "partner-error" {
					t.Errorf("%s: #%s aria-invalid=%q describedby=%q", tt.name, id, f.AttrOr("aria-invalid", ""), f.AttrOr("aria-describedby", ""))
				}
			}
		}
	}
}

func TestAuditCellsShowTheirPolicy(t *testing.T) {
	t.Parallel()
	entries := []audit.Entry{
		{Action: audit.ActionConvert, Reference: "88001", Holder: "Ion Popescu", Actor: "sk_test_…aaaa", Mode: "test",
			Outcome: audit.OutcomeCompleted, UpstreamStatus: 200, Message: "RO-CAS 1234567"},
	}
	srv := webtest.NewServer(t, webtest.Options{Audit: newAuditLog(t, entries), Sandbox: sandbox.Options{Policies: 60}})

	// A read-only key's cancellation, refused and recorded.
	reader := srv.SignedIn(t, sandbox.KeyAPublicTest)
	reader.Post(cancelPath, url.Values{"token": {"x"}, "step": {"confirm"}})

	doc := reader.Page(t, "/audit", http.StatusOK).Doc
	rows := auditRows(doc)
	if rows.Length() != 2 {
		t.Fatalf("rows = %d, want 2", rows.Length())
	}
	// Newest first: the refusal, then the conversion.
	refused := rows.Eq(0).Find(`[data-testid="audit-policy"]`)
	if got := webtest.Text(refused); got != sandbox.FixturePolicyID {
		t.Errorf("refused cancel's policy cell = %q, want %q", got, sandbox.FixturePolicyID)
	}
	conv := rows.Eq(1).Find(`[data-testid="audit-policy"]`)
	if got := webtest.Text(conv.Find(`[data-testid="audit-policy-label"]`)); got != "RO-CAS 1234567" {
		t.Errorf("conversion's series and number as text = %q, want RO-CAS 1234567 (cell %q)", got, webtest.Text(conv))
	}
	for _, want := range []string{"Ion Popescu", "88001"} {
		if !strings.Contains(webtest.Text(conv), want) {
			t.Errorf("conversion's policy cell %q lacks %q", webtest.Text(conv), want)
		}
	}
}

func TestPreferenceSelectsKeepTheirButtons(t *testing.T) {
	t.Parallel()
	srv := newCancelServer(t, sandbox.Options{})
	doc := srv.SignedIn(t, sandbox.KeyASecretTest).Page(t, "/policies", http.StatusOK).Doc
	for _, form := range []string{`[data-testid="lang-switch"]`, `[data-testid="times-switch"]`} {
		f := doc.Find("form" + form)
		if f.AttrOr("method", "") != "post" || f.AttrOr("action", "") == "" {
			t.Errorf("%s is not a plain form", form)
		}
		if f.Find("select[data-submit-on-change]").Length() != 1 {
			t.Errorf("%s: no select applies on change", form)
		}
		button := f.Find(`button[type="submit"][data-no-js-submit]`)
		if button.Length() != 1 || webtest.Text(button) == "" {
			t.Errorf("%s: the submit button is not in the HTML", form)
		}
		if _, hidden := button.Attr("hidden"); hidden || button.AttrOr("style", "") != "" {
			t.Errorf("%s: the button is hidden without JavaScript", form)
		}
	}
}
