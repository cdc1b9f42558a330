package main

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"backoffice/internal/browsertest"
	"backoffice/internal/sandbox"
)

// screenshot saves the page when SCREENSHOT_DIR is set, for a person to
// look at; it asserts nothing.
func screenshot(t *testing.T, b *browsertest.Browser, name string) {
	t.Helper()
	dir := os.Getenv("SCREENSHOT_DIR")
	if dir == "" {
		return
	}
	png := browsertest.Get(t, b, chromedp.FullScreenshot(100))
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Log(err)
	}
}

// TestBrowserPolicyListAndDetail: list, sort by a column, page size 50,
// page 3, open a policy, its dates show its zone, download a document
// (the bytes are a PDF), and Back restores page 3 with its sort.
func TestBrowserPolicyListAndDetail(t *testing.T) {
	d := startDashboard(t, nil)
	b := browsertest.New(t, 90*time.Second)

	b.Do(t,
		chromedp.Navigate(d.url+"/signin"),
		chromedp.Click(chromedp.CSS(`[data-testid="demo-key"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="policy-table"]`)),
	)
	// The list is the index's: during its first sync it holds only the
	// rows synced so far (and says so), and this walk pages to page 3.
	waitIndexed(t, b, d.url+"/policies")
	if n := browsertest.Get(t, b, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="policy-row"]').length`)); n != 20 {
		t.Errorf("first page rows = %d, want 20", n)
	}
	screenshot(t, b, "list")
	browsertest.Get(t, b, chromedp.Evaluate[bool](`window.__sameDocument = true`))

	// Sort by holder (an htmx swap of the table; the URL follows).
	b.Do(t, chromedp.Click(chromedp.CSS(`th:nth-child(2) a[data-testid="sort-link"]`)))
	browsertest.Get(t, b, chromedp.Poll[bool](`!!document.querySelector('th:nth-child(2)[aria-sort="ascending"]')`, chromedp.WithPollingTimeout(10*time.Second)))
	b.WaitSettled(t)
	loc := browsertest.Get(t, b, chromedp.Location())
	if !strings.Contains(loc, "sort=last_name") {
		t.Errorf("after sorting the URL is %q, want sort=last_name", loc)
	}
	names := browsertest.Get(t, b, chromedp.Evaluate[[]string](`[...document.querySelectorAll('[data-testid="policy-row"] td:nth-child(2)')].map(td => td.textContent.split(' ').slice(-1)[0])`))
	for i := 1; i < len(names); i++ {
		if strings.Compare(strings.ToLower(names[i-1]), strings.ToLower(names[i])) > 0 && !strings.ContainsAny(names[i-1]+names[i], "ĀāČčĒēĢģĪīĶķĻļŅņŠšŪūŽžÄäÖöÜüßĂăÂâÎîȘșȚț") {
			t.Errorf("rows not sorted by last name: %q before %q", names[i-1], names[i])
		}
	}

	// Page size 50, then page 3; each click waits for its swap to land.
	settled := func(js string) {
		t.Helper()
		browsertest.Get(t, b, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(10*time.Second)))
		b.WaitSettled(t)
	}
	b.Do(t, chromedp.Click(chromedp.CSS(`[data-testid="sizes"] a[href*="size=50"]`)))
	settled(`document.querySelectorAll('[data-testid="policy-row"]').length === 50 && !document.querySelector('.htmx-request')`)
	b.Do(t, chromedp.Click(chromedp.CSS(`[data-testid="pager"] a[aria-label="Page 3"]`)))
	settled(`(document.querySelector('[data-testid="pager"] .current') || {}).textContent === "3" && !document.querySelector('.htmx-request')`)
	listURL := browsertest.Get(t, b, chromedp.Location())
	u, _ := url.Parse(listURL)
	if q := u.Query(); q.Get("page") != "3" || q.Get("size") != "50" || q.Get("sort") != "last_name" {
		t.Errorf("list URL = %q, want page 3, size 50, sort last_name", listURL)
	}
	if r := browsertest.Get(t, b, chromedp.Text(chromedp.CSS(`[data-testid="range"]`))); !strings.HasPrefix(r, "101–150 of ") {
		t.Errorf("range = %q, want 101–150 of …", r)
	}
	if same := browsertest.Get(t, b, chromedp.Evaluate[bool](`window.__sameDocument === true`)); !same {
		t.Error("sorting and paging reloaded the page instead of swapping the table")
	}

	// Open the fixture policy through the find box: its dates are in Riga.
	// The id is pasted (no typing, so no live search leaves the list
	// first) and submitted.
	browsertest.Get(t, b, chromedp.Evaluate[bool](`document.querySelector('#find-q').value = "TEST-TESTE76R4R7D", true`))
	b.Do(t,
		chromedp.Submit(chromedp.CSS("#find-q")),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="cover"]`)),
	)
	if z := browsertest.Get(t, b, chromedp.Text(chromedp.CSS(`[data-testid="zone"]`))); !strings.Contains(z, "Europe/Riga (UTC+0") {
		t.Errorf("zone line = %q, want Europe/Riga with its offset", z)
	}
	if vt := browsertest.Get(t, b, chromedp.Text(chromedp.CSS(`[data-testid="viewer-time"]`))); vt == "" {
		t.Error("the viewer's local time is not shown next to the policy's")
	}
	screenshot(t, b, "detail")
	head := browsertest.Get(t, b, chromedp.Evaluate[string](`fetch(document.querySelector('[data-testid="document-link"]').href).then(r => r.arrayBuffer()).then(b => String.fromCharCode(...new Uint8Array(b).slice(0, 5)))`, chromedp.EvalAwaitPromise))
	if head != "%PDF-" {
		t.Errorf("document starts with %q, want %%PDF-", head)
	}

	// Back to the list (through history twice: detail → list page 3).
	b.Do(t, chromedp.NavigateBack())
	b.Do(t, chromedp.WaitVisible(chromedp.CSS(`[data-testid="policy-row"]`)))
	back := browsertest.Get(t, b, chromedp.Location())
	bu, _ := url.Parse(back)
	if q := bu.Query(); q.Get("page") != "3" || q.Get("sort") != "last_name" {
		t.Errorf("Back went to %q, want page 3 sorted by last_name", back)
	}
	if r := browsertest.Get(t, b, chromedp.Text(chromedp.CSS(`[data-testid="range"]`))); !strings.HasPrefix(r, "101–150 of ") {
		t.Errorf("after Back the range is %q, want 101–150", r)
	}

	// Times in the viewer's zone: the browser reports its zone itself.
	if _, err := chromedp.Call(b.Ctx, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "America/New_York"}); err != nil {
		t.Fatal(err)
	}
	b.Do(t,
		chromedp.Reload(),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="policy-row"]`)),
	)
	b.WaitReady(t)
	// The mark on this document tells the page the submit leads to from
	// it: waiting for a row alone could find this page's, about to go.
	b.Do(t,
		chromedp.Evaluate[chromedp.Void](`document.body.dataset.before = "times"`),
		chromedp.SetValue(chromedp.CSS("#times-select"), "viewer"),
		chromedp.Submit(chromedp.CSS("#times-select")),
	)
	waitLoaded(t, b, `!document.body.dataset.before && !!document.querySelector('[data-testid="policy-row"]')`)
	b.Do(t,
		chromedp.Navigate(d.url+"/policies/"+sandbox.FixturePolicyID),
		chromedp.WaitVisible(chromedp.CSS(`[data-testid="cover"]`)),
	)
	if z := browsertest.Get(t, b, chromedp.Text(chromedp.CSS(`[data-testid="zone"]`))); !strings.Contains(z, "America/New_York") || !strings.Contains(z, "Europe/Riga") {
		t.Errorf("after choosing my time zone the zone line is %q, want New York's with Riga named", z)
	}
	if n := browsertest.Get(t, b, chromedp.Evaluate[int](`document.querySelectorAll('[data-testid="day-differs"]').length`)); n == 0 {
		t.Error("midnight in Riga is the day before in New York, but no date is flagged")
	}
	if p := b.ProblemsExcept(); len(p) > 0 {
		t.Errorf("the pages logged problems:\n%s", strings.Join(p, "\n"))
	}
}
