package handlers

import (
	"cmp"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"backoffice/apiclient"
	"backoffice/apiclient/kasko"
	"backoffice/internal/format"
	"backoffice/internal/i18n"
	"backoffice/internal/session"
	"backoffice/views/policies"
)

// Policies serves the policy list and the policy detail.
type Policies struct {
	h *Handlers
}

// defaultSort is the upstream's documented default order.
const defaultSort = "-created_at"

// maxPage bounds page numbers so that offsets cannot overflow.
const maxPage = 1_000_000

// listState is everything a list URL says.
type listState struct {
	Sort  string // "-created_at", "last_name", …
	Page  int    // 1-based
	Size  int
	After string // insurer_policy_id of the previous page's last row
}

// url builds the list URL of a state; cursor pages keep the cursor.
func (s listState) url() string {
	q := url.Values{}
	q.Set("sort", s.Sort)
	q.Set("size", strconv.Itoa(s.Size))
	if s.Page > 1 {
		q.Set("page", strconv.Itoa(s.Page))
	}
	if s.After != "" {
		q.Set("after", s.After)
	}
	return "/policies?" + q.Encode()
}

// parseList reads and checks the list parameters. Unsupported sorts and
// malformed pages are refused with a message; page sizes are clamped to
// the offered ones.
func (p *Policies) parseList(r *http.Request, prefs session.Prefs) (listState, error) {
	q := r.URL.Query()
	s := listState{Sort: defaultSort, Page: 1, Size: prefs.PageSize, After: q.Get("after")}
	if v := q.Get("sort"); v != "" {
		field := strings.TrimPrefix(v, "-")
		if field == "created_date" {
			field = "created_at"
		}
		if !slices.Contains(p.h.sortable, field) {
			return s, &Error{Status: http.StatusBadRequest, MessageKey: "policies.error.sort"}
		}
		s.Sort = strings.Replace(v, "created_date", "created_at", 1)
	}
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPage {
			return s, &Error{Status: http.StatusBadRequest, MessageKey: "policies.error.page"}
		}
		s.Page = n
	}
	if v := q.Get("size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return s, &Error{Status: http.StatusBadRequest, MessageKey: "policies.error.size"}
		}
		s.Size = clampSize(n)
	}
	if s.Page == 1 {
		s.After = ""
	}
	return s, nil
}

// clampSize picks the offered page size nearest to n.
func clampSize(n int) int {
	for _, size := range []int{10, 20, 50, 100} {
		if n <= size {
			return size
		}
	}
	return 100
}

// columns of the list, with the upstream sort field each maps to.
var listColumns = []struct {
	labelKey, field string
	numeric         bool
}{
	{"policies.col.id", "insurer_policy_id", false},
	{"policies.col.holder", "last_name", false},
	{"policies.col.email", "email", false},
	{"policies.col.product", "", false},
	{"policies.col.status", "status", false},
	{"policies.col.start", "start_date", false},
	{"policies.col.end", "end_date", false},
	{"policies.col.premium", "gross_premium", true},
	{"policies.col.created", "created_at", false},
}

// List handles GET /policies: the full page, or with htmx targeting
// #policy-table just the table region.
func (p *Policies) List(w http.ResponseWriter, r *http.Request) error {
	prefs := p.h.sessions.Preferences(r)
	st, err := p.parseList(r, prefs)
	if err != nil {
		return err
	}
	if r.URL.Query().Get("size") != "" && st.Size != prefs.PageSize {
		prefs.PageSize = st.Size
		if err := p.h.sessions.SavePreferences(w, r, prefs); err != nil {
			return err
		}
	}
	v, err := p.load(r, st)
	if err != nil {
		return err
	}
	return p.renderList(w, r, http.StatusOK, v)
}

func (p *Policies) renderList(w http.ResponseWriter, r *http.Request, status int, v policies.ListView) error {
	if isHTMX(r) && r.Header.Get("HX-Target") == "policy-table" {
		return render(w, r, status, policies.Table(v.Table))
	}
	return render(w, r, status, policies.ListPage(v))
}

// load fetches one page and builds the view. Forward paging uses the
// upstream's keyset cursor, so a deep "next" costs what page 1 costs.
func (p *Policies) load(r *http.Request, st listState) (policies.ListView, error) {
	ctx := r.Context()
	user := currentUser(ctx)
	params := kasko.ListParams{Limit: st.Size, Sort: st.Sort, Offset: (st.Page - 1) * st.Size}
	if st.After != "" {
		params.Offset, params.OffsetPolicyID = 0, st.After
	}
	page, err := p.h.kasko(user.Key).ListPolicies(ctx, params)
	staleCursor := err == nil && st.After != "" && len(page.Policies) == 0 && page.Meta.Total > 0
	if st.After != "" && (staleCursor || err != nil && errors.Is(err, apiclient.ErrBadRequest)) {
		// The cursor row is gone, never existed, or was the last one (an
		// old bookmark): fall back to the offset.
		st.After = ""
		params.Offset, params.OffsetPolicyID = (st.Page-1)*st.Size, ""
		page, err = p.h.kasko(user.Key).ListPolicies(ctx, params)
	}
	if err != nil {
		return policies.ListView{}, err
	}
	count := max(1, (page.Meta.Total+st.Size-1)/st.Size)
	if st.Page > count {
		return policies.ListView{}, &Error{Status: http.StatusNotFound, MessageKey: "policies.error.past_end"}
	}
	f := format.New(i18n.Lang(ctx))
	v := policies.ListView{Meta: p.h.meta(r, i18n.T(ctx, "policies.title"))}
	v.Meta.Nav = "policies"
	t := &v.Table
	t.Total, t.Sort, t.Size = page.Meta.Total, st.Sort, st.Size
	if len(page.Policies) > 0 {
		t.From = (st.Page-1)*st.Size + 1
		t.To = t.From + len(page.Policies) - 1
	}
	for _, c := range listColumns {
		col := policies.Column{LabelKey: c.labelKey, Numeric: c.numeric}
		if c.field != "" && slices.Contains(p.h.sortable, c.field) {
			next := listState{Sort: c.field, Page: 1, Size: st.Size}
			col.AriaSort = "none"
			switch st.Sort {
			case c.field:
				col.AriaSort, next.Sort = "ascending", "-"+c.field
			case "-" + c.field:
				col.AriaSort = "descending"
			}
			col.SortURL = next.url()
		}
		t.Columns = append(t.Columns, col)
	}
	clk := p.clock(p.h.sessions.Preferences(r))
	if clk.viewer {
		t.ViewerZone, _ = clk.zones("")
	}
	for i := range page.Policies {
		t.Rows = append(t.Rows, p.row(f, clk, &page.Policies[i]))
	}
	for _, size := range []int{10, 20, 50, 100} {
		t.Sizes = append(t.Sizes, policies.SizeOption{Size: size, Current: size == st.Size,
			URL: listState{Sort: st.Sort, Page: 1, Size: size}.url()})
	}
	t.Pager = pager(st, count, page.Policies)
	return v, nil
}

// pager builds first/prev/next/last and a window of page numbers.
func pager(st listState, count int, rows []kasko.Policy) policies.Pager {
	at := func(n int) string { return listState{Sort: st.Sort, Page: n, Size: st.Size}.url() }
	pg := policies.Pager{Page: st.Page, Count: count}
	if st.Page > 1 {
		pg.First, pg.Prev = at(1), at(st.Page-1)
	}
	if st.Page < count {
		next := listState{Sort: st.Sort, Page: st.Page + 1, Size: st.Size}
		if len(rows) > 0 {
			next.After = rows[len(rows)-1].InsurerPolicyID
		}
		pg.Next, pg.Last = next.url(), at(count)
	}
	window := []int{1}
	for n := st.Page - 2; n <= st.Page+2; n++ {
		if n > 1 && n < count {
			window = append(window, n)
		}
	}
	if count > 1 {
		window = append(window, count)
	}
	for i, n := range window {
		if i > 0 && n > window[i-1]+1 {
			pg.Pages = append(pg.Pages, policies.PageLink{Gap: true})
		}
		pg.Pages = append(pg.Pages, policies.PageLink{Number: n, URL: at(n), Current: n == st.Page})
	}
	return pg
}

// clock is where a viewer wants times shown: each policy's own zone (the
// default), or their own zone.
type clock struct {
	viewer bool
	// viewerZone is the viewer's IANA zone; "" when their browser has not
	// told us yet.
	viewerZone string
}

func (p *Policies) clock(prefs session.Prefs) clock {
	return clock{viewer: prefs.Times == "viewer", viewerZone: prefs.ViewerZone}
}

// zones returns the zone to show a policy's times in, and the zone to show
// beside it ("" for none).
func (c clock) zones(policyZone string) (show, other string) {
	show, other = policyZone, c.viewerZone
	if c.viewer {
		show, other = cmp.Or(c.viewerZone, "UTC"), policyZone
	}
	if other == show {
		other = ""
	}
	return show, other
}

func (p *Policies) row(f *format.Formatter, clk clock, pol *kasko.Policy) policies.Row {
	row := policies.Row{
		URL:             "/policies/" + url.PathEscape(pol.ID),
		InsurerPolicyID: pol.InsurerPolicyID,
		Holder:          strings.TrimSpace(pol.FirstName + " " + pol.LastName),
		Email:           pol.Email,
		EmailRestricted: pol.IsWithheld("email"),
		Product:         p.productName(pol.ProductID),
		StatusKey:       statusKey(pol.Status),
		Status:          statusClass(pol.Status),
		Expired:         pol.Expired,
		Premium:         f.Money(pol.Quote.GrossPaymentAmount, pol.Currency),
	}
	if ld := pol.LocalizedDates; clk.viewer {
		row.Zone, _ = clk.zones("")
		in := func(t *time.Time) *time.Time {
			if t == nil || t.IsZero() {
				return nil
			}
			z, err := p.h.zones.In(*t, row.Zone)
			if err != nil {
				return t
			}
			return &z
		}
		row.Start = dateOrDash(f, in(&pol.StartDate))
		row.End = dateOrDash(f, in(pol.EndDate))
		row.Created = dateOrDash(f, in(&pol.PolicyCreatedDate))
	} else if ld != nil {
		row.Zone = ld.TimeZone
		row.Start = dateOrDash(f, &ld.StartDate)
		row.End = dateOrDash(f, ld.EndDate)
		row.Created = dateOrDash(f, &ld.PolicyCreatedDate)
	} else {
		// Without localized dates the instants are shown in UTC, and say so.
		row.Zone = "UTC"
		row.Start = dateOrDash(f, &pol.StartDate)
		row.End = dateOrDash(f, pol.EndDate)
		row.Created = dateOrDash(f, &pol.PolicyCreatedDate)
	}
	return row
}

func (p *Policies) productName(id string) string {
	if name, ok := p.h.products[id]; ok {
		return name
	}
	return id
}

func dateOrDash(f *format.Formatter, t *time.Time) string {
	if t == nil || t.IsZero() {
		return "—"
	}
	return f.Date(*t)
}

// statusKey maps an upstream status to its catalogue key; an unknown
// status is shown through a generic key rather than dropped.
func statusKey(status string) string {
	switch status {
	case "paid", "accepted", "pending", "cancelled", "ready":
		return "policy.status." + status
	default:
		return "policy.status.other"
	}
}

func statusClass(status string) string {
	switch status {
	case "paid", "accepted", "pending", "cancelled", "ready":
		return status
	default:
		return "other"
	}
}

// Find handles GET /policies/find?q=…: a KASKO id or an insurer policy id
// opens the policy; a miss keeps the list and says so.
func (p *Policies) Find(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	prefs := p.h.sessions.Preferences(r)
	st, err := p.parseList(r, prefs)
	if err != nil {
		st = listState{Sort: defaultSort, Page: 1, Size: prefs.PageSize}
	}
	st.Page, st.After = 1, ""
	alertKey, status := "policies.find.empty", http.StatusBadRequest
	if q != "" {
		if len(q) > 100 || strings.ContainsAny(q, "/?#\\") {
			alertKey = "policies.find.invalid"
		} else {
			pol, err := p.h.kasko(currentUser(ctx).Key).GetPolicy(ctx, q)
			switch {
			case err == nil:
				redirect(w, r, "/policies/"+url.PathEscape(pol.ID))
				return nil
			case errors.Is(err, apiclient.ErrNotFound), errors.Is(err, apiclient.ErrBadRequest):
				alertKey, status = "policies.find.miss", http.StatusNotFound
			default:
				return err
			}
		}
	}
	v, err := p.load(r, st)
	if err != nil {
		return err
	}
	v.FindQuery, v.AlertKey, v.AlertArg = q, alertKey, q
	return p.renderList(w, r, status, v)
}

// Show handles GET /policies/{id}.
func (p *Policies) Show(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id := r.PathValue("id")
	if id == "" || len(id) > 100 {
		return errNotFound
	}
	pol, err := p.h.kasko(currentUser(ctx).Key).GetPolicy(ctx, id)
	if err != nil {
		return err
	}
	v, err := p.detail(r, pol)
	if err != nil {
		return err
	}
	return render(w, r, http.StatusOK, policies.DetailPage(v))
}

func (p *Policies) detail(r *http.Request, pol *kasko.Policy) (policies.DetailView, error) {
	ctx := r.Context()
	f := format.New(i18n.Lang(ctx))
	v := policies.DetailView{
		Meta:            p.h.meta(r, pol.InsurerPolicyID),
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
	v.Meta.Nav = "policies"
	if user := currentUser(ctx); !user.ReadOnly() {
		if op, ok := p.h.findPendingOp(ctx, pol.ID, ""); ok {
			v.ProgressURL = progressURL(op.PolicyID, op.NewVersionID)
		} else if key := cancelBlocker(pol); key != "" {
			v.CancelBlocked = i18n.T(ctx, key)
		} else {
			v.CancelURL = "/policies/" + url.PathEscape(pol.ID) + "/cancel"
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

	policyZone := "UTC"
	if ld := pol.LocalizedDates; ld != nil && ld.TimeZone != "" {
		policyZone = ld.TimeZone
	}
	clk := p.clock(p.h.sessions.Preferences(r))
	show, other := clk.zones(policyZone)
	in := func(t *time.Time, zone string) *time.Time {
		if t == nil || t.IsZero() {
			return nil
		}
		z, err := p.h.zones.In(*t, zone)
		if err != nil {
			return t
		}
		return &z
	}
	inZone := func(t *time.Time) *time.Time { return in(t, show) }
	v.Zone = format.ZoneLabel(*coalesce(inZone(&pol.StartDate), &pol.StartDate), show)
	v.ViewerTimes, v.PolicyZone = clk.viewer, policyZone
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
	base := "/policies/" + url.PathEscape(pol.ID) + "/documents/"
	for i, a := range pol.Assets {
		doc := policies.Document{Name: fileName(a.Name, a.Extension), Kind: a.Designation, URL: base + "asset/" + strconv.Itoa(i)}
		if d := inZone(a.AttachmentDate); d != nil {
			doc.Date = f.Date(*d)
		}
		v.Documents = append(v.Documents, doc)
	}
	for i, m := range pol.Media {
		doc := policies.Document{Name: m.Name, Kind: m.Designation, URL: base + "media/" + strconv.Itoa(i)}
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
	return v, nil
}

// withoutSignedLinks is a copy of pol for the raw view: a signed document
// link works for anybody who holds it until it expires, so it stays on the
// server like the key does.
func withoutSignedLinks(pol *kasko.Policy) *kasko.Policy {
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
	if ref, err := url.Parse(r.Referer()); err == nil && ref.Host == r.Host && ref.Path == "/policies" {
		return ref.RequestURI()
	}
	return "/policies"
}

// fileName makes a download name from an asset's name and extension.
func fileName(name, ext string) string {
	if ext != "" && !strings.HasSuffix(strings.ToLower(name), "."+strings.ToLower(ext)) {
		return name + "." + ext
	}
	return name
}

// Document handles GET /policies/{id}/documents/{kind}/{index}: it streams
// the document through the dashboard, so neither the key nor the signed
// link reaches the browser. An expired link is renewed by reading the
// policy again, once.
func (p *Policies) Document(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	api := p.h.kasko(currentUser(ctx).Key)
	kind := r.PathValue("kind")
	index, err := strconv.Atoi(r.PathValue("index"))
	if err != nil || index < 0 || (kind != "asset" && kind != "media") {
		return errNotFound
	}
	var dl *kasko.Download
	var name string
	for attempt := 0; attempt < 2; attempt++ {
		pol, err := api.GetPolicy(ctx, r.PathValue("id"))
		if err != nil {
			return err
		}
		var link string
		switch {
		case kind == "asset" && index < len(pol.Assets):
			a := pol.Assets[index]
			link, name = a.DownloadURL(), fileName(a.Name, a.Extension)
		case kind == "media" && index < len(pol.Media):
			m := pol.Media[index]
			link, name = m.URL, fileName(m.Name, extensionOf(m.MimeType))
		default:
			return errNotFound
		}
		dl, err = api.DownloadAsset(ctx, link)
		if err == nil {
			break
		}
		if !errors.Is(err, apiclient.ErrForbidden) {
			return err
		}
		if attempt == 1 {
			// A link fresh from the upstream that it refuses is the
			// upstream's fault, not the user's permissions.
			return &Error{Status: http.StatusBadGateway, MessageKey: "error.upstream_unavailable", Err: err}
		}
	}
	defer dl.Body.Close()
	ct := dl.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	h := w.Header()
	h.Set("Content-Type", ct)
	h.Set("Content-Disposition", contentDisposition(name))
	h.Set("Cache-Control", "private, no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	if dl.ContentLength > 0 {
		h.Set("Content-Length", strconv.FormatInt(dl.ContentLength, 10))
	}
	w.WriteHeader(http.StatusOK)
	// A failure halfway means the client or the upstream went away; the
	// status is already sent, so there is nobody left to tell.
	_, _ = io.Copy(w, dl.Body)
	return nil
}

// contentDisposition makes an attachment header for name: quoted when
// it is ASCII, RFC 2231-encoded (filename*) when it is not.
func contentDisposition(name string) string {
	if v := mime.FormatMediaType("attachment", map[string]string{"filename": name}); v != "" {
		return v
	}
	// FormatMediaType refuses names it cannot encode (control characters).
	return mime.FormatMediaType("attachment", map[string]string{"filename": "document"})
}

// extensionOf picks the usual file extension for a media type, without
// the dot; "" when unknown.
func extensionOf(mimeType string) string {
	mt, _, err := mime.ParseMediaType(mimeType)
	if err != nil {
		return ""
	}
	switch mt { // the common ones, where the registry lists several
	case "image/jpeg":
		return "jpg"
	case "text/plain":
		return "txt"
	}
	exts, err := mime.ExtensionsByType(mt)
	if err != nil || len(exts) == 0 {
		return ""
	}
	return strings.TrimPrefix(exts[0], ".")
}
