package main

import (
	"bytes"
	"encoding/csv"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"backoffice/internal/browsertest"
	"backoffice/internal/sandbox"
)

// tabTo presses Tab until the focused element matches sel, as a person
// moving through the page does; it fails after max presses.
func tabTo(t *testing.T, b *browsertest.Browser, sel string, max int) {
	t.Helper()
	for range max {
		if browsertest.Get(t, b, chromedp.Evaluate[bool](`!!document.activeElement && document.activeElement.matches(`+jsString(sel)+`)`)) {
			return
		}
		b.Do(t, chromedp.KeyEvent(kb.Tab))
	}
	focus := browsertest.Get(t, b, chromedp.Evaluate[string](`document.activeElement ? document.activeElement.outerHTML.slice(0, 120) : ""`))
	t.Fatalf("%d presses of Tab never reached %s (the focus is on %s)", max, sel, focus)
}

// focused reports whether the focused element matches sel.
func focused(t *testing.T, b *browsertest.Browser, sel string) bool {
	t.Helper()
	return browsertest.Get(t, b, chromedp.Evaluate[bool](`!!document.activeElement && document.activeElement.matches(`+jsString(sel)+`)`))
}

// waitLoaded waits until cond (JavaScript) holds in a loaded page. A
// navigation under way makes an evaluation fail; that is waited out too.
func waitLoaded(t *testing.T, b *browsertest.Browser, cond string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		ok, err := chromedp.Run(b.Ctx, chromedp.Evaluate[bool](`document.readyState === "complete" && (`+cond+`)`))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 15 s the page has not %s (%v)", cond, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitPath waits until the page's address is path and it has loaded.
func waitPath(t *testing.T, b *browsertest.Browser, path string) {
	t.Helper()
	waitLoaded(t, b, `location.pathname === `+jsString(path))
}

var digitsOnly = regexp.MustCompile(`\D`)

// count reads a number as the page shows it ("1,234" → 1234).
func count(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(digitsOnly.ReplaceAllString(s, ""))
	if err != nil {
		t.Fatalf("%q is not a count", s)
	}
	return n
}

// listTotal is the policy list's total, from its "1–25 of N" line.
func listTotal(t *testing.T, b *browsertest.Browser) int {
	t.Helper()
	text := strings.TrimSpace(browsertest.Get(t, b, chromedp.Text(chromedp.CSS(`[data-testid="range"]`))))
	_, n, ok := strings.Cut(text, " of ")
	if !ok {
		if strings.HasPrefix(text, "No ") {
			return 0
		}
		t.Fatalf("the list says %q: no total", text)
	}
	return count(t, n)
}

// TestBrowserReviewSavedViewsAndExport: the demo manager opens the
// overview, changes its period by keyboard, follows a chart's data
// table to the list (the list counts what the cell said) and opens the
// expiry worklist; staff then save a filtered list as a view by
// keyboard, find it in the navigation, open it, export it as CSV and
// download a file with as many rows as the list. axe checks every page
// and state on the way, in light and dark mode.
func TestBrowserReviewSavedViewsAndExport(t *testing.T) {
	d := startDashboard(t, map[string]string{"INDEX_KEYS": sandbox.KeyASecretTest})
	b := browsertest.New(t, 180*time.Second)
	signInWith(t, b, d, sandbox.KeyAPublicTest)
	waitIndexed(t, b, d.url+"/policies")

	// The overview, this month.
	b.Do(t, chromedp.Navigate(d.url+"/review"), chromedp.WaitVisible(chromedp.CSS(`[data-testid="period-form"]`)))
	b.WaitReady(t)
	if n := browsertest.Get(t, b, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid^="figures-"]').length`)); n == 0 {
		t.Error("the overview shows no figures")
	}
	b.Axe(t, "overview")
	if _, err := chromedp.Call(b.Ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}}); err != nil {
		t.Fatal(err)
	}
	b.Axe(t, "overview, dark mode")
	screenshot(t, b, "review-dark")
	if _, err := chromedp.Call(b.Ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "light"}}}); err != nil {
		t.Fatal(err)
	}

	// The period by keyboard: the select, three steps down to "This
	// year", then Tab on to the submit button and Enter.
	b.Do(t, chromedp.Focus(chromedp.CSS(`#period`)))
	for range 3 {
		b.Do(t, chromedp.KeyEvent(kb.ArrowDown))
	}
	if v := browsertest.Get(t, b, chromedp.Value(chromedp.CSS(`#period`))); v != "year" {
		t.Fatalf("three arrows down chose %q, want year", v)
	}
	if loc := browsertest.Get(t, b, chromedp.Evaluate[string](`location.search`)); loc != "" {
		t.Errorf("choosing a period left the page by itself (%q): a select must not submit on change", loc)
	}
	tabTo(t, b, `[data-testid="period-form"] button[type=submit]`, 10)
	b.Do(t, chromedp.KeyEvent(kb.Enter))
	waitLoaded(t, b, `location.search.includes("period=year")`)
	b.Do(t, chromedp.WaitVisible(chromedp.CSS(`[data-testid="chart-status"]`)))
	b.WaitReady(t)
	if v := browsertest.Get(t, b, chromedp.Value(chromedp.CSS(`#period`))); v != "year" {
		t.Errorf("after submitting the period select holds %q", v)
	}
	b.Axe(t, "overview, this year")
	screenshot(t, b, "review-year")

	// A chart's data table, unfolded by keyboard; its first non-zero
	// cell leads to the list, which counts as many policies.
	b.Do(t, chromedp.Focus(chromedp.CSS(`[data-testid="chart-status"] summary`)), chromedp.KeyEvent(kb.Enter))
	browsertest.Get(t, b, chromedp.Poll[bool](`document.querySelector('[data-testid="chart-status"] details').open`, chromedp.WithPollingTimeout(5*time.Second)))
	b.Axe(t, "overview, data table unfolded")
	cell := browsertest.Get(t, b, chromedp.Evaluate[[]string](`(() => {
		const a = [...document.querySelectorAll('[data-testid="chart-status"] [data-testid="chart-link"]')].find(a => /[1-9]/.test(a.textContent));
		if (!a) return [];
		a.setAttribute("data-picked", "");
		return [a.textContent.trim(), a.getAttribute("href")];
	})()`))
	if len(cell) == 0 {
		t.Fatal("the status chart's table has no non-zero cell")
	}
	b.Do(t, chromedp.Focus(chromedp.CSS(`[data-picked]`)), chromedp.KeyEvent(kb.Enter))
	waitPath(t, b, "/policies")
	b.Do(t, chromedp.WaitVisible(chromedp.CSS(`[data-testid="range"]`)))
	if got, want := listTotal(t, b), count(t, cell[0]); got != want {
		t.Errorf("the cell says %d, the list it links to (%s) counts %d", want, cell[1], got)
	}

	// The expiry worklist, from the navigation: its badge counts what the
	// 30-day list shows; the horizon changes by keyboard.
	b.Do(t, chromedp.Navigate(d.url+"/review"), chromedp.WaitVisible(chromedp.CSS(`[data-testid="nav-expiring"]`)))
	badge := browsertest.Get(t, b, chromedp.Evaluate[string](`(document.querySelector('[data-testid="expiring-badge"] [aria-hidden]') || {}).textContent || "0"`))
	b.Do(t, chromedp.Focus(chromedp.CSS(`[data-testid="nav-expiring"]`)), chromedp.KeyEvent(kb.Enter))
	waitPath(t, b, "/review/expiring")
	b.Do(t, chromedp.WaitVisible(chromedp.CSS(`[data-testid="days-30"]`)))
	if cur := browsertest.Get(t, b, chromedp.Evaluate[string](`document.querySelector('[data-testid="days-30"]').getAttribute("aria-current")`)); cur != "page" {
		t.Errorf("the 30-day horizon is not marked current (%q)", cur)
	}
	worklist := 0
	if browsertest.Get(t, b, chromedp.Evaluate[bool](`!!document.querySelector('[data-testid="expiring-total"]')`)) {
		worklist = count(t, browsertest.Get(t, b, chromedp.Text(chromedp.CSS(`[data-testid="expiring-total"]`))))
	}
	if count(t, badge) != worklist {
		t.Errorf("the badge says %s, the 30-day worklist counts %d", badge, worklist)
	}
	b.Axe(t, "expiry worklist")
	b.Do(t, chromedp.Focus(chromedp.CSS(`[data-testid="days-90"]`)), chromedp.KeyEvent(kb.Enter))
	waitLoaded(t, b, `location.search.includes("days=90")`)
	b.Do(t, chromedp.WaitVisible(chromedp.CSS(`[data-testid="days-90"][aria-current="page"]`)))
	if rows := browsertest.Get(t, b, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="expiring-row"]').length`)); rows < worklist {
		t.Errorf("90 days list %d policies, fewer than 30 days' %d", rows, worklist)
	}
	b.Axe(t, "expiry worklist, 90 days")
	screenshot(t, b, "expiring")

	// A refused custom range says so at the fields.
	b.Do(t, chromedp.Navigate(d.url+"/review?period=custom&from=2026-05-02&to=2026-05-01"), chromedp.WaitVisible(chromedp.CSS(`[data-testid="period-error"]`)))
	b.Axe(t, "overview, refused custom range")
	screenshot(t, b, "review-refused")
	if p := b.ProblemsExcept("status of 400"); len(p) > 0 {
		t.Errorf("the manager's pages logged problems:\n%s", strings.Join(p, "\n"))
	}

	// Staff save the paid policies as a view, by keyboard.
	s := browsertest.New(t, 180*time.Second)
	signInWith(t, s, d, sandbox.KeyASecretTest)
	s.Do(t, chromedp.Navigate(d.url+"/policies?status=paid"), chromedp.WaitVisible(chromedp.CSS(`[data-testid="list-tools"]`)))
	s.WaitReady(t)
	total := listTotal(t, s)
	if total == 0 {
		t.Fatal("no paid policy to save a view of")
	}
	tabTo(t, s, `.save-view > summary`, 80)
	s.Do(t, chromedp.KeyEvent(kb.Enter))
	tabTo(t, s, `#view-name`, 3)
	// Enter on an empty name: refused in place, the field marked and
	// focused again.
	s.Do(t, chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.CSS(`[data-testid="view-name-error"]`)))
	s.WaitSettled(t)
	if !focused(t, s, `#view-name`) {
		t.Error("after the refused name the focus is not on the name field")
	}
	s.Axe(t, "save form, refused name")
	screenshot(t, s, "save-refused")
	const name = "Paid, for the e2e test"
	s.Do(t, chromedp.KeyEvent(name), chromedp.KeyEvent(kb.Enter))
	s.Do(t, chromedp.WaitVisible(chromedp.CSS(`[data-testid="open-view"]`)))
	waitPath(t, s, "/policies")
	s.WaitReady(t)
	if got := strings.TrimSpace(browsertest.Get(t, s, chromedp.Text(chromedp.CSS(`[data-testid="open-view-name"]`)))); got != name {
		t.Errorf("the open view is %q, want %q", got, name)
	}
	navNames := browsertest.Get(t, s, chromedp.Evaluate[[]string](`[...document.querySelectorAll('[data-testid="nav-view"]')].map(a => a.textContent.trim())`))
	if len(navNames) != 1 || navNames[0] != name {
		t.Errorf("the navigation lists the views %q", navNames)
	}
	s.Axe(t, "list, saved view open")
	screenshot(t, s, "view-open")

	// Open it from the navigation, by keyboard.
	s.Do(t, chromedp.Navigate(d.url+"/policies"), chromedp.WaitVisible(chromedp.CSS(`[data-testid="nav-views"]`)))
	s.WaitReady(t)
	s.Do(t, chromedp.Focus(chromedp.CSS(`[data-testid="nav-views"] > summary`)), chromedp.KeyEvent(kb.Enter))
	browsertest.Get(t, s, chromedp.Poll[bool](`document.querySelector('[data-testid="nav-views"]').open`, chromedp.WithPollingTimeout(5*time.Second)))
	s.Axe(t, "navigation, saved views unfolded")
	screenshot(t, s, "nav-views")
	tabTo(t, s, `[data-testid="nav-view"]`, 3)
	s.Do(t, chromedp.KeyEvent(kb.Enter))
	waitLoaded(t, s, `location.search.includes("view=")`)
	s.Do(t, chromedp.WaitVisible(chromedp.CSS(`[data-testid="open-view"]`)))
	s.WaitReady(t)
	if cur := browsertest.Get(t, s, chromedp.Evaluate[string](`document.querySelector('[data-testid="nav-view"]').getAttribute("aria-current") || ""`)); cur != "page" {
		t.Errorf("the open view's navigation link has aria-current %q", cur)
	}
	if got := listTotal(t, s); got != total {
		t.Errorf("the view lists %d policies, the list it was saved from %d", got, total)
	}

	// Export it as CSV: the progress comes into the list, then the link.
	s.Do(t, chromedp.Focus(chromedp.CSS(`[data-testid="export-csv"]`)), chromedp.KeyEvent(kb.Enter))
	s.Do(t, chromedp.WaitVisible(chromedp.CSS(`#export-status [data-testid="export-job"]`)))
	s.WaitSettled(t)
	s.Axe(t, "list, export started")
	s.Do(t, chromedp.WaitVisible(chromedp.CSS(`#export-status [data-testid="export-download"]`)))
	s.WaitSettled(t)
	s.Axe(t, "list, export done")
	screenshot(t, s, "export-list")
	href := browsertest.Get(t, s, chromedp.Evaluate[string](`document.querySelector('[data-testid="export-download"]').getAttribute("href")`))
	ctype, disp, body := download(t, s, href)
	if !strings.HasPrefix(ctype, "text/csv") || !strings.Contains(disp, "attachment") {
		t.Errorf("the file comes as %q, %q", ctype, disp)
	}
	records, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(body, []byte("\xef\xbb\xbf")))).ReadAll()
	if err != nil {
		t.Fatalf("the CSV does not parse: %v", err)
	}
	if len(records)-1 != total {
		t.Errorf("the CSV has %d rows under its header, the list %d", len(records)-1, total)
	}

	// The export's own page (where the browser lands without JavaScript).
	s.Do(t, chromedp.Navigate(d.url+strings.TrimSuffix(href, "/file")), chromedp.WaitVisible(chromedp.CSS(`[data-testid="export-download"]`)))
	s.Axe(t, "export page, done")
	screenshot(t, s, "export-page")

	// The column chooser, by keyboard: unfold it, Space on the email's
	// box, Tab to its button, Enter; the list comes back without it.
	s.Do(t, chromedp.Navigate(d.url+"/policies?status=paid"), chromedp.WaitVisible(chromedp.CSS(`[data-testid="column-chooser"]`)))
	s.WaitReady(t)
	s.Do(t, chromedp.Focus(chromedp.CSS(`[data-testid="column-chooser"] > summary`)), chromedp.KeyEvent(kb.Enter))
	tabTo(t, s, `#col-email`, 6)
	s.Do(t, chromedp.KeyEvent(" "))
	s.Axe(t, "list, column chooser unfolded")
	screenshot(t, s, "columns")
	tabTo(t, s, `[data-testid="columns-apply"]`, 12)
	s.Do(t, chromedp.KeyEvent(kb.Enter))
	waitLoaded(t, s, `![...document.querySelectorAll('#policy-table thead th')].some(th => /email/i.test(th.textContent)) && !!document.querySelector('[data-testid="policy-row"]')`)
	s.WaitReady(t)
	if got := listTotal(t, s); got != total {
		t.Errorf("without the email column the list counts %d, before %d", got, total)
	}
	s.Axe(t, "list, fewer columns")

	// The refused name's 400 was provoked on purpose.
	if p := s.ProblemsExcept("status of 400"); len(p) > 0 {
		t.Errorf("the staff pages logged problems:\n%s", strings.Join(p, "\n"))
	}
}
