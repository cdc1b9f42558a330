package kasko

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"backoffice/apiclient"
	kaskoapi "backoffice/apiclient/kasko"
	"backoffice/handlers"
	"backoffice/internal/format"
	"backoffice/internal/i18n"
	"backoffice/internal/paths"
	"backoffice/internal/session"
	"backoffice/views/layout"
	"backoffice/views/policies"
)

// defaultSort is the upstream's documented default order.
const defaultSort = "-created_at"

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
	return paths.PolicyList(q)
}

// parseList reads and checks the list parameters. Unsupported sorts and
// malformed pages are refused with a message; page sizes are clamped to
// the offered ones.
func (p *Policies) parseList(r *http.Request, prefs session.Prefs) (listState, error) {
	return p.parseListSorted(r, prefs, false)
}

// parseListSorted is parseList; indexed lists check their sort
// themselves (every column sorts there), so anySort skips the upstream's.
func (p *Policies) parseListSorted(r *http.Request, prefs session.Prefs, anySort bool) (listState, error) {
	q := r.URL.Query()
	s := listState{Sort: defaultSort, Page: 1, Size: prefs.PageSize, After: q.Get("after")}
	if v := q.Get("sort"); v != "" {
		field := strings.TrimPrefix(v, "-")
		if field == "created_date" {
			field = "created_at"
		}
		if !anySort && !slices.Contains(p.h.sortable, field) {
			return s, &handlers.Error{Status: http.StatusBadRequest, MessageKey: "policies.error.sort"}
		}
		s.Sort = strings.Replace(v, "created_date", "created_at", 1)
	}
	if v := q.Get("page"); v != "" {
		n, ok := handlers.PageNumber(v)
		if !ok {
			return s, handlers.BadRequest("policies.error.page")
		}
		s.Page = n
	}
	if v := q.Get("size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return s, &handlers.Error{Status: http.StatusBadRequest, MessageKey: "policies.error.size"}
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
	prefs := p.h.core.Sessions.Preferences(r)
	sync, indexed, indexFailed := p.indexCovers(r.Context(), currentUser(r.Context()).Tenant)
	st, err := p.parseListSorted(r, prefs, indexed)
	if err != nil {
		return err
	}
	if !indexed && r.URL.Query().Get("q") != "" {
		// Without an index the box finds by id only.
		return p.Find(w, r)
	}
	if r.URL.Query().Get("size") != "" && st.Size != prefs.PageSize {
		prefs.PageSize = st.Size
		if err := p.h.core.Sessions.SavePreferences(w, r, prefs); err != nil {
			return err
		}
	}
	if indexed {
		return p.listIndexed(w, r, st, sync)
	}
	v, err := p.load(r, st)
	if err != nil {
		return err
	}
	if p.h.index != nil {
		v.Fresh.State = policies.FreshUpstream
		if indexFailed {
			v.Fresh.State = policies.FreshUnavailable
		}
	}
	return p.renderList(w, r, http.StatusOK, v)
}

func (p *Policies) renderList(w http.ResponseWriter, r *http.Request, status int, v policies.ListView) error {
	if handlers.IsHTMX(r) && r.Header.Get("HX-Target") == "policy-table" {
		if v.Region != nil {
			return handlers.Render(w, r, status, v.Region)
		}
		return handlers.Render(w, r, status, policies.Table(v.Table))
	}
	return handlers.Render(w, r, status, policies.ListPage(v))
}

// load fetches one page and builds the view. Forward paging uses the
// upstream's keyset cursor, so a deep "next" costs what page 1 costs.
func (p *Policies) load(r *http.Request, st listState) (policies.ListView, error) {
	ctx := r.Context()
	params := kaskoapi.ListParams{Limit: st.Size, Sort: st.Sort, Offset: (st.Page - 1) * st.Size}
	if st.After != "" {
		params.Offset, params.OffsetPolicyID = 0, st.After
	}
	page, err := p.h.api(ctx).ListPolicies(ctx, params)
	staleCursor := err == nil && st.After != "" && len(page.Policies) == 0 && page.Meta.Total > 0
	if st.After != "" && (staleCursor || err != nil && errors.Is(err, apiclient.ErrBadRequest)) {
		// The cursor row is gone, never existed, or was the last one (an
		// old bookmark): fall back to the offset.
		st.After = ""
		params.Offset, params.OffsetPolicyID = (st.Page-1)*st.Size, ""
		page, err = p.h.api(ctx).ListPolicies(ctx, params)
	}
	if err != nil {
		return policies.ListView{}, err
	}
	count := max(1, (page.Meta.Total+st.Size-1)/st.Size)
	if st.Page > count {
		return policies.ListView{}, &handlers.Error{Status: http.StatusNotFound, MessageKey: "policies.error.past_end"}
	}
	f := formatter(ctx)
	v := policies.ListView{Meta: p.h.core.Meta(r, i18n.T(ctx, "policies.title"))}
	v.Meta.Nav = layout.SectionPolicies
	t := &v.Table
	t.Total, t.Sort, t.Size = page.Meta.Total, st.Sort, st.Size
	if len(page.Policies) > 0 {
		t.From = (st.Page-1)*st.Size + 1
		t.To = t.From + len(page.Policies) - 1
	}
	for _, c := range listColumns {
		col := policies.Column{LabelKey: c.labelKey, Numeric: c.numeric}
		if c.field != "" && slices.Contains(p.h.sortable, c.field) {
			sortable(&col, c.field, st.Sort, func(sort string) string { return listState{Sort: sort, Page: 1, Size: st.Size}.url() })
		}
		t.Columns = append(t.Columns, col)
	}
	clk := p.clock(p.h.core.Sessions.Preferences(r))
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
func pager(st listState, count int, rows []kaskoapi.Policy) policies.Pager {
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
	pg.Pages = pageWindow(st.Page, count, at)
	return pg
}

// sortable makes col a sort link on field: ascending first, reversed
// when the list is already sorted by it ascending; at builds the URL of
// the list in a given order.
func sortable(col *policies.Column, field, current string, at func(sort string) string) {
	col.AriaSort = policies.SortNone
	next := field
	switch current {
	case field:
		col.AriaSort, next = policies.SortAscending, "-"+field
	case "-" + field:
		col.AriaSort = policies.SortDescending
	}
	col.SortURL = at(next)
}

// pageWindow numbers the first and last pages and two on each side of
// the current one, with gaps between.
func pageWindow(page, count int, at func(int) string) []policies.PageLink {
	window := []int{1}
	for n := page - 2; n <= page+2; n++ {
		if n > 1 && n < count {
			window = append(window, n)
		}
	}
	if count > 1 {
		window = append(window, count)
	}
	var links []policies.PageLink
	for i, n := range window {
		if i > 0 && n > window[i-1]+1 {
			links = append(links, policies.PageLink{Gap: true})
		}
		links = append(links, policies.PageLink{Number: n, URL: at(n), Current: n == page})
	}
	return links
}

func (p *Policies) row(f *format.Formatter, clk clock, pol *kaskoapi.Policy) policies.Row {
	row := policies.Row{
		URL:             paths.Policy(pol.ID),
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
			z := p.h.core.Zones.Local(*t, row.Zone)
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

// Find handles GET /policies/find?q=…: a KASKO id or an insurer policy id
// opens the policy; a miss keeps the list and says so.
func (p *Policies) Find(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	prefs := p.h.core.Sessions.Preferences(r)
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
			pol, err := p.h.api(ctx).GetPolicy(ctx, q)
			switch {
			case err == nil:
				handlers.Redirect(w, r, paths.Policy(pol.ID))
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
