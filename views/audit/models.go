// Package audit renders the audit log page (/audit) and a policy's own
// entries as a timeline for its detail page. The handler builds every
// value; components only lay them out.
package audit

import "backoffice/views/layout"

// ListView is the /audit page.
type ListView struct {
	Meta    layout.PageMeta
	Filters Filters
	Table   TableView
}

// Filters is the filter form as the URL states it.
type Filters struct {
	Policy  string
	Actor   string
	Outcome string
	// Outcomes are the choices of the outcome select, "" (any) first.
	Outcomes []Option
	// Actions are the choices of the action select, "" (any) first.
	Actions []Option
	// Reason is the exact reason; NoReason asks for entries without one.
	Reason   string
	NoReason bool
	// From and To are the days as typed (YYYY-MM-DD), read in UTC.
	From, To string
	// DateErrorKey explains refused days (the table is then not shown).
	DateErrorKey string
	// Size is carried through a new filter when it is not the default.
	Size int
}

// Option is one choice of a select; LabelKey is its catalogue key.
type Option struct {
	Value    string
	LabelKey string
	Selected bool
}

// TableView is the region htmx swaps when filtering and paging.
type TableView struct {
	Rows []Row
	// Total is the number of entries the filters match; From and To
	// number the rows shown (1-based).
	Total    int
	From, To int
	// Filtered says a filter is on, so an empty result offers to clear it.
	Filtered bool
	// Active says each filter that is on in words ("Reason: “Other”").
	Active []string
	Pager  Pager
}

// Row is one audit entry, formatted.
type Row struct {
	ID string
	// Time is the instant in UTC in the viewer's language; ISO the same
	// in RFC 3339 for <time datetime>.
	Time string
	ISO  string
	// Actor is the masked key; ActorName the name given at sign-in.
	Actor     string
	ActorName string
	// PolicyURL opens the policy, "" when the entry has no KASKO id (a
	// creation the insurer has not made yet); PolicyLabel is its insurer
	// id (the KASKO id when the entry has none), PolicyID the KASKO id.
	PolicyURL   string
	PolicyLabel string
	PolicyID    string
	// Holder and Reference (the push reference) name a creation that
	// has no policy id.
	Holder    string
	Reference string
	// ActionKey is the catalogue key of a known action; Action the raw
	// action otherwise. VariantID is the variant a creation pushed.
	ActionKey string
	Action    string
	VariantID string
	Reason    string
	// TerminationDate is the requested date, formatted; "" for none.
	TerminationDate string
	// Outcome is the CSS modifier ("accepted", … or "other");
	// OutcomeKey the catalogue key, or "" with OutcomeText raw.
	Outcome     string
	OutcomeKey  string
	OutcomeText string
	// UpstreamStatus is the upstream's HTTP status, "" for none.
	UpstreamStatus string
	RequestID      string
	// Message is the upstream's message, for support.
	Message string
	// Count is how often a coalesced entry happened (a read-only
	// session's repeated refusals); 0 or 1 shows nothing.
	Count int
}

// Pager links the pages; an empty URL is a disabled control.
type Pager struct {
	Page, Count             int
	First, Prev, Next, Last string
}

// TimelineView is one policy's entries, newest first, for its detail
// page.
type TimelineView struct {
	Items []Row
	// Total counts all the policy's entries; when there are more than
	// Items, MoreURL opens the audit log filtered to the policy.
	Total   int
	MoreURL string
}
