package kasko_test

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"backoffice/internal/audit"
	"backoffice/internal/sandbox"
	"backoffice/internal/tokens"
	"backoffice/web/webtest"
)

// TestFormOpenedOnOneInstanceSentToAnother: behind a balancer without
// stickiness, a form opened on instance A is sent to B; B accepts it, and
// the upstream sees one cancellation.
func TestFormOpenedOnOneInstanceSentToAnother(t *testing.T) {
	t.Parallel()
	a := newCancelServer(t, sandbox.Options{CancelDelay: time.Hour})
	b := a.SecondInstance(t)
	onA := a.SignedIn(t, sandbox.KeyASecretTest)
	onB := onA.On(b)
	token := openCancelForm(t, onA, fixturePath)
	r := onB.Post(cancelPath, cancelForm(token, "confirm"))
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), cancelPath+"/progress?version=") {
		t.Fatalf("form from A sent to B = %d to %q\n%.500s", r.Status, r.Header.Get("Location"), r.Body)
	}
	// Sent again, to A this time: the same answer, no second request.
	again := onA.Post(cancelPath, cancelForm(token, "confirm"))
	if again.Status != r.Status || again.Header.Get("Location") != r.Header.Get("Location") {
		t.Errorf("sent again to A = %d to %q, want B's answer", again.Status, again.Header.Get("Location"))
	}
	if n := a.Upstream.Sandbox.Calls(sandbox.RouteCancelPolicy); n != 1 {
		t.Errorf("upstream cancellations = %d, want 1", n)
	}
}

// TestDoubleClickSplitAcrossInstances: the balancer sends the first click
// to A and the second, 200 ms later, to B, with the insurer taking 1.5 s
// and the browser dropping the first request: one upstream write, and B
// answers with A's outcome.
func TestDoubleClickSplitAcrossInstances(t *testing.T) {
	t.Parallel()
	a := webtest.NewServer(t, webtest.Options{Sandbox: sandbox.Options{Policies: 60, CancelDelay: time.Hour}, UpstreamTimeout: 5 * time.Second})
	b := a.SecondInstance(t)
	onA := a.SignedIn(t, sandbox.KeyASecretTest)
	onB := onA.On(b)
	form := pushValues(newPushForm(t, onA))
	a.Upstream.Sandbox.SetFaults(sandbox.Faults{Latency: slowInsurer})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, _ = onA.PostContext(ctx, "/policies/new", form)
	r := onB.Post("/policies/new", form)
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/pushes/") {
		t.Fatalf("second click on B = %d to %q, want A's push result\n%.500s", r.Status, r.Header.Get("Location"), r.Body)
	}
	if n := a.Upstream.Sandbox.Calls(sandbox.RoutePush); n != 1 {
		t.Errorf("upstream pushes = %d, want 1", n)
	}
	if e := a.AuditEntries(t); len(e) != 1 || e[0].Outcome != audit.OutcomeCompleted {
		t.Errorf("audit = %+v, want one completed push", e)
	}
}

// TestFormSurvivesARestart: the form tokens are in a file (SQLite, the
// default store): an instance started afresh on it accepts a form that
// the one before opened.
func TestFormSurvivesARestart(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "tokens.db")
	before, err := tokens.Open(context.Background(), tokens.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { before.Close() })
	a := webtest.NewServer(t, webtest.Options{Sandbox: sandbox.Options{Policies: 60, CancelDelay: time.Hour}, Tokens: before})
	browser := a.SignedIn(t, sandbox.KeyASecretTest)
	token := openCancelForm(t, browser, fixturePath)

	after, err := tokens.Open(context.Background(), tokens.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { after.Close() })
	a.Tokens = after // the next instance opens the file anew
	restarted := a.SecondInstance(t)
	r := browser.On(restarted).Post(cancelPath, cancelForm(token, "confirm"))
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), cancelPath+"/progress?version=") {
		t.Fatalf("form sent after the restart = %d to %q\n%.500s", r.Status, r.Header.Get("Location"), r.Body)
	}
}

// TestOperationEndRecordedOnceAcrossInstances: the header badge and the
// progress panel poll a cancellation from two instances at once when it
// completes; its end goes on the record once.
func TestOperationEndRecordedOnceAcrossInstances(t *testing.T) {
	t.Parallel()
	a := newCancelServer(t, sandbox.Options{CancelDelay: 300 * time.Millisecond})
	b := a.SecondInstance(t)
	onA := a.SignedIn(t, sandbox.KeyASecretTest)
	onB := onA.On(b)
	token := openCancelForm(t, onA, fixturePath)
	r := onA.Post(cancelPath, cancelForm(token, "confirm"))
	if r.Status != http.StatusSeeOther {
		t.Fatalf("cancel = %d", r.Status)
	}
	time.Sleep(500 * time.Millisecond) // completed upstream; nobody has looked yet
	var wg sync.WaitGroup
	for _, br := range []*webtest.Browser{onA, onB, onA, onB} {
		wg.Go(func() { br.Get("/operations") })
	}
	wg.Wait()
	var ends int
	for _, e := range a.AuditEntries(t) {
		if e.Outcome == audit.OutcomeCompleted {
			ends++
		}
	}
	if ends != 1 {
		t.Errorf("completed entries = %d, want 1", ends)
	}
}
