// Package quotes is the dashboard's own record of the CASCO quotes each
// partner account runs: the drafts (the step forms' contents), the
// offers of the latest request for quotes, and the policies issued from
// them. The CascoApi cannot list past quotes, so without this record a
// broker could neither reopen a draft nor download a policy's PDF again.
//
// Everything is scoped by the CascoApi partner account: a draft, offer
// or policy of another account is reported as not found, never as
// someone else's.
package quotes

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"backoffice/internal/sqlstore"
)

// Steps of a draft, in the order the broker goes through them.
const (
	StepVehicle = "vehicle"
	StepOwner   = "owner"
	StepCover   = "cover"
	StepOffers  = "offers"
	StepPolicy  = "policy"
	StepDone    = "done"
)

// Steps lists every step, in order.
func Steps() []string {
	return []string{StepVehicle, StepOwner, StepCover, StepOffers, StepPolicy, StepDone}
}

// Bounds on what one record may hold. They keep a row, and a page of
// the history, a reasonable size whatever a form or an upstream sends.
const (
	// MaxBlob bounds each of a draft's Vehicle, Owner and Cover.
	MaxBlob = 64 << 10
	// MaxBody bounds an offer's or a policy's upstream Body: larger than
	// a form, as it is the upstream's whole answer.
	MaxBody = 1 << 20
	// MaxTitle bounds a draft's Title, in bytes.
	MaxTitle = 1 << 10
	// MaxOffers bounds one set of offers (a request for quotes asks a
	// handful of providers).
	MaxOffers = 100
	// maxErrorText is where an offer's Error is cut: it is a message for
	// a table cell, not a record to keep whole.
	maxErrorText = 4 << 10
	// maxName bounds an account, an upstream id, a provider, a series
	// or a number.
	maxName = 256
	// maxDepth bounds the nesting of a JSON value: forms and offers are
	// shallow, and SQLite's json_valid and PostgreSQL's parser give up
	// at depths Go accepts, so a deeper value would be refused by one
	// store and kept by another.
	maxDepth = 64
)

// Draft is one quote in progress (or done), as the broker left it.
type Draft struct {
	// ID is random and URL-safe (22 characters), made by CreateDraft.
	ID string
	// Account is the CascoApi partner account that owns the draft.
	Account string
	// Step is where the broker is (StepVehicle … StepDone).
	Step string
	// Vehicle, Owner and Cover are the step forms' contents: the JSON
	// encoding of a VehicleForm, an OwnerForm and a CoverForm (see Load
	// and Save), at most MaxBlob bytes each, or empty until the step is
	// filled.
	Vehicle, Owner, Cover json.RawMessage
	// Version counts the saves; SaveDraft takes the version the caller
	// read and refuses a stale one (ErrConflict), so that two tabs or two
	// brokers cannot overwrite each other's changes unseen.
	Version int
	// CreatedAt and UpdatedAt are set by the store, in UTC, in whole
	// microseconds.
	CreatedAt, UpdatedAt time.Time
	// Title names the draft in the history list ("Dacia Logan ·
	// B-123-ABC · Ion Popescu"); at most MaxTitle bytes.
	Title string
	// Insurers is how many insurers the draft's current offers come
	// from (asked, answered or not); set by ListDrafts only, for the
	// history to tell two quotes of one car apart.
	Insurers int
}

// Offer is one provider's answer to a request for quotes: an offer, or
// the provider's failure (Error) shown in its column.
type Offer struct {
	DraftID string
	// OfferID is the upstream's id; it may be empty only when Error says
	// why the provider made no offer.
	OfferID  string
	Provider string
	// Body is the upstream offer as the client decoded it (JSON, at most
	// MaxBody bytes, or empty).
	Body json.RawMessage
	// Error is the provider's failure, for display: stored as valid
	// UTF-8 and cut at 4 KiB.
	Error string
	// ExpiresAt is when the offer lapses (zero: not said).
	ExpiresAt time.Time
	// CreatedAt is set to now when zero.
	CreatedAt time.Time
}

// Policy is a policy issued from an offer.
type Policy struct {
	DraftID string
	// OfferID is the offer the policy was issued from; an account has at
	// most one policy per offer.
	OfferID  string
	Provider string
	// Series (may be empty) and Number are the insurer's policy number.
	Series, Number string
	// Body is the upstream policy as the client decoded it (JSON, at most
	// MaxBody bytes, or empty).
	Body json.RawMessage
	// IssuedAt is set to now when zero.
	IssuedAt time.Time
}

// Filter selects a page of an account's drafts, most recently updated
// first.
type Filter struct {
	Limit  int // 1..100
	Offset int
}

// Page is one page of drafts and the number of the account's drafts in
// all. The drafts in a page carry no Vehicle, Owner or Cover (up to
// 192 KiB each): the history list shows the Title and Step, and GetDraft
// reads a whole draft when the broker opens it.
type Page struct {
	Drafts []Draft
	Total  int
}

// Store keeps the quotes. Every method takes the partner account and
// answers only with that account's records.
type Store interface {
	// CreateDraft starts an empty draft at StepVehicle, Version 1.
	CreateDraft(ctx context.Context, account string) (Draft, error)
	// FreshDraft opens a new quote for the account: its newest draft
	// that has no vehicle yet (no title, at StepVehicle), or when there
	// is none a new one (created true). The look and the creation are
	// one step for every instance sharing the store, so that clicks on
	// "New quote" however close together leave one empty draft. An
	// account holding limit drafts or more gets ErrTooLarge instead of a
	// new one.
	FreshDraft(ctx context.Context, account string, limit int) (d Draft, created bool, err error)
	// GetDraft returns the account's draft id (ErrNotFound when there is
	// none, whoever else may own that id).
	GetDraft(ctx context.Context, account, id string) (Draft, error)
	// SaveDraft stores d's Step, Title, Vehicle, Owner and Cover when
	// d.Version is the stored version, and returns the draft with its
	// Version bumped and UpdatedAt set. A stale version is ErrConflict:
	// reread and merge, or tell the broker.
	SaveDraft(ctx context.Context, d Draft) (Draft, error)
	// ListDrafts returns a page of the account's drafts, most recently
	// updated first (see Page: without the step forms' contents).
	ListDrafts(ctx context.Context, account string, f Filter) (Page, error)
	// ReplaceOffers makes offers the draft's offers, in their order,
	// dropping the previous set and any insurer still being asked (see
	// StartAsks: their answers will not be kept), all at once. The draft
	// itself (Version, UpdatedAt) is left as it is.
	ReplaceOffers(ctx context.Context, account, draftID string, offers []Offer) error
	// StartAsks records that providers are being asked for offers, under
	// a new token it returns, all at once. With all, it is a new request
	// for quotes: the draft's offers and asks are dropped first; without,
	// only those of providers are (the provider's column starts again).
	// A provider asked again gets the new token: the answer to its
	// earlier ask is not kept.
	StartAsks(ctx context.Context, account, draftID string, providers []string, all bool) (token string, err error)
	// FinishAsk records provider's answer (its offers, or its failure as
	// an Offer with Error) to the ask named token, replacing the
	// provider's offers and ending its ask, all at once, and reports
	// true. When the provider is no longer being asked under that token
	// (asked again since, or the offers were replaced), it changes
	// nothing and reports false.
	FinishAsk(ctx context.Context, account, draftID, provider, token string, offers []Offer) (bool, error)
	// Asks returns the providers still being asked for the draft, in
	// the order they were asked, stale or not (Ask.Stale).
	Asks(ctx context.Context, account, draftID string) ([]Ask, error)
	// Offers returns the draft's current offers, in the order given.
	Offers(ctx context.Context, account, draftID string) ([]Offer, error)
	// Answers returns the draft's offers and its providers still being
	// asked as they stood at one moment. Read apart, an answer stored
	// between the two reads (its ask ended, its offers added) would be
	// in neither, and the provider would vanish from the offers page.
	Answers(ctx context.Context, account, draftID string) ([]Offer, []Ask, error)
	// RecordPolicy records a policy issued for the account's draft. When
	// the account already has a policy for p.OfferID, it returns that
	// policy and ErrExists: a second conversion of the same offer yields
	// the first policy, whichever request got there first.
	RecordPolicy(ctx context.Context, account string, p Policy) (Policy, error)
	// Policies returns the policies issued for the draft, oldest first.
	Policies(ctx context.Context, account, draftID string) ([]Policy, error)
	// PolicyByNumber returns the account's policy with that series
	// and number (the most recently issued, should two providers share
	// one), or ErrNotFound.
	PolicyByNumber(ctx context.Context, account, series, number string) (Policy, error)
	Close() error
}

// Errors, for errors.Is.
var (
	// ErrNotFound: no such draft or policy for this account.
	ErrNotFound = errors.New("quotes: not found")
	// ErrConflict: the draft was saved by someone else since it was read.
	ErrConflict = errors.New("quotes: the draft changed since it was read")
	// ErrExists: the offer already has a policy (returned beside it).
	ErrExists = errors.New("quotes: a policy is already recorded for this offer")
	// ErrInvalid: an account, id, step or JSON value that cannot be
	// stored or looked up, or a filter out of range.
	ErrInvalid = errors.New("quotes: invalid")
	// ErrTooLarge: a value over its bound (MaxBlob, MaxBody, MaxTitle,
	// MaxOffers).
	ErrTooLarge = errors.New("quotes: too large")
)

func invalid(format string, args ...any) error {
	return errors.Join(ErrInvalid, fmt.Errorf(format, args...))
}

func tooLarge(format string, args ...any) error {
	return errors.Join(ErrTooLarge, fmt.Errorf(format, args...))
}

// newID returns 128 random bits, URL-safe: a draft id in a link is then
// neither guessable nor a count of the dashboard's quotes.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand documents it)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// checkName validates an account, an upstream id, a provider, a series
// or a number: non-empty unless optional, valid UTF-8 (PostgreSQL
// refuses anything else, so SQLite and Memory do too), no control
// characters (they have no business in a name, and NUL cannot be
// stored in PostgreSQL text).
func checkName(what, s string, optional bool) error {
	switch {
	case s == "" && optional:
		return nil
	case s == "":
		return invalid("%s is empty", what)
	case len(s) > maxName:
		return invalid("%s is longer than %d bytes", what, maxName)
	case !utf8.ValidString(s):
		return invalid("%s is not valid UTF-8", what)
	case strings.ContainsFunc(s, unicode.IsControl):
		return invalid("%s contains a control character", what)
	}
	return nil
}

func checkAccount(account string) error { return checkName("account", account, false) }

// checkDraftID accepts what newID makes, with room for a longer id
// later; anything else cannot name a draft.
func checkDraftID(id string) error {
	if len(id) < 16 || len(id) > 64 || strings.ContainsFunc(id, func(r rune) bool {
		return !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_')
	}) {
		return invalid("draft id %q is not 16 to 64 URL-safe characters", id)
	}
	return nil
}

// checkJSON validates a stored JSON value: empty, or valid JSON in
// valid UTF-8 (which Go's json.Valid alone does not check) of at most
// limit bytes.
func checkJSON(what string, b json.RawMessage, limit int) error {
	switch {
	case len(b) == 0:
		return nil
	case len(b) > limit:
		return tooLarge("%s is %d bytes, at most %d", what, len(b), limit)
	case !utf8.Valid(b) || !json.Valid(b):
		return invalid("%s is not valid JSON", what)
	case depth(b) > maxDepth:
		return invalid("%s nests deeper than %d levels", what, maxDepth)
	}
	return nil
}

// depth is the deepest nesting of arrays and objects in b, which is
// valid JSON.
func depth(b []byte) int {
	d, deepest, inString, escaped := 0, 0, false, false
	for _, c := range b {
		switch {
		case escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case c == '"':
			inString = !inString
		case inString:
		case c == '[' || c == '{':
			d++
			deepest = max(deepest, d)
		case c == ']' || c == '}':
			d--
		}
	}
	return deepest
}

// cloneJSON copies b so that neither the caller nor the store can
// change the other's bytes later; empty becomes nil, as every store
// reads it back.
func cloneJSON(b json.RawMessage) json.RawMessage {
	if len(b) == 0 {
		return nil
	}
	return append(json.RawMessage(nil), b...)
}

func checkStep(step string) error {
	for _, s := range Steps() {
		if step == s {
			return nil
		}
	}
	return invalid("unknown step %q", step)
}

// isFresh reports whether d is a quote with no vehicle yet: the history
// lists it as "New quote (no vehicle yet)", and FreshDraft reopens it.
func isFresh(d Draft) bool { return d.Title == "" && d.Step == StepVehicle }

// prepareDraft validates what SaveDraft stores and returns it normalized.
func prepareDraft(d Draft) (Draft, error) {
	if err := checkAccount(d.Account); err != nil {
		return d, err
	}
	if err := checkDraftID(d.ID); err != nil {
		return d, err
	}
	if err := checkStep(d.Step); err != nil {
		return d, err
	}
	if d.Version < 1 {
		return d, invalid("version %d: save the version that was read", d.Version)
	}
	switch {
	case len(d.Title) > MaxTitle:
		return d, tooLarge("title is %d bytes, at most %d", len(d.Title), MaxTitle)
	case !utf8.ValidString(d.Title) || strings.ContainsFunc(d.Title, unicode.IsControl):
		return d, invalid("title is not valid UTF-8 text on one line")
	}
	for _, b := range []struct {
		what string
		v    json.RawMessage
	}{{"vehicle", d.Vehicle}, {"owner", d.Owner}, {"cover", d.Cover}} {
		if err := checkJSON(b.what, b.v, MaxBlob); err != nil {
			return d, err
		}
	}
	d.Vehicle, d.Owner, d.Cover = cloneJSON(d.Vehicle), cloneJSON(d.Owner), cloneJSON(d.Cover)
	return d, nil
}

// prepareOffers validates a set of offers for draftID and returns them
// normalized: the draft id filled in, times in UTC microseconds (now
// when CreatedAt is zero), the error text made storable.
func prepareOffers(draftID string, offers []Offer, now time.Time) ([]Offer, error) {
	if len(offers) > MaxOffers {
		return nil, tooLarge("%d offers, at most %d", len(offers), MaxOffers)
	}
	out := make([]Offer, len(offers))
	seen := make(map[string]bool, len(offers))
	for i, o := range offers {
		if o.DraftID != "" && o.DraftID != draftID {
			return nil, invalid("offer %d belongs to draft %q, not %q", i, o.DraftID, draftID)
		}
		o.DraftID = draftID
		if err := checkName("provider", o.Provider, false); err != nil {
			return nil, err
		}
		// A provider that failed may have no offer id; one that made an
		// offer must, or the offer could never be converted.
		o.Error = cleanText(o.Error)
		if err := checkName("offer id", o.OfferID, o.Error != ""); err != nil {
			return nil, err
		}
		if o.OfferID != "" {
			if seen[o.OfferID] {
				return nil, invalid("offer id %q appears twice", o.OfferID)
			}
			seen[o.OfferID] = true
		}
		if err := checkJSON("offer body", o.Body, MaxBody); err != nil {
			return nil, err
		}
		o.Body = cloneJSON(o.Body)
		o.ExpiresAt = sqlstore.Instant(o.ExpiresAt)
		if o.CreatedAt.IsZero() {
			o.CreatedAt = now
		}
		o.CreatedAt = sqlstore.Instant(o.CreatedAt)
		out[i] = o
	}
	return out, nil
}

// cleanText makes a provider's message storable in every store (valid
// UTF-8, no NUL) and bounded: losing a byte of an error message is
// better than losing the offers beside it.
func cleanText(s string) string {
	s = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
	if len(s) <= maxErrorText {
		return s
	}
	cut := maxErrorText
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// preparePolicy validates a policy for the store and returns it
// normalized (IssuedAt now when zero, in UTC microseconds).
func preparePolicy(p Policy, now time.Time) (Policy, error) {
	if err := checkDraftID(p.DraftID); err != nil {
		return p, err
	}
	for _, n := range []struct {
		what, v  string
		optional bool
	}{{"offer id", p.OfferID, false}, {"provider", p.Provider, false}, {"series", p.Series, true}, {"number", p.Number, false}} {
		if err := checkName(n.what, n.v, n.optional); err != nil {
			return p, err
		}
	}
	if err := checkJSON("policy body", p.Body, MaxBody); err != nil {
		return p, err
	}
	p.Body = cloneJSON(p.Body)
	if p.IssuedAt.IsZero() {
		p.IssuedAt = now
	}
	p.IssuedAt = sqlstore.Instant(p.IssuedAt)
	return p, nil
}

// checkFilter validates a page request.
func checkFilter(f Filter) error {
	if f.Limit < 1 || f.Limit > 100 || f.Offset < 0 {
		return invalid("limit must be 1..100 and offset not negative")
	}
	return nil
}

// checkDraftRef checks an account and a draft id together, as most
// methods take them.
func checkDraftRef(account, draftID string) error {
	if err := checkAccount(account); err != nil {
		return err
	}
	return checkDraftID(draftID)
}

// checkPolicyRef checks an account and a policy's series and number.
func checkPolicyRef(account, series, number string) error {
	if err := checkAccount(account); err != nil {
		return err
	}
	if err := checkName("series", series, true); err != nil {
		return err
	}
	return checkName("number", number, false)
}
