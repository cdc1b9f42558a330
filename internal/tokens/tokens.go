// Package tokens keeps what must be done once across every instance of
// the dashboard: the one-time tokens of the forms that write upstream
// (cancel, push, offers, offer to policy) with the answer their first
// submission got, and the renewals of CascoApi refresh tokens, which the
// upstream rotates on each use.
//
// A record is claimed at most once, whatever the number of instances
// asking at the same time (Claim and ClaimNew are atomic in every
// backend), and keeps the claim's result for the submissions and
// renewals that come after. Records expire; each owner (a browser
// session) holds a bounded number of open forms.
//
// Backends: Memory (one process, tests), SQLite (DATA_DIR, one
// instance), PostgreSQL and Redis (several instances).
package tokens

import (
	"context"
	"errors"
	"time"
)

// Record is one form token, or one renewal.
type Record struct {
	// Key is the token itself (random, URL-safe), or a renewal's key
	// (a hash of the refresh token it spends).
	Key string
	// Owner is who may use it: a browser session's form owner. Empty for
	// renewals, which any instance of any session may adopt.
	Owner string
	// Kind names the form ("cancel", "push", "offers", "convert") or
	// "casco-renewal".
	Kind string
	// Subject is what the form acts on ("policy id@version", "draft
	// id/offer id", "" for a new-policy form): an open form of the same
	// owner, kind and subject is reused instead of minting another.
	Subject string
	// State is what the form carries besides its fields (the policy as
	// the user saw it…), opaque here; at most MaxState bytes.
	State []byte
	// Claimed is when the record was claimed (zero: not yet).
	Claimed time.Time
	// Result is what the claim produced (a recorded answer, renewed
	// tokens sealed by the caller); nil until Finish, and not nil (if
	// empty) after it. At most MaxResult bytes.
	Result []byte
	// Created is set by the store; Expires by the caller.
	Created, Expires time.Time
}

// Bounds.
const (
	MaxState  = 64 << 10
	MaxResult = 512 << 10
	// MaxKey bounds Key, Owner, Kind and Subject.
	MaxKey = 256
)

// Errors, for errors.Is.
var (
	// ErrNotFound: no such record, or it expired.
	ErrNotFound = errors.New("tokens: not found or expired")
	// ErrTooLarge: State or Result over its bound.
	ErrTooLarge = errors.New("tokens: too large")
	// ErrInvalid: an empty or overlong key, owner, kind or subject (or
	// one that is not UTF-8, or holds a NUL), or an Expires not in the
	// future; also Finish of an unclaimed record and Release of a
	// finished one.
	ErrInvalid = errors.New("tokens: invalid")
)

// Store keeps records. Every method is safe for concurrent use, and the
// SQL and Redis backends are safe across processes.
type Store interface {
	// Create stores a new, unclaimed record (Key, Owner, Kind, Subject,
	// State, Expires; Created is set here). When Owner then holds more
	// than perOwner unexpired records, its oldest ones are removed, so
	// that a client opening forms in a loop cannot grow the store.
	// A Key that exists already is ErrInvalid, and so is a perOwner
	// below 1.
	Create(ctx context.Context, r Record, perOwner int) error
	// Find returns owner's newest unexpired, unclaimed record of kind
	// and subject; ok false when there is none.
	Find(ctx context.Context, owner, kind, subject string) (r Record, ok bool, err error)
	// Get returns the unexpired record key (ErrNotFound otherwise).
	Get(ctx context.Context, key string) (Record, error)
	// SetState replaces the state of the unexpired record key.
	SetState(ctx context.Context, key string, state []byte) error
	// Claim claims the unexpired record key: won is true for exactly one
	// caller, across all instances; ErrNotFound when there is no such
	// record.
	Claim(ctx context.Context, key string) (won bool, err error)
	// ClaimNew creates r already claimed, unless a claimed record with
	// its Key exists: an expired record, or one nobody holds a claim on
	// (released, or never claimed), is replaced by r. won is true for
	// exactly one caller. For work named by its input (renewing a
	// refresh token) rather than by a form: after a failed attempt's
	// Release, the next ClaimNew of the same work wins.
	ClaimNew(ctx context.Context, r Record) (won bool, err error)
	// Finish stores the result of the claimed record key. The record
	// stays until it expires; Expires, when not zero, replaces its
	// expiry (a result may be worth keeping longer than the form).
	Finish(ctx context.Context, key string, result []byte, expires time.Time) error
	// Release forgets an unfinished claim on key (its work failed before
	// it could act upstream), so that another caller may claim it again
	// (Claim, or ClaimNew). Releasing an unclaimed record does nothing;
	// a finished one is ErrInvalid, as its work was done.
	Release(ctx context.Context, key string) error
	// Close releases the store's connections.
	Close() error
}
