package main

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"backoffice/internal/browsertest"
	"backoffice/internal/sandbox"
)

// TestBrowserAxePagesAndStates runs axe on the pages and states the
// flow tests pass by without checking: the list sorted and empty, a
// policy in each status, the cancel form, the new-policy form, the
// error pages, and the CASCO vehicle step empty and refused. Each page
// is reached as a person would, and says what it should before axe
// reads it.
func TestBrowserAxePagesAndStates(t *testing.T) {
	d := startDashboard(t, nil)
	b := browsertest.New(t, 150*time.Second)
	// Both sign-in tabs, and the partner's refused (the KASKO tab's
	// refusal is the keyboard test's).
	b.Do(t, chromedp.Navigate(d.url+"/signin"), chromedp.WaitVisible(chromedp.CSS(`#key`)))
	b.WaitReady(t)
	b.Axe(t, "sign-in, KASKO tab")
	b.Do(t,
		chromedp.Click(chromedp.CSS(`[data-testid="tab-casco"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="partner-form"] #account`)),
	)
	b.WaitReady(t)
	b.Axe(t, "sign-in, partner tab")
	b.Do(t,
		chromedp.SendKeys(chromedp.CSS(`#account`), sandbox.CascoDemoAccount),
		chromedp.SendKeys(chromedp.CSS(`#password`), "not-the-password"),
		chromedp.Click(chromedp.CSS(`[data-testid="partner-form"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="partner-error"]`)),
	)
	b.WaitReady(t)
	b.Axe(t, "sign-in, partner refused")

	b.Do(t,
		chromedp.Navigate(d.url+"/signin"),
		chromedp.Click(chromedp.CSS(`[data-testid="demo-key"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="policy-table"]`)),
	)
	waitIndexed(t, b, d.url+"/policies")

	visit := func(path, ready, state string) {
		t.Helper()
		b.Do(t,
			chromedp.Navigate(d.url+path),
			chromedp.WaitVisible(chromedp.CSS(ready)),
		)
		b.WaitReady(t)
		b.Axe(t, state)
	}
	visit("/policies?sort=-last_name", `th[aria-sort="descending"]`, "list, sorted by holder")
	visit("/policies?q=zzqqxxnomatch", `main`, "list, nothing found")
	if n := browsertest.Get(t, b, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="policy-row"]').length`)); n != 0 {
		t.Errorf("a search for nothing shows %d rows", n)
	}
	for _, p := range []struct{ id, status string }{
		{sandbox.FixturePolicyID, "paid"},
		{sandbox.FixtureCancelledID, "cancelled"},
		{sandbox.FixtureExpiredID, "expired"},
	} {
		visit("/policies/"+p.id, `[data-testid="cover"]`, "policy, "+p.status)
	}
	visit("/policies/"+sandbox.FixturePolicyID+"/cancel", `[data-testid="cancel-form"], form[action$="/cancel"]`, "cancel form")
	visit("/policies/new", `[data-testid="new-policy-form"]`, "new policy, empty")
	// The audit log filtered as the overview's reasons link to it, and
	// refused for a range ending before it starts.
	visit("/audit?action=cancel&outcome=accepted&no_reason=1&from=2026-01-01&to=2026-12-31", `main h1`, "audit, filtered")
	visit("/audit?action=cancel&from=2026-03-01&to=2026-01-01", `main h1`, "audit, refused range")

	// Error pages: an unknown policy, an unknown page.
	visit("/policies/tpol_00000000000000000000000000ff", `main`, "error page, unknown policy")
	if h := browsertest.Get(t, b, chromedp.Text(chromedp.CSS(`main h1`))); h == "" {
		t.Error("the unknown policy's page has no heading")
	}
	visit("/no-such-page", `main`, "error page, unknown address")

	// CASCO: a partner's history, and a new quote's vehicle step, empty
	// and refused (the focus goes to the summary of what is missing).
	p := browsertest.New(t, 150*time.Second)
	signInPartner(t, p, d.url)
	p.WaitReady(t)
	p.Axe(t, "CASCO history")
	p.Do(t,
		chromedp.Click(chromedp.CSS(`[data-testid="new-quote"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#f-vin`)),
	)
	p.WaitReady(t)
	p.Axe(t, "CASCO vehicle step, empty")
	p.Do(t,
		chromedp.Click(chromedp.CSS(`[data-testid="step-submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="error-summary"]`)),
	)
	p.WaitReady(t)
	if focus := browsertest.Get(t, p, chromedp.Evaluate[string](`document.activeElement.closest('[data-testid="error-summary"]') ? "summary" : document.activeElement.tagName`)); focus != "summary" {
		t.Errorf("after the refused vehicle step the focus is on %s, want the error summary", focus)
	}
	p.Axe(t, "CASCO vehicle step, with errors")
	p.Do(t, chromedp.Navigate(d.url+"/casco/audit"), chromedp.WaitVisible(chromedp.CSS(`main h1`)))
	p.WaitReady(t)
	p.Axe(t, "CASCO audit")

	for _, bb := range []*browsertest.Browser{b, p} {
		if problems := bb.ProblemsExcept("status of 400", "status of 401", "status of 404", "status of 422"); len(problems) > 0 {
			t.Errorf("the pages logged problems:\n%s", strings.Join(problems, "\n"))
		}
	}
}
