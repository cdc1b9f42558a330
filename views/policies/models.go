// Package policies renders the policy list and the policy detail. The
// handler builds every string; components only lay them out.
package policies

import "backoffice/views/layout"

// ListView is the policy list page.
type ListView struct {
	Meta  layout.PageMeta
	Table TableView
	// FindQuery is kept in the find box after a miss.
	FindQuery string
	// AlertKey, when set, is a message above the table (a find miss, a page
	// past the end), with AlertArg as its {{.Arg}}.
	AlertKey string
	AlertArg string
}

// TableView is the region htmx swaps when sorting and paging.
type TableView struct {
	Columns []Column
	Rows    []Row
	Pager   Pager
	// Total is the number of policies the key sees; From and To number
	// the rows shown (1-based).
	Total    int
	From, To int
	Sizes    []SizeOption
	// Hidden carries the list state into the find form.
	Sort string
	Size int
	// ViewerZone is set when dates are shown in the viewer's zone rather
	// than in each policy's own.
	ViewerZone string
}

// Column is one table header.
type Column struct {
	LabelKey string
	// SortURL is set for columns the upstream sorts by.
	SortURL string
	// AriaSort is "ascending", "descending" or "none" on sortable columns.
	AriaSort string
	Numeric  bool
}

// Row is one policy in the list.
type Row struct {
	URL             string
	InsurerPolicyID string
	Holder          string
	Email           string
	EmailRestricted bool
	Product         string
	StatusKey       string
	Status          string // CSS modifier: paid, accepted, pending, cancelled
	Expired         bool
	Start, End      string
	Premium         string
	Created         string
	Zone            string
}

// Pager links the pages; an empty URL is a disabled control.
type Pager struct {
	Page, Count             int
	First, Prev, Next, Last string
	Pages                   []PageLink
}

// PageLink is one numbered page link; Gap marks an ellipsis.
type PageLink struct {
	Number  int
	URL     string
	Current bool
	Gap     bool
}

// SizeOption is one page size choice.
type SizeOption struct {
	Size    int
	URL     string
	Current bool
}

// DetailView is one policy.
type DetailView struct {
	Meta    layout.PageMeta
	BackURL string

	InsurerPolicyID string
	Holder          string
	Product         string
	StatusKey       string
	Status          string
	Expired         bool
	Locked          bool
	Live            bool
	Sensitive       bool

	Holders []Field
	Data    []Field
	// Zone names the zone the dates are shown in, with its offset.
	Zone string
	// ViewerTimes: the dates are in the viewer's zone by their choice;
	// PolicyZone is then named beside it.
	ViewerTimes bool
	PolicyZone  string
	// BrowserAddsLocalTime: the viewer's zone is unknown, so the page
	// asks their browser to show its local time beside each date.
	BrowserAddsLocalTime bool
	Dates                []DateField
	Premium              []Field
	QuoteInput           []Field
	Cancellation         []Field
	Metadata             []Field
	IDs                  []Field
	Documents            []Document
	// DataRestricted and friends say a whole section was withheld.
	DataRestricted       bool
	MetadataRestricted   bool
	QuoteInputRestricted bool
	RawJSON              string
}

// Field is a labelled value. Label is text (a humanized upstream key);
// LabelKey a catalogue key; one of them is set.
type Field struct {
	Label      string
	LabelKey   string
	Value      string
	Restricted bool
	Mono       bool
	Copy       bool
}

// DateField is an instant in the zone the viewer chose, and the same
// instant in the other zone (the viewer's or the policy's) when known.
type DateField struct {
	LabelKey string
	Local    string // formatted in the shown zone; "" = none
	ISO      string // RFC 3339 in the shown zone, for <time datetime>
	UTC      string // the same instant in UTC, for readers without JavaScript
	// Other is the instant in OtherZone; DayDiffers flags a calendar day
	// that differs between the two.
	Other      string
	OtherZone  string
	DayDiffers bool
}

// Document is a downloadable asset or media file.
type Document struct {
	Name string
	Kind string
	Date string
	URL  string
}
