package kasko

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"backoffice/apiclient"
	kaskoapi "backoffice/apiclient/kasko"
	"backoffice/handlers"
	"backoffice/internal/audit"
	"backoffice/internal/i18n"
	"backoffice/internal/paths"
	"backoffice/views/policies"
)

// Cancel serves the cancellation of a policy: the form, its review, the
// request upstream with the version the user saw, and its progress.
type Cancel struct {
	h *Handlers
}

// cancelState is what a cancel form's token keeps: the policy as its user
// saw it when the form was opened. That version, not a later one, is what
// the request names in If-Match, and what a 412 is compared with.
type cancelState struct {
	Policy kaskoapi.Policy
}

// cancelReasons are the pick-list; each is sent upstream in English, the
// insurer's working language, with the free text after it.
var cancelReasons = []struct{ code, upstream string }{
	{"customer_request", "Customer request"},
	{"duplicate", "Duplicate policy"},
	{"item_sold", "Insured item sold or no longer owned"},
	{"non_payment", "Premium not paid"},
	{"switch_insurer", "Moved to another insurer"},
	{"other", "Other"},
}

const maxReasonText = 500

// cancelInput is what the form carries besides its token.
type cancelInput struct {
	ReasonCode string
	ReasonText string
	Date       string // YYYY-MM-DD in the policy's zone
	Confirm    string // the insurer policy id, typed, for live keys
}

func (in cancelInput) upstreamReason() string {
	for _, r := range cancelReasons {
		if r.code == in.ReasonCode {
			if in.ReasonText == "" {
				return r.upstream
			}
			if r.code == "other" {
				return in.ReasonText
			}
			return r.upstream + ": " + in.ReasonText
		}
	}
	return in.ReasonText
}

// cancelBlocker says why a policy cannot be cancelled ("" when it can):
// the upstream refuses cancelled and expired policies (422) and locked
// ones are in the middle of another change (409).
func cancelBlocker(pol *kaskoapi.Policy) string {
	switch {
	case pol.Status == "cancelled":
		return "cancel.blocked.cancelled"
	case pol.Expired:
		return "cancel.blocked.expired"
	case pol.IsLocked:
		return "cancel.blocked.locked"
	}
	return ""
}

// Form handles GET /policies/{id}/cancel: the form in the detail page's
// cancel panel (htmx) or on a page of its own. Its token keeps the policy
// as the user sees it now.
func (c *Cancel) Form(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	pol, err := c.h.api(ctx).GetPolicy(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	v := c.baseView(r, pol)
	if op, ok := c.h.findPendingOp(ctx, pol.ID, ""); ok {
		return c.progress(w, r, pol, op)
	}
	if key := cancelBlocker(pol); key != "" {
		v.Mode, v.Message = policies.CancelBlocked, i18n.T(ctx, key)
		return c.renderPanel(w, r, http.StatusConflict, v)
	}
	if v.Token, err = c.open(ctx, pol); err != nil {
		return err
	}
	v.Mode = policies.CancelForm
	zone := policyZone(pol)
	date := c.h.core.Zones.Today(zone).Format(time.DateOnly)
	if start := pol.StartDate; !start.IsZero() {
		// A policy that has not started yet ends before it begins.
		if s := c.h.core.Zones.Local(start, zone).Format(time.DateOnly); s > date {
			date = s
		}
	}
	c.fillForm(r, &v, pol, cancelInput{Date: date})
	return c.renderPanel(w, r, http.StatusOK, v)
}

// open mints the one-time token of a cancel form for pol.
func (c *Cancel) open(ctx context.Context, pol *kaskoapi.Policy) (string, error) {
	// One open form per policy version: reopening it (a reload, a second
	// tab) keeps its token, so both tabs share one answer.
	return handlers.OpenForm(ctx, c.h.core.Forms, c.h.formOwner(ctx), handlers.FormCancel, pol.ID+"@"+pol.VersionID, cancelState{Policy: *pol})
}

// Submit handles POST /policies/{id}/cancel: step "review" checks the
// input and says what will happen; "edit" goes back to the form; "confirm"
// sends the cancellation, once per form whatever the browser does.
func (c *Cancel) Submit(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	user := currentUser(ctx)
	id := r.PathValue("id")
	if user.ReadOnly() {
		return c.h.refuseReadOnly(ctx, audit.Entry{Action: audit.ActionCancel, PolicyID: handlers.Truncate(id, 100)})
	}
	if err := handlers.ParseForm(w, r); err != nil {
		return err
	}
	token := r.PostForm.Get("token")
	st, ok, err := handlers.LoadForm[cancelState](ctx, c.h.core.Forms, token, c.h.formOwner(ctx), handlers.FormCancel)
	if err != nil {
		return err
	}
	pol := &st.Policy
	if !ok || pol.ID != id && pol.InsurerPolicyID != id {
		return &handlers.Error{Status: http.StatusConflict, MessageKey: "cancel.error.stale_form"}
	}
	in := cancelInput{
		ReasonCode: r.PostForm.Get("reason"),
		ReasonText: strings.TrimSpace(r.PostForm.Get("reason_text")),
		Date:       strings.TrimSpace(r.PostForm.Get("termination_date")),
		Confirm:    strings.TrimSpace(r.PostForm.Get("confirm_id")),
	}
	v := c.baseView(r, pol)
	v.Token = token
	c.fillForm(r, &v, pol, in)
	step := r.PostForm.Get("step")
	if step == "edit" || v.HasErrors() {
		v.Mode = policies.CancelForm
		status := http.StatusOK
		if v.HasErrors() {
			status = http.StatusUnprocessableEntity
		}
		return c.renderPanel(w, r, status, v)
	}
	if step != "confirm" {
		v.Mode = policies.CancelReview
		return c.renderPanel(w, r, http.StatusOK, v)
	}
	if v.Live && in.Confirm != pol.InsurerPolicyID {
		v.Mode = policies.CancelReview
		v.ConfirmError = i18n.T(ctx, "cancel.error.confirm", "ID", pol.InsurerPolicyID)
		return c.renderPanel(w, r, http.StatusUnprocessableEntity, v)
	}
	unknown := func(w http.ResponseWriter, r *http.Request) error { return c.unknown(w, r, v, pol, "") }
	err = c.h.core.SendOnce(w, r, handlers.Submission{
		Token: token, Kind: handlers.FormCancel,
		// What goes upstream: the reason and the date (the version is the
		// form's).
		Input:   in.upstreamReason() + "\x00" + in.Date,
		Send:    func(w http.ResponseWriter, r *http.Request) error { return c.send(w, r, pol, in, v) },
		Pending: unknown,
		// Sent before from another tab with other details: the
		// cancellation that went is the one the panel follows.
		Differs: func(w http.ResponseWriter, r *http.Request) error { return c.sentOther(w, r, v, pol) },
	})
	if errors.Is(err, handlers.ErrFormExpired) {
		return &handlers.Error{Status: http.StatusConflict, MessageKey: "cancel.error.stale_form"}
	}
	return err
}

// sentOther answers a confirmation of a form that was already sent with
// other details (another tab of the session): nothing is sent again, and
// the panel follows the policy, whose state says what the first did.
func (c *Cancel) sentOther(w http.ResponseWriter, r *http.Request, v policies.CancelView, pol *kaskoapi.Policy) error {
	v.Mode = policies.CancelWatch
	v.Message = i18n.T(r.Context(), "cancel.sent_other")
	v.PollURL = paths.CancelWatch(pol.ID)
	return c.renderPanel(w, r, http.StatusConflict, v)
}

// unknown answers a cancellation whose outcome nobody knows (no usable
// answer came, or the first submission of the form is still out or was
// lost with its instance): the panel checks the policy instead of
// inviting a blind second try.
func (c *Cancel) unknown(w http.ResponseWriter, r *http.Request, v policies.CancelView, pol *kaskoapi.Policy, requestID string) error {
	v.Mode = policies.CancelWatch
	v.Message = i18n.T(r.Context(), "cancel.unknown")
	v.AlertRequestID = requestID
	v.PollURL = paths.CancelWatch(pol.ID)
	return c.renderPanel(w, r, http.StatusBadGateway, v)
}

// send makes the one upstream request of a cancel form and answers with
// its outcome; every attempt goes into the audit log.
func (c *Cancel) send(w http.ResponseWriter, r *http.Request, pol *kaskoapi.Policy, in cancelInput, v policies.CancelView) error {
	ctx := r.Context()
	req := kaskoapi.CancelRequest{Reason: in.upstreamReason(), TerminationDate: in.Date}
	accepted, err := c.h.api(ctx).CancelPolicy(ctx, pol.ID, pol.VersionID, req)

	entry := audit.Entry{
		Action: audit.ActionCancel, PolicyID: pol.ID, InsurerPolicyID: pol.InsurerPolicyID, VersionID: pol.VersionID,
		Reason: req.Reason, TerminationDate: req.TerminationDate,
	}
	if err == nil {
		entry.Outcome, entry.UpstreamStatus, entry.UpstreamRequestID = audit.OutcomeAccepted, http.StatusAccepted, accepted.RequestID
		entry.NewVersionID = versionFromStatusURL(accepted.StatusURL)
	}
	c.h.record(ctx, entry, err)
	requestID := entry.UpstreamRequestID
	if err != nil {
		requestID = handlers.UpstreamRequestID(err)
	}
	upstreamMsg := handlers.UpstreamMessage(err)

	switch {
	case err == nil:
		// The accepted entry just appended is the operation's record.
		op := pendingOp{
			Action: audit.ActionCancel, PolicyID: pol.ID, InsurerPolicyID: pol.InsurerPolicyID,
			VersionID: pol.VersionID, NewVersionID: entry.NewVersionID,
			Reason: req.Reason, TerminationDate: req.TerminationDate, Started: time.Now().UTC(),
		}
		if !handlers.IsHTMX(r) {
			handlers.Redirect(w, r, paths.CancelProgress(pol.ID, op.NewVersionID))
			return nil
		}
		return c.progress(w, r, pol, op)
	case errors.Is(err, apiclient.ErrBadRequest):
		// The message lands on the field it names; the input stays.
		v.Mode = policies.CancelForm
		msg := i18n.T(ctx, "cancel.error.upstream_field", "Message", upstreamMsg)
		v.AlertRequestID = requestID
		switch {
		case strings.Contains(upstreamMsg, "termination_date"):
			v.DateError = msg
		case strings.Contains(upstreamMsg, "cancellation_reason"):
			v.ReasonError = msg
		default:
			v.Alert = msg
		}
		return c.renderPanel(w, r, http.StatusUnprocessableEntity, v)
	case errors.Is(err, apiclient.ErrConflict):
		v.Mode = policies.CancelWatch
		v.Message = i18n.T(ctx, "cancel.conflict", "Since", c.sinceText(ctx, pol, upstreamMsg))
		v.AlertRequestID = requestID
		v.PollURL = paths.CancelWatch(pol.ID)
		return c.renderPanel(w, r, http.StatusConflict, v)
	case errors.Is(err, apiclient.ErrPreconditionFailed):
		return c.changed(w, r, pol, in, requestID)
	case errors.Is(err, apiclient.ErrUnprocessable):
		return c.unprocessable(w, r, pol, requestID)
	case errors.Is(err, apiclient.ErrNotFound):
		return err
	default:
		// No usable answer (a timeout, a 5xx, garbage): nobody knows
		// whether the upstream acted.
		return c.unknown(w, r, v, pol, requestID)
	}
}

// changed answers a 412: the policy moved on since the form was opened.
// It shows what changed, field by field, and offers the same cancellation
// against the new version, with a new form token.
func (c *Cancel) changed(w http.ResponseWriter, r *http.Request, seen *kaskoapi.Policy, in cancelInput, requestID string) error {
	ctx := r.Context()
	now, err := c.h.api(ctx).GetPolicy(ctx, seen.ID)
	if err != nil {
		return err
	}
	v := c.baseView(r, now)
	v.Diff = policyDiff(seen, now)
	v.AlertRequestID = requestID
	if key := cancelBlocker(now); key != "" {
		v.Mode, v.Message = policies.CancelBlocked, i18n.T(ctx, "cancel.changed_short")+" "+i18n.T(ctx, key)
		return c.renderPanel(w, r, http.StatusPreconditionFailed, v)
	}
	if v.Token, err = c.open(ctx, now); err != nil {
		return err
	}
	c.fillForm(r, &v, now, in)
	v.Mode = policies.CancelReview
	v.Message = i18n.T(ctx, "cancel.changed")
	return c.renderPanel(w, r, http.StatusPreconditionFailed, v)
}

// unprocessable answers a 422 with the dates that explain it.
func (c *Cancel) unprocessable(w http.ResponseWriter, r *http.Request, seen *kaskoapi.Policy, requestID string) error {
	ctx := r.Context()
	now, err := c.h.api(ctx).GetPolicy(ctx, seen.ID)
	if err != nil {
		now = seen
	}
	v := c.baseView(r, now)
	v.Mode, v.AlertRequestID = policies.CancelBlocked, requestID
	f, zone := formatter(ctx), policyZone(now)
	at := func(t *time.Time) string {
		if t == nil || t.IsZero() {
			return "—"
		}
		return f.Date(c.h.core.Zones.Local(*t, zone))
	}
	switch {
	case now.Status == "cancelled":
		v.Message = i18n.T(ctx, "cancel.rejected.cancelled", "At", at(now.CancelledAt), "Termination", at(now.TerminationDate))
	case now.Expired:
		v.Message = i18n.T(ctx, "cancel.rejected.expired", "End", at(now.EndDate))
	default:
		v.Message = i18n.T(ctx, "cancel.rejected.other")
	}
	return c.renderPanel(w, r, http.StatusUnprocessableEntity, v)
}

// Progress handles GET /policies/{id}/cancel/progress?version=…: the state
// of an accepted cancellation (htmx polls it), and with ?watch=1 the state
// of the policy itself after a conflict or an unknown outcome.
func (c *Cancel) Progress(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id := r.PathValue("id")
	watch := r.URL.Query().Get("watch") != ""
	if !watch {
		if op, ok := c.h.findPendingOp(ctx, id, r.URL.Query().Get("version")); ok {
			pol := &kaskoapi.Policy{ID: op.PolicyID, InsurerPolicyID: op.InsurerPolicyID}
			return c.progress(w, r, pol, op)
		}
	}
	pol, err := c.h.api(ctx).GetPolicy(ctx, id)
	if err != nil {
		return err
	}
	c.h.indexPolicy(ctx, pol)
	if pol.Status == "cancelled" || !watch {
		// Finished (here or in another tab): the policy page tells the rest.
		return c.toPolicy(w, r, pol.ID)
	}
	v := c.baseView(r, pol)
	v.Mode = policies.CancelWatch
	if pol.IsLocked {
		v.Message = i18n.T(ctx, "cancel.watch.locked")
		v.PollURL = paths.CancelWatch(pol.ID)
	} else {
		v.Message = i18n.T(ctx, "cancel.watch.not_cancelled")
		v.RetryURL = paths.PolicyCancel(pol.ID)
	}
	return c.renderPanel(w, r, http.StatusOK, v)
}

// progress shows an accepted cancellation and follows it upstream.
func (c *Cancel) progress(w http.ResponseWriter, r *http.Request, pol *kaskoapi.Policy, op pendingOp) error {
	ctx := r.Context()
	st, finished, err := c.h.checkOp(ctx, op)
	if err != nil {
		return err
	}
	if finished {
		return c.toPolicy(w, r, op.PolicyID)
	}
	v := c.baseView(r, pol)
	v.Mode = policies.CancelProgress
	// The header badge is swapped out of band: it needs the count.
	v.Meta.Ops = c.h.opsView(ctx, false)
	v.Message = i18n.T(ctx, "cancel.progress."+st.Status)
	v.PollURL = paths.CancelProgress(op.PolicyID, op.NewVersionID)
	v.AlertRequestID = st.RequestID
	return c.renderPanel(w, r, http.StatusOK, v)
}

// toPolicy sends the browser to the policy's page, whole (not into the
// panel): it shows the policy as it is now, with the notice on top.
func (c *Cancel) toPolicy(w http.ResponseWriter, r *http.Request, id string) error {
	handlers.Redirect(w, r, paths.Policy(id))
	return nil
}

// versionFromStatusURL takes the new version id out of a status link
// (…/policies/{id}/versions/{version}/status).
func versionFromStatusURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return ""
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	for i := len(parts) - 2; i > 0; i-- {
		if parts[i-1] == "versions" {
			return parts[i]
		}
	}
	return ""
}

// conflictSince finds the instant in a 409 message ("Resource modification
// already initialized at 1989-02-04T05:34:12+00:00.").
var conflictSince = regexp.MustCompile(`\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})`)

func (c *Cancel) sinceText(ctx context.Context, pol *kaskoapi.Policy, message string) string {
	m := conflictSince.FindString(message)
	t, err := time.Parse(time.RFC3339, m)
	if err != nil {
		t, err = time.Parse("2006-01-02T15:04:05-0700", m)
	}
	if err != nil {
		return "—"
	}
	return formatter(ctx).DateTime(c.h.core.Zones.Local(t, policyZone(pol)))
}

// baseView fills what every state of the cancel panel shows.
func (c *Cancel) baseView(r *http.Request, pol *kaskoapi.Policy) policies.CancelView {
	return policies.CancelView{
		Meta:            c.h.core.Meta(r, i18n.T(r.Context(), "cancel.title", "ID", pol.InsurerPolicyID)),
		PolicyURL:       paths.Policy(pol.ID),
		ActionURL:       paths.PolicyCancel(pol.ID),
		InsurerPolicyID: pol.InsurerPolicyID,
		Holder:          strings.TrimSpace(pol.FirstName + " " + pol.LastName),
		Zone:            policyZone(pol),
		Live:            currentUser(r.Context()).Live(),
	}
}

// fillForm checks the input against pol, the policy of the form's token,
// and fills the form and review fields, errors included.
func (c *Cancel) fillForm(r *http.Request, v *policies.CancelView, pol *kaskoapi.Policy, in cancelInput) {
	ctx := r.Context()
	v.ReasonText, v.Date, v.ConfirmValue = in.ReasonText, in.Date, in.Confirm
	known := false
	for _, reason := range cancelReasons {
		v.Reasons = append(v.Reasons, policies.ReasonOption{Code: reason.code, Label: i18n.T(ctx, "cancel.reason."+reason.code), Selected: reason.code == in.ReasonCode})
		if reason.code == in.ReasonCode {
			known = true
			v.ReasonLabel = i18n.T(ctx, "cancel.reason."+reason.code)
		}
	}
	check := handlers.NewChecker(ctx)
	fresh := in.ReasonCode == "" && in.ReasonText == "" && r.Method == http.MethodGet
	switch {
	case fresh:
	case !known:
		check.Fail("reason", "cancel.error.reason")
	case in.ReasonCode == "other" && in.ReasonText == "":
		check.Fail("reason", "cancel.error.reason_text")
	case len(in.ReasonText) > maxReasonText:
		check.Fail("reason", "cancel.error.reason_long", "Max", maxReasonText)
	}
	f := formatter(ctx)
	loc := c.h.core.Zones.Location(policyZone(pol))
	start := pol.StartDate.In(loc)
	v.MinDate = start.Format(time.DateOnly)
	if day, ok := check.Date("termination_date", in.Date, true); ok {
		if in.Date < v.MinDate {
			check.Fail("termination_date", "cancel.error.date_before_start", "Start", f.Date(start))
		} else {
			v.DateText = f.Date(day)
			if pol.EndDate != nil && !pol.EndDate.IsZero() && in.Date > pol.EndDate.In(loc).Format(time.DateOnly) {
				v.DateWarning = i18n.T(ctx, "cancel.warn.after_end", "End", f.Date(pol.EndDate.In(loc)))
			}
		}
	}
	errs := check.Errors()
	v.ReasonError, v.DateError = errs["reason"], errs["termination_date"]
}

// renderPanel answers with the cancel panel: alone for htmx (it replaces
// #cancel-panel), inside a page of its own otherwise.
func (c *Cancel) renderPanel(w http.ResponseWriter, r *http.Request, status int, v policies.CancelView) error {
	if handlers.IsHTMX(r) {
		return handlers.Render(w, r, status, policies.CancelPanel(v))
	}
	return handlers.Render(w, r, status, policies.CancelPage(v))
}
