package kasko

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"

	"backoffice/handlers"
	"backoffice/internal/audit"
)

// record appends e to the audit log as the current user's act, in their
// tenant, with the upstream's answer err (see handlers.RecordAction).
func (h *Handlers) record(ctx context.Context, e audit.Entry, err error) {
	user := currentUser(ctx)
	badge := user.Badge()
	e.Actor, e.ActorName, e.Mode, e.Tenant = badge.MaskedKey, user.DisplayName, string(badge.Mode), user.Tenant
	h.core.RecordAction(ctx, h.audit, e, err)
	user.pending = nil // the entry may start or end an operation
}

// refusalWindow is how long the refusals of one session, action and
// object make one entry.
const refusalWindow = time.Minute

// refuseReadOnly answers a write action from a read-only session: refused
// here, without asking the upstream, and on the record. A session
// repeating the refused action (a script, a stuck button) makes one
// entry per action, object and minute whose count grows, not a row per
// request. The log does the counting (one upsert on a unique key), so
// that instances sharing it count together, a crash loses no count and
// nothing waits in memory for a flush.
func (h *Handlers) refuseReadOnly(ctx context.Context, e audit.Entry) error {
	e.Outcome, e.Message = audit.OutcomeRefused, "read-only session"
	object := e.PolicyID
	if object == "" {
		object = e.VariantID
	}
	// The session is named by a digest: the log needs to tell sessions
	// apart, not to know them.
	session := sha256.Sum256([]byte(h.formOwner(ctx)))
	window := time.Now().UTC().Truncate(refusalWindow).Format("2006-01-02T15:04")
	e.Coalesce = hex.EncodeToString(session[:12]) + "|" + e.Action + "|" + object + "|" + window
	h.record(ctx, e, nil)
	return handlers.ErrReadOnly
}
