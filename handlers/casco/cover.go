package casco

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"

	cascoapi "backoffice/apiclient/casco"
	"backoffice/handlers"
	"backoffice/internal/format"
	"backoffice/internal/i18n"
	"backoffice/internal/paths"
	"backoffice/internal/quotes"
	cascoviews "backoffice/views/casco"
)

// coverStep is step 3 of a quote, the cover and the insurers to ask;
// saved, the offers are next.
type coverStep struct {
	h *Handlers
}

// cascoProviders are the insurers of CascoApi v1.0, in the order the
// offers table shows them.
var cascoProviders = []string{cascoapi.ProviderGenerali, cascoapi.ProviderGroupama, cascoapi.ProviderAllianz, cascoapi.ProviderEazyInsure}

// providerNames are the insurers' brands, the same in every language.
var providerNames = map[string]string{
	cascoapi.ProviderGenerali:   "Generali",
	cascoapi.ProviderGroupama:   "Groupama",
	cascoapi.ProviderAllianz:    "Allianz",
	cascoapi.ProviderEazyInsure: "Eazy Insure",
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

func (s *coverStep) step() string { return quotes.StepCover }

// saved asks the chosen insurers at once: the broker lands on the
// offers arriving.
func (s *coverStep) saved(r *http.Request, q *quotes.Quote) { s.h.Offers.askAfterCover(r, q) }

// refreshes: nothing on the cover depends on another choice.
func (s *coverStep) refreshes() bool { return false }

func (s *coverStep) stored(q *quotes.Quote) (quotes.CoverForm, map[string]string) {
	in := q.Cover
	if in.Term == "" {
		in = s.defaults()
	}
	return in, q.Cover.Upstream
}

// defaults is the cover a new quote starts from.
func (s *coverStep) defaults() quotes.CoverForm {
	return quotes.CoverForm{
		StartDate:    s.h.core.Zones.Today(cascoZone).AddDate(0, 0, 1).Format(time.DateOnly),
		Term:         "12",
		Installments: "1",
		Partial:      "500",
		Total:        "10",
		Providers:    slices.Clone(cascoProviders),
	}
}

func (s *coverStep) put(q *quotes.Quote, in quotes.CoverForm, done bool) {
	in.Done = done
	q.Cover = in
}

func (s *coverStep) read(r *http.Request, _ *quotes.Quote) quotes.CoverForm {
	f := r.PostForm
	in := quotes.CoverForm{
		StartDate:    handlers.FormValue(f, "start_date"),
		Term:         handlers.FormValue(f, "term"),
		Installments: handlers.FormValue(f, "installments"),
		Partial:      handlers.FormValue(f, "partial"),
		Total:        handlers.FormValue(f, "total"),
		InsuredSum:   handlers.FormValue(f, "insured_sum"),
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

func (s *coverStep) check(r *http.Request, q *quotes.Quote, in *quotes.CoverForm) (checked, error) {
	errs := s.checkCover(r.Context(), q, in)
	return checked{errs: errs, done: len(errs) == 0}, nil
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
func (s *coverStep) checkCover(ctx context.Context, q *quotes.Quote, in *quotes.CoverForm) map[string]string {
	c := handlers.NewChecker(ctx)
	today := s.h.core.Zones.Today(cascoZone)
	if start, ok := c.Date("start_date", in.StartDate, true); ok {
		last := today.AddDate(0, 0, startWindow)
		if start.Before(today) || start.After(last) {
			f := format.New(i18n.Lang(ctx))
			c.Fail("start_date", "casco.error.start_window", "From", f.Date(today), "To", f.Date(last))
		}
	}
	term, termOK := c.Integer("term", in.Term, true, 1, 12)
	if c.OneOf("installments", in.Installments, true, installmentChoices) && termOK {
		if n, _ := strconv.Atoi(in.Installments); term%n != 0 {
			c.Fail("installments", "casco.error.installments_divide", "Term", term)
		}
	}
	c.OneOf("partial", in.Partial, true, partialChoices)
	c.OneOf("total", in.Total, true, totalChoices)
	most := int64(maxMarketValue)
	if minor, ok := parseMinor(q.Vehicle.MarketValue); ok && minor >= minMarketValue {
		most = minor
	}
	if sum, ok := c.Money("insured_sum", in.InsuredSum, false, minMarketValue, maxMarketValue, parseMinor, showMinor); ok && sum > most {
		c.Fail("insured_sum", "casco.error.over_market_value")
	}
	if len(in.Providers) == 0 {
		c.Fail("providers", "casco.error.providers")
	}
	return c.Errors()
}

// page builds step 3 for input in.
func (s *coverStep) page(r *http.Request, q *quotes.Quote, in quotes.CoverForm) (stepView, error) {
	ctx := r.Context()
	today := s.h.core.Zones.Today(cascoZone)
	f := format.New(i18n.Lang(ctx))
	v := cascoviews.CoverView{
		StepPage:  s.h.stepPage(r, q, quotes.StepCover, paths.DraftStep(q.Draft.ID, quotes.StepCover)),
		StartDate: in.StartDate, MinStart: today.Format(time.DateOnly), MaxStart: today.AddDate(0, 0, startWindow).Format(time.DateOnly),
		Term: in.Term, Installments: in.Installments, Partial: in.Partial, Total: in.Total, InsuredSum: in.InsuredSum,
	}
	for _, t := range termChoices {
		v.Terms = append(v.Terms, cascoviews.Option{Value: t, Label: i18n.T(ctx, "casco.cover.months", "count", atoi(t)), Selected: t == in.Term})
	}
	for _, n := range installmentChoices {
		v.InstallmentOptions = append(v.InstallmentOptions, cascoviews.Option{Value: n, LabelKey: "casco.cover.installments." + n, Selected: n == in.Installments})
	}
	for _, p := range partialChoices {
		v.PartialOptions = append(v.PartialOptions, cascoviews.Option{Value: p, Label: f.Money(int64(atoi(p))*100, "RON"), Selected: p == in.Partial})
	}
	for _, t := range totalChoices {
		v.TotalOptions = append(v.TotalOptions, cascoviews.Option{Value: t, Label: t + " %", Selected: t == in.Total})
	}
	for _, p := range cascoProviders {
		v.Providers = append(v.Providers, cascoviews.Option{Value: p, Label: providerName(p), Selected: slices.Contains(in.Providers, p)})
	}
	if minor, ok := parseMinor(q.Vehicle.MarketValue); ok {
		v.MarketValue = f.Money(minor, "RON")
	}
	return stepView{StepPage: &v.StepPage, render: func() templ.Component { return cascoviews.CoverPage(v) }}, nil
}
