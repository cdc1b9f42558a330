package main

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"backoffice/internal/browsertest"
	"backoffice/internal/sandbox"
)

// TestBrowserCreatePolicy: staff fill in the new-policy form, double-click
// submit, land on the result, follow the link to the policy and find it
// in the list; the sandbox received exactly one push.
func TestBrowserCreatePolicy(t *testing.T) {
	d := startDashboard(t, nil)
	b := browsertest.New(t, 90*time.Second)
	signInWith(t, b, d, sandbox.KeyASecretTest)
	b.Do(t,
		chromedp.Click(chromedp.CSS(`[data-testid="nav-new"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#f-first_name`)),
	)
	b.WaitReady(t)
	start := time.Now().AddDate(0, 0, 10).Format(time.DateOnly)
	b.Do(t,
		chromedp.SendKeys(chromedp.CSS(`#f-first_name`), "Erika"),
		chromedp.SendKeys(chromedp.CSS(`#f-last_name`), "Browserova"),
		chromedp.SendKeys(chromedp.CSS(`#f-email`), "erika.browser@example.com"),
		chromedp.SetValue(chromedp.CSS(`#f-start_date`), start),
		// A typo first: the check digit rule does not apply to European
		// VINs, so use a wrong length.
		chromedp.SendKeys(chromedp.CSS(`#f-vin`), "WVWZZZ1KZ8W00616"),
		chromedp.Click(chromedp.CSS(`[data-testid="push-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="error-vin"]`)),
	)
	b.WaitSettled(t)
	if v := browsertest.Get(t, b, chromedp.Value(chromedp.CSS(`#f-email`))); v != "erika.browser@example.com" {
		t.Errorf("email after the error = %q, want it kept", v)
	}
	screenshot(t, b, "new-policy-error")
	b.Axe(t, "new policy, with errors")
	b.Do(t,
		chromedp.SetValue(chromedp.CSS(`#f-vin`), "WVWZZZ1KZ8W006165"),
		chromedp.DoubleClick(chromedp.CSS(`[data-testid="push-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="push-policy-link"]`)),
	)
	screenshot(t, b, "new-policy-created")
	b.Axe(t, "new policy, created")
	id := browsertest.Get(t, b, chromedp.Text(chromedp.CSS(`[data-testid="push-policy-link"]`)))
	b.Do(t,
		chromedp.Click(chromedp.CSS(`[data-testid="push-policy-link"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="cover"]`)),
	)
	if got := browsertest.Get(t, b, chromedp.Text(chromedp.CSS(`[data-testid="policy-id"]`))); got != id {
		t.Errorf("policy page shows %q, want %q", got, id)
	}
	b.Do(t,
		chromedp.Navigate(d.url+"/policies?sort=-created_at"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="policy-row"]`)),
	)
	if first := browsertest.Get(t, b, chromedp.Text(chromedp.CSS(`[data-testid="policy-row"] td`))); first != id {
		t.Errorf("newest policy in the list = %q, want %q", first, id)
	}
	if n := sandboxCalls(t, d, sandbox.RoutePush); n != 1 {
		t.Errorf("the sandbox received %d pushes, want exactly 1", n)
	}
	if p := b.ProblemsExcept("status of 422"); len(p) > 0 {
		t.Errorf("the pages logged problems:\n%s", strings.Join(p, "\n"))
	}
}
