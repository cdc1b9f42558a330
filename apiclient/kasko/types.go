package kasko

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Policy is the v2 policy object (GET /policies/{id} with the v2 Accept
// header, and each item of the v2 list). It is the union of the fields of
// both published samples plus deleted_at/deleted_by, which older v2
// products emit.
//
// Amounts are integers in minor units of Currency (lowercase, as sent).
// Instants keep the offset the upstream wrote, so a localized date stays in
// its zone. Values that are not instants in the samples (quote.data's
// start_date "2023-8-06", data's company_registered_date) stay strings.
type Policy struct {
	ID            string `json:"id"`
	VersionID     string `json:"version_id"`
	DistributorID string `json:"distributor_id"`
	// InsurerID is null for products sold without a named insurer.
	InsurerID               *string `json:"insurer_id"`
	TouchpointID            string  `json:"touchpoint_id"`
	ItemID                  string  `json:"item_id"`
	ProductID               string  `json:"product_id"`
	ProductVersionID        string  `json:"product_version_id"`
	IntegrationVersionID    string  `json:"integration_version_id"`
	SubscriptionPlanID      string  `json:"subscription_plan_id"`
	CustomerID              string  `json:"customer_id"`
	InsurerPolicyID         string  `json:"insurer_policy_id"`
	InsurerExternalPolicyID *string `json:"insurer_external_policy_id"`
	LinkedPolicyID          *string `json:"linked_policy_id"`
	SalesLeadID             *string `json:"sales_lead_id"`

	// DistributorKey is a public key (pk_…), never a secret one.
	DistributorKey string `json:"distributor_key"`
	FirstName      string `json:"first_name"`
	LastName       string `json:"last_name"`
	Email          string `json:"email"`
	Currency       string `json:"currency"`
	Language       string `json:"language"`
	Flow           string `json:"flow"`

	Status string `json:"status"`
	// Expired is true when the policy has expired; the upstream's field
	// table describes it the other way round, its samples do not.
	Expired               bool `json:"expired"`
	IsLocked              bool `json:"is_locked"`
	ContainsSensitiveData bool `json:"contains_sensitive_data"`
	IsVersionAssembled    bool `json:"is_version_assembled"`

	PolicyCreatedDate time.Time  `json:"policy_created_date,omitzero"`
	StartDate         time.Time  `json:"start_date,omitzero"`
	EndDate           *time.Time `json:"end_date"`
	TerminationDate   *time.Time `json:"termination_date"`
	CreatedAt         time.Time  `json:"created_at,omitzero"`
	AcceptedAt        *time.Time `json:"accepted_at"`
	CancelledAt       *time.Time `json:"cancelled_at"`
	DeletedAt         *time.Time `json:"deleted_at,omitempty"`
	DeletedBy         *string    `json:"deleted_by,omitempty"`
	// LocalizedDates holds the same instants in the product's own zone;
	// the dashboard shows these rather than the UTC ones.
	LocalizedDates *LocalizedDates `json:"localized_dates,omitempty"`

	CancellationReason *string `json:"cancellation_reason"`
	// CancelledBy is "" (not null) while the policy is not cancelled.
	CancelledBy string `json:"cancelled_by"`

	// Data is the product-specific customer data; numbers in it decode as
	// json.Number so that no amount goes through a float.
	Data     map[string]any `json:"data"`
	Quote    Quote          `json:"quote,omitzero"`
	Metadata map[string]any `json:"metadata"`

	ReferrerURL              *string `json:"referrer_url"`
	DistributorTrafficSource *string `json:"distributor_traffic_source"`
	WhitelistedReferrerURL   *string `json:"whitelisted_referrer_url"`
	PaymentToken             *string `json:"payment_token"`

	Assets []Asset `json:"assets"`
	Media  []Media `json:"media"`
	Links  Links   `json:"_links"`

	// Withheld lists the withholdable fields (see WithholdableFields) that
	// were absent from the answer: a public key sees policies without
	// them. It is computed when decoding, and fields listed here are left
	// out again when the policy is encoded.
	Withheld []string `json:"-"`

	// ETag is the version id from the ETag header of GET /policies/{id},
	// unquoted: the value CancelPolicy wants.
	ETag string `json:"-"`
	// LastModified is the Last-Modified header of GET /policies/{id}.
	LastModified time.Time `json:"-"`
	// RequestID is the upstream's X-Request-Id for the GET that returned
	// this policy (empty for list items; see PolicyPage.RequestID).
	RequestID string `json:"-"`
}

// WithholdableFields are the fields the upstream leaves out for keys with
// fewer permissions (public keys); quote fields are written "quote.name".
var WithholdableFields = []string{
	"email", "data", "metadata", "payment_token", "distributor_key",
	"referrer_url", "whitelisted_referrer_url", "distributor_traffic_source",
	"quote.customer_input", "quote.insurer_private_data",
}

// IsWithheld reports whether field (a name from WithholdableFields) was
// absent from the answer, as opposed to present but null or empty.
func (p *Policy) IsWithheld(field string) bool {
	return slices.Contains(p.Withheld, field)
}

// policyFields has Policy's JSON shape without its methods, so that the
// custom (un)marshalers can defer to encoding/json without recursing.
type policyFields Policy

// UnmarshalJSON decodes a policy and records which withholdable fields
// were absent, parsing b once (see decodePolicy).
func (p *Policy) UnmarshalJSON(b []byte) error {
	var f policyFields
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := decodePolicy(dec, &f); err != nil {
		return err
	}
	// Keep what the transport layer set; the body does not carry it.
	f.ETag, f.LastModified, f.RequestID = p.ETag, p.LastModified, p.RequestID
	*p = Policy(f)
	return nil
}

// MarshalJSON encodes the policy, leaving withheld fields out so that a
// decoded public-key view encodes back to what was received.
func (p Policy) MarshalJSON() ([]byte, error) {
	b, err := json.Marshal(policyFields(p))
	if err != nil || len(p.Withheld) == 0 {
		return b, err
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(b, &obj); err != nil {
		return nil, err
	}
	var quote map[string]json.RawMessage
	if q, ok := obj["quote"]; ok {
		if err := json.Unmarshal(q, &quote); err != nil {
			return nil, err
		}
	}
	for _, name := range p.Withheld {
		if sub, ok := strings.CutPrefix(name, "quote."); ok {
			delete(quote, sub)
			continue
		}
		delete(obj, name)
	}
	if quote != nil {
		q, err := json.Marshal(quote)
		if err != nil {
			return nil, err
		}
		obj["quote"] = q
	}
	return json.Marshal(obj)
}

// Quote is the priced quote a policy was issued from.
type Quote struct {
	Version int `json:"version"`
	// CustomerInput is what was sent to pricing (product-specific).
	CustomerInput      map[string]any `json:"customer_input"`
	SubscriptionPlanID string         `json:"subscription_plan_id"`
	// GrossPaymentAmount is in minor units of the policy's currency.
	GrossPaymentAmount int64        `json:"gross_payment_amount"`
	PaymentData        PaymentData  `json:"payment_data"`
	Data               QuoteData    `json:"data"`
	DurationStrategy   string       `json:"duration_strategy"`
	DurationData       DurationData `json:"duration_data,omitzero"`
	BillingCycles      int          `json:"billing_cycles"`
	IssueDate          time.Time    `json:"issue_date,omitzero"`
	// QuoteCreatedAt is what older documents call IssueDate.
	QuoteCreatedAt         *time.Time `json:"quote_created_at,omitempty"`
	Livemode               bool       `json:"livemode"`
	PricingLogicID         string     `json:"pricing_logic_id"`
	PricingLogicRevisionID string     `json:"pricing_logic_revision_id"`
	// InsurerPrivateData is opaque to the dashboard; the samples show [].
	InsurerPrivateData   json.RawMessage `json:"insurer_private_data"`
	IntegrationID        string          `json:"integration_id"`
	IntegrationVersionID string          `json:"integration_version_id"`
	ProductVersionID     string          `json:"product_version_id"`
	ItemID               string          `json:"item_id"`
}

// PaymentData splits the premium; amounts are minor units.
type PaymentData struct {
	GrossPremium       int64 `json:"gross_premium"`
	PremiumTax         int64 `json:"premium_tax"`
	NetPremium         int64 `json:"net_premium"`
	NetNetPremium      int64 `json:"net_net_premium"`
	NetCommissionTotal int64 `json:"net_commission_total"`
	// TaxRate is a ratio (0.1 = 10 %), not an amount.
	TaxRate float64 `json:"tax_rate"`
}

// QuoteData totals the quote; amounts are minor units.
type QuoteData struct {
	TotalGrossPremium int64 `json:"total_gross_premium"`
	TotalPremiumTax   int64 `json:"total_premium_tax"`
	TotalNetPremium   int64 `json:"total_net_premium"`
	// StartDate is kept as sent: the samples write "2023-8-06", which is
	// not a date any standard parser accepts.
	StartDate string `json:"start_date"`
}

// DurationData is the cover period the quote was priced for.
type DurationData struct {
	PolicyStartDate time.Time  `json:"policy_start_date,omitzero"`
	PolicyEndDate   *time.Time `json:"policy_end_date,omitempty"`
}

// LocalizedDates are the policy's dates in its product's time zone.
type LocalizedDates struct {
	StartDate         time.Time  `json:"start_date,omitzero"`
	EndDate           *time.Time `json:"end_date"`
	TerminationDate   *time.Time `json:"termination_date"`
	PolicyCreatedDate time.Time  `json:"policy_created_date,omitzero"`
	// TimeZone is an IANA name such as "Europe/Riga".
	TimeZone string `json:"time_zone"`
}

// Asset is a generated document of a policy. Its link is a time-limited
// signed URL: fetch it with Client.DownloadAsset, which sends no key.
// Different endpoints name the link url or href; use DownloadURL.
type Asset struct {
	Designation    string     `json:"designation"`
	Name           string     `json:"name"`
	Extension      string     `json:"extension"`
	URL            string     `json:"url,omitempty"`
	Href           string     `json:"href,omitempty"`
	AttachmentDate *time.Time `json:"attachment_date,omitempty"`
	// Version is null in every published sample; its type is unknown, so
	// it is kept as raw JSON.
	Version json.RawMessage `json:"version,omitempty"`
}

// DownloadURL returns the asset's signed link, whichever name it came
// under.
func (a Asset) DownloadURL() string {
	if a.URL != "" {
		return a.URL
	}
	return a.Href
}

// Media is a file uploaded to and attached to a policy.
type Media struct {
	ID          string    `json:"id"`
	Designation string    `json:"designation"`
	Name        string    `json:"name"`
	MimeType    string    `json:"mime_type"`
	FileSize    int64     `json:"file_size"`
	URL         string    `json:"url"`
	CreatedAt   time.Time `json:"created_at,omitzero"`
}

// Link is one HAL-style link.
type Link struct {
	Href string `json:"href"`
}

// Links maps a link name (_self, distributor, item, touchpoint, status,
// policy, …) to its link.
type Links map[string]Link

// Href returns the href of the named link, or "".
func (l Links) Href(name string) string {
	return l[name].Href
}

// ListMeta is the meta block of a list answer. Offset is not echoed by the
// upstream.
type ListMeta struct {
	Total int    `json:"total"`
	Count int    `json:"count"`
	Limit int    `json:"limit"`
	Sort  string `json:"sort"`
}

// PolicyPage is one page of GET /policies in the v2 representation.
type PolicyPage struct {
	Policies  []Policy
	Meta      ListMeta
	RequestID string
}

// listWire and listWireV1 are the bodies of GET /policies.
type listWire struct {
	Data []Policy `json:"data"`
	Meta ListMeta `json:"meta"`
}

type listWireV1 struct {
	Data []PolicyListItemV1 `json:"data"`
	Meta ListMeta           `json:"meta"`
}

// PolicyPageV1 is one page of GET /policies in the 2015 flat
// representation.
type PolicyPageV1 struct {
	Policies  []PolicyListItemV1
	Meta      ListMeta
	RequestID string
}

// ListParams are the query parameters of GET /policies; zero values are
// not sent, so the upstream's defaults apply.
type ListParams struct {
	// Offset is the inclusive index of the first item.
	Offset int
	// Limit is the page size (the sandbox clamps it to 100).
	Limit int
	// Sort is a comma list of fields, "-" prefix for descending.
	Sort string
	// OffsetPolicyID is an exclusive keyset cursor on insurer_policy_id.
	OffsetPolicyID string
}

// v1Layout is how the 2015 API writes instants: a space, not a "T".
const v1Layout = "2006-01-02 15:04:05Z07:00"

// PolicyListItemV1 is the flat 2015 policy item, returned when the v2
// Accept header is not sent. Amounts are minor units; Currency is
// uppercase here.
type PolicyListItemV1 struct {
	Object             string    `json:"object"`
	InsurerPolicyID    string    `json:"insurer_policy_id"`
	InsurerProductName string    `json:"insurer_product_name"`
	InsurerVariantID   int64     `json:"insurer_variant_id"`
	KaskoProductID     int64     `json:"kasko_product_id"`
	KaskoVariantID     int64     `json:"kasko_variant_id"`
	FirstName          string    `json:"first_name"`
	LastName           string    `json:"last_name"`
	Email              string    `json:"email"`
	CreatedDate        time.Time `json:"created_date"`
	// CoverDurationDays and CoverEndDate are null for open-ended
	// (subscription) policies.
	CoverDurationDays *int       `json:"cover_duration_days"`
	CoverStartDate    time.Time  `json:"cover_start_date"`
	CoverEndDate      *time.Time `json:"cover_end_date"`
	Currency          string     `json:"currency"`
	Price             int64      `json:"price"`
	GrossPremium      int64      `json:"gross_premium"`
}

// v1Wire is PolicyListItemV1 with its instants as the strings on the wire.
type v1Wire struct {
	Object             string  `json:"object"`
	InsurerPolicyID    string  `json:"insurer_policy_id"`
	InsurerProductName string  `json:"insurer_product_name"`
	InsurerVariantID   int64   `json:"insurer_variant_id"`
	KaskoProductID     int64   `json:"kasko_product_id"`
	KaskoVariantID     int64   `json:"kasko_variant_id"`
	FirstName          string  `json:"first_name"`
	LastName           string  `json:"last_name"`
	Email              string  `json:"email"`
	CreatedDate        string  `json:"created_date"`
	CoverDurationDays  *int    `json:"cover_duration_days"`
	CoverStartDate     string  `json:"cover_start_date"`
	CoverEndDate       *string `json:"cover_end_date"`
	Currency           string  `json:"currency"`
	Price              int64   `json:"price"`
	GrossPremium       int64   `json:"gross_premium"`
}

// UnmarshalJSON parses the 2015 instants ("2015-09-02 15:26:45+01:00");
// RFC 3339 is accepted too.
func (it *PolicyListItemV1) UnmarshalJSON(b []byte) error {
	var w v1Wire
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	out := PolicyListItemV1{
		Object: w.Object, InsurerPolicyID: w.InsurerPolicyID, InsurerProductName: w.InsurerProductName,
		InsurerVariantID: w.InsurerVariantID, KaskoProductID: w.KaskoProductID, KaskoVariantID: w.KaskoVariantID,
		FirstName: w.FirstName, LastName: w.LastName, Email: w.Email,
		CoverDurationDays: w.CoverDurationDays, Currency: w.Currency, Price: w.Price, GrossPremium: w.GrossPremium,
	}
	var err error
	if out.CreatedDate, err = parseV1Time(w.CreatedDate); err != nil {
		return fmt.Errorf("created_date: %w", err)
	}
	if out.CoverStartDate, err = parseV1Time(w.CoverStartDate); err != nil {
		return fmt.Errorf("cover_start_date: %w", err)
	}
	if w.CoverEndDate != nil {
		t, err := parseV1Time(*w.CoverEndDate)
		if err != nil {
			return fmt.Errorf("cover_end_date: %w", err)
		}
		out.CoverEndDate = &t
	}
	*it = out
	return nil
}

// MarshalJSON writes the instants back in the 2015 layout.
func (it PolicyListItemV1) MarshalJSON() ([]byte, error) {
	return json.Marshal(v1Wire{
		Object: it.Object, InsurerPolicyID: it.InsurerPolicyID, InsurerProductName: it.InsurerProductName,
		InsurerVariantID: it.InsurerVariantID, KaskoProductID: it.KaskoProductID, KaskoVariantID: it.KaskoVariantID,
		FirstName: it.FirstName, LastName: it.LastName, Email: it.Email,
		CreatedDate:       formatV1Time(it.CreatedDate),
		CoverDurationDays: it.CoverDurationDays,
		CoverStartDate:    formatV1Time(it.CoverStartDate),
		CoverEndDate:      formatV1TimePtr(it.CoverEndDate),
		Currency:          it.Currency, Price: it.Price, GrossPremium: it.GrossPremium,
	})
}

func parseV1Time(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(v1Layout, s); err == nil {
		return t, nil
	}
	return time.Parse(time.RFC3339, s)
}

func formatV1TimePtr(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := formatV1Time(*t)
	return &s
}

func formatV1Time(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(v1Layout)
}

// CancelRequest is the body of POST /policies/{id}/cancel; both fields
// are required by the upstream.
type CancelRequest struct {
	Reason string `json:"cancellation_reason"`
	// TerminationDate is "YYYY-MM-DD" or a full ISO-8601 instant.
	TerminationDate string `json:"termination_date"`
}

// CancelAccepted is the 202 answer to a cancel: the cancellation runs
// asynchronously; poll StatusURL with FollowStatus.
type CancelAccepted struct {
	PolicyID  string
	StatusURL string
	RequestID string
}

type cancelAcceptedWire struct {
	PolicyID string `json:"policy_id"`
	Links    Links  `json:"_links"`
}

// Version status values, in the order a modification goes through them.
const (
	StatusPending    = "pending"
	StatusProcessing = "processing"
	StatusCompleted  = "completed"
	StatusFailed     = "failed"
)

// VersionStatus is the state of an asynchronous modification (cancel,
// update) that assembles a new policy version.
type VersionStatus struct {
	PolicyID    string              `json:"policy_id"`
	VersionID   string              `json:"version_id"`
	Status      string              `json:"status"`
	Action      string              `json:"action"`
	InitiatedAt time.Time           `json:"initiated_at,omitzero"`
	CompletedAt *time.Time          `json:"completed_at"`
	Error       *VersionStatusError `json:"error"`
	Links       Links               `json:"_links"`

	// RequestID is the upstream's X-Request-Id for this answer.
	RequestID string `json:"-"`
}

// Done reports whether the modification has finished, either way.
func (s *VersionStatus) Done() bool {
	return s.Status == StatusCompleted || s.Status == StatusFailed
}

// VersionStatusError explains a failed modification.
type VersionStatusError struct {
	Message string `json:"message"`
}

// errorEnvelope is the v2 error body.
type errorEnvelope struct {
	Status  string `json:"status"`
	Message string `json:"message"`
	Errors  []struct {
		Code  string `json:"code"`
		Field string `json:"field"`
	} `json:"errors,omitempty"`
}
