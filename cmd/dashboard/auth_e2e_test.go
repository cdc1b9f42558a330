package main

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"backoffice/internal/browsertest"
	"backoffice/internal/sandbox"
)

// TestBrowserSignInOutAndLanguage: a newcomer signs in with a demo key
// from the sign-in page, sees who they are, switches to German, signs
// out, and a protected page then leads to sign-in and back.
func TestBrowserSignInOutAndLanguage(t *testing.T) {
	d := startDashboard(t, nil)
	b := browsertest.New(t, 90*time.Second)

	b.Do(t,
		chromedp.Navigate(d.url+"/signin"),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="demo-key"] button`)),
		chromedp.Click(chromedp.CSS(`[data-testid="demo-key"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="user-badge"]`)),
	)
	if loc := browsertest.Get(t, b, chromedp.Location()); loc != d.url+"/policies" {
		t.Errorf("after sign-in the browser is at %q, want /policies", loc)
	}
	if role := browsertest.Get(t, b, chromedp.TextContent(chromedp.CSS(`[data-testid="user-role"]`))); role != "Staff" {
		t.Errorf("role = %q, want Staff", role)
	}
	if key := browsertest.Get(t, b, chromedp.Text(chromedp.CSS(`[data-testid="user-key"]`))); key != "sk_test_…PSIA" {
		t.Errorf("masked key = %q, want sk_test_…PSIA", key)
	}
	band := browsertest.Get(t, b, chromedp.Evaluate[string](`(() => { const e = document.querySelector('[data-testid="env-band"]'); return e.className + '|' + getComputedStyle(e).backgroundColor })()`))
	if !strings.HasPrefix(band, "env-band test|") || strings.HasSuffix(band, "rgba(0, 0, 0, 0)") {
		t.Errorf("TEST band = %q, want a coloured test band", band)
	}
	if html := browsertest.Get(t, b, chromedp.Evaluate[string](`document.documentElement.outerHTML`)); strings.Contains(html, sandbox.KeyASecretTest) {
		t.Error("the signed-in page contains the full API key")
	}

	// Switch to German, by keyboard-reachable form controls.
	b.Do(t,
		chromedp.SetValue(chromedp.CSS("#lang-select"), "de"),
		chromedp.Submit(chromedp.CSS("#lang-select")),
		chromedp.WaitVisible(chromedp.CSS(`html[lang="de"]`)),
	)
	if role := browsertest.Get(t, b, chromedp.TextContent(chromedp.CSS(`[data-testid="user-role"]`))); role != "Kundenservice" {
		t.Errorf("German role = %q, want Kundenservice", role)
	}

	// Sign out; a protected page then asks to sign in and returns there.
	b.Do(t,
		chromedp.Click(chromedp.CSS(`[data-testid="signout"]`)),
		chromedp.WaitVisible(chromedp.CSS("#key")),
		chromedp.Navigate(d.url+"/policies?sort=-created_at"),
		chromedp.WaitVisible(chromedp.CSS("#key")),
	)
	loc := browsertest.Get(t, b, chromedp.Location())
	if want := d.url + "/signin?next=" + url.QueryEscape("/policies?sort=-created_at"); loc != want {
		t.Errorf("protected page led to %q, want %q", loc, want)
	}
	if h1 := browsertest.Get(t, b, chromedp.Text(chromedp.CSS("h1"))); h1 != "Anmelden" {
		t.Errorf("the language preference did not outlive sign-out: h1 = %q", h1)
	}
	b.Do(t,
		chromedp.SendKeys(chromedp.CSS("#key"), sandbox.KeyAPublicTest),
		chromedp.Submit(chromedp.CSS("#key")),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="user-badge"]`)),
	)
	if loc := browsertest.Get(t, b, chromedp.Location()); loc != d.url+"/policies?sort=-created_at" {
		t.Errorf("after signing in again the browser is at %q, want the page it asked for", loc)
	}
	if role := browsertest.Get(t, b, chromedp.TextContent(chromedp.CSS(`[data-testid="user-role"]`))); role != "Nur lesen" {
		t.Errorf("public key role = %q, want Nur lesen", role)
	}
	if p := b.ProblemsExcept(); len(p) > 0 {
		t.Errorf("the pages logged problems:\n%s", strings.Join(p, "\n"))
	}
}
