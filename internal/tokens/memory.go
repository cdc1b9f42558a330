package tokens

import (
	"bytes"
	"context"
	"sync"
	"time"

	"backoffice/internal/sqlstore"
)

// pruneEvery is how often a store removes every expired record. Doing
// it on each Create would make every form page pay for what all the
// others left behind.
const pruneEvery = time.Minute

// Memory is a Store in this process: a restart forgets every record and
// another instance does not see them. It is the reference the other
// backends are tested against.
type Memory struct {
	clock *sqlstore.Clock

	mu   sync.Mutex
	recs map[string]*Record
	// owners lists each owner's records, oldest first (the clock's
	// stamps only grow). An entry whose key now holds another record,
	// or none, is stale and skipped; stale and expired entries go when
	// the owner creates again and at each prune.
	owners    map[string][]*Record
	lastPrune time.Time
}

// NewMemory returns an empty in-memory store.
func NewMemory() *Memory {
	return &Memory{clock: sqlstore.NewClock(), recs: map[string]*Record{}, owners: map[string][]*Record{}}
}

var _ Store = (*Memory)(nil)

// live returns the unexpired record key; m.mu is held.
func (m *Memory) live(key string, now time.Time) *Record {
	r := m.recs[key]
	if r == nil || !r.Expires.After(now) {
		return nil
	}
	return r
}

// current reports whether an owner list's entry is key's record and has
// not expired; m.mu is held.
func (m *Memory) current(r *Record, now time.Time) bool {
	return m.recs[r.Key] == r && r.Expires.After(now)
}

// copyRecord returns r with its own copies of the byte slices, so that
// what a caller does with a returned record never reaches the store.
func copyRecord(r *Record) Record {
	out := *r
	out.State = bytes.Clone(r.State)
	out.Result = bytes.Clone(r.Result) // keeps a finished record's empty result non-nil
	return out
}

// prune removes every expired record and stale owner entry, at most
// once per pruneEvery; m.mu is held.
func (m *Memory) prune(now time.Time) {
	if now.Sub(m.lastPrune) < pruneEvery {
		return
	}
	m.lastPrune = now
	for k, r := range m.recs {
		if !r.Expires.After(now) {
			delete(m.recs, k)
		}
	}
	for owner := range m.owners {
		m.keepOwner(owner, now)
	}
}

// keepOwner drops the owner's stale and expired entries and returns
// what is left; m.mu is held.
func (m *Memory) keepOwner(owner string, now time.Time) []*Record {
	list := m.owners[owner]
	kept := list[:0]
	for _, r := range list {
		if m.current(r, now) {
			kept = append(kept, r)
		}
	}
	clear(list[len(kept):]) // let the dropped records go
	if len(kept) == 0 {
		delete(m.owners, owner)
		return nil
	}
	m.owners[owner] = kept
	return kept
}

// add stores r and lists it under its owner; m.mu is held.
func (m *Memory) add(r *Record) {
	m.recs[r.Key] = r
	m.owners[r.Owner] = append(m.owners[r.Owner], r)
}

// Create implements Store.
func (m *Memory) Create(_ context.Context, r Record, perOwner int) error {
	now := m.clock.Stamp()
	rec, err := checkRecord(r, now)
	if err != nil {
		return err
	}
	if err := checkPerOwner(perOwner); err != nil {
		return err
	}
	rec.Created = now
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.live(rec.Key, now) != nil {
		return invalid("key exists")
	}
	m.prune(now)
	m.add(&rec)
	list := m.keepOwner(rec.Owner, now)
	if over := len(list) - perOwner; over > 0 {
		for _, old := range list[:over] {
			delete(m.recs, old.Key)
		}
		// A new slice, so that the dropped head does not keep the
		// backing array (and its records) alive.
		m.owners[rec.Owner] = append([]*Record(nil), list[over:]...)
	}
	return nil
}

// Find implements Store.
func (m *Memory) Find(_ context.Context, owner, kind, subject string) (Record, bool, error) {
	if err := checkFind(owner, kind, subject); err != nil {
		return Record{}, false, err
	}
	now := m.clock.Read()
	m.mu.Lock()
	defer m.mu.Unlock()
	list := m.owners[owner]
	for i := len(list) - 1; i >= 0; i-- {
		r := list[i]
		if m.current(r, now) && r.Claimed.IsZero() && r.Kind == kind && r.Subject == subject {
			return copyRecord(r), true, nil
		}
	}
	return Record{}, false, nil
}

// checkFind checks Find's arguments as a record's would be checked.
func checkFind(owner, kind, subject string) error {
	if err := checkName("owner", owner, false); err != nil {
		return err
	}
	if err := checkName("kind", kind, true); err != nil {
		return err
	}
	return checkName("subject", subject, false)
}

// Get implements Store.
func (m *Memory) Get(_ context.Context, key string) (Record, error) {
	if err := checkKey(key); err != nil {
		return Record{}, err
	}
	now := m.clock.Read()
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.live(key, now)
	if r == nil {
		return Record{}, ErrNotFound
	}
	return copyRecord(r), nil
}

// SetState implements Store.
func (m *Memory) SetState(_ context.Context, key string, state []byte) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if err := checkState(state); err != nil {
		return err
	}
	now := m.clock.Read()
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.live(key, now)
	if r == nil {
		return ErrNotFound
	}
	r.State = cloneState(state)
	return nil
}

// Claim implements Store.
func (m *Memory) Claim(_ context.Context, key string) (bool, error) {
	if err := checkKey(key); err != nil {
		return false, err
	}
	now := m.clock.Stamp()
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.live(key, now)
	if r == nil {
		return false, ErrNotFound
	}
	if !r.Claimed.IsZero() {
		return false, nil
	}
	r.Claimed = now
	// Out of the owner's bound: a write under way is not an open form.
	list := m.owners[r.Owner]
	for i, o := range list {
		if o == r {
			m.owners[r.Owner] = append(list[:i:i], list[i+1:]...)
			break
		}
	}
	return true, nil
}

// ClaimNew implements Store.
func (m *Memory) ClaimNew(_ context.Context, r Record) (bool, error) {
	now := m.clock.Stamp()
	rec, err := checkRecord(r, now)
	if err != nil {
		return false, err
	}
	rec.Created, rec.Claimed = now, now
	m.mu.Lock()
	defer m.mu.Unlock()
	if old := m.live(rec.Key, now); old != nil && !old.Claimed.IsZero() {
		return false, nil
	}
	m.prune(now)
	m.add(&rec)
	return true, nil
}

// Finish implements Store.
func (m *Memory) Finish(_ context.Context, key string, result []byte, expires time.Time) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if err := checkResult(result); err != nil {
		return err
	}
	now := m.clock.Read()
	if !expires.IsZero() {
		var err error
		if expires, err = checkExpires(expires, now); err != nil {
			return err
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.live(key, now)
	if r == nil {
		return ErrNotFound
	}
	if r.Claimed.IsZero() {
		return invalid("finishing a record that is not claimed")
	}
	r.Result = cloneResult(result)
	if !expires.IsZero() {
		r.Expires = expires
	}
	return nil
}

// Release implements Store.
func (m *Memory) Release(_ context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	now := m.clock.Read()
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.live(key, now)
	if r == nil {
		return ErrNotFound
	}
	if r.Result != nil {
		return invalid("releasing a finished record")
	}
	if r.Claimed.IsZero() {
		return nil
	}
	r.Claimed = time.Time{}
	// An open form again: back in its owner's bound, in creation order.
	list := m.owners[r.Owner]
	i := len(list)
	for i > 0 && list[i-1].Created.After(r.Created) {
		i--
	}
	m.owners[r.Owner] = append(list[:i:i], append([]*Record{r}, list[i:]...)...)
	return nil
}

// Close implements Store; a Memory holds no connections.
func (m *Memory) Close() error { return nil }
