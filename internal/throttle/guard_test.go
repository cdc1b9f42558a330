package throttle_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"backoffice/internal/metrics"
	"backoffice/internal/throttle"
)

func newRequest(remote string) *http.Request {
	r := httptest.NewRequest("POST", "/signin", nil)
	r.RemoteAddr = remote
	return r
}

// TestGuardParallelGuesses: attempts on one account in flight together
// cannot all pass the check before the first failure is counted.
func TestGuardParallelGuesses(t *testing.T) {
	l, err := throttle.NewMemory(throttle.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	var failures sync.Map
	g := throttle.NewGuard(throttle.GuardConfig{Limiter: l, Failure: func(kind, reason string) {
		v, _ := failures.LoadOrStore(kind+"/"+reason, new(atomic.Int64))
		v.(*atomic.Int64).Add(1)
	}})
	var upstream atomic.Int64
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			a, err := g.Begin(newRequest("198.51.100.7:1234"), throttle.Kasko, "sk_test_…abcd")
			if err != nil {
				t.Error(err)
				return
			}
			defer a.Done()
			if ok, _ := a.Allowed(); !ok {
				return
			}
			upstream.Add(1)
			time.Sleep(time.Millisecond) // the upstream saying no
			a.Rejected()
		})
	}
	wg.Wait()
	if n := upstream.Load(); n != 5 {
		t.Errorf("%d of 50 parallel guesses reached the upstream, want 5", n)
	}
	count := func(k string) int64 {
		v, ok := failures.Load(k)
		if !ok {
			return 0
		}
		return v.(*atomic.Int64).Load()
	}
	if count("kasko/rejected") != 5 || count("kasko/throttled") != 45 {
		t.Errorf("failures counted: rejected %d, throttled %d; want 5 and 45", count("kasko/rejected"), count("kasko/throttled"))
	}
}

// TestGuardWaitEndsWithRequest: a request that goes away while waiting
// for another attempt on its account gives up, and frees its place.
func TestGuardWaitEndsWithRequest(t *testing.T) {
	g := throttle.NewGuard(throttle.GuardConfig{})
	first, err := g.Begin(newRequest("198.51.100.7:1"), throttle.Casco, "acme")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := g.Begin(newRequest("198.51.100.8:1").WithContext(ctx), throttle.Casco, "acme"); err == nil {
		t.Fatal("second attempt on the account began while the first runs")
	}
	first.Done()
	second, err := g.Begin(newRequest("198.51.100.8:1"), throttle.Casco, "acme")
	if err != nil {
		t.Fatal(err)
	}
	second.Done()
}

func TestNilGuard(t *testing.T) {
	var g *throttle.Guard
	a, err := g.Begin(newRequest("198.51.100.7:1"), throttle.Kasko, "x")
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := a.Allowed(); !ok {
		t.Error("a nil guard refused")
	}
	a.Rejected()
	a.Malformed()
	a.Done()
}

func TestSetRetryAfter(t *testing.T) {
	for d, want := range map[time.Duration]string{301 * time.Second: "301", 1500 * time.Millisecond: "2", 0: "1"} {
		w := httptest.NewRecorder()
		throttle.SetRetryAfter(w, d)
		if got := w.Header().Get("Retry-After"); got != want {
			t.Errorf("SetRetryAfter(%v) = %q, want %q", d, got, want)
		}
	}
}

// TestLabelsMatchMetrics: the guard's kinds and reasons are the metric's
// label values, so that GuardConfig.Failure can be the metric itself.
func TestLabelsMatchMetrics(t *testing.T) {
	pairs := [][2]string{
		{throttle.Kasko, metrics.SignInKasko}, {throttle.Casco, metrics.SignInCasco},
		{throttle.ReasonRejected, metrics.SignInRejected}, {throttle.ReasonThrottled, metrics.SignInThrottled},
		{throttle.ReasonMalformed, metrics.SignInMalformed},
	}
	for _, p := range pairs {
		if p[0] != p[1] {
			t.Errorf("throttle says %q where the metric says %q", p[0], p[1])
		}
	}
	var m *metrics.Metrics
	_ = throttle.GuardConfig{Failure: m.SignInFailure}
}
