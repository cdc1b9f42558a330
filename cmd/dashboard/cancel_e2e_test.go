package main

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"backoffice/internal/browsertest"
	"backoffice/internal/sandbox"
)

var sandboxInfoLine = regexp.MustCompile(`demo_credentials=(http://127\.0\.0\.1:\d+/_sandbox)`)

// sandboxCalls asks the dashboard's sandbox how many requests a route had.
func sandboxCalls(t *testing.T, d *started, route string) int {
	t.Helper()
	m := sandboxInfoLine.FindStringSubmatch(d.logs.String())
	if m == nil {
		t.Fatalf("no sandbox address in the start-up log:\n%s", d.logs)
	}
	resp, err := http.Get(m[1])
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var info struct {
		Calls map[string]int `json:"calls"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&info); err != nil {
		t.Fatal(err)
	}
	return info.Calls[route]
}

// signInWith signs the browser in with key through the sign-in form.
func signInWith(t *testing.T, b *browsertest.Browser, d *started, key string) {
	t.Helper()
	b.Do(t,
		chromedp.Navigate(d.url+"/signin"),
		chromedp.WaitVisible(chromedp.CSS("#key")),
		chromedp.SendKeys(chromedp.CSS("#key"), key),
		chromedp.Submit(chromedp.CSS("#key")),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="user-badge"]`)),
	)
}

// openCancelReview opens the fixture, the cancel form in place, picks a
// reason and reaches the review step.
func openCancelReview(t *testing.T, b *browsertest.Browser, ctxURL string) {
	t.Helper()
	b.Do(t,
		chromedp.Navigate(ctxURL),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="cancel-open"]`)),
	)
	b.WaitReady(t)
	b.Do(t,
		chromedp.Click(chromedp.CSS(`[data-testid="cancel-open"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#cancel-reason`)),
	)
	b.WaitSettled(t)
	if id := browsertest.Get(t, b, chromedp.Evaluate[string](`document.activeElement ? document.activeElement.id : ""`)); id != "cancel-reason" {
		t.Errorf("after opening the form the focus is on %q, want the reason", id)
	}
	b.Do(t,
		chromedp.SetValue(chromedp.CSS(`#cancel-reason`), "customer_request"),
		chromedp.Click(chromedp.CSS(`[data-testid="cancel-review"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="cancel-confirm"]`)),
	)
	b.WaitSettled(t)
}

// TestBrowserCancelPolicy: staff cancel a policy in place, double-click
// the confirmation, watch it reach cancelled, and the sandbox received
// exactly one cancel request.
func TestBrowserCancelPolicy(t *testing.T) {
	d := startDashboard(t, map[string]string{"SANDBOX_CANCEL_DELAY": "1500ms"})
	b := browsertest.New(t, 90*time.Second)
	signInWith(t, b, d, sandbox.KeyASecretTest)
	detail := d.url + "/policies/" + sandbox.FixturePolicyID
	openCancelReview(t, b, detail)
	screenshot(t, b, "cancel-review")
	b.Axe(t, "cancel review")
	browsertest.Get(t, b, chromedp.Evaluate[bool](`window.__samePage = true`))
	if s := browsertest.Get(t, b, chromedp.Text(chromedp.CSS(`[data-testid="cancel-summary"]`))); !strings.Contains(s, "TEST-TESTE76R4R7D") || !strings.Contains(s, "Europe/Riga") {
		t.Errorf("review summary = %q", s)
	}

	b.Do(t,
		chromedp.DoubleClick(chromedp.CSS(`[data-testid="cancel-confirm"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="cancel-progress"]`)),
	)
	b.Axe(t, "cancellation in progress")
	if same := browsertest.Get(t, b, chromedp.Evaluate[bool](`window.__samePage === true`)); !same {
		t.Error("confirming reloaded the page instead of showing progress in place")
	}
	if badge := browsertest.Get(t, b, chromedp.Evaluate[string](`(document.querySelector('[data-testid="ops-badge"]') || {}).textContent || ""`)); !strings.Contains(badge, "1 cancellation in progress") {
		t.Errorf("header badge = %q, want 1 cancellation in progress", badge)
	}
	// The panel follows the cancellation, then the page shows it done.
	b.Do(t, chromedp.WaitVisible(chromedp.CSS(`[data-testid="status"].status-cancelled`)))
	if loc := browsertest.Get(t, b, chromedp.Location()); loc != detail {
		t.Errorf("after completion the browser is at %q, want the policy", loc)
	}
	if n := browsertest.Get(t, b, chromedp.Evaluate[string](`[...document.querySelectorAll('[data-testid="notice"], [data-testid="ops-badge"]')].map(e => e.textContent).join(" ")`)); !strings.Contains(n, "Cancellation of TEST-TESTE76R4R7D completed.") {
		t.Errorf("no completion notice: %q", n)
	}
	screenshot(t, b, "cancelled")
	b.Axe(t, "cancelled")
	if n := sandboxCalls(t, d, sandbox.RouteCancelPolicy); n != 1 {
		t.Errorf("the sandbox received %d cancel requests, want exactly 1", n)
	}

	// The audit log has the attempt and its end, newest first.
	b.Do(t,
		chromedp.Click(chromedp.CSS(`[data-testid="nav-audit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="audit-row"]`)),
	)
	outcomes := browsertest.Get(t, b, chromedp.Evaluate[[]string](`[...document.querySelectorAll('[data-testid="audit-row"] [data-testid="audit-outcome"]')].map(e => e.textContent.trim())`))
	if len(outcomes) != 2 || outcomes[0] != "Completed" || outcomes[1] != "Accepted" {
		t.Errorf("audit outcomes = %q, want [Completed Accepted]", outcomes)
	}
	screenshot(t, b, "audit")
	if p := b.ProblemsExcept(); len(p) > 0 {
		t.Errorf("the pages logged problems:\n%s", strings.Join(p, "\n"))
	}
}

// TestBrowserCancelInTwoTabs: the same policy open in two tabs; cancelled
// in the first, the second is told what changed (the 412 diff).
func TestBrowserCancelInTwoTabs(t *testing.T) {
	d := startDashboard(t, map[string]string{"SANDBOX_CANCEL_DELAY": "0s"})
	b := browsertest.New(t, 90*time.Second)
	signInWith(t, b, d, sandbox.KeyASecretTest)
	// A colleague signed in elsewhere with the same key: a session, and
	// so a cancel form, of their own.
	colleague := browsertest.New(t, 90*time.Second)
	signInWith(t, colleague, d, sandbox.KeyASecretTest)
	detail := d.url + "/policies/" + sandbox.FixturePolicyID

	second := b.NewTab(t)
	openCancelReview(t, second, detail)
	openCancelReview(t, colleague, detail)
	openCancelReview(t, b, detail)
	b.Do(t,
		chromedp.Click(chromedp.CSS(`[data-testid="cancel-confirm"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="status"].status-cancelled`)),
	)

	// The second tab of the same session is the same open form: its
	// confirmation gets the first one's outcome, not a second request.
	second.Do(t,
		chromedp.Click(chromedp.CSS(`[data-testid="cancel-confirm"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="status"].status-cancelled`)),
	)
	if n := sandboxCalls(t, d, sandbox.RouteCancelPolicy); n != 1 {
		t.Errorf("cancel requests after both tabs confirmed = %d, want 1", n)
	}

	// The colleague's form names the version before the change: the
	// upstream refuses it (412), and the page shows what changed.
	colleague.Do(t,
		chromedp.Click(chromedp.CSS(`[data-testid="cancel-confirm"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="cancel-diff"]`)),
	)
	screenshot(t, colleague, "cancel-412")
	colleague.Axe(t, "cancel refused, what changed (412)")
	row := browsertest.Get(t, colleague, chromedp.Evaluate[string](`(() => { const r = document.querySelector('[data-testid="cancel-diff"] tr[data-field="status"]'); return r ? r.querySelector('del').textContent + "→" + r.querySelector('ins').textContent : "" })()`))
	if row != "paid→cancelled" {
		t.Errorf("the diff's status row = %q, want paid→cancelled", row)
	}
	if msg := browsertest.Get(t, colleague, chromedp.Text(chromedp.CSS(`[data-testid="cancel-message"]`))); !strings.Contains(msg, "already cancelled") {
		t.Errorf("the colleague's message = %q", msg)
	}
	if n := sandboxCalls(t, d, sandbox.RouteCancelPolicy); n != 2 {
		t.Errorf("cancel requests = %d, want 2 (one per session)", n)
	}
	// The colleague's 412 is the point of the test.
	if p := colleague.ProblemsExcept("status of 412"); len(p) > 0 {
		t.Errorf("the colleague's browser logged problems:\n%s", strings.Join(p, "\n"))
	}
	if p := second.Problems(); len(p) > 0 {
		t.Errorf("the second tab logged problems:\n%s", strings.Join(p, "\n"))
	}
}

// TestBrowserReadOnlyHasNoCancel: a public key sees the policy, no button.
func TestBrowserReadOnlyHasNoCancel(t *testing.T) {
	d := startDashboard(t, nil)
	b := browsertest.New(t, 60*time.Second)
	signInWith(t, b, d, sandbox.KeyAPublicTest)
	b.Do(t,
		chromedp.Navigate(d.url+"/policies/"+sandbox.FixturePolicyID),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="cover"]`)),
	)
	if n := browsertest.Get(t, b, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="cancel-open"], form[action$="/cancel"]').length`)); n != 0 {
		t.Errorf("a read-only session sees %d cancel controls", n)
	}
	if role := browsertest.Get(t, b, chromedp.TextContent(chromedp.CSS(`[data-testid="user-role"]`))); role != "Read-only" {
		t.Errorf("role = %q", role)
	}
}
