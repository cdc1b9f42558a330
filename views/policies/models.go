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

	Holders      []Field
	Data         []Field
	Zone         string
	Dates        []DateField
	Premium      []Field
	QuoteInput   []Field
	Cancellation []Field
	Metadata     []Field
	IDs          []Field
	Documents    []Document
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

// DateField is a date in the policy's zone, with the instant for the
// viewer's local time (filled in by the browser).
type DateField struct {
	LabelKey string
	Local    string // formatted in the policy's zone; "" = none
	ISO      string // RFC 3339 instant, for <time datetime>
	UTC      string // the same instant in UTC, for readers without JavaScript
}

// Document is a downloadable asset or media file.
type Document struct {
	Name string
	Kind string
	Date string
	URL  string
}
