package casco_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"backoffice/apiclient"
	"backoffice/apiclient/casco"
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
func (o *observed) take(t *testing.T) []attempt {
	t.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	got := o.got
	o.got = nil
	for _, a := range got {
		if a.upstream != "casco" || a.d <= 0 {
			t.Errorf("got %+v, want upstream casco and a duration", a)
		}
	}
	return got
}

func (o *observed) mustOne(t *testing.T, what string) attempt {
	t.Helper()
	got := o.take(t)
	if len(got) != 1 {
		t.Fatalf("%s: got %d attempts %+v, want 1", what, len(got), got)
	}
	return got[0]
}

func TestObserver(t *testing.T) {
	env := startSandbox(t)
	ctx := context.Background()
	var o observed
	c := env.client(t, casco.WithObserver(o.observe))

	if _, err := c.Login(ctx, env.accounts[0].Account, "wrong password"); err == nil {
		t.Fatal("Login with a wrong password: got nil error")
	}
	if a := o.mustOne(t, "401"); a.op != "POST /auth" || a.status != 401 || !errors.Is(a.err, apiclient.ErrUnauthorized) {
		t.Errorf("401: got %+v, want POST /auth 401 ErrUnauthorized", a)
	}

	s := env.login(t, c, 0)
	if a := o.mustOne(t, "login"); a.op != "POST /auth" || a.status != 200 || a.err != nil {
		t.Errorf("login: got %+v, want POST /auth 200 nil", a)
	}

	if _, err := s.Counties(ctx); err != nil {
		t.Fatal(err)
	}
	if a := o.mustOne(t, "success"); a.op != "GET /nomenclature/county" || a.status != 200 || a.err != nil {
		t.Errorf("success: got %+v, want GET /nomenclature/county 200 nil", a)
	}

	// An expired token: the 401, the renewal and the retry are three
	// attempts.
	env.faults(t, `{"expire_casco_tokens": true}`)
	if _, err := s.VehicleMakes(ctx); err != nil {
		t.Fatal(err)
	}
	got := o.take(t)
	want := []struct {
		op     string
		status int
	}{{"GET /nomenclature/vehicle-make", 401}, {"PATCH /auth", 200}, {"GET /nomenclature/vehicle-make", 200}}
	if len(got) != len(want) {
		t.Fatalf("renewal: got attempts %+v, want %v", got, want)
	}
	for i, w := range want {
		if got[i].op != w.op || got[i].status != w.status || (got[i].err == nil) != (w.status == 200) {
			t.Errorf("renewal attempt %d: got %+v, want %s %d", i, got[i], w.op, w.status)
		}
	}
	env.faults(t, `{"expire_casco_tokens": false}`)

	env.faults(t, `{"error_rate": 1}`)
	_, err := s.Counties(ctx)
	if a := o.mustOne(t, "5xx"); a.status < 500 || !errors.Is(a.err, apiclient.ErrUnavailable) || a.err != err {
		t.Errorf("5xx: got %+v, want 5xx ErrUnavailable (%v)", a, err)
	}
	env.faults(t, `{"error_rate": 0, "latency": "500ms"}`)
	slow, err := env.client(t, casco.WithObserver(o.observe), casco.WithTimeout(50*time.Millisecond)).Resume(s.Tokens())
	if err != nil {
		t.Fatal(err)
	}
	_, err = slow.Counties(ctx)
	a := o.mustOne(t, "timeout")
	if a.status != 0 || !errors.Is(a.err, context.DeadlineExceeded) || a.err != err || a.d < 50*time.Millisecond || a.d >= 500*time.Millisecond {
		t.Errorf("timeout: got %+v, want status 0, DeadlineExceeded, about 50ms (%v)", a, err)
	}
	env.faults(t, `{"latency": "0s"}`)

	// The offer document is streamed: the attempt ends at Close.
	q, err := s.Quote(ctx, readmeQuote())
	if err != nil {
		t.Fatal(err)
	}
	o.take(t)
	if len(q.Offers) == 0 {
		t.Fatal("quote has no offers")
	}
	doc, err := s.OfferDocument(ctx, q.Offers[0].OfferID)
	if err != nil {
		t.Fatal(err)
	}
	if got := o.take(t); len(got) != 0 {
		t.Errorf("open document: got attempts %+v, want none before Close", got)
	}
	doc.Close()
	if a := o.mustOne(t, "document"); a.op != "GET /offer/{id}" || a.status != http.StatusOK || a.err != nil {
		t.Errorf("document: got %+v, want GET /offer/{id} 200 nil", a)
	}
}
