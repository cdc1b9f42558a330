package handlers

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"backoffice/apiclient"
	"backoffice/apiclient/kasko"
	"backoffice/internal/audit"
	"backoffice/internal/format"
	"backoffice/internal/i18n"
	"backoffice/views/policies"
)

// Cancel serves the cancellation of a policy: the form, its review, the
// request upstream with the version the user saw, and its progress.
type Cancel struct {
	h       *Handlers
	intents *intents
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
func cancelBlocker(pol *kasko.Policy) string {
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
// cancel panel (htmx) or on a page of its own. It records the policy as
// the user sees it now: that version, not a later one, is what the
// request will name in If-Match.
func (c *Cancel) Form(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	pol, err := c.h.kasko(currentUser(ctx).Key).GetPolicy(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	v := c.baseView(r, pol)
	if op, ok := c.h.findPendingOp(ctx, pol.ID, ""); ok {
		return c.progress(w, r, pol, op)
	}
	if key := cancelBlocker(pol); key != "" {
		v.Mode, v.Message = "blocked", i18n.T(ctx, key)
		return c.renderPanel(w, r, http.StatusConflict, v)
	}
	it := c.intents.create(ownerOf(currentUser(ctx)), pol)
	v.Token = it.token
	v.Mode = "form"
	v.Date = c.today(pol)
	if start := pol.StartDate; !start.IsZero() {
		// A policy that has not started yet ends before it begins.
		if z, err := c.h.zones.In(start, policyZone(pol)); err == nil && z.Format(time.DateOnly) > v.Date {
			v.Date = z.Format(time.DateOnly)
		}
	}
	c.fillForm(r, &v, cancelInput{Date: v.Date})
	return c.renderPanel(w, r, http.StatusOK, v)
}

// Submit handles POST /policies/{id}/cancel: step "review" checks the
// input and says what will happen; "edit" goes back to the form; "confirm"
// sends the cancellation, once per form whatever the browser does.
func (c *Cancel) Submit(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	user := currentUser(ctx)
	if user.ReadOnly() {
		return c.h.refuseReadOnly(ctx, audit.Entry{Action: audit.ActionCancel, PolicyID: truncate(r.PathValue("id"), 100)})
	}
	if err := parseForm(w, r); err != nil {
		return err
	}
	it := c.intents.get(r.PostForm.Get("token"), ownerOf(user))
	if it == nil || it.policy.ID != r.PathValue("id") && it.policy.InsurerPolicyID != r.PathValue("id") {
		return &Error{Status: http.StatusConflict, MessageKey: "cancel.error.stale_form"}
	}
	in := cancelInput{
		ReasonCode: r.PostForm.Get("reason"),
		ReasonText: strings.TrimSpace(r.PostForm.Get("reason_text")),
		Date:       strings.TrimSpace(r.PostForm.Get("termination_date")),
		Confirm:    strings.TrimSpace(r.PostForm.Get("confirm_id")),
	}
	v := c.baseView(r, it.policy)
	v.Token = it.token
	c.fillForm(r, &v, in)
	step := r.PostForm.Get("step")
	if step == "edit" || v.HasErrors() {
		v.Mode = "form"
		status := http.StatusOK
		if v.HasErrors() {
			status = http.StatusUnprocessableEntity
		}
		return c.renderPanel(w, r, status, v)
	}
	if step != "confirm" {
		v.Mode = "review"
		return c.renderPanel(w, r, http.StatusOK, v)
	}
	if v.Live && in.Confirm != it.policy.InsurerPolicyID {
		v.Mode = "review"
		v.ConfirmError = i18n.T(ctx, "cancel.error.confirm", "ID", it.policy.InsurerPolicyID)
		return c.renderPanel(w, r, http.StatusUnprocessableEntity, v)
	}
	it.replayOrRun(w, func(rec http.ResponseWriter) {
		if err := c.send(rec, r, it, in, v); err != nil {
			c.h.serveError(rec, r, err)
		}
	})
	return nil
}

// send makes the one upstream request of an intent and answers with its
// outcome; every attempt goes into the audit log.
func (c *Cancel) send(w http.ResponseWriter, r *http.Request, it *intent, in cancelInput, v policies.CancelView) error {
	ctx := r.Context()
	user := currentUser(ctx)
	api := c.h.kasko(user.Key)
	pol := it.policy
	req := kasko.CancelRequest{Reason: in.upstreamReason(), TerminationDate: in.Date}
	accepted, err := api.CancelPolicy(ctx, pol.ID, pol.VersionID, req)

	entry := audit.Entry{
		Action: audit.ActionCancel, PolicyID: pol.ID, InsurerPolicyID: pol.InsurerPolicyID, VersionID: pol.VersionID,
		Reason: req.Reason, TerminationDate: req.TerminationDate,
	}
	if err == nil {
		entry.Outcome, entry.UpstreamStatus, entry.UpstreamRequestID = audit.OutcomeAccepted, http.StatusAccepted, accepted.RequestID
		entry.NewVersionID = versionFromStatusURL(accepted.StatusURL)
	}
	c.h.record(ctx, entry, err)
	var ue *apiclient.Error
	errors.As(err, &ue)
	if ue != nil {
		entry.UpstreamRequestID = ue.RequestID
	}

	switch {
	case err == nil:
		// The accepted entry just appended is the operation's record.
		op := pendingOp{
			Action: audit.ActionCancel, PolicyID: pol.ID, InsurerPolicyID: pol.InsurerPolicyID,
			VersionID: pol.VersionID, NewVersionID: entry.NewVersionID,
			Reason: req.Reason, TerminationDate: req.TerminationDate, Started: time.Now().UTC(),
		}
		if !isHTMX(r) {
			redirect(w, r, progressURL(pol.ID, op.NewVersionID))
			return nil
		}
		return c.progress(w, r, pol, op)
	case errors.Is(err, apiclient.ErrBadRequest):
		// The message lands on the field it names; the input stays.
		v.Mode = "form"
		upstreamMsg := ""
		if ue != nil {
			upstreamMsg = ue.Message
		}
		msg := i18n.T(ctx, "cancel.error.upstream_field", "Message", upstreamMsg)
		v.AlertRequestID = entry.UpstreamRequestID
		switch {
		case ue != nil && strings.Contains(ue.Message, "termination_date"):
			v.DateError = msg
		case ue != nil && strings.Contains(ue.Message, "cancellation_reason"):
			v.ReasonError = msg
		default:
			v.Alert = msg
		}
		return c.renderPanel(w, r, http.StatusUnprocessableEntity, v)
	case errors.Is(err, apiclient.ErrConflict):
		v.Mode = "watch"
		v.Message = i18n.T(ctx, "cancel.conflict", "Since", c.sinceText(r, pol, ue.Message))
		v.AlertRequestID = entry.UpstreamRequestID
		v.PollURL = watchURL(pol.ID)
		return c.renderPanel(w, r, http.StatusConflict, v)
	case errors.Is(err, apiclient.ErrPreconditionFailed):
		return c.changed(w, r, pol, in, entry.UpstreamRequestID)
	case errors.Is(err, apiclient.ErrUnprocessable):
		return c.unprocessable(w, r, pol, entry.UpstreamRequestID)
	case errors.Is(err, apiclient.ErrNotFound):
		return err
	case errors.Is(err, apiclient.ErrUnavailable), errors.Is(err, apiclient.ErrInvalidResponse):
		// Nobody knows whether the upstream acted: check the policy
		// instead of inviting a blind second try.
		v.Mode = "watch"
		v.Message = i18n.T(ctx, "cancel.unknown")
		v.AlertRequestID = entry.UpstreamRequestID
		v.PollURL = watchURL(pol.ID)
		return c.renderPanel(w, r, http.StatusBadGateway, v)
	default:
		return err
	}
}

// changed answers a 412: the policy moved on since the form was opened.
// It shows what changed, field by field, and offers the same cancellation
// against the new version, with a new form token.
func (c *Cancel) changed(w http.ResponseWriter, r *http.Request, seen *kasko.Policy, in cancelInput, requestID string) error {
	ctx := r.Context()
	now, err := c.h.kasko(currentUser(ctx).Key).GetPolicy(ctx, seen.ID)
	if err != nil {
		return err
	}
	v := c.baseView(r, now)
	v.Diff = policyDiff(seen, now)
	v.AlertRequestID = requestID
	if key := cancelBlocker(now); key != "" {
		v.Mode, v.Message = "blocked", i18n.T(ctx, "cancel.changed_short")+" "+i18n.T(ctx, key)
		return c.renderPanel(w, r, http.StatusPreconditionFailed, v)
	}
	it := c.intents.create(ownerOf(currentUser(ctx)), now)
	v.Token = it.token
	c.fillForm(r, &v, in)
	v.Mode = "review"
	v.Message = i18n.T(ctx, "cancel.changed")
	return c.renderPanel(w, r, http.StatusPreconditionFailed, v)
}

// unprocessable answers a 422 with the dates that explain it.
func (c *Cancel) unprocessable(w http.ResponseWriter, r *http.Request, seen *kasko.Policy, requestID string) error {
	ctx := r.Context()
	now, err := c.h.kasko(currentUser(ctx).Key).GetPolicy(ctx, seen.ID)
	if err != nil {
		now = seen
	}
	v := c.baseView(r, now)
	v.Mode, v.AlertRequestID = "blocked", requestID
	f, zone := c.formatter(r), policyZone(now)
	at := func(t *time.Time) string {
		if t == nil || t.IsZero() {
			return "—"
		}
		z, err := c.h.zones.In(*t, zone)
		if err != nil {
			z = *t
		}
		return f.Date(z)
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
	if r.URL.Query().Get("watch") == "" {
		if op, ok := c.h.findPendingOp(ctx, id, r.URL.Query().Get("version")); ok {
			pol := &kasko.Policy{ID: op.PolicyID, InsurerPolicyID: op.InsurerPolicyID}
			return c.progress(w, r, pol, op)
		}
	}
	pol, err := c.h.kasko(currentUser(ctx).Key).GetPolicy(ctx, id)
	if err != nil {
		return err
	}
	if pol.Status == "cancelled" || r.URL.Query().Get("watch") == "" {
		// Finished (here or in another tab): the policy page tells the rest.
		return c.toPolicy(w, r, pol.ID)
	}
	v := c.baseView(r, pol)
	v.Mode = "watch"
	if pol.IsLocked {
		v.Message = i18n.T(ctx, "cancel.watch.locked")
		v.PollURL = watchURL(pol.ID)
	} else {
		v.Message = i18n.T(ctx, "cancel.watch.not_cancelled")
		v.RetryURL = "/policies/" + url.PathEscape(pol.ID) + "/cancel"
	}
	return c.renderPanel(w, r, http.StatusOK, v)
}

// progress shows an accepted cancellation and follows it upstream.
func (c *Cancel) progress(w http.ResponseWriter, r *http.Request, pol *kasko.Policy, op pendingOp) error {
	ctx := r.Context()
	st, finished, err := c.h.checkOp(ctx, op)
	if err != nil {
		return err
	}
	if finished {
		return c.toPolicy(w, r, op.PolicyID)
	}
	v := c.baseView(r, pol)
	v.Mode = "progress"
	// The header badge is swapped out of band: it needs the count.
	v.Meta.Ops = c.h.opsView(ctx, false)
	v.Message = i18n.T(ctx, "cancel.progress."+st.Status)
	v.PollURL = progressURL(op.PolicyID, op.NewVersionID)
	v.AlertRequestID = st.RequestID
	return c.renderPanel(w, r, http.StatusOK, v)
}

// toPolicy sends the browser to the policy's page, whole (not into the
// panel): it shows the policy as it is now, with the notice on top.
func (c *Cancel) toPolicy(w http.ResponseWriter, r *http.Request, id string) error {
	redirect(w, r, "/policies/"+url.PathEscape(id))
	return nil
}

func watchURL(policyID string) string {
	return "/policies/" + url.PathEscape(policyID) + "/cancel/progress?watch=1"
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

func (c *Cancel) sinceText(r *http.Request, pol *kasko.Policy, message string) string {
	m := conflictSince.FindString(message)
	t, err := time.Parse(time.RFC3339, m)
	if err != nil {
		t, err = time.Parse("2006-01-02T15:04:05-0700", m)
	}
	if err != nil {
		return "—"
	}
	if z, err := c.h.zones.In(t, policyZone(pol)); err == nil {
		t = z
	}
	return c.formatter(r).DateTime(t)
}

func (c *Cancel) formatter(r *http.Request) *format.Formatter {
	return format.New(i18n.Lang(r.Context()))
}

func policyZone(pol *kasko.Policy) string {
	if ld := pol.LocalizedDates; ld != nil && ld.TimeZone != "" {
		return ld.TimeZone
	}
	return "UTC"
}

// today is the current date in the policy's zone, the default
// termination date.
func (c *Cancel) today(pol *kasko.Policy) string {
	now := time.Now()
	if z, err := c.h.zones.In(now, policyZone(pol)); err == nil {
		now = z
	}
	return now.Format(time.DateOnly)
}

// baseView fills what every state of the cancel panel shows.
func (c *Cancel) baseView(r *http.Request, pol *kasko.Policy) policies.CancelView {
	user := currentUser(r.Context())
	return policies.CancelView{
		Meta:            c.h.meta(r, i18n.T(r.Context(), "cancel.title", "ID", pol.InsurerPolicyID)),
		PolicyURL:       "/policies/" + url.PathEscape(pol.ID),
		ActionURL:       "/policies/" + url.PathEscape(pol.ID) + "/cancel",
		InsurerPolicyID: pol.InsurerPolicyID,
		Holder:          strings.TrimSpace(pol.FirstName + " " + pol.LastName),
		Zone:            policyZone(pol),
		Live:            user.Live(),
	}
}

// fillForm checks the input against the policy and fills the form and
// review fields, errors included.
func (c *Cancel) fillForm(r *http.Request, v *policies.CancelView, in cancelInput) {
	ctx := r.Context()
	pol := c.intentPolicy(v)
	v.ReasonText, v.Date, v.ConfirmValue = in.ReasonText, in.Date, in.Confirm
	known := false
	for _, reason := range cancelReasons {
		v.Reasons = append(v.Reasons, policies.ReasonOption{Code: reason.code, Label: i18n.T(ctx, "cancel.reason."+reason.code), Selected: reason.code == in.ReasonCode})
		if reason.code == in.ReasonCode {
			known = true
			v.ReasonLabel = i18n.T(ctx, "cancel.reason."+reason.code)
		}
	}
	fresh := in.ReasonCode == "" && in.ReasonText == "" && r.Method == http.MethodGet
	switch {
	case fresh:
	case !known:
		v.ReasonError = i18n.T(ctx, "cancel.error.reason")
	case in.ReasonCode == "other" && in.ReasonText == "":
		v.ReasonError = i18n.T(ctx, "cancel.error.reason_text")
	case len(in.ReasonText) > maxReasonText:
		v.ReasonError = i18n.T(ctx, "cancel.error.reason_long", "Max", maxReasonText)
	}
	if pol == nil {
		return
	}
	zone := policyZone(pol)
	loc, err := c.h.zones.In(time.Time{}, zone)
	l := loc.Location()
	if err != nil {
		l = time.UTC
	}
	start := pol.StartDate.In(l).Format(time.DateOnly)
	v.MinDate = start
	day, err := time.ParseInLocation(time.DateOnly, in.Date, l)
	switch {
	case in.Date == "":
		v.DateError = i18n.T(ctx, "cancel.error.date_missing")
	case err != nil || day.Format(time.DateOnly) != in.Date:
		v.DateError = i18n.T(ctx, "cancel.error.date_invalid")
	case in.Date < start:
		v.DateError = i18n.T(ctx, "cancel.error.date_before_start", "Start", c.formatter(r).Date(pol.StartDate.In(l)))
	default:
		f := c.formatter(r)
		v.DateText = f.Date(day)
		if pol.EndDate != nil && !pol.EndDate.IsZero() && in.Date > pol.EndDate.In(l).Format(time.DateOnly) {
			v.DateWarning = i18n.T(ctx, "cancel.warn.after_end", "End", f.Date(pol.EndDate.In(l)))
		}
	}
}

// intentPolicy finds the policy behind a view's token.
func (c *Cancel) intentPolicy(v *policies.CancelView) *kasko.Policy {
	if it := c.intents.peek(v.Token); it != nil {
		return it.policy
	}
	return nil
}

// renderPanel answers with the cancel panel: alone for htmx (it replaces
// #cancel-panel), inside a page of its own otherwise.
func (c *Cancel) renderPanel(w http.ResponseWriter, r *http.Request, status int, v policies.CancelView) error {
	if isHTMX(r) {
		return render(w, r, status, policies.CancelPanel(v))
	}
	return render(w, r, status, policies.CancelPage(v))
}

// policyDiff lists what differs between two versions of a policy, field
// by field, by flattening both to dotted paths. Links and signed URLs
// change on every read and say nothing to the user.
func policyDiff(before, after *kasko.Policy) []policies.DiffRow {
	a, b := flatten(before), flatten(after)
	keys := make([]string, 0, len(a)+len(b))
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var rows []policies.DiffRow
	for _, k := range keys {
		if a[k] == b[k] || skipDiff(k) {
			continue
		}
		rows = append(rows, policies.DiffRow{Field: k, Label: diffLabel(k), Before: orDash(a[k]), After: orDash(b[k])})
		if len(rows) == 50 {
			break
		}
	}
	return rows
}

func skipDiff(path string) bool {
	return strings.HasPrefix(path, "_links") || strings.Contains(path, "._links") ||
		strings.HasSuffix(path, ".url") || strings.HasSuffix(path, ".href")
}

func diffLabel(path string) string {
	parts := strings.Split(path, ".")
	for i, p := range parts {
		parts[i] = format.Humanize(p)
	}
	return strings.Join(parts, " › ")
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func flatten(pol *kasko.Policy) map[string]string {
	out := map[string]string{}
	raw, err := json.Marshal(withoutSignedLinks(pol))
	if err != nil {
		return out
	}
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return out
	}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch t := v.(type) {
		case map[string]any:
			for k, x := range t {
				walk(strings.TrimPrefix(prefix+"."+k, "."), x)
			}
		case []any:
			for i, x := range t {
				walk(fmt.Sprintf("%s.%d", prefix, i), x)
			}
		case nil:
			out[prefix] = ""
		default:
			out[prefix] = format.Value(t)
		}
	}
	walk("", v)
	return out
}

// intent is one opened cancel form: the policy as its user saw it, and
// once sent, the answer, so that a second submit gets the same answer
// instead of a second request.
type intent struct {
	token   string
	owner   string
	policy  *kasko.Policy
	created time.Time

	mu    sync.Mutex // held while the request is out: a double click waits
	reply *recorded
	// push is what a new-policy form sent, once it has.
	push *pushAttempt
	// convert is the CASCO offer a policy form converts.
	convert *conversion
}

// replayOrRun answers with the intent's recorded reply, or runs send (the
// first time), records what it wrote and answers with that.
func (it *intent) replayOrRun(w http.ResponseWriter, send func(http.ResponseWriter)) {
	it.mu.Lock()
	defer it.mu.Unlock()
	if it.reply == nil {
		rec := &recorded{header: http.Header{}}
		send(rec)
		it.reply = rec
	}
	it.reply.replay(w)
}

// intents keeps open forms for a while. They live in this process: a
// double submit that a load balancer splits across two instances still
// reaches the upstream at most once per version, because the second
// request meets the first one's 409 or 412.
type intents struct {
	mu  sync.Mutex
	m   map[string]*intent
	ttl time.Duration
}

func newIntents(ttl time.Duration) *intents {
	return &intents{m: map[string]*intent{}, ttl: ttl}
}

func (s *intents) create(owner string, pol *kasko.Policy) *intent {
	return s.add(&intent{owner: owner, policy: pol})
}

// add gives it a token and keeps it; it must not be shared yet.
func (s *intents) add(it *intent) *intent {
	b := make([]byte, 18)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	it.token, it.created = base64.RawURLEncoding.EncodeToString(b), time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, old := range s.m {
		if time.Since(old.created) > s.ttl {
			delete(s.m, k)
		}
	}
	s.m[it.token] = it
	return it
}

// get returns the intent of token if it belongs to owner and has not
// expired.
func (s *intents) get(token, owner string) *intent {
	it := s.peek(token)
	if it == nil || it.owner != owner {
		return nil
	}
	return it
}

func (s *intents) peek(token string) *intent {
	s.mu.Lock()
	defer s.mu.Unlock()
	it := s.m[token]
	if it == nil || time.Since(it.created) > s.ttl {
		return nil
	}
	return it
}

// ownerOf ties a form to the key that opened it without keeping the key.
func ownerOf(u *User) string {
	sum := sha256.Sum256([]byte(u.Key))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// recorded is a response kept to be sent again.
type recorded struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (rec *recorded) Header() http.Header { return rec.header }

func (rec *recorded) WriteHeader(status int) {
	if rec.status == 0 {
		rec.status = status
	}
}

func (rec *recorded) Write(b []byte) (int, error) {
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	return rec.body.Write(b)
}

func (rec *recorded) replay(w http.ResponseWriter) {
	for k, v := range rec.header {
		// The session middleware sets its own cookie on the real writer.
		if !slices.Contains([]string{"Set-Cookie"}, k) {
			w.Header()[k] = v
		}
	}
	status := rec.status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	_, _ = w.Write(rec.body.Bytes())
}

// truncate cuts s to at most n bytes, on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
