package main

import (
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"backoffice/internal/browsertest"
	"backoffice/internal/sandbox"
)

// TestBrowserDarkMode: with the system set to dark the pages turn dark,
// a viewer's choice in the header wins over the system either way, the
// TEST band stays as it is, and axe finds no serious contrast problem on
// the pages people use most, in dark colours.
func TestBrowserDarkMode(t *testing.T) {
	d := startDashboard(t, map[string]string{"INDEX_KEYS": sandbox.KeyASecretTest})
	b := browsertest.New(t, 150*time.Second)
	background := func() string {
		return browsertest.Get(t, b, chromedp.Evaluate[string](`getComputedStyle(document.body).backgroundColor`))
	}
	band := func() string {
		return browsertest.Get(t, b, chromedp.Evaluate[string](`(() => { const e = document.querySelector('.env-band'); return e ? getComputedStyle(e).backgroundColor : '' })()`))
	}
	b.Do(t, chromedp.Navigate(d.url+"/signin"))
	b.WaitReady(t)
	light := background()
	if _, err := chromedp.Call(b.Ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}}); err != nil {
		t.Fatal(err)
	}
	dark := background()
	if dark == light {
		t.Fatalf("the system's dark setting leaves the page %s", light)
	}
	b.Axe(t, "sign-in, system dark")

	signInWith(t, b, d, sandbox.KeyASecretTest)
	waitIndexed(t, b, d.url+"/policies")
	testBand := band()
	for _, page := range []struct{ path, state string }{
		{"/policies", "list, dark"},
		{"/policies?status=cancelled&sort=-gross_premium", "filtered list, dark"},
		{"/policies/" + sandbox.FixturePolicyID, "policy, dark"},
		{"/audit", "audit, dark"},
		{"/review", "overview, dark"},
		{"/review/expiring?days=90", "expiring, dark"},
	} {
		b.Do(t, chromedp.Navigate(d.url+page.path))
		b.WaitReady(t)
		if got := background(); got != dark {
			t.Errorf("%s: background %s, want the dark %s", page.path, got, dark)
		}
		b.Axe(t, page.state)
	}
	if testBand == "" || band() != testBand {
		t.Errorf("the TEST band is %q on one page and %q on another", testBand, band())
	}

	// The header's choice wins over the system: light while the system
	// is dark, then dark while it is light.
	b.Do(t, chromedp.Navigate(d.url+"/policies"))
	b.WaitReady(t)
	// With JavaScript the choice applies on the page at once, without a
	// reload (what is typed into the search box stays), its button
	// hidden; it is saved all the same.
	if shown := evalString(t, b, `getComputedStyle(document.querySelector('[data-testid="theme-switch"] [data-no-js-submit]')).display`); shown != "none" {
		t.Errorf("with JavaScript the colours button shows (display %q)", shown)
	}
	b.Do(t, chromedp.WaitVisible(chromedp.CSS("#find-q")),
		chromedp.Evaluate[chromedp.Void](`window.__samePage = true; document.querySelector("#find-q").value = "typed, not sent"`),
		chromedp.SetValue(chromedp.CSS("#theme-select"), "light"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#theme-select').dispatchEvent(new Event("change", {bubbles: true}))`))
	waitLoaded(t, b, `document.documentElement.dataset.theme === "light"`)
	if same := evalString(t, b, `String(window.__samePage === true && document.querySelector("#find-q").value)`); same != "typed, not sent" {
		t.Errorf("choosing the colours reloaded the page or lost the typed text (%q)", same)
	}
	b.Do(t, chromedp.Reload())
	waitLoaded(t, b, `document.documentElement.dataset.theme === "light" && window.__samePage === undefined`)
	if got := background(); got != light {
		t.Errorf("light chosen under a dark system: background %s, want %s", got, light)
	}
	b.Axe(t, "list, light chosen")
	if _, err := chromedp.Call(b.Ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "light"}}}); err != nil {
		t.Fatal(err)
	}
	b.Do(t, chromedp.SetValue(chromedp.CSS("#theme-select"), "dark"), chromedp.Submit(chromedp.CSS("#theme-select")))
	waitLoaded(t, b, `document.documentElement.dataset.theme === "dark"`)
	if got := background(); got != dark {
		t.Errorf("dark chosen under a light system: background %s, want %s", got, dark)
	}
	b.Axe(t, "list, dark chosen")
	if band() != testBand {
		t.Errorf("the TEST band changed with the theme: %q, was %q", band(), testBand)
	}
}
