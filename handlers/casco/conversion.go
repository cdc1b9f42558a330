package casco

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"backoffice/apiclient"
	cascoapi "backoffice/apiclient/casco"
	"backoffice/handlers"
	"backoffice/internal/audit"
	"backoffice/internal/format"
	"backoffice/internal/i18n"
	"backoffice/internal/paths"
	"backoffice/internal/quotes"
	cascoviews "backoffice/views/casco"
	"backoffice/views/layout"
)

// Conversions serve step 5 of a quote: the chosen offer, paid, becomes
// a policy (once, however often the form is sent), and the policy's
// PDF.
type Conversions struct {
	h     *Handlers
	locks keyedLocks
}

// conversion is what a policy form's token stands for: the offer of the
// draft it was opened for.
type conversion struct {
	DraftID string `json:"draft_id"`
	OfferID string `json:"offer_id"`
}

// paymentMethods are the contract's payment methods (CascoApi, from the
// sibling RCA API).
var paymentMethods = []string{cascoapi.PaymentReceipt, cascoapi.PaymentBrokerReceipt, cascoapi.PaymentOrder, cascoapi.PaymentBrokerPaymentOrder, cascoapi.PaymentPOS}

// paymentInput is the payment form.
type paymentInput struct {
	Method, Amount, Date, DocumentNumber string
}

func readPayment(r *http.Request) paymentInput {
	f := r.PostForm
	return paymentInput{
		Method:         handlers.FormValue(f, "method"),
		Amount:         handlers.FormValue(f, "amount"),
		Date:           handlers.FormValue(f, "date"),
		DocumentNumber: handlers.FormValue(f, "document_number"),
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

// offerDetails is an offer as the upstream sent it.
func offerDetails(o quotes.Offer) cascoapi.Offer {
	var up cascoapi.Offer
	_ = json.Unmarshal(o.Body, &up)
	if up.Currency == "" {
		up.Currency = "RON"
	}
	return up
}

// checkPayment checks the payment against the offer: the amount is its
// premium (or its first installment), the date not in the future.
func (c *Conversions) checkPayment(ctx context.Context, in paymentInput, off cascoapi.Offer) map[string]string {
	ch := handlers.NewChecker(ctx)
	ch.OneOf("method", in.Method, true, paymentMethods)
	if minor, ok := ch.Money("amount", in.Amount, true, 1, maxMarketValue, parseMinor, showMinor); ok {
		amount := cascoapi.FromMinorUnits(minor)
		match := amount.Equal(off.PremiumAmount)
		if len(off.Installments) > 1 && amount.Equal(off.Installments[0].Amount) {
			match = true
		}
		if !match {
			ch.Fail("amount", "casco.error.amount_offer")
		}
	}
	if d, ok := ch.Date("date", in.Date, true); ok && d.After(c.h.core.Zones.Today(cascoZone)) {
		ch.Fail("date", "casco.error.date_future")
	}
	ch.Text("document_number", in.DocumentNumber, true, 64)
	return ch.Errors()
}

// Form handles GET /casco/drafts/{id}/policy?offer=…: the payment form of
// the chosen offer, or the policy the quote became.
func (c *Conversions) Form(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	q, err := c.h.requestQuote(r)
	if err != nil {
		return err
	}
	if q.Locked() {
		return handlers.Render(w, r, http.StatusOK, cascoviews.PolicyPage(c.issuedView(r, q)))
	}
	if guardStep(w, r, q, quotes.StepPolicy) {
		return nil
	}
	off, ok := q.Offer(r.URL.Query().Get("offer"))
	if !ok {
		http.Redirect(w, r, paths.DraftStep(q.Draft.ID, quotes.StepOffers), http.StatusSeeOther)
		return nil
	}
	up := offerDetails(off)
	in := paymentInput{Amount: up.PremiumAmount.String(), Date: c.h.core.Zones.Today(cascoZone).Format(time.DateOnly)}
	token, err := c.openForm(ctx, q, off)
	if err != nil {
		return err
	}
	v := c.formView(r, q, off, in, token)
	if !off.ExpiresAt.IsZero() && !time.Now().Before(off.ExpiresAt) {
		(&alert{text: i18n.T(ctx, "casco.policy.offer_expired"), tone: layout.ToneWarning}).on(&v.StepPage)
	}
	return handlers.Render(w, r, http.StatusOK, cascoviews.PolicyPage(v))
}

// openForm opens a one-time form for converting off.
func (c *Conversions) openForm(ctx context.Context, q *quotes.Quote, off quotes.Offer) (string, error) {
	return handlers.OpenForm(ctx, c.h.core.Forms, c.h.formOwner(ctx, q.Account), handlers.FormConvert, q.Draft.ID+"/"+off.OfferID,
		conversion{DraftID: q.Draft.ID, OfferID: off.OfferID})
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
	if err := handlers.ParseForm(w, r); err != nil {
		return err
	}
	if q.Locked() {
		// Converted already (this form, or another): the policy.
		handlers.Redirect(w, r, paths.DraftStep(q.Draft.ID, quotes.StepPolicy))
		return nil
	}
	if guardStep(w, r, q, quotes.StepPolicy) {
		return nil
	}
	off, ok := q.Offer(r.PostForm.Get("offer"))
	if !ok {
		handlers.Redirect(w, r, paths.DraftStep(q.Draft.ID, quotes.StepOffers))
		return nil
	}
	in := readPayment(r)
	token := r.PostForm.Get("token")
	opened, ok, err := handlers.LoadForm[conversion](ctx, c.h.core.Forms, token, c.h.formOwner(ctx, q.Account), handlers.FormConvert)
	if err != nil {
		return err
	}
	if !ok || opened.DraftID != q.Draft.ID || opened.OfferID != off.OfferID {
		return c.expiredForm(w, r, q, off, in)
	}
	if errs := c.checkPayment(ctx, in, offerDetails(off)); len(errs) > 0 {
		v := c.formView(r, q, off, in, token)
		v.Errors = errs
		return handlers.Render(w, r, http.StatusUnprocessableEntity, cascoviews.PolicyPage(v))
	}
	err = c.h.core.SendOnce(w, r, handlers.Submission{
		Token: token, Kind: handlers.FormConvert,
		Input:   strings.Join([]string{off.OfferID, in.Method, in.Amount, in.Date, in.DocumentNumber}, "\x00"),
		Send:    func(w http.ResponseWriter, r *http.Request) error { return c.issue(w, r, q, off, in) },
		Pending: func(w http.ResponseWriter, r *http.Request) error { return c.unknown(w, r, q, off, in, "") },
		// Another payment for an offer already sent: it converts once,
		// so the quote's state (the policy, or the form) is the answer.
		Differs: func(w http.ResponseWriter, r *http.Request) error {
			handlers.Redirect(w, r, paths.DraftStep(q.Draft.ID, quotes.StepPolicy))
			return nil
		},
	})
	if errors.Is(err, handlers.ErrFormExpired) {
		// It expired while being checked: as if it had before.
		return c.expiredForm(w, r, q, off, in)
	}
	return err
}

// expiredForm answers a form whose token is no longer good (expired,
// from before a restart, or opened for another offer): the same input on
// a fresh form, with a warning.
func (c *Conversions) expiredForm(w http.ResponseWriter, r *http.Request, q *quotes.Quote, off quotes.Offer, in paymentInput) error {
	token, err := c.openForm(r.Context(), q, off)
	if err != nil {
		return err
	}
	v := c.formView(r, q, off, in, token)
	(&alert{text: i18n.T(r.Context(), "casco.error.form_expired"), tone: layout.ToneWarning}).on(&v.StepPage)
	return handlers.Render(w, r, http.StatusConflict, cascoviews.PolicyPage(v))
}

// issue converts the offer upstream, once, records the policy and the
// audit entry, and answers with the policy page (or the form and what
// went wrong).
func (c *Conversions) issue(w http.ResponseWriter, r *http.Request, q *quotes.Quote, off quotes.Offer, in paymentInput) error {
	ctx := r.Context()
	formURL := paths.DraftPolicyForm(q.Draft.ID, off.OfferID)
	unlock := c.locks.lock(q.Account + "\x00" + off.OfferID)
	defer unlock()
	// Converted meanwhile (another tab): that policy is the answer.
	if done, err := c.h.quotes.Policies(ctx, q.Account, q.Draft.ID); err != nil {
		return err
	} else if len(done) > 0 {
		handlers.Redirect(w, r, paths.DraftStep(q.Draft.ID, quotes.StepPolicy))
		return nil
	}
	s, err := c.h.partnerCasco(ctx)
	if err != nil {
		return c.h.toPartnerSignIn(w, r, err, formURL)
	}
	up := offerDetails(off)
	offerID, _ := strconv.ParseInt(off.OfferID, 10, 64)
	amount, _ := quotes.ParseAmount(in.Amount)
	req := cascoapi.PolicyRequest{OfferID: offerID, Payment: cascoapi.Payment{
		Method: in.Method, Currency: up.Currency, Amount: amount, Date: in.Date, DocumentNumber: in.DocumentNumber,
	}}
	issued, err := s.IssuePolicy(ctx, req)
	entry := audit.Entry{Action: audit.ActionConvert, Reference: off.OfferID, Holder: handlers.Truncate(q.HolderName(), 200),
		Tenant: audit.PartnerTenant(q.Account)}
	if err == nil {
		p := issued.Policies[0]
		entry.Outcome, entry.UpstreamStatus, entry.UpstreamRequestID = audit.OutcomeCompleted, http.StatusOK, issued.RequestID
		entry.Message = strings.TrimSpace(p.Series + " " + strconv.FormatInt(p.Number, 10))
		entry.Actor = q.Account
		c.h.core.RecordAction(ctx, c.h.audit, entry, nil)
		return c.record(w, r, q, off, p)
	}
	entry.Actor = q.Account
	c.h.core.RecordAction(ctx, c.h.audit, entry, err)
	if errors.Is(err, cascoapi.ErrSessionExpired) {
		return c.h.toPartnerSignIn(w, r, err, formURL)
	}
	// The form stays, with a new token: this one has its answer.
	token, terr := c.openForm(ctx, q, off)
	if terr != nil {
		return terr
	}
	v := c.formView(r, q, off, in, token)
	v.AlertRequestID = handlers.UpstreamRequestID(err)
	v.AlertTone = layout.ToneError
	switch fields := handlers.UpstreamFields(err); {
	case fields != nil:
		v.Alert, v.Errors = upstreamSays(ctx, mapUpstreamFields(fields, paymentFieldFor))
		if v.Alert == "" {
			v.Alert = i18n.T(ctx, "casco.policy.refused")
		}
		return handlers.Render(w, r, http.StatusUnprocessableEntity, cascoviews.PolicyPage(v))
	case errors.Is(err, cascoapi.ErrProvider):
		// "Policy already issued for this offer": when this dashboard
		// recorded that policy (another tab, another instance, a first
		// submission whose answer the browser never got), it is the
		// answer, series, number and PDF included.
		if issued, ok, ierr := c.recordedPolicy(ctx, q, off); ierr == nil && ok {
			c.h.core.Log.InfoContext(ctx, "offer already converted here; showing the recorded policy", "draft", q.Draft.ID, "offer", off.OfferID, "number", issued.Number)
			return c.settled(w, r, q)
		}
		v.Alert = i18n.T(ctx, "casco.policy.provider_refused", "Message", handlers.UpstreamMessage(err))
		return handlers.Render(w, r, http.StatusUnprocessableEntity, cascoviews.PolicyPage(v))
	case errors.Is(err, apiclient.ErrNotFound):
		v.Alert = i18n.T(ctx, "casco.policy.offer_unknown")
		return handlers.Render(w, r, http.StatusConflict, cascoviews.PolicyPage(v))
	}
	// No usable answer (a timeout, a 5xx, garbage): nobody knows whether
	// the insurer issued it.
	return c.unknown(w, r, q, off, in, v.AlertRequestID)
}

// unknown answers a conversion whose outcome nobody knows (no usable
// answer came, or the form's first submission is still out or was lost
// with its instance): the form again, on a new token, saying so. Sending
// again cannot make a second policy: the offer converts once upstream,
// and "already issued" finds the policy recorded here.
func (c *Conversions) unknown(w http.ResponseWriter, r *http.Request, q *quotes.Quote, off quotes.Offer, in paymentInput, requestID string) error {
	ctx := r.Context()
	token, err := c.openForm(ctx, q, off)
	if err != nil {
		return err
	}
	v := c.formView(r, q, off, in, token)
	(&alert{text: i18n.T(ctx, "casco.policy.unknown"), tone: layout.ToneWarning, requestID: requestID}).on(&v.StepPage)
	return handlers.Render(w, r, http.StatusBadGateway, cascoviews.PolicyPage(v))
}

// recordedPolicy is the policy this dashboard recorded for off, if any.
func (c *Conversions) recordedPolicy(ctx context.Context, q *quotes.Quote, off quotes.Offer) (quotes.Policy, bool, error) {
	done, err := c.h.quotes.Policies(ctx, q.Account, q.Draft.ID)
	if err != nil {
		return quotes.Policy{}, false, err
	}
	for _, p := range done {
		if p.OfferID == off.OfferID {
			return p, true, nil
		}
	}
	return quotes.Policy{}, false, nil
}

// record keeps the issued policy (the first one, should another request
// have recorded one for the offer), marks the quote done and shows it.
func (c *Conversions) record(w http.ResponseWriter, r *http.Request, q *quotes.Quote, off quotes.Offer, p cascoapi.Policy) error {
	// On a context of its own: the insurer issued the policy, and the
	// write's deadline running out must not leave it unrecorded.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), recordTimeout)
	defer cancel()
	r = r.WithContext(ctx)
	log := c.h.core.Log
	body, err := json.Marshal(p)
	if err != nil {
		return err
	}
	provider := p.Provider.Organization.BusinessName
	if provider == "" {
		provider = off.Provider
	}
	_, err = c.h.quotes.RecordPolicy(ctx, q.Account, quotes.Policy{
		DraftID: q.Draft.ID, OfferID: off.OfferID, Provider: provider,
		Series: p.Series, Number: strconv.FormatInt(p.Number, 10), Body: body,
	})
	if err != nil && !errors.Is(err, quotes.ErrExists) {
		log.ErrorContext(ctx, "recording an issued CASCO policy failed", "err", err, "draft", q.Draft.ID,
			"offer", off.OfferID, "series", p.Series, "number", p.Number)
		return err
	}
	return c.settled(w, r, q)
}

// recordTimeout bounds recording an issued policy.
const recordTimeout = 5 * time.Second

// settled marks the quote done with its recorded policy and shows it.
func (c *Conversions) settled(w http.ResponseWriter, r *http.Request, q *quotes.Quote) error {
	if err := quotes.Settle(r.Context(), c.h.quotes, q); err != nil {
		// The policy is recorded; the history shows the step next time.
		c.h.core.Log.WarnContext(r.Context(), "marking a CASCO draft done failed", "err", err, "draft", q.Draft.ID)
	}
	handlers.Redirect(w, r, paths.DraftStep(q.Draft.ID, quotes.StepPolicy))
	return nil
}

// formView builds the payment form of off.
func (c *Conversions) formView(r *http.Request, q *quotes.Quote, off quotes.Offer, in paymentInput, token string) cascoviews.PolicyView {
	ctx := r.Context()
	f := format.New(i18n.Lang(ctx))
	up := offerDetails(off)
	v := cascoviews.PolicyView{
		StepPage: c.h.stepPage(r, q, quotes.StepPolicy, paths.DraftPolicyForm(q.Draft.ID, off.OfferID)),
		Mode:     cascoviews.PolicyForm,
		OfferID:  off.OfferID, Provider: providerName(off.Provider),
		Premium:      money(f, up.PremiumAmount, up.Currency),
		Expiry:       dateText(f, up.OfferExpiryDate),
		Installments: installmentLines(ctx, f, up.Installments, up.Currency),
		Token:        token, Method: in.Method, Amount: in.Amount, Date: in.Date, DocumentNumber: in.DocumentNumber,
		Currency:  up.Currency,
		Methods:   enumOptions("casco.payment.", paymentMethods, in.Method),
		Today:     c.h.core.Zones.Today(cascoZone).Format(time.DateOnly),
		OffersURL: paths.DraftStep(q.Draft.ID, quotes.StepOffers),
	}
	if len(up.Installments) > 1 {
		v.AmountHint = i18n.T(ctx, "casco.policy.amount_allowed_installment", "Premium", money(f, up.PremiumAmount, up.Currency),
			"First", money(f, up.Installments[0].Amount, up.Currency))
	} else {
		v.AmountHint = i18n.T(ctx, "casco.policy.amount_allowed", "Premium", money(f, up.PremiumAmount, up.Currency))
	}
	return v
}

// issuedView shows the policy the quote became.
func (c *Conversions) issuedView(r *http.Request, q *quotes.Quote) cascoviews.PolicyView {
	f := format.New(i18n.Lang(r.Context()))
	p := q.Policies[0]
	var up cascoapi.Policy
	_ = json.Unmarshal(p.Body, &up)
	v := cascoviews.PolicyView{
		StepPage:     c.h.stepPage(r, q, quotes.StepPolicy, paths.DraftStep(q.Draft.ID, quotes.StepPolicy)),
		Mode:         cascoviews.PolicyIssued,
		OfferID:      p.OfferID,
		Provider:     providerName(p.Provider),
		Series:       p.Series,
		Number:       p.Number,
		PolicyPDFURL: paths.CascoPolicyPDF(p.Series, p.Number),
		Premium:      money(f, up.PremiumAmount, up.Currency),
		OffersURL:    paths.DraftStep(q.Draft.ID, quotes.StepOffers),
	}
	// The page is the policy itself: no need to say the quote is done.
	v.Locked = false
	if up.StartDate != "" && up.EndDate != "" {
		v.Period = dateText(f, up.StartDate) + " – " + dateText(f, up.EndDate)
	}
	return v
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
	if series == paths.NoSeries {
		series = ""
	}
	p, err := c.h.quotes.PolicyByNumber(ctx, account, series, number)
	if errors.Is(err, quotes.ErrNotFound) || errors.Is(err, quotes.ErrInvalid) {
		return handlers.ErrNotFound
	}
	if err != nil {
		return err
	}
	n, err := strconv.ParseInt(p.Number, 10, 64)
	if err != nil || n <= 0 || p.Series == "" {
		return handlers.ErrNotFound
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
