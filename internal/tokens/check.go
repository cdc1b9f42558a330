package tokens

import (
	"bytes"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"backoffice/internal/sqlstore"
)

// invalid wraps ErrInvalid with what was wrong. It never repeats a key:
// a key is a form token or the hash of a refresh token, and error
// messages end up in logs.
func invalid(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, a...)...)
}

// checkName checks one of Key, Owner, Kind, Subject. NUL is refused
// although it is valid UTF-8, because PostgreSQL's text cannot hold it,
// and a value one backend accepts must be accepted by all.
func checkName(what, v string, required bool) error {
	switch {
	case required && v == "":
		return invalid("%s is empty", what)
	case len(v) > MaxKey:
		return invalid("%s is over %d bytes", what, MaxKey)
	case !utf8.ValidString(v):
		return invalid("%s is not UTF-8", what)
	case strings.IndexByte(v, 0) >= 0:
		return invalid("%s holds a NUL byte", what)
	}
	return nil
}

// checkKey checks the key a method looks a record up by.
func checkKey(key string) error { return checkName("key", key, true) }

// checkExpires checks an expiry given at now and returns it as the
// stores keep it.
func checkExpires(expires, now time.Time) (time.Time, error) {
	e := sqlstore.Instant(expires)
	if !e.After(now) {
		return time.Time{}, invalid("expires is not in the future")
	}
	return e, nil
}

func checkState(state []byte) error {
	if len(state) > MaxState {
		return fmt.Errorf("%w: state is over %d bytes", ErrTooLarge, MaxState)
	}
	return nil
}

func checkResult(result []byte) error {
	if len(result) > MaxResult {
		return fmt.Errorf("%w: result is over %d bytes", ErrTooLarge, MaxResult)
	}
	return nil
}

// checkRecord validates what Create and ClaimNew take from r, and
// returns it as every store keeps it: its own copy of the state (nil
// when empty, so that no backend has to tell an empty value from a
// missing one), Expires in UTC microseconds. Claimed, Result and Created
// are the store's to set, and ignored.
func checkRecord(r Record, now time.Time) (Record, error) {
	if err := checkKey(r.Key); err != nil {
		return Record{}, err
	}
	if err := checkName("owner", r.Owner, false); err != nil {
		return Record{}, err
	}
	if err := checkName("kind", r.Kind, true); err != nil {
		return Record{}, err
	}
	if err := checkName("subject", r.Subject, false); err != nil {
		return Record{}, err
	}
	if err := checkState(r.State); err != nil {
		return Record{}, err
	}
	exp, err := checkExpires(r.Expires, now)
	if err != nil {
		return Record{}, err
	}
	return Record{Key: r.Key, Owner: r.Owner, Kind: r.Kind, Subject: r.Subject, State: cloneState(r.State), Expires: exp}, nil
}

// checkPerOwner refuses a bound that would remove the record being
// created (0) or means nothing (negative): an unbounded Create is
// exactly what the bound is there to prevent.
func checkPerOwner(perOwner int) error {
	if perOwner < 1 {
		return invalid("perOwner must be at least 1")
	}
	return nil
}

// cloneState copies a state, an empty one as nil.
func cloneState(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return bytes.Clone(b)
}

// cloneResult copies a result. A finished record's result is never nil,
// even when empty, so that Result != nil tells a finished record from
// a claimed one in every backend.
func cloneResult(b []byte) []byte {
	return append([]byte{}, b...)
}
