package index

import (
	"container/list"
	"sync"
)

// resultCacheSize bounds the cached totals and facets: the list pages
// of a few dozen people, each with a few filter combinations.
const resultCacheSize = 256

// resultCache keeps totals and facets, the part of a list page that
// counts every matching row (hundreds of milliseconds over a million
// SQLite rows, against a few for the page itself). Keys carry the
// tenant's change counter, so an entry is never stale: a write makes
// new keys, and the old entries fall off the end of the LRU list.
// Losing it costs only time.
type resultCache struct {
	mu    sync.Mutex
	max   int
	order *list.List // of *cacheEntry, most recently used first
	byKey map[string]*list.Element
}

type cacheEntry struct {
	key string
	val any
}

func newResultCache(size int) *resultCache {
	return &resultCache{max: size, order: list.New(), byKey: map[string]*list.Element{}}
}

func (c *resultCache) get(key string) (any, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.byKey[key]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(e)
	return e.Value.(*cacheEntry).val, true
}

func (c *resultCache) put(key string, val any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byKey[key]; ok {
		e.Value.(*cacheEntry).val = val
		c.order.MoveToFront(e)
		return
	}
	c.byKey[key] = c.order.PushFront(&cacheEntry{key: key, val: val})
	for c.order.Len() > c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.byKey, last.Value.(*cacheEntry).key)
	}
}
