package handlers

import (
	"context"
	"errors"

	"backoffice/apiclient"
	"backoffice/internal/audit"
)

// refusals are the upstream answers that say it did not act.
var refusals = []error{apiclient.ErrBadRequest, apiclient.ErrUnauthorized, apiclient.ErrForbidden, apiclient.ErrNotFound,
	apiclient.ErrConflict, apiclient.ErrPreconditionFailed, apiclient.ErrUnprocessable}

// RecordAction appends e (its actor already set) to the audit log. With
// err, the upstream's answer, it fills in the upstream status, request id
// and message, and, unless e has one, the outcome: refused by the
// upstream, or unknown when no usable answer came. A failed append is
// logged loudly: the action happened, or not, upstream all the same.
func (c *Core) RecordAction(ctx context.Context, log audit.Log, e audit.Entry, err error) {
	var ue *apiclient.Error
	if errors.As(err, &ue) {
		e.UpstreamStatus, e.UpstreamRequestID, e.Message = ue.StatusCode, ue.RequestID, ue.Message
	}
	if e.Outcome == "" && err != nil {
		e.Outcome = audit.OutcomeUnknown
		for _, refused := range refusals {
			if errors.Is(err, refused) {
				e.Outcome = audit.OutcomeRejected
			}
		}
	}
	c.observer.Write(e.Action, e.Outcome)
	// On a context of its own: the write's deadline may have passed (that
	// is often why its outcome is unknown), and the record must be kept.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	if _, aerr := log.Append(ctx, e); aerr != nil {
		c.Log.ErrorContext(ctx, "audit append failed", "err", aerr, "action", e.Action, "policy", e.PolicyID, "outcome", e.Outcome)
	}
}
