package sqlstore

import (
	"sync"
	"time"
)

// Instant is t as every store keeps it: UTC, whole microseconds (what
// PostgreSQL keeps), the zero time left zero.
func Instant(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC().Truncate(time.Microsecond)
}

// Clock is a store's "now". Stamps are whole microseconds, each after
// the last, so that two changes in one process never share a time and
// "newest first" is a strict order; Read is for comparing with expiries.
// Tests replace the source with a fake (Set).
type Clock struct {
	mu   sync.Mutex
	last time.Time
	now  func() time.Time
}

// NewClock reads the system clock.
func NewClock() *Clock { return &Clock{now: time.Now} }

// Read is now, as stored.
func (c *Clock) Read() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return Instant(c.now())
}

// Stamp is now, as stored, and after every stamp before it.
func (c *Clock) Stamp() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := Instant(c.now())
	if !t.After(c.last) {
		t = c.last.Add(time.Microsecond)
	}
	c.last = t
	return t
}

// Set replaces the clock's source (tests).
func (c *Clock) Set(now func() time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now, c.last = now, time.Time{}
}

// Args collects bind parameters and hands out their placeholders, so
// that a query reads in the order its values are given.
type Args struct {
	d    Dialect
	Vals []any
}

// NewArgs starts the parameters of one query in dialect d.
func (d Dialect) NewArgs() *Args { return &Args{d: d} }

// Add appends v and returns its placeholder.
func (a *Args) Add(v any) string {
	a.Vals = append(a.Vals, v)
	return a.d.Placeholder(len(a.Vals))
}
