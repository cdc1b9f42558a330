package casco_test

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"backoffice/internal/sandbox"
	"backoffice/web/webtest"
)

// TestTwoInstancesRenewOnce: a partner's requests reach two instances at
// once just when the CascoApi token needs renewing. The refresh token is
// spent once (the upstream rotates it and refuses it afterwards); both
// requests are served, and nobody is sent to sign in again.
func TestTwoInstancesRenewOnce(t *testing.T) {
	t.Parallel()
	a := webtest.NewServer(t, webtest.Options{Sandbox: sandbox.Options{Policies: 20, CascoTokenTTL: 2 * time.Second}})
	b := a.SecondInstance(t)
	onA := demoPartner(t, a)
	onB := onA.On(b)
	onA.Page(t, "/casco", http.StatusOK)
	time.Sleep(1700 * time.Millisecond) // inside the renewal margin
	// Each instance's first list of a county's localities is an upstream
	// call: both need the token renewed.
	var wg sync.WaitGroup
	burst := time.Now() // the renewal is at most this old
	answers := make([]webtest.Response, 4)
	for i, br := range []*webtest.Browser{onA, onB, onA, onB} {
		wg.Go(func() { answers[i] = br.Get("/casco/options/localities?county=CJ") })
	}
	wg.Wait()
	for i, r := range answers {
		if r.Status != http.StatusOK {
			t.Errorf("request %d = %d to %q, want the localities", i, r.Status, r.Header.Get("Location"))
		}
	}
	if n := a.Upstream.Sandbox.Calls(sandbox.RouteCascoRenew); n != 1 {
		t.Errorf("renewals = %d across the instances, want 1", n)
	}
	// Later requests on either instance go on with the renewed pair.
	for _, br := range []*webtest.Browser{onA, onB} {
		if r := br.Get("/casco/options/localities?county=TM"); r.Status != http.StatusOK {
			t.Errorf("after the renewal = %d to %q", r.Status, r.Header.Get("Location"))
		}
	}
	// The renewed token lives 2 s and is renewed in its last half second;
	// its exp is in whole seconds, so it may live barely more than 1 s
	// and be due again half a second after the renewal: on a machine
	// slow enough to get there, a second renewal is right.
	if n := a.Upstream.Sandbox.Calls(sandbox.RouteCascoRenew); n != 1 && time.Since(burst) < 500*time.Millisecond {
		t.Errorf("renewals = %d, want still 1", n)
	}
}
