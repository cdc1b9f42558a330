// Package audit is the append-only record of the actions people take
// through the dashboard (cancellations first). There is no code path that
// changes or removes an entry: a later event about the same action (the
// cancellation completing) is a new entry.
package audit

import (
	"context"
	"errors"
	"time"
)

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

// ActionCancel is a policy cancellation.
const ActionCancel = "cancel"

// Entry is one recorded event.
type Entry struct {
	ID int64
	At time.Time
	// Action is what was attempted ("cancel").
	Action string
	// Actor is the masked key ("sk_test_…4f2a"); ActorName the display
	// name the user gave at sign-in, if any. Mode is "test" or "live".
	Actor     string
	ActorName string
	Mode      string
	// PolicyID is the KASKO id, InsurerPolicyID the insurer's; VersionID
	// the version the user saw (sent as If-Match), NewVersionID the
	// version the upstream assembles (from the status link).
	PolicyID        string
	InsurerPolicyID string
	VersionID       string
	NewVersionID    string
	// Reason and TerminationDate ("YYYY-MM-DD") are what the user asked.
	Reason          string
	TerminationDate string
	Outcome         string
	// UpstreamStatus is the HTTP status of the upstream's answer (0: none);
	// UpstreamRequestID its X-Request-Id; Message its message, for support.
	UpstreamStatus    int
	UpstreamRequestID string
	Message           string
}

// Filter selects entries, newest first.
type Filter struct {
	// Policy matches the KASKO id or the insurer policy id exactly.
	Policy string
	// Actor matches the masked key or the display name exactly.
	Actor string
	// Outcome is one of Outcomes.
	Outcome string
	Limit   int // 1..100
	Offset  int
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

// Check validates an entry before it is stored.
func (e Entry) Check() error {
	if e.Action == "" || e.Outcome == "" || e.PolicyID == "" || e.Actor == "" {
		return errors.Join(ErrInvalid, errors.New("an entry needs an action, an outcome, a policy and an actor"))
	}
	return nil
}

// Check validates a filter.
func (f Filter) Check() error {
	if f.Limit < 1 || f.Limit > 100 || f.Offset < 0 {
		return errors.Join(ErrInvalid, errors.New("limit must be 1..100 and offset not negative"))
	}
	return nil
}
