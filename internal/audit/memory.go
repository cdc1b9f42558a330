package audit

import (
	"context"
	"slices"
	"sync"
	"time"
)

// Memory is a Log in memory, for tests and demos; it forgets everything
// when the process ends.
type Memory struct {
	mu      sync.Mutex
	entries []Entry
	// coalesced finds a coalesced entry's index by tenant and key.
	coalesced map[[2]string]int
	now       func() time.Time
}

// NewMemory returns an empty in-memory log.
func NewMemory() *Memory { return &Memory{now: time.Now, coalesced: map[[2]string]int{}} }

// Append implements Log.
func (m *Memory) Append(_ context.Context, e Entry) (Entry, error) {
	if err := e.Check(); err != nil {
		return e, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	e.Count = max(e.Count, 1)
	if i, ok := m.coalesced[[2]string{e.Tenant, e.Coalesce}]; ok && e.Coalesce != "" {
		m.entries[i].Count += e.Count
		return m.entries[i], nil
	}
	e.ID = int64(len(m.entries) + 1)
	if e.At.IsZero() {
		e.At = m.now()
	}
	e.At = e.At.UTC().Truncate(time.Microsecond)
	if e.Coalesce != "" {
		m.coalesced[[2]string{e.Tenant, e.Coalesce}] = len(m.entries)
	}
	m.entries = append(m.entries, e)
	return e, nil
}

// List implements Log.
func (m *Memory) List(_ context.Context, f Filter) (Page, error) {
	if err := f.Check(); err != nil {
		return Page{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	// Bounds at the stored resolution, as the SQL stores compare them.
	from, to := f.From.Truncate(time.Microsecond), f.To.Truncate(time.Microsecond)
	var match []Entry
	for _, e := range slices.Backward(m.entries) {
		if f.Tenant != "" && e.Tenant != f.Tenant {
			continue
		}
		if f.Policy != "" && e.PolicyID != f.Policy && e.InsurerPolicyID != f.Policy && e.Reference != f.Policy {
			continue
		}
		if f.Actor != "" && e.Actor != f.Actor && e.ActorName != f.Actor {
			continue
		}
		if f.Outcome != "" && e.Outcome != f.Outcome {
			continue
		}
		if f.Action != "" && e.Action != f.Action {
			continue
		}
		if (f.Reason != "" && e.Reason != f.Reason) || (f.NoReason && e.Reason != "") {
			continue
		}
		if (!from.IsZero() && e.At.Before(from)) || (!to.IsZero() && !e.At.Before(to)) {
			continue
		}
		match = append(match, e)
	}
	p := Page{Total: len(match)}
	if f.Offset < len(match) {
		p.Entries = match[f.Offset:min(len(match), f.Offset+f.Limit)]
	}
	return p, nil
}

// Close implements Log.
func (m *Memory) Close() error { return nil }
