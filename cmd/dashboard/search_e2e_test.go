package main

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"backoffice/internal/browsertest"
	"backoffice/internal/sandbox"
)

// waitIndexed reloads the list until the index's first sync is done.
func waitIndexed(t *testing.T, b *browsertest.Browser, listURL string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	checked := false
	for {
		b.Do(t, chromedp.Navigate(listURL), chromedp.WaitVisible(chromedp.CSS(`[data-testid="policy-table"]`)))
		fresh := browsertest.Get(t, b, chromedp.Evaluate[string](`(document.querySelector('[data-testid="freshness"]') || {}).textContent || ""`))
		if strings.Contains(fresh, "Index updated") {
			b.WaitReady(t)
			return
		}
		if strings.Contains(fresh, "Syncing") && !checked {
			b.Axe(t, "list, first sync")
			checked = true
		}
		if time.Now().After(deadline) {
			t.Fatalf("the index is not synced after 60s: %q", fresh)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestBrowserSearchFilterAndLiveRows: type "berzins" and open Jānis
// Bērziņš; filter by status with the keyboard; cancel a policy and see its
// row in the cancelled list within 2 s, with axe checking every state.
func TestBrowserSearchFilterAndLiveRows(t *testing.T) {
	d := startDashboard(t, map[string]string{"SANDBOX_CANCEL_DELAY": "500ms"})
	b := browsertest.New(t, 120*time.Second)
	signInWith(t, b, d, sandbox.KeyASecretTest)
	waitIndexed(t, b, d.url+"/policies")
	b.Axe(t, "list")
	browsertest.Get(t, b, chromedp.Evaluate[bool](`window.__samePage = true`))

	// Typing searches as it goes: the table follows, the URL too, and the
	// matches are marked; the page itself stays.
	b.Do(t, chromedp.Click(chromedp.CSS(`#find-q`)), chromedp.SendKeys(chromedp.CSS(`#find-q`), "berzins"))
	browsertest.Get(t, b, chromedp.Poll[bool](`location.search.includes("q=berzins") && !!document.querySelector('[data-testid="policy-row"] mark')`, chromedp.WithPollingTimeout(10*time.Second)))
	b.WaitSettled(t)
	if same := browsertest.Get(t, b, chromedp.Evaluate[bool](`window.__samePage === true`)); !same {
		t.Error("searching reloaded the page")
	}
	if focus := browsertest.Get(t, b, chromedp.Evaluate[string](`document.activeElement.id`)); focus != "find-q" {
		t.Errorf("while typing the focus moved to %q", focus)
	}
	holders := browsertest.Get(t, b, chromedp.Evaluate[[]string](`[...document.querySelectorAll('[data-testid="policy-row"] td:nth-child(2)')].map(td => td.textContent.trim())`))
	found := false
	for _, h := range holders {
		found = found || h == "Jānis Bērziņš"
	}
	if !found {
		t.Fatalf("berzins finds %q, not Jānis Bērziņš", holders)
	}
	b.Axe(t, "list, searching")
	screenshot(t, b, "search")
	b.Do(t,
		chromedp.Click(chromedp.CSS(`[data-testid="policy-row"] a[href="/policies/`+sandbox.FixturePolicyID+`"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="status"]`)),
	)
	if h := browsertest.Get(t, b, chromedp.Text(chromedp.CSS("h1"))); !strings.Contains(h, sandbox.FixtureInsurerPolicyID) {
		t.Errorf("opened %q, want the fixture", h)
	}
	// Back brings the search as it was.
	b.Do(t, chromedp.NavigateBack(), chromedp.WaitVisible(chromedp.CSS(`[data-testid="policy-row"] mark`)))
	if v := browsertest.Get(t, b, chromedp.Evaluate[string](`document.querySelector('#find-q').value`)); v != "berzins" {
		t.Errorf("after Back the box holds %q", v)
	}

	// Filters by keyboard: clear the search, Tab into the status filter,
	// Space on "Cancelled"; the list (and its counts) follow and the focus
	// stays on the box just ticked.
	b.Do(t, chromedp.Navigate(d.url+"/policies"), chromedp.WaitVisible(chromedp.CSS(`[data-testid="filters"]`)))
	b.WaitReady(t)
	// The panel is folded until a filter is in use: Enter on its summary
	// unfolds it.
	b.Do(t, chromedp.Focus(chromedp.CSS(`[data-testid="filters-toggle"]`)), chromedp.KeyEvent(kb.Enter))
	browsertest.Get(t, b, chromedp.Poll[bool](`document.querySelector('#filters').open`, chromedp.WithPollingTimeout(5*time.Second)))
	b.Axe(t, "list, filters unfolded")
	b.Do(t, chromedp.Focus(chromedp.CSS(`[data-testid="filter-status"] input[value="cancelled"]`)))
	b.Do(t, chromedp.KeyEvent(" "))
	browsertest.Get(t, b, chromedp.Poll[bool](`location.search.includes("status=cancelled")`, chromedp.WithPollingTimeout(10*time.Second)))
	b.WaitSettled(t)
	statuses := browsertest.Get(t, b, chromedp.Evaluate[[]string](`[...document.querySelectorAll('[data-testid="policy-row"] .badge[class*="status-"]')].map(e => e.className)`))
	if len(statuses) == 0 {
		t.Error("no cancelled policy listed")
	}
	for _, s := range statuses {
		if !strings.Contains(s, "status-cancelled") {
			t.Errorf("filtered row has %q", s)
		}
	}
	if focus := browsertest.Get(t, b, chromedp.Evaluate[string](`document.activeElement.value || document.activeElement.id`)); focus != "cancelled" {
		t.Errorf("after filtering the focus is on %q, want the box just ticked", focus)
	}
	b.Axe(t, "list, filtered")
	screenshot(t, b, "filtered")

	// A refused filter value says where, in the panel, reachable by
	// keyboard (and axe finds nothing serious).
	b.Do(t, chromedp.Navigate(d.url+"/policies?start_from=2026-05-02&start_to=2026-05-01"), chromedp.WaitVisible(chromedp.CSS(`[data-testid="filter-start"] [role="alert"]`)))
	b.Axe(t, "list, invalid filter")

	// A colleague cancels the fixture; the cancelled list shows it within
	// 2 s of the cancellation completing, with no sync by hand.
	colleague := browsertest.New(t, 90*time.Second)
	signInWith(t, colleague, d, sandbox.KeyASecretTest)
	openCancelReview(t, colleague, d.url+"/policies/"+sandbox.FixturePolicyID)
	colleague.Do(t, chromedp.Click(chromedp.CSS(`[data-testid="cancel-confirm"]`)))
	colleague.Do(t, chromedp.WaitVisible(chromedp.CSS(`[data-testid="status"].status-cancelled`)))
	done := time.Now()
	list := d.url + "/policies?" + url.Values{"status": {"cancelled"}, "q": {"janis berzins"}}.Encode()
	for {
		b.Do(t, chromedp.Navigate(list), chromedp.WaitVisible(chromedp.CSS(`[data-testid="range"]`)))
		ids := browsertest.Get(t, b, chromedp.Evaluate[[]string](`[...document.querySelectorAll('[data-testid="policy-row"] td:first-child')].map(td => td.textContent.trim())`))
		if len(ids) > 0 && ids[0] == sandbox.FixtureInsurerPolicyID {
			t.Logf("the cancelled row is listed %v after the cancellation completed", time.Since(done).Round(time.Millisecond))
			break
		}
		if time.Since(done) > 2*time.Second {
			t.Fatalf("2 s after the cancellation the cancelled list shows %q", ids)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The refused filter's 400 was provoked on purpose.
	if p := b.ProblemsExcept("status of 400"); len(p) > 0 {
		t.Errorf("the pages logged problems:\n%s", strings.Join(p, "\n"))
	}
}
