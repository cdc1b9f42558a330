package indexsync

import (
	"context"
	"slices"
	"sync"
	"time"

	"backoffice/internal/index"
)

// memStore is the part of index.Store the syncer uses, in memory, until
// (and beside) the real stores. The embedded interface is nil: a method
// the syncer should not call panics.
type memStore struct {
	index.Store

	mu     sync.Mutex
	rows   map[string]map[string]index.Row
	states map[string]index.SyncState
	leases map[string]memLease
	// errors keeps every SyncState.Error saved, for the backoff tests.
	errors []string
	// discard drops rows (Get finds none): the 200k run measures the
	// syncer's memory, not the fake's.
	discard  bool
	upserted int
}

type memLease struct {
	holder string
	until  time.Time
}

func newMemStore() *memStore {
	return &memStore{
		rows:   map[string]map[string]index.Row{},
		states: map[string]index.SyncState{},
		leases: map[string]memLease{},
	}
}

func (m *memStore) Upsert(_ context.Context, rows []index.Row) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.upserted += len(rows)
	if m.discard {
		return nil
	}
	for _, r := range rows {
		t := m.rows[r.Tenant]
		if t == nil {
			t = map[string]index.Row{}
			m.rows[r.Tenant] = t
		}
		if old, ok := t[r.ID]; ok && r.SeenAt.Before(old.SeenAt) {
			continue
		}
		t[r.ID] = r
	}
	return nil
}

func (m *memStore) Get(_ context.Context, tenant, id string) (index.Row, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.discard {
		// Every row counts as known, so that head polls read one page
		// as they would against a full store.
		return index.Row{Tenant: tenant, ID: id}, nil
	}
	r, ok := m.rows[tenant][id]
	if !ok {
		return index.Row{}, index.ErrNotFound
	}
	return r, nil
}

func (m *memStore) DeleteUnseen(_ context.Context, tenant string, before time.Time) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for id, r := range m.rows[tenant] {
		if r.SeenAt.Before(before) {
			delete(m.rows[tenant], id)
			n++
		}
	}
	return n, nil
}

func (m *memStore) Count(_ context.Context, tenant string) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.rows[tenant]), nil
}

func (m *memStore) SyncState(_ context.Context, tenant string) (index.SyncState, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.states[tenant]
	if !ok {
		s.Tenant = tenant
	}
	return s, nil
}

func (m *memStore) SaveSyncState(_ context.Context, s index.SyncState) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.states[s.Tenant] = s
	if s.Error != "" {
		m.errors = append(m.errors, s.Error)
	}
	return nil
}

func (m *memStore) Lease(_ context.Context, name, holder string, ttl time.Duration) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	if l, ok := m.leases[name]; ok && l.holder != holder && now.Before(l.until) {
		return false, nil
	}
	m.leases[name] = memLease{holder: holder, until: now.Add(ttl)}
	return true, nil
}

func (m *memStore) Tenants(context.Context) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for t := range m.states {
		out = append(out, t)
	}
	slices.Sort(out)
	return out, nil
}

func (m *memStore) Close() error { return nil }

func (m *memStore) state(tenant string) index.SyncState {
	s, _ := m.SyncState(context.Background(), tenant)
	return s
}

func (m *memStore) count(tenant string) int {
	n, _ := m.Count(context.Background(), tenant)
	return n
}

func (m *memStore) ids(tenant string) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for id := range m.rows[tenant] {
		out = append(out, id)
	}
	return out
}

func (m *memStore) errorsSeen() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.errors)
}
