package kasko

import (
	"cmp"
	"context"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"backoffice/handlers"
	"backoffice/internal/audit"
	"backoffice/internal/format"
	"backoffice/internal/i18n"
	"backoffice/internal/index"
	"backoffice/internal/paths"
	"backoffice/views/layout"
	"backoffice/views/review"
)

// Review serves the managers' overview (GET /review) and the expiry
// worklist (GET /review/expiring), for every KASKO role, from the
// session tenant's policy index.
type Review struct {
	h *Handlers
}

// Periods the overview offers; custom takes from and to.
const (
	periodMonth     = "month"
	periodLastMonth = "last-month"
	periodQuarter   = "quarter"
	periodYear      = "year"
	periodCustom    = "custom"
)

// maxPeriodDays bounds a custom period (and so the work one overview
// asks of the index).
const maxPeriodDays = 5 * 366

// reviewPeriod is a period of days in the viewer's zone, the one before
// it, and how the charts split it.
type reviewPeriod struct {
	kind             string
	from, to         time.Time // midnight of the first and last day
	prevFrom, prevTo time.Time
	monthly          bool
	// toDate: the period is still running and ends today here.
	toDate bool
}

// today is the viewer's date: their browser's zone when known, else UTC.
func (h *Handlers) today(r *http.Request) time.Time {
	loc := time.UTC
	if z := h.core.Sessions.Preferences(r).ViewerZone; z != "" {
		if l, err := time.LoadLocation(z); err == nil {
			loc = l
		}
	}
	n := h.now().In(loc)
	return time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, time.UTC)
}

// parsePeriod reads ?period= (and from, to); a refused custom range
// comes back as its message key and argument.
func parsePeriod(q url.Values, today time.Time) (p reviewPeriod, errKey, errArg string) {
	p.kind = cmp.Or(q.Get("period"), periodMonth)
	month := time.Date(today.Year(), today.Month(), 1, 0, 0, 0, 0, time.UTC)
	switch p.kind {
	case periodMonth:
		p.from, p.to = month, month.AddDate(0, 1, -1)
		p.prevFrom, p.prevTo = month.AddDate(0, -1, 0), month.AddDate(0, 0, -1)
	case periodLastMonth:
		p.from, p.to = month.AddDate(0, -1, 0), month.AddDate(0, 0, -1)
		p.prevFrom, p.prevTo = month.AddDate(0, -2, 0), month.AddDate(0, -1, -1)
	case periodQuarter:
		q0 := time.Date(today.Year(), (today.Month()-1)/3*3+1, 1, 0, 0, 0, 0, time.UTC)
		p.from, p.to = q0, q0.AddDate(0, 3, -1)
		p.prevFrom, p.prevTo = q0.AddDate(0, -3, 0), q0.AddDate(0, 0, -1)
	case periodYear:
		y0 := time.Date(today.Year(), 1, 1, 0, 0, 0, 0, time.UTC)
		p.from, p.to = y0, y0.AddDate(1, 0, -1)
		p.prevFrom, p.prevTo = y0.AddDate(-1, 0, 0), y0.AddDate(0, 0, -1)
		p.monthly = true
	case periodCustom:
		from, err1 := time.Parse(time.DateOnly, strings.TrimSpace(q.Get("from")))
		to, err2 := time.Parse(time.DateOnly, strings.TrimSpace(q.Get("to")))
		switch {
		case err1 != nil || err2 != nil:
			return p, "review.error.dates", ""
		case to.Before(from):
			return p, "review.error.inverted", ""
		case from.Year() < 2000 || to.After(today.AddDate(5, 0, 0)) || to.Sub(from) > maxPeriodDays*24*time.Hour:
			return p, "review.error.absurd", strconv.Itoa(maxPeriodDays / 366)
		}
		days := int(to.Sub(from).Hours()/24) + 1
		p.from, p.to = from, to
		p.prevTo = from.AddDate(0, 0, -1)
		p.prevFrom = p.prevTo.AddDate(0, 0, -(days - 1))
		p.monthly = days > 92
	default:
		return p, "review.error.period", p.kind // on the select, see Overview
	}
	if !p.from.After(today) && p.to.After(today) {
		// A period still running is shown to date, and compared with the
		// same number of days of the one before: a month five days old
		// against a whole month would always look like a fall, and the
		// policies "in force at the end" would be a forecast.
		elapsed := today.Sub(p.from)
		p.to, p.toDate = today, true
		if end := p.prevFrom.Add(elapsed); end.Before(p.prevTo) {
			p.prevTo = end
		}
	}
	return p, "", ""
}

// buckets split the period into ISO weeks (or months), clipped to it.
func (p reviewPeriod) buckets() []index.DayRange {
	var out []index.DayRange
	for start := p.from; !start.After(p.to); {
		var end time.Time
		if p.monthly {
			end = time.Date(start.Year(), start.Month()+1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, -1)
		} else {
			end = start.AddDate(0, 0, (7-int(start.Weekday()))%7) // to Sunday
		}
		if end.After(p.to) {
			end = p.to
		}
		out = append(out, index.DayRange{From: day(start), To: day(end)})
		start = end.AddDate(0, 0, 1)
	}
	return out
}

func day(t time.Time) string { return t.Format(time.DateOnly) }

// reviewIndex is the tenant's index for the overview, or the message
// key of why there is none.
func (rv *Review) reviewIndex(ctx context.Context, tenant string) (index.Reviewer, string) {
	if rv.h.index == nil {
		return nil, "review.unavailable.no_index"
	}
	if _, covered, failed := rv.h.Policies.indexCovers(ctx, tenant); failed {
		return nil, "review.unavailable.failed"
	} else if !covered {
		return nil, "review.unavailable.no_index"
	}
	r, err := index.ReviewOf(rv.h.index)
	if err != nil {
		return nil, "review.unavailable.no_index"
	}
	return r, ""
}

// partial says when the index is still filling (a first sync) or being
// read again (the reconciliation after a schema change added fields):
// the figures are then incomplete, and the page says so.
func (rv *Review) partial(ctx context.Context, tenant string) (key string, percent int) {
	tv, _, _ := rv.h.Policies.indexCovers(ctx, tenant)
	st := tv.sync
	switch {
	case st.FullDone.IsZero():
		if st.Total > 0 {
			percent = min(99, st.Done*100/st.Total)
		}
		return "review.partial.syncing", percent
	case st.Full && st.FullDone.Before(refilledBefore):
		return "review.partial.refilling", 0
	}
	return "", 0
}

// refilledBefore: a last full sync dated before it is the marker that
// the index's migration to version 2 left (every tenant read again).
var refilledBefore = time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)

// Overview serves GET /review.
func (rv *Review) Overview(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	u := currentUser(ctx)
	today := rv.h.today(r)
	q := r.URL.Query()
	p, errKey, errArg := parsePeriod(q, today)
	f := formatter(ctx)

	v := review.PageView{Meta: rv.h.core.Meta(r, i18n.T(ctx, "review.title"))}
	v.Meta.Nav = layout.SectionReview
	for _, o := range []string{periodMonth, periodLastMonth, periodQuarter, periodYear, periodCustom} {
		v.Period.Options = append(v.Period.Options, review.PeriodOption{Value: o, LabelKey: "review.period." + o, Selected: o == p.kind})
	}
	v.Period.From, v.Period.To = strings.TrimSpace(q.Get("from")), strings.TrimSpace(q.Get("to"))
	if p.kind != periodCustom {
		v.Period.From, v.Period.To = day(p.from), day(p.to)
	}
	if errKey != "" {
		v.Period.ErrorKey, v.Period.ErrorArg = errKey, errArg
		v.Period.ErrorOnKind = errKey == "review.error.period"
		v.UnavailableKey = "review.unavailable.period"
		return handlers.Render(w, r, http.StatusBadRequest, review.Page(v))
	}
	v.Range = f.Date(p.from) + " – " + f.Date(p.to)
	if p.toDate {
		v.Range = i18n.T(ctx, "review.to_date", "Range", v.Range)
	}
	v.Previous = f.Date(p.prevFrom) + " – " + f.Date(p.prevTo)

	reviewer, why := rv.reviewIndex(ctx, u.Tenant)
	if why != "" {
		v.UnavailableKey = why
		return handlers.Render(w, r, http.StatusOK, review.Page(v))
	}
	v.PartialKey, v.Percent = rv.partial(ctx, u.Tenant)
	buckets := p.buckets()
	res, err := reviewer.Review(ctx, index.ReviewQuery{Tenant: u.Tenant, From: day(p.from), To: day(p.to),
		PrevFrom: day(p.prevFrom), PrevTo: day(p.prevTo), Buckets: buckets})
	if err != nil {
		return err
	}
	list := func(set func(url.Values)) string {
		v := url.Values{}
		set(v)
		return paths.PolicyList(v)
	}
	currencies := map[string]bool{}
	for c := range res.Current {
		currencies[c] = true
	}
	for c := range res.Previous {
		currencies[c] = true
	}
	for _, c := range slices.Sorted(maps.Keys(currencies)) {
		cur, prev := res.Current[c], res.Previous[c]
		code := strings.ToUpper(c)
		inCur := func(v url.Values) { v.Set("currency", c) }
		cf := review.CurrencyFigures{Currency: code}
		count := func(key string, now, before int, link string, note string) {
			cf.Figures = append(cf.Figures, review.Figure{LabelKey: key, Value: f.Decimal(strconv.Itoa(now)),
				Change: change(f, int64(now), int64(before), nil), Trend: trend(int64(now), int64(before)), URL: link, Note: note})
		}
		count("review.fig.in_force", cur.InForce, prev.InForce, list(func(v url.Values) { inCur(v); v.Set("in_force", day(p.to)) }), "")
		newLink := list(func(v url.Values) {
			inCur(v)
			v.Set("created_from", day(p.from))
			v.Set("created_to", day(p.to))
		})
		count("review.fig.new", cur.New, prev.New, newLink, "")
		rate := ""
		if base := prev.InForce + cur.New; base > 0 {
			rate = i18n.T(ctx, "review.fig.rate", "Rate", f.Percent(float64(cur.Cancelled)/float64(base)))
		}
		count("review.fig.cancelled", cur.Cancelled, prev.Cancelled, list(func(v url.Values) {
			inCur(v)
			v.Set("status", "cancelled")
			v.Set("terminated_from", day(p.from))
			v.Set("terminated_to", day(p.to))
		}), rate)
		money := func(key string, now, before int64, link string) {
			cf.Figures = append(cf.Figures, review.Figure{LabelKey: key, Value: f.Money(now, code),
				Change: change(f, now, before, func(n int64) string { return f.Money(n, code) }), Trend: trend(now, before), URL: link})
		}
		money("review.fig.premium", cur.GrossMinor, prev.GrossMinor, newLink)
		money("review.fig.tax", cur.TaxMinor, prev.TaxMinor, newLink)
		v.Currencies = append(v.Currencies, cf)
	}

	// New policies and cancellations over time.
	act := review.BarChart{ID: "activity", TitleKey: "review.chart.activity"}
	newS := review.Series{LabelKey: "review.fig.new", Class: "series-1"}
	canS := review.Series{LabelKey: "review.fig.cancelled", Class: "series-2"}
	for i, b := range buckets {
		from, _ := time.Parse(time.DateOnly, b.From)
		label := f.Date(from)
		if p.monthly {
			label = from.Format("2006-01")
		}
		act.Labels = append(act.Labels, label)
		n, c := int64(res.NewPerBucket[i]), int64(res.CancelledPerBucket[i])
		newS.Values, newS.Texts = append(newS.Values, n), append(newS.Texts, f.Decimal(strconv.FormatInt(n, 10)))
		canS.Values, canS.Texts = append(canS.Values, c), append(canS.Texts, f.Decimal(strconv.FormatInt(c, 10)))
		newS.URLs = append(newS.URLs, list(func(v url.Values) { v.Set("created_from", b.From); v.Set("created_to", b.To) }))
		canS.URLs = append(canS.URLs, list(func(v url.Values) {
			v.Set("status", "cancelled")
			v.Set("terminated_from", b.From)
			v.Set("terminated_to", b.To)
		}))
		act.Max = max(act.Max, n, c)
	}
	act.Series = []review.Series{newS, canS}
	v.Activity = act

	// Premium written per product, one chart per currency.
	for _, c := range slices.Sorted(maps.Keys(res.PremiumByProduct)) {
		ch := review.BarChart{ID: "premium-" + c, TitleKey: "review.chart.premium", TitleArg: strings.ToUpper(c)}
		s := review.Series{LabelKey: "review.fig.premium", Class: "series-1"}
		for _, prod := range slices.Sorted(maps.Keys(res.PremiumByProduct[c])) {
			amount := res.PremiumByProduct[c][prod]
			ch.Labels = append(ch.Labels, rv.h.Policies.productName(prod))
			s.Values, s.Texts = append(s.Values, amount), append(s.Texts, f.Money(amount, strings.ToUpper(c)))
			if !rv.h.Policies.productFilterable(prod) {
				s.URLs = append(s.URLs, "") // the list's filter would refuse it
				ch.Max = max(ch.Max, amount)
				continue
			}
			s.URLs = append(s.URLs, list(func(v url.Values) {
				v.Set("currency", c)
				v.Set("product", prod)
				v.Set("created_from", day(p.from))
				v.Set("created_to", day(p.to))
			}))
			ch.Max = max(ch.Max, amount)
		}
		ch.Series = []review.Series{s}
		v.Premium = append(v.Premium, review.ProductChart{Currency: strings.ToUpper(c), Chart: ch})
	}

	// Every policy of the tenant by status.
	st := review.BarChart{ID: "status", TitleKey: "review.chart.status"}
	ss := review.Series{LabelKey: "review.count", Class: "series-1"}
	for _, s := range slices.Sorted(maps.Keys(res.ByStatus)) {
		n := int64(res.ByStatus[s])
		st.Labels = append(st.Labels, i18n.T(ctx, "policy.status."+s))
		ss.Values, ss.Texts = append(ss.Values, n), append(ss.Texts, f.Decimal(strconv.FormatInt(n, 10)))
		if slices.Contains(knownStatuses, s) {
			ss.URLs = append(ss.URLs, list(func(v url.Values) { v.Set("status", s) }))
		} else {
			ss.URLs = append(ss.URLs, "") // the list's filter would refuse it
		}
		st.Max = max(st.Max, n)
	}
	st.Series = []review.Series{ss}
	v.Status = st

	if rc, ok := rv.h.audit.(audit.ReasonCounter); ok {
		// The period's days as UTC days (auditDays), as the audit log
		// reads its from and to: each count links to its entries there.
		start, end := auditDays(p.from, p.to)
		reasons, err := rc.CancelReasons(ctx, u.Tenant, start, end)
		if err != nil {
			return err
		}
		for reason, n := range reasons {
			v.Reasons.Rows = append(v.Reasons.Rows, review.ReasonRow{Reason: cmp.Or(reason, i18n.T(ctx, "review.reason_none")),
				None: reason == "", Count: n, URL: auditLink(reason, p.from, p.to)})
		}
		slices.SortFunc(v.Reasons.Rows, func(a, b review.ReasonRow) int {
			return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Reason, b.Reason))
		})
	}
	return handlers.Render(w, r, http.StatusOK, review.Page(v))
}

// change says how now differs from before: "+12 %" when before is not
// zero, else the difference itself; "" when both are zero.
func change(f *format.Formatter, now, before int64, show func(int64) string) string {
	if now == 0 && before == 0 {
		return ""
	}
	d := now - before
	sign := "+"
	if d < 0 {
		sign, d = "−", -d
	}
	if before != 0 {
		return sign + f.Percent(float64(d)/float64(before))
	}
	if show != nil {
		return sign + show(d)
	}
	return sign + f.Decimal(strconv.FormatInt(d, 10))
}

func trend(now, before int64) string {
	switch {
	case now > before:
		return "up"
	case now < before:
		return "down"
	}
	return ""
}

// expiringHorizons are the worklist's choices, in days.
var expiringHorizons = []int{7, 30, 60, 90}

// expiringLimit bounds the worklist's rows on one page.
const expiringLimit = index.MaxLimit

// expiringQuery is the index query of the policies in force whose cover
// ends within days of today.
func expiringQuery(tenant string, public bool, today time.Time, days int, text string) index.Query {
	return index.Query{Tenant: tenant, Public: public, Text: text, Status: []string{"paid"},
		EndFrom: day(today), EndTo: day(today.AddDate(0, 0, days)), Sort: index.SortEnd, Limit: expiringLimit}
}

// Expiring serves GET /review/expiring.
func (rv *Review) Expiring(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	u := currentUser(ctx)
	today := rv.h.today(r)
	q := r.URL.Query()
	days := 30
	if s := q.Get("days"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || !slices.Contains(expiringHorizons, n) {
			return &handlers.Error{Status: http.StatusBadRequest, MessageKey: "review.error.days"}
		}
		days = n
	}
	// The list's own filters (text, product, currency, dates, premium)
	// narrow the worklist; its status, end range and order are the
	// worklist's.
	st, problems, err := rv.h.Policies.parseSearch(r, listState{Page: 1, Size: expiringLimit}, u.ReadOnly())
	if err != nil {
		return err
	}
	if len(problems) > 0 {
		return &handlers.Error{Status: http.StatusBadRequest, MessageKey: "review.error.filter"}
	}
	st.Status, st.EndFrom, st.EndTo, st.Sort, st.View, st.Cols = nil, "", "", "", "", ""
	keep := st.values()
	keep.Del("size")
	f := formatter(ctx)
	v := review.ExpiringView{Meta: rv.h.core.Meta(r, i18n.T(ctx, "review.expiring.title")), Query: st.Q}
	v.Meta.Nav = layout.SectionExpiring
	for _, d := range expiringHorizons {
		link := url.Values{}
		for k, vs := range keep {
			link[k] = vs
		}
		link.Set("days", strconv.Itoa(d))
		v.Days = append(v.Days, review.DaysOption{Days: d, Selected: d == days, URL: paths.ReviewExpiring + "?" + link.Encode()})
	}
	if _, why := rv.reviewIndex(ctx, u.Tenant); why != "" {
		v.UnavailableKey = why
		return handlers.Render(w, r, http.StatusOK, review.ExpiringPage(v))
	}
	iq := st.indexQuery(u.Tenant, u.ReadOnly())
	base := expiringQuery(u.Tenant, u.ReadOnly(), today, days, st.Q)
	iq.Status, iq.EndFrom, iq.EndTo, iq.Sort, iq.Offset, iq.Limit = base.Status, base.EndFrom, base.EndTo, base.Sort, 0, base.Limit
	facets, err := rv.h.index.Facets(ctx, iq)
	if err != nil {
		return err
	}
	for _, g := range []struct {
		name, legendKey string
		counts          map[string]int
		chosen          []string
		label           func(string) string
	}{
		{"product", "policies.filter.product", facets.Product, st.Product, rv.h.Policies.productName},
		{"currency", "policies.filter.currency", facets.Currency, st.Curr, strings.ToUpper},
	} {
		fg := review.FilterGroup{Name: g.name, LegendKey: g.legendKey}
		for _, val := range slices.Sorted(maps.Keys(g.counts)) {
			fg.Options = append(fg.Options, review.FilterOption{Value: val, Label: g.label(val), Count: g.counts[val],
				Checked: slices.Contains(g.chosen, val)})
		}
		if len(fg.Options) > 1 || len(g.chosen) > 0 {
			v.Filters = append(v.Filters, fg)
		}
	}
	page, err := rv.h.index.Search(ctx, iq)
	if err != nil {
		return err
	}
	v.Total, v.Capped = page.Total, page.Total > len(page.Rows)
	lv := keep
	lv.Set("status", "paid")
	lv.Set("end_from", iq.EndFrom)
	lv.Set("end_to", iq.EndTo)
	lv.Set("sort", index.SortEnd)
	v.ListURL = paths.PolicyList(lv)
	for _, row := range page.Rows {
		end := row.EndDate
		endDay, _ := time.Parse(time.DateOnly, row.EndDay)
		monday := endDay.AddDate(0, 0, -((int(endDay.Weekday()) + 6) % 7))
		label := i18n.T(ctx, "review.expiring.week", "From", f.Date(monday), "To", f.Date(monday.AddDate(0, 0, 6)))
		if n := len(v.Weeks); n == 0 || v.Weeks[n-1].Label != label {
			v.Weeks = append(v.Weeks, review.Week{Label: label})
		}
		w := &v.Weeks[len(v.Weeks)-1]
		w.Rows = append(w.Rows, review.ExpiringRow{
			URL: paths.Policy(row.ID), InsurerID: cmp.Or(row.InsurerID, row.ID),
			Holder: strings.TrimSpace(row.FirstName + " " + row.LastName), Product: rv.h.Policies.productName(row.ProductID),
			Premium: f.Money(row.GrossMinor, strings.ToUpper(row.Currency)), Ends: f.Date(end),
			DaysLeft: int(endDay.Sub(today).Hours() / 24),
		})
	}
	return handlers.Render(w, r, http.StatusOK, review.ExpiringPage(v))
}

// expiringSoon counts the policies in force ending within 30 days, for
// the navigation badge; -1 when the index does not cover the tenant or
// cannot be read (no badge rather than a wrong one).
func (h *Handlers) expiringSoon(r *http.Request, u *User) int {
	ctx := r.Context()
	if h.index == nil {
		return -1
	}
	if _, covered, failed := h.Policies.indexCovers(ctx, u.Tenant); !covered || failed {
		return -1
	}
	q := expiringQuery(u.Tenant, u.ReadOnly(), h.today(r), 30, "")
	q.Limit = 1
	page, err := h.index.Search(ctx, q)
	if err != nil {
		return -1
	}
	return page.Total
}
