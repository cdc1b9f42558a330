// Package cache keeps reference data (nomenclature lists) for a while,
// shared by every user, and makes one upstream request for concurrent
// misses of the same key.
package cache

import (
	"context"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// Cache holds values of type V for ttl after they are loaded. Errors are
// not kept: the next Get tries again.
type Cache[V any] struct {
	ttl   time.Duration
	now   func() time.Time
	group singleflight.Group

	mu      sync.Mutex
	entries map[string]entry[V]
}

type entry[V any] struct {
	value   V
	expires time.Time
}

// New returns an empty cache whose values live for ttl; now is the clock
// (nil: time.Now).
func New[V any](ttl time.Duration, now func() time.Time) *Cache[V] {
	if now == nil {
		now = time.Now
	}
	return &Cache[V]{ttl: ttl, now: now, entries: map[string]entry[V]{}}
}

// Get returns the value of key, loading it when missing or expired.
// Callers that miss the same key at the same time share one load; it runs
// on a context that outlives the first caller's cancellation, so that one
// user leaving does not fail the others.
func (c *Cache[V]) Get(ctx context.Context, key string, load func(context.Context) (V, error)) (V, error) {
	c.mu.Lock()
	e, ok := c.entries[key]
	c.mu.Unlock()
	if ok && c.now().Before(e.expires) {
		return e.value, nil
	}
	v, err, _ := c.group.Do(key, func() (any, error) {
		value, err := load(context.WithoutCancel(ctx))
		if err != nil {
			return value, err
		}
		c.mu.Lock()
		c.entries[key] = entry[V]{value: value, expires: c.now().Add(c.ttl)}
		c.mu.Unlock()
		return value, nil
	})
	return v.(V), err
}
