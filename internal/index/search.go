package index

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"

	"backoffice/internal/sqlstore"
)

// ErrBadQuery is returned for a query the store cannot run: no tenant,
// a page size outside 1..MaxLimit, a negative offset. It is a caller's
// mistake; the handler validates what users send before it gets here.
var ErrBadQuery = errors.New("index: bad query")

// ErrBadSort is returned for a sort field that is not one of
// SortFields, or one the reader may not sort by (email, for a public
// reader).
var ErrBadSort = errors.New("index: unknown sort field")

// plan is a validated query, as both stores run it.
type plan struct {
	q Query
	// terms are Terms(q.Text); none with text set means the text can
	// match nothing (it held no letters or digits).
	terms   []term
	noMatch bool
	// exact is the text as an id: a row with that id, insurer id or
	// external id comes first by relevance.
	exact string
	// column is the sort column, "" for relevance.
	column string
	desc   bool
}

// capped reports a plan ranked among its newest RankedMatches matches
// only (see RankedMatches).
func (p plan) capped() bool { return len(p.terms) > 0 && p.column == "" }

// sortColumn is the column a sort field orders by.
func sortColumn(field string) (string, bool) {
	switch field {
	case SortRelevance:
		return "", true
	case SortInsurerID:
		return "insurer_id", true
	case SortHolder:
		return "holder_key", true
	case SortEmail:
		return "email", true
	case SortProduct:
		return "product_id", true
	case SortStatus:
		return "status", true
	case SortStart:
		return "start_date", true
	case SortEnd:
		return "end_date", true
	case SortPremium:
		return "gross_minor", true
	case SortCreated:
		return "created_at", true
	}
	return "", false
}

// newPlan validates q. paging says whether Sort, Offset and Limit are
// looked at (Facets ignores them).
func newPlan(q Query, paging bool) (plan, error) {
	q = cleanQuery(q)
	if q.Tenant == "" {
		return plan{}, fmt.Errorf("%w: no tenant", ErrBadQuery)
	}
	p := plan{q: q}
	if strings.TrimSpace(q.Text) != "" {
		p.terms = queryTerms(q.Text)
		p.noMatch = len(p.terms) == 0
		p.exact = strings.ToLower(strings.TrimSpace(clean(capRunes(q.Text, MaxTextRunes))))
	}
	if !paging {
		return p, nil
	}
	if q.Limit < 1 || q.Limit > MaxLimit {
		return plan{}, fmt.Errorf("%w: limit %d is not within 1..%d", ErrBadQuery, q.Limit, MaxLimit)
	}
	if q.Offset < 0 {
		return plan{}, fmt.Errorf("%w: negative offset", ErrBadQuery)
	}
	field, desc := strings.CutPrefix(q.Sort, "-")
	if field == "" {
		field, desc = SortRelevance, false
	}
	col, ok := sortColumn(field)
	if !ok || (q.Public && field == SortEmail) {
		return plan{}, fmt.Errorf("%w: %q", ErrBadSort, q.Sort)
	}
	p.column, p.desc = col, desc
	if col == "" {
		// Relevance reads best-first whichever way it is asked for;
		// without text it is newest first.
		p.desc = false
		if len(p.terms) == 0 {
			p.column, p.desc = "created_at", true
		}
	}
	return p, nil
}

// clean makes s storable by both stores: valid UTF-8 without NUL bytes
// (PostgreSQL refuses both in text). A value that had them can match
// no stored value but its cleaned form, which is never stored wrongly.
func clean(s string) string {
	if isASCII(s) && !strings.ContainsRune(s, 0) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
}

func cleanAll(vals []string) []string {
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i] = clean(v)
	}
	return out
}

// cleanQuery cleans every text a query binds.
func cleanQuery(q Query) Query {
	q.Tenant = clean(q.Tenant)
	q.Status, q.Product, q.Currency = cleanAll(q.Status), cleanAll(q.Product), cleanAll(q.Currency)
	for _, d := range []*string{&q.CreatedFrom, &q.CreatedTo, &q.StartFrom, &q.StartTo, &q.EndFrom, &q.EndTo, &q.TerminatedFrom, &q.TerminatedTo, &q.InForceOn} {
		*d = clean(*d)
	}
	return q
}

// countable reports whether the plan's rows can be counted from
// index_counts: no text, and filters on its fields alone.
func (s *sqlStore) countable(p plan) bool {
	return onlyFacetFilters(p)
}

// onlyFacetFilters reports whether the plan has no text and filters by
// status, product, currency and expiry alone.
func onlyFacetFilters(p plan) bool {
	q := p.q
	return len(p.terms) == 0 && q.CreatedFrom == "" && q.CreatedTo == "" &&
		q.StartFrom == "" && q.StartTo == "" && q.EndFrom == "" && q.EndTo == "" &&
		q.TerminatedFrom == "" && q.TerminatedTo == "" && q.InForceOn == "" && q.PremiumMin == nil && q.PremiumMax == nil
}

// facet names a filter that Facets leaves out of its own count.
type facet int

const (
	noFacet facet = iota
	facetStatus
	facetProduct
	facetCurrency
	facetExpired
)

// ftsMatch is the FTS5 query of the terms: each a quoted prefix of a
// word or joined word (see queryTerms), restricted to the public column
// for public readers. Terms hold only letters and digits, but quotes
// are doubled all the same, so that no text can ever become FTS5
// syntax.
func ftsMatch(terms []term, public bool) string {
	parts := make([]string, len(terms))
	for i, t := range terms {
		var alts []string
		if t.plain {
			alts = append(alts, `"`+strings.ReplaceAll(t.text, `"`, `""`)+`"*`)
		}
		if t.joined {
			alts = append(alts, `"`+joinedMark+strings.ReplaceAll(t.text, `"`, `""`)+`"*`)
		}
		phrase := strings.Join(alts, " OR ")
		if len(alts) > 1 || public {
			phrase = "(" + phrase + ")"
		}
		if public {
			phrase = `{pub} : ` + phrase
		}
		parts[i] = phrase
	}
	return strings.Join(parts, " AND ")
}

// tsQuery is the tsquery of the terms: each a prefix of a public lexeme
// or, for secret readers, of a restricted one too (secretPrefix).
func tsQuery(terms []term, public bool) string {
	quote := func(s string) string {
		return `'` + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), `'`, `''`) + `':*`
	}
	parts := make([]string, len(terms))
	for i, t := range terms {
		var lexemes []string
		if t.plain {
			lexemes = append(lexemes, t.text)
		}
		if t.joined {
			lexemes = append(lexemes, joinedMark+t.text)
		}
		var alts []string
		for _, l := range lexemes {
			alts = append(alts, quote(l))
			if !public {
				alts = append(alts, quote(secretPrefix+l))
			}
		}
		parts[i] = "(" + strings.Join(alts, " | ") + ")"
	}
	return strings.Join(parts, " & ")
}

// from writes the FROM and WHERE of the plan's rows, leaving out the
// filter skip; counts reads index_counts instead (see countable). It
// returns the placeholder of the tsquery (PostgreSQL
// with text), for ranking.
func (s *sqlStore) from(b *strings.Builder, p plan, a *sqlstore.Args, skip facet, counts bool) (tsRef string) {
	q := p.q
	switch {
	case len(p.terms) > 0 && s.d == sqlstore.SQLite:
		// CROSS JOIN keeps the FTS lookup outside: the matches are few
		// next to the tenant's rows.
		b.WriteString(` FROM index_fts CROSS JOIN index_rows r ON r.seq = index_fts.rowid WHERE index_fts MATCH `)
		b.WriteString(a.Add(ftsMatch(p.terms, q.Public)))
		b.WriteString(` AND r.tenant = ` + a.Add(q.Tenant))
	case len(p.terms) > 0:
		b.WriteString(` FROM index_rows r WHERE r.tenant = ` + a.Add(q.Tenant))
		tsRef = a.Add(tsQuery(p.terms, q.Public)) + `::tsquery`
		b.WriteString(` AND r.doc @@ ` + tsRef)
	case counts:
		b.WriteString(` FROM index_counts r WHERE r.tenant = ` + a.Add(q.Tenant))
	default:
		b.WriteString(` FROM index_rows r WHERE r.tenant = ` + a.Add(q.Tenant))
	}
	in := func(col string, vals []string) {
		if len(vals) == 0 {
			return
		}
		b.WriteString(` AND r.` + col + ` IN (`)
		for i, v := range vals {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(a.Add(v))
		}
		b.WriteString(`)`)
	}
	if skip != facetStatus {
		in("status", q.Status)
	}
	if skip != facetProduct {
		in("product_id", q.Product)
	}
	if skip != facetCurrency {
		currencies := make([]string, len(q.Currency))
		for i, c := range q.Currency {
			currencies[i] = strings.ToLower(c)
		}
		in("currency", currencies)
	}
	if skip != facetExpired && q.Expired != nil {
		b.WriteString(` AND r.expired = ` + a.Add(*q.Expired))
	}
	cmp := func(col, op, v string) {
		if v != "" {
			b.WriteString(` AND r.` + col + ` ` + op + ` ` + a.Add(v))
		}
	}
	cmp("created_day", ">=", q.CreatedFrom)
	cmp("created_day", "<=", q.CreatedTo)
	cmp("start_day", ">=", q.StartFrom)
	cmp("start_day", "<=", q.StartTo)
	// end_day is NULL for open-ended rows: an end range leaves them out.
	cmp("end_day", ">=", q.EndFrom)
	cmp("end_day", "<=", q.EndTo)
	// termination_day is NULL for rows never terminated: likewise.
	cmp("termination_day", ">=", q.TerminatedFrom)
	cmp("termination_day", "<=", q.TerminatedTo)
	if d := q.InForceOn; d != "" {
		b.WriteString(` AND r.start_day <= ` + a.Add(d) + ` AND (r.end_day IS NULL OR r.end_day >= ` + a.Add(d) + `)` +
			` AND (r.status = 'paid' OR (r.status = 'cancelled' AND r.termination_day > ` + a.Add(d) + `))`)
	}
	if q.PremiumMin != nil {
		b.WriteString(` AND r.gross_minor >= ` + a.Add(*q.PremiumMin))
	}
	if q.PremiumMax != nil {
		b.WriteString(` AND r.gross_minor <= ` + a.Add(*q.PremiumMax))
	}
	return tsRef
}

// orderBy writes the ORDER BY: the sort column and then the id, both in
// the same direction so that one (tenant, column, id) index serves the
// page either way; for relevance (PostgreSQL; SQLite's is in
// sqliteTextPage), exact id matches, then the text rank, then newest
// first.
func (s *sqlStore) orderBy(b *strings.Builder, p plan, a *sqlstore.Args, tsRef string) {
	if p.column != "" {
		dir := " ASC"
		if p.desc {
			dir = " DESC"
		}
		b.WriteString(` ORDER BY r.` + p.column + dir + `, r.id` + dir)
		return
	}
	b.WriteString(` ORDER BY CASE WHEN ` + a.Add(p.exact) + ` IN (lower(r.id), lower(r.insurer_id), lower(r.external_id)) THEN 0 ELSE 1 END, `)
	b.WriteString(`ts_rank(r.doc, ` + tsRef + `) DESC, r.created_at DESC, r.id ASC`)
}

// sqliteTextPage writes SQLite's query of a page of text matches.
// Every match is read anyway (to rank, or to sort, them), so they are
// counted in the same pass; only their sort keys are sorted, and the
// page's rows are read afterwards, so that a broad match (a common
// surname's first letters) does not sort whole rows. bm25 is taken in
// the innermost query, as SQLite refuses it beside a window function.
func (s *sqlStore) sqliteTextPage(b *strings.Builder, p plan, a *sqlstore.Args) {
	var keys string
	var order func(m string) string // the ORDER BY of the keys of m
	if p.column == "" {
		keys = `CASE WHEN ` + a.Add(p.exact) + ` IN (lower(r.id), lower(r.insurer_id), lower(r.external_id)) THEN 0 ELSE 1 END AS k1, ` +
			`bm25(index_fts) AS k2, r.created_at AS k3, r.id AS k4`
		order = func(m string) string { return m + `k1, ` + m + `k2, ` + m + `k3 DESC, ` + m + `k4` }
	} else {
		dir := " ASC"
		if p.desc {
			dir = " DESC"
		}
		keys = `r.` + p.column + ` AS k1, r.id AS k2`
		order = func(m string) string { return m + `k1` + dir + `, ` + m + `k2` + dir }
	}
	b.WriteString(`SELECT ` + rowColumns + `, m.total FROM (SELECT m.*, count(*) OVER () AS total FROM (SELECT r.seq AS seq, ` + keys)
	s.from(b, p, a, noFacet, false)
	if p.capped() {
		// The FTS table's rowids are the rows' seq, which grows with
		// each row first written: newest matches first, and no more
		// than one past the cap are read, ranked or counted.
		b.WriteString(` ORDER BY index_fts.rowid DESC LIMIT ` + a.Add(RankedMatches+1))
	}
	b.WriteString(`) m ORDER BY ` + order("") + ` LIMIT ` + a.Add(p.q.Limit) + ` OFFSET ` + a.Add(p.q.Offset) +
		`) m CROSS JOIN index_rows r ON r.seq = m.seq ORDER BY ` + order("m."))
}

// Search implements Store.
func (s *sqlStore) Search(ctx context.Context, q Query) (Page, error) {
	p, err := newPlan(q, true)
	if err != nil {
		return Page{}, err
	}
	if p.noMatch {
		return Page{Rows: []Row{}}, nil
	}
	var b strings.Builder
	a := s.d.NewArgs()
	var tsRef string
	switch {
	case len(p.terms) > 0 && s.d == sqlstore.SQLite:
		s.sqliteTextPage(&b, p, a)
	case p.capped():
		// The newest matches, one past the cap, then ranked.
		b.WriteString(`SELECT ` + rowColumns + `, count(*) OVER () FROM (SELECT r.*`)
		tsRef = s.from(&b, p, a, noFacet, false)
		b.WriteString(` ORDER BY r.created_at DESC, r.id DESC LIMIT ` + a.Add(RankedMatches+1) + `) r`)
	case len(p.terms) > 0:
		b.WriteString(`SELECT ` + rowColumns + `, count(*) OVER ()`)
		tsRef = s.from(&b, p, a, noFacet, false)
	default:
		b.WriteString(`SELECT ` + rowColumns)
		s.from(&b, p, a, noFacet, false)
	}
	if len(p.terms) == 0 || s.d != sqlstore.SQLite {
		s.orderBy(&b, p, a, tsRef)
		b.WriteString(` LIMIT ` + a.Add(q.Limit) + ` OFFSET ` + a.Add(q.Offset))
	}
	db := s.db
	rows, err := db.QueryContext(ctx, b.String(), a.Vals...)
	if err != nil {
		return Page{}, s.fail("search", err)
	}
	defer rows.Close()
	page := Page{Rows: make([]Row, 0, q.Limit)}
	total := -1
	var extra []any
	if len(p.terms) > 0 {
		extra = append(extra, &total)
	}
	for rows.Next() {
		r, err := scanRow(rows, extra...)
		if err != nil {
			return Page{}, s.fail("search", err)
		}
		if q.Public {
			r.Email, r.Phone, r.VIN, r.Plate = "", "", "", ""
		}
		page.Rows = append(page.Rows, r)
	}
	if err := rows.Err(); err != nil {
		return Page{}, s.fail("search", err)
	}
	if p.capped() && total > RankedMatches {
		// More match than are ranked: the page ends at the cap.
		page.Rows = page.Rows[:max(0, min(len(page.Rows), RankedMatches-q.Offset))]
		page.Total, page.Capped = RankedMatches, true
		return page, nil
	}
	if n := len(page.Rows); n < q.Limit && (n > 0 || q.Offset == 0) {
		// The page holds the last matching row: no need to count.
		page.Total = q.Offset + n
		return page, nil
	}
	if total >= 0 {
		page.Total = total
		return page, nil
	}
	rows.Close()
	page.Total, err = s.total(ctx, db, p)
	return page, err
}

// total counts the plan's rows, or takes the count from the cache.
func (s *sqlStore) total(ctx context.Context, db querier, p plan) (int, error) {
	// The counter is read before counting: a write in between makes the
	// count newer than its key, never older.
	changed, err := s.Changed(ctx, p.q.Tenant)
	if err != nil {
		return 0, err
	}
	key := cacheKey("total", p, changed)
	if v, ok := s.cache.get(key); ok {
		return v.(int), nil
	}
	if q := p.q; onlyFacetFilters(p) && len(q.Status)+len(q.Product)+len(q.Currency) == 0 && q.Expired == nil {
		// No filter: the tenant's row count, kept by every write.
		return s.Count(ctx, q.Tenant)
	}
	var b strings.Builder
	a := s.d.NewArgs()
	switch {
	case p.capped():
		// Only a page past the last match gets here (an offset beyond
		// them): count up to one past the cap.
		b.WriteString(`SELECT count(*) FROM (SELECT 1`)
		s.from(&b, p, a, noFacet, false)
		b.WriteString(` LIMIT ` + a.Add(RankedMatches+1) + `) m`)
	case s.countable(p):
		b.WriteString(`SELECT COALESCE(SUM(r.n), 0)`)
		s.from(&b, p, a, noFacet, true)
	default:
		b.WriteString(`SELECT count(*)`)
		s.from(&b, p, a, noFacet, false)
	}
	var n int
	if err := db.QueryRowContext(ctx, b.String(), a.Vals...).Scan(&n); err != nil {
		return 0, s.fail("counting", err)
	}
	s.cache.put(key, n)
	return n, nil
}

// Facets implements Store.
func (s *sqlStore) Facets(ctx context.Context, q Query) (Facets, error) {
	p, err := newPlan(q, false)
	if err != nil {
		return Facets{}, err
	}
	f := Facets{Status: map[string]int{}, Product: map[string]int{}, Currency: map[string]int{}, Expired: map[bool]int{}}
	if p.noMatch {
		return f, nil
	}
	changed, err := s.Changed(ctx, q.Tenant)
	if err != nil {
		return Facets{}, err
	}
	key := cacheKey("facets", p, changed)
	if v, ok := s.cache.get(key); ok {
		return cloneFacets(v.(Facets)), nil
	}
	db := s.db
	for _, fc := range []struct {
		skip   facet
		column string
		add    func(v any, n int)
	}{
		{facetStatus, "status", func(v any, n int) { f.Status[asString(v)] = n }},
		{facetProduct, "product_id", func(v any, n int) { f.Product[asString(v)] = n }},
		{facetCurrency, "currency", func(v any, n int) { f.Currency[asString(v)] = n }},
		{facetExpired, "expired", func(v any, n int) { f.Expired[asBool(v)] = n }},
	} {
		var b strings.Builder
		a := s.d.NewArgs()
		if s.countable(p) {
			b.WriteString(`SELECT r.` + fc.column + `, SUM(r.n)`)
		} else {
			b.WriteString(`SELECT r.` + fc.column + `, count(*)`)
		}
		s.from(&b, p, a, fc.skip, s.countable(p))
		b.WriteString(` GROUP BY r.` + fc.column)
		if s.countable(p) {
			b.WriteString(` HAVING SUM(r.n) > 0`)
		}
		if err := s.group(ctx, db, b.String(), a.Vals, fc.add); err != nil {
			return Facets{}, err
		}
	}
	s.cache.put(key, cloneFacets(f))
	return f, nil
}

func (s *sqlStore) group(ctx context.Context, db querier, query string, args []any, add func(v any, n int)) error {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return s.fail("facets", err)
	}
	defer rows.Close()
	for rows.Next() {
		var v any
		var n int
		if err := rows.Scan(&v, &n); err != nil {
			return s.fail("facets", err)
		}
		add(v, n)
	}
	if err := rows.Err(); err != nil {
		return s.fail("facets", err)
	}
	return nil
}

func asString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case []byte:
		return string(v)
	}
	return fmt.Sprint(v)
}

// asBool reads SQLite's 0/1 and PostgreSQL's boolean alike.
func asBool(v any) bool {
	switch v := v.(type) {
	case bool:
		return v
	case int64:
		return v != 0
	}
	return false
}

func cloneFacets(f Facets) Facets {
	return Facets{Status: maps.Clone(f.Status), Product: maps.Clone(f.Product), Currency: maps.Clone(f.Currency), Expired: maps.Clone(f.Expired)}
}

// cacheKey identifies what a count depends on: the tenant's rows as of
// changed, the reader, the terms and the filters (not the page or the
// order).
func cacheKey(kind string, p plan, changed int64) string {
	q := p.q
	k, _ := json.Marshal(struct {
		Kind                      string
		Changed                   int64
		Tenant                    string
		Public                    bool
		Terms                     []string
		Status, Product, Currency []string
		Expired                   *bool
		CF, CT, SF, ST, EF, ET    string
		TF, TT, InForce           string
		PremiumMin, PremiumMax    *int64
	}{kind, changed, q.Tenant, q.Public, Terms(q.Text), q.Status, q.Product, q.Currency, q.Expired,
		q.CreatedFrom, q.CreatedTo, q.StartFrom, q.StartTo, q.EndFrom, q.EndTo, q.TerminatedFrom, q.TerminatedTo, q.InForceOn,
		q.PremiumMin, q.PremiumMax})
	return string(k)
}

// querier is what a read runs its queries on: the pool, or one
// connection of it.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}
