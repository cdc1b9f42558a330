package handlers

import (
	"net/http"

	"backoffice/internal/i18n"
	"backoffice/views/casco"
)

// Quotes serves the CASCO partner pages under /casco.
type Quotes struct {
	h *Handlers
}

// Home handles GET /casco: the partner's start page.
func (q *Quotes) Home(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	_, login, err := q.h.cascoSession(ctx)
	if err != nil {
		return err
	}
	meta := q.h.meta(r, i18n.T(ctx, "casco.title"))
	meta.Nav = "casco"
	return render(w, r, http.StatusOK, casco.Home(casco.HomeView{Meta: meta, Account: login.Account}))
}
