package casco

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	cascoapi "backoffice/apiclient/casco"
	"backoffice/internal/session"
	"backoffice/internal/tokens"
)

// Renewals of CascoApi tokens, shared by every instance through the
// dashboard's token store (cascoapi.Renewals): one instance spends a
// refresh token, the others adopt what it got. The renewed tokens are
// sealed with the server secret before they are stored, as in the
// session.
type sharedRenewals struct {
	store    tokens.Store
	sessions *session.Manager
}

const (
	renewalKind = "casco-renewal"
	// renewalKeep is how long a renewal's tokens stay for stale copies of
	// a session (another instance's, a restored one) to adopt: as long as
	// a partner session can last.
	renewalKeep = 24 * time.Hour
	// renewalClaim bounds a claim whose instance died before finishing.
	renewalClaim = time.Minute
)

func renewalKey(key string) string { return renewalKind + ":" + key }

// Claim implements cascoapi.Renewals.
func (s sharedRenewals) Claim(ctx context.Context, key string) (bool, error) {
	return s.store.ClaimNew(ctx, tokens.Record{Key: renewalKey(key), Kind: renewalKind, Expires: time.Now().Add(renewalClaim)})
}

// Result implements cascoapi.Renewals.
func (s sharedRenewals) Result(ctx context.Context, key string) (cascoapi.Tokens, bool, error) {
	r, err := s.store.Get(ctx, renewalKey(key))
	if errors.Is(err, tokens.ErrNotFound) || err == nil && r.Claimed.IsZero() {
		// None, or released after a failure: the caller may claim it.
		return cascoapi.Tokens{}, false, cascoapi.ErrNoRenewal
	}
	if err != nil || r.Result == nil {
		return cascoapi.Tokens{}, false, err
	}
	plain, err := s.sessions.Unseal(renewalKind, r.Result)
	if err != nil {
		return cascoapi.Tokens{}, false, err
	}
	var t cascoapi.Tokens
	if err := json.Unmarshal(plain, &t); err != nil {
		return cascoapi.Tokens{}, false, err
	}
	return t, true, nil
}

// Finish implements cascoapi.Renewals.
func (s sharedRenewals) Finish(ctx context.Context, key string, t cascoapi.Tokens) error {
	plain, err := json.Marshal(t) // #nosec G117 -- sealed (AES-GCM) right below, before it is stored
	if err != nil {
		return err
	}
	sealed, err := s.sessions.Seal(renewalKind, plain)
	if err != nil {
		return err
	}
	return s.store.Finish(ctx, renewalKey(key), sealed, time.Now().Add(renewalKeep))
}

// Release implements cascoapi.Renewals.
func (s sharedRenewals) Release(ctx context.Context, key string) error {
	return s.store.Release(ctx, renewalKey(key))
}
