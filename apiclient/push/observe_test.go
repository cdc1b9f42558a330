package push_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"backoffice/apiclient"
	"backoffice/apiclient/push"
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

// mustOne returns the one attempt seen since the last call.
func (o *observed) mustOne(t *testing.T, what string) attempt {
	t.Helper()
	o.mu.Lock()
	got := o.got
	o.got = nil
	o.mu.Unlock()
	if len(got) != 1 {
		t.Fatalf("%s: got %d attempts %+v, want 1", what, len(got), got)
	}
	if got[0].upstream != "push" || got[0].op != "POST /" || got[0].d <= 0 {
		t.Errorf("%s: got %+v, want push POST / with a duration", what, got[0])
	}
	return got[0]
}

func TestObserver(t *testing.T) {
	srv := startSandbox(t)
	ctx := context.Background()
	var o observed
	c := mustClient(t, srv.PushURL, push.WithObserver(o.observe)).WithKey(sandbox.KeyASecretTest)

	if _, err := c.CreatePolicy(ctx, sampleRequest()); err != nil {
		t.Fatal(err)
	}
	if a := o.mustOne(t, "success"); a.status != 200 || a.err != nil {
		t.Errorf("success: got %+v, want 200 nil", a)
	}

	srv.Sandbox.SetFaults(sandbox.Faults{RejectPushes: 400})
	_, err := c.CreatePolicy(ctx, sampleRequest())
	if a := o.mustOne(t, "400"); a.status != 400 || !errors.Is(a.err, apiclient.ErrBadRequest) || a.err != err {
		t.Errorf("400: got %+v, want 400 ErrBadRequest (%v)", a, err)
	}

	srv.Sandbox.SetFaults(sandbox.Faults{ErrorRate: 1})
	_, err = c.CreatePolicy(ctx, sampleRequest())
	if a := o.mustOne(t, "5xx"); a.status < 500 || !errors.Is(a.err, apiclient.ErrUnavailable) || a.err != err {
		t.Errorf("5xx: got %+v, want 5xx ErrUnavailable", a)
	}

	srv.Sandbox.SetFaults(sandbox.Faults{MalformedRate: 1})
	_, err = c.CreatePolicy(ctx, sampleRequest())
	if a := o.mustOne(t, "malformed"); a.status != 200 || !errors.Is(a.err, apiclient.ErrInvalidResponse) || a.err != err {
		t.Errorf("malformed: got %+v, want 200 ErrInvalidResponse", a)
	}

	srv.Sandbox.SetFaults(sandbox.Faults{Latency: 500 * time.Millisecond})
	slow := mustClient(t, srv.PushURL, push.WithObserver(o.observe), push.WithTimeout(50*time.Millisecond)).WithKey(sandbox.KeyASecretTest)
	_, err = slow.CreatePolicy(ctx, sampleRequest())
	a := o.mustOne(t, "timeout")
	if a.status != 0 || !errors.Is(a.err, context.DeadlineExceeded) || a.err != err || a.d < 50*time.Millisecond || a.d >= 500*time.Millisecond {
		t.Errorf("timeout: got %+v, want status 0, DeadlineExceeded, about 50ms", a)
	}
	srv.Sandbox.SetFaults(sandbox.Faults{})

	if _, err := c.WithKey("").CreatePolicy(ctx, sampleRequest()); err == nil {
		t.Fatal("CreatePolicy without a key: got nil error")
	}
	if o.got != nil {
		t.Errorf("refused before sending: got attempts %+v, want none", o.got)
	}
}
