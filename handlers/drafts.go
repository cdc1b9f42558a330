package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"backoffice/apiclient"
	"backoffice/apiclient/casco"
	"backoffice/internal/format"
	"backoffice/internal/i18n"
	"backoffice/internal/quotes"
	cascoviews "backoffice/views/casco"
)

// Drafts serves a CASCO quote in progress: starting one, reopening it
// where it was left, and its first three steps (vehicle.go, owner.go,
// cover.go). Offers (offers.go) and the policy (conversion.go) are the
// last two. Every step is checked here, saved into the draft (the
// quotes store, per partner account) and can be reopened: a reload,
// Back, a second tab or signing in again finds it as it was.
type Drafts struct {
	h *Handlers
}

// cascoZone is where CASCO dates are: the upstream's "today", start
// dates and offer expiry are Bucharest's.
const cascoZone = "Europe/Bucharest"

// maxInput bounds one form value as stored in a draft.
const maxInput = 200

// stepState is what every step form records besides its fields.
type stepState struct {
	// Done: the step was last saved without errors.
	Done bool `json:"done,omitempty"`
	// Upstream are the CascoApi's messages about the step's fields (form
	// field name → message; "" for the step as a whole), shown on the
	// step until it is saved again.
	Upstream map[string]string `json:"upstream,omitempty"`
}

// quote is a draft as a request works with it: the stored draft, its
// decoded step forms, its offers and the policies issued from them.
type quote struct {
	account  string
	draft    quotes.Draft
	vehicle  vehicleForm
	owner    ownerForm
	cover    coverForm
	offers   []quotes.Offer
	policies []quotes.Policy
}

// partnerAccount is the signed-in CascoApi account.
func (h *Handlers) partnerAccount(ctx context.Context) (string, error) {
	l, ok := h.sessions.Casco(ctx)
	if !ok || l.Account == "" {
		return "", casco.ErrSessionExpired
	}
	return l.Account, nil
}

// loadQuote reads the account's draft id with everything attached to
// it. A draft of another account, or an id that cannot be one, is not
// found.
func (h *Handlers) loadQuote(ctx context.Context, account, id string) (*quote, error) {
	d, err := h.quotes.GetDraft(ctx, account, id)
	if errors.Is(err, quotes.ErrNotFound) || errors.Is(err, quotes.ErrInvalid) {
		return nil, errNotFound
	}
	if err != nil {
		return nil, err
	}
	q := &quote{account: account, draft: d}
	for _, b := range []struct {
		raw json.RawMessage
		out any
	}{{d.Vehicle, &q.vehicle}, {d.Owner, &q.owner}, {d.Cover, &q.cover}} {
		if len(b.raw) == 0 {
			continue
		}
		if err := json.Unmarshal(b.raw, b.out); err != nil {
			// A form of an older shape: start that step afresh rather
			// than lose the draft.
			h.log.WarnContext(ctx, "unreadable draft step", "draft", d.ID, "err", err)
		}
	}
	if q.offers, err = h.quotes.Offers(ctx, account, id); err != nil {
		return nil, err
	}
	if q.policies, err = h.quotes.Policies(ctx, account, id); err != nil {
		return nil, err
	}
	return q, nil
}

// requestQuote loads the draft named by the request's path for the
// signed-in partner.
func (h *Handlers) requestQuote(r *http.Request) (*quote, error) {
	account, err := h.partnerAccount(r.Context())
	if err != nil {
		return nil, err
	}
	return h.loadQuote(r.Context(), account, r.PathValue("id"))
}

// locked: a policy was issued from the quote, which no longer changes.
func (q *quote) locked() bool { return len(q.policies) > 0 }

// goodOffers are the offers that can become a policy.
func (q *quote) goodOffers() []quotes.Offer {
	var out []quotes.Offer
	for _, o := range q.offers {
		if o.Error == "" && o.OfferID != "" {
			out = append(out, o)
		}
	}
	return out
}

// progress is the step the broker has reached: the first step not done,
// the offers once the three forms are, and done with a policy.
func (q *quote) progress() string {
	switch {
	case q.locked():
		return quotes.StepDone
	case !q.vehicle.Done:
		return quotes.StepVehicle
	case !q.owner.Done:
		return quotes.StepOwner
	case !q.cover.Done:
		return quotes.StepCover
	default:
		return quotes.StepOffers
	}
}

// reachable reports whether step can be opened: each step needs the ones
// before it done.
func (q *quote) reachable(step string) bool {
	switch step {
	case quotes.StepVehicle:
		return true
	case quotes.StepOwner:
		return q.vehicle.Done || q.locked()
	case quotes.StepCover:
		return q.vehicle.Done && q.owner.Done || q.locked()
	case quotes.StepOffers:
		return q.vehicle.Done && q.owner.Done && q.cover.Done || q.locked()
	case quotes.StepPolicy:
		return q.locked() || q.reachable(quotes.StepOffers) && len(q.goodOffers()) > 0
	}
	return false
}

// title names the draft in the history: vehicle, plate, holder.
func (q *quote) title() string {
	var parts []string
	if v := strings.TrimSpace(q.vehicle.Make + " " + q.vehicle.Model); v != "" {
		parts = append(parts, v)
	}
	if q.vehicle.Plate != "" {
		parts = append(parts, q.vehicle.Plate)
	}
	if q.owner.Kind == "company" && q.owner.CompanyName != "" {
		parts = append(parts, q.owner.CompanyName)
	} else if q.owner.Kind != "company" && q.owner.LastName != "" {
		parts = append(parts, q.owner.LastName)
	}
	return truncate(strings.Join(parts, " · "), quotes.MaxTitle)
}

// contents is the step forms' input, without their state: when it
// changes, offers made for the old input no longer apply.
func (q *quote) contents() string {
	strip := func(v any) string {
		b, _ := json.Marshal(v)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		delete(m, "done")
		delete(m, "upstream")
		out, _ := json.Marshal(m) // map keys come out sorted
		return string(out)
	}
	return strip(q.vehicle) + strip(q.owner) + strip(q.cover)
}

// saveQuote stores q's step forms, title and step as the draft version
// q.draft.Version; a stale version is quotes.ErrConflict.
func (h *Handlers) saveQuote(ctx context.Context, q *quote) error {
	d := q.draft
	var err error
	if d.Vehicle, err = json.Marshal(q.vehicle); err != nil {
		return err
	}
	if d.Owner, err = json.Marshal(q.owner); err != nil {
		return err
	}
	if d.Cover, err = json.Marshal(q.cover); err != nil {
		return err
	}
	d.Step, d.Title = q.progress(), q.title()
	saved, err := h.quotes.SaveDraft(ctx, d)
	if err != nil {
		return err
	}
	q.draft = saved
	return nil
}

// commit applies a step's posted input (set) and saves it, when the form
// was filled from the stored version. Otherwise, or when another save
// got there first, it reports a conflict: q is reloaded as stored, with
// the posted input applied on top for the page to show (not saved), so
// nothing typed is lost and nothing saved elsewhere is overwritten
// unseen. Input that differs from what offers were asked for drops the
// offers.
func (h *Handlers) commit(ctx context.Context, q *quote, version int, set func(*quote)) (conflict bool, err error) {
	before := q.contents()
	set(q)
	if version == q.draft.Version {
		err := h.saveQuote(ctx, q)
		if err == nil {
			if len(q.offers) > 0 && !q.locked() && q.contents() != before {
				if err := h.quotes.ReplaceOffers(ctx, q.account, q.draft.ID, nil); err != nil {
					return false, err
				}
				q.offers = nil
			}
			return false, nil
		}
		if !errors.Is(err, quotes.ErrConflict) {
			return false, err
		}
	}
	fresh, err := h.loadQuote(ctx, q.account, q.draft.ID)
	if err != nil {
		return false, err
	}
	*q = *fresh
	set(q)
	return true, nil
}

// stepURL is the page of a step of draft id.
func stepURL(id, step string) string {
	return "/casco/drafts/" + url.PathEscape(id) + "/" + step
}

// nextStep is the step after step, in order.
func nextStep(step string) string {
	steps := []string{quotes.StepVehicle, quotes.StepOwner, quotes.StepCover, quotes.StepOffers, quotes.StepPolicy}
	for i, s := range steps[:len(steps)-1] {
		if s == step {
			return steps[i+1]
		}
	}
	return quotes.StepOffers
}

// stepPage builds what every step page shares. currentURL is the
// current step's own address (the policy step's names the offer).
func (h *Handlers) stepPage(r *http.Request, q *quote, step, currentURL string) cascoviews.StepPage {
	ctx := r.Context()
	meta := h.meta(r, i18n.T(ctx, "casco.step."+step+".title"))
	meta.Nav = "casco"
	done := map[string]bool{
		quotes.StepVehicle: q.vehicle.Done,
		quotes.StepOwner:   q.owner.Done,
		quotes.StepCover:   q.cover.Done,
		quotes.StepOffers:  len(q.goodOffers()) > 0 || q.locked(),
		quotes.StepPolicy:  q.locked(),
	}
	var items []cascoviews.StepItem
	for i, s := range []string{quotes.StepVehicle, quotes.StepOwner, quotes.StepCover, quotes.StepOffers, quotes.StepPolicy} {
		it := cascoviews.StepItem{N: i + 1, Step: s, Current: s == step, Done: done[s]}
		switch {
		case it.Current:
			it.URL = currentURL
		case s == quotes.StepPolicy:
			// The policy step is opened by choosing an offer; once
			// there is a policy, it shows it.
			if q.locked() {
				it.URL = stepURL(q.draft.ID, s)
			}
		case q.reachable(s):
			it.URL = stepURL(q.draft.ID, s)
		}
		items = append(items, it)
	}
	return cascoviews.StepPage{
		Meta:    meta,
		DraftID: q.draft.ID,
		Title:   q.draft.Title,
		Steps:   items,
		Action:  stepURL(q.draft.ID, step),
		Version: q.draft.Version,
		Locked:  q.locked(),
		Errors:  map[string]string{},
	}
}

// withUpstream shows a step's stored upstream messages: on their fields,
// and the one about the step as a whole above the form.
func withUpstream(ctx context.Context, p *cascoviews.StepPage, msgs map[string]string) {
	for f, m := range msgs {
		if f == "" {
			p.Alert, p.AlertKind = i18n.T(ctx, "casco.error.upstream", "Message", m), "error"
			continue
		}
		if p.Errors[f] == "" {
			p.Errors[f] = i18n.T(ctx, "casco.error.upstream", "Message", m)
		}
	}
}

// staleAlert says that the draft changed since the form was opened.
func staleAlert(ctx context.Context, p *cascoviews.StepPage) {
	p.Alert, p.AlertKind = i18n.T(ctx, "casco.error.stale"), "warning"
}

// lockedStatus answers a change to a quote that became a policy.
func lockedAlert(ctx context.Context, p *cascoviews.StepPage) {
	p.Alert, p.AlertKind = i18n.T(ctx, "casco.error.locked"), "warning"
}

// Create handles POST /casco/drafts: a new, empty quote, opened at its
// first step.
func (d *Drafts) Create(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	account, err := d.h.partnerAccount(ctx)
	if err != nil {
		return err
	}
	draft, err := d.h.quotes.CreateDraft(ctx, account)
	if err != nil {
		return err
	}
	redirect(w, r, stepURL(draft.ID, quotes.StepVehicle))
	return nil
}

// Open handles GET /casco/drafts/{id}: the quote where it was left.
func (d *Drafts) Open(w http.ResponseWriter, r *http.Request) error {
	q, err := d.h.requestQuote(r)
	if err != nil {
		return err
	}
	step := q.progress()
	if step == quotes.StepDone {
		step = quotes.StepPolicy
	}
	http.Redirect(w, r, stepURL(q.draft.ID, step), http.StatusSeeOther)
	return nil
}

// guardStep sends a request for a step that cannot be opened yet to the
// step the quote has reached; it reports whether it did.
func guardStep(w http.ResponseWriter, r *http.Request, q *quote, step string) bool {
	if q.reachable(step) {
		return false
	}
	target := q.progress()
	if target == quotes.StepDone || !q.reachable(target) {
		target = quotes.StepVehicle
	}
	http.Redirect(w, r, stepURL(q.draft.ID, target), http.StatusSeeOther)
	return true
}

// afterSave answers a step saved without errors: on to the next step.
func afterSave(w http.ResponseWriter, r *http.Request, q *quote, step string) {
	next := nextStep(step)
	if !q.reachable(next) {
		next = q.progress()
	}
	redirect(w, r, stepURL(q.draft.ID, next))
}

// postedVersion is the draft version a step form was filled from.
func postedVersion(r *http.Request) int {
	v, err := strconv.Atoi(r.PostForm.Get("version"))
	if err != nil {
		return -1
	}
	return v
}

// formValue reads one form value, trimmed and bounded, as valid UTF-8.
func formValue(f url.Values, name string) string {
	s := strings.TrimSpace(strings.ToValidUTF8(f.Get(name), ""))
	if len(s) > maxInput {
		s = truncate(s, maxInput)
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
}

// bucharestToday is today's date where the CascoApi counts days.
func (h *Handlers) bucharestToday() time.Time {
	now := time.Now()
	if z, err := h.zones.In(now, cascoZone); err == nil {
		now = z
	}
	return time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
}

// upstreamLanguage is the CascoApi language for the user's: Romanian
// messages for Romanian users, English otherwise.
func upstreamLanguage(ctx context.Context) string {
	if i18n.Lang(ctx) == "ro" {
		return "ro"
	}
	return "en"
}

// partnerCasco is the partner's CascoApi session, answering in the
// user's language.
func (h *Handlers) partnerCasco(ctx context.Context) (*casco.Session, error) {
	s, _, err := h.cascoSession(ctx)
	if err != nil {
		return nil, err
	}
	_ = s.SetLanguage(upstreamLanguage(ctx))
	return s, nil
}

// upstreamFields returns the field messages of a CascoApi
// VALIDATION_ERROR, nil for any other error.
func upstreamFields(err error) (map[string][]string, string) {
	var ue *apiclient.Error
	if errors.As(err, &ue) && len(ue.Fields) > 0 {
		return ue.Fields, ue.RequestID
	}
	return nil, ""
}

// upstreamRequestID is the upstream's request id of err, if any.
func upstreamRequestID(err error) string {
	var ue *apiclient.Error
	if errors.As(err, &ue) {
		return ue.RequestID
	}
	return ""
}

// upstreamMessage is the upstream's own message of err, if any.
func upstreamMessage(err error) string {
	var ue *apiclient.Error
	if errors.As(err, &ue) && utf8.ValidString(ue.Message) {
		return ue.Message
	}
	return ""
}

// checker collects a step form's field errors, one message per field
// (the first problem found).
type checker struct {
	ctx  context.Context
	errs map[string]string
}

func newChecker(ctx context.Context) *checker {
	return &checker{ctx: ctx, errs: map[string]string{}}
}

func (c *checker) fail(field, key string, args ...any) {
	if _, ok := c.errs[field]; !ok {
		c.errs[field] = i18n.T(c.ctx, key, args...)
	}
}

func (c *checker) has(field string) bool { _, ok := c.errs[field]; return ok }

func (c *checker) formatter() *format.Formatter { return format.New(i18n.Lang(c.ctx)) }

// text checks a required (or optional) text of at most max characters.
func (c *checker) text(field, v string, required bool, max int) bool {
	switch {
	case v == "":
		if required {
			c.fail(field, "casco.error.required")
		}
		return false
	case utf8.RuneCountInString(v) > max:
		c.fail(field, "casco.error.too_long", "Max", max)
		return false
	}
	return true
}

// integer reads a whole number within lo..hi.
func (c *checker) integer(field, v string, required bool, lo, hi int) (int, bool) {
	if v == "" {
		if required {
			c.fail(field, "casco.error.required")
		}
		return 0, false
	}
	n, err := strconv.Atoi(strings.ReplaceAll(v, " ", ""))
	switch {
	case err != nil:
		c.fail(field, "casco.error.integer")
		return 0, false
	case n < lo || n > hi:
		c.fail(field, "casco.error.range", "Min", lo, "Max", hi)
		return 0, false
	}
	return n, true
}

// oneOf checks a choice from a list.
func (c *checker) oneOf(field, v string, required bool, values []string) bool {
	if v == "" {
		if required {
			c.fail(field, "casco.error.choose")
		}
		return false
	}
	for _, x := range values {
		if x == v {
			return true
		}
	}
	c.fail(field, "casco.error.choose")
	return false
}

// date reads a YYYY-MM-DD date.
func (c *checker) date(field, v string, required bool) (time.Time, bool) {
	if v == "" {
		if required {
			c.fail(field, "casco.error.required")
		}
		return time.Time{}, false
	}
	t, err := time.Parse(time.DateOnly, v)
	if err != nil || t.Format(time.DateOnly) != v {
		c.fail(field, "casco.error.date")
		return time.Time{}, false
	}
	return t, true
}

// money reads an amount with at most two decimals, within lo..hi (in
// minor units).
func (c *checker) money(field, v string, required bool, lo, hi int64) (casco.Decimal, bool) {
	if v == "" {
		if required {
			c.fail(field, "casco.error.required")
		}
		return casco.Decimal{}, false
	}
	d, ok := parseAmount(v)
	if !ok {
		c.fail(field, "casco.error.amount")
		return casco.Decimal{}, false
	}
	minor, ok := d.MinorUnits()
	if !ok {
		c.fail(field, "casco.error.amount")
		return casco.Decimal{}, false
	}
	if minor < lo || minor > hi {
		c.fail(field, "casco.error.amount_range", "Min", casco.FromMinorUnits(lo).String(), "Max", casco.FromMinorUnits(hi).String())
		return casco.Decimal{}, false
	}
	return casco.FromMinorUnits(minor), true
}

// parseAmount reads an amount as people type it: "5123.25", "5123,25",
// "5 123,25", "5.123,25" or "5,123.25" (the last separator is the
// decimal one when both appear).
func parseAmount(s string) (casco.Decimal, bool) {
	s = strings.NewReplacer(" ", "", "\u00a0", "", "\u202f", "", "'", "").Replace(s)
	dot, comma := strings.LastIndexByte(s, '.'), strings.LastIndexByte(s, ',')
	switch {
	case dot >= 0 && comma >= 0 && comma > dot:
		s = strings.ReplaceAll(s, ".", "")
		s = strings.Replace(s, ",", ".", 1)
	case dot >= 0 && comma >= 0:
		s = strings.ReplaceAll(s, ",", "")
	case comma >= 0:
		if strings.Count(s, ",") > 1 {
			return casco.Decimal{}, false
		}
		s = strings.Replace(s, ",", ".", 1)
	}
	if s == "" || strings.ContainsAny(s, "eE+-") || strings.Count(s, ".") > 1 {
		return casco.Decimal{}, false
	}
	d, err := casco.ParseDecimal(s)
	if err != nil {
		return casco.Decimal{}, false
	}
	return d, true
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
