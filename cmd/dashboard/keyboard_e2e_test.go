package main

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"backoffice/internal/browsertest"
	"backoffice/internal/sandbox"
)

// key presses one named key (Enter, Tab, an arrow) on the focused
// element. Enter goes as a keyboard sends it (raw key down, character,
// key up): chromedp's plain key down would deliver its character to the
// element a link's activation has just focused, submitting its form.
func key(t *testing.T, b *browsertest.Browser, k string) {
	t.Helper()
	if k == kb.Enter {
		b.Do(t, press("\r"))
		return
	}
	b.Do(t, chromedp.KeyEvent(k))
}

// focusIs waits until the focused element matches sel (a swap, a page
// load or a fragment link has put it there), failing with where it is.
func focusIs(t *testing.T, b *browsertest.Browser, sel, what string) {
	t.Helper()
	ok, _ := chromedp.Run(b.Ctx, chromedp.Poll[bool](`!!document.activeElement && document.activeElement.matches(`+jsString(sel)+`)`, chromedp.WithPollingTimeout(10*time.Second)))
	if !ok {
		t.Fatalf("%s: the focus is on %s, want %s", what, evalString(t, b, `document.activeElement ? document.activeElement.outerHTML.slice(0, 160) : "nothing"`), sel)
	}
}

// followFirstSummaryLink goes from the focused error summary to its
// first link with Tab and follows it with Enter; the focus must land on
// that field.
func followFirstSummaryLink(t *testing.T, b *browsertest.Browser, field string) {
	t.Helper()
	key(t, b, kb.Tab)
	focusIs(t, b, `[data-testid="error-summary"] a[href="#`+field+`"]`, "Tab from the summary")
	key(t, b, kb.Enter)
	focusIs(t, b, "#"+field, "the summary's link")
}

// TestBrowserKeyboardOnly: sign in, find and open a policy, cancel it
// (review, confirm), create a policy and change the language with the
// keyboard alone. After each refused form the focus is on the error
// summary, whose links lead to the fields; after each swap it is where
// the work continues. Axe checks every state.
func TestBrowserKeyboardOnly(t *testing.T) {
	d := startDashboard(t, map[string]string{"SANDBOX_CANCEL_DELAY": "300ms"})
	b := browsertest.New(t, 180*time.Second)

	// Sign in: an empty key is refused in place (htmx), the summary has
	// the focus and its link leads to the key.
	b.Do(t, chromedp.Navigate(d.url+"/signin"), chromedp.WaitVisible(chromedp.CSS("#key")))
	b.WaitReady(t)
	tabTo(t, b, "#key", 40)
	key(t, b, kb.Enter)
	focusIs(t, b, `#key-form [data-testid="error-summary"]`, "a refused sign-in")
	if title := evalString(t, b, `document.activeElement.textContent`); !strings.Contains(title, "1 field needs attention") {
		t.Errorf("summary = %q", title)
	}
	b.Axe(t, "sign-in with errors")
	followFirstSummaryLink(t, b, "key")
	b.Do(t, press(sandbox.KeyASecretTest))
	if v := evalString(t, b, `document.activeElement.value`); v != sandbox.KeyASecretTest {
		t.Fatalf("typed key = %q", v)
	}
	key(t, b, kb.Enter)
	waitLoaded(t, b, `!!document.querySelector('[data-testid="user-badge"]')`)
	b.WaitReady(t)

	// Find and open a policy: the list's search box, then its row.
	waitIndexed(t, b, d.url+"/policies")
	tabTo(t, b, "#find-q", 80)
	b.Do(t, press(sandbox.FixtureInsurerPolicyID))
	pollJS(t, b, `!!document.querySelector('[data-testid="policy-row"] a[href="/policies/`+sandbox.FixturePolicyID+`"]')`)
	b.WaitSettled(t)
	tabTo(t, b, `[data-testid="policy-row"] a[href="/policies/`+sandbox.FixturePolicyID+`"]`, 80)
	key(t, b, kb.Enter)
	waitLoaded(t, b, `location.pathname === "/policies/`+sandbox.FixturePolicyID+`" && !!document.querySelector('[data-testid="cancel-open"]')`)
	b.WaitReady(t)

	// Cancel: the form opens in place with the focus on its first field;
	// sent empty, the summary takes the focus.
	tabTo(t, b, `[data-testid="cancel-open"]`, 120)
	key(t, b, kb.Enter)
	focusIs(t, b, "#cancel-reason", "the opened cancel form")
	tabTo(t, b, `[data-testid="cancel-review"]`, 10)
	key(t, b, kb.Enter)
	focusIs(t, b, `#cancel-panel [data-testid="error-summary"]`, "a refused cancel form")
	b.WaitSettled(t)
	b.Axe(t, "cancel form with errors")
	followFirstSummaryLink(t, b, "cancel-reason")
	key(t, b, kb.ArrowDown) // the first reason
	if v := evalString(t, b, `document.activeElement.value`); v == "" {
		t.Fatal("Down on the reason chose nothing")
	}
	tabTo(t, b, `[data-testid="cancel-review"]`, 10)
	key(t, b, kb.Enter)
	focusIs(t, b, "#cancel-review-heading", "the cancel review")
	b.WaitSettled(t)
	b.Axe(t, "cancel review")
	// Confirm is a few presses away, not 23.
	presses := 0
	for !focused(t, b, `[data-testid="cancel-confirm"]`) {
		if presses++; presses > 6 {
			t.Fatalf("Confirm is more than 6 presses of Tab from the review's heading")
		}
		key(t, b, kb.Tab)
	}
	key(t, b, kb.Enter)
	pollJS(t, b, `!document.querySelector('[data-testid="cancel-review-form"]')`)
	waitLoaded(t, b, `true`)

	// Create a policy: sent empty, the summary takes the focus (a whole
	// page, no htmx needed for that), and its link leads to the field.
	tabTo(t, b, `[data-testid="nav-new"]`, 80)
	key(t, b, kb.Enter)
	waitPath(t, b, "/policies/new")
	b.WaitReady(t)
	tabTo(t, b, `[data-testid="push-submit"]`, 80)
	key(t, b, kb.Enter)
	focusIs(t, b, `#new-policy [data-testid="error-summary"]`, "a refused new-policy form")
	b.WaitSettled(t)
	b.Axe(t, "push form with errors")
	followFirstSummaryLink(t, b, "f-first_name")
	b.Do(t, press("Erika"))
	key(t, b, kb.Tab)
	b.Do(t, press("Mustermann"))
	key(t, b, kb.Tab)
	b.Do(t, press("erika@example.com"))
	key(t, b, kb.Tab)
	focusIs(t, b, "#f-start_date", "Tab after the email")
	start := time.Now().AddDate(0, 1, 0)
	b.Do(t, press(start.Format("01022006")))
	if v := evalString(t, b, `document.activeElement.value`); v != start.Format(time.DateOnly) {
		t.Fatalf("typed start date = %q, want %s", v, start.Format(time.DateOnly))
	}
	tabTo(t, b, "#f-vin", 5)
	b.Do(t, press("WVWZZZ1KZ8W006165"))
	tabTo(t, b, `[data-testid="push-submit"]`, 20)
	key(t, b, kb.Enter)
	waitLoaded(t, b, `!!document.querySelector('[data-testid="push-result"]')`)

	// Change the language: the select applies on change; arrows on the
	// closed select wait for Enter, so English → Deutsch is Down, Enter.
	tabTo(t, b, "#lang-select", 60)
	if shown := evalString(t, b, `getComputedStyle(document.querySelector('[data-testid="lang-switch"] [data-no-js-submit]')).display`); shown != "none" {
		t.Errorf("with JavaScript the language button shows (display %q)", shown)
	}
	key(t, b, kb.ArrowDown)
	if lang := evalString(t, b, `document.documentElement.lang`); lang != "en" {
		t.Fatalf("an arrow press changed the language at once (%q)", lang)
	}
	key(t, b, kb.Enter)
	waitLoaded(t, b, `document.documentElement.lang !== "en"`)
	b.WaitReady(t)

	// The audit log, through the navigation.
	tabTo(t, b, `[data-testid="nav-audit"]`, 40)
	key(t, b, kb.Enter)
	waitPath(t, b, "/audit")
	b.WaitReady(t)
	b.Axe(t, "audit")
	if p := b.ProblemsExcept("status of 422"); len(p) > 0 { // the refused forms answer 422
		t.Errorf("console problems: %q", p)
	}
}
