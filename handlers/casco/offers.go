package casco

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	cascoapi "backoffice/apiclient/casco"
	"backoffice/handlers"
	"backoffice/internal/format"
	"backoffice/internal/i18n"
	"backoffice/internal/paths"
	"backoffice/internal/quotes"
	cascoviews "backoffice/views/casco"
	"backoffice/views/layout"
)

// Offers serves step 4 of a quote: asking the chosen insurers at once,
// the offers side by side, and each offer's PDF.
type Offers struct {
	h *Handlers
}

// failedOffer is the Body of a provider that made no offer: why, as a
// catalogue key when the reason is ours to word (the upstream's own
// refusals keep their message in Offer.Error).
type failedOffer struct {
	ErrorKey  string `json:"error_key,omitempty"`
	RequestID string `json:"request_id,omitempty"`
}

// List handles GET /casco/drafts/{id}/offers.
func (o *Offers) List(w http.ResponseWriter, r *http.Request) error {
	q, err := o.h.openStep(w, r, quotes.StepOffers)
	if err != nil || q == nil {
		return err
	}
	v, err := o.view(r, q)
	if err != nil {
		return err
	}
	if handlers.IsHTMX(r) && r.Header.Get("HX-Target") == pollTarget {
		return handlers.Render(w, r, http.StatusOK, cascoviews.OffersTable(v))
	}
	return handlers.Render(w, r, http.StatusOK, cascoviews.OffersPage(v))
}

// offersState is what an offers form's token stands for: asking for the
// offers of this draft as it is.
type offersState struct {
	DraftID string `json:"draft_id"`
}

// Ask handles POST /casco/drafts/{id}/offers: every chosen insurer is
// asked at once; their offers, and the failures of those that made
// none, replace the previous ones. Messages about the input go back to
// the step and field they are about. A form asks once, however often it
// is sent: the insurers are not asked again by a double click.
func (o *Offers) Ask(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	q, err := o.openPost(w, r)
	if err != nil || q == nil {
		return err
	}
	token := r.PostForm.Get("token")
	st, ok, err := handlers.LoadForm[offersState](ctx, o.h.core.Forms, token, o.h.formOwner(ctx, q.Account), handlers.FormOffers)
	if err != nil {
		return err
	}
	if !ok || st.DraftID != q.Draft.ID {
		return o.stale(w, r, q, "casco.error.form_expired", http.StatusConflict)
	}
	// The form has no fields: every sending asks the same.
	return o.sendOnce(w, r, q, token, handlers.FormOffers, func(w http.ResponseWriter, r *http.Request) error { return o.ask(w, r, q) })
}

// openPost opens the offers step for a POST and reads its form; a draft
// already made a policy answers 409 with the offers as they are (q nil
// then, as when openStep has answered).
func (o *Offers) openPost(w http.ResponseWriter, r *http.Request) (*quotes.Quote, error) {
	q, err := o.h.openStep(w, r, quotes.StepOffers)
	if err != nil || q == nil {
		return nil, err
	}
	if err := handlers.ParseForm(w, r); err != nil {
		return nil, err
	}
	if !q.Locked() {
		return q, nil
	}
	v, err := o.view(r, q)
	if err != nil {
		return nil, err
	}
	lockedAlert(r.Context()).on(&v.StepPage)
	return nil, handlers.Render(w, r, http.StatusConflict, cascoviews.OffersPage(v))
}

// sendOnce sends an offers-page form (token, of kind) once, whatever
// the browser does: every other submission gets the first one's answer,
// or the offers as stored when that answer is not in yet.
func (o *Offers) sendOnce(w http.ResponseWriter, r *http.Request, q *quotes.Quote, token, kind string, send handlers.Func) error {
	pending := func(w http.ResponseWriter, r *http.Request) error {
		return o.stale(w, r, q, "casco.offers.pending", http.StatusAccepted)
	}
	err := o.h.core.SendOnce(w, r, handlers.Submission{Token: token, Kind: kind, Send: send, Pending: pending, Differs: pending})
	if errors.Is(err, handlers.ErrFormExpired) {
		return o.stale(w, r, q, "casco.error.form_expired", http.StatusConflict)
	}
	return err
}

// stale shows the offers as stored, on a fresh form, with a warning
// (key): the form had expired, or its first submission is still asking.
func (o *Offers) stale(w http.ResponseWriter, r *http.Request, q *quotes.Quote, key string, status int) error {
	v, err := o.view(r, q)
	if err != nil {
		return err
	}
	(&alert{text: i18n.T(r.Context(), key), tone: layout.ToneWarning}).on(&v.StepPage)
	return handlers.Render(w, r, status, cascoviews.OffersPage(v))
}

// ask asks the insurers, keeps their answers and says where to go: the
// one upstream exchange of an offers form, detached from the browser.
func (o *Offers) ask(w http.ResponseWriter, r *http.Request, q *quotes.Quote) error {
	ctx := r.Context()
	self := paths.DraftStep(q.Draft.ID, quotes.StepOffers)
	reqs, err := quoteRequests(q)
	if err != nil {
		return err
	}
	s, err := o.h.partnerCasco(ctx)
	if err != nil {
		return o.h.toPartnerSignIn(w, r, err, self)
	}
	results := s.QuoteAll(ctx, reqs)
	for _, res := range results {
		if errors.Is(res.Err, cascoapi.ErrSessionExpired) {
			return o.h.toPartnerSignIn(w, r, res.Err, self)
		}
	}

	// Messages about fields: onto the steps, and back to the first.
	if msgs := fieldMessages(results, q.Owner.IsCompany()); len(msgs) > 0 {
		step, err := quotes.KeepUpstreamMessages(ctx, o.h.quotes, q, msgs)
		if err != nil {
			return pageErr(err)
		}
		handlers.Redirect(w, r, paths.DraftStep(q.Draft.ID, step))
		return nil
	}

	var offers []quotes.Offer
	loc := o.h.core.Zones.Location(cascoZone)
	for _, res := range results {
		offers = append(offers, offersOf(res, loc)...)
	}
	if err := o.h.quotes.ReplaceOffers(ctx, q.Account, q.Draft.ID, offers); err != nil {
		return err
	}
	handlers.Redirect(w, r, self)
	return nil
}

// fieldMessages gathers the insurers' messages about the quote's fields
// by step and form field (quotes.KeepUpstreamMessages keeps them); the
// same message from several insurers is said once.
func fieldMessages(results []cascoapi.QuoteResult, company bool) map[string]map[string]string {
	msgs := map[string]map[string]string{}
	for _, res := range results {
		fields := handlers.UpstreamFields(res.Err)
		names := make([]string, 0, len(fields))
		for f := range fields {
			names = append(names, f)
		}
		sort.Strings(names)
		for _, f := range names {
			step, name := upstreamStep(f, company)
			if msgs[step] == nil {
				msgs[step] = map[string]string{}
			}
			m := strings.Join(fields[f], " ")
			if prev, ok := msgs[step][name]; ok && prev != m && name == "" && !strings.Contains(prev, m) {
				m = prev + " " + m
			}
			msgs[step][name] = m
		}
	}
	return msgs
}

// offersOf turns one insurer's answer into stored offers: each of its
// offers, or its failure. Offers expire at the end of their day in loc.
func offersOf(res cascoapi.QuoteResult, loc *time.Location) []quotes.Offer {
	fail := func(msg, key string, err error) []quotes.Offer {
		body, _ := json.Marshal(failedOffer{ErrorKey: key, RequestID: handlers.UpstreamRequestID(err)})
		return []quotes.Offer{{Provider: res.Provider, Error: msg, Body: body}}
	}
	switch {
	case errors.Is(res.Err, cascoapi.ErrProvider) && handlers.UpstreamMessage(res.Err) != "":
		return fail(handlers.UpstreamMessage(res.Err), "", res.Err)
	case res.Err != nil:
		return fail("no answer from the insurer", "casco.offers.error.unavailable", res.Err)
	case res.Quote == nil || len(res.Quote.Offers) == 0:
		return fail("no offer", "casco.offers.error.none", nil)
	}
	var out []quotes.Offer
	for _, off := range res.Quote.Offers {
		if off.OfferID <= 0 {
			continue
		}
		body, err := json.Marshal(off)
		if err != nil {
			continue
		}
		o := quotes.Offer{Provider: res.Provider, OfferID: strconv.FormatInt(off.OfferID, 10), Body: body}
		if day, err := time.Parse(time.DateOnly, off.OfferExpiryDate); err == nil {
			next := day.AddDate(0, 0, 1)
			o.ExpiresAt = time.Date(next.Year(), next.Month(), next.Day(), 0, 0, 0, 0, loc)
		}
		out = append(out, o)
	}
	if len(out) == 0 {
		return fail("no offer", "casco.offers.error.none", nil)
	}
	return out
}

// upstreamStep finds the step, and the field on it, that a CascoApi
// quote field is about. Fields the forms do not have land above the
// step's form ("product.policyholder.address.floor": the policyholder).
func upstreamStep(field string, company bool) (step, name string) {
	switch {
	case strings.HasPrefix(field, "product.vehicle."):
		return quotes.StepVehicle, vehicleFieldFor(field)
	case strings.HasPrefix(field, "product.policyholder."):
		return quotes.StepOwner, ownerFieldFor(company)(field)
	default:
		return quotes.StepCover, coverFieldFor(field)
	}
}

// quoteRequests are the CascoApi requests of a quote whose three forms
// are done: one per chosen insurer.
func quoteRequests(q *quotes.Quote) ([]cascoapi.QuoteRequest, error) {
	v, o, c := q.Vehicle, q.Owner, q.Cover
	vehicle := cascoapi.Vehicle{
		LicensePlate: v.Plate, RegistrationType: v.Registration, VIN: v.VIN, VehicleType: v.VehicleType,
		Brand: v.Make, Model: v.Model, YearOfConstruction: atoi(v.Year), FuelType: v.Fuel, Color: v.Color,
		CurrentMileage: atoi(v.Mileage), MarketValue: marketValue(v),
	}
	vehicle.EnginePower, vehicle.Seats, vehicle.EngineDisplacement = engine(v)
	holder := cascoapi.Policyholder{Email: o.Email, MobileNumber: o.Phone}
	address := &cascoapi.Address{Country: o.Country, Street: o.Street, HouseNumber: o.HouseNumber, Postcode: o.Postcode}
	if o.Country == "RO" {
		address.County, address.City = o.County, o.Locality
	} else {
		address.City = o.City
	}
	holder.Address = address
	if o.IsCompany() {
		holder.IsLegalEntity, holder.BusinessName, holder.CompanyRegistryNumber, holder.TaxID = true, o.CompanyName, o.RegistryNumber, o.CUI
	} else {
		holder.FirstName, holder.LastName, holder.TaxID, holder.Birthdate = o.FirstName, o.LastName, o.CNP, o.BirthDate
		if cnpMale(o.CNP) {
			holder.Gender = "m"
		} else if o.CNP != "" {
			holder.Gender = "f"
		}
		if o.LicenceDate != "" {
			holder.DrivingLicense = &cascoapi.DrivingLicense{IssueDate: o.LicenceDate}
		}
		holder.Identification = &cascoapi.Identification{IDType: o.IDType, IDNumber: o.IDNumber}
	}
	partial, err := cascoapi.ParseDecimal(c.Partial)
	if err != nil {
		partial = cascoapi.Decimal{}
	}
	total, err := cascoapi.ParseDecimal(c.Total)
	if err != nil {
		total = cascoapi.Decimal{}
	}
	motor := cascoapi.Motor{
		StartDate: c.StartDate, TermTime: atoi(c.Term), InstallmentCount: atoi(c.Installments), Currency: "RON",
		Deductibles: &cascoapi.Deductibles{PartialDamage: &partial, TotalDamage: &total},
	}
	var coverages []cascoapi.Coverage
	if sum, ok := quotes.ParseAmount(c.InsuredSum); ok && c.InsuredSum != "" {
		coverages = []cascoapi.Coverage{{IsIncluded: true, Code: "vehicle", InsuredSum: &sum}}
	}
	var reqs []cascoapi.QuoteRequest
	for _, p := range c.Providers {
		product := cascoapi.ProductCasco
		if p == cascoapi.ProviderGroupama {
			product = cascoapi.ProductCascoLeasing
		}
		reqs = append(reqs, cascoapi.QuoteRequest{
			Provider: cascoapi.Provider{Organization: cascoapi.Organization{BusinessName: p}},
			Product:  cascoapi.Product{Name: product, Motor: motor, Coverages: coverages, Policyholder: holder, Vehicle: vehicle},
		})
	}
	if len(reqs) == 0 {
		return nil, &handlers.Error{Status: http.StatusConflict, MessageKey: "casco.error.providers"}
	}
	return reqs, nil
}

// cnpMale reads the sex from a CNP's first digit (odd: male).
func cnpMale(cnp string) bool {
	return cnp != "" && (cnp[0]-'0')%2 == 1
}

// money formats an upstream amount in the user's language.
func money(f *format.Formatter, d cascoapi.Decimal, currency string) string {
	if currency == "" {
		currency = "RON"
	}
	if minor, ok := d.MinorUnits(); ok {
		return f.Money(minor, currency)
	}
	return d.String() + " " + currency
}

// dateText formats a "YYYY-MM-DD" date, or shows it as it came.
func dateText(f *format.Formatter, s string) string {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return f.Date(t)
	}
	return s
}

// installmentLines are "amount · due date" for each installment.
func installmentLines(ctx context.Context, f *format.Formatter, list []cascoapi.Installment, currency string) []string {
	var out []string
	for _, in := range list {
		out = append(out, i18n.T(ctx, "casco.offers.installment", "Amount", money(f, in.Amount, currency), "Due", dateText(f, in.DueDate)))
	}
	return out
}

// view builds step 4 from the stored offers.
func (o *Offers) view(r *http.Request, q *quotes.Quote) (cascoviews.OffersView, error) {
	ctx := r.Context()
	f := format.New(i18n.Lang(ctx))
	v := cascoviews.OffersView{
		StepPage: o.h.stepPage(r, q, quotes.StepOffers, paths.DraftStep(q.Draft.ID, quotes.StepOffers)),
		Asked:    len(q.Offers) > 0 || len(q.Asks) > 0,
		PollURL:  paths.DraftStep(q.Draft.ID, quotes.StepOffers),
	}
	if !q.Locked() {
		// One form per draft version: a double click, or the page in two
		// tabs, asks the insurers once.
		token, err := handlers.OpenForm(ctx, o.h.core.Forms, o.h.formOwner(ctx, q.Account), handlers.FormOffers,
			q.Draft.ID+"@"+strconv.Itoa(q.Draft.Version), offersState{DraftID: q.Draft.ID})
		if err != nil {
			return v, err
		}
		v.Token = token
	}
	providers := make([]string, len(q.Cover.Providers))
	for i, p := range q.Cover.Providers {
		providers[i] = providerName(p)
	}
	vehicle := strings.TrimSpace(q.Vehicle.Make + " " + q.Vehicle.Model + " " + q.Vehicle.Year)
	v.Summary = i18n.T(ctx, "casco.offers.summary", "Vehicle", vehicle, "Start", dateText(f, q.Cover.StartDate), "Term", atoi(q.Cover.Term),
		"Providers", strings.Join(providers, ", "))
	now := time.Now()
	failures := failureIDs(q, now)
	for _, off := range q.Offers {
		v.Columns = append(v.Columns, offerColumn(ctx, f, q, off, now))
	}
	for _, k := range q.Asks {
		col := cascoviews.OfferColumn{Provider: k.Provider, Label: providerName(k.Provider)}
		if k.Stale(now) {
			// Asked too long ago: whoever asked gave up, or is gone.
			col.Error = i18n.T(ctx, "casco.offers.error.unavailable")
		} else {
			col.Asking = true
			v.Polling = true
		}
		v.Columns = append(v.Columns, col)
	}
	for i, c := range v.Columns {
		if c.Error == "" || q.Locked() || !slices.Contains(q.Cover.Providers, c.Provider) {
			continue
		}
		failure := failures[c.Provider]
		token, err := handlers.OpenForm(ctx, o.h.core.Forms, o.h.formOwner(ctx, q.Account), handlers.FormRetry,
			q.Draft.ID+"/"+c.Provider+"/"+failure, retryState{DraftID: q.Draft.ID, Provider: c.Provider, Failure: failure})
		if err != nil {
			return v, err
		}
		v.Columns[i].RetryURL = retryPath(q.Draft.ID, c.Provider)
		v.Columns[i].RetryToken = token
	}
	// The insurers in the table's usual order.
	sort.SliceStable(v.Columns, func(i, j int) bool {
		return slices.Index(cascoProviders, v.Columns[i].Provider) < slices.Index(cascoProviders, v.Columns[j].Provider)
	})
	return v, nil
}

// offerColumn is one stored offer, or one insurer's failure, in the
// offers table.
func offerColumn(ctx context.Context, f *format.Formatter, q *quotes.Quote, off quotes.Offer, now time.Time) cascoviews.OfferColumn {
	col := cascoviews.OfferColumn{Provider: off.Provider, Label: providerName(off.Provider)}
	if off.Error != "" {
		var failed failedOffer
		_ = json.Unmarshal(off.Body, &failed)
		if failed.ErrorKey != "" {
			col.Error = i18n.T(ctx, failed.ErrorKey)
		} else {
			col.Error = i18n.T(ctx, "casco.offers.error.refused", "Message", off.Error)
		}
		return col
	}
	var up cascoapi.Offer
	if err := json.Unmarshal(off.Body, &up); err != nil {
		col.Error = i18n.T(ctx, "casco.offers.error.unreadable")
		return col
	}
	col.OfferID, col.Code = off.OfferID, up.ProviderOfferCode
	col.Premium = money(f, up.PremiumAmount, up.Currency)
	if up.PremiumAmountNet != nil {
		col.Net = money(f, *up.PremiumAmountNet, up.Currency)
	}
	if up.CommissionValue != nil {
		col.Commission = money(f, *up.CommissionValue, up.Currency)
	}
	col.Installments = installmentLines(ctx, f, up.Installments, up.Currency)
	if d := up.Deductibles; d != nil {
		if d.PartialDamage != nil {
			col.Partial = money(f, *d.PartialDamage, up.Currency)
		}
		if d.TotalDamage != nil {
			col.Total = d.TotalDamage.String() + " %"
		}
	}
	col.Expiry = dateText(f, up.OfferExpiryDate)
	col.Expired = !off.ExpiresAt.IsZero() && !now.Before(off.ExpiresAt)
	col.PDFURL = paths.OfferPDF(q.Draft.ID, off.OfferID)
	if !col.Expired && !q.Locked() {
		col.ChooseURL = paths.DraftPolicyForm(q.Draft.ID, off.OfferID)
	}
	return col
}

// PDF handles GET /casco/drafts/{id}/offers/{offerID}/pdf: the offer's
// document, streamed from the CascoApi.
func (o *Offers) PDF(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	q, err := o.h.requestQuote(r)
	if err != nil {
		return err
	}
	off, ok := q.Offer(r.PathValue("offerID"))
	if !ok {
		return handlers.ErrNotFound
	}
	id, err := strconv.ParseInt(off.OfferID, 10, 64)
	if err != nil || id <= 0 {
		return handlers.ErrNotFound
	}
	s, err := o.h.partnerCasco(ctx)
	if err != nil {
		return err
	}
	doc, err := s.OfferDocument(ctx, id)
	if err != nil {
		return err
	}
	return streamPDF(w, doc, "casco-offer-"+fileSafe(off.Provider)+"-"+off.OfferID+".pdf")
}
