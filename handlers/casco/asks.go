package casco

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"

	cascoapi "backoffice/apiclient/casco"
	"backoffice/handlers"
	"backoffice/internal/paths"
	"backoffice/internal/quotes"
)

// askTimeout bounds one insurer's ask in the background: well inside
// quotes.AskBound, after which the offers page shows the insurer as not
// answering whoever asked it (or whether the instance that did is still
// running).
const askTimeout = 45 * time.Second

// keepTimeout bounds storing one insurer's answer.
const keepTimeout = 10 * time.Second

// pollTarget is the offers table's region, which polls while insurers
// are being asked; an htmx request aimed at it gets the region alone.
const pollTarget = "offers-table"

// startAsks marks providers as being asked for q's offers (with all, as
// a new request for quotes: every earlier offer and ask dropped) and
// asks each in the background, detached from the request but bounded by
// askTimeout. Each answer is stored as it arrives (FinishAsk), unless
// the insurer was asked again since. Everything the offers page shows
// is in the store, so that any instance can serve its polls.
func (o *Offers) startAsks(r *http.Request, q *quotes.Quote, providers []string, all bool) error {
	ctx := r.Context()
	reqs, err := quoteRequests(q)
	if err != nil {
		return err
	}
	reqs = slices.DeleteFunc(reqs, func(req cascoapi.QuoteRequest) bool {
		return !slices.Contains(providers, req.Provider.Organization.BusinessName)
	})
	if len(reqs) == 0 {
		return handlers.ErrNotFound
	}
	s, err := o.h.partnerCasco(ctx)
	if err != nil {
		return err
	}
	asked := make([]string, len(reqs))
	for i, req := range reqs {
		asked[i] = req.Provider.Organization.BusinessName
	}
	token, err := o.h.quotes.StartAsks(ctx, q.Account, q.Draft.ID, asked, all)
	if err != nil {
		return pageErr(err)
	}
	detached := context.WithoutCancel(ctx)
	bg, cancel := context.WithTimeout(detached, askTimeout)
	loc := o.h.core.Zones.Location(cascoZone)
	var wg sync.WaitGroup
	for _, req := range reqs {
		wg.Go(func() {
			res := cascoapi.QuoteResult{Provider: req.Provider.Organization.BusinessName}
			res.Quote, res.Err = s.Quote(bg, req)
			kctx, done := context.WithTimeout(detached, keepTimeout)
			defer done()
			kept, err := o.h.quotes.FinishAsk(kctx, q.Account, q.Draft.ID, res.Provider, token, offersOf(res, loc))
			switch {
			case err != nil:
				o.h.core.Log.ErrorContext(kctx, "keeping an insurer's answer failed", "draft", q.Draft.ID, "provider", res.Provider, "err", err)
			case !kept:
				o.h.core.Log.InfoContext(kctx, "an insurer's answer came after it was asked again", "draft", q.Draft.ID, "provider", res.Provider)
			}
		})
	}
	go func() {
		wg.Wait()
		cancel()
	}()
	return nil
}

// askAfterCover starts asking the chosen insurers once the cover step
// is saved and the offers step is open: the broker lands on the offers
// arriving. A save that changed nothing keeps the offers it had (or the
// answers it awaits); a change dropped them (quotes.Commit), so they are
// asked for again. When they cannot be asked (the partner session
// ended), the offers page's own Ask for offers remains, so this only
// logs.
func (o *Offers) askAfterCover(r *http.Request, q *quotes.Quote) {
	if q.Locked() || !q.Reachable(quotes.StepOffers) || len(q.Offers) > 0 || len(q.Asks) > 0 {
		return
	}
	if err := o.startAsks(r, q, q.Cover.Providers, true); err != nil {
		o.h.core.Log.WarnContext(r.Context(), "asking the insurers after the cover failed", "draft", q.Draft.ID, "err", err)
	}
}

// retryState is what a Try again form was opened for: one failure of
// one insurer.
type retryState struct {
	DraftID  string `json:"draft_id"`
	Provider string `json:"provider"`
	Failure  string `json:"failure"`
}

// failureIDs names each failed insurer's current failure: its stored
// failed answer, or its ask that outlived quotes.AskBound. An insurer
// being asked, or with offers, has none.
func failureIDs(q *quotes.Quote, now time.Time) map[string]string {
	out := map[string]string{}
	for _, off := range q.Offers {
		if off.Error != "" {
			out[off.Provider] = "answer@" + strconv.FormatInt(off.CreatedAt.UnixMicro(), 10)
		}
	}
	for _, k := range q.Asks {
		if k.Stale(now) {
			out[k.Provider] = "ask@" + k.Token
		}
	}
	return out
}

func retryPath(draftID, provider string) string {
	return paths.DraftStep(draftID, quotes.StepOffers) + "/" + url.PathEscape(provider) + "/retry"
}

// Retry handles POST /casco/drafts/{id}/offers/{provider}/retry: the
// insurer alone is asked again; the others' offers stay as they are. The
// form is one-time per failure: a double click, or a second tab, asks
// the insurer once.
func (o *Offers) Retry(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	q, err := o.openPost(w, r)
	if err != nil || q == nil {
		return err
	}
	provider := r.PathValue("provider")
	if !slices.Contains(q.Cover.Providers, provider) {
		return handlers.ErrNotFound
	}
	token := r.PostForm.Get("token")
	st, ok, err := handlers.LoadForm[retryState](ctx, o.h.core.Forms, token, o.h.formOwner(ctx, q.Account), handlers.FormRetry)
	if err != nil {
		return err
	}
	if !ok || st.DraftID != q.Draft.ID || st.Provider != provider {
		return o.stale(w, r, q, "casco.error.form_expired", http.StatusConflict)
	}
	// A form whose failure is gone (the insurer was asked again from
	// elsewhere, and answered or is being asked) asks no one: it would
	// drop that answer or ask twice. A form already sent is the
	// exception: its first answer is replayed below.
	if current := failureIDs(q, time.Now())[provider]; current != st.Failure && !o.h.core.Forms.Sent(ctx, token) {
		return o.stale(w, r, q, "casco.error.form_expired", http.StatusConflict)
	}
	self := paths.DraftStep(q.Draft.ID, quotes.StepOffers)
	return o.sendOnce(w, r, q, token, handlers.FormRetry, func(w http.ResponseWriter, r *http.Request) error {
		if err := o.startAsks(r, q, []string{provider}, false); err != nil {
			return o.h.toPartnerSignIn(w, r, err, self)
		}
		handlers.Redirect(w, r, self)
		return nil
	})
}
