package handlers

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"backoffice/internal/format"
	"backoffice/internal/i18n"
	"backoffice/internal/quotes"
	"backoffice/views/casco"
)

// Quotes serves the CASCO partner's start page: the quote history.
type Quotes struct {
	h *Handlers
}

// historyPageSize is how many quotes a history page lists.
const historyPageSize = 25

// Home handles GET /casco?page=N: the partner's quotes, most recently
// changed first, each reopened where it was left, with the policies
// issued and their PDFs; and the way to a new quote.
func (q *Quotes) Home(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	account, err := q.h.partnerAccount(ctx)
	if err != nil {
		return err
	}
	page := 1
	if p := r.URL.Query().Get("page"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > maxPage {
			return &Error{Status: http.StatusBadRequest, MessageKey: "casco.error.page"}
		}
		page = n
	}
	list, err := q.h.quotes.ListDrafts(ctx, account, quotes.Filter{Limit: historyPageSize, Offset: (page - 1) * historyPageSize})
	if err != nil {
		return err
	}
	meta := q.h.meta(r, i18n.T(ctx, "casco.title"))
	meta.Nav = "casco"
	v := casco.HomeView{Meta: meta, Account: account, Total: list.Total, Page: page}
	v.Pages = max(1, (list.Total+historyPageSize-1)/historyPageSize)
	if page > 1 {
		v.PrevURL = "/casco?page=" + strconv.Itoa(page-1)
	}
	if page < v.Pages {
		v.NextURL = "/casco?page=" + strconv.Itoa(page+1)
	}
	f := format.New(i18n.Lang(ctx))
	for _, d := range list.Drafts {
		row := casco.DraftRow{
			ID: d.ID, Title: d.Title, Step: d.Step, URL: "/casco/drafts/" + d.ID,
			UpdatedISO: d.UpdatedAt.UTC().Format(time.RFC3339),
		}
		at := d.UpdatedAt
		if z, err := q.h.zones.In(at, cascoZone); err == nil {
			at = z
		}
		row.Updated = f.DateTime(at)
		if d.Step == quotes.StepDone {
			policies, err := q.h.quotes.Policies(ctx, account, d.ID)
			if err != nil {
				return err
			}
			for _, p := range policies {
				row.Policies = append(row.Policies, casco.PolicyLink{
					Label:    strings.TrimSpace(p.Series + " " + p.Number),
					Provider: providerName(p.Provider),
					PDFURL:   policyPDFURL(p.Series, p.Number),
				})
			}
		}
		v.Drafts = append(v.Drafts, row)
	}
	return render(w, r, http.StatusOK, casco.Home(v))
}
