package kasko

import (
	"context"

	"backoffice/handlers"
	"backoffice/internal/audit"
)

// record appends e to the audit log as the current user's act, with the
// upstream's answer err (see handlers.RecordAction).
func (h *Handlers) record(ctx context.Context, e audit.Entry, err error) {
	user := currentUser(ctx)
	badge := user.Badge()
	e.Actor, e.ActorName, e.Mode = badge.MaskedKey, user.DisplayName, string(badge.Mode)
	h.core.RecordAction(ctx, h.audit, e, err)
	user.pending = nil // the entry may start or end an operation
}

// refuseReadOnly answers a write action from a read-only session: refused
// here, without asking the upstream, and on the record.
func (h *Handlers) refuseReadOnly(ctx context.Context, e audit.Entry) error {
	e.Outcome, e.Message = audit.OutcomeRefused, "read-only session"
	h.record(ctx, e, nil)
	return handlers.ErrReadOnly
}
