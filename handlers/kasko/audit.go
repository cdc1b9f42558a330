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

// auditQuery is everything an /audit URL says.
type auditQuery struct {
	Policy, Actor, Outcome string
	Page                   int // 1-based
	Size                   int
}

// filtered reports whether any filter is on.
func (q auditQuery) filtered() bool { return q.Policy != "" || q.Actor != "" || q.Outcome != "" }

// url builds the /audit URL of q at page n: only what differs from the
// defaults, so that links stay short and one state has one URL.
func (q auditQuery) url(n int) string {
	v := url.Values{}
	if q.Policy != "" {
		v.Set("policy", q.Policy)
	}
	if q.Actor != "" {
		v.Set("actor", q.Actor)
	}
	if q.Outcome != "" {
		v.Set("outcome", q.Outcome)
	}
	if q.Size != auditPageSize {
		v.Set("size", strconv.Itoa(q.Size))
	}
	if n > 1 {
		v.Set("page", strconv.Itoa(n))
	}
	return paths.AuditList(v)
}

// parseAudit reads and checks the /audit parameters; a value the page
// cannot honour is refused with a message rather than quietly replaced,
// so the URL never says something the page does not show.
func parseAudit(r *http.Request) (auditQuery, error) {
	qs := r.URL.Query()
	q := auditQuery{
		Policy:  strings.TrimSpace(qs.Get("policy")),
		Actor:   strings.TrimSpace(qs.Get("actor")),
		Outcome: qs.Get("outcome"),
		Page:    1,
		Size:    auditPageSize,
	}
	if len(q.Policy) > maxFilterLen || len(q.Actor) > maxFilterLen {
		return q, &handlers.Error{Status: http.StatusBadRequest, MessageKey: "audit.error.filter"}
	}
	if q.Outcome != "" && !slices.Contains(audit.Outcomes(), q.Outcome) {
		return q, &handlers.Error{Status: http.StatusBadRequest, MessageKey: "audit.error.outcome"}
	}
	if v := qs.Get("page"); v != "" {
		n, ok := handlers.PageNumber(v)
		if !ok {
			return q, handlers.BadRequest("audit.error.page")
		}
		q.Page = n
	}
	if v := qs.Get("size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return q, &handlers.Error{Status: http.StatusBadRequest, MessageKey: "audit.error.size"}
		}
		q.Size = n
	}
	return q, nil
}

// List handles GET /audit: the full page, or with htmx targeting
// #audit-table just the table region. Every role may read it, and sees
// its tenant's entries only: the key's distributor in the key's mode.
func (a *AuditPages) List(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	q, err := parseAudit(r)
	if err != nil {
		return err
	}
	page, err := a.h.listAudit(ctx, audit.Filter{
		Policy: q.Policy, Actor: q.Actor, Outcome: q.Outcome,
		Limit: q.Size, Offset: (q.Page - 1) * q.Size,
	})
	if err != nil {
		return err
	}
	count := max(1, (page.Total+q.Size-1)/q.Size)
	if q.Page > count {
		return &handlers.Error{Status: http.StatusNotFound, MessageKey: "audit.error.past_end"}
	}

	f := formatter(ctx)
	v := auditviews.ListView{Meta: a.h.core.Meta(r, i18n.T(ctx, "audit.title"))}
	v.Meta.Nav = layout.SectionAudit
	v.Filters = auditviews.Filters{Policy: q.Policy, Actor: q.Actor, Outcome: q.Outcome}
	if q.Size != auditPageSize {
		v.Filters.Size = q.Size
	}
	v.Filters.Outcomes = append(v.Filters.Outcomes, auditviews.Option{Value: "", LabelKey: "audit.filter.any_outcome", Selected: q.Outcome == ""})
	for _, o := range audit.Outcomes() {
		v.Filters.Outcomes = append(v.Filters.Outcomes, auditviews.Option{Value: o, LabelKey: "audit.outcome." + o, Selected: q.Outcome == o})
	}
	t := &v.Table
	t.Total, t.Filtered = page.Total, q.filtered()
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
