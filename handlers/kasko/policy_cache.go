package kasko

import (
	"container/list"
	"context"
	"crypto/sha256"
	"strconv"
	"sync"
	"time"

	"backoffice/internal/index"
)

// The list region (filters, counts, table, pager) of an indexed list is
// kept rendered, in process memory, keyed by everything it shows: the
// tenant and the index's change counter, the reader's kind, language and
// time display, and the list URL. A change anywhere in the tenant's rows
// moves the counter, so a kept region is never older than the index; it
// is safe to lose, and bounded in bytes and entries.
const (
	regionCacheBytes   = 32 << 20
	regionCacheEntries = 512
	// tenantViewTTL bounds how stale the sync state and change counter
	// read for a request may be: a row written by another instance (or a
	// webhook) shows within it.
	tenantViewTTL = 500 * time.Millisecond
)

// region is a rendered list region and what the handler needs of it
// without rendering it again.
type region struct {
	html     []byte
	pastEnd  bool
	problems bool
}

type regionCache struct {
	mu    sync.Mutex
	bytes int
	order *list.List // front = most recently used
	byKey map[string]*list.Element
}

type regionEntry struct {
	key string
	r   region
}

func newRegionCache() *regionCache {
	return &regionCache{order: list.New(), byKey: map[string]*list.Element{}}
}

func (c *regionCache) get(key string) (region, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.byKey[key]
	if !ok {
		return region{}, false
	}
	c.order.MoveToFront(e)
	return e.Value.(*regionEntry).r, true
}

func (c *regionCache) put(key string, r region) {
	if len(r.html) > regionCacheBytes/8 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byKey[key]; ok {
		c.bytes -= len(e.Value.(*regionEntry).r.html)
		c.order.Remove(e)
		delete(c.byKey, key)
	}
	c.byKey[key] = c.order.PushFront(&regionEntry{key: key, r: r})
	c.bytes += len(r.html)
	for c.bytes > regionCacheBytes || c.order.Len() > regionCacheEntries {
		last := c.order.Back()
		old := last.Value.(*regionEntry)
		c.order.Remove(last)
		delete(c.byKey, old.key)
		c.bytes -= len(old.r.html)
	}
}

// tenantView is what every list request reads of its tenant's index:
// the sync state (coverage, freshness) and the change counter.
type tenantView struct {
	sync    index.SyncState
	changed int64
}

// tenantViews keeps each tenant's view for tenantViewTTL: read per
// request, they would cost two queries on every page.
type tenantViews struct {
	mu    sync.Mutex
	views map[string]tenantViewEntry
}

type tenantViewEntry struct {
	v  tenantView
	at time.Time
}

// get reads tenant's view, from memory when fresh enough. The map holds
// one entry per tenant that signed in, and entries older than a minute
// are dropped as new ones come.
func (t *tenantViews) get(ctx context.Context, store index.Store, tenant string, now time.Time) (tenantView, error) {
	t.mu.Lock()
	e, ok := t.views[tenant]
	t.mu.Unlock()
	if ok && now.Sub(e.at) < tenantViewTTL && now.Sub(e.at) >= 0 {
		return e.v, nil
	}
	st, err := store.SyncState(ctx, tenant)
	if err != nil {
		return tenantView{}, err
	}
	changed, err := store.Changed(ctx, tenant)
	if err != nil {
		return tenantView{}, err
	}
	v := tenantView{sync: st, changed: changed}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.views == nil {
		t.views = map[string]tenantViewEntry{}
	}
	for k, old := range t.views {
		if now.Sub(old.at) > time.Minute {
			delete(t.views, k)
		}
	}
	t.views[tenant] = tenantViewEntry{v: v, at: now}
	return v, nil
}

// forget drops tenant's view: this instance just wrote to its rows, and
// its own reader must see that at once.
func (t *tenantViews) forget(tenant string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.views, tenant)
}

// regionKey names a rendered region: a digest of its parts, separated by
// a byte no part can hold, so that a long URL costs the cache no more
// than a short one.
func regionKey(tenant string, changed int64, public bool, lang string, clk clock, query string) string {
	h := sha256.New()
	for _, part := range []string{tenant, strconv.FormatInt(changed, 10), strconv.FormatBool(public), lang, strconv.FormatBool(clk.viewer), clk.viewerZone, query} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	return string(h.Sum(nil))
}
