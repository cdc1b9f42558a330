package throttle_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"backoffice/internal/throttle"
)

// clock is a fake "now" shared by the limiters of a test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock {
	// Two minutes into a five-minute window, so that tests see the
	// previous window's weight and a window boundary.
	return &clock{t: time.Date(2031, 3, 4, 5, 7, 0, 0, time.UTC)}
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var ctx = context.Background()

func fail(t *testing.T, l throttle.Limiter, n int, keys ...string) {
	t.Helper()
	for range n {
		if err := l.Failed(ctx, keys...); err != nil {
			t.Fatal(err)
		}
	}
}

func allowed(t *testing.T, l throttle.Limiter, keys ...string) (bool, time.Duration) {
	t.Helper()
	ok, wait, err := l.Allowed(ctx, keys...)
	if err != nil {
		t.Fatal(err)
	}
	if ok != (wait == 0) {
		t.Fatalf("Allowed = %v with retryAfter %v", ok, wait)
	}
	return ok, wait
}

// testContract checks a backend: open returns two limiters on the same
// store (two instances), both reading clk.
func testContract(t *testing.T, open func(t *testing.T, clk *clock) (a, b throttle.Limiter)) {
	acct := func(s string) string { return throttle.AccountKey(throttle.Kasko, s) }
	addr := throttle.AddressKey

	t.Run("account limit, shared", func(t *testing.T) {
		clk := newClock()
		a, b := open(t, clk)
		ip, key := addr("198.51.100.1"), acct("sk_test_…abcd")
		fail(t, a, 4, ip, key)
		if ok, _ := allowed(t, b, ip, key); !ok {
			t.Fatal("refused after 4 failures, want allowed")
		}
		fail(t, b, 1, ip, key)
		for i, l := range []throttle.Limiter{a, b} {
			ok, wait := allowed(t, l, ip, key)
			if ok || wait <= 0 || wait > 10*time.Minute || wait%time.Second != 0 {
				t.Fatalf("instance %d after 5 failures: ok=%v retryAfter=%v, want refused for whole seconds up to 10m", i, ok, wait)
			}
		}
		if ok, _ := allowed(t, a, addr("198.51.100.2"), key); ok {
			t.Error("the account from another address is allowed, want refused")
		}
		if ok, _ := allowed(t, a, ip, acct("sk_test_…wxyz")); !ok {
			t.Error("another account from the same address is refused, want allowed")
		}
	})

	t.Run("address limit", func(t *testing.T) {
		clk := newClock()
		a, b := open(t, clk)
		ip := addr("2001:db8:9:1::1")
		for i := range 19 {
			fail(t, []throttle.Limiter{a, b}[i%2], 1, ip, acct(fmt.Sprint("account-", i)))
		}
		if ok, _ := allowed(t, a, ip, acct("fresh")); !ok {
			t.Fatal("refused after 19 failures from the address, want allowed")
		}
		fail(t, a, 1, ip) // a malformed credential: the address alone
		if ok, _ := allowed(t, b, addr("2001:db8:9:1::99"), acct("fresh")); ok {
			t.Error("20 failures from the /64: allowed, want refused")
		}
		if ok, _ := allowed(t, b, addr("203.0.113.9"), acct("fresh")); !ok {
			t.Error("another address is refused, want allowed")
		}
	})

	t.Run("retry after", func(t *testing.T) {
		clk := newClock()
		a, b := open(t, clk)
		key := acct("casco-user")
		fail(t, a, 5, key)
		_, wait := allowed(t, b, key)
		clk.Add(wait - time.Second)
		if ok, _ := allowed(t, b, key); ok {
			t.Fatalf("allowed a second before Retry-After (%v)", wait)
		}
		clk.Add(time.Second)
		if ok, _ := allowed(t, b, key); !ok {
			t.Fatalf("refused at Retry-After (%v)", wait)
		}
		// The sliding window still remembers most of those five: one
		// more failure refuses again.
		fail(t, a, 1, key)
		if ok, _ := allowed(t, b, key); ok {
			t.Error("allowed right after a failure that follows five, want refused")
		}
		clk.Add(2 * 5 * time.Minute)
		if ok, _ := allowed(t, a, key); !ok {
			t.Error("refused two windows later, want allowed")
		}
	})

	t.Run("concurrent failures all counted", func(t *testing.T) {
		clk := newClock()
		a, b := open(t, clk)
		ip := addr("192.0.2.50")
		var wg sync.WaitGroup
		for i := range 19 {
			wg.Go(func() {
				if err := []throttle.Limiter{a, b}[i%2].Failed(ctx, ip); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if ok, _ := allowed(t, a, ip); !ok {
			t.Fatal("refused after 19 concurrent failures, want allowed")
		}
		fail(t, b, 1, ip)
		if ok, _ := allowed(t, a, ip); ok {
			t.Error("allowed after 20 failures, want refused: a concurrent failure was lost")
		}
	})
}

func TestMemory(t *testing.T) {
	testContract(t, func(t *testing.T, clk *clock) (throttle.Limiter, throttle.Limiter) {
		l, err := throttle.NewMemory(throttle.DefaultLimits, throttle.WithClock(clk.Now))
		if err != nil {
			t.Fatal(err)
		}
		// One process: both "instances" are the one limiter.
		return l, l
	})
}

// TestRetryAfterAcrossTheWindow checks the wait at several points of a
// window, with failures in the current and the previous one: one second
// before it the key is refused, at it allowed.
func TestRetryAfterAcrossTheWindow(t *testing.T) {
	for _, tt := range []struct {
		name       string
		prev, curr int
		into       time.Duration // of the current window, when checked
	}{
		{"5 now, at the window's start", 0, 5, 0},
		{"5 now, late in the window", 0, 5, 4*time.Minute + 59*time.Second},
		{"9 now", 0, 9, time.Minute},
		{"5 before, none now", 5, 0, 0},
		{"5 before, 3 now", 5, 3, 90 * time.Second},
		{"8 before, 4 now", 8, 4, 3 * time.Minute},
	} {
		t.Run(tt.name, func(t *testing.T) {
			clk := &clock{t: time.Date(2031, 3, 4, 5, 0, 0, 0, time.UTC)}
			l, err := throttle.NewMemory(throttle.DefaultLimits, throttle.WithClock(clk.Now))
			if err != nil {
				t.Fatal(err)
			}
			key := throttle.AccountKey(throttle.Casco, "x")
			fail(t, l, tt.prev, key)
			clk.Add(5 * time.Minute)
			fail(t, l, tt.curr, key)
			clk.Add(tt.into)
			ok, wait := allowed(t, l, key)
			if ok {
				t.Fatal("allowed, want refused")
			}
			clk.Add(wait - time.Second)
			if ok, _ := allowed(t, l, key); ok {
				t.Fatalf("allowed a second before Retry-After %v", wait)
			}
			clk.Add(time.Second)
			if ok, _ := allowed(t, l, key); !ok {
				t.Fatalf("refused at Retry-After %v", wait)
			}
		})
	}
}

func TestLimitsChecked(t *testing.T) {
	for _, l := range []throttle.Limits{{}, {Address: 1, Account: 0, Window: time.Minute}, {Address: 1, Account: 1}} {
		if _, err := throttle.NewMemory(l); err == nil {
			t.Errorf("NewMemory(%+v) works, want an error", l)
		}
	}
}
