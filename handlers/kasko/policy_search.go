package kasko

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/a-h/templ"

	"backoffice/apiclient"
	"backoffice/handlers"
	"backoffice/internal/format"
	"backoffice/internal/i18n"
	"backoffice/internal/index"
	"backoffice/internal/paths"
	"backoffice/views/layout"
	"backoffice/views/policies"
)

// knownStatuses are the statuses the status filter always offers; others
// the index holds are offered too, with their counts.
var knownStatuses = []string{"pending", "accepted", "paid", "cancelled"}

// searchState is everything an indexed list URL says: the list state,
// the search text and the filters, kept as typed so that a refused value
// stays in its field.
type searchState struct {
	listState
	Q                      string
	Status, Product, Curr  []string
	Expired                string // "", "yes", "no"
	CreatedFrom, CreatedTo string
	StartFrom, StartTo     string
	EndFrom, EndTo         string
	// TerminatedFrom/To and InForce are what the overview's figures link
	// to: cancellations that took effect in a period, policies in force
	// on a day.
	TerminatedFrom, TerminatedTo string
	InForce                      string
	PremiumMin, PremiumMax       string
	premiumMin, premiumMax       *int64
	// View is the saved view the list was opened as ("view"); Cols its
	// own columns ("cols"); shown the columns drawn (not in the URL).
	View, Cols string
	shown      []string
}

// filterProblem is a refused filter value: which filter, and why.
type filterProblem struct{ key, arg string }

// values is the URL query of the state; page and cursor only when set.
func (s searchState) values() url.Values {
	q := url.Values{}
	if s.Q != "" {
		q.Set("q", s.Q)
	}
	for _, f := range []struct {
		name string
		vals []string
	}{{"status", s.Status}, {"product", s.Product}, {"currency", s.Curr}} {
		for _, v := range f.vals {
			q.Add(f.name, v)
		}
	}
	for name, v := range map[string]string{"expired": s.Expired, "created_from": s.CreatedFrom, "created_to": s.CreatedTo,
		"start_from": s.StartFrom, "start_to": s.StartTo, "end_from": s.EndFrom, "end_to": s.EndTo,
		"terminated_from": s.TerminatedFrom, "terminated_to": s.TerminatedTo, "in_force": s.InForce,
		"premium_min": s.PremiumMin, "premium_max": s.PremiumMax} {
		if v != "" {
			q.Set(name, v)
		}
	}
	if s.Sort != "" {
		q.Set("sort", s.Sort)
	}
	if s.View != "" {
		q.Set("view", s.View)
	}
	if s.Cols != "" {
		q.Set("cols", s.Cols)
	}
	q.Set("size", strconv.Itoa(s.Size))
	if s.Page > 1 {
		q.Set("page", strconv.Itoa(s.Page))
	}
	return q
}

func (s searchState) url() string { return paths.PolicyList(s.values()) }

// at is the state on another page (or with another order), same filters.
func (s searchState) at(page int) searchState {
	s.Page, s.After = page, ""
	return s
}

// active counts the filters in use (not the search text).
func (s searchState) active() int {
	n := len(s.Status) + len(s.Product) + len(s.Curr)
	for _, v := range []string{s.Expired, s.CreatedFrom + s.CreatedTo, s.StartFrom + s.StartTo, s.EndFrom + s.EndTo,
		s.TerminatedFrom + s.TerminatedTo, s.InForce, s.PremiumMin + s.PremiumMax} {
		if v != "" {
			n++
		}
	}
	return n
}

var (
	currencyPattern = regexp.MustCompile(`^[a-z]{3}$`)
	productPattern  = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,64}$`)
	amountPattern   = regexp.MustCompile(`^\d{1,12}(?:[.,]\d{1,2})?$`)
)

// parseSearch reads an indexed list URL. Bad list parameters (sort, page,
// size) are refused like the upstream list refuses them; bad filter
// values come back as problems, by filter, for the panel to show.
func (p *Policies) parseSearch(r *http.Request, st listState, public bool) (searchState, map[string]filterProblem, error) {
	q := r.URL.Query()
	s := searchState{listState: st}
	s.Q = strings.TrimSpace(strings.ToValidUTF8(q.Get("q"), ""))
	s.View, s.Cols = viewParams(q, public)
	if utf8.RuneCountInString(s.Q) > index.MaxTextRunes {
		s.Q = string([]rune(s.Q)[:index.MaxTextRunes])
	}
	// The sort: any column of the index, and relevance with a search.
	s.Sort = ""
	if v := q.Get("sort"); v != "" {
		field := strings.TrimPrefix(v, "-")
		if field == "created_date" {
			field = index.SortCreated
			v = strings.Replace(v, "created_date", index.SortCreated, 1)
		}
		if !slices.Contains(index.SortFields, field) || public && field == index.SortEmail {
			return s, nil, &handlers.Error{Status: http.StatusBadRequest, MessageKey: "policies.error.sort"}
		}
		s.Sort = v
	}
	problems := map[string]filterProblem{}
	multi := func(name string, ok func(string) bool) []string {
		var out []string
		for _, v := range q[name] {
			v = strings.TrimSpace(v)
			if v == "" || slices.Contains(out, v) {
				continue
			}
			if len(out) >= 32 {
				// More values than any filter has options: refused, and
				// not carried further (into URLs or cache keys).
				problems[name] = filterProblem{"policies.filter.error.value", clip(v)}
				break
			}
			if !ok(v) {
				problems[name] = filterProblem{"policies.filter.error.value", clip(v)}
				v = clip(v)
			}
			out = append(out, v)
		}
		return out
	}
	s.Status = multi("status", func(v string) bool { return slices.Contains(knownStatuses, v) || v == "ready" })
	s.Product = multi("product", p.productFilterable)
	s.Curr = multi("currency", func(v string) bool { return currencyPattern.MatchString(v) })
	switch s.Expired = q.Get("expired"); s.Expired {
	case "", "yes", "no":
	default:
		problems["expired"] = filterProblem{"policies.filter.error.value", clip(s.Expired)}
	}
	for _, rg := range []struct {
		id       string
		from, to *string
	}{{"created", &s.CreatedFrom, &s.CreatedTo}, {"start", &s.StartFrom, &s.StartTo}, {"end", &s.EndFrom, &s.EndTo},
		{"terminated", &s.TerminatedFrom, &s.TerminatedTo}} {
		*rg.from, *rg.to = strings.TrimSpace(q.Get(rg.id+"_from")), strings.TrimSpace(q.Get(rg.id+"_to"))
		var from, to time.Time
		var err error
		if *rg.from != "" {
			if from, err = time.Parse(time.DateOnly, *rg.from); err != nil {
				problems[rg.id] = filterProblem{"policies.filter.error.date", clip(*rg.from)}
				continue
			}
		}
		if *rg.to != "" {
			if to, err = time.Parse(time.DateOnly, *rg.to); err != nil {
				problems[rg.id] = filterProblem{"policies.filter.error.date", clip(*rg.to)}
				continue
			}
		}
		if !from.IsZero() && !to.IsZero() && to.Before(from) {
			problems[rg.id] = filterProblem{"policies.filter.error.inverted", ""}
		}
	}
	if s.InForce = strings.TrimSpace(q.Get("in_force")); s.InForce != "" {
		if _, err := time.Parse(time.DateOnly, s.InForce); err != nil {
			problems["in_force"] = filterProblem{"policies.filter.error.date", clip(s.InForce)}
		}
	}
	s.PremiumMin, s.PremiumMax = strings.TrimSpace(q.Get("premium_min")), strings.TrimSpace(q.Get("premium_max"))
	for _, a := range []struct {
		raw string
		dst **int64
	}{{s.PremiumMin, &s.premiumMin}, {s.PremiumMax, &s.premiumMax}} {
		if a.raw == "" {
			continue
		}
		minor, ok := minorUnits(a.raw)
		if !ok {
			problems["premium"] = filterProblem{"policies.filter.error.amount", clip(a.raw)}
			continue
		}
		*a.dst = &minor
	}
	if s.premiumMin != nil && s.premiumMax != nil && *s.premiumMax < *s.premiumMin {
		problems["premium"] = filterProblem{"policies.filter.error.inverted", ""}
	}
	return s, problems, nil
}

// productFilterable reports whether the list's product filter takes id:
// a configured product, or any well-formed id when none are configured.
func (p *Policies) productFilterable(id string) bool {
	if len(p.h.products) > 0 {
		_, ok := p.h.products[id]
		return ok
	}
	return productPattern.MatchString(id)
}

// minorUnits reads an amount typed in major units ("1250", "1250.5",
// "1250,50") as minor units, without going through a float. Every
// currency the KASKO products sell in has two decimals.
func minorUnits(s string) (int64, bool) {
	if !amountPattern.MatchString(s) {
		return 0, false
	}
	whole, frac, _ := strings.Cut(strings.Replace(s, ",", ".", 1), ".")
	for len(frac) < 2 {
		frac += "0"
	}
	n, err := strconv.ParseInt(whole+frac, 10, 64)
	return n, err == nil
}

// clip shortens a refused value for its message.
func clip(v string) string {
	if utf8.RuneCountInString(v) > 40 {
		return string([]rune(v)[:40]) + "…"
	}
	return v
}

// indexQuery is the store's query for a state, as reader.
func (s searchState) indexQuery(tenant string, public bool) index.Query {
	q := index.Query{Tenant: tenant, Public: public, Text: s.Q, Status: s.Status, Product: s.Product, Currency: s.Curr,
		CreatedFrom: s.CreatedFrom, CreatedTo: s.CreatedTo, StartFrom: s.StartFrom, StartTo: s.StartTo,
		EndFrom: s.EndFrom, EndTo: s.EndTo, TerminatedFrom: s.TerminatedFrom, TerminatedTo: s.TerminatedTo, InForceOn: s.InForce,
		PremiumMin: s.premiumMin, PremiumMax: s.premiumMax,
		Sort: s.Sort, Offset: (s.Page - 1) * s.Size, Limit: s.Size}
	if s.Expired != "" {
		yes := s.Expired == "yes"
		q.Expired = &yes
	}
	return q
}

// indexCovers reports whether the index holds (or is filling) the
// tenant's rows, with its sync state and change counter; failed, that
// the index could not be read.
func (p *Policies) indexCovers(ctx context.Context, tenant string) (tv tenantView, covered, failed bool) {
	if p.h.index == nil {
		return tenantView{}, false, false
	}
	tv, err := p.h.views.get(ctx, p.h.index, tenant, p.h.now())
	if err != nil {
		// The upstream list still works: a failing index costs search,
		// not the list.
		p.h.core.Log.WarnContext(ctx, "policy index unavailable; listing from the upstream", "err", err)
		return tv, false, true
	}
	return tv, !tv.sync.FullStarted.IsZero() || !tv.sync.FullDone.IsZero(), false
}

// freshness is what the list says of the index's age and progress.
func (p *Policies) freshness(st index.SyncState) policies.Freshness {
	f := policies.Freshness{State: policies.FreshLive, Error: st.Error}
	if st.FullDone.IsZero() {
		f.State, f.Done, f.Total = policies.FreshSyncing, st.Done, st.Total
		if st.Total > 0 {
			f.Percent = min(99, st.Done*100/st.Total)
		}
		return f
	}
	last := st.FullDone
	if st.Polled.After(last) {
		last = st.Polled
	}
	f.Ago = ago(p.h.now().Sub(last))
	return f
}

// ago is a short, language-neutral age: "12 s", "4 min", "3 h", "2 d".
func ago(d time.Duration) string {
	switch {
	case d < time.Minute:
		return strconv.Itoa(max(0, int(d.Seconds()))) + " s"
	case d < time.Hour:
		return strconv.Itoa(int(d.Minutes())) + " min"
	case d < 48*time.Hour:
		return strconv.Itoa(int(d.Hours())) + " h"
	default:
		return strconv.Itoa(int(d.Hours()/24)) + " d"
	}
}

// listIndexed serves the list from the index: search, filters with
// counts, any order. A plain submit of an exact id opens that policy.
func (p *Policies) listIndexed(w http.ResponseWriter, r *http.Request, st listState, tv tenantView) error {
	ctx := r.Context()
	u := currentUser(ctx)
	public := u.ReadOnly()
	s, problems, err := p.parseSearch(r, st, public)
	if err != nil {
		return err
	}
	clk := p.clock(p.h.core.Sessions.Preferences(r))
	s.shown = shownColumns(s.Cols, p.h.core.Sessions.Preferences(r), public)
	key := regionKey(u.Tenant, tv.changed, public, i18n.Lang(ctx), clk, s.values().Encode()+"\x00"+strings.Join(s.shown, ","))
	rg, hit := p.h.regions.get(key)
	if !hit {
		if rg, err = p.region(ctx, s, problems, public, clk); err != nil {
			return err
		}
		p.h.regions.put(key, rg)
	}
	// A submit of an exact id opens that policy; typing (htmx), or the
	// searched URL met again (Back, a link), lists it: the search box
	// sends "open" with a submit alone.
	if s.Q != "" && !handlers.IsHTMX(r) && r.URL.Query().Get("open") != "" && len(problems) == 0 {
		// Asked here, not with the region: a search of its own, which
		// only a submit needs.
		id, err := p.indexedID(ctx, u.Tenant, public, s.Q)
		if err != nil {
			return err
		}
		if id == "" {
			if id, err = p.upstreamID(ctx, s.Q); err != nil {
				return err
			}
		}
		if id != "" {
			handlers.Redirect(w, r, paths.Policy(id))
			return nil
		}
	}
	if handlers.IsHTMX(r) && r.Header.Get("HX-Target") == "policy-table" {
		// The address bar shows the list's own URL, without the empty
		// fields a form sends. Typing replaces it (Back skips every
		// keystroke); a filter, an order or a page is a step Back undoes.
		if r.Header.Get("X-Live-Search") != "" {
			w.Header().Set("HX-Replace-Url", s.url())
		} else {
			w.Header().Set("HX-Push-Url", s.url())
		}
	}
	v := policies.ListView{Meta: p.h.core.Meta(r, i18n.T(ctx, "policies.title")), Indexed: true, FindQuery: s.Q, Fresh: p.freshness(tv.sync)}
	v.Meta.Nav = layout.SectionPolicies
	v.View = p.openView(r, s)
	if rg.pastEnd {
		return &handlers.Error{Status: http.StatusNotFound, MessageKey: "policies.error.past_end"}
	}
	status := http.StatusOK
	if rg.problems {
		status = http.StatusBadRequest
	}
	v.Region = templ.Raw(string(rg.html))
	return p.renderList(w, r, status, v)
}

// region renders the list region of a state: the query, the counts, the
// rows; with refused filters, the panel saying which and no rows.
func (p *Policies) region(ctx context.Context, s searchState, problems map[string]filterProblem, public bool, clk clock) (region, error) {
	u := currentUser(ctx)
	var err error
	var t policies.TableView
	t.Sort, t.Size, t.Searching = s.Sort, s.Size, s.Q
	q := s.indexQuery(u.Tenant, public)
	var page index.Page
	if len(problems) > 0 {
		t.Invalid = true
	} else if page, err = p.h.index.Search(ctx, q); err != nil {
		return region{}, err
	}
	facets := index.Facets{}
	if len(problems) == 0 {
		if facets, err = p.h.index.Facets(ctx, q); err != nil {
			return region{}, err
		}
	}
	count := max(1, (page.Total+s.Size-1)/s.Size)
	if s.Page > count && len(problems) == 0 {
		return region{pastEnd: true}, nil
	}
	t.Total, t.Capped = page.Total, page.Capped
	if len(page.Rows) > 0 {
		t.From = (s.Page-1)*s.Size + 1
		t.To = t.From + len(page.Rows) - 1
	}
	t.Filters = p.filterPanel(s, facets, problems)
	t.Shown, t.Tools, t.ViewID, t.Cols = s.shown, listTools(s, public), s.View, s.Cols
	for _, c := range indexColumns {
		if !slices.Contains(s.shown, columnID(c.labelKey)) {
			continue
		}
		col := policies.Column{LabelKey: c.labelKey, Numeric: c.numeric}
		if c.field != index.SortEmail || !public {
			sortable(&col, c.field, s.Sort, func(sort string) string {
				next := s.at(1)
				next.Sort = sort
				return next.url()
			})
		}
		t.Columns = append(t.Columns, col)
	}
	f := formatter(ctx)
	if clk.viewer {
		t.ViewerZone, _ = clk.zones("")
	}
	terms := index.Terms(s.Q)
	for i := range page.Rows {
		t.Rows = append(t.Rows, p.indexRow(f, clk, &page.Rows[i], terms, public))
	}
	for _, size := range []int{10, 20, 50, 100} {
		next := s.at(1)
		next.Size = size
		t.Sizes = append(t.Sizes, policies.SizeOption{Size: size, Current: size == s.Size, URL: next.url()})
	}
	t.Pager = searchPager(s, count)
	var buf bytes.Buffer
	if err := policies.Table(t).Render(ctx, &buf); err != nil {
		return region{}, err
	}
	return region{html: buf.Bytes(), problems: len(problems) > 0}, nil
}

// indexColumns are the list's columns with the index field each sorts by:
// every column sorts, the index being ours.
var indexColumns = []struct {
	labelKey, field string
	numeric         bool
}{
	{"policies.col.id", index.SortInsurerID, false},
	{"policies.col.holder", index.SortHolder, false},
	{"policies.col.email", index.SortEmail, false},
	{"policies.col.product", index.SortProduct, false},
	{"policies.col.status", index.SortStatus, false},
	{"policies.col.start", index.SortStart, false},
	{"policies.col.end", index.SortEnd, false},
	{"policies.col.premium", index.SortPremium, true},
	{"policies.col.created", index.SortCreated, false},
}

// indexedID is the KASKO id of the indexed policy whose id, insurer id
// or external id is text exactly ("" for none).
func (p *Policies) indexedID(ctx context.Context, tenant string, public bool, text string) (string, error) {
	if len(text) > 100 || strings.ContainsAny(text, "/?#\\ ") {
		return "", nil
	}
	page, err := p.h.index.Search(ctx, index.Query{Tenant: tenant, Public: public, Text: text, Sort: index.SortRelevance, Limit: 1})
	if err != nil {
		return "", err
	}
	for _, row := range page.Rows {
		for _, id := range []string{row.ID, row.InsurerID, row.ExternalID} {
			if id != "" && strings.EqualFold(id, text) {
				return row.ID, nil
			}
		}
	}
	return "", nil
}

// upstreamID asks the upstream for a KASKO id the index does not hold
// (yet: a policy made a moment ago); "" when it has none either.
func (p *Policies) upstreamID(ctx context.Context, text string) (string, error) {
	if len(text) > 100 || strings.ContainsAny(text, "/?#\\ ") || !strings.HasPrefix(text, "tpol_") && !strings.HasPrefix(text, "lpol_") {
		return "", nil
	}
	pol, err := p.h.api(ctx).GetPolicy(ctx, text)
	switch {
	case err == nil:
		return pol.ID, nil
	case errors.Is(err, apiclient.ErrNotFound), errors.Is(err, apiclient.ErrBadRequest):
		return "", nil
	default:
		return "", err
	}
}

// searchPager is pager for an indexed list: plain offsets, the index
// pages as cheaply deep as shallow.
func searchPager(s searchState, count int) policies.Pager {
	at := func(n int) string { return s.at(n).url() }
	pg := policies.Pager{Page: s.Page, Count: count}
	if s.Page > 1 {
		pg.First, pg.Prev = at(1), at(s.Page-1)
	}
	if s.Page < count {
		pg.Next, pg.Last = at(s.Page+1), at(count)
	}
	pg.Pages = pageWindow(s.Page, count, at)
	return pg
}

// filterPanel builds the panel: every option with its count, the ranges,
// and what is wrong with a refused value.
func (p *Policies) filterPanel(s searchState, fc index.Facets, problems map[string]filterProblem) *policies.FilterPanel {
	panel := &policies.FilterPanel{Active: s.active(), Open: s.active() > 0 || len(problems) > 0}
	clear := searchState{listState: s.listState, Q: s.Q}
	panel.ClearURL = clear.at(1).url()

	statuses := slices.Clone(knownStatuses)
	for st := range fc.Status {
		if !slices.Contains(statuses, st) {
			statuses = append(statuses, st)
		}
	}
	g := policies.FilterGroup{ID: "status", LabelKey: "policies.filter.status"}
	for _, st := range statuses {
		g.Options = append(g.Options, policies.FilterOption{Value: st, LabelKey: statusKey(st), Count: fc.Status[st], Counted: true, Checked: slices.Contains(s.Status, st)})
	}
	panel.Groups = append(panel.Groups, g)

	products := slices.Collect(maps.Keys(p.h.products))
	for id := range fc.Product {
		if !slices.Contains(products, id) {
			products = append(products, id)
		}
	}
	slices.SortFunc(products, func(a, b string) int { return strings.Compare(p.productName(a), p.productName(b)) })
	g = policies.FilterGroup{ID: "product", LabelKey: "policies.filter.product"}
	for _, id := range products {
		g.Options = append(g.Options, policies.FilterOption{Value: id, Label: p.productName(id), Count: fc.Product[id], Counted: true, Checked: slices.Contains(s.Product, id)})
	}
	panel.Groups = append(panel.Groups, g)

	currencies := slices.Sorted(maps.Keys(fc.Currency))
	for _, c := range s.Curr {
		if !slices.Contains(currencies, c) {
			currencies = append(currencies, c)
		}
	}
	g = policies.FilterGroup{ID: "currency", LabelKey: "policies.filter.currency"}
	for _, c := range currencies {
		g.Options = append(g.Options, policies.FilterOption{Value: c, Label: strings.ToUpper(c), Count: fc.Currency[c], Counted: true, Checked: slices.Contains(s.Curr, c)})
	}
	panel.Groups = append(panel.Groups, g)

	g = policies.FilterGroup{ID: "expired", LabelKey: "policies.filter.expired", Radio: true, Options: []policies.FilterOption{
		{Value: "", LabelKey: "policies.filter.expired.any", Checked: s.Expired == ""},
		{Value: "no", LabelKey: "policies.filter.expired.no", Count: fc.Expired[false], Counted: true, Checked: s.Expired == "no"},
		{Value: "yes", LabelKey: "policies.filter.expired.yes", Count: fc.Expired[true], Counted: true, Checked: s.Expired == "yes"},
	}}
	panel.Groups = append(panel.Groups, g)
	for i := range panel.Groups {
		if pr, ok := problems[panel.Groups[i].ID]; ok {
			panel.Groups[i].ErrorKey, panel.Groups[i].ErrorArg = pr.key, pr.arg
		}
	}

	panel.Ranges = []policies.RangeFilter{
		{ID: "created", LabelKey: "policies.filter.created", Type: "date", FromName: "created_from", ToName: "created_to", From: s.CreatedFrom, To: s.CreatedTo},
		{ID: "start", LabelKey: "policies.filter.start", Type: "date", FromName: "start_from", ToName: "start_to", From: s.StartFrom, To: s.StartTo},
		{ID: "end", LabelKey: "policies.filter.end", Type: "date", FromName: "end_from", ToName: "end_to", From: s.EndFrom, To: s.EndTo},
		{ID: "terminated", LabelKey: "policies.filter.terminated", Type: "date", FromName: "terminated_from", ToName: "terminated_to", From: s.TerminatedFrom, To: s.TerminatedTo},
		{ID: "in_force", LabelKey: "policies.filter.in_force", Type: "date", FromName: "in_force", From: s.InForce, Single: true},
		{ID: "premium", LabelKey: "policies.filter.premium", Type: "number", FromName: "premium_min", ToName: "premium_max", From: s.PremiumMin, To: s.PremiumMax, HintKey: "policies.filter.premium_hint"},
	}
	for i := range panel.Ranges {
		if pr, ok := problems[panel.Ranges[i].ID]; ok {
			panel.Ranges[i].ErrorKey, panel.Ranges[i].ErrorArg = pr.key, pr.arg
		}
	}
	return panel
}

// indexRow is one index row as the table shows it, with the search's
// matches marked.
func (p *Policies) indexRow(f *format.Formatter, clk clock, r *index.Row, terms []string, public bool) policies.Row {
	row := policies.Row{
		URL:             paths.Policy(r.ID),
		InsurerPolicyID: r.InsurerID,
		Holder:          strings.TrimSpace(r.FirstName + " " + r.LastName),
		Email:           r.Email,
		EmailRestricted: public,
		Product:         p.productName(r.ProductID),
		StatusKey:       statusKey(r.Status),
		Status:          statusClass(r.Status),
		Expired:         r.Expired,
		Premium:         f.Money(r.GrossMinor, r.Currency),
	}
	row.Zone = r.Zone
	if row.Zone == "" {
		row.Zone = "UTC"
	}
	if clk.viewer {
		row.Zone, _ = clk.zones("")
	}
	in := func(t time.Time) *time.Time {
		if t.IsZero() {
			return nil
		}
		z := p.h.core.Zones.Local(t, row.Zone)
		return &z
	}
	row.Start, row.End, row.Created = dateOrDash(f, in(r.StartDate)), dateOrDash(f, in(r.EndDate)), dateOrDash(f, in(r.CreatedAt))
	if len(terms) > 0 {
		row.IDMarks = highlight(row.InsurerPolicyID, terms)
		row.HolderMarks = highlight(row.Holder, terms)
		if !public {
			row.EmailMarks = highlight(row.Email, terms)
		}
	}
	return row
}
