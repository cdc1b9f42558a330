package kasko

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"backoffice/handlers"
	"backoffice/internal/audit"
	"backoffice/internal/format"
	"backoffice/internal/i18n"
	"backoffice/internal/paths"
	auditviews "backoffice/views/audit"
	"backoffice/views/layout"
)

// AuditPages serves the audit log: GET /audit for every role, and each
// policy's own entries as a timeline on its detail page.
type AuditPages struct {
	h *Handlers
}

// auditPageSize is the default page size of /audit; ?size= takes 1..100
// (audit.Filter's limit).
const auditPageSize = 50

// timelineSize bounds a policy's timeline; more entries are a link to
// the log filtered to the policy.
const timelineSize = 50

// maxFilterLen bounds the text filters: ids and masked keys are short,
// display names at most 80 characters.
const maxFilterLen = 200

// maxReasonFilter bounds the reason filter, in characters. A stored
// reason is a pick-list label (under 50 characters), ": " and the free
// text (at most maxReasonText), so every reason the dashboard records
// fits, and the overview can link to each one.
const maxReasonFilter = maxReasonText + 100

// auditQuery is everything an /audit URL says.
//
// Besides policy, actor and outcome:
//   - action is one of audit.Actions;
//   - reason matches a cancellation's reason exactly, as typed (no
//     trimming: the overview counts reasons as stored);
//   - no_reason=1 asks for the entries without a reason (the overview's
//     "no reason given" bucket); a reason=… cannot say that, as an empty
//     reason= is no filter at all;
//   - from and to are days (YYYY-MM-DD), to included, read as UTC days:
//     the page shows times in UTC, and the overview's reason counts
//     (auditDays) read its period the same way, so that a count and
//     the list it links to are the same entries.
type auditQuery struct {
	Policy, Actor, Outcome string
	Action, Reason         string
	NoReason               bool
	From, To               string // "YYYY-MM-DD" or ""
	Page                   int    // 1-based
	Size                   int
}

// filtered reports whether any filter is on.
func (q auditQuery) filtered() bool {
	return q.Policy != "" || q.Actor != "" || q.Outcome != "" || q.Action != "" || q.Reason != "" || q.NoReason ||
		q.From != "" || q.To != ""
}

// url builds the /audit URL of q at page n: only what differs from the
// defaults, so that links stay short and one state has one URL.
func (q auditQuery) url(n int) string {
	v := url.Values{}
	for k, val := range map[string]string{"policy": q.Policy, "actor": q.Actor, "outcome": q.Outcome,
		"action": q.Action, "reason": q.Reason, "from": q.From, "to": q.To} {
		if val != "" {
			v.Set(k, val)
		}
	}
	if q.NoReason {
		v.Set("no_reason", "1")
	}
	if q.Size != auditPageSize {
		v.Set("size", strconv.Itoa(q.Size))
	}
	if n > 1 {
		v.Set("page", strconv.Itoa(n))
	}
	return paths.AuditList(v)
}

// auditDays is the half-open range of instants [start, end) of the days
// from to to (both included; dates as UTC midnights, as time.Parse and
// parsePeriod make them). The audit log is read in UTC days, the zone
// its page shows times in; the overview's reason counts and /audit's
// from and to both go through here.
func auditDays(from, to time.Time) (start, end time.Time) {
	return from, to.AddDate(0, 0, 1)
}

// auditLink is the /audit URL of the accepted cancellations given
// reason ("" for none) from the day from to the day to, which
// CancelReasons counts with the range auditDays(from, to).
func auditLink(reason string, from, to time.Time) string {
	return auditQuery{Action: audit.ActionCancel, Outcome: audit.OutcomeAccepted, Reason: reason, NoReason: reason == "",
		From: day(from), To: day(to), Size: auditPageSize}.url(1)
}

// span is the filter's range of instants; zero for an open side.
func (q auditQuery) span() (start, end time.Time) {
	if q.From != "" {
		start, _ = time.Parse(time.DateOnly, q.From)
	}
	if q.To != "" {
		to, _ := time.Parse(time.DateOnly, q.To)
		_, end = auditDays(to, to)
	}
	return start, end
}

// parseAudit reads and checks the /audit parameters; a value the page
// cannot honour is refused with a message rather than quietly replaced,
// so the URL never says something the page does not show. A refused
// date comes back as dateErr, a message key for the date fields (the
// page shows it on the form, as the overview does for its range); every
// other refusal is the error.
func parseAudit(r *http.Request, today time.Time) (q auditQuery, dateErr string, err error) {
	qs := r.URL.Query()
	q = auditQuery{
		Policy:  strings.TrimSpace(qs.Get("policy")),
		Actor:   strings.TrimSpace(qs.Get("actor")),
		Outcome: qs.Get("outcome"),
		Action:  qs.Get("action"),
		Reason:  qs.Get("reason"),
		From:    strings.TrimSpace(qs.Get("from")),
		To:      strings.TrimSpace(qs.Get("to")),
		Page:    1,
		Size:    auditPageSize,
	}
	if len(q.Policy) > maxFilterLen || len(q.Actor) > maxFilterLen {
		return q, "", &handlers.Error{Status: http.StatusBadRequest, MessageKey: "audit.error.filter"}
	}
	if q.Outcome != "" && !slices.Contains(audit.Outcomes(), q.Outcome) {
		return q, "", &handlers.Error{Status: http.StatusBadRequest, MessageKey: "audit.error.outcome"}
	}
	if q.Action != "" && !slices.Contains(audit.Actions(), q.Action) {
		return q, "", handlers.BadRequest("audit.error.action")
	}
	if utf8.RuneCountInString(q.Reason) > maxReasonFilter {
		return q, "", handlers.BadRequest("audit.error.reason")
	}
	switch qs.Get("no_reason") {
	case "":
	case "1":
		q.NoReason = true
	default:
		return q, "", handlers.BadRequest("audit.error.no_reason")
	}
	if q.NoReason && q.Reason != "" {
		return q, "", handlers.BadRequest("audit.error.reason_both")
	}
	if v := qs.Get("page"); v != "" {
		n, ok := handlers.PageNumber(v)
		if !ok {
			return q, "", handlers.BadRequest("audit.error.page")
		}
		q.Page = n
	}
	if v := qs.Get("size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return q, "", &handlers.Error{Status: http.StatusBadRequest, MessageKey: "audit.error.size"}
		}
		q.Size = n
	}
	return q, checkAuditDays(q.From, q.To, today), nil
}

// checkAuditDays returns the message key refusing the from and to days,
// "" when they are fine: each a date (either may be empty), from the
// year 2000 to five years from today (the overview's bounds: no entry
// is older than the dashboard, and a typo's year 20266 is not a
// filter), and to not before from.
func checkAuditDays(from, to string, today time.Time) string {
	var days []time.Time
	for _, s := range []string{from, to} {
		if s == "" {
			continue
		}
		d, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return "audit.error.dates"
		}
		if d.Year() < 2000 || d.After(today.AddDate(5, 0, 0)) {
			return "audit.error.absurd"
		}
		days = append(days, d)
	}
	if from != "" && to != "" && days[1].Before(days[0]) {
		return "audit.error.inverted"
	}
	return ""
}

// List handles GET /audit: the full page, or with htmx targeting
// #audit-table just the table region. Every role may read it, and sees
// its tenant's entries only: the key's distributor in the key's mode.
func (a *AuditPages) List(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	q, dateErr, err := parseAudit(r, a.h.today(r))
	if err != nil {
		return err
	}
	f := formatter(ctx)
	v := auditviews.ListView{Meta: a.h.core.Meta(r, i18n.T(ctx, "audit.title"))}
	v.Meta.Nav = layout.SectionAudit
	v.Filters = auditviews.Filters{Policy: q.Policy, Actor: q.Actor, Outcome: q.Outcome,
		Reason: q.Reason, NoReason: q.NoReason, From: q.From, To: q.To, DateErrorKey: dateErr}
	if q.Size != auditPageSize {
		v.Filters.Size = q.Size
	}
	v.Filters.Outcomes = append(v.Filters.Outcomes, auditviews.Option{Value: "", LabelKey: "audit.filter.any_outcome", Selected: q.Outcome == ""})
	for _, o := range audit.Outcomes() {
		v.Filters.Outcomes = append(v.Filters.Outcomes, auditviews.Option{Value: o, LabelKey: "audit.outcome." + o, Selected: q.Outcome == o})
	}
	v.Filters.Actions = append(v.Filters.Actions, auditviews.Option{Value: "", LabelKey: "audit.filter.any_action", Selected: q.Action == ""})
	for _, act := range audit.Actions() {
		v.Filters.Actions = append(v.Filters.Actions, auditviews.Option{Value: act, LabelKey: "audit.action." + act, Selected: q.Action == act})
	}
	if dateErr != "" {
		if handlers.IsHTMX(r) {
			// The form stays as typed in the page; the message comes as
			// the alert every refused htmx request gets.
			return handlers.BadRequest(dateErr)
		}
		return handlers.Render(w, r, http.StatusBadRequest, auditviews.ListPage(v))
	}

	start, end := q.span()
	page, err := a.h.listAudit(ctx, audit.Filter{
		Policy: q.Policy, Actor: q.Actor, Outcome: q.Outcome,
		Action: q.Action, Reason: q.Reason, NoReason: q.NoReason, From: start, To: end,
		Limit: q.Size, Offset: (q.Page - 1) * q.Size,
	})
	if err != nil {
		return err
	}
	count := max(1, (page.Total+q.Size-1)/q.Size)
	if q.Page > count {
		return &handlers.Error{Status: http.StatusNotFound, MessageKey: "audit.error.past_end"}
	}

	t := &v.Table
	t.Total, t.Filtered = page.Total, q.filtered()
	t.Active = activeFilters(ctx, f, q)
	if len(page.Entries) > 0 {
		t.From = (q.Page-1)*q.Size + 1
		t.To = t.From + len(page.Entries) - 1
	}
	for _, e := range page.Entries {
		t.Rows = append(t.Rows, auditRow(f, e))
	}
	t.Pager = auditviews.Pager{Page: q.Page, Count: count}
	if q.Page > 1 {
		t.Pager.First, t.Pager.Prev = q.url(1), q.url(q.Page-1)
	}
	if q.Page < count {
		t.Pager.Next, t.Pager.Last = q.url(q.Page+1), q.url(count)
	}

	if handlers.IsHTMX(r) && r.Header.Get("HX-Target") == "audit-table" {
		return handlers.Render(w, r, http.StatusOK, auditviews.Table(v.Table))
	}
	return handlers.Render(w, r, http.StatusOK, auditviews.ListPage(v))
}

// activeFilters says in words what the page is narrowed to, one filter
// a line, so that someone arriving from a link (the overview's reasons)
// reads what they are looking at without decoding the form.
func activeFilters(ctx context.Context, f *format.Formatter, q auditQuery) []string {
	var out []string
	add := func(key string, args ...any) { out = append(out, i18n.T(ctx, key, args...)) }
	if q.Action != "" {
		add("audit.active.action", "Value", i18n.T(ctx, "audit.action."+q.Action))
	}
	if q.Outcome != "" {
		add("audit.active.outcome", "Value", i18n.T(ctx, "audit.outcome."+q.Outcome))
	}
	if q.Reason != "" {
		add("audit.active.reason", "Value", q.Reason)
	}
	if q.NoReason {
		add("audit.active.no_reason")
	}
	from, _ := time.Parse(time.DateOnly, q.From)
	to, _ := time.Parse(time.DateOnly, q.To)
	switch {
	case q.From != "" && q.To != "":
		add("audit.active.between", "From", f.Date(from), "To", f.Date(to))
	case q.From != "":
		add("audit.active.from", "From", f.Date(from))
	case q.To != "":
		add("audit.active.to", "To", f.Date(to))
	}
	if q.Policy != "" {
		add("audit.active.policy", "Value", q.Policy)
	}
	if q.Actor != "" {
		add("audit.active.actor", "Value", q.Actor)
	}
	return out
}

// listAudit lists the entries f selects in the signed-in user's tenant:
// every audit query of the KASKO pages goes through here, so none can
// forget the tenant, and an empty one (which the log reads as every
// tenant) is refused rather than run.
func (h *Handlers) listAudit(ctx context.Context, f audit.Filter) (audit.Page, error) {
	user := currentUser(ctx)
	if user == nil || user.Tenant == "" {
		return audit.Page{}, errors.New("kasko: an audit query without a tenant")
	}
	f.Tenant = user.Tenant
	return h.audit.List(ctx, f)
}

// policyTimeline is the policy's own entries, newest first, for its
// detail page.
func (h *Handlers) policyTimeline(ctx context.Context, policyID string) (auditviews.TimelineView, error) {
	page, err := h.listAudit(ctx, audit.Filter{Policy: policyID, Limit: timelineSize})
	if err != nil {
		return auditviews.TimelineView{}, err
	}
	f := formatter(ctx)
	v := auditviews.TimelineView{Total: page.Total}
	for _, e := range page.Entries {
		v.Items = append(v.Items, auditRow(f, e))
	}
	if page.Total > len(page.Entries) {
		v.MoreURL = auditQuery{Policy: policyID, Size: auditPageSize}.url(1)
	}
	return v, nil
}

// auditRow formats one entry. Times are shown in UTC: an entry is about
// the moment something happened here, not in any policy's zone, and UTC
// reads the same for everyone comparing notes with support.
func auditRow(f *format.Formatter, e audit.Entry) auditviews.Row {
	at := e.At.UTC()
	row := auditviews.Row{
		ID:              strconv.FormatInt(e.ID, 10),
		Time:            f.DateTime(at),
		ISO:             at.Format(time.RFC3339),
		Actor:           e.Actor,
		ActorName:       e.ActorName,
		PolicyLabel:     e.InsurerPolicyID,
		PolicyID:        e.PolicyID,
		Holder:          e.Holder,
		Reference:       e.Reference,
		Action:          e.Action,
		VariantID:       e.VariantID,
		Reason:          e.Reason,
		TerminationDate: e.TerminationDate,
		Outcome:         "other",
		OutcomeText:     e.Outcome,
		RequestID:       e.UpstreamRequestID,
		Message:         e.Message,
		Count:           e.Count,
	}
	// A creation has a policy to open only once the insurer made it.
	if e.PolicyID != "" {
		row.PolicyURL = paths.Policy(e.PolicyID)
	}
	if row.PolicyLabel == "" {
		row.PolicyLabel = e.PolicyID
	}
	switch e.Action {
	case audit.ActionCancel:
		row.ActionKey = "audit.action.cancel"
	case audit.ActionCreate:
		row.ActionKey = "audit.action.create"
	case audit.ActionExport:
		row.ActionKey = "audit.action.export"
	case audit.ActionViewCreate:
		row.ActionKey = "audit.action.view_create"
	case audit.ActionViewDelete:
		row.ActionKey = "audit.action.view_delete"
	case audit.ActionConvert:
		row.ActionKey = "audit.action.convert"
		if row.PolicyLabel == "" && e.Outcome == audit.OutcomeCompleted {
			// The policy's series and number.
			row.PolicyLabel = e.Message
		}
	}
	if slices.Contains(audit.Outcomes(), e.Outcome) {
		row.Outcome, row.OutcomeKey = e.Outcome, "audit.outcome."+e.Outcome
	}
	if d, err := time.Parse(time.DateOnly, e.TerminationDate); err == nil {
		row.TerminationDate = f.Date(d)
	}
	if e.UpstreamStatus != 0 {
		row.UpstreamStatus = strconv.Itoa(e.UpstreamStatus)
	}
	return row
}
