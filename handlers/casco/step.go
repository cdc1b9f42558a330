package casco

import (
	"context"
	"maps"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/a-h/templ"

	"backoffice/handlers"
	"backoffice/internal/i18n"
	"backoffice/internal/paths"
	"backoffice/internal/quotes"
	cascoviews "backoffice/views/casco"
	"backoffice/views/layout"
)

// The three form steps (vehicle.go, owner.go, cover.go) differ in their
// fields and rules only; showing and saving them is one flow, here, so
// that a rule about drafts (versions, locking, conflicts, where to go
// next) is written once.

// formStep is one of the quote's form steps as the shared flow drives
// it; F is its form (quotes.VehicleForm, OwnerForm, CoverForm).
type formStep[F any] interface {
	// step names it (quotes.StepVehicle…).
	step() string
	// stored is the form as the quote keeps it, ready to show (a step
	// never saved shows its defaults), and the CascoApi's messages
	// about it.
	stored(q *quotes.Quote) (F, map[string]string)
	// read is the posted form (r.PostForm).
	read(r *http.Request, q *quotes.Quote) F
	// check decides what a save keeps and answers. It may complete in
	// (a list's spelling of a choice, what the upstream identified);
	// its error ends the request.
	check(r *http.Request, q *quotes.Quote, in *F) (checked, error)
	// put sets in, done or not, as the quote's form.
	put(q *quotes.Quote, in F, done bool)
	// page is the step's page showing in.
	page(r *http.Request, q *quotes.Quote, in F) (stepView, error)
	// refreshes reports a form that shows itself again, unsaved, for
	// step=refresh: its lists depend on a choice, and without
	// JavaScript that is how they follow it.
	refreshes() bool
}

// Step serves one of the form steps (vehicle.go, owner.go, cover.go):
// its page and its save.
type Step[F any] struct {
	h    *Handlers
	form formStep[F]
}

// Show handles GET /casco/drafts/{id}/{vehicle,owner,cover}: the step's
// form as the draft keeps it, once the steps before it are done.
func (s *Step[F]) Show(w http.ResponseWriter, r *http.Request) error {
	return showStep(s.h, w, r, s.form)
}

// Save handles POST /casco/drafts/{id}/{vehicle,owner,cover}: the posted
// form is checked and saved into the draft (see each step for its
// actions), then the next step opens.
func (s *Step[F]) Save(w http.ResponseWriter, r *http.Request) error {
	return saveStep(s.h, w, r, s.form)
}

// checked is what checking a posted step decided.
type checked struct {
	// errs are the messages shown on the fields.
	errs map[string]string
	// done: the step is complete as it is saved.
	done bool
	// alert, when set, answers with the step again (status, the message
	// above the form) instead of moving on: an action other than saving
	// (identifying the vehicle) says how it went.
	alert  *alert
	status int
}

// stepView is a step's page being built: its shared part, open to the
// flow's errors and alerts, and how to render the page once they are in.
type stepView struct {
	*cascoviews.StepPage
	render func() templ.Component
}

// alert is a message above a step's form.
type alert struct {
	text      string
	tone      layout.Tone
	requestID string
}

func (a *alert) on(p *cascoviews.StepPage) {
	p.Alert, p.AlertTone, p.AlertRequestID = a.text, a.tone, a.requestID
}

// staleAlert says that the draft changed since the form was opened.
func staleAlert(ctx context.Context) *alert {
	return &alert{text: i18n.T(ctx, "casco.error.stale"), tone: layout.ToneWarning}
}

// lockedAlert answers a change to a quote that became a policy.
func lockedAlert(ctx context.Context) *alert {
	return &alert{text: i18n.T(ctx, "casco.error.locked"), tone: layout.ToneWarning}
}

// showStep answers GET of a form step: the stored form, with the
// upstream's messages about it.
func showStep[F any](h *Handlers, w http.ResponseWriter, r *http.Request, s formStep[F]) error {
	q, err := h.openStep(w, r, s.step())
	if err != nil || q == nil {
		return err
	}
	in, upstream := s.stored(q)
	v, err := s.page(r, q, in)
	if err != nil {
		return err
	}
	withUpstream(r.Context(), v.StepPage, upstream)
	return handlers.Render(w, r, http.StatusOK, v.render())
}

// afterSave is a form step that acts once it is saved done.
type afterSave interface {
	saved(r *http.Request, q *quotes.Quote)
}

// saveStep answers POST of a form step: the input is checked and saved
// into the draft (done or not), then the next step opens; with errors,
// or when the draft changed since the form was filled, or became a
// policy, the form comes back with what was typed.
func saveStep[F any](h *Handlers, w http.ResponseWriter, r *http.Request, s formStep[F]) error {
	ctx := r.Context()
	q, err := h.openStep(w, r, s.step())
	if err != nil || q == nil {
		return err
	}
	if err := handlers.ParseForm(w, r); err != nil {
		return err
	}
	self := paths.DraftStep(q.Draft.ID, s.step())
	in := s.read(r, q)
	answer := func(status int, errs map[string]string, a *alert) error {
		v, err := s.page(r, q, in)
		if err != nil {
			return backTo(err, self)
		}
		maps.Copy(v.Errors, errs)
		if a != nil {
			a.on(v.StepPage)
		}
		return handlers.Render(w, r, status, v.render())
	}
	switch {
	case r.PostForm.Get("step") == "refresh" && s.refreshes():
		return answer(http.StatusOK, nil, nil)
	case q.Locked():
		return answer(http.StatusConflict, nil, lockedAlert(ctx))
	}
	res, err := s.check(r, q, &in)
	if err != nil {
		return backTo(err, self)
	}
	conflict, err := quotes.Commit(ctx, h.quotes, q, postedVersion(r), func(q *quotes.Quote) { s.put(q, in, res.done) })
	switch {
	case err != nil:
		return pageErr(err)
	case conflict:
		return answer(http.StatusConflict, res.errs, staleAlert(ctx))
	case res.alert != nil:
		return answer(res.status, res.errs, res.alert)
	case len(res.errs) > 0:
		return answer(http.StatusUnprocessableEntity, res.errs, nil)
	}
	if a, ok := s.(afterSave); ok && res.done {
		a.saved(r, q)
	}
	next := quotes.NextStep(s.step())
	if !q.Reachable(next) {
		next = q.Progress()
	}
	handlers.Redirect(w, r, paths.DraftStep(q.Draft.ID, next))
	return nil
}

// postedVersion is the draft version a step form was filled from.
func postedVersion(r *http.Request) int {
	v, err := strconv.Atoi(r.PostForm.Get("version"))
	if err != nil {
		return -1
	}
	return v
}

// stepPage builds what every step page shares. currentURL is the
// current step's own address (the policy step's names the offer).
func (h *Handlers) stepPage(r *http.Request, q *quotes.Quote, step, currentURL string) cascoviews.StepPage {
	ctx := r.Context()
	done := map[string]bool{
		quotes.StepVehicle: q.Vehicle.Done,
		quotes.StepOwner:   q.Owner.Done,
		quotes.StepCover:   q.Cover.Done,
		quotes.StepOffers:  len(q.GoodOffers()) > 0 || q.Locked(),
		quotes.StepPolicy:  q.Locked(),
	}
	var items []cascoviews.StepItem
	for i, s := range quotes.StepsInOrder() {
		it := cascoviews.StepItem{N: i + 1, Step: cascoviews.Step(s), Current: s == step, Done: done[s]}
		switch {
		case it.Current:
			it.URL = currentURL
		case s == quotes.StepPolicy:
			// The policy step is opened by choosing an offer; once
			// there is a policy, it shows it.
			if q.Locked() {
				it.URL = paths.DraftStep(q.Draft.ID, s)
			}
		case q.Reachable(s):
			it.URL = paths.DraftStep(q.Draft.ID, s)
		}
		items = append(items, it)
	}
	return cascoviews.StepPage{
		Meta:    h.meta(r, i18n.T(ctx, "casco.step."+step+".title")),
		DraftID: q.Draft.ID,
		Title:   q.Draft.Title,
		Steps:   items,
		Action:  paths.DraftStep(q.Draft.ID, step),
		Version: q.Draft.Version,
		Locked:  q.Locked(),
		Errors:  map[string]string{},
	}
}

// withUpstream shows a step's stored upstream messages: on their fields
// (unless a field has a message already), and the one about the step as
// a whole above the form.
func withUpstream(ctx context.Context, p *cascoviews.StepPage, msgs map[string]string) {
	above, onFields := upstreamSays(ctx, msgs)
	if above != "" {
		p.Alert, p.AlertTone = above, layout.ToneError
	}
	for f, m := range onFields {
		if p.Errors[f] == "" {
			p.Errors[f] = m
		}
	}
}

// upstreamSays words the CascoApi's messages (form field → message, ""
// for the form as a whole) as the user reads them: each on its field,
// and the rest above the form ("" when there is none).
func upstreamSays(ctx context.Context, msgs map[string]string) (above string, onFields map[string]string) {
	onFields = map[string]string{}
	for f, m := range msgs {
		if f == "" {
			above = i18n.T(ctx, "casco.error.upstream", "Message", m)
			continue
		}
		onFields[f] = i18n.T(ctx, "casco.error.upstream", "Message", m)
	}
	return above, onFields
}

// mapUpstreamFields puts the messages of a CascoApi VALIDATION_ERROR on
// the form fields they are about. fieldFor maps a dotted upstream field
// to a form field ("" when none: the message goes above the form).
func mapUpstreamFields(fields map[string][]string, fieldFor func(string) string) map[string]string {
	out := map[string]string{}
	names := make([]string, 0, len(fields))
	for f := range fields {
		names = append(names, f)
	}
	sort.Strings(names) // messages joined in a stable order
	for _, f := range names {
		msg := strings.Join(fields[f], " ")
		name := fieldFor(f)
		if prev, ok := out[name]; ok && name == "" {
			msg = prev + " " + msg
		}
		out[name] = msg
	}
	return out
}

// enumOptions are the choices of a fixed list, labelled from the
// catalogue (prefix + value, spaces as underscores).
func enumOptions(prefix string, values []string, selected string) []cascoviews.Option {
	opts := make([]cascoviews.Option, 0, len(values))
	for _, v := range values {
		opts = append(opts, cascoviews.Option{Value: v, LabelKey: prefix + strings.ReplaceAll(v, " ", "_"), Selected: v == selected})
	}
	return opts
}
