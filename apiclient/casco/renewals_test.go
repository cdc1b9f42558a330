package casco_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"backoffice/apiclient/casco"
)

// memRenewals is a Renewals store shared by several clients, as the
// dashboard's token store is shared by its instances.
type memRenewals struct {
	mu      sync.Mutex
	claimed map[string]bool
	done    map[string]casco.Tokens
}

func newMemRenewals() *memRenewals {
	return &memRenewals{claimed: map[string]bool{}, done: map[string]casco.Tokens{}}
}

func (m *memRenewals) Claim(_ context.Context, key string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.claimed[key] {
		return false, nil
	}
	m.claimed[key] = true
	return true, nil
}

func (m *memRenewals) Result(_ context.Context, key string) (casco.Tokens, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.claimed[key] {
		return casco.Tokens{}, false, casco.ErrNoRenewal
	}
	t, ok := m.done[key]
	return t, ok, nil
}

func (m *memRenewals) Finish(_ context.Context, key string, t casco.Tokens) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.done[key] = t
	return nil
}

func (m *memRenewals) Release(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.claimed, key)
	return nil
}

// TestRenewalsSharedBetweenProcesses: two clients (two dashboard
// instances) resume the same expired tokens at once; the refresh token
// is spent once, and both go on with the renewed pair. A third, resuming
// the stale pair afterwards, adopts the renewed one without a request.
func TestRenewalsSharedBetweenProcesses(t *testing.T) {
	clk := newClock()
	f, srv := newFake(t, clk)
	f.routes["GET /nomenclature/county"] = counties
	shared := newMemRenewals()
	instances := make([]*casco.Client, 3)
	for i := range instances {
		instances[i] = mustNew(t, srv.URL, casco.WithClock(clk.Now))
		instances[i].ShareRenewals(shared)
	}
	stored := mustLogin(t, instances[0]).Tokens()
	clk.Advance(5 * time.Minute) // expired

	f.patchGate = make(chan struct{})
	var wg sync.WaitGroup
	renewed := make([]casco.Tokens, 2)
	for i := range 2 {
		s, err := instances[i].Resume(stored)
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			if _, err := s.Counties(context.Background()); err != nil {
				t.Errorf("instance %d: %v", i, err)
			}
			renewed[i] = s.Tokens()
		})
	}
	waitFor(t, func() bool { return f.patches.Load() >= 1 })
	time.Sleep(100 * time.Millisecond) // the other instance is waiting now
	close(f.patchGate)
	wg.Wait()
	if got := f.patches.Load(); got != 1 {
		t.Errorf("PATCH /auth calls: %d, want 1 across the instances", got)
	}
	if renewed[0] != renewed[1] || renewed[0].RefreshToken == stored.RefreshToken {
		t.Errorf("instances hold %+v and %+v, want the same renewed pair", renewed[0], renewed[1])
	}
	late, err := instances[2].Resume(stored)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := late.Counties(context.Background()); err != nil {
		t.Errorf("a stale copy of the session: %v", err)
	}
	if got := f.patches.Load(); got != 1 || late.Tokens() != renewed[0] {
		t.Errorf("stale copy: %d PATCH calls, tokens %+v; want 1 and the renewed pair", got, late.Tokens())
	}
}

// TestFailedSharedRenewalIsReleased: a renewal that fails upstream is
// released, so that the next caller, on any instance, renews.
func TestFailedSharedRenewalIsReleased(t *testing.T) {
	clk := newClock()
	f, srv := newFake(t, clk)
	f.routes["GET /nomenclature/county"] = counties
	shared := newMemRenewals()
	a, b := mustNew(t, srv.URL, casco.WithClock(clk.Now)), mustNew(t, srv.URL, casco.WithClock(clk.Now))
	a.ShareRenewals(shared)
	b.ShareRenewals(shared)
	stored := mustLogin(t, a).Tokens()
	clk.Advance(5 * time.Minute)
	f.patchStatus.Store(503)
	sa, _ := a.Resume(stored)
	if _, err := sa.Counties(context.Background()); err == nil {
		t.Fatal("renewal failed upstream, yet the call succeeded")
	}
	f.patchStatus.Store(0)
	sb, _ := b.Resume(stored)
	if _, err := sb.Counties(context.Background()); err != nil {
		t.Errorf("after a released failure, another instance: %v", err)
	}
	if got := f.patches.Load(); got != 2 {
		t.Errorf("PATCH /auth calls: %d, want 2 (the failed one, then the retry)", got)
	}
}
