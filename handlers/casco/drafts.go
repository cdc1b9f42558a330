package casco

import (
	"errors"
	"net/http"

	"backoffice/handlers"
	"backoffice/internal/paths"
	"backoffice/internal/quotes"
)

// Drafts starts a CASCO quote and reopens one where it was left. Every
// step is saved into the draft (the quotes store, per partner account):
// a reload, Back, a second tab or signing in again finds it as it was.
type Drafts struct {
	h *Handlers
}

// Create handles POST /casco/drafts: a new quote, opened at its first
// step. The account's newest quote with no vehicle yet is reopened
// rather than another one made: repeated clicks (on one instance or
// several, however close together) never fill the history with empty
// drafts.
func (d *Drafts) Create(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	account, err := d.h.partnerAccount(ctx)
	if err != nil {
		return err
	}
	draft, _, err := d.h.quotes.FreshDraft(ctx, account, maxDrafts)
	if errors.Is(err, quotes.ErrTooLarge) {
		return &handlers.Error{Status: http.StatusConflict, MessageKey: "casco.drafts.too_many"}
	}
	if err != nil {
		return err
	}
	handlers.Redirect(w, r, paths.DraftStep(draft.ID, quotes.StepVehicle))
	return nil
}

// maxDrafts bounds one partner account's quote history: far above a
// broker's year of quotes, far below what fills a disk.
const maxDrafts = 5000

// Open handles GET /casco/drafts/{id}: the quote where it was left.
func (d *Drafts) Open(w http.ResponseWriter, r *http.Request) error {
	q, err := d.h.requestQuote(r)
	if err != nil {
		return err
	}
	step := q.Progress()
	if step == quotes.StepDone {
		step = quotes.StepPolicy
	}
	http.Redirect(w, r, paths.DraftStep(q.Draft.ID, step), http.StatusSeeOther)
	return nil
}

// requestQuote loads the draft named by the request's path for the
// signed-in partner; another account's draft is not found.
func (h *Handlers) requestQuote(r *http.Request) (*quotes.Quote, error) {
	ctx := r.Context()
	account, err := h.partnerAccount(ctx)
	if err != nil {
		return nil, err
	}
	q, err := quotes.Load(ctx, h.quotes, account, r.PathValue("id"))
	if err != nil {
		return nil, pageErr(err)
	}
	for _, step := range q.Unreadable {
		h.core.Log.WarnContext(ctx, "unreadable draft step, started afresh", "draft", q.Draft.ID, "step", step)
	}
	return q, nil
}

// openStep loads the request's quote for step. A step that cannot be
// opened yet sends the browser to the step the quote has reached; q is
// nil then, the request answered.
func (h *Handlers) openStep(w http.ResponseWriter, r *http.Request, step string) (*quotes.Quote, error) {
	q, err := h.requestQuote(r)
	if err != nil {
		return nil, err
	}
	if guardStep(w, r, q, step) {
		return nil, nil
	}
	return q, nil
}

// guardStep sends a request for a step that cannot be opened yet to the
// step the quote has reached; it reports whether it did.
func guardStep(w http.ResponseWriter, r *http.Request, q *quotes.Quote, step string) bool {
	if q.Reachable(step) {
		return false
	}
	target := q.Progress()
	if target == quotes.StepDone || !q.Reachable(target) {
		target = quotes.StepVehicle
	}
	http.Redirect(w, r, paths.DraftStep(q.Draft.ID, target), http.StatusSeeOther) // #nosec G710 -- built by internal/paths from a stored draft
	return true
}

// pageErr is a quotes store error as a page: a draft that is gone (or
// never was this account's) is not found.
func pageErr(err error) error {
	if errors.Is(err, quotes.ErrNotFound) {
		return handlers.ErrNotFound
	}
	return err
}
