package casco

import (
	"net/http"
	"strings"
	"time"

	"backoffice/handlers"
	"backoffice/internal/format"
	"backoffice/internal/i18n"
	"backoffice/internal/paths"
	"backoffice/internal/quotes"
	cascoviews "backoffice/views/casco"
)

// History serves the CASCO partner's start page: the quote history.
type History struct {
	h *Handlers
}

// historyPageSize is how many quotes a history page lists.
const historyPageSize = 25

// List handles GET /casco?page=N: the partner's quotes, most recently
// changed first, each reopened where it was left, with the policies
// issued and their PDFs; and the way to a new quote.
func (hi *History) List(w http.ResponseWriter, r *http.Request) error {
	h := hi.h
	ctx := r.Context()
	account, err := h.partnerAccount(ctx)
	if err != nil {
		return err
	}
	page, ok := handlers.PageNumber(r.URL.Query().Get("page"))
	if !ok {
		return handlers.BadRequest("casco.error.page")
	}
	list, err := h.quotes.ListDrafts(ctx, account, quotes.Filter{Limit: historyPageSize, Offset: (page - 1) * historyPageSize})
	if err != nil {
		return err
	}
	v := cascoviews.HomeView{Meta: h.meta(r, i18n.T(ctx, "casco.title")), Account: account, Total: list.Total, Page: page}
	v.Pages = max(1, (list.Total+historyPageSize-1)/historyPageSize)
	if page > 1 {
		v.PrevURL = paths.CascoHistory(page - 1)
	}
	if page < v.Pages {
		v.NextURL = paths.CascoHistory(page + 1)
	}
	f := format.New(i18n.Lang(ctx))
	details := h.titleDetails(r, list.Drafts)
	for i, d := range list.Drafts {
		row := cascoviews.DraftRow{
			ID: d.ID, Title: d.Title, Details: details[i], Step: cascoviews.Step(d.Step), URL: paths.Draft(d.ID),
			UpdatedISO: d.UpdatedAt.UTC().Format(time.RFC3339),
			Updated:    f.DateTime(h.core.Zones.Local(d.UpdatedAt, cascoZone)),
		}
		if d.Step == quotes.StepDone {
			policies, err := h.quotes.Policies(ctx, account, d.ID)
			if err != nil {
				return err
			}
			for _, p := range policies {
				row.Policies = append(row.Policies, cascoviews.PolicyLink{
					Label:    strings.TrimSpace(p.Series + " " + p.Number),
					Provider: providerName(p.Provider),
					PDFURL:   paths.CascoPolicyPDF(p.Series, p.Number),
				})
			}
		}
		v.Drafts = append(v.Drafts, row)
	}
	return handlers.Render(w, r, http.StatusOK, cascoviews.Home(v))
}

// titleDetails is what follows each draft's title in the history, so
// that two quotes of one car and holder read differently: the day the
// quote was started and the insurers asked ("3 Dec 2026 · 3 insurers").
// Where that still leaves two titles alike on the page, the time of day
// is added. A draft with no title yet gets none.
func (h *Handlers) titleDetails(r *http.Request, drafts []quotes.Draft) []string {
	ctx := r.Context()
	f := format.New(i18n.Lang(ctx))
	compose := func(d quotes.Draft, withTime bool) string {
		created := h.core.Zones.Local(d.CreatedAt, cascoZone)
		parts := []string{f.Date(created)}
		if withTime {
			parts[0] = f.DateTime(created)
		}
		if d.Insurers > 0 {
			parts = append(parts, i18n.T(ctx, "casco14.history.insurers", "count", d.Insurers))
		}
		return strings.Join(parts, " · ")
	}
	out := make([]string, len(drafts))
	seen := map[string]int{}
	for i, d := range drafts {
		if d.Title == "" {
			continue
		}
		out[i] = compose(d, false)
		seen[d.Title+"\x00"+out[i]]++
	}
	for i, d := range drafts {
		if d.Title != "" && seen[d.Title+"\x00"+out[i]] > 1 {
			out[i] = compose(d, true)
		}
	}
	return out
}
