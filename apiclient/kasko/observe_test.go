package kasko

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"backoffice/apiclient"
	"backoffice/internal/sandbox"
)

// attempt is one call of an Observer.
type attempt struct {
	upstream, op string
	status       int
	d            time.Duration
	err          error
}

// observed records what a client reports to its Observer.
type observed struct {
	mu  sync.Mutex
	got []attempt
}

func (o *observed) observe(upstream, op string, status int, d time.Duration, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.got = append(o.got, attempt{upstream, op, status, d, err})
}

// take returns the attempts seen since the last take.
func (o *observed) take() []attempt {
	o.mu.Lock()
	defer o.mu.Unlock()
	got := o.got
	o.got = nil
	return got
}

// mustOne returns the one attempt seen since the last take.
func (o *observed) mustOne(t *testing.T, what string) attempt {
	t.Helper()
	got := o.take()
	if len(got) != 1 {
		t.Fatalf("%s: got %d attempts %+v, want 1", what, len(got), got)
	}
	if got[0].upstream != "kasko" || strings.Contains(got[0].op, "tpol_") || got[0].d <= 0 {
		t.Errorf("%s: got %+v, want upstream kasko, an op without ids and a duration", what, got[0])
	}
	return got[0]
}

func TestObserver(t *testing.T) {
	srv, _ := startSandbox(t, sandbox.Options{})
	ctx := context.Background()
	var o observed
	c := sandboxClient(t, srv, sandbox.KeyASecretTest, WithObserver(o.observe))

	p := mustGet(t, c, sandbox.FixturePolicyID)
	if a := o.mustOne(t, "success"); a.op != "GET /policies/{id}" || a.status != 200 || a.err != nil {
		t.Errorf("success: got %+v, want GET /policies/{id} 200 nil", a)
	}

	_, err := c.GetPolicy(ctx, "tpol_doesnotexist")
	if a := o.mustOne(t, "404"); a.status != 404 || !errors.Is(a.err, apiclient.ErrNotFound) || a.err != err {
		t.Errorf("404: got %+v, want 404 and the error returned (%v)", a, err)
	}

	srv.Sandbox.SetFaults(sandbox.Faults{ErrorRate: 1})
	_, err = c.ListPolicies(ctx, ListParams{})
	if a := o.mustOne(t, "5xx"); a.op != "GET /policies" || a.status < 500 || !errors.Is(a.err, apiclient.ErrUnavailable) || a.err != err {
		t.Errorf("5xx: got %+v, want GET /policies 5xx ErrUnavailable", a)
	}

	srv.Sandbox.SetFaults(sandbox.Faults{MalformedRate: 1})
	_, err = c.GetPolicy(ctx, sandbox.FixturePolicyID)
	if a := o.mustOne(t, "malformed"); a.status != 200 || !errors.Is(a.err, apiclient.ErrInvalidResponse) || a.err != err {
		t.Errorf("malformed: got %+v, want 200 ErrInvalidResponse", a)
	}

	srv.Sandbox.SetFaults(sandbox.Faults{Latency: 500 * time.Millisecond})
	slow := sandboxClient(t, srv, sandbox.KeyASecretTest, WithObserver(o.observe), WithTimeout(50*time.Millisecond))
	_, err = slow.GetPolicy(ctx, sandbox.FixturePolicyID)
	a := o.mustOne(t, "timeout")
	if a.status != 0 || !errors.Is(a.err, context.DeadlineExceeded) || a.err != err {
		t.Errorf("timeout: got %+v, want status 0 and DeadlineExceeded", a)
	}
	if a.d < 50*time.Millisecond || a.d >= 500*time.Millisecond {
		t.Errorf("timeout: got duration %v, want the 50ms timeout", a.d)
	}
	srv.Sandbox.SetFaults(sandbox.Faults{})

	// Refused before sending: no attempt.
	if _, err := c.WithKey("").GetPolicy(ctx, sandbox.FixturePolicyID); err == nil {
		t.Fatal("GetPolicy without a key: got nil error")
	}
	if _, err := c.GetPolicy(ctx, ".."); err == nil {
		t.Fatal(`GetPolicy(".."): got nil error`)
	}
	if got := o.take(); len(got) != 0 {
		t.Errorf("refused calls: got attempts %+v, want none", got)
	}

	// A download is over when its body is closed.
	d, err := c.DownloadAsset(ctx, p.Assets[0].DownloadURL())
	if err != nil {
		t.Fatal(err)
	}
	if got := o.take(); len(got) != 0 {
		t.Errorf("open download: got attempts %+v, want none before Close", got)
	}
	_, _ = io.Copy(io.Discard, d.Body)
	d.Body.Close()
	if a := o.mustOne(t, "download"); a.op != "GET asset" || a.status != 200 || a.err != nil {
		t.Errorf("download: got %+v, want GET asset 200 nil", a)
	}
}

func TestWithObserverRejectsNil(t *testing.T) {
	if _, err := New("http://h", WithObserver(nil)); err == nil || !strings.HasPrefix(err.Error(), "kasko: ") {
		t.Errorf("WithObserver(nil): got %v, want a kasko: error", err)
	}
}
