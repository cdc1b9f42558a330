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
	now     func() time.Time
}

// NewMemory returns an empty in-memory log.
func NewMemory() *Memory { return &Memory{now: time.Now} }

// Append implements Log.
func (m *Memory) Append(_ context.Context, e Entry) (Entry, error) {
	if err := e.Check(); err != nil {
		return e, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	e.ID = int64(len(m.entries) + 1)
	if e.At.IsZero() {
		e.At = m.now()
	}
	e.At = e.At.UTC().Truncate(time.Microsecond)
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
	var match []Entry
	for _, e := range slices.Backward(m.entries) {
		if f.Policy != "" && e.PolicyID != f.Policy && e.InsurerPolicyID != f.Policy && e.Reference != f.Policy {
			continue
		}
		if f.Actor != "" && e.Actor != f.Actor && e.ActorName != f.Actor {
			continue
		}
		if f.Outcome != "" && e.Outcome != f.Outcome {
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
