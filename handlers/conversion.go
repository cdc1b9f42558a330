package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"backoffice/apiclient"
	"backoffice/apiclient/casco"
	"backoffice/internal/audit"
	"backoffice/internal/format"
	"backoffice/internal/i18n"
	"backoffice/internal/quotes"
	cascoviews "backoffice/views/casco"
)

// Conversions serve step 5 of a quote: the chosen offer, paid, becomes
// a policy (once, however often the form is sent), and the policy's
// PDF.
type Conversions struct {
	h       *Handlers
	intents *intents
	locks   keyedLocks
}

// conversion is what a policy form's token stands for.
type conversion struct {
	draftID, offerID string
}

// paymentMethods are the contract's payment methods (CascoApi, from the
// sibling RCA API).
var paymentMethods = []string{casco.PaymentReceipt, casco.PaymentBrokerReceipt, casco.PaymentOrder, casco.PaymentBrokerPaymentOrder, casco.PaymentPOS}

// paymentInput is the payment form.
type paymentInput struct {
	Method, Amount, Date, DocumentNumber string
}

func readPayment(f url.Values) paymentInput {
	return paymentInput{
		Method:         formValue(f, "method"),
		Amount:         formValue(f, "amount"),
		Date:           formValue(f, "date"),
		DocumentNumber: formValue(f, "document_number"),
	}
}

// paymentFieldFor maps a CascoApi payment field to the form's field.
func paymentFieldFor(upstream string) string {
	switch upstream {
	case "payment.method":
		return "method"
	case "payment.amount":
		return "amount"
	case "payment.date":
		return "date"
	case "payment.documentNumber":
		return "document_number"
	}
	return ""
}

// partnerOwner ties a form to the partner account that opened it.
func partnerOwner(account string) string { return "casco:" + account }

// offerDetails is an offer as the upstream sent it.
func offerDetails(o quotes.Offer) casco.Offer {
	var up casco.Offer
	_ = json.Unmarshal(o.Body, &up)
	if up.Currency == "" {
		up.Currency = "RON"
	}
	return up
}

// checkPayment checks the payment against the offer: the amount is its
// premium (or its first installment), the date not in the future.
func (c *Conversions) checkPayment(ctx context.Context, in paymentInput, off casco.Offer) map[string]string {
	ch := newChecker(ctx)
	ch.oneOf("method", in.Method, true, paymentMethods)
	if amount, ok := ch.money("amount", in.Amount, true, 1, maxMarketValue); ok {
		match := amount.Equal(off.PremiumAmount)
		if len(off.Installments) > 1 && amount.Equal(off.Installments[0].Amount) {
			match = true
		}
		if !match {
			ch.fail("amount", "casco.error.amount_offer")
		}
	}
	if d, ok := ch.date("date", in.Date, true); ok && d.After(c.h.bucharestToday()) {
		ch.fail("date", "casco.error.date_future")
	}
	ch.text("document_number", in.DocumentNumber, true, 64)
	return ch.errs
}

// Form handles GET /casco/drafts/{id}/policy?offer=…: the payment form of
// the chosen offer, or the policy the quote became.
func (c *Conversions) Form(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	q, err := c.h.requestQuote(r)
	if err != nil {
		return err
	}
	if q.locked() {
		return render(w, r, http.StatusOK, cascoviews.PolicyPage(c.issuedView(r, q)))
	}
	if guardStep(w, r, q, quotes.StepPolicy) {
		return nil
	}
	off, ok := q.offer(r.URL.Query().Get("offer"))
	if !ok {
		http.Redirect(w, r, stepURL(q.draft.ID, quotes.StepOffers), http.StatusSeeOther)
		return nil
	}
	up := offerDetails(off)
	in := paymentInput{Amount: up.PremiumAmount.String(), Date: c.h.bucharestToday().Format(time.DateOnly)}
	v := c.formView(r, q, off, in, c.newToken(q, off))
	if !off.ExpiresAt.IsZero() && !time.Now().Before(off.ExpiresAt) {
		v.Alert, v.AlertKind = i18n.T(ctx, "casco.policy.offer_expired"), "warning"
	}
	return render(w, r, http.StatusOK, cascoviews.PolicyPage(v))
}

// newToken opens a one-time form for converting off.
func (c *Conversions) newToken(q *quote, off quotes.Offer) string {
	it := c.intents.add(&intent{owner: partnerOwner(q.account), convert: &conversion{draftID: q.draft.ID, offerID: off.OfferID}})
	return it.token
}

// Convert handles POST /casco/drafts/{id}/policy: the payment is checked
// and the offer becomes a policy. A form converts at most once (its
// token's answer is replayed to a double click or a resubmission), an
// offer at most once per process (two tabs wait for each other and the
// second finds the first's policy), and the quotes store keeps one
// policy per offer whatever the instance.
func (c *Conversions) Convert(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	q, err := c.h.requestQuote(r)
	if err != nil {
		return err
	}
	if err := parseForm(w, r); err != nil {
		return err
	}
	policyURL := stepURL(q.draft.ID, quotes.StepPolicy)
	it := c.intents.get(r.PostForm.Get("token"), partnerOwner(q.account))
	if q.locked() {
		// Converted already (this form, or another): the policy.
		redirect(w, r, policyURL)
		return nil
	}
	if guardStep(w, r, q, quotes.StepPolicy) {
		return nil
	}
	off, ok := q.offer(r.PostForm.Get("offer"))
	if !ok {
		redirect(w, r, stepURL(q.draft.ID, quotes.StepOffers))
		return nil
	}
	in := readPayment(r.PostForm)
	if it == nil || it.convert == nil || it.convert.draftID != q.draft.ID || it.convert.offerID != off.OfferID {
		// An expired form (or one from before a restart): the same
		// input on a fresh one.
		v := c.formView(r, q, off, in, c.newToken(q, off))
		v.Alert, v.AlertKind = i18n.T(ctx, "casco.error.form_expired"), "warning"
		return render(w, r, http.StatusConflict, cascoviews.PolicyPage(v))
	}
	if errs := c.checkPayment(ctx, in, offerDetails(off)); len(errs) > 0 {
		v := c.formView(r, q, off, in, it.token)
		v.Errors = errs
		return render(w, r, http.StatusUnprocessableEntity, cascoviews.PolicyPage(v))
	}
	it.replayOrRun(w, func(rec http.ResponseWriter) {
		if err := c.issue(rec, r, q, off, in); err != nil {
			c.h.serveError(rec, r, err)
		}
	})
	return nil
}

// issue converts the offer upstream, once, records the policy and the
// audit entry, and answers with the policy page (or the form and what
// went wrong).
func (c *Conversions) issue(w http.ResponseWriter, r *http.Request, q *quote, off quotes.Offer, in paymentInput) error {
	ctx := r.Context()
	formURL := stepURL(q.draft.ID, quotes.StepPolicy) + "?offer=" + url.QueryEscape(off.OfferID)
	unlock := c.locks.lock(q.account + "\x00" + off.OfferID)
	defer unlock()
	// Converted meanwhile (another tab): that policy is the answer.
	if done, err := c.h.quotes.Policies(ctx, q.account, q.draft.ID); err != nil {
		return err
	} else if len(done) > 0 {
		redirect(w, r, stepURL(q.draft.ID, quotes.StepPolicy))
		return nil
	}
	s, err := c.h.partnerCasco(ctx)
	if err != nil {
		return c.expired(w, r, err, formURL)
	}
	up := offerDetails(off)
	offerID, _ := strconv.ParseInt(off.OfferID, 10, 64)
	amount, _ := parseAmount(in.Amount)
	req := casco.PolicyRequest{OfferID: offerID, Payment: casco.Payment{
		Method: in.Method, Currency: up.Currency, Amount: amount, Date: in.Date, DocumentNumber: in.DocumentNumber,
	}}
	issued, err := s.IssuePolicy(ctx, req)
	entry := audit.Entry{Action: audit.ActionConvert, Reference: off.OfferID, Holder: truncate(q.holderName(), 200)}
	if err == nil {
		p := issued.Policies[0]
		entry.Outcome, entry.UpstreamStatus, entry.UpstreamRequestID = audit.OutcomeCompleted, http.StatusOK, issued.RequestID
		entry.Message = strings.TrimSpace(p.Series + " " + strconv.FormatInt(p.Number, 10))
		c.h.recordPartner(ctx, q.account, entry, nil)
		return c.record(w, r, q, off, p)
	}
	c.h.recordPartner(ctx, q.account, entry, err)
	if errors.Is(err, casco.ErrSessionExpired) {
		return c.expired(w, r, err, formURL)
	}
	// The form stays, with a new token: this one has its answer.
	v := c.formView(r, q, off, in, c.newToken(q, off))
	v.AlertRequestID = upstreamRequestID(err)
	fields, _ := upstreamFields(err)
	switch {
	case fields != nil:
		for f, m := range mapUpstreamFields(fields, paymentFieldFor) {
			if f == "" {
				v.Alert = i18n.T(ctx, "casco.error.upstream", "Message", m)
				continue
			}
			v.Errors[f] = i18n.T(ctx, "casco.error.upstream", "Message", m)
		}
		if v.Alert == "" {
			v.Alert = i18n.T(ctx, "casco.policy.refused")
		}
		v.AlertKind = "error"
		return render(w, r, http.StatusUnprocessableEntity, cascoviews.PolicyPage(v))
	case errors.Is(err, casco.ErrProvider):
		v.Alert, v.AlertKind = i18n.T(ctx, "casco.policy.provider_refused", "Message", upstreamMessage(err)), "error"
		return render(w, r, http.StatusUnprocessableEntity, cascoviews.PolicyPage(v))
	case errors.Is(err, apiclient.ErrNotFound):
		v.Alert, v.AlertKind = i18n.T(ctx, "casco.policy.offer_unknown"), "error"
		return render(w, r, http.StatusConflict, cascoviews.PolicyPage(v))
	case errors.Is(err, apiclient.ErrUnavailable), errors.Is(err, apiclient.ErrInvalidResponse):
		// Nobody knows whether the insurer issued it: say so; sending
		// again cannot make a second policy (the offer converts once).
		v.Alert, v.AlertKind = i18n.T(ctx, "casco.policy.unknown"), "warning"
		return render(w, r, http.StatusBadGateway, cascoviews.PolicyPage(v))
	}
	return err
}

// record keeps the issued policy (the first one, should another request
// have recorded one for the offer), marks the quote done and shows it.
func (c *Conversions) record(w http.ResponseWriter, r *http.Request, q *quote, off quotes.Offer, p casco.Policy) error {
	ctx := r.Context()
	body, err := json.Marshal(p)
	if err != nil {
		return err
	}
	provider := p.Provider.Organization.BusinessName
	if provider == "" {
		provider = off.Provider
	}
	_, err = c.h.quotes.RecordPolicy(ctx, q.account, quotes.Policy{
		DraftID: q.draft.ID, OfferID: off.OfferID, Provider: provider,
		Series: p.Series, Number: strconv.FormatInt(p.Number, 10), Body: body,
	})
	if err != nil && !errors.Is(err, quotes.ErrExists) {
		c.h.log.ErrorContext(ctx, "recording an issued CASCO policy failed", "err", err, "draft", q.draft.ID,
			"offer", off.OfferID, "series", p.Series, "number", p.Number)
		return err
	}
	if err := c.h.settleDraft(ctx, q); err != nil {
		// The policy is recorded; the history shows the step next time.
		c.h.log.WarnContext(ctx, "marking a CASCO draft done failed", "err", err, "draft", q.draft.ID)
	}
	redirect(w, r, stepURL(q.draft.ID, quotes.StepPolicy))
	return nil
}

// settleDraft saves the draft's step and title as they now are (done,
// with its policy), reading it again if another save came first.
func (h *Handlers) settleDraft(ctx context.Context, q *quote) error {
	for attempt := 0; ; attempt++ {
		fresh, err := h.loadQuote(ctx, q.account, q.draft.ID)
		if err != nil {
			return err
		}
		*q = *fresh
		if q.draft.Step == q.progress() && q.draft.Title == q.title() {
			return nil
		}
		err = h.saveQuote(ctx, q)
		if err == nil || !errors.Is(err, quotes.ErrConflict) || attempt == 2 {
			return err
		}
	}
}

// expired answers an ended partner session met inside a recorded
// reply: back to the partner sign-in, then to the form.
func (c *Conversions) expired(w http.ResponseWriter, r *http.Request, err error, next string) error {
	if !errors.Is(err, casco.ErrSessionExpired) {
		return err
	}
	c.h.sessions.SignOutCasco(r.Context())
	return partnerSignInTo(w, r, next)
}

// holderName is the policyholder's name, for the audit log.
func (q *quote) holderName() string {
	if q.owner.Kind == "company" {
		return q.owner.CompanyName
	}
	return strings.TrimSpace(q.owner.FirstName + " " + q.owner.LastName)
}

// formView builds the payment form of off.
func (c *Conversions) formView(r *http.Request, q *quote, off quotes.Offer, in paymentInput, token string) cascoviews.PolicyView {
	ctx := r.Context()
	f := format.New(i18n.Lang(ctx))
	up := offerDetails(off)
	self := stepURL(q.draft.ID, quotes.StepPolicy) + "?offer=" + url.QueryEscape(off.OfferID)
	v := cascoviews.PolicyView{
		StepPage: c.h.stepPage(r, q, quotes.StepPolicy, self),
		Mode:     "form",
		OfferID:  off.OfferID, Provider: providerName(off.Provider),
		Premium:      money(f, up.PremiumAmount, up.Currency),
		Expiry:       dateText(f, up.OfferExpiryDate),
		Installments: installmentLines(ctx, f, up.Installments, up.Currency),
		Token:        token, Method: in.Method, Amount: in.Amount, Date: in.Date, DocumentNumber: in.DocumentNumber,
		Currency:  up.Currency,
		Methods:   enumOptions("casco.payment.", paymentMethods, in.Method),
		Today:     c.h.bucharestToday().Format(time.DateOnly),
		OffersURL: stepURL(q.draft.ID, quotes.StepOffers),
	}
	v.Action = stepURL(q.draft.ID, quotes.StepPolicy)
	if len(up.Installments) > 1 {
		v.AmountHint = i18n.T(ctx, "casco.policy.amount_allowed_installment", "Premium", money(f, up.PremiumAmount, up.Currency),
			"First", money(f, up.Installments[0].Amount, up.Currency))
	} else {
		v.AmountHint = i18n.T(ctx, "casco.policy.amount_allowed", "Premium", money(f, up.PremiumAmount, up.Currency))
	}
	return v
}

// issuedView shows the policy the quote became.
func (c *Conversions) issuedView(r *http.Request, q *quote) cascoviews.PolicyView {
	ctx := r.Context()
	f := format.New(i18n.Lang(ctx))
	p := q.policies[0]
	var up casco.Policy
	_ = json.Unmarshal(p.Body, &up)
	v := cascoviews.PolicyView{
		StepPage:     c.h.stepPage(r, q, quotes.StepPolicy, stepURL(q.draft.ID, quotes.StepPolicy)),
		Mode:         "issued",
		OfferID:      p.OfferID,
		Provider:     providerName(p.Provider),
		Series:       p.Series,
		Number:       p.Number,
		PolicyPDFURL: policyPDFURL(p.Series, p.Number),
		Premium:      money(f, up.PremiumAmount, up.Currency),
		OffersURL:    stepURL(q.draft.ID, quotes.StepOffers),
	}
	// The page is the policy itself: no need to say the quote is done.
	v.Locked = false
	if up.StartDate != "" && up.EndDate != "" {
		v.Period = dateText(f, up.StartDate) + " – " + dateText(f, up.EndDate)
	}
	return v
}

// noSeries stands for an empty series in a policy's PDF address.
const noSeries = "~"

// policyPDFURL is the address of a policy's PDF; series contain "/"
// ("GRP/CL"), which stays inside its path segment escaped.
func policyPDFURL(series, number string) string {
	if series == "" {
		series = noSeries
	}
	return "/casco/policies/" + url.PathEscape(series) + "/" + url.PathEscape(number) + "/pdf"
}

// PDF handles GET /casco/policies/{series}/{number}/pdf: the document of
// a policy this partner account issued here.
func (c *Conversions) PDF(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	account, err := c.h.partnerAccount(ctx)
	if err != nil {
		return err
	}
	series, number := r.PathValue("series"), r.PathValue("number")
	if series == noSeries {
		series = ""
	}
	p, err := c.h.quotes.PolicyByNumber(ctx, account, series, number)
	if errors.Is(err, quotes.ErrNotFound) || errors.Is(err, quotes.ErrInvalid) {
		return errNotFound
	}
	if err != nil {
		return err
	}
	n, err := strconv.ParseInt(p.Number, 10, 64)
	if err != nil || n <= 0 || p.Series == "" {
		return errNotFound
	}
	s, err := c.h.partnerCasco(ctx)
	if err != nil {
		return err
	}
	doc, err := s.PolicyDocument(ctx, p.Series, n)
	if err != nil {
		return err
	}
	return streamPDF(w, doc, "casco-policy-"+fileSafe(p.Series)+"-"+p.Number+".pdf")
}

// keyedLocks serialises work per key (an account's offer), so that two
// requests converting the same offer in this process run one after the
// other. Unused keys are dropped.
type keyedLocks struct {
	mu sync.Mutex
	m  map[string]*keyedLock
}

type keyedLock struct {
	mu    sync.Mutex
	users int
}

func (k *keyedLocks) lock(key string) (unlock func()) {
	k.mu.Lock()
	if k.m == nil {
		k.m = map[string]*keyedLock{}
	}
	l := k.m[key]
	if l == nil {
		l = &keyedLock{}
		k.m[key] = l
	}
	l.users++
	k.mu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		k.mu.Lock()
		l.users--
		if l.users == 0 {
			delete(k.m, key)
		}
		k.mu.Unlock()
	}
}
