package casco

import (
	"net/http"
	"slices"
	"strconv"
	"time"

	"backoffice/handlers"
	"backoffice/internal/audit"
	"backoffice/internal/format"
	"backoffice/internal/i18n"
	"backoffice/internal/paths"
	"backoffice/views/audit/partner"
	"backoffice/views/layout"
)

// auditPageSize is how many entries a page of the partner's audit log
// lists.
const auditPageSize = 50

// AuditList handles GET /casco/audit?page=N: the signed-in partner
// account's conversions, newest first. A partner has no KASKO key, so
// /audit is not theirs; this page lists their own tenant only, and the
// KASKO distributors' entries never.
func (h *Handlers) AuditList(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	account, err := h.partnerAccount(ctx)
	if err != nil {
		return err
	}
	page, ok := handlers.PageNumber(r.URL.Query().Get("page"))
	if !ok {
		return handlers.BadRequest("audit.error.page")
	}
	list, err := h.audit.List(ctx, audit.Filter{Tenant: audit.PartnerTenant(account), Limit: auditPageSize, Offset: (page - 1) * auditPageSize})
	if err != nil {
		return err
	}
	meta := h.meta(r, i18n.T(ctx, "audit.partner.title"))
	meta.Nav = layout.SectionCascoAudit
	v := partner.View{Meta: meta, Account: account, Total: list.Total, Page: page}
	v.Pages = max(1, (list.Total+auditPageSize-1)/auditPageSize)
	if page > v.Pages {
		return &handlers.Error{Status: http.StatusNotFound, MessageKey: "audit.error.past_end"}
	}
	if page > 1 {
		v.PrevURL = paths.CascoAuditPage(page - 1)
	}
	if page < v.Pages {
		v.NextURL = paths.CascoAuditPage(page + 1)
	}
	if len(list.Entries) > 0 {
		v.From = (page-1)*auditPageSize + 1
		v.To = v.From + len(list.Entries) - 1
	}
	f := format.New(i18n.Lang(ctx))
	for _, e := range list.Entries {
		v.Rows = append(v.Rows, partnerRow(f, e))
	}
	return handlers.Render(w, r, http.StatusOK, partner.Page(v))
}

// partnerRow formats one entry, its time in UTC as on /audit.
func partnerRow(f *format.Formatter, e audit.Entry) partner.Row {
	at := e.At.UTC()
	row := partner.Row{
		ID: strconv.FormatInt(e.ID, 10), Time: f.DateTime(at), ISO: at.Format(time.RFC3339),
		Actor: e.Actor, Offer: e.Reference, Holder: e.Holder,
		Outcome: "other", OutcomeText: e.Outcome, RequestID: e.UpstreamRequestID, Message: e.Message,
	}
	if e.Outcome == audit.OutcomeCompleted {
		// A conversion's message is the policy's series and number.
		row.Policy = e.Message
	}
	if slices.Contains(audit.Outcomes(), e.Outcome) {
		row.Outcome, row.OutcomeKey = e.Outcome, "audit.outcome."+e.Outcome
	}
	if e.UpstreamStatus != 0 {
		row.UpstreamStatus = strconv.Itoa(e.UpstreamStatus)
	}
	return row
}
