package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"backoffice/internal/browsertest"
	"backoffice/internal/sandbox"
)

// pollJS waits until expr is true in the page, failing with what after
// 10 s.
func pollJS(t *testing.T, b *browsertest.Browser, expr string) {
	t.Helper()
	browsertest.Get(t, b, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(10*time.Second)))
}

// evalString evaluates a string expression in the page.
func evalString(t *testing.T, b *browsertest.Browser, expr string) string {
	t.Helper()
	return browsertest.Get(t, b, chromedp.Evaluate[string](expr))
}

// press types keys as a keyboard does: a raw key down, then the
// character, then key up, so that a page cancelling the key down also
// stops its character (chromedp.KeyEvent's plain key down does not).
func press(keys string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		for _, r := range keys {
			for _, k := range kb.Encode(r) {
				if k.Type == input.DispatchKeyEventTypeKeyDown {
					k.Type = input.DispatchKeyEventTypeRawKeyDown
				}
				if _, err := cdp.Call(ctx, tg, input.DispatchKeyEvent, *k); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// openPalette presses Ctrl+K and waits for the palette's entries.
func openPalette(t *testing.T, b *browsertest.Browser) {
	t.Helper()
	b.Do(t, chromedp.KeyEvent("k", chromedp.KeyModifiers(chromedp.ModifierCtrl)))
	pollJS(t, b, `document.getElementById("palette").open && document.activeElement.id === "palette-input" &&
		document.querySelectorAll('#palette-list [role="option"]').length > 0`)
}

// loadPage navigates to url and waits until its scripts have run.
func loadPage(t *testing.T, b *browsertest.Browser, url string) {
	t.Helper()
	b.Do(t, chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS(`[data-testid="user-badge"]`)))
	b.WaitReady(t)
}

// TestBrowserShortcutsAndPalette: / focuses the search box and typing
// there is only typing; g a goes to the audit log; Ctrl+K opens the
// palette, a pasted id and Enter open that policy, Down and Enter pick a
// page, Escape closes it and gives the focus back; ? lists the shortcuts
// in a dialog; j, k and Enter open a row; axe on the open palette and
// the open help.
func TestBrowserShortcutsAndPalette(t *testing.T) {
	d := startDashboard(t, nil)
	b := browsertest.New(t, 150*time.Second)
	signInWith(t, b, d, sandbox.KeyASecretTest)
	waitIndexed(t, b, d.url+"/policies")

	// "/" focuses the list's find box.
	browsertest.Get(t, b, chromedp.Evaluate[bool](`document.activeElement.blur(); window.__samePage = true`))
	b.Do(t, press("/"))
	if id := evalString(t, b, `document.activeElement.id`); id != "find-q" {
		t.Fatalf("after / the focus is on %q, want the find box", id)
	}
	// Typing "g p", "g a" there types; no shortcut fires.
	b.Do(t, press("gpga"))
	b.Do(t, chromedp.Sleep(300*time.Millisecond))
	b.WaitSettled(t)
	if v := evalString(t, b, `document.querySelector("#find-q").value`); v != "gpga" {
		t.Errorf("the find box holds %q, want what was typed", v)
	}
	if p := evalString(t, b, `window.__samePage === true ? location.pathname : "reloaded"`); p != "/policies" {
		t.Errorf("typing g p / g a in the box navigated: %q", p)
	}

	// Outside a field, g a follows the navigation to the audit log; its
	// filter is the search box there.
	loadPage(t, b, d.url+"/policies")
	b.Do(t, press("ga"))
	waitPath(t, b, "/audit")
	b.Do(t, press("/"))
	if id := evalString(t, b, `document.activeElement.id`); id != "audit-policy" {
		t.Errorf("on the audit log / focuses %q, want its filter", id)
	}

	// Ctrl+K on the list: the palette, an accessible combobox.
	loadPage(t, b, d.url+"/policies")
	b.Do(t, chromedp.Focus(chromedp.CSS(`[data-testid="nav-audit"]`)))
	openPalette(t, b)
	if got := evalString(t, b, `(i => [i.getAttribute("role"), i.getAttribute("aria-expanded"), i.getAttribute("aria-controls")].join(" "))(document.getElementById("palette-input"))`); got != "combobox true palette-list" {
		t.Errorf("the palette input is %q, want an expanded combobox controlling the list", got)
	}
	labels := browsertest.Get(t, b, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#palette-list [role="option"] .palette-label')].map(e => e.textContent.trim())`))
	for _, want := range []string{"Policies", "New policy", "Audit log", "Export this list as CSV"} {
		found := false
		for _, l := range labels {
			found = found || l == want
		}
		if !found {
			t.Errorf("the palette offers %q, not %q", labels, want)
		}
	}
	b.Axe(t, "palette open")
	screenshot(t, b, "palette")
	// Escape closes it and the focus is back where it was.
	b.Do(t, chromedp.KeyEvent(kb.Escape))
	pollJS(t, b, `!document.getElementById("palette").open`)
	if got := evalString(t, b, `document.activeElement.getAttribute("data-testid") || document.activeElement.tagName`); got != "nav-audit" {
		t.Errorf("after Escape the focus is on %q, want the link it was on", got)
	}

	// The query is text: "$&" stays as typed in the find entry, and Home
	// moves the caret in the box rather than through the options.
	openPalette(t, b)
	b.Do(t, press("ab$&cd"))
	pollJS(t, b, `(document.querySelector('#palette-list [data-palette-find] .palette-label') || {textContent: ""}).textContent.includes("ab$&cd")`)
	b.Do(t, chromedp.KeyEvent(kb.Home))
	if got := evalString(t, b, `String(document.getElementById("palette-input").selectionStart)`); got != "0" {
		t.Errorf("Home left the caret at %s, want 0", got)
	}
	b.Do(t, chromedp.KeyEvent(kb.Escape))
	pollJS(t, b, `!document.getElementById("palette").open`)

	// A pasted policy id and Enter open the policy.
	openPalette(t, b)
	b.Do(t, press(sandbox.FixturePolicyID))
	pollJS(t, b, `(() => { const i = document.getElementById("palette-input"), a = document.getElementById(i.getAttribute("aria-activedescendant") || "-");
		return !!a && a.hasAttribute("data-palette-find") && a.getAttribute("aria-selected") === "true" })()`)
	b.Do(t, chromedp.KeyEvent(kb.Enter))
	waitPath(t, b, "/policies/"+sandbox.FixturePolicyID)
	if h := browsertest.Get(t, b, chromedp.Text(chromedp.CSS("h1"))); !strings.Contains(h, sandbox.FixtureInsurerPolicyID) {
		t.Errorf("the pasted id opened %q, want the fixture", h)
	}

	// On the policy: Down picks the first page, Enter goes there.
	openPalette(t, b)
	if labels := evalString(t, b, `[...document.querySelectorAll('#palette-list [role="option"] .palette-label')].map(e => e.textContent.trim()).join("|")`); !strings.Contains(labels, "Cancel this policy") {
		t.Errorf("the policy page's palette offers %q, no cancel", labels)
	}
	b.Do(t, chromedp.KeyEvent(kb.ArrowDown))
	if got := evalString(t, b, `(document.getElementById(document.getElementById("palette-input").getAttribute("aria-activedescendant") || "-") || {textContent: ""}).textContent.trim()`); !strings.HasPrefix(got, "Policies") {
		t.Errorf("Down chose %q, want Policies", got)
	}
	b.Do(t, chromedp.KeyEvent(kb.Enter))
	waitPath(t, b, "/policies")

	// "?" lists the shortcuts in a dialog; Escape closes it and gives the
	// focus back.
	b.Do(t, chromedp.Focus(chromedp.CSS(`[data-testid="nav-policies"]`)), press("?"))
	pollJS(t, b, `document.getElementById("shortcuts-help").open`)
	if h := evalString(t, b, `document.querySelector("#shortcuts-help h2").textContent`); h != "Keyboard shortcuts" {
		t.Errorf("the help's heading is %q", h)
	}
	b.Axe(t, "shortcuts help open")
	screenshot(t, b, "shortcuts-help")
	b.Do(t, chromedp.KeyEvent(kb.Escape))
	pollJS(t, b, `!document.getElementById("shortcuts-help").open`)
	if got := evalString(t, b, `document.activeElement.getAttribute("data-testid") || ""`); got != "nav-policies" {
		t.Errorf("after closing the help the focus is on %q", got)
	}

	// j, j, k: the second row, then the first; Enter opens it.
	browsertest.Get(t, b, chromedp.Evaluate[bool](`document.activeElement.blur(); true`))
	b.Do(t, press("jj"))
	rowIndex := `[...document.querySelectorAll('[data-testid="policy-row"]')].indexOf(document.activeElement.closest("tr"))`
	if i := browsertest.Get(t, b, chromedp.Evaluate[int](rowIndex)); i != 1 {
		t.Errorf("after j j the focus is in row %d, want 1", i)
	}
	b.Do(t, press("k"))
	if i := browsertest.Get(t, b, chromedp.Evaluate[int](rowIndex)); i != 0 {
		t.Errorf("after k the focus is in row %d, want 0", i)
	}
	if marked := browsertest.Get(t, b, chromedp.Evaluate[int](`document.querySelectorAll("tr.kb-row").length`)); marked != 1 {
		t.Errorf("%d rows are marked as current, want 1", marked)
	}
	href := evalString(t, b, `document.activeElement.getAttribute("href")`)
	if !strings.HasPrefix(href, "/policies/") {
		t.Fatalf("the row's focused link goes to %q", href)
	}
	b.Do(t, chromedp.KeyEvent(kb.Enter))
	waitPath(t, b, href)

	if p := b.Problems(); len(p) > 0 {
		t.Errorf("the pages logged problems:\n%s", strings.Join(p, "\n"))
	}
}
