package handlers

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"backoffice/apiclient/casco"
	"backoffice/internal/format"
	"backoffice/internal/i18n"
	"backoffice/internal/quotes"
	cascoviews "backoffice/views/casco"
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
	q, err := o.h.requestQuote(r)
	if err != nil {
		return err
	}
	if guardStep(w, r, q, quotes.StepOffers) {
		return nil
	}
	return render(w, r, http.StatusOK, cascoviews.OffersPage(o.view(r, q)))
}

// Ask handles POST /casco/drafts/{id}/offers: every chosen insurer is
// asked at once; their offers, and the failures of those that made
// none, replace the previous ones. Messages about the input go back to
// the step and field they are about.
func (o *Offers) Ask(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	q, err := o.h.requestQuote(r)
	if err != nil {
		return err
	}
	if guardStep(w, r, q, quotes.StepOffers) {
		return nil
	}
	if err := parseForm(w, r); err != nil {
		return err
	}
	self := stepURL(q.draft.ID, quotes.StepOffers)
	if q.locked() {
		v := o.view(r, q)
		lockedAlert(ctx, &v.StepPage)
		return render(w, r, http.StatusConflict, cascoviews.OffersPage(v))
	}
	reqs, err := quoteRequests(q)
	if err != nil {
		return err
	}
	s, err := o.h.partnerCasco(ctx)
	if err != nil {
		return backTo(err, self)
	}
	results := s.QuoteAll(ctx, reqs)
	for _, res := range results {
		if errors.Is(res.Err, casco.ErrSessionExpired) {
			return backTo(res.Err, self)
		}
	}

	// Messages about fields: onto the steps, and back to the first.
	msgs := map[string]map[string]string{}
	for _, res := range results {
		fields, _ := upstreamFields(res.Err)
		names := make([]string, 0, len(fields))
		for f := range fields {
			names = append(names, f)
		}
		sort.Strings(names)
		for _, f := range names {
			step, name := upstreamStep(f, q.owner.Kind)
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
	if len(msgs) > 0 {
		step, err := o.h.keepUpstreamMessages(ctx, q, msgs)
		if err != nil {
			return err
		}
		redirect(w, r, stepURL(q.draft.ID, step))
		return nil
	}

	var offers []quotes.Offer
	for _, res := range results {
		offers = append(offers, offersOf(res)...)
	}
	if err := o.h.quotes.ReplaceOffers(ctx, q.account, q.draft.ID, offers); err != nil {
		return err
	}
	redirect(w, r, self)
	return nil
}

// offersOf turns one insurer's answer into stored offers: each of its
// offers, or its failure.
func offersOf(res casco.QuoteResult) []quotes.Offer {
	fail := func(msg, key string, err error) []quotes.Offer {
		body, _ := json.Marshal(failedOffer{ErrorKey: key, RequestID: upstreamRequestID(err)})
		return []quotes.Offer{{Provider: res.Provider, Error: msg, Body: body}}
	}
	switch {
	case errors.Is(res.Err, casco.ErrProvider) && upstreamMessage(res.Err) != "":
		return fail(upstreamMessage(res.Err), "", res.Err)
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
			o.ExpiresAt = endOfDayBucharest(day)
		}
		out = append(out, o)
	}
	if len(out) == 0 {
		return fail("no offer", "casco.offers.error.none", nil)
	}
	return out
}

// endOfDayBucharest is when a day of Bucharest ends.
func endOfDayBucharest(day time.Time) time.Time {
	loc, err := time.LoadLocation(cascoZone)
	if err != nil {
		loc = time.UTC
	}
	next := day.AddDate(0, 0, 1)
	return time.Date(next.Year(), next.Month(), next.Day(), 0, 0, 0, 0, loc)
}

// upstreamStep finds the step, and the field on it, that a CascoApi
// quote field is about. Fields the forms do not have land above the
// step's form ("product.policyholder.address.floor": the policyholder).
func upstreamStep(field, kind string) (step, name string) {
	switch {
	case strings.HasPrefix(field, "product.vehicle."):
		return quotes.StepVehicle, vehicleFieldFor(field)
	case strings.HasPrefix(field, "product.policyholder."):
		return quotes.StepOwner, ownerFieldFor(kind)(field)
	default:
		return quotes.StepCover, coverFieldFor(field)
	}
}

// keepUpstreamMessages stores the upstream's messages on their steps,
// which are no longer done until saved again, and returns the first of
// them. A concurrent save is met by reading the draft again.
func (h *Handlers) keepUpstreamMessages(ctx context.Context, q *quote, msgs map[string]map[string]string) (string, error) {
	for attempt := 0; ; attempt++ {
		if m, ok := msgs[quotes.StepVehicle]; ok {
			q.vehicle.Upstream, q.vehicle.Done = m, false
		}
		if m, ok := msgs[quotes.StepOwner]; ok {
			q.owner.Upstream, q.owner.Done = m, false
		}
		if m, ok := msgs[quotes.StepCover]; ok {
			q.cover.Upstream, q.cover.Done = m, false
		}
		err := h.saveQuote(ctx, q)
		if err == nil || !errors.Is(err, quotes.ErrConflict) || attempt == 2 {
			for _, s := range []string{quotes.StepVehicle, quotes.StepOwner, quotes.StepCover} {
				if _, ok := msgs[s]; ok {
					return s, err
				}
			}
			return quotes.StepCover, err
		}
		fresh, lerr := h.loadQuote(ctx, q.account, q.draft.ID)
		if lerr != nil {
			return "", lerr
		}
		*q = *fresh
	}
}

// quoteRequests are the CascoApi requests of a quote whose three forms
// are done: one per chosen insurer.
func quoteRequests(q *quote) ([]casco.QuoteRequest, error) {
	atoi := func(s string) int { n, _ := strconv.Atoi(s); return n }
	v, o, c := q.vehicle, q.owner, q.cover
	vehicle := casco.Vehicle{
		LicensePlate: v.Plate, RegistrationType: v.Registration, VIN: v.VIN, VehicleType: v.VehicleType,
		Brand: v.Make, Model: v.Model, YearOfConstruction: atoi(v.Year), FuelType: v.Fuel, Color: v.Color,
		CurrentMileage: atoi(v.Mileage),
	}
	if !isTrailer(v.VehicleType) {
		vehicle.EnginePower, vehicle.Seats = atoi(v.Power), atoi(v.Seats)
		if v.Fuel != "electric" {
			vehicle.EngineDisplacement = atoi(v.Displacement)
		}
	}
	if mv, ok := parseAmount(v.MarketValue); ok {
		vehicle.MarketValue = &mv
	}
	holder := casco.Policyholder{Email: o.Email, MobileNumber: o.Phone}
	address := &casco.Address{Country: o.Country, Street: o.Street, HouseNumber: o.HouseNumber, Postcode: o.Postcode}
	if o.Country == "RO" {
		address.County, address.City = o.County, o.Locality
	} else {
		address.City = o.City
	}
	holder.Address = address
	if o.Kind == "company" {
		holder.IsLegalEntity, holder.BusinessName, holder.CompanyRegistryNumber, holder.TaxID = true, o.CompanyName, o.RegistryNumber, o.CUI
	} else {
		holder.FirstName, holder.LastName, holder.TaxID, holder.Birthdate = o.FirstName, o.LastName, o.CNP, o.BirthDate
		if cnpMale(o.CNP) {
			holder.Gender = "m"
		} else if o.CNP != "" {
			holder.Gender = "f"
		}
		if o.LicenceDate != "" {
			holder.DrivingLicense = &casco.DrivingLicense{IssueDate: o.LicenceDate}
		}
		holder.Identification = &casco.Identification{IDType: o.IDType, IDNumber: o.IDNumber}
	}
	partial, err := casco.ParseDecimal(c.Partial)
	if err != nil {
		partial = casco.Decimal{}
	}
	total, err := casco.ParseDecimal(c.Total)
	if err != nil {
		total = casco.Decimal{}
	}
	motor := casco.Motor{
		StartDate: c.StartDate, TermTime: atoi(c.Term), InstallmentCount: atoi(c.Installments), Currency: "RON",
		Deductibles: &casco.Deductibles{PartialDamage: &partial, TotalDamage: &total},
	}
	var coverages []casco.Coverage
	if sum, ok := parseAmount(c.InsuredSum); ok && c.InsuredSum != "" {
		coverages = []casco.Coverage{{IsIncluded: true, Code: "vehicle", InsuredSum: &sum}}
	}
	var reqs []casco.QuoteRequest
	for _, p := range c.Providers {
		product := casco.ProductCasco
		if p == casco.ProviderGroupama {
			product = casco.ProductCascoLeasing
		}
		reqs = append(reqs, casco.QuoteRequest{
			Provider: casco.Provider{Organization: casco.Organization{BusinessName: p}},
			Product:  casco.Product{Name: product, Motor: motor, Coverages: coverages, Policyholder: holder, Vehicle: vehicle},
		})
	}
	if len(reqs) == 0 {
		return nil, &Error{Status: http.StatusConflict, MessageKey: "casco.error.providers"}
	}
	return reqs, nil
}

// cnpMale reads the sex from a CNP's first digit (odd: male).
func cnpMale(cnp string) bool {
	return cnp != "" && (cnp[0]-'0')%2 == 1
}

// money formats an upstream amount in the user's language.
func money(f *format.Formatter, d casco.Decimal, currency string) string {
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
func installmentLines(ctx context.Context, f *format.Formatter, list []casco.Installment, currency string) []string {
	var out []string
	for _, in := range list {
		out = append(out, i18n.T(ctx, "casco.offers.installment", "Amount", money(f, in.Amount, currency), "Due", dateText(f, in.DueDate)))
	}
	return out
}

// view builds step 4 from the stored offers.
func (o *Offers) view(r *http.Request, q *quote) cascoviews.OffersView {
	ctx := r.Context()
	f := format.New(i18n.Lang(ctx))
	v := cascoviews.OffersView{
		StepPage: o.h.stepPage(r, q, quotes.StepOffers, stepURL(q.draft.ID, quotes.StepOffers)),
		Asked:    len(q.offers) > 0,
	}
	vehicle := strings.TrimSpace(q.vehicle.Make + " " + q.vehicle.Model + " " + q.vehicle.Year)
	v.Summary = i18n.T(ctx, "casco.offers.summary", "Vehicle", vehicle, "Start", dateText(f, q.cover.StartDate), "Term", atoiOr(q.cover.Term),
		"Providers", strings.Join(mapSlice(q.cover.Providers, providerName), ", "))
	now := time.Now()
	for _, off := range q.offers {
		col := cascoviews.OfferColumn{Provider: off.Provider, Label: providerName(off.Provider)}
		if off.Error != "" {
			var failed failedOffer
			_ = json.Unmarshal(off.Body, &failed)
			if failed.ErrorKey != "" {
				col.Error = i18n.T(ctx, failed.ErrorKey)
			} else {
				col.Error = i18n.T(ctx, "casco.offers.error.refused", "Message", off.Error)
			}
			v.Columns = append(v.Columns, col)
			continue
		}
		var up casco.Offer
		if err := json.Unmarshal(off.Body, &up); err != nil {
			col.Error = i18n.T(ctx, "casco.offers.error.unreadable")
			v.Columns = append(v.Columns, col)
			continue
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
		col.PDFURL = stepURL(q.draft.ID, quotes.StepOffers) + "/" + url.PathEscape(off.OfferID) + "/pdf"
		if !col.Expired && !q.locked() {
			col.ChooseURL = stepURL(q.draft.ID, quotes.StepPolicy) + "?offer=" + url.QueryEscape(off.OfferID)
		}
		v.Columns = append(v.Columns, col)
	}
	// The insurers in the table's usual order.
	sort.SliceStable(v.Columns, func(i, j int) bool {
		return slices.Index(cascoProviders, v.Columns[i].Provider) < slices.Index(cascoProviders, v.Columns[j].Provider)
	})
	return v
}

func mapSlice(in []string, fn func(string) string) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = fn(s)
	}
	return out
}

// offer returns the quote's offer id that can become a policy.
func (q *quote) offer(id string) (quotes.Offer, bool) {
	for _, o := range q.goodOffers() {
		if o.OfferID == id {
			return o, true
		}
	}
	return quotes.Offer{}, false
}

// PDF handles GET /casco/drafts/{id}/offers/{offerID}/pdf: the offer's
// document, streamed from the CascoApi.
func (o *Offers) PDF(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	q, err := o.h.requestQuote(r)
	if err != nil {
		return err
	}
	off, ok := q.offer(r.PathValue("offerID"))
	if !ok {
		return errNotFound
	}
	id, err := strconv.ParseInt(off.OfferID, 10, 64)
	if err != nil || id <= 0 {
		return errNotFound
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

// streamPDF sends a CascoApi document as a download. Its first bytes
// are read before anything is sent, so an upstream failure at the start
// still becomes an error page; the client bounds the document's size.
func streamPDF(w http.ResponseWriter, doc *casco.Document, name string) error {
	defer doc.Close()
	br := bufio.NewReaderSize(doc, 32<<10)
	head, err := br.Peek(5)
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	if string(head) != "%PDF-" {
		return &Error{Status: http.StatusBadGateway, MessageKey: "error.upstream_unavailable", Err: errors.New("casco document is not a PDF")}
	}
	h := w.Header()
	h.Set("Content-Type", "application/pdf")
	h.Set("Content-Disposition", contentDisposition(name))
	h.Set("Cache-Control", "private, no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	// A failure halfway (the client went away, the upstream broke or
	// the document outgrew the limit) cannot change the status any more.
	_, _ = io.Copy(w, br)
	return nil
}

// fileSafe keeps letters, digits, dashes and underscores, for a file
// name made from upstream values ("GRP/CL" becomes "GRP-CL").
func fileSafe(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	return strings.Trim(b.String(), "-")
}
