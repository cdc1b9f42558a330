// Package browsertest starts Debian's headless Chromium for end-to-end
// tests and drives it through the DevTools protocol (chromedp).
package browsertest

import (
	"context"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"backoffice/internal/testenv"
)

// Browser is one headless Chromium and the messages its pages logged.
type Browser struct {
	// Ctx runs chromedp actions in the browser's first tab.
	Ctx context.Context

	mu       sync.Mutex
	problems []string
}

// chromiumPath finds the browser .ci/run installs.
func chromiumPath() string {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// New starts a headless Chromium with a fresh profile, closed when the
// test ends. Without Chromium the test is skipped loudly (failed in CI).
// timeout bounds the whole test's browser work.
func New(t *testing.T, timeout time.Duration) *Browser {
	t.Helper()
	path := chromiumPath()
	testenv.Require(t, path != "", "Chromium", "install Debian's chromium package (.ci/run does: apt-get install chromium)")

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoSandbox, // root in CI containers
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(1280, 900),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	ctx, cancelTimeout := context.WithTimeout(ctx, timeout)
	t.Cleanup(func() {
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
	})
	b := &Browser{Ctx: ctx}
	// The first call starts the browser. Its context carries the test's
	// deadline on purpose: when the deadline passes, the browser stops.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting Chromium (%s): %v", path, err)
	}
	b.listen()
	return b
}

// NewTab opens a second tab in the same browser (the same cookies, so
// the same sign-in), closed when the test ends.
func (b *Browser) NewTab(t *testing.T) *Browser {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b.Ctx)
	t.Cleanup(cancel)
	tab := &Browser{Ctx: ctx}
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("opening a tab: %v", err)
	}
	tab.listen()
	return tab
}

// listen records the errors and warnings the tab's pages log.
func (b *Browser) listen() {
	messages := chromedp.Console(b.Ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleWarning || m.IsException() {
				b.record(m.String())
			}
		}
	}()
}

func (b *Browser) record(s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.problems = append(b.problems, s)
}

// Problems returns the errors and warnings pages logged so far (script
// exceptions, CSP violations reported by the console, failed loads).
func (b *Browser) Problems() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.problems...)
}

// ProblemsExcept is Problems without the messages containing any of
// expected (a 422 the test provoked on purpose, say).
func (b *Browser) ProblemsExcept(expected ...string) []string {
	var out []string
outer:
	for _, p := range b.Problems() {
		for _, e := range expected {
			if strings.Contains(p, e) {
				continue outer
			}
		}
		out = append(out, p)
	}
	return out
}

// Do runs steps in order and fails the test on the first error.
func (b *Browser) Do(t *testing.T, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	// A step that waits for something that never comes ends well before
	// the browser's own deadline, so that the page can still be read to
	// say what it showed instead.
	ctx, cancel := context.WithTimeout(b.Ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("browser: %v\n%s", err, b.describe())
	}
}

// stepTimeout bounds one Do.
const stepTimeout = 60 * time.Second

// describe is the page's address, its focus and the start of its text,
// for a failure message.
func (b *Browser) describe() string {
	ctx, cancel := context.WithTimeout(b.Ctx, 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href + "\nfocus: " + (document.activeElement ? document.activeElement.outerHTML.slice(0, 200) : "none") + "\n" + document.body.innerText.slice(0, 3000)`))
	if err != nil {
		return "(the page could not be read: " + err.Error() + ")"
	}
	return "the page:\n" + s
}

// Get runs one action that returns a value and fails the test on error.
func Get[T any](t *testing.T, b *Browser, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(b.Ctx, a)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	return v
}

// WaitReady waits until the page has loaded and htmx has wired it up.
// Scripts are deferred, so an element can be visible before its links
// are enhanced; a click then would leave the page instead of swapping.
func (b *Browser) WaitReady(t *testing.T) {
	t.Helper()
	Get(t, b, chromedp.Poll[bool](`document.readyState === "complete" && !!window.htmx`, chromedp.WithPollingTimeout(15*time.Second)))
}

// WaitSettled waits until htmx has finished every request, swap and
// settle, and has wired up the links it swapped in. A click on a link
// that htmx has not processed yet is an ordinary navigation.
func (b *Browser) WaitSettled(t *testing.T) {
	t.Helper()
	Get(t, b, chromedp.Poll[bool](`!document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added') &&
		[...document.querySelectorAll('[hx-get], [hx-post]')].every(e => e['htmx-internal-data'])`, chromedp.WithPollingTimeout(15*time.Second)))
}
