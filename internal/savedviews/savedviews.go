// Package savedviews keeps the policy list's saved views: a name a
// tenant gave to a list state (search, filters, sort, columns, page
// size), so that anyone of the tenant can open it again by a stable URL.
//
// Every row carries its tenant and every query is scoped by it: a view
// of another tenant is as absent as one that never existed. What a
// tenant can grow is bounded (MaxPerTenant views, MaxNameRunes per name,
// MaxStateBytes per state). The store is a SQLite file of this instance
// by default, or the audit log's PostgreSQL database when several
// instances share it.
package savedviews

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// The bounds.
const (
	// MaxPerTenant bounds the views of one tenant.
	MaxPerTenant = 100
	// MaxNameRunes bounds a name, in characters.
	MaxNameRunes = 80
	// MaxStateBytes bounds a stored list state (an encoded URL query).
	MaxStateBytes = 4096
	// idBytes is the random part of an id (hex-encoded, twice as long).
	idBytes = 9
)

// View is one saved list state.
type View struct {
	// ID is random and stable: /views/{id} opens it.
	ID     string
	Tenant string
	// Name is as typed (trimmed); it is text, never markup.
	Name string
	// State is the list's URL query, without a page number.
	State   string
	Created time.Time
}

// Errors. A refused name is one of the Name… errors, each wrapped in
// ErrInvalid, so that a form can say exactly what is wrong.
var (
	// ErrNotFound: no such view in the tenant (another tenant's too).
	ErrNotFound = errors.New("savedviews: not found")
	// ErrInvalid: a value was refused.
	ErrInvalid = errors.New("savedviews: invalid")
	// ErrNameEmpty, ErrNameLong and ErrNameControl refuse a name.
	ErrNameEmpty   = errors.New("savedviews: the name is empty")
	ErrNameLong    = errors.New("savedviews: the name is too long")
	ErrNameControl = errors.New("savedviews: the name has control characters")
	// ErrNameFormat refuses a name with an invisible formatting character
	// (Unicode category Cf: bidirectional overrides such as U+202E, zero
	// widths, soft hyphens), which can make a name look like another one
	// or reorder the text around it.
	ErrNameFormat = errors.New("savedviews: the name has invisible formatting characters")
	// ErrStateLong refuses a state longer than MaxStateBytes.
	ErrStateLong = errors.New("savedviews: the state is too long")
	// ErrDuplicate: the tenant has a view of that name (letter case
	// aside).
	ErrDuplicate = errors.New("savedviews: a view of that name exists")
	// ErrFull: the tenant has MaxPerTenant views already.
	ErrFull = errors.New("savedviews: too many views")
)

// Store keeps the views. Every method is scoped by tenant.
type Store interface {
	// Create saves a view of state under name and returns it.
	Create(ctx context.Context, tenant, name, state string) (View, error)
	// List returns the tenant's views, by name.
	List(ctx context.Context, tenant string) ([]View, error)
	// Get returns the tenant's view id (ErrNotFound otherwise).
	Get(ctx context.Context, tenant, id string) (View, error)
	// Delete removes the tenant's view id (ErrNotFound otherwise).
	Delete(ctx context.Context, tenant, id string) error
	// Close releases the database.
	Close() error
}

// CheckName returns the name as stored (trimmed) or why it is refused.
// Markup is allowed as text (every page escapes it); control characters,
// which no one types and which could break a line in a log, are not, nor
// are format characters (bidi overrides, zero widths), which make a name
// read as something else than it is.
func CheckName(name string) (string, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return "", errors.Join(ErrInvalid, ErrNameEmpty)
	case !utf8.ValidString(name):
		return "", errors.Join(ErrInvalid, ErrNameControl)
	case utf8.RuneCountInString(name) > MaxNameRunes:
		return "", errors.Join(ErrInvalid, ErrNameLong)
	}
	for _, r := range name {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return "", errors.Join(ErrInvalid, ErrNameControl)
		}
		if unicode.Is(unicode.Cf, r) {
			return "", errors.Join(ErrInvalid, ErrNameFormat)
		}
	}
	return name, nil
}

// nameKey is what two names must not share within a tenant: the name
// case-folded, so that "Paid" and "PAID" are one.
func nameKey(name string) string {
	return strings.ToLower(strings.ToUpper(name))
}

// checkState refuses a state past the bound.
func checkState(state string) error {
	if len(state) > MaxStateBytes || !utf8.ValidString(state) {
		return errors.Join(ErrInvalid, ErrStateLong)
	}
	return nil
}

// validID reports whether id could be one of ours: lowercase hex of the
// right length. Anything else is not looked up.
func validID(id string) bool {
	if len(id) != 2*idBytes {
		return false
	}
	for _, c := range id {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
