package kasko_test

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"backoffice/handlers"
	"backoffice/internal/audit"
	"backoffice/internal/sandbox"
	"backoffice/web/webtest"
)

// backdatedVariant is webtest's second variant: it allows a past start,
// and the sandbox does not know it (so the push API answers 404).
const backdatedVariant = "BackdatedVariant0000000000000000"

// validVIN is ARAG's documented example.
const validVIN = "WVWZZZ1KZ8W006165"

func newPushForm(t *testing.T, b *webtest.Browser) string {
	t.Helper()
	r := b.Page(t, "/policies/new", http.StatusOK)
	token := r.Doc.Find(`[data-testid="new-policy-form"] input[name="token"]`).AttrOr("value", "")
	if token == "" {
		t.Fatalf("no token on the new-policy form\n%.500s", r.Body)
	}
	return token
}

func pushValues(token string) url.Values {
	return url.Values{
		"token": {token}, "variant_id": {sandbox.ARAGVariantID},
		"first_name": {"Erika"}, "last_name": {"Mustermann"}, "email": {"erika@example.com"},
		"start_date": {time.Now().AddDate(0, 0, 7).Format(time.DateOnly)}, "vin": {validVIN},
		"meta_key": {"crm_id"}, "meta_value": {"CRM-42"},
	}
}

func TestNewPolicyFormOnlyForStaffWithPush(t *testing.T) {
	t.Parallel()
	srv := newCancelServer(t, sandbox.Options{})
	staff := srv.SignedIn(t, sandbox.KeyASecretTest)
	r := staff.Page(t, "/policies/new", http.StatusOK)
	for _, field := range []string{"variant_id", "first_name", "last_name", "email", "start_date", "vin", "meta_key", "meta_value"} {
		if r.Doc.Find(`[name="`+field+`"]`).Length() == 0 {
			t.Errorf("the form lacks %s", field)
		}
	}
	if got := webtest.Text(r.Doc.Find(`select[name="variant_id"] option[selected]`)); got != "ARAG AS24" {
		t.Errorf("default variant = %q, want ARAG AS24", got)
	}
	if r.Doc.Find(`label[for="f-vin"]`).Length() != 1 || r.Doc.Find(`label[for="f-email"]`).Length() != 1 {
		t.Error("fields are not labelled")
	}
	if staff.Page(t, "/policies", http.StatusOK).Doc.Find(`[data-testid="nav-new"]`).Length() != 1 {
		t.Error("staff see no way to the new-policy form")
	}

	reader := srv.SignedIn(t, sandbox.KeyAPublicTest)
	if reader.Page(t, "/policies", http.StatusOK).Doc.Find(`[data-testid="nav-new"]`).Length() != 0 {
		t.Error("a read-only session is shown the new-policy link")
	}
	reader.Page(t, "/policies/new", http.StatusForbidden)
	post := reader.Post("/policies/new", pushValues("any"))
	checkErrorPage(t, post, http.StatusForbidden, "You are signed in with a public key, which can only read. Sign in with a secret key to make changes.")
	if n := srv.Upstream.Sandbox.Calls(sandbox.RoutePush); n != 0 {
		t.Errorf("a read-only session reached the push API %d times", n)
	}
	if e := srv.AuditEntries(t); len(e) != 1 || e[0].Action != audit.ActionCreate || e[0].Outcome != audit.OutcomeRefused {
		t.Errorf("audit = %+v", e)
	}

	// Without the push API there is no form.
	noPush := webtest.NewServer(t, webtest.Options{Sandbox: sandbox.Options{Policies: 20}, Features: &handlers.Features{Kasko: true}})
	b := noPush.SignedIn(t, sandbox.KeyASecretTest)
	b.Page(t, "/policies/new", http.StatusNotFound)
	if b.Page(t, "/policies", http.StatusOK).Doc.Find(`[data-testid="nav-new"]`).Length() != 0 {
		t.Error("the new-policy link shows without a push API")
	}
}

func TestNewPolicyValidation(t *testing.T) {
	t.Parallel()
	srv := newCancelServer(t, sandbox.Options{})
	b := srv.SignedIn(t, sandbox.KeyASecretTest)
	token := newPushForm(t, b)
	yesterday := time.Now().AddDate(0, 0, -2).Format(time.DateOnly)
	tests := []struct {
		name      string
		change    func(url.Values)
		wantField string
		wantError string
	}{
		{"no variant", func(v url.Values) { v.Set("variant_id", "") }, "variant_id", "Choose one of the listed variants."},
		{"unknown variant", func(v url.Values) { v.Set("variant_id", "x") }, "variant_id", "Choose one of the listed variants."},
		{"no first name", func(v url.Values) { v.Set("first_name", " ") }, "first_name", "This field is required."},
		{"no last name", func(v url.Values) { v.Del("last_name") }, "last_name", "This field is required."},
		{"overlong name", func(v url.Values) { v.Set("last_name", strings.Repeat("a", 101)) }, "last_name", "Keep it under 100 characters."},
		{"no email", func(v url.Values) { v.Set("email", "") }, "email", "This field is required."},
		{"email without domain dot", func(v url.Values) { v.Set("email", "erika@localhost") }, "email", "Enter a valid email address, like name@example.com."},
		{"email with a name", func(v url.Values) { v.Set("email", "Erika <erika@example.com>") }, "email", "Enter a valid email address, like name@example.com."},
		{"no start", func(v url.Values) { v.Set("start_date", "") }, "start_date", "This field is required."},
		{"not a date", func(v url.Values) { v.Set("start_date", "2027-02-29") }, "start_date", "Enter a real date (YYYY-MM-DD)."},
		{"past start", func(v url.Values) { v.Set("start_date", yesterday) }, "start_date", "Cover cannot start in the past for this variant."},
		{"no VIN", func(v url.Values) { v.Set("vin", "") }, "vin", "This field is required."},
		{"short VIN", func(v url.Values) { v.Set("vin", "WVWZZZ1KZ8W00616") }, "vin", "A VIN has 17 characters; this one has 16."},
		{"VIN with O", func(v url.Values) { v.Set("vin", "WVWZZZ1KZ8WO06165") }, "vin", "A VIN has only digits and capital letters, never I, O or Q."},
		{"VIN check digit", func(v url.Values) { v.Set("vin", "1M8GDM9A1KP042788") }, "vin", "The check digit (9th character) does not match: there is a typo in this VIN."},
		{"bad metadata key", func(v url.Values) { v["meta_key"] = []string{"Bad Key"} }, "metadata", "Metadata keys are lower-case letters, digits and _, starting with a letter (not “Bad Key”)."},
		{"reserved metadata key", func(v url.Values) { v["meta_key"] = []string{"push_reference"} }, "metadata", "push_reference is set by the insurer; choose another key."},
		{"metadata key twice", func(v url.Values) {
			v["meta_key"] = []string{"crm_id", "crm_id"}
			v["meta_value"] = []string{"a", "b"}
		}, "metadata", "The key “crm_id” appears twice."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			form := pushValues(token)
			tt.change(form)
			r := b.Post("/policies/new", form)
			if r.Status != http.StatusUnprocessableEntity {
				t.Fatalf("status = %d, want 422\n%.500s", r.Status, r.Body)
			}
			if got := webtest.Text(r.Doc.Find(`[data-testid="error-` + tt.wantField + `"]`)); got != tt.wantError {
				t.Errorf("%s error = %q, want %q", tt.wantField, got, tt.wantError)
			}
			if n := r.Doc.Find(`p.error`).Length(); n != 1 {
				t.Errorf("%d errors shown, want 1", n)
			}
			// Everything typed stays.
			for _, f := range []string{"first_name", "last_name", "email", "start_date"} {
				if got := r.Doc.Find(`input[name="`+f+`"]`).AttrOr("value", ""); got != strings.TrimSpace(form.Get(f)) {
					t.Errorf("%s kept as %q, want %q", f, got, form.Get(f))
				}
			}
		})
	}
	// Lower case and spaces in a VIN are fine: it is normalized.
	form := pushValues(token)
	form.Set("vin", " wvwzzz1kz8-w006165 ")
	form.Set("start_date", "2020-01-01")
	form.Set("variant_id", backdatedVariant)
	r := b.Post("/policies/new", form)
	if r.Doc.Find(`[data-testid="error-vin"], [data-testid="error-start_date"]`).Length() != 0 {
		t.Errorf("normalized VIN or backdated start refused: %s", webtest.Text(r.Doc.Find(`p.error`)))
	}
	if n := srv.Upstream.Sandbox.Calls(sandbox.RoutePush); n != 1 {
		t.Errorf("push calls = %d, want only the last, valid form's", n)
	}
}

func TestNewPolicyCreated(t *testing.T) {
	t.Parallel()
	srv := newCancelServer(t, sandbox.Options{})
	b := srv.SignedIn(t, sandbox.KeyASecretTest)
	r := b.Post("/policies/new", pushValues(newPushForm(t, b)))
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/pushes/") {
		t.Fatalf("create = %d to %q, want 303 to the result", r.Status, r.Header.Get("Location"))
	}
	ref := strings.TrimPrefix(r.Header.Get("Location"), "/pushes/")
	res := b.Page(t, r.Header.Get("Location"), http.StatusOK)
	if mode := res.Doc.Find(`[data-testid="push-result"]`).AttrOr("data-mode", ""); mode != "created" {
		t.Fatalf("result mode = %q, want created", mode)
	}
	if got := webtest.Text(res.Doc.Find(`[data-testid="push-reference"]`)); got != ref {
		t.Errorf("reference shown = %q, want %q", got, ref)
	}
	link := res.Doc.Find(`[data-testid="push-policy-link"]`).AttrOr("href", "")
	if !strings.HasPrefix(link, "/policies/tpol_") {
		t.Fatalf("policy link = %q", link)
	}
	d := b.Page(t, link, http.StatusOK)
	if got := webtest.Text(d.Doc.Find(".subtitle")); !strings.HasPrefix(got, "Erika Mustermann") {
		t.Errorf("created policy holder = %q", got)
	}
	if !strings.Contains(d.Body, "CRM-42") || !strings.Contains(d.Body, ref) {
		t.Error("the created policy lacks its metadata or push reference")
	}
	list := b.Page(t, "/policies?sort=-created_at", http.StatusOK)
	if got := webtest.Text(list.Doc.Find(`[data-testid="policy-row"]`).First().Find("td").Eq(1)); got != "Erika Mustermann" {
		t.Errorf("newest policy in the list = %q", got)
	}
	e := srv.AuditEntries(t)
	if len(e) != 1 || e[0].Action != audit.ActionCreate || e[0].Outcome != audit.OutcomeCompleted || e[0].Reference != ref ||
		e[0].VariantID != sandbox.ARAGVariantID || e[0].Holder != "Erika Mustermann" || e[0].UpstreamStatus != 200 || e[0].UpstreamRequestID == "" || e[0].Actor != "sk_test_…PSIA" {
		t.Errorf("audit = %+v", e)
	}
	// An unknown reference: not in the list (yet), says so and offers to look again.
	p := b.Page(t, "/pushes/97c3b16c-f2d1-11e6-88ad-59f2b961d2ab", http.StatusOK)
	if p.Doc.Find(`[data-testid="push-result"]`).AttrOr("data-mode", "") != "pending" || p.Doc.Find(`[data-testid="push-look-again"]`).Length() != 1 {
		t.Errorf("unknown reference page:\n%.500s", p.Body)
	}
	b.Page(t, "/pushes/not-a-uuid", http.StatusNotFound)
}

func TestNewPolicyOnce(t *testing.T) {
	t.Parallel()
	srv := newCancelServer(t, sandbox.Options{})
	b := srv.SignedIn(t, sandbox.KeyASecretTest)
	token := newPushForm(t, b)
	var wg sync.WaitGroup
	answers := make([]webtest.Response, 4)
	for i := range answers {
		wg.Go(func() { answers[i] = b.Post("/policies/new", pushValues(token)) })
	}
	wg.Wait()
	for i, a := range answers {
		if a.Status != http.StatusSeeOther || a.Header.Get("Location") != answers[0].Header.Get("Location") {
			t.Errorf("answer %d = %d %q, want the first one's", i, a.Status, a.Header.Get("Location"))
		}
	}
	if again := b.Post("/policies/new", pushValues(token)); again.Header.Get("Location") != answers[0].Header.Get("Location") {
		t.Errorf("resubmit after Back went to %q", again.Header.Get("Location"))
	}
	if n := srv.Upstream.Sandbox.Calls(sandbox.RoutePush); n != 1 {
		t.Errorf("push calls = %d, want 1", n)
	}
	// Another sign-in cannot use this form.
	other := srv.SignedIn(t, sandbox.KeyBSecretTest)
	checkErrorPage(t, other.Post("/policies/new", pushValues(token)), http.StatusConflict, "This form has expired or was opened by another sign-in. Open a new one.")
}

func TestNewPolicyUpstreamOutcomes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		faults     sandbox.Faults
		variant    string
		wantStatus int
		wantField  string // where the message lands; "" = at the top
		wantText   string
		wantAudit  string
	}{
		{"400 on the field", sandbox.Faults{RejectPushes: 400}, sandbox.ARAGVariantID, 422, "vin", "The insurer refused this: Bad Request: The 'vin' field is required.", audit.OutcomeRejected},
		{"400 without a field", sandbox.Faults{RejectPushes: 400, RejectPushMessage: "Invalid JSON."}, sandbox.ARAGVariantID, 422, "", "The insurer refused this: Bad Request: Invalid JSON.", audit.OutcomeRejected},
		{"401", sandbox.Faults{RejectPushes: 401}, sandbox.ARAGVariantID, 502, "", "The push API refused your key.", audit.OutcomeRejected},
		{"404 unknown variant", sandbox.Faults{}, backdatedVariant, 502, "", "The push API answered “not found”", audit.OutcomeRejected},
		{"5xx", sandbox.Faults{ErrorRate: 1}, sandbox.ARAGVariantID, 502, "", "not known whether the policy was created", audit.OutcomeUnknown},
		{"timeout", sandbox.Faults{Latency: time.Second}, sandbox.ARAGVariantID, 502, "", "not known whether the policy was created", audit.OutcomeUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newCancelServer(t, sandbox.Options{})
			b := srv.SignedIn(t, sandbox.KeyASecretTest)
			form := pushValues(newPushForm(t, b))
			form.Set("variant_id", tt.variant)
			srv.Upstream.Sandbox.SetFaults(tt.faults)
			r := b.Post("/policies/new", form)
			if r.Status != tt.wantStatus {
				t.Fatalf("status = %d, want %d\n%.600s", r.Status, tt.wantStatus, r.Body)
			}
			where := `[data-testid="alert"], [data-testid="push-result"]`
			if tt.wantField != "" {
				where = `[data-testid="error-` + tt.wantField + `"]`
			}
			if got := webtest.Text(r.Doc.Find(where)); !strings.Contains(got, tt.wantText) {
				t.Errorf("message = %q, want %q", got, tt.wantText)
			}
			if tt.wantAudit == audit.OutcomeRejected {
				if got := r.Doc.Find(`input[name="email"]`).AttrOr("value", ""); got != "erika@example.com" {
					t.Errorf("typed email lost: %q", got)
				}
				if !strings.Contains(r.Body, "req_") {
					t.Error("the upstream request id is not shown")
				}
			}
			e := srv.AuditEntries(t)
			if len(e) != 1 || e[0].Outcome != tt.wantAudit || e[0].Action != audit.ActionCreate || e[0].VariantID != tt.variant {
				t.Errorf("audit = %+v", e)
			}
		})
	}
}

func TestNewPolicyUnknownOutcomeIsChecked(t *testing.T) {
	t.Parallel()
	for _, created := range []bool{false, true} {
		t.Run(map[bool]string{false: "not created", true: "created"}[created], func(t *testing.T) {
			t.Parallel()
			// Upstream calls time out after 1 s: the creation's, slowed to
			// 1.5 s, does; the check's reads (pages of 100 policies) do not,
			// even under the race detector on a loaded machine (they did at
			// 300 ms).
			srv := webtest.NewServer(t, webtest.Options{Sandbox: sandbox.Options{Policies: 60}, UpstreamTimeout: time.Second})
			b := srv.SignedIn(t, sandbox.KeyASecretTest)
			form := pushValues(newPushForm(t, b))
			// A timeout: the sandbox still creates the policy after the
			// dashboard gave up; a 5xx creates nothing.
			faults := sandbox.Faults{ErrorRate: 1}
			if created {
				faults = sandbox.Faults{Latency: 1500 * time.Millisecond}
			}
			srv.Upstream.Sandbox.SetFaults(faults)
			r := b.Post("/policies/new", form)
			check := r.Doc.Find(`[data-testid="push-check"]`).AttrOr("href", "")
			if r.Status != http.StatusBadGateway || check == "" {
				t.Fatalf("unknown outcome = %d, check link %q", r.Status, check)
			}
			if r.Doc.Find(`[data-testid="push-submit"]`).Length() != 0 {
				t.Error("an unknown outcome invites sending the form again")
			}
			srv.Upstream.Sandbox.SetFaults(sandbox.Faults{})
			if created {
				// The late creation lands half a second after the
				// dashboard gave up; until then the check finds none.
				for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
					c := b.Get(check)
					if c.Status == http.StatusSeeOther && strings.HasPrefix(c.Header.Get("Location"), "/pushes/") {
						break
					}
					if time.Now().After(deadline) {
						t.Fatalf("check = %d to %q, want the created policy's result", c.Status, c.Header.Get("Location"))
					}
				}
				return
			}
			c := b.Get(check)
			if c.Status != http.StatusOK || !strings.Contains(webtest.Text(c.Doc.Find(`[data-testid="alert"]`)), "it was not created") {
				t.Fatalf("check = %d\n%.500s", c.Status, c.Body)
			}
			// The same input comes back on a fresh form, ready to send.
			if got := c.Doc.Find(`input[name="vin"]`).AttrOr("value", ""); got != validVIN {
				t.Errorf("VIN kept = %q", got)
			}
			again := pushValues(c.Doc.Find(`input[name="token"]`).AttrOr("value", ""))
			if r := b.Post("/policies/new", again); r.Status != http.StatusSeeOther {
				t.Errorf("sending again = %d, want 303", r.Status)
			}
		})
	}
}
