// Package index is the dashboard's own read model of the KASKO policies
// its configured tenants may see: one row per policy, keyed by tenant
// (distributor and mode), with what the list, search, filters and
// summaries need. The upstream list can neither search, filter nor
// count, so the dashboard keeps this index, live through sync, webhooks
// and write-through (package indexsync); the policy page itself always
// reads the upstream.
//
// Two stores implement Store: SQLite (FTS5) in DATA_DIR for one
// instance, PostgreSQL (tsvector) for several. Text is folded in Go
// (Fold) before either sees it, so that both find the same rows.
package index

import (
	"context"
	"errors"
	"time"
)

// Row is one policy as the index keeps it. Rows come from secret keys
// (INDEX_KEYS), so they hold the fields a public key is refused; Query
// .Public decides what of them a reader may see.
type Row struct {
	Tenant     string // "kasko:<distributor_id>:<mode>"
	ID         string // tpol_… / lpol_…
	InsurerID  string // insurer_policy_id
	ExternalID string // insurer_external_policy_id, "" when null
	FirstName  string
	LastName   string
	ProductID  string
	Status     string // pending, accepted, paid, cancelled, …
	Currency   string // lowercase ISO-4217
	GrossMinor int64  // quote.gross_payment_amount, minor units of Currency
	TaxMinor   int64  // quote.payment_data.premium_tax, minor units of Currency
	Language   string
	// Zone is the policy's own time zone (localized_dates.time_zone), ""
	// when the upstream gave none; the *Day fields are dates in it.
	Zone            string
	CreatedAt       time.Time // policy_created_date
	StartDate       time.Time
	EndDate         time.Time // zero: open-ended
	TerminationDate time.Time // zero: none
	CreatedDay      string    // YYYY-MM-DD in Zone (UTC when Zone is "")
	StartDay        string
	EndDay          string // "" when open-ended
	TerminationDay  string // "" when none
	Expired         bool
	Cancelled       bool
	Version         string // version_id
	// SeenAt is when the upstream last showed this row (sync, webhook,
	// write-through, or a policy page read).
	SeenAt time.Time

	// Restricted: what a public key is refused (email, data). Never
	// returned to, searched or counted for a Query with Public set.
	Email string
	Phone string // data.phone_number as sent
	VIN   string // data.vin, data.frame_number
	Plate string // data.licence_plate / plate / registration_number
}

// RestrictedFields are the Row fields a public-key reader never sees.
var RestrictedFields = []string{"email", "phone", "vin", "plate"}

// Sort fields a Query accepts; a "-" prefix sorts descending. Relevance
// (the default when Text is set) orders by how well the text matches.
const (
	SortRelevance = "relevance"
	SortInsurerID = "insurer_policy_id"
	SortHolder    = "last_name" // then first name
	SortEmail     = "email"     // refused for public readers
	SortProduct   = "product"
	SortStatus    = "status"
	SortStart     = "start_date" // open-ended ends sort last ascending
	SortEnd       = "end_date"
	SortPremium   = "gross_premium"
	SortCreated   = "created_at"
)

// SortFields lists every sort field (without "-").
var SortFields = []string{SortRelevance, SortInsurerID, SortHolder, SortEmail, SortProduct, SortStatus, SortStart, SortEnd, SortPremium, SortCreated}

// MaxTextRunes caps the search text; longer text is cut, never refused.
const MaxTextRunes = 200

// MaxLimit caps one page.
const MaxLimit = 100

// Query is one list request: tenant, reader, text, filters, order and
// page. Filters are ANDed; values within one filter are ORed.
type Query struct {
	Tenant string // required: a query never spans tenants
	// Public marks a public-key reader: restricted fields are neither
	// matched by Text, nor returned (zeroed in rows), nor sortable.
	Public bool
	// Text finds by id, insurer id, external id, holder name (each word
	// a prefix, any order, case and diacritics ignored) and, for secret
	// readers, email, phone (digits), VIN and plate.
	Text     string
	Status   []string
	Product  []string // product ids
	Currency []string
	Expired  *bool
	// Day ranges are inclusive YYYY-MM-DD dates in each policy's zone;
	// "" leaves that end open.
	CreatedFrom, CreatedTo       string
	StartFrom, StartTo           string
	EndFrom, EndTo               string
	TerminatedFrom, TerminatedTo string // a range leaves out rows never terminated
	// InForceOn keeps the rows in force on that day (see Reviewer).
	InForceOn string
	// Premium range in minor units, inclusive; nil leaves it open.
	PremiumMin, PremiumMax *int64

	Sort   string // one of SortFields, optional "-"; "" = relevance with Text, else -created_at
	Offset int
	Limit  int // 1..MaxLimit
}

// Page is one page of a Query's rows and how many rows match in all.
type Page struct {
	Rows  []Row
	Total int
	// Capped marks a text search by relevance that matched more than
	// RankedMatches rows: Total is then RankedMatches, a lower bound,
	// and the pages end there.
	Capped bool
}

// RankedMatches bounds the matches a text search ordered by relevance
// ranks: its newest matches, this many. A broad text (a common first
// name, two letters of a surname) then costs what a narrow one does,
// instead of ranking tens of thousands of rows that no one pages
// through; the person searching narrows the text or a filter, or sorts
// by a column, which orders every match.
const RankedMatches = 1000

// Facets count the rows per filter value. Each facet applies every
// filter of the query except its own, so that the counts beside the
// options of one filter say what choosing each would give.
type Facets struct {
	Status   map[string]int
	Product  map[string]int
	Currency map[string]int
	Expired  map[bool]int
}

// SyncState is a tenant's sync progress, kept in the store so that a
// restarted (or another) instance resumes where the last one stopped.
type SyncState struct {
	Tenant string
	// Cursor is the insurer_policy_id of the last row the running full
	// sync stored ("" before the first page).
	Cursor string
	// Full is set while a full sync (first sync or reconciliation) runs;
	// Done and Total are its progress in rows.
	Full        bool
	Done, Total int
	// FullStarted is when the running (or last) full sync began; rows it
	// did not see by its end are gone upstream.
	FullStarted time.Time
	// FullDone is when the last full sync ended (zero: never).
	FullDone time.Time
	// Polled is when the head of the list was last read.
	Polled time.Time
	// Error is the last sync failure, "" after a success.
	Error string
}

// ErrNotFound is returned by Get for a row the tenant does not have.
var ErrNotFound = errors.New("index: no such row")

// Store keeps the rows. Every method is scoped by tenant; none reads or
// writes another tenant's rows.
type Store interface {
	// Upsert inserts or replaces rows (by tenant and ID). A row whose
	// Version and SeenAt are older than the stored one's does not
	// replace it (a late page must not undo a webhook).
	Upsert(ctx context.Context, rows []Row) error
	// Get reads one row by KASKO id.
	Get(ctx context.Context, tenant, id string) (Row, error)
	// Delete removes rows by KASKO id (deleted, not hidden).
	Delete(ctx context.Context, tenant string, ids []string) error
	// DeleteUnseen removes the tenant's rows last seen before t: what a
	// full sync that started at t did not see is gone upstream.
	DeleteUnseen(ctx context.Context, tenant string, before time.Time) (int, error)
	// Search runs a query.
	Search(ctx context.Context, q Query) (Page, error)
	// Facets counts the rows of a query per filter value (Sort, Offset
	// and Limit are ignored).
	Facets(ctx context.Context, q Query) (Facets, error)
	// Count is the number of the tenant's rows.
	Count(ctx context.Context, tenant string) (int, error)

	// SyncState reads a tenant's sync progress (the zero state, with
	// Tenant set, when none was saved); SaveSyncState writes it.
	SyncState(ctx context.Context, tenant string) (SyncState, error)
	SaveSyncState(ctx context.Context, s SyncState) error

	// Lease takes or renews the named lease for holder until now+ttl; it
	// reports false while another holder's lease runs. Exactly one
	// instance syncs a PostgreSQL index; the lease passes on when its
	// holder stops renewing it.
	Lease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error)

	// ClaimDelivery records a webhook delivery id for tenant, reporting
	// false when it was recorded before (a replay). ReleaseDelivery
	// forgets it again, for a delivery whose processing failed, so that
	// the sender's retry is processed. Records older than 30 days go.
	ClaimDelivery(ctx context.Context, tenant, id string) (bool, error)
	ReleaseDelivery(ctx context.Context, tenant, id string) error

	// Purge deletes everything kept for tenant: rows, sync state,
	// deliveries. It returns the number of rows deleted.
	Purge(ctx context.Context, tenant string) (int, error)
	// Tenants lists the tenants with rows or sync state.
	Tenants(ctx context.Context) ([]string, error)

	// Changed is a number that changes whenever a tenant's rows change
	// (any instance's writes): readers key caches on it.
	Changed(ctx context.Context, tenant string) (int64, error)

	Close() error
}
