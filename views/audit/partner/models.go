// Package partner renders a CASCO partner's audit log (/casco/audit):
// the account's offer-to-policy conversions. It is apart from the KASKO
// audit page (views/audit), whose columns are about KASKO policies and
// which the CASCO handlers may not use.
package partner

import "backoffice/views/layout"

// View is the /casco/audit page.
type View struct {
	Meta    layout.PageMeta
	Account string
	Rows    []Row
	// Total counts the account's entries; From and To number the rows
	// shown (1-based).
	Total, From, To int
	Page, Pages     int
	PrevURL         string
	NextURL         string
}

// Row is one conversion attempt, formatted.
type Row struct {
	ID string
	// Time is the instant in UTC in the viewer's language; ISO the same
	// in RFC 3339.
	Time, ISO string
	// Actor is the partner account.
	Actor string
	// Offer is the offer id; Holder the policyholder; Policy the policy's
	// series and number once issued.
	Offer, Holder, Policy string
	// Outcome is the CSS modifier and OutcomeKey its catalogue key ("" :
	// OutcomeText raw).
	Outcome, OutcomeKey, OutcomeText string
	UpstreamStatus                   string
	RequestID                        string
	Message                          string
}
