// Package audit is the append-only record of the actions people take
// through the dashboard (cancellations, policies pushed to the insurer,
// CASCO conversions). There is no code path that changes or removes an
// entry: a later event about the same action (the cancellation
// completing) is a new entry. The one exception is a coalesced entry's
// count (see Entry.Coalesce), which only grows.
//
// Every entry belongs to a tenant (KaskoTenant, PartnerTenant), and the
// dashboard's pages only ever list one tenant's entries.
package audit

import (
	"context"
	"errors"
	"strings"
	"time"
)

// KaskoTenant is the tenant of a KASKO key: its distributor and mode
// ("test" or "live"). Test and live are apart because a test key cannot
// see live policies upstream either.
func KaskoTenant(distributorID, mode string) string {
	return "kasko:" + distributorID + ":" + mode
}

// PartnerTenant is the tenant of a CascoApi partner account.
func PartnerTenant(account string) string { return "casco:" + account }

// IsPartnerTenant reports whether tenant is a partner account's.
func IsPartnerTenant(tenant string) bool { return strings.HasPrefix(tenant, "casco:") }

// Outcomes of an action, as recorded.
const (
	// OutcomeAccepted: the upstream took the request (202) and works on it.
	OutcomeAccepted = "accepted"
	// OutcomeCompleted and OutcomeFailed end an accepted action.
	OutcomeCompleted = "completed"
	OutcomeFailed    = "failed"
	// OutcomeRejected: the upstream refused the request (400, 404, 409,
	// 412, 422); UpstreamStatus says which.
	OutcomeRejected = "rejected"
	// OutcomeUnknown: the upstream failed or did not answer in time; the
	// action may or may not have happened.
	OutcomeUnknown = "unknown"
	// OutcomeRefused: the dashboard refused it (a read-only session)
	// without asking the upstream.
	OutcomeRefused = "refused"
)

// Outcomes lists every outcome, for filters.
func Outcomes() []string {
	return []string{OutcomeAccepted, OutcomeCompleted, OutcomeFailed, OutcomeRejected, OutcomeUnknown, OutcomeRefused}
}

// Actions, as recorded.
const (
	// ActionCancel is a policy cancellation.
	ActionCancel = "cancel"
	// ActionCreate is a policy pushed to the KASKO push API.
	ActionCreate = "create"
	// ActionConvert is a CASCO offer turned into a policy (CascoApi):
	// Reference is the offer id, Message the policy's series and number.
	ActionConvert = "convert"
	// ActionExport is a policy list view exported to a file: Reference
	// is the view (the list's URL), Message the format, row count and
	// columns.
	ActionExport = "export"
)

// Actions lists every action, for filters.
func Actions() []string {
	return []string{ActionCancel, ActionCreate, ActionExport, ActionViewCreate, ActionViewDelete, ActionConvert}
}

// Entry is one recorded event.
type Entry struct {
	ID int64
	At time.Time
	// Action is what was attempted (ActionCancel, ActionCreate,
	// ActionConvert).
	Action string
	// Actor is the masked key ("sk_test_…4f2a"); ActorName the display
	// name the user gave at sign-in, if any. Mode is "test" or "live".
	Actor     string
	ActorName string
	Mode      string
	// PolicyID is the KASKO id, InsurerPolicyID the insurer's; VersionID
	// the version the user saw (sent as If-Match), NewVersionID the
	// version the upstream assembles (from the status link). A creation
	// often has none of them: the policy exists only once the insurer
	// has processed the push.
	PolicyID        string
	InsurerPolicyID string
	VersionID       string
	NewVersionID    string
	// Reason and TerminationDate ("YYYY-MM-DD") are what the user asked
	// for a cancellation.
	Reason          string
	TerminationDate string
	// VariantID is the product variant a creation pushed, Holder the
	// policy holder's first and last name, and Reference the push
	// reference (a UUID) the upstream returns with a 200: until the
	// policy has ids, the reference is what support can trace.
	VariantID string
	Holder    string
	Reference string
	Outcome   string
	// UpstreamStatus is the HTTP status of the upstream's answer (0: none);
	// UpstreamRequestID its X-Request-Id; Message its message, for support.
	UpstreamStatus    int
	UpstreamRequestID string
	Message           string
	// Tenant is whose entry this is (KaskoTenant, PartnerTenant); entries
	// an older build wrote without one have "" and are listed to no one.
	Tenant string
	// Coalesce, when set, makes repeats one entry: appending an entry
	// with the same Tenant and Coalesce as a stored one adds its Count to
	// that entry instead of adding a row (a read-only session hammering a
	// write action). The caller puts the time window into the key.
	Coalesce string
	// Count is how many times the event happened (1 unless coalesced).
	Count int
}

// Filter selects entries, newest first.
type Filter struct {
	// Tenant keeps the entries of one tenant. Every page of the dashboard
	// sets it; "" (every tenant, entries without one included) is for
	// operators' checks and tests, never for a signed-in session.
	Tenant string
	// Policy matches the KASKO id, the insurer policy id or the push
	// reference exactly.
	Policy string
	// Actor matches the masked key or the display name exactly.
	Actor string
	// Outcome is one of Outcomes.
	Outcome string
	// Action is one of the actions (ActionCancel, …), matched exactly.
	Action string
	// Reason matches a cancellation's reason exactly (no trimming, no
	// case folding: the overview counts reasons as stored). "" means any
	// reason; NoReason keeps only the entries without one, which is how
	// the overview's "no reason given" bucket is asked for. Setting both
	// is invalid.
	Reason   string
	NoReason bool
	// From and To keep the entries whose At is at or after From and
	// before To, the half-open range ReasonCounter.CancelReasons counts
	// in; a zero time leaves that side open. Both are compared to the
	// microsecond, the resolution entries are stored at.
	From, To time.Time
	Limit    int // 1..100
	Offset   int
}

// Page is one page of entries and the number of entries the filter
// matches in all.
type Page struct {
	Entries []Entry
	Total   int
}

// Log is an append-only audit log.
type Log interface {
	// Append records e and returns it with its ID and time set (At is set
	// to now when zero).
	Append(ctx context.Context, e Entry) (Entry, error)
	// List returns the entries the filter selects, newest first.
	List(ctx context.Context, f Filter) (Page, error)
	Close() error
}

// ErrInvalid is returned for an entry or a filter that cannot be stored
// or run (a missing action or outcome, a limit out of range).
var ErrInvalid = errors.New("audit: invalid")

// Check validates an entry before it is stored. What names the subject
// depends on the action: a cancellation is always of a known policy,
// a creation is known by its variant (the policy may never come to
// exist), and a conversion by its offer (or the policy it became).
func (e Entry) Check() error {
	if e.Action == "" || e.Outcome == "" || e.Actor == "" {
		return errors.Join(ErrInvalid, errors.New("an entry needs an action, an outcome and an actor"))
	}
	if e.Count < 0 {
		return errors.Join(ErrInvalid, errors.New("an entry's count cannot be negative"))
	}
	if e.Coalesce != "" && e.Tenant == "" {
		return errors.Join(ErrInvalid, errors.New("a coalesced entry needs a tenant"))
	}
	switch {
	case e.Action == ActionCancel && e.PolicyID == "":
		return errors.Join(ErrInvalid, errors.New("a cancellation entry needs a policy"))
	case e.Action == ActionCreate && e.VariantID == "":
		return errors.Join(ErrInvalid, errors.New("a creation entry needs a variant"))
	case e.Action == ActionConvert && e.Reference == "" && e.PolicyID == "":
		return errors.Join(ErrInvalid, errors.New("a conversion entry needs an offer reference or a policy"))
	}
	return nil
}

// Check validates a filter.
func (f Filter) Check() error {
	if f.Limit < 1 || f.Limit > 100 || f.Offset < 0 {
		return errors.Join(ErrInvalid, errors.New("limit must be 1..100 and offset not negative"))
	}
	if f.Reason != "" && f.NoReason {
		return errors.Join(ErrInvalid, errors.New("a filter asks for a reason or for none, not both"))
	}
	if !f.From.IsZero() && !f.To.IsZero() && f.To.Before(f.From) {
		return errors.Join(ErrInvalid, errors.New("a filter's range ends before it starts"))
	}
	return nil
}
