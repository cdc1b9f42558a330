package kasko_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"backoffice/internal/audit"
	"backoffice/internal/sandbox"
	"backoffice/internal/tokens"
	"backoffice/web/webtest"
)

// slowInsurer is how long the sandbox takes to answer in these tests: a
// person has time to click again, and the browser gives up on the first
// request.
const slowInsurer = 1500 * time.Millisecond

// newSlowServer is a dashboard whose upstream calls may take longer than
// the sandbox's slowness, so that every outcome here is an answer.
func newSlowServer(t *testing.T) *webtest.Server {
	t.Helper()
	return webtest.NewServer(t, webtest.Options{Sandbox: sandbox.Options{Policies: 60, CancelDelay: time.Hour}, UpstreamTimeout: 5 * time.Second})
}

// TestCancelDoubleClickOnASlowInsurer: "Confirm" clicked twice 200 ms
// apart while the insurer takes 1.5 s; the browser drops the first
// request. The cancellation is sent once, finishes although its request
// is gone, is on the record, and the second click lands on its result.
func TestCancelDoubleClickOnASlowInsurer(t *testing.T) {
	t.Parallel()
	srv := newSlowServer(t)
	b := srv.SignedIn(t, sandbox.KeyASecretTest)
	token := openCancelForm(t, b, fixturePath)
	srv.Upstream.Sandbox.SetFaults(sandbox.Faults{Latency: slowInsurer})
	start := time.Now()
	r := b.DoubleSubmit(cancelPath, cancelForm(token, "confirm"), 200*time.Millisecond)
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), cancelPath+"/progress?version=") {
		t.Fatalf("second click = %d to %q, want the progress of the accepted cancellation\n%.500s", r.Status, r.Header.Get("Location"), r.Body)
	}
	if waited := time.Since(start); waited < slowInsurer {
		t.Errorf("answered after %v: the second click did not wait for the first one's outcome", waited)
	}
	if n := srv.Upstream.Sandbox.Calls(sandbox.RouteCancelPolicy); n != 1 {
		t.Errorf("upstream cancellations = %d, want 1", n)
	}
	entries := srv.AuditEntries(t)
	if len(entries) != 1 || entries[0].Action != audit.ActionCancel || entries[0].Outcome != audit.OutcomeAccepted {
		t.Fatalf("audit = %+v, want the one accepted cancellation", entries)
	}
	srv.Upstream.Sandbox.SetFaults(sandbox.Faults{})
	if p := b.Page(t, r.Header.Get("Location"), http.StatusOK); p.Doc.Find(`[data-mode="progress"]`).Length() != 1 {
		t.Errorf("the result page does not follow the cancellation\n%.500s", p.Body)
	}
}

// TestCancelAbandonedStillRecorded: the only click's request is dropped
// by the browser before the slow insurer answers; the cancellation still
// finishes and is recorded, and sending the form again later shows that
// outcome instead of cancelling twice.
func TestCancelAbandonedStillRecorded(t *testing.T) {
	t.Parallel()
	srv := newSlowServer(t)
	b := srv.SignedIn(t, sandbox.KeyASecretTest)
	token := openCancelForm(t, b, fixturePath)
	srv.Upstream.Sandbox.SetFaults(sandbox.Faults{Latency: slowInsurer})
	ctx, cancel := contextWithTimeout(300 * time.Millisecond)
	defer cancel()
	if _, err := b.PostContext(ctx, cancelPath, cancelForm(token, "confirm")); err == nil {
		t.Fatal("the abandoned request got an answer")
	}
	waitFor(t, 5*time.Second, func() bool {
		e := srv.AuditEntries(t)
		return len(e) == 1 && e[0].Outcome == audit.OutcomeAccepted
	})
	srv.Upstream.Sandbox.SetFaults(sandbox.Faults{})
	r := b.Post(cancelPath, cancelForm(token, "confirm"))
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), cancelPath+"/progress?version=") {
		t.Errorf("sent again = %d to %q, want the recorded outcome", r.Status, r.Header.Get("Location"))
	}
	if n := srv.Upstream.Sandbox.Calls(sandbox.RouteCancelPolicy); n != 1 {
		t.Errorf("upstream cancellations = %d, want 1", n)
	}
}

// TestPushDoubleClickOnASlowInsurer: the same for creating a policy.
func TestPushDoubleClickOnASlowInsurer(t *testing.T) {
	t.Parallel()
	srv := newSlowServer(t)
	b := srv.SignedIn(t, sandbox.KeyASecretTest)
	form := pushValues(newPushForm(t, b))
	srv.Upstream.Sandbox.SetFaults(sandbox.Faults{Latency: slowInsurer})
	r := b.DoubleSubmit("/policies/new", form, 200*time.Millisecond)
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/pushes/") {
		t.Fatalf("second click = %d to %q, want the push result\n%.500s", r.Status, r.Header.Get("Location"), r.Body)
	}
	if n := srv.Upstream.Sandbox.Calls(sandbox.RoutePush); n != 1 {
		t.Errorf("upstream pushes = %d, want 1", n)
	}
	entries := srv.AuditEntries(t)
	if len(entries) != 1 || entries[0].Action != audit.ActionCreate || entries[0].Outcome != audit.OutcomeCompleted || entries[0].Reference == "" {
		t.Fatalf("audit = %+v, want the one completed creation with its reference", entries)
	}
	if !strings.HasSuffix(r.Header.Get("Location"), "/"+entries[0].Reference) {
		t.Errorf("result %q is not the recorded push %q", r.Header.Get("Location"), entries[0].Reference)
	}
}

// TestFormReopenedKeepsItsToken: opening the new-policy form again and
// again (reloads, tabs) reuses its one open token, so the store does not
// grow with page views; once sent, the next visit opens a new form.
func TestFormReopenedKeepsItsToken(t *testing.T) {
	t.Parallel()
	srv := newCancelServer(t, sandbox.Options{})
	b := srv.SignedIn(t, sandbox.KeyASecretTest)
	first := newPushForm(t, b)
	for range 20 {
		if again := newPushForm(t, b); again != first {
			t.Fatalf("reopened form has token %q, want %q", again, first)
		}
	}
	if r := b.Post("/policies/new", pushValues(first)); r.Status != http.StatusSeeOther {
		t.Fatalf("push = %d", r.Status)
	}
	if next := newPushForm(t, b); next == first {
		t.Error("a sent form was opened again for a new policy")
	}
	// Another session of the same key has a form of its own.
	if other := newPushForm(t, srv.SignedIn(t, sandbox.KeyASecretTest)); other == first {
		t.Error("two sessions share a form")
	}
}

func contextWithTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}

func waitFor(t *testing.T, limit time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v", limit)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestSecondTabWithOtherDetailsIsNotDropped: two tabs of one session
// share the open new-policy form. The first tab creates a policy; the
// second, with another holder, is not answered with the first's result
// as if it were its own: its details stay, on a fresh form, with a
// warning, and nothing more was sent.
func TestSecondTabWithOtherDetailsIsNotDropped(t *testing.T) {
	t.Parallel()
	srv := newCancelServer(t, sandbox.Options{})
	b := srv.SignedIn(t, sandbox.KeyASecretTest)
	token := newPushForm(t, b)
	if r := b.Post("/policies/new", pushValues(token)); r.Status != http.StatusSeeOther {
		t.Fatalf("first tab = %d", r.Status)
	}
	other := pushValues(token)
	other.Set("first_name", "Hans")
	r := b.Post("/policies/new", other)
	if r.Status != http.StatusConflict {
		t.Fatalf("second tab with other details = %d to %q, want 409 with the form", r.Status, r.Header.Get("Location"))
	}
	if msg := webtest.Text(r.Doc.Find(`[data-testid="alert"]`)); !strings.Contains(msg, "already sent from another tab") {
		t.Errorf("alert = %q", msg)
	}
	if got := r.Doc.Find(`input[name="first_name"]`).AttrOr("value", ""); got != "Hans" {
		t.Errorf("the second tab's input was not kept: first_name %q", got)
	}
	if fresh := r.Doc.Find(`input[name="token"]`).AttrOr("value", ""); fresh == "" || fresh == token {
		t.Errorf("the kept input is on token %q, want a fresh form", fresh)
	}
	if n := srv.Upstream.Sandbox.Calls(sandbox.RoutePush); n != 1 {
		t.Errorf("upstream pushes = %d, want 1", n)
	}
	// The same details again are the same submission: its outcome.
	if again := b.Post("/policies/new", pushValues(token)); again.Status != http.StatusSeeOther || !strings.HasPrefix(again.Header.Get("Location"), "/pushes/") {
		t.Errorf("the first details sent again = %d to %q, want the first result", again.Status, again.Header.Get("Location"))
	}
}

// TestReplayFitsTheRequest: a form sent by htmx (answered with
// HX-Redirect) and sent again as a plain form after Back gets a 303 to
// the same place, not an empty 204.
func TestReplayFitsTheRequest(t *testing.T) {
	t.Parallel()
	srv := newCancelServer(t, sandbox.Options{})
	b := srv.SignedIn(t, sandbox.KeyASecretTest)
	form := pushValues(newPushForm(t, b))
	first := b.Post("/policies/new", form, "HX-Request", "true")
	target := first.Header.Get("HX-Redirect")
	if first.Status != http.StatusNoContent || !strings.HasPrefix(target, "/pushes/") {
		t.Fatalf("htmx submission = %d, HX-Redirect %q", first.Status, target)
	}
	plain := b.Post("/policies/new", form)
	if plain.Status != http.StatusSeeOther || plain.Header.Get("Location") != target {
		t.Errorf("plain resubmission = %d to %q, want 303 to %q", plain.Status, plain.Header.Get("Location"), target)
	}
	if n := srv.Upstream.Sandbox.Calls(sandbox.RoutePush); n != 1 {
		t.Errorf("upstream pushes = %d, want 1", n)
	}
}

// failingClaims is a token store whose claims fail, as a store that
// times out after it may have applied the claim.
type failingClaims struct{ tokens.Store }

func (failingClaims) Claim(context.Context, string) (bool, error) {
	return false, errors.New("store timed out")
}

// TestClaimFailureIsAnUnknownOutcome: when the store cannot say whether
// the form was claimed, nothing is sent, and the page checks the policy
// instead of showing a 500 or inviting a blind second try.
func TestClaimFailureIsAnUnknownOutcome(t *testing.T) {
	t.Parallel()
	srv := webtest.NewServer(t, webtest.Options{Sandbox: sandbox.Options{Policies: 60}, Tokens: failingClaims{tokens.NewMemory()}})
	b := srv.SignedIn(t, sandbox.KeyASecretTest)
	token := openCancelForm(t, b, fixturePath)
	r := b.Post(cancelPath, cancelForm(token, "confirm"))
	if r.Status != http.StatusBadGateway || r.Doc.Find(`[data-mode]`).AttrOr("data-mode", "") != "watch" {
		t.Fatalf("claim failure = %d mode %q, want 502 with the watch panel", r.Status, r.Doc.Find(`[data-mode]`).AttrOr("data-mode", ""))
	}
	if n := srv.Upstream.Sandbox.Calls(sandbox.RouteCancelPolicy); n != 0 {
		t.Errorf("upstream cancellations = %d, want none", n)
	}
}
