// Package policies renders the policy list and the policy detail. The
// handler builds every string; components only lay them out.
package policies

import (
	"github.com/a-h/templ"

	auditviews "backoffice/views/audit"
	"backoffice/views/layout"
)

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
	// Indexed: the list comes from the policy index, so the box searches
	// by any fragment and the filters show (Table.Filters).
	Indexed bool
	// Fresh says how current the list is.
	Fresh Freshness
	// Region, when set, is the list region already rendered (an indexed
	// list keeps it); Table is then unused.
	Region templ.Component
	// View is the saved view open in the list; nil for none.
	View *OpenView
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
	// Capped: more match the search than are ranked; Total is the
	// number ranked (index.RankedMatches), and the pages end there.
	Capped bool
	Sizes  []SizeOption
	// Hidden carries the list state into the find form.
	Sort string
	Size int
	// ViewerZone is set when dates are shown in the viewer's zone rather
	// than in each policy's own.
	ViewerZone string
	// Filters are shown with an indexed list; nil otherwise.
	Filters *FilterPanel
	// Searching is the search text of an indexed list ("" for none); it
	// changes the empty-list message.
	Searching string
	// Invalid: a filter's value was refused (the panel says which); the
	// table is left empty rather than showing unfiltered rows.
	Invalid bool
	// Shown are the ids of the columns drawn, in order (nil: all);
	// Columns are their headers. Tools are the column chooser and the
	// save-a-view form (an indexed list). ViewID and Cols carry an open
	// saved view and its columns into the find form.
	Shown        []string
	Tools        *ListTools
	ViewID, Cols string
}

// Column is one table header.
type Column struct {
	LabelKey string
	// SortURL is set for columns the upstream sorts by.
	SortURL string
	// AriaSort is how the list is sorted by a sortable column.
	AriaSort SortOrder
	Numeric  bool
}

// SortOrder is a sortable column's state, as its aria-sort attribute
// says it.
type SortOrder string

// The sort orders.
const (
	SortNone       SortOrder = "none"
	SortAscending  SortOrder = "ascending"
	SortDescending SortOrder = "descending"
)

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
	// Marks split the id, holder and email into the pieces a search
	// matched; nil when there was no search.
	IDMarks, HolderMarks, EmailMarks []Segment
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

	// CancelURL opens the cancel form (staff, cancellable policy);
	// CancelBlocked says why a staff user cannot cancel ("" when they
	// can, or may not act at all); ProgressURL follows a cancellation
	// already under way.
	CancelURL     string
	CancelBlocked string
	ProgressURL   string
	// Timeline is what was done to the policy through the dashboard.
	Timeline auditviews.TimelineView
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

// CancelView is the cancel panel in each of its states (Mode).
type CancelView struct {
	Meta            layout.PageMeta
	Mode            CancelMode
	PolicyURL       string
	ActionURL       string
	InsurerPolicyID string
	Holder          string
	Zone            string
	// Live asks for the insurer policy id to be typed before confirming.
	Live bool
	// Message explains the state; Alert is an error above the form.
	Message        string
	Alert          string
	AlertRequestID string
	// Token is the one-time form token.
	Token string

	Reasons      []ReasonOption
	ReasonLabel  string
	ReasonText   string
	ReasonError  string
	Date         string // YYYY-MM-DD
	DateText     string // the same, formatted for the UI language
	MinDate      string
	DateError    string
	DateWarning  string
	ConfirmValue string
	ConfirmError string

	// PollURL is fetched every few seconds while set; RetryURL offers to
	// start again.
	PollURL  string
	RetryURL string
	// Diff lists what changed since the form was opened (after a 412).
	Diff []DiffRow
}

// CancelMode is a state of the cancel panel.
type CancelMode string

// The cancel panel's states.
const (
	// CancelForm asks for the reason and the date.
	CancelForm CancelMode = "form"
	// CancelReview says what will happen and asks to confirm.
	CancelReview CancelMode = "review"
	// CancelProgress follows an accepted cancellation (polled).
	CancelProgress CancelMode = "progress"
	// CancelWatch follows the policy itself (polled) after a conflict or
	// an unknown outcome.
	CancelWatch CancelMode = "watch"
	// CancelBlocked says why the policy cannot be cancelled.
	CancelBlocked CancelMode = "blocked"
)

// HasErrors reports input errors on the form.
func (v CancelView) HasErrors() bool {
	return v.ReasonError != "" || v.DateError != "" || v.ConfirmError != ""
}

// ReasonOption is one entry of the reason pick-list.
type ReasonOption struct {
	Code     string
	Label    string
	Selected bool
}

// DiffRow is one field that changed.
type DiffRow struct {
	Field, Label, Before, After string
}

// OperationsView is the page of pending operations.
type OperationsView struct {
	Meta layout.PageMeta
	Rows []OpRow
}

// OpRow is one pending operation.
type OpRow struct {
	PolicyURL       string
	InsurerPolicyID string
	ProgressURL     string
	StatusKey       string
}

// NewPolicyView is the form that pushes a new policy.
type NewPolicyView struct {
	Meta     layout.PageMeta
	Token    string
	Variants []VariantOption
	// The input, kept on every error.
	FirstName, LastName, Email, StartDate, VIN string
	MetaRows                                   []MetaRow
	CanAddMeta                                 bool
	// FocusMeta is the metadata row (1-based) that takes the focus: the
	// one just added. 0: none.
	FocusMeta int
	// MinDate is the earliest start date the variant allows ("" = any).
	MinDate string
	// Errors maps a field (variant_id, first_name, …, metadata) to its
	// message; Alert is a message above the form.
	Errors map[string]string
	Alert  string
	// AlertTone is how Alert reads; "" is an error.
	AlertTone      layout.Tone
	AlertRequestID string
}

// VariantOption is one product variant.
type VariantOption struct {
	ID, Name string
	Selected bool
}

// MetaRow is one metadata key and value.
type MetaRow struct {
	Key, Value string
}

// PushResultView is what became of a push (Mode).
type PushResultView struct {
	Meta            layout.PageMeta
	Mode            PushOutcome
	Reference       string
	PolicyURL       string
	InsurerPolicyID string
	Holder          string
	ListURL         string
	LookAgainURL    string
	CheckURL        string
	RequestID       string
}

// PushOutcome is what is known of a push.
type PushOutcome string

// The push outcomes.
const (
	// PushCreated: the policy is found, with a link.
	PushCreated PushOutcome = "created"
	// PushPending: accepted, not in the list yet.
	PushPending PushOutcome = "pending"
	// PushUnknown: no answer came; look before sending again.
	PushUnknown PushOutcome = "unknown"
)

// Segment is a piece of a cell's text; Mark is set on the pieces a
// search matched, which the table shows marked.
type Segment struct {
	Text string
	Mark bool
}

// FilterPanel is the list's filters, shown when the policy index covers
// the signed-in tenant. Every control belongs to the find form, so that
// one submit (or one htmx request) carries the search, the filters, the
// order and the page size together.
type FilterPanel struct {
	Groups []FilterGroup
	Ranges []RangeFilter
	// Active counts the filters in use; ClearURL drops them all and keeps
	// the search text and the order.
	Active   int
	ClearURL string
	// Open shows the panel unfolded: filters are in use, or one is wrong.
	Open bool
}

// FilterGroup is a set of values to choose from (status, product, …);
// Radio makes it one choice.
type FilterGroup struct {
	ID       string // also the query parameter
	LabelKey string
	Radio    bool
	Options  []FilterOption
	// ErrorKey, when set, says what is wrong with the group's value in the
	// URL (ErrorArg fills its {{.Arg}}).
	ErrorKey, ErrorArg string
}

// FilterOption is one value of a group and how many rows it would give.
type FilterOption struct {
	Value string
	// Label is shown as is; LabelKey, when set, is translated instead.
	Label, LabelKey string
	Count           int
	// Counted is false for "any", which shows no count.
	Counted bool
	Checked bool
}

// RangeFilter is a from–to pair of date or number inputs.
type RangeFilter struct {
	ID       string
	LabelKey string
	// Type is the inputs' type: "date" or "number".
	Type             string
	FromName, ToName string
	From, To         string
	// Single is one value (FromName, From) rather than a range.
	Single bool
	// Hint is the unit shown after a number range ("EUR 0.00" style).
	HintKey            string
	ErrorKey, ErrorArg string
}

// Freshness is how up to date the index behind the list is.
type Freshness struct {
	State FreshState
	// Ago is how long since the index last heard from the upstream
	// ("12 s"), for FreshLive.
	Ago string
	// Percent, Done and Total are the first sync's progress.
	Percent     int
	Done, Total int
	// Error is the last sync failure, as the upstream put it.
	Error string
}

// FreshState says which of the freshness messages applies.
type FreshState string

// The freshness states.
const (
	// FreshUpstream: no index covers the tenant; the list is the
	// upstream's own, and search needs an index key.
	FreshUpstream FreshState = "upstream"
	// FreshUnavailable: the index cannot be read just now; the list is
	// the upstream's.
	FreshUnavailable FreshState = "unavailable"
	// FreshSyncing: the first sync is running; results are partial.
	FreshSyncing FreshState = "syncing"
	// FreshLive: the index is synced and kept live.
	FreshLive FreshState = "live"
)
