package index

import (
	"context"
	"strings"

	"backoffice/internal/sqlstore"
)

// Exporter reads every row of a query, in the query's order, one at a
// time: an export of a list view. It is apart from Store so that the
// stores' other users need not know of it; the SQL store implements both.
type Exporter interface {
	// Export calls yield with each row the query selects, in its Sort
	// order (Offset and Limit are ignored), until yield returns an error,
	// which Export then returns. Restricted fields are zeroed for a
	// Public query, as Search zeroes them. A text search ordered by
	// relevance yields the RankedMatches rows it ranks, like the list.
	Export(ctx context.Context, q Query, yield func(Row) error) error
}

var _ Exporter = (*sqlStore)(nil)

// exportLimit stands for "no limit" in the LIMIT the text queries need
// (both databases take it; PostgreSQL has no -1).
const exportLimit = 1 << 62

// Export implements Exporter with one query that the database streams:
// the same FROM, WHERE and ORDER BY as Search's, without the page. The
// rows are read as they come, so memory stays flat whatever their
// number.
func (s *sqlStore) Export(ctx context.Context, q Query, yield func(Row) error) error {
	q.Offset, q.Limit = 0, 1
	p, err := newPlan(q, true)
	if err != nil {
		return err
	}
	if p.noMatch {
		return nil
	}
	p.q.Limit = exportLimit
	if p.capped() {
		p.q.Limit = RankedMatches
	}
	var b strings.Builder
	a := s.d.NewArgs()
	var tsRef string
	text := len(p.terms) > 0
	switch {
	case text && s.d == sqlstore.SQLite:
		s.sqliteTextPage(&b, p, a)
	case p.capped():
		b.WriteString(`SELECT ` + rowColumns + `, 0 FROM (SELECT r.*`)
		tsRef = s.from(&b, p, a, noFacet, false)
		b.WriteString(` ORDER BY r.created_at DESC, r.id DESC LIMIT ` + a.Add(RankedMatches+1) + `) r`)
	case text:
		b.WriteString(`SELECT ` + rowColumns + `, 0`)
		tsRef = s.from(&b, p, a, noFacet, false)
	default:
		b.WriteString(`SELECT ` + rowColumns)
		s.from(&b, p, a, noFacet, false)
	}
	if !text || s.d != sqlstore.SQLite {
		s.orderBy(&b, p, a, tsRef)
		if p.capped() {
			b.WriteString(` LIMIT ` + a.Add(RankedMatches))
		}
	}
	rows, err := s.db.QueryContext(ctx, b.String(), a.Vals...)
	if err != nil {
		return s.fail("export", err)
	}
	defer rows.Close()
	var extra []any
	if text {
		var total int64
		extra = append(extra, &total)
	}
	for rows.Next() {
		r, err := scanRow(rows, extra...)
		if err != nil {
			return s.fail("export", err)
		}
		if p.q.Public {
			r.Email, r.Phone, r.VIN, r.Plate = "", "", "", ""
		}
		if err := yield(r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return s.fail("export", err)
	}
	return nil
}
