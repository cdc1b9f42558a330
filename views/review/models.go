// Package review renders the managers' overview and the expiry worklist.
package review

import "backoffice/views/layout"

// PageView is the overview page.
type PageView struct {
	Meta   layout.PageMeta
	Period PeriodForm
	// Unavailable names why there are no figures (no index for the
	// tenant, the index unreadable); "" when they are shown.
	UnavailableKey string
	// Range is the period as shown ("1 Dec 2026 – 31 Dec 2026"), and
	// Previous the one compared with.
	Range, Previous string
	// PartialKey says the index is still filling (PartialKey with
	// Percent) and the figures are incomplete; "" when they are whole.
	PartialKey string
	Percent    int
	Currencies []CurrencyFigures
	Activity   BarChart
	Premium    []ProductChart
	Status     BarChart
	Reasons    ReasonsTable
}

// PeriodForm is the period chooser.
type PeriodForm struct {
	Options  []PeriodOption
	From, To string // the custom range's inputs
	// ErrorKey and ErrorArg explain a refused period; ErrorOnKind puts
	// the error on the period select rather than the custom range.
	ErrorKey, ErrorArg string
	ErrorOnKind        bool
}

// PeriodOption is one choice of period.
type PeriodOption struct {
	Value, LabelKey string
	Selected        bool
}

// CurrencyFigures are one currency's figures.
type CurrencyFigures struct {
	Currency string // "EUR"
	Figures  []Figure
}

// Figure is one number, its change against the previous period, and the
// list of the rows behind it.
type Figure struct {
	LabelKey string
	Value    string
	Change   string // "+12 %", "−3", "" when there is nothing to compare
	// Trend is "up", "down" or "" (no change); it colours the change.
	Trend string
	URL   string // the list filtered to exactly these rows; "" for none
	Note  string // e.g. the cancellation rate
}

// BarChart is a chart of one or two series over labelled bars, drawn as
// SVG, with its data as a table for screen readers and keyboards.
type BarChart struct {
	ID, TitleKey string
	// TitleArg fills the title's {{.Currency}}.
	TitleArg string
	Series   []Series
	Labels   []string
	// Max is the largest value, for the scale.
	Max int64
}

// Series is one row of bars.
type Series struct {
	LabelKey string
	Class    string // colour class
	Values   []int64
	Texts    []string // the values as shown
	URLs     []string // per bar: the list behind it
}

// ProductChart is the premium per product of one currency.
type ProductChart struct {
	Currency string
	Chart    BarChart
}

// ReasonsTable is the cancellations made through the dashboard, by the
// reason given.
type ReasonsTable struct {
	Rows []ReasonRow
}

// ReasonRow is one reason and how often it was given; URL is the audit
// log filtered to exactly the entries counted. None marks the "no reason
// given" bucket, whose Reason is the catalogue's words for it.
type ReasonRow struct {
	Reason string
	None   bool
	Count  int
	URL    string
}

// ExpiringView is the expiry worklist.
type ExpiringView struct {
	Meta  layout.PageMeta
	Days  []DaysOption
	Query string
	// Filters are the product and currency choices, with counts.
	Filters        []FilterGroup
	UnavailableKey string
	Total          int
	Capped         bool
	ListURL        string // the same rows in the policy list
	Weeks          []Week
}

// FilterGroup is one filter of the worklist: checkboxes named Name.
type FilterGroup struct {
	Name, LegendKey string
	Options         []FilterOption
}

// FilterOption is one value, how many policies of the worklist have it,
// and whether it is chosen.
type FilterOption struct {
	Value, Label string
	Count        int
	Checked      bool
}

// DaysOption is one horizon (7, 30, 60, 90 days).
type DaysOption struct {
	Days     int
	URL      string
	Selected bool
}

// Week is the policies whose cover ends within one week.
type Week struct {
	Label string
	Rows  []ExpiringRow
}

// ExpiringRow is one policy of the worklist.
type ExpiringRow struct {
	URL, InsurerID, Holder, Product, Premium, Ends string
	DaysLeft                                       int
}
