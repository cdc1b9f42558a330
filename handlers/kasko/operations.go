package kasko

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	kaskoapi "backoffice/apiclient/kasko"
	"backoffice/handlers"
	"backoffice/internal/audit"
	"backoffice/internal/i18n"
	"backoffice/internal/paths"
	"backoffice/views/layout"
	"backoffice/views/policies"
)

// Operations tracks the modifications the upstream accepted and still
// works on. The audit log is their record: an accepted entry without an
// end (completed or failed) is pending. So "1 cancellation in progress"
// survives navigation, reloads, a restart, and is the same on every
// instance that shares the log; the session is no place for it, since
// concurrent requests of one session overwrite each other's changes.
type Operations struct {
	h *Handlers
}

// pendingOp is one accepted modification.
type pendingOp struct {
	Action          string
	PolicyID        string
	InsurerPolicyID string
	VersionID       string
	NewVersionID    string
	Reason          string
	TerminationDate string
	Started         time.Time
}

// notice is the end of an operation, shown once.
type notice struct {
	Outcome         string `json:"outcome"` // audit.OutcomeCompleted or audit.OutcomeFailed
	PolicyID        string `json:"policy_id"`
	InsurerPolicyID string `json:"insurer_policy_id"`
	Message         string `json:"message,omitempty"`
}

const (
	noticesSessionKey = "notices"
	// maxPendingOps bounds the upstream calls one header refresh makes.
	maxPendingOps = 5
	// pendingWindow is how far back an accepted operation without an end
	// counts as pending; older ones are left to the audit log.
	pendingWindow = 24 * time.Hour
)

// pendingOps lists the current user's accepted operations that have not
// ended, newest first.
func (h *Handlers) pendingOps(ctx context.Context) []pendingOp {
	user := currentUser(ctx)
	if user == nil || user.ReadOnly() {
		return nil
	}
	if user.pending != nil {
		return *user.pending
	}
	ops := h.lookUpPendingOps(ctx, user)
	user.pending = &ops
	return ops
}

func (h *Handlers) lookUpPendingOps(ctx context.Context, user *User) []pendingOp {
	// Only cancellations are asynchronous: a push is done when it answers.
	accepted, err := h.listAudit(ctx, audit.Filter{Actor: user.Badge().MaskedKey, Outcome: audit.OutcomeAccepted, Limit: 20})
	if err != nil {
		h.core.Log.ErrorContext(ctx, "audit list failed", "err", err)
		return nil
	}
	var ops []pendingOp
	for _, e := range accepted.Entries {
		if e.Action != audit.ActionCancel || e.NewVersionID == "" || time.Since(e.At) > pendingWindow {
			continue
		}
		// Ended when the policy's own history has the end of this version.
		history, err := h.listAudit(ctx, audit.Filter{Policy: e.PolicyID, Limit: 50})
		if err != nil {
			h.core.Log.ErrorContext(ctx, "audit list failed", "err", err)
			return nil
		}
		if ended(history.Entries, e.NewVersionID) {
			continue
		}
		ops = append(ops, pendingOp{
			Action: e.Action, PolicyID: e.PolicyID, InsurerPolicyID: e.InsurerPolicyID, VersionID: e.VersionID,
			NewVersionID: e.NewVersionID, Reason: e.Reason, TerminationDate: e.TerminationDate, Started: e.At,
		})
	}
	return ops
}

func ended(entries []audit.Entry, newVersionID string) bool {
	for _, e := range entries {
		if e.NewVersionID == newVersionID && (e.Outcome == audit.OutcomeCompleted || e.Outcome == audit.OutcomeFailed) {
			return true
		}
	}
	return false
}

func (h *Handlers) findPendingOp(ctx context.Context, policyID, newVersionID string) (pendingOp, bool) {
	for _, op := range h.pendingOps(ctx) {
		if op.PolicyID == policyID && (newVersionID == "" || op.NewVersionID == newVersionID) {
			return op, true
		}
	}
	return pendingOp{}, false
}

func (h *Handlers) popNotices(ctx context.Context) []notice {
	var ns []notice
	if s := h.core.Sessions.Pop(ctx, noticesSessionKey); s != "" {
		_ = json.Unmarshal([]byte(s), &ns)
	}
	return ns
}

func (h *Handlers) addNotice(ctx context.Context, n notice) {
	var ns []notice
	if s := h.core.Sessions.Get(ctx, noticesSessionKey); s != "" {
		_ = json.Unmarshal([]byte(s), &ns)
	}
	b, _ := json.Marshal(append(ns, n))
	h.core.Sessions.Put(ctx, noticesSessionKey, string(b))
}

// checkOp asks the upstream how op is doing. When it has ended, the
// operation leaves the session, the audit log gets its outcome and a
// notice is queued; finished reports that.
func (h *Handlers) checkOp(ctx context.Context, op pendingOp) (st *kaskoapi.VersionStatus, finished bool, err error) {
	st, err = h.api(ctx).VersionStatus(ctx, op.PolicyID, op.NewVersionID)
	if err != nil {
		return nil, false, err
	}
	if !st.Done() {
		return st, false, nil
	}
	h.finishOp(ctx, op, st)
	return st, true, nil
}

func (h *Handlers) finishOp(ctx context.Context, op pendingOp, st *kaskoapi.VersionStatus) {
	// Several requests may see the end at once (the header and the
	// progress panel poll side by side, on any instance): the first one
	// records it. Kept as long as an operation counts as pending.
	if !h.core.Forms.FirstTime(ctx, "op-end:"+op.NewVersionID, pendingWindow) {
		return
	}
	outcome, message := audit.OutcomeCompleted, ""
	if st.Status == kaskoapi.StatusFailed {
		outcome = audit.OutcomeFailed
		if st.Error != nil {
			message = st.Error.Message
		}
	}
	h.record(ctx, audit.Entry{
		Action: op.Action, PolicyID: op.PolicyID, InsurerPolicyID: op.InsurerPolicyID, VersionID: op.VersionID, NewVersionID: op.NewVersionID,
		Reason: op.Reason, TerminationDate: op.TerminationDate, Outcome: outcome,
		UpstreamStatus: http.StatusOK, UpstreamRequestID: st.RequestID, Message: message,
	}, nil)
	h.addNotice(ctx, notice{Outcome: outcome, PolicyID: op.PolicyID, InsurerPolicyID: op.InsurerPolicyID, Message: message})
}

// opsView is what the header shows: pending operations, and with
// withNotices the notices of those that ended since the last page (taken
// out of the session: only a whole page or the badge shows them).
func (h *Handlers) opsView(ctx context.Context, withNotices bool) layout.OpsView {
	v := layout.OpsView{Pending: len(h.pendingOps(ctx))}
	if withNotices {
		for _, n := range h.popNotices(ctx) {
			v.Notices = append(v.Notices, noticeView(ctx, n))
		}
	}
	return v
}

func noticeView(ctx context.Context, n notice) layout.Notice {
	key, tone := "ops.completed", layout.ToneSuccess
	if n.Outcome == audit.OutcomeFailed {
		key, tone = "ops.failed", layout.ToneError
	}
	return layout.Notice{
		Kind:    tone,
		Text:    i18n.T(ctx, key, "Policy", n.InsurerPolicyID, "Message", n.Message),
		LinkURL: paths.Policy(n.PolicyID),
	}
}

// List handles GET /operations: it checks every pending operation with
// the upstream. htmx polls it from the header badge (HX-Target ops-badge)
// and gets the badge back; without JavaScript it is a page of its own.
func (o *Operations) List(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	ops := o.h.pendingOps(ctx)
	var rows []policies.OpRow
	for i, op := range ops {
		if i == maxPendingOps {
			break
		}
		row := policies.OpRow{
			PolicyURL:       paths.Policy(op.PolicyID),
			InsurerPolicyID: op.InsurerPolicyID,
			ProgressURL:     paths.CancelProgress(op.PolicyID, op.NewVersionID),
			StatusKey:       "ops.status.unknown",
		}
		st, finished, err := o.h.checkOp(ctx, op)
		switch {
		case err != nil:
			// The next poll tries again; one slow answer must not turn
			// the header into an error page.
			o.h.core.Log.WarnContext(ctx, "operation status failed", "err", err, "policy", op.PolicyID)
		case finished:
			continue
		default:
			row.StatusKey = "ops.status." + st.Status
		}
		rows = append(rows, row)
	}
	if handlers.IsHTMX(r) && r.Header.Get("HX-Target") == "ops-badge" {
		return handlers.Render(w, r, http.StatusOK, layout.OpsBadge(o.h.opsView(ctx, true)))
	}
	meta := o.h.core.Meta(r, i18n.T(ctx, "ops.title"))
	return handlers.Render(w, r, http.StatusOK, policies.OperationsPage(policies.OperationsView{Meta: meta, Rows: rows}))
}
