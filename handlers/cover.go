package handlers

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"backoffice/apiclient/casco"
	"backoffice/internal/format"
	"backoffice/internal/i18n"
	"backoffice/internal/quotes"
	cascoviews "backoffice/views/casco"
)

// coverForm is step 3, the cover, as chosen and saved in the draft.
type coverForm struct {
	StartDate    string `json:"start_date"`
	Term         string `json:"term"`
	Installments string `json:"installments"`
	// Partial is the partial-damage deductible in RON, Total the
	// total-damage one in percent.
	Partial    string `json:"partial"`
	Total      string `json:"total"`
	InsuredSum string `json:"insured_sum,omitempty"`
	// Providers are the insurers to ask.
	Providers []string `json:"providers"`
	stepState
}

// cascoProviders are the insurers of CascoApi v1.0, in the order the
// offers table shows them.
var cascoProviders = []string{casco.ProviderGenerali, casco.ProviderGroupama, casco.ProviderAllianz, casco.ProviderEazyInsure}

// providerNames are the insurers' brands, the same in every language.
var providerNames = map[string]string{
	casco.ProviderGenerali:   "Generali",
	casco.ProviderGroupama:   "Groupama",
	casco.ProviderAllianz:    "Allianz",
	casco.ProviderEazyInsure: "Eazy Insure",
}

func providerName(p string) string {
	if n, ok := providerNames[p]; ok {
		return n
	}
	return p
}

// The cover's choices: the contract's installment counts (which must
// divide the term), and the usual deductibles.
var (
	termChoices        = []string{"1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12"}
	installmentChoices = []string{"1", "2", "4", "12"}
	partialChoices     = []string{"0", "100", "300", "500", "1000", "2000"}
	totalChoices       = []string{"0", "5", "10", "20"}
)

// startWindow is how far ahead a cover may start (the upstream's rule).
const startWindow = 60

func readCover(f url.Values) coverForm {
	in := coverForm{
		StartDate:    formValue(f, "start_date"),
		Term:         formValue(f, "term"),
		Installments: formValue(f, "installments"),
		Partial:      formValue(f, "partial"),
		Total:        formValue(f, "total"),
		InsuredSum:   formValue(f, "insured_sum"),
	}
	for _, p := range f["providers"] {
		if slices.Contains(cascoProviders, p) && !slices.Contains(in.Providers, p) {
			in.Providers = append(in.Providers, p)
		}
	}
	// In the table's order, whatever the form's.
	slices.SortFunc(in.Providers, func(a, b string) int {
		return slices.Index(cascoProviders, a) - slices.Index(cascoProviders, b)
	})
	return in
}

// coverFieldFor maps a CascoApi cover field to the form's field.
func coverFieldFor(upstream string) string {
	switch {
	case upstream == "product.motor.startDate":
		return "start_date"
	case upstream == "product.motor.termTime":
		return "term"
	case upstream == "product.motor.installmentCount":
		return "installments"
	case upstream == "product.motor.deductibles.partialDamage":
		return "partial"
	case upstream == "product.motor.deductibles.totalDamage":
		return "total"
	case strings.HasPrefix(upstream, "product.coverages"):
		return "insured_sum"
	case strings.HasPrefix(upstream, "provider."):
		return "providers"
	}
	return ""
}

// checkCover checks step 3 against the vehicle's market value.
func (d *Drafts) checkCover(ctx context.Context, q *quote, in *coverForm) map[string]string {
	c := newChecker(ctx)
	today := d.h.bucharestToday()
	if start, ok := c.date("start_date", in.StartDate, true); ok {
		last := today.AddDate(0, 0, startWindow)
		if start.Before(today) || start.After(last) {
			f := c.formatter()
			c.fail("start_date", "casco.error.start_window", "From", f.Date(today), "To", f.Date(last))
		}
	}
	term, termOK := c.integer("term", in.Term, true, 1, 12)
	if c.oneOf("installments", in.Installments, true, installmentChoices) && termOK {
		if n, _ := strconv.Atoi(in.Installments); term%n != 0 {
			c.fail("installments", "casco.error.installments_divide", "Term", term)
		}
	}
	c.oneOf("partial", in.Partial, true, partialChoices)
	c.oneOf("total", in.Total, true, totalChoices)
	max := int64(maxMarketValue)
	if mv, ok := parseAmount(q.vehicle.MarketValue); ok {
		if minor, ok := mv.MinorUnits(); ok && minor >= minMarketValue {
			max = minor
		}
	}
	if sum, ok := c.money("insured_sum", in.InsuredSum, false, minMarketValue, maxMarketValue); ok {
		if minor, _ := sum.MinorUnits(); minor > max {
			c.fail("insured_sum", "casco.error.over_market_value")
		}
	}
	if len(in.Providers) == 0 {
		c.fail("providers", "casco.error.providers")
	}
	return c.errs
}

// defaultCover is the cover a new quote starts from.
func (d *Drafts) defaultCover() coverForm {
	return coverForm{
		StartDate:    d.h.bucharestToday().AddDate(0, 0, 1).Format("2006-01-02"),
		Term:         "12",
		Installments: "1",
		Partial:      "500",
		Total:        "10",
		Providers:    slices.Clone(cascoProviders),
	}
}

// Cover handles GET /casco/drafts/{id}/cover.
func (d *Drafts) Cover(w http.ResponseWriter, r *http.Request) error {
	q, err := d.h.requestQuote(r)
	if err != nil {
		return err
	}
	if guardStep(w, r, q, quotes.StepCover) {
		return nil
	}
	in := q.cover
	if in.Term == "" {
		in = d.defaultCover()
	}
	v := d.coverView(r, q, in)
	withUpstream(r.Context(), &v.StepPage, q.cover.Upstream)
	return render(w, r, http.StatusOK, cascoviews.CoverPage(v))
}

// SaveCover handles POST /casco/drafts/{id}/cover: the cover is checked
// and saved, then the offers are next.
func (d *Drafts) SaveCover(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	q, err := d.h.requestQuote(r)
	if err != nil {
		return err
	}
	if guardStep(w, r, q, quotes.StepCover) {
		return nil
	}
	if err := parseForm(w, r); err != nil {
		return err
	}
	in := readCover(r.PostForm)
	show := func(status int, errs map[string]string, alert func(*cascoviews.StepPage)) error {
		v := d.coverView(r, q, in)
		for k, m := range errs {
			v.Errors[k] = m
		}
		if alert != nil {
			alert(&v.StepPage)
		}
		return render(w, r, status, cascoviews.CoverPage(v))
	}
	if q.locked() {
		return show(http.StatusConflict, nil, func(p *cascoviews.StepPage) { lockedAlert(ctx, p) })
	}
	errs := d.checkCover(ctx, q, &in)
	in.Done = len(errs) == 0
	conflict, err := d.h.commit(ctx, q, postedVersion(r), func(q *quote) { q.cover = in })
	switch {
	case err != nil:
		return err
	case conflict:
		return show(http.StatusConflict, errs, func(p *cascoviews.StepPage) { staleAlert(ctx, p) })
	case len(errs) > 0:
		return show(http.StatusUnprocessableEntity, errs, nil)
	}
	afterSave(w, r, q, quotes.StepCover)
	return nil
}

// coverView builds step 3 for input in.
func (d *Drafts) coverView(r *http.Request, q *quote, in coverForm) cascoviews.CoverView {
	ctx := r.Context()
	today := d.h.bucharestToday()
	f := format.New(i18n.Lang(ctx))
	v := cascoviews.CoverView{
		StepPage:  d.h.stepPage(r, q, quotes.StepCover, stepURL(q.draft.ID, quotes.StepCover)),
		StartDate: in.StartDate, MinStart: today.Format("2006-01-02"), MaxStart: today.AddDate(0, 0, startWindow).Format("2006-01-02"),
		Term: in.Term, Installments: in.Installments, Partial: in.Partial, Total: in.Total, InsuredSum: in.InsuredSum,
	}
	for _, t := range termChoices {
		v.Terms = append(v.Terms, cascoviews.Option{Value: t, Label: i18n.T(ctx, "casco.cover.months", "count", atoiOr(t)), Selected: t == in.Term})
	}
	for _, n := range installmentChoices {
		v.InstallmentOptions = append(v.InstallmentOptions, cascoviews.Option{Value: n, LabelKey: "casco.cover.installments." + n, Selected: n == in.Installments})
	}
	for _, p := range partialChoices {
		v.PartialOptions = append(v.PartialOptions, cascoviews.Option{Value: p, Label: f.Money(int64(atoiOr(p))*100, "RON"), Selected: p == in.Partial})
	}
	for _, t := range totalChoices {
		v.TotalOptions = append(v.TotalOptions, cascoviews.Option{Value: t, Label: t + " %", Selected: t == in.Total})
	}
	for _, p := range cascoProviders {
		v.Providers = append(v.Providers, cascoviews.Option{Value: p, Label: providerName(p), Selected: slices.Contains(in.Providers, p)})
	}
	if mv, ok := parseAmount(q.vehicle.MarketValue); ok {
		if minor, ok := mv.MinorUnits(); ok {
			v.MarketValue = f.Money(minor, "RON")
		}
	}
	return v
}

func atoiOr(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
