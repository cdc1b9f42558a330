// Package indexsync keeps the policy index (package index) in step with
// the KASKO upstream. The upstream list can only be paged (by creation
// date, with an insurer-id cursor), so the index is filled by a full
// sync per tenant, kept live by polling the head of the list (plus
// webhooks and write-through, which use RowOf and Refresh), and
// reconciled by a periodic full sync that deletes what the upstream no
// longer shows.
//
// One instance syncs at a time (a lease in the store); every instance
// resolves the configured keys' tenants, so that any of them can answer
// a webhook.
package indexsync

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"time"

	kasko "backoffice/apiclient/kasko"
	"backoffice/internal/audit"
	"backoffice/internal/index"
)

// TenantOf is the tenant of key, given the distributor_id of a policy the
// key sees ("" when it sees none). It is the same tenant the audit log
// uses for the key (handlers/kasko), so that the index and the audit
// entries of one distributor and mode line up. A key that sees no policy
// gets a tenant of its own named by a digest of the key, never the key.
func TenantOf(key, distributorID string) string {
	mode := "test"
	if strings.Contains(key, "_live_") {
		mode = "live"
	}
	if distributorID != "" {
		return audit.KaskoTenant(distributorID, mode)
	}
	sum := sha256.Sum256([]byte(key))
	return audit.KaskoTenant("key-"+hex.EncodeToString(sum[:12]), mode)
}

// isKeyTenant reports a tenant named by a key digest: it may move to the
// distributor's tenant once the key sees a policy.
func isKeyTenant(tenant string) bool {
	return strings.HasPrefix(tenant, "kasko:key-")
}

// tenantMode is "test" or "live", the last part of a KASKO tenant.
func tenantMode(tenant string) string {
	return tenant[strings.LastIndexByte(tenant, ':')+1:]
}

// PolicyMode is "live" or "test": the id prefix says it for the ids the
// upstream issues, the quote's livemode otherwise.
func PolicyMode(p *kasko.Policy) string {
	switch {
	case strings.HasPrefix(p.ID, "lpol_"):
		return "live"
	case strings.HasPrefix(p.ID, "tpol_"):
		return "test"
	case p.Quote.Livemode:
		return "live"
	default:
		return "test"
	}
}

// Belongs reports whether policy p may be kept under tenant: same mode,
// and the same distributor when the tenant names one. A webhook or a
// write-through must not file a policy under the wrong tenant even if a
// key were misconfigured.
func Belongs(p *kasko.Policy, tenant string) bool {
	if !strings.HasPrefix(tenant, "kasko:") || PolicyMode(p) != tenantMode(tenant) {
		return false
	}
	if isKeyTenant(tenant) || p.DistributorID == "" {
		return true
	}
	return audit.KaskoTenant(p.DistributorID, tenantMode(tenant)) == tenant
}

// maxZoneName bounds what is kept of an upstream time zone name; IANA
// names are far shorter.
const maxZoneName = 64

// RowOf maps a v2 policy to its index row under tenant, seen at seen.
func RowOf(p *kasko.Policy, tenant string, seen time.Time) index.Row {
	return rowOf(p, tenant, seen, time.LoadLocation)
}

// rowOf is RowOf with the zone loader given, so that the syncer can
// cache zones instead of reading the zone database for every row.
func rowOf(p *kasko.Policy, tenant string, seen time.Time, load func(string) (*time.Location, error)) index.Row {
	r := index.Row{
		Tenant:     tenant,
		ID:         p.ID,
		InsurerID:  p.InsurerPolicyID,
		FirstName:  p.FirstName,
		LastName:   p.LastName,
		ProductID:  p.ProductID,
		Status:     p.Status,
		Currency:   strings.ToLower(p.Currency),
		GrossMinor: p.Quote.GrossPaymentAmount,
		Language:   p.Language,
		CreatedAt:  p.PolicyCreatedDate,
		StartDate:  p.StartDate,
		Expired:    p.Expired,
		Cancelled:  p.Status == "cancelled",
		Version:    p.VersionID,
		SeenAt:     seen,
	}
	if p.InsurerExternalPolicyID != nil {
		r.ExternalID = *p.InsurerExternalPolicyID
	}
	if r.GrossMinor == 0 {
		r.GrossMinor = p.Quote.PaymentData.GrossPremium
	}
	r.TaxMinor = p.Quote.PaymentData.PremiumTax
	if r.CreatedAt.IsZero() {
		r.CreatedAt = p.CreatedAt
	}
	if p.EndDate != nil {
		r.EndDate = *p.EndDate
	}
	if p.TerminationDate != nil {
		r.TerminationDate = *p.TerminationDate
	}
	if !p.IsWithheld("email") {
		r.Email = p.Email
	}
	r.Phone = dataString(p.Data, "phone_number")
	r.VIN = dataString(p.Data, "vin", "frame_number")
	// Products name the plate differently; the first one present wins.
	r.Plate = dataString(p.Data, "licence_plate", "license_plate", "plate", "registration_number", "kennzeichen")

	loc := time.UTC
	if p.LocalizedDates != nil && p.LocalizedDates.TimeZone != "" && len(p.LocalizedDates.TimeZone) <= maxZoneName {
		r.Zone = p.LocalizedDates.TimeZone
		if l, err := load(r.Zone); err == nil && l != nil {
			loc = l
		}
	}
	r.CreatedDay = day(r.CreatedAt, loc)
	r.StartDay = day(r.StartDate, loc)
	r.EndDay = day(r.EndDate, loc)
	r.TerminationDay = day(r.TerminationDate, loc)
	return r
}

func day(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	return t.In(loc).Format(time.DateOnly)
}

// dataString is the first of keys present in the product data with a
// non-empty scalar value, as text.
func dataString(data map[string]any, keys ...string) string {
	for _, k := range keys {
		switch v := data[k].(type) {
		case string:
			if s := strings.TrimSpace(v); s != "" {
				return s
			}
		case fmt.Stringer: // json.Number
			if s := v.String(); s != "" {
				return s
			}
		}
	}
	return ""
}

// Refresh writes p through to the index under tenant: after a policy page
// read or a write made through the dashboard, the row shows what the
// upstream just said without waiting for the next poll.
func Refresh(ctx context.Context, store index.Store, tenant string, p *kasko.Policy, now time.Time) error {
	if p == nil || p.ID == "" {
		return fmt.Errorf("indexsync: refresh: no policy")
	}
	if !Belongs(p, tenant) {
		return fmt.Errorf("indexsync: refresh: policy %s does not belong to tenant %s", p.ID, tenant)
	}
	return store.Upsert(ctx, []index.Row{RowOf(p, tenant, now)})
}

// zoneCache keeps loaded time zones; a sync maps every row, and reading
// the zone database per row would dominate a large sync.
type zoneCache struct {
	mu sync.Mutex
	m  map[string]*time.Location
}

// maxZones bounds the cache; the upstream's products use a handful.
const maxZones = 256

func (c *zoneCache) load(name string) (*time.Location, error) {
	c.mu.Lock()
	l, ok := c.m[name]
	c.mu.Unlock()
	if ok {
		if l == nil {
			return nil, fmt.Errorf("unknown time zone %q", name)
		}
		return l, nil
	}
	l, err := time.LoadLocation(name)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[string]*time.Location)
	}
	if len(c.m) < maxZones {
		c.m[name] = l // nil remembers an unknown zone
	}
	return l, err
}
