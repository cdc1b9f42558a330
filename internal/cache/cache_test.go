package cache_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"backoffice/internal/cache"
)

func TestConcurrentMissesLoadOnce(t *testing.T) {
	c := cache.New[[]string](time.Hour, nil)
	var loads atomic.Int32
	release := make(chan struct{})
	load := func(context.Context) ([]string, error) {
		loads.Add(1)
		<-release
		return []string{"AB", "AR"}, nil
	}
	var wg sync.WaitGroup
	results := make([][]string, 20)
	for i := range results {
		wg.Go(func() {
			v, err := c.Get(context.Background(), "counties", load)
			if err != nil {
				t.Error(err)
			}
			results[i] = v
		})
	}
	time.Sleep(50 * time.Millisecond) // let every caller reach the miss
	close(release)
	wg.Wait()
	if n := loads.Load(); n != 1 {
		t.Errorf("loads = %d, want 1", n)
	}
	for i, r := range results {
		if len(r) != 2 || r[0] != "AB" {
			t.Errorf("caller %d got %v", i, r)
		}
	}
	if _, err := c.Get(context.Background(), "counties", load); err != nil || loads.Load() != 1 {
		t.Errorf("a hit loaded again (%d loads, %v)", loads.Load(), err)
	}
}

func TestExpiryAndErrors(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	c := cache.New[int](time.Minute, func() time.Time { return now })
	calls := 0
	load := func(context.Context) (int, error) {
		calls++
		if calls == 1 {
			return 0, errors.New("upstream down")
		}
		return calls, nil
	}
	if _, err := c.Get(context.Background(), "k", load); err == nil {
		t.Fatal("the first load's error was not returned")
	}
	if v, err := c.Get(context.Background(), "k", load); err != nil || v != 2 {
		t.Fatalf("after an error the next Get = %d, %v; want a fresh load", v, err)
	}
	now = now.Add(59 * time.Second)
	if v, _ := c.Get(context.Background(), "k", load); v != 2 {
		t.Errorf("within the ttl = %d, want the cached 2", v)
	}
	now = now.Add(2 * time.Second)
	if v, _ := c.Get(context.Background(), "k", load); v != 3 {
		t.Errorf("after the ttl = %d, want a reload", v)
	}
	if v, _ := c.Get(context.Background(), "other", load); v != 4 {
		t.Errorf("another key = %d, want its own load", v)
	}
}

func TestCancelledCallerDoesNotFailTheLoad(t *testing.T) {
	c := cache.New[string](time.Hour, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	v, err := c.Get(ctx, "k", func(ctx context.Context) (string, error) { return "ok", ctx.Err() })
	if err != nil || v != "ok" {
		t.Errorf("Get = %q, %v; the load ran on the cancelled context", v, err)
	}
}
