package main

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"backoffice/internal/browsertest"
)

// TestBrowserSignInShell drives the real dashboard (sandbox mode) in
// headless Chromium: the page renders styled, htmx loads under the CSP,
// a bad key is reported in place by htmx without a page load, and the
// page logs no errors (CSP violations included).
func TestBrowserSignInShell(t *testing.T) {
	d := startDashboard(t, nil)
	b := browsertest.New(t, 60*time.Second)

	b.Do(t,
		chromedp.Navigate(d.url+"/"),
		chromedp.WaitVisible(chromedp.CSS("#key")),
	)
	if loc := browsertest.Get(t, b, chromedp.Location()); loc != d.url+"/signin" {
		t.Errorf("/ landed on %q, want /signin", loc)
	}
	if title := browsertest.Get(t, b, chromedp.Title()); title != "Sign in · Policy back-office" {
		t.Errorf("title = %q", title)
	}
	if v := browsertest.Get(t, b, chromedp.Evaluate[string](`window.htmx ? htmx.version : ""`)); v != "2.0.11" {
		t.Errorf("htmx version = %q, want 2.0.11 (not loaded under the CSP?)", v)
	}
	// The stylesheet applied: the sign-in card is a white, bordered box.
	if bg := browsertest.Get(t, b, chromedp.Evaluate[string](`getComputedStyle(document.querySelector('.card')).backgroundColor`)); bg != "rgb(255, 255, 255)" {
		t.Errorf("card background = %q: stylesheet not applied", bg)
	}

	// Mark the document: a full page load would drop the mark, an htmx swap keeps it.
	browsertest.Get(t, b, chromedp.Evaluate[bool](`window.__noReload = true`))
	b.Do(t,
		chromedp.SendKeys(chromedp.CSS("#key"), "sk_test_tooShort"),
		chromedp.Click(chromedp.CSS(`#key-form button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="key-error"]`)),
	)
	msg := browsertest.Get(t, b, chromedp.Text(chromedp.CSS(`[data-testid="key-error"]`)))
	if !strings.HasPrefix(msg, "This is not a KASKO API key.") {
		t.Errorf("error = %q", msg)
	}
	if kept := browsertest.Get(t, b, chromedp.Evaluate[bool](`window.__noReload === true`)); !kept {
		t.Error("the error came with a full page load, not an htmx swap")
	}
	if v := browsertest.Get(t, b, chromedp.Value(chromedp.CSS("#key"))); v != "" {
		t.Errorf("the key field holds %q after the round trip, want empty", v)
	}
	// Issue 14: the focus is on the error summary, whose link leads to
	// the key field (keyboard_e2e_test follows it).
	if focused := browsertest.Get(t, b, chromedp.Evaluate[string](`document.activeElement && document.activeElement.id`)); focused != "key-errors" {
		t.Errorf("focus is on %q after the error, want the error summary", focused)
	}
	if href := browsertest.Get(t, b, chromedp.Evaluate[string](`(document.querySelector('#key-errors a') || {}).getAttribute ? document.querySelector('#key-errors a').getAttribute('href') : ""`)); href != "#key" {
		t.Errorf("the summary links %q, want #key", href)
	}
	// The 422 is the refused key itself; anything else is a defect.
	if p := b.ProblemsExcept("status of 422"); len(p) > 0 {
		t.Errorf("the page logged problems:\n%s", strings.Join(p, "\n"))
	}
}
