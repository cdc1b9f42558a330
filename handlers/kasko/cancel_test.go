package kasko_test

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"backoffice/internal/audit"
	"backoffice/internal/sandbox"
	"backoffice/web/webtest"
)

const cancelPath = fixturePath + "/cancel"

// openCancelForm opens the cancel form of path's policy and returns its
// one-time token.
func openCancelForm(t *testing.T, b *webtest.Browser, policyPath string) string {
	t.Helper()
	r := b.Page(t, policyPath+"/cancel", http.StatusOK)
	token := r.Doc.Find(`[data-testid="cancel-form"] input[name="token"]`).AttrOr("value", "")
	if token == "" {
		t.Fatalf("no token in the cancel form:\n%.600s", r.Body)
	}
	return token
}

// cancelForm is a complete, valid cancel submission for the fixture.
func cancelForm(token, step string) url.Values {
	return url.Values{"token": {token}, "step": {step}, "reason": {"customer_request"}, "reason_text": {"moved abroad"}, "termination_date": {"2026-12-01"}}
}

// newCancelServer is a dashboard whose upstream calls time out after
// 800 ms: a sandbox slowed to a second (its latency fault) times out,
// while ordinary calls under the race detector on a loaded CI machine
// (which took over 300 ms) do not.
func newCancelServer(t *testing.T, opts sandbox.Options) *webtest.Server {
	t.Helper()
	if opts.Policies == 0 {
		opts.Policies = 60
	}
	return webtest.NewServer(t, webtest.Options{Sandbox: opts, UpstreamTimeout: 800 * time.Millisecond})
}

func TestCancelButtonOnlyWhereItCanWork(t *testing.T) {
	t.Parallel()
	srv := newCancelServer(t, sandbox.Options{})
	staff := srv.SignedIn(t, sandbox.KeyASecretTest)
	reader := srv.SignedIn(t, sandbox.KeyAPublicTest)
	tests := []struct {
		name        string
		b           *webtest.Browser
		path        string
		wantButton  bool
		wantBlocked string
	}{
		{"staff, paid policy", staff, fixturePath, true, ""},
		{"staff, cancelled policy", staff, "/policies/" + sandbox.FixtureCancelledID, false, "This policy is already cancelled."},
		{"staff, expired policy", staff, "/policies/" + sandbox.FixtureExpiredID, false, "This policy has expired and can no longer be cancelled."},
		{"read-only", reader, fixturePath, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.b.Page(t, tt.path, http.StatusOK)
			button := r.Doc.Find(`[data-testid="cancel-open"]`)
			if got := button.Length() == 1; got != tt.wantButton {
				t.Errorf("cancel button shown = %v, want %v", got, tt.wantButton)
			}
			if tt.wantButton && (button.AttrOr("href", "") != tt.path+"/cancel" || button.AttrOr("hx-get", "") != tt.path+"/cancel") {
				t.Errorf("cancel button goes to %q / %q", button.AttrOr("href", ""), button.AttrOr("hx-get", ""))
			}
			if got := webtest.Text(r.Doc.Find(`[data-testid="cancel-blocked"]`)); got != tt.wantBlocked {
				t.Errorf("blocked reason = %q, want %q", got, tt.wantBlocked)
			}
		})
	}
}

func TestCancelFormAndReview(t *testing.T) {
	t.Parallel()
	srv := newCancelServer(t, sandbox.Options{})
	b := srv.SignedIn(t, sandbox.KeyASecretTest)

	// The form, on its own page and as an htmx fragment.
	r := b.Page(t, cancelPath, http.StatusOK)
	if r.Doc.Find(`select[name="reason"] option`).Length() != 7 || r.Doc.Find(`input[name="termination_date"][type="date"]`).Length() != 1 {
		t.Error("the form lacks the reason list or the date field")
	}
	if min := r.Doc.Find(`input[name="termination_date"]`).AttrOr("min", ""); min == "" {
		t.Error("the date field has no lower bound (cover start)")
	}
	if label := webtest.Text(r.Doc.Find(`label[for="cancel-date"]`)); !strings.Contains(label, "Europe/Riga") {
		t.Errorf("date label = %q, want the policy's zone named", label)
	}
	frag := b.Page(t, cancelPath, http.StatusOK, "HX-Request", "true", "HX-Target", "cancel-panel")
	if frag.Doc.Find("header.site-header").Length() != 0 || frag.Doc.Find(`[data-testid="cancel-form"]`).Length() != 1 {
		t.Error("the htmx answer is not the panel alone")
	}
	token := openCancelForm(t, b, fixturePath)

	tests := []struct {
		name          string
		change        func(url.Values)
		wantStatus    int
		wantMode      string
		wantReasonErr string
		wantDateErr   string
		wantWarning   string
	}{
		{"no reason", func(v url.Values) { v.Set("reason", "") }, 422, "form", "Choose a reason.", "", ""},
		{"unknown reason", func(v url.Values) { v.Set("reason", "bored") }, 422, "form", "Choose a reason.", "", ""},
		{"other without text", func(v url.Values) { v.Set("reason", "other"); v.Set("reason_text", " ") }, 422, "form", "Describe the reason.", "", ""},
		{"overlong text", func(v url.Values) { v.Set("reason_text", strings.Repeat("x", 501)) }, 422, "form", "Keep the details under 500 characters.", "", ""},
		{"no date", func(v url.Values) { v.Set("termination_date", "") }, 422, "form", "", "This field is required.", ""},
		{"not a date", func(v url.Values) { v.Set("termination_date", "2026-02-30") }, 422, "form", "", "Enter a real date (YYYY-MM-DD).", ""},
		{"other format", func(v url.Values) { v.Set("termination_date", "01.12.2026") }, 422, "form", "", "Enter a real date (YYYY-MM-DD).", ""},
		{"before cover start", func(v url.Values) { v.Set("termination_date", "2020-01-01") }, 422, "form", "", "The termination date cannot be before the cover starts (Jul 28, 2026).", ""},
		{"valid", func(url.Values) {}, 200, "review", "", "", ""},
		{"after cover end warns", func(v url.Values) { v.Set("termination_date", "2031-01-01") }, 200, "review", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			form := cancelForm(token, "review")
			tt.change(form)
			r := b.Post(cancelPath, form)
			if r.Status != tt.wantStatus {
				t.Fatalf("status = %d, want %d\n%.600s", r.Status, tt.wantStatus, r.Body)
			}
			if mode := r.Doc.Find(`[data-mode]`).AttrOr("data-mode", ""); mode != tt.wantMode {
				t.Errorf("mode = %q, want %q", mode, tt.wantMode)
			}
			if got := webtest.Text(r.Doc.Find(`[data-testid="reason-error"]`)); got != tt.wantReasonErr {
				t.Errorf("reason error = %q, want %q", got, tt.wantReasonErr)
			}
			if got := webtest.Text(r.Doc.Find(`[data-testid="date-error"]`)); got != tt.wantDateErr {
				t.Errorf("date error = %q, want %q", got, tt.wantDateErr)
			}
			if got := webtest.Text(r.Doc.Find(`[data-testid="date-warning"]`)); got != tt.wantWarning {
				t.Errorf("date warning = %q, want %q", got, tt.wantWarning)
			}
			// Everything typed comes back, in the form or the review.
			if tt.wantMode == "form" {
				if got := r.Doc.Find(`textarea[name="reason_text"]`).Text(); got != strings.TrimSpace(form.Get("reason_text")) {
					t.Errorf("reason text kept = %q, want %q", got, form.Get("reason_text"))
				}
				if got := r.Doc.Find(`input[name="termination_date"]`).AttrOr("value", "?"); got != form.Get("termination_date") {
					t.Errorf("date kept = %q, want %q", got, form.Get("termination_date"))
				}
			} else if got := r.Doc.Find(`input[name="termination_date"][type="hidden"]`).AttrOr("value", ""); got != form.Get("termination_date") {
				t.Errorf("review carries date %q, want %q", got, form.Get("termination_date"))
			}
		})
	}
	if n := srv.Upstream.Sandbox.Calls(sandbox.RouteCancelPolicy); n != 0 {
		t.Errorf("reviewing sent %d cancel requests, want none", n)
	}
}

func TestCancelReviewSaysWhatWillHappen(t *testing.T) {
	t.Parallel()
	srv := newCancelServer(t, sandbox.Options{})
	b := srv.SignedIn(t, sandbox.KeyASecretTest)
	token := openCancelForm(t, b, fixturePath)
	form := cancelForm(token, "review")
	form.Set("termination_date", "2031-01-01")
	r := b.Post(cancelPath, form)
	want := "Policy TEST-TESTE76R4R7D of Jānis Bērziņš will be cancelled with effect from Jan 1, 2031 (Europe/Riga)."
	if got := webtest.Text(r.Doc.Find(`[data-testid="cancel-summary"]`)); got != want {
		t.Errorf("summary = %q\nwant %q", got, want)
	}
	if got := webtest.Text(r.Doc.Find(`[data-testid="review-reason"]`)); got != "Customer request : moved abroad" && got != "Customer request: moved abroad" {
		t.Errorf("review reason = %q", got)
	}
	if r.Doc.Find(`input[name="confirm_id"]`).Length() != 0 {
		t.Error("a test key is asked to type the policy id")
	}
	// The fixture has no end date; a later date warns only where one exists.
	if got := webtest.Text(r.Doc.Find(`[data-testid="date-warning"]`)); got != "" {
		t.Errorf("warning = %q for a policy without an end date", got)
	}
}

func TestCancelToCompleted(t *testing.T) {
	t.Parallel()
	srv := newCancelServer(t, sandbox.Options{})
	b := srv.SignedIn(t, sandbox.KeyASecretTest)
	token := openCancelForm(t, b, fixturePath)

	r := b.Post(cancelPath, cancelForm(token, "confirm"))
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), cancelPath+"/progress?version=tpv_") {
		t.Fatalf("confirm = %d to %q, want 303 to the progress page", r.Status, r.Header.Get("Location"))
	}
	entries := srv.AuditEntries(t)
	if len(entries) != 1 {
		t.Fatalf("audit entries after confirm = %d, want 1", len(entries))
	}
	acc := entries[0]
	if acc.Outcome != audit.OutcomeAccepted || acc.UpstreamStatus != 202 || acc.UpstreamRequestID == "" || acc.Actor != "sk_test_…PSIA" ||
		acc.PolicyID != sandbox.FixturePolicyID || acc.InsurerPolicyID != sandbox.FixtureInsurerPolicyID || acc.VersionID != sandbox.FixtureVersionID ||
		acc.NewVersionID == "" || acc.Reason != "Customer request: moved abroad" || acc.TerminationDate != "2026-12-01" || acc.Mode != "test" {
		t.Errorf("accepted entry = %+v", acc)
	}

	// The sandbox completes at the next request: progress sends the
	// browser to the policy, which is now cancelled.
	p := b.Get(r.Header.Get("Location"))
	if p.Status != http.StatusSeeOther || p.Header.Get("Location") != fixturePath {
		t.Fatalf("progress = %d to %q, want 303 to the policy", p.Status, p.Header.Get("Location"))
	}
	d := b.Page(t, fixturePath, http.StatusOK)
	if got := webtest.Text(d.Doc.Find(`[data-testid="status"]`)); got != "cancelled" {
		t.Errorf("status after completion = %q", got)
	}
	if got := webtest.Text(d.Doc.Find(`[data-testid="notice"]`)); !strings.HasPrefix(got, "Cancellation of TEST-TESTE76R4R7D completed.") {
		t.Errorf("notice = %q", got)
	}
	if !strings.Contains(webtest.Text(d.Doc.Find(`#sec-ids`).Parent()), acc.NewVersionID) {
		t.Error("the detail does not show the new version")
	}
	if n := d.Doc.Find(`[data-testid="timeline"] [data-testid="audit-entry"]`).Length(); n != 2 {
		t.Errorf("the policy's history lists %d entries, want 2 (accepted, completed)", n)
	}
	if again := b.Page(t, fixturePath, http.StatusOK); again.Doc.Find(`[data-testid="notice"]`).Length() != 0 {
		t.Error("the notice shows twice")
	}
	entries = srv.AuditEntries(t)
	if len(entries) != 2 || entries[0].Outcome != audit.OutcomeCompleted || entries[0].NewVersionID != acc.NewVersionID || entries[0].UpstreamRequestID == "" {
		t.Errorf("audit after completion = %+v", entries)
	}
	if n := srv.Upstream.Sandbox.Calls(sandbox.RouteCancelPolicy); n != 1 {
		t.Errorf("cancel requests = %d, want 1", n)
	}
}

func TestCancelToFailed(t *testing.T) {
	t.Parallel()
	srv := newCancelServer(t, sandbox.Options{Faults: sandbox.Faults{FailCancellations: true}})
	b := srv.SignedIn(t, sandbox.KeyASecretTest)
	token := openCancelForm(t, b, fixturePath)
	// With htmx the answer is the progress panel, or the move to the policy.
	r := b.Post(cancelPath, cancelForm(token, "confirm"), "HX-Request", "true", "HX-Target", "cancel-panel")
	if r.Status != http.StatusNoContent || r.Header.Get("HX-Redirect") != fixturePath {
		t.Fatalf("confirm = %d, HX-Redirect %q, want the policy", r.Status, r.Header.Get("HX-Redirect"))
	}
	d := b.Page(t, fixturePath, http.StatusOK)
	if got := webtest.Text(d.Doc.Find(`[data-testid="notice"]`)); !strings.HasPrefix(got, "Cancellation of TEST-TESTE76R4R7D failed: The insurer rejected the cancellation") {
		t.Errorf("notice = %q", got)
	}
	if got := webtest.Text(d.Doc.Find(`[data-testid="status"]`)); got != "paid" {
		t.Errorf("status after failure = %q, want paid", got)
	}
	if d.Doc.Find(`[data-testid="cancel-open"]`).Length() != 1 {
		t.Error("after a failure the policy cannot be cancelled again")
	}
	entries := srv.AuditEntries(t)
	if len(entries) != 2 || entries[0].Outcome != audit.OutcomeFailed || !strings.Contains(entries[0].Message, "rejected") || entries[1].Outcome != audit.OutcomeAccepted {
		t.Errorf("audit = %+v", entries)
	}
}

func TestCancelUpstreamRejections(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		reject      int
		wantStatus  int
		wantMode    string
		wantMessage string // prefix of the panel's message or field error
	}{
		{"400 on the field", 400, 422, "form", "The insurer refused this: The termination_date field must be a date in ISO format."},
		{"409 in progress", 409, 409, "watch", "Another change to this policy has been in progress since "},
		{"412 changed", 412, 412, "review", "The policy was changed by someone else since you opened the form."},
		{"422 explained", 422, 422, "blocked", "The insurer refused to cancel this policy."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newCancelServer(t, sandbox.Options{})
			b := srv.SignedIn(t, sandbox.KeyASecretTest)
			token := openCancelForm(t, b, fixturePath)
			srv.Upstream.Sandbox.SetFaults(sandbox.Faults{RejectCancellations: tt.reject})
			r := b.Post(cancelPath, cancelForm(token, "confirm"))
			if r.Status != tt.wantStatus {
				t.Fatalf("status = %d, want %d\n%.600s", r.Status, tt.wantStatus, r.Body)
			}
			if mode := r.Doc.Find(`[data-mode]`).AttrOr("data-mode", ""); mode != tt.wantMode {
				t.Errorf("mode = %q, want %q", mode, tt.wantMode)
			}
			msg := webtest.Text(r.Doc.Find(`[data-testid="cancel-message"], [data-testid="date-error"]`))
			if !strings.HasPrefix(msg, tt.wantMessage) {
				t.Errorf("message = %q, want %q…", msg, tt.wantMessage)
			}
			if !strings.Contains(r.Body, "req_") {
				t.Error("the upstream request id is not shown")
			}
			entries := srv.AuditEntries(t)
			if len(entries) != 1 || entries[0].Outcome != audit.OutcomeRejected || entries[0].UpstreamStatus != tt.reject || entries[0].UpstreamRequestID == "" || entries[0].Message == "" {
				t.Errorf("audit = %+v", entries)
			}
			switch tt.reject {
			case 400:
				if got := r.Doc.Find(`textarea[name="reason_text"]`).Text(); got != "moved abroad" {
					t.Errorf("typed reason lost: %q", got)
				}
			case 409:
				if poll := r.Doc.Find(`[hx-trigger^="every"]`).AttrOr("hx-get", ""); poll != cancelPath+"/progress?watch=1" {
					t.Errorf("the panel polls %q, want the policy's state", poll)
				}
			case 412:
				// A fresh form against the version upstream has now; once the
				// conflict is gone, confirming again goes through.
				next := r.Doc.Find(`input[name="token"]`).AttrOr("value", "")
				if next == "" || next == token {
					t.Fatalf("412 offers token %q, want a new one", next)
				}
				srv.Upstream.Sandbox.SetFaults(sandbox.Faults{})
				again := b.Post(cancelPath, cancelForm(next, "confirm"))
				if again.Status != http.StatusSeeOther {
					t.Errorf("confirming again = %d, want 303", again.Status)
				}
			}
		})
	}
}

func TestCancelNotFoundUnknownAndTimeout(t *testing.T) {
	t.Parallel()
	t.Run("404", func(t *testing.T) {
		t.Parallel()
		srv := newCancelServer(t, sandbox.Options{})
		b := srv.SignedIn(t, sandbox.KeyASecretTest)
		token := openCancelForm(t, b, fixturePath)
		srv.Upstream.Sandbox.SetFaults(sandbox.Faults{RejectCancellations: 404})
		r := b.Post(cancelPath, cancelForm(token, "confirm"))
		checkErrorPage(t, r, http.StatusNotFound, "There is nothing at this address. It may have been removed, or the link is wrong.")
		if e := srv.AuditEntries(t); len(e) != 1 || e[0].Outcome != audit.OutcomeRejected || e[0].UpstreamStatus != 404 {
			t.Errorf("audit = %+v", e)
		}
	})
	t.Run("5xx", func(t *testing.T) {
		t.Parallel()
		srv := newCancelServer(t, sandbox.Options{})
		b := srv.SignedIn(t, sandbox.KeyASecretTest)
		token := openCancelForm(t, b, fixturePath)
		srv.Upstream.Sandbox.SetFaults(sandbox.Faults{ErrorRate: 1})
		r := b.Post(cancelPath, cancelForm(token, "confirm"))
		if r.Status != http.StatusBadGateway || r.Doc.Find(`[data-mode]`).AttrOr("data-mode", "") != "watch" {
			t.Fatalf("status %d mode %q, want 502 watch", r.Status, r.Doc.Find(`[data-mode]`).AttrOr("data-mode", ""))
		}
		if msg := webtest.Text(r.Doc.Find(`[data-testid="cancel-progress"]`)); !strings.Contains(msg, "not known whether the cancellation went through") {
			t.Errorf("message = %q", msg)
		}
		if r.Doc.Find(`button[value="confirm"]`).Length() != 0 {
			t.Error("an unknown outcome invites a blind retry")
		}
		if e := srv.AuditEntries(t); len(e) != 1 || e[0].Outcome != audit.OutcomeUnknown || e[0].UpstreamStatus < 500 {
			t.Errorf("audit = %+v", e)
		}
		// The upstream recovers: the watch finds the policy untouched.
		srv.Upstream.Sandbox.SetFaults(sandbox.Faults{})
		w := b.Page(t, cancelPath+"/progress?watch=1", http.StatusOK)
		if msg := webtest.Text(w.Doc.Find(`[data-testid="cancel-message"]`)); !strings.HasPrefix(msg, "No change is in progress and the policy is not cancelled.") {
			t.Errorf("watch message = %q", msg)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		t.Parallel()
		srv := newCancelServer(t, sandbox.Options{})
		b := srv.SignedIn(t, sandbox.KeyASecretTest)
		token := openCancelForm(t, b, fixturePath)
		srv.Upstream.Sandbox.SetFaults(sandbox.Faults{Latency: time.Second})
		r := b.Post(cancelPath, cancelForm(token, "confirm"))
		if r.Status != http.StatusBadGateway || r.Doc.Find(`[data-mode]`).AttrOr("data-mode", "") != "watch" {
			t.Fatalf("status %d mode %q, want 502 watch", r.Status, r.Doc.Find(`[data-mode]`).AttrOr("data-mode", ""))
		}
		if e := srv.AuditEntries(t); len(e) != 1 || e[0].Outcome != audit.OutcomeUnknown || e[0].UpstreamStatus != 0 {
			t.Errorf("audit = %+v", e)
		}
	})
}

func TestCancelSendsOncePerForm(t *testing.T) {
	t.Parallel()
	srv := newCancelServer(t, sandbox.Options{CancelDelay: time.Hour})
	b := srv.SignedIn(t, sandbox.KeyASecretTest)
	token := openCancelForm(t, b, fixturePath)
	// A colleague with the same key opened the form too, before.
	colleague := srv.SignedIn(t, sandbox.KeyASecretTest)
	colleagueToken := openCancelForm(t, colleague, fixturePath)
	// A double click: two submits of one form at once.
	var wg sync.WaitGroup
	answers := make([]webtest.Response, 4)
	for i := range answers {
		wg.Go(func() { answers[i] = b.Post(cancelPath, cancelForm(token, "confirm")) })
	}
	wg.Wait()
	for i, a := range answers {
		if a.Status != answers[0].Status || a.Header.Get("Location") != answers[0].Header.Get("Location") {
			t.Errorf("answer %d = %d %q, want the first one's %d %q", i, a.Status, a.Header.Get("Location"), answers[0].Status, answers[0].Header.Get("Location"))
		}
	}
	// Back and submit again, later: the same answer, no new request.
	if again := b.Post(cancelPath, cancelForm(token, "confirm")); again.Header.Get("Location") != answers[0].Header.Get("Location") {
		t.Errorf("resubmit went to %q", again.Header.Get("Location"))
	}
	if n := srv.Upstream.Sandbox.Calls(sandbox.RouteCancelPolicy); n != 1 {
		t.Errorf("cancel requests upstream = %d, want 1", n)
	}
	if e := srv.AuditEntries(t); len(e) != 1 {
		t.Errorf("audit entries = %d, want 1", len(e))
	}

	// Meanwhile, every page says so, and the policy offers to follow it.
	list := b.Page(t, "/policies", http.StatusOK)
	if got := webtest.Text(list.Doc.Find(`[data-testid="ops-badge"]`)); got != "1 cancellation in progress" {
		t.Errorf("header badge = %q", got)
	}
	d := b.Page(t, fixturePath, http.StatusOK)
	if d.Doc.Find(`[data-testid="cancel-follow"]`).Length() != 1 || d.Doc.Find(`[data-testid="cancel-open"]`).Length() != 0 {
		t.Error("the policy page does not follow the running cancellation")
	}
	badge := b.Get("/operations", "HX-Request", "true", "HX-Target", "ops-badge")
	if got := webtest.Text(badge.Doc.Find(`#ops-badge`)); got != "1 cancellation in progress" {
		t.Errorf("polled badge = %q", got)
	}
	// A colleague signed in elsewhere meets the upstream's 409, and the
	// panel follows the running change.
	r := colleague.Post(cancelPath, cancelForm(colleagueToken, "confirm"))
	if r.Status != http.StatusConflict || r.Doc.Find(`[data-mode]`).AttrOr("data-mode", "") != "watch" {
		t.Fatalf("colleague's cancel = %d, want 409 with the watch panel\n%.500s", r.Status, r.Body)
	}
	if msg := webtest.Text(r.Doc.Find(`[data-testid="cancel-progress"]`)); !strings.Contains(msg, "in progress since") {
		t.Errorf("409 message = %q", msg)
	}
	w := colleague.Page(t, cancelPath+"/progress?watch=1", http.StatusOK)
	if msg := webtest.Text(w.Doc.Find(`[data-testid="cancel-progress"]`)); !strings.Contains(msg, "being changed") {
		t.Errorf("watch while locked = %q", msg)
	}
}

func TestCancelTwoTabsSeeTheChange(t *testing.T) {
	t.Parallel()
	srv := newCancelServer(t, sandbox.Options{})
	b := srv.SignedIn(t, sandbox.KeyASecretTest)
	first := openCancelForm(t, b, fixturePath)
	// Two tabs of one session share the open form: the second tab's
	// submission is the same one.
	if again := openCancelForm(t, b, fixturePath); again != first {
		t.Errorf("a second tab opened token %q, want the open form's %q", again, first)
	}
	// A colleague's session (the same key, elsewhere) has a form of its
	// own, opened on the version before the change.
	colleague := srv.SignedIn(t, sandbox.KeyASecretTest)
	second := openCancelForm(t, colleague, fixturePath)
	r := b.Post(cancelPath, cancelForm(first, "confirm"))
	b.Get(r.Header.Get("Location")) // completes
	stale := colleague.Post(cancelPath, cancelForm(second, "confirm"))
	if stale.Status != http.StatusPreconditionFailed {
		t.Fatalf("second tab = %d, want 412\n%.500s", stale.Status, stale.Body)
	}
	changed := map[string][2]string{}
	stale.Doc.Find(`[data-testid="cancel-diff"] tbody tr`).Each(func(_ int, s *goquery.Selection) {
		changed[s.AttrOr("data-field", "")] = [2]string{webtest.Text(s.Find("del")), webtest.Text(s.Find("ins"))}
	})
	if changed["status"] != [2]string{"paid", "cancelled"} {
		t.Errorf("status change = %v, want paid → cancelled (all: %v)", changed["status"], changed)
	}
	if changed["version_id"][0] != sandbox.FixtureVersionID {
		t.Errorf("version change = %v", changed["version_id"])
	}
	if msg := webtest.Text(stale.Doc.Find(`[data-testid="cancel-message"]`)); !strings.Contains(msg, "already cancelled") {
		t.Errorf("message = %q, want it to say the policy is now cancelled", msg)
	}
	if stale.Doc.Find(`button[value="confirm"]`).Length() != 0 {
		t.Error("a cancelled policy is offered another confirmation")
	}
}

func TestCancelRefusals(t *testing.T) {
	t.Parallel()
	srv := newCancelServer(t, sandbox.Options{})
	staff := srv.SignedIn(t, sandbox.KeyASecretTest)
	token := openCancelForm(t, staff, fixturePath)

	reader := srv.SignedIn(t, sandbox.KeyAPublicTest)
	before := srv.Upstream.Sandbox.Calls(sandbox.RouteGetPolicy)
	r := reader.Post(cancelPath, cancelForm(token, "confirm"))
	checkErrorPage(t, r, http.StatusForbidden, "You are signed in with a public key, which can only read. Sign in with a secret key to make changes.")
	reader.Page(t, cancelPath, http.StatusForbidden)
	if n := srv.Upstream.Sandbox.Calls(sandbox.RouteCancelPolicy); n != 0 {
		t.Errorf("a read-only session sent %d cancel requests", n)
	}
	if n := srv.Upstream.Sandbox.Calls(sandbox.RouteGetPolicy) - before; n != 0 {
		t.Errorf("a read-only session made %d upstream reads for a refused action", n)
	}
	if e := srv.AuditEntries(t); len(e) != 1 || e[0].Outcome != audit.OutcomeRefused || e[0].Actor != "pk_test_…7Qjf" && !strings.HasPrefix(e[0].Actor, "pk_test_") {
		t.Errorf("audit = %+v", e)
	}

	// Another staff member cannot use this user's form, nor can a made-up token.
	other := srv.SignedIn(t, sandbox.KeyBSecretTest)
	for _, tok := range []string{token, "made-up", ""} {
		r := other.Post(cancelPath, cancelForm(tok, "confirm"))
		checkErrorPage(t, r, http.StatusConflict, "This cancel form has expired or was opened by another sign-in. Open the policy and start again.")
	}
	// A form posted to another policy's address is refused too.
	r = staff.Post("/policies/"+sandbox.FixtureExpiredID+"/cancel", cancelForm(token, "confirm"))
	checkErrorPage(t, r, http.StatusConflict, "This cancel form has expired or was opened by another sign-in. Open the policy and start again.")
	if n := srv.Upstream.Sandbox.Calls(sandbox.RouteCancelPolicy); n != 0 {
		t.Errorf("refused forms sent %d cancel requests", n)
	}
}

func TestCancelLiveNeedsTypedID(t *testing.T) {
	t.Parallel()
	srv := newCancelServer(t, sandbox.Options{})
	b := srv.SignedIn(t, sandbox.KeyASecretLive)
	livePath := "/policies/" + sandbox.FixtureLiveID
	token := openCancelForm(t, b, livePath)
	form := cancelForm(token, "review")
	form.Set("termination_date", time.Now().AddDate(0, 1, 0).Format(time.DateOnly))
	r := b.Post(livePath+"/cancel", form)
	if r.Doc.Find(`input[name="confirm_id"]`).Length() != 1 {
		t.Fatalf("a live key is not asked to type the policy id\n%.500s", r.Body)
	}
	form.Set("step", "confirm")
	form.Set("confirm_id", "HOME-WRONG")
	r = b.Post(livePath+"/cancel", form)
	if r.Status != http.StatusUnprocessableEntity || webtest.Text(r.Doc.Find(`[data-testid="confirm-error"]`)) != "Type "+sandbox.FixtureLiveInsurerID+" exactly to confirm." {
		t.Errorf("wrong id: %d %q", r.Status, webtest.Text(r.Doc.Find(`[data-testid="confirm-error"]`)))
	}
	if n := srv.Upstream.Sandbox.Calls(sandbox.RouteCancelPolicy); n != 0 {
		t.Errorf("a wrong confirmation sent %d requests", n)
	}
	form.Set("confirm_id", " "+sandbox.FixtureLiveInsurerID+" ")
	if r := b.Post(livePath+"/cancel", form); r.Status != http.StatusSeeOther {
		t.Errorf("right id: %d, want 303", r.Status)
	}
	if e := srv.AuditEntries(t); len(e) != 1 || e[0].Mode != "live" {
		t.Errorf("audit = %+v", e)
	}
}

// TestCancelProgressWhilePending: an accepted cancellation the insurer is
// still working on shows a polling panel, its own page without
// JavaScript, and a line on the operations page.
func TestCancelProgressWhilePending(t *testing.T) {
	t.Parallel()
	srv := newCancelServer(t, sandbox.Options{CancelDelay: time.Hour})
	b := srv.SignedIn(t, sandbox.KeyASecretTest)
	r := b.Post(cancelPath, cancelForm(openCancelForm(t, b, fixturePath), "confirm"))
	progress := r.Header.Get("Location")
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(progress, cancelPath+"/progress?version=") {
		t.Fatalf("confirm = %d to %q", r.Status, progress)
	}

	p := b.Page(t, progress, http.StatusOK)
	if mode := p.Doc.Find(`[data-mode]`).AttrOr("data-mode", ""); mode != "progress" {
		t.Errorf("mode = %q, want progress", mode)
	}
	if got := webtest.Text(p.Doc.Find(`[data-testid="cancel-message"]`)); got != "Cancellation accepted; waiting for the insurer to process it…" {
		t.Errorf("message = %q", got)
	}
	if poll := p.Doc.Find(`[data-testid="cancel-progress"]`).AttrOr("hx-get", ""); poll != progress {
		t.Errorf("the panel polls %q, want %q", poll, progress)
	}
	if p.Doc.Find(`[data-testid="cancel-reload"]`).AttrOr("href", "") != progress {
		t.Error("no plain reload link for browsers without JavaScript")
	}

	// The htmx poll gets the panel and the header badge, out of band.
	hx := b.Page(t, progress, http.StatusOK, "HX-Request", "true", "HX-Target", "cancel-panel")
	if hx.Doc.Find("header.site-header").Length() != 0 {
		t.Error("the poll answered a whole page")
	}
	if badge := hx.Doc.Find(`#ops-badge[hx-swap-oob="true"]`); webtest.Text(badge) != "1 cancellation in progress" {
		t.Errorf("out-of-band badge = %q", webtest.Text(badge))
	}

	ops := b.Page(t, "/operations", http.StatusOK)
	row := ops.Doc.Find(`[data-testid="ops-list"] li`)
	if row.Length() != 1 || !strings.Contains(webtest.Text(row), sandbox.FixtureInsurerPolicyID) || !strings.Contains(webtest.Text(row), "waiting") {
		t.Errorf("operations page = %q", webtest.Text(ops.Doc.Find("main")))
	}
	if row.Find(`a[href="`+progress+`"]`).Length() != 1 {
		t.Error("the operations page does not link the progress")
	}
	// Nothing pending for someone else.
	other := srv.SignedIn(t, sandbox.KeyBSecretTest)
	if none := other.Page(t, "/operations", http.StatusOK); none.Doc.Find(`[data-testid="ops-none"]`).Length() != 1 {
		t.Error("another key sees this key's operation")
	}
}
