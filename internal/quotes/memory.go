package quotes

import (
	"cmp"
	"context"
	"slices"
	"sync"

	"backoffice/internal/sqlstore"
)

// Memory is a Store in memory, for tests and demos; it forgets
// everything when the process ends. It is the reference the SQL stores
// are tested against.
type Memory struct {
	mu     sync.Mutex
	clock  *sqlstore.Clock
	drafts map[string]Draft
	offers map[string][]Offer
	// policies is keyed by account and offer id, the store's uniqueness.
	policies map[policyKey]Policy
	// asks are the providers being asked, by draft.
	asks map[string][]Ask
}

type policyKey struct{ account, offerID string }

// NewMemory returns an empty in-memory store.
func NewMemory() *Memory {
	return &Memory{
		clock:    sqlstore.NewClock(),
		drafts:   map[string]Draft{},
		offers:   map[string][]Offer{},
		policies: map[policyKey]Policy{},
		asks:     map[string][]Ask{},
	}
}

var _ Store = (*Memory)(nil)

// copyDraft returns d with its own copies of the JSON values, so that
// what a caller does with a returned draft never reaches the store.
func copyDraft(d Draft) Draft {
	d.Vehicle, d.Owner, d.Cover = cloneJSON(d.Vehicle), cloneJSON(d.Owner), cloneJSON(d.Cover)
	return d
}

// draft returns the account's draft; m.mu is held.
func (m *Memory) draft(account, id string) (Draft, error) {
	d, ok := m.drafts[id]
	if !ok || d.Account != account {
		return Draft{}, ErrNotFound
	}
	return d, nil
}

// CreateDraft implements Store.
func (m *Memory) CreateDraft(_ context.Context, account string) (Draft, error) {
	if err := checkAccount(account); err != nil {
		return Draft{}, err
	}
	now := m.clock.Stamp()
	d := Draft{ID: newID(), Account: account, Step: StepVehicle, Version: 1, CreatedAt: now, UpdatedAt: now}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.drafts[d.ID] = d
	return d, nil
}

// FreshDraft implements Store.
func (m *Memory) FreshDraft(_ context.Context, account string, limit int) (Draft, bool, error) {
	if err := checkAccount(account); err != nil {
		return Draft{}, false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var fresh Draft
	found, n := false, 0
	for _, d := range m.drafts {
		if d.Account != account {
			continue
		}
		n++
		if isFresh(d) && (!found || cmp.Or(d.UpdatedAt.Compare(fresh.UpdatedAt), cmp.Compare(d.ID, fresh.ID)) > 0) {
			fresh, found = d, true
		}
	}
	switch {
	case found:
		return copyDraft(fresh), false, nil
	case n >= limit:
		return Draft{}, false, tooLarge("the account has %d drafts, at most %d", n, limit)
	}
	now := m.clock.Stamp()
	d := Draft{ID: newID(), Account: account, Step: StepVehicle, Version: 1, CreatedAt: now, UpdatedAt: now}
	m.drafts[d.ID] = d
	return d, true, nil
}

// GetDraft implements Store.
func (m *Memory) GetDraft(_ context.Context, account, id string) (Draft, error) {
	if err := checkDraftRef(account, id); err != nil {
		return Draft{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	d, err := m.draft(account, id)
	return copyDraft(d), err
}

// SaveDraft implements Store.
func (m *Memory) SaveDraft(_ context.Context, d Draft) (Draft, error) {
	d, err := prepareDraft(d)
	if err != nil {
		return Draft{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	stored, err := m.draft(d.Account, d.ID)
	if err != nil {
		return Draft{}, err
	}
	if stored.Version != d.Version {
		return Draft{}, ErrConflict
	}
	d.Version++
	d.CreatedAt = stored.CreatedAt
	d.UpdatedAt = m.clock.Stamp()
	m.drafts[d.ID] = d
	return copyDraft(d), nil
}

// ListDrafts implements Store.
func (m *Memory) ListDrafts(_ context.Context, account string, f Filter) (Page, error) {
	if err := checkAccount(account); err != nil {
		return Page{}, err
	}
	if err := checkFilter(f); err != nil {
		return Page{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var match []Draft
	for _, d := range m.drafts {
		if d.Account == account {
			d.Vehicle, d.Owner, d.Cover = nil, nil, nil
			providers := map[string]bool{}
			for _, o := range m.offers[d.ID] {
				providers[o.Provider] = true
			}
			d.Insurers = len(providers)
			match = append(match, d)
		}
	}
	slices.SortFunc(match, func(a, b Draft) int {
		return cmp.Or(b.UpdatedAt.Compare(a.UpdatedAt), cmp.Compare(b.ID, a.ID))
	})
	p := Page{Total: len(match)}
	if f.Offset < len(match) {
		p.Drafts = match[f.Offset:min(len(match), f.Offset+f.Limit)]
	}
	return p, nil
}

// ReplaceOffers implements Store.
func (m *Memory) ReplaceOffers(_ context.Context, account, draftID string, offers []Offer) error {
	if err := checkDraftRef(account, draftID); err != nil {
		return err
	}
	offers, err := prepareOffers(draftID, offers, m.clock.Stamp())
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, err := m.draft(account, draftID); err != nil {
		return err
	}
	delete(m.asks, draftID)
	if len(offers) == 0 {
		delete(m.offers, draftID)
		return nil
	}
	m.offers[draftID] = offers
	return nil
}

// StartAsks implements Store.
func (m *Memory) StartAsks(_ context.Context, account, draftID string, providers []string, all bool) (string, error) {
	if err := checkDraftRef(account, draftID); err != nil {
		return "", err
	}
	if err := checkProviders(providers); err != nil {
		return "", err
	}
	token, now := newID(), m.clock.Stamp()
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, err := m.draft(account, draftID); err != nil {
		return "", err
	}
	drop := func(provider string) bool { return all || slices.Contains(providers, provider) }
	offers := slices.DeleteFunc(slices.Clone(m.offers[draftID]), func(o Offer) bool { return drop(o.Provider) })
	asks := slices.DeleteFunc(slices.Clone(m.asks[draftID]), func(k Ask) bool { return drop(k.Provider) })
	for _, p := range providers {
		asks = append(asks, Ask{Provider: p, Token: token, StartedAt: now})
	}
	m.offers[draftID], m.asks[draftID] = offers, asks
	return token, nil
}

// FinishAsk implements Store.
func (m *Memory) FinishAsk(_ context.Context, account, draftID, provider, token string, offers []Offer) (bool, error) {
	if err := checkDraftRef(account, draftID); err != nil {
		return false, err
	}
	if err := checkAnswer(provider, token, offers); err != nil {
		return false, err
	}
	offers, err := prepareOffers(draftID, offers, m.clock.Stamp())
	if err != nil {
		return false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, err := m.draft(account, draftID); err != nil {
		return false, err
	}
	i := slices.IndexFunc(m.asks[draftID], func(k Ask) bool { return k.Provider == provider && k.Token == token })
	if i < 0 {
		return false, nil
	}
	m.asks[draftID] = slices.Delete(slices.Clone(m.asks[draftID]), i, i+1)
	kept := slices.DeleteFunc(slices.Clone(m.offers[draftID]), func(o Offer) bool { return o.Provider == provider })
	m.offers[draftID] = append(kept, offers...)
	return true, nil
}

// Asks implements Store.
func (m *Memory) Asks(_ context.Context, account, draftID string) ([]Ask, error) {
	if err := checkDraftRef(account, draftID); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, err := m.draft(account, draftID); err != nil {
		return nil, err
	}
	return sortedAsks(m.asks[draftID]), nil
}

// Offers implements Store.
func (m *Memory) Offers(_ context.Context, account, draftID string) ([]Offer, error) {
	if err := checkDraftRef(account, draftID); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, err := m.draft(account, draftID); err != nil {
		return nil, err
	}
	return cloneOffers(m.offers[draftID]), nil
}

// cloneOffers is a copy of offers that shares no bytes with them.
func cloneOffers(offers []Offer) []Offer {
	var out []Offer
	for _, o := range offers {
		o.Body = cloneJSON(o.Body)
		out = append(out, o)
	}
	return out
}

// Answers implements Store.
func (m *Memory) Answers(_ context.Context, account, draftID string) ([]Offer, []Ask, error) {
	if err := checkDraftRef(account, draftID); err != nil {
		return nil, nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, err := m.draft(account, draftID); err != nil {
		return nil, nil, err
	}
	return cloneOffers(m.offers[draftID]), sortedAsks(m.asks[draftID]), nil
}

// sortedAsks is a copy of asks in the order they were asked.
func sortedAsks(asks []Ask) []Ask {
	out := slices.Clone(asks)
	slices.SortStableFunc(out, func(a, b Ask) int {
		return cmp.Or(a.StartedAt.Compare(b.StartedAt), cmp.Compare(a.Provider, b.Provider))
	})
	return out
}

// RecordPolicy implements Store.
func (m *Memory) RecordPolicy(_ context.Context, account string, p Policy) (Policy, error) {
	if err := checkAccount(account); err != nil {
		return Policy{}, err
	}
	p, err := preparePolicy(p, m.clock.Stamp())
	if err != nil {
		return Policy{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, err := m.draft(account, p.DraftID); err != nil {
		return Policy{}, err
	}
	key := policyKey{account, p.OfferID}
	if first, ok := m.policies[key]; ok {
		first.Body = cloneJSON(first.Body)
		return first, ErrExists
	}
	m.policies[key] = p
	p.Body = cloneJSON(p.Body)
	return p, nil
}

// Policies implements Store.
func (m *Memory) Policies(_ context.Context, account, draftID string) ([]Policy, error) {
	if err := checkDraftRef(account, draftID); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, err := m.draft(account, draftID); err != nil {
		return nil, err
	}
	var out []Policy
	for k, p := range m.policies {
		if k.account == account && p.DraftID == draftID {
			p.Body = cloneJSON(p.Body)
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b Policy) int {
		return cmp.Or(a.IssuedAt.Compare(b.IssuedAt), cmp.Compare(a.OfferID, b.OfferID))
	})
	return out, nil
}

// PolicyByNumber implements Store.
func (m *Memory) PolicyByNumber(_ context.Context, account, series, number string) (Policy, error) {
	if err := checkPolicyRef(account, series, number); err != nil {
		return Policy{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var found Policy
	ok := false
	for k, p := range m.policies {
		if k.account != account || p.Series != series || p.Number != number {
			continue
		}
		if !ok || cmp.Or(p.IssuedAt.Compare(found.IssuedAt), cmp.Compare(p.OfferID, found.OfferID)) > 0 {
			found, ok = p, true
		}
	}
	if !ok {
		return Policy{}, ErrNotFound
	}
	found.Body = cloneJSON(found.Body)
	return found, nil
}

// Close implements Store.
func (m *Memory) Close() error { return nil }
