package kasko

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"backoffice/apiclient"
	kaskoapi "backoffice/apiclient/kasko"
	"backoffice/handlers"
	"backoffice/internal/format"
	"backoffice/internal/i18n"
	"backoffice/internal/paths"
	"backoffice/views/layout"
	"backoffice/views/policies"
)

// Show handles GET /policies/{id}.
func (p *Policies) Show(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id := r.PathValue("id")
	if id == "" || len(id) > 100 {
		return handlers.ErrNotFound
	}
	pol, err := p.h.api(ctx).GetPolicy(ctx, id)
	if err != nil {
		return err
	}
	p.h.indexPolicy(ctx, pol)
	v, err := p.detail(r, pol)
	if err != nil {
		return err
	}
	return handlers.Render(w, r, http.StatusOK, policies.DetailPage(v))
}

func (p *Policies) detail(r *http.Request, pol *kaskoapi.Policy) (policies.DetailView, error) {
	ctx := r.Context()
	f := formatter(ctx)
	v := policies.DetailView{
		Meta:            p.h.core.Meta(r, pol.InsurerPolicyID),
		BackURL:         backToList(r),
		InsurerPolicyID: pol.InsurerPolicyID,
		Holder:          strings.TrimSpace(pol.FirstName + " " + pol.LastName),
		Product:         p.productName(pol.ProductID),
		StatusKey:       statusKey(pol.Status),
		Status:          statusClass(pol.Status),
		Expired:         pol.Expired,
		Locked:          pol.IsLocked,
		Live:            strings.HasPrefix(pol.ID, "lpol_") || pol.Quote.Livemode,
		Sensitive:       pol.ContainsSensitiveData,
	}
	v.Meta.Nav = layout.SectionPolicies
	if user := currentUser(ctx); !user.ReadOnly() {
		if op, ok := p.h.findPendingOp(ctx, pol.ID, ""); ok {
			v.ProgressURL = paths.CancelProgress(op.PolicyID, op.NewVersionID)
		} else if key := cancelBlocker(pol); key != "" {
			v.CancelBlocked = i18n.T(ctx, key)
		} else {
			v.CancelURL = paths.PolicyCancel(pol.ID)
		}
	}
	v.Holders = []policies.Field{
		{LabelKey: "policy.first_name", Value: pol.FirstName},
		{LabelKey: "policy.last_name", Value: pol.LastName},
		{LabelKey: "policy.email", Value: pol.Email, Restricted: pol.IsWithheld("email")},
		{LabelKey: "policy.language", Value: pol.Language},
	}
	v.DataRestricted = pol.IsWithheld("data")
	v.Data = freeForm(pol.Data)
	v.MetadataRestricted = pol.IsWithheld("metadata")
	v.Metadata = freeForm(pol.Metadata)
	v.QuoteInputRestricted = pol.IsWithheld("quote.customer_input")
	v.QuoteInput = freeForm(pol.Quote.CustomerInput)

	ownZone := policyZone(pol)
	clk := p.clock(p.h.core.Sessions.Preferences(r))
	show, other := clk.zones(ownZone)
	in := func(t *time.Time, zone string) *time.Time {
		if t == nil || t.IsZero() {
			return nil
		}
		z := p.h.core.Zones.Local(*t, zone)
		return &z
	}
	inZone := func(t *time.Time) *time.Time { return in(t, show) }
	v.Zone = format.ZoneLabel(*coalesce(inZone(&pol.StartDate), &pol.StartDate), show)
	v.ViewerTimes, v.PolicyZone = clk.viewer, ownZone
	// Without the viewer's zone, their browser adds its local time.
	v.BrowserAddsLocalTime = other == "" && clk.viewerZone == ""
	for _, d := range []struct {
		key string
		t   *time.Time
	}{
		{"policy.start", &pol.StartDate},
		{"policy.end", pol.EndDate},
		{"policy.termination", pol.TerminationDate},
		{"policy.created", &pol.PolicyCreatedDate},
	} {
		df := policies.DateField{LabelKey: d.key}
		if local := inZone(d.t); local != nil {
			df.Local = f.DateTime(*local)
			df.ISO = local.Format(time.RFC3339)
			df.UTC = f.DateTime(local.UTC())
			if o := in(d.t, other); other != "" && o != nil {
				df.Other, df.OtherZone = f.DateTime(*o), other
				df.DayDiffers = !format.SameDay(*local, *o)
			}
		}
		v.Dates = append(v.Dates, df)
	}

	pd := pol.Quote.PaymentData
	v.Premium = []policies.Field{
		{LabelKey: "policy.gross_premium", Value: f.Money(pd.GrossPremium, pol.Currency)},
		{LabelKey: "policy.premium_tax", Value: f.Money(pd.PremiumTax, pol.Currency)},
		{LabelKey: "policy.net_premium", Value: f.Money(pd.NetPremium, pol.Currency)},
		{LabelKey: "policy.commission", Value: f.Money(pd.NetCommissionTotal, pol.Currency)},
		{LabelKey: "policy.tax_rate", Value: f.Percent(pd.TaxRate)},
		{LabelKey: "policy.gross_payment", Value: f.Money(pol.Quote.GrossPaymentAmount, pol.Currency)},
	}
	if pol.Status == "cancelled" || pol.CancelledAt != nil {
		reason := ""
		if pol.CancellationReason != nil {
			reason = *pol.CancellationReason
		}
		at := "—"
		if c := inZone(pol.CancelledAt); c != nil {
			at = f.DateTime(*c)
		}
		v.Cancellation = []policies.Field{
			{LabelKey: "policy.cancellation_reason", Value: reason},
			{LabelKey: "policy.cancelled_by", Value: pol.CancelledBy, Mono: true},
			{LabelKey: "policy.cancelled_at", Value: at},
		}
	}
	idField := func(key, value string) policies.Field {
		return policies.Field{LabelKey: key, Value: value, Mono: true, Copy: value != ""}
	}
	v.IDs = []policies.Field{
		idField("policy.id", pol.ID),
		idField("policy.version_id", pol.VersionID),
		idField("policy.insurer_policy_id", pol.InsurerPolicyID),
		idField("policy.product_id", pol.ProductID),
		idField("policy.distributor_id", pol.DistributorID),
		idField("policy.customer_id", pol.CustomerID),
	}
	for i, a := range pol.Assets {
		doc := policies.Document{Name: fileName(a.Name, a.Extension), Kind: a.Designation, URL: paths.PolicyDocument(pol.ID, "asset", i)}
		if d := inZone(a.AttachmentDate); d != nil {
			doc.Date = f.Date(*d)
		}
		v.Documents = append(v.Documents, doc)
	}
	for i, m := range pol.Media {
		doc := policies.Document{Name: m.Name, Kind: m.Designation, URL: paths.PolicyDocument(pol.ID, "media", i)}
		if d := inZone(&m.CreatedAt); d != nil {
			doc.Date = f.Date(*d)
		}
		v.Documents = append(v.Documents, doc)
	}
	// An unreadable log fails the page: an empty timeline would say that
	// nothing was ever done to the policy.
	timeline, err := p.h.policyTimeline(ctx, pol.ID)
	if err != nil {
		return v, err
	}
	v.Timeline = timeline
	raw, err := json.MarshalIndent(withoutSignedLinks(pol), "", "  ")
	if err != nil {
		return v, err
	}
	v.RawJSON = string(raw)
	redactView(&v)
	return v, nil
}

// keyLike is anything shaped like a KASKO API key. The upstream puts the
// distributor's public key into every policy (distributor_key), and a
// product's free-form data or metadata may carry any key someone pasted
// there: a page is cached, printed and screen-shared, so no key is shown
// whole. Real keys have 32 characters after the prefix; shorter runs are
// caught too, in case a key format changes.
var keyLike = regexp.MustCompile(`(^|[^A-Za-z0-9])([sp]k_(?:test|live)_[A-Za-z0-9]{12,})`)

// jwtLike is three base64url segments; only those whose first segment is
// a JSON header naming an algorithm are tokens (a host name also has dots).
var jwtLike = regexp.MustCompile(`[A-Za-z0-9_-]{8,}={0,2}\.[A-Za-z0-9_-]{8,}={0,2}\.[A-Za-z0-9_-]*={0,2}`)

// redactSecrets masks every KASKO key and JWT in s the way the dashboard
// shows its own key ("pk_test_…abcd"), leaving everything else as it is.
func redactSecrets(s string) string {
	if strings.Contains(s, "k_") {
		s = keyLike.ReplaceAllStringFunc(s, func(m string) string {
			sub := keyLike.FindStringSubmatch(m)
			return sub[1] + apiclient.MaskKey(sub[2])
		})
	}
	if strings.Contains(s, ".") {
		s = jwtLike.ReplaceAllStringFunc(s, func(m string) string {
			if !isJWTHeader(m[:strings.IndexByte(m, '.')]) {
				return m
			}
			return "JWT…" + m[len(m)-4:]
		})
	}
	return s
}

// isJWTHeader reports whether seg decodes to a JSON object with "alg".
func isJWTHeader(seg string) bool {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(seg, "="))
	if err != nil || !bytes.HasPrefix(bytes.TrimSpace(b), []byte("{")) {
		return false
	}
	var h map[string]any
	if json.Unmarshal(b, &h) != nil {
		return false
	}
	_, ok := h["alg"]
	return ok
}

// redactView masks keys and tokens in everything of v that came from the
// upstream.
func redactView(v *policies.DetailView) {
	v.Meta.Title = redactSecrets(v.Meta.Title)
	v.InsurerPolicyID = redactSecrets(v.InsurerPolicyID)
	v.Holder = redactSecrets(v.Holder)
	v.Product = redactSecrets(v.Product)
	v.CancelBlocked = redactSecrets(v.CancelBlocked)
	v.RawJSON = redactSecrets(v.RawJSON)
	for _, fs := range [][]policies.Field{v.Holders, v.Data, v.Metadata, v.QuoteInput, v.Premium, v.Cancellation, v.IDs} {
		for i := range fs {
			fs[i].Label = redactSecrets(fs[i].Label)
			fs[i].Value = redactSecrets(fs[i].Value)
		}
	}
	for i := range v.Documents {
		v.Documents[i].Name = redactSecrets(v.Documents[i].Name)
		v.Documents[i].Kind = redactSecrets(v.Documents[i].Kind)
	}
}

// withoutSignedLinks is a copy of pol for the raw view: a signed document
// link works for anybody who holds it until it expires, so it stays on the
// server like the key does.
func withoutSignedLinks(pol *kaskoapi.Policy) *kaskoapi.Policy {
	c := *pol
	c.Assets = slices.Clone(pol.Assets)
	for i := range c.Assets {
		c.Assets[i].URL, c.Assets[i].Href = "", ""
	}
	c.Media = slices.Clone(pol.Media)
	for i := range c.Media {
		c.Media[i].URL = ""
	}
	return &c
}

func coalesce(a, b *time.Time) *time.Time {
	if a != nil {
		return a
	}
	return b
}

// freeForm lists a product's free-form fields, labelled from their keys,
// in a stable order.
func freeForm(m map[string]any) []policies.Field {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]policies.Field, 0, len(keys))
	for _, k := range keys {
		out = append(out, policies.Field{Label: format.Humanize(k), Value: format.Value(m[k])})
	}
	return out
}

// backToList returns to the list the user came from (its URL, sort and
// page included) when the referrer is our list, else the plain list.
func backToList(r *http.Request) string {
	if ref, err := url.Parse(r.Referer()); err == nil && ref.Host == r.Host && ref.Path == paths.Policies {
		return ref.RequestURI()
	}
	return paths.Policies
}
