package index

import (
	"context"
	"iter"
	"time"
)

// SetClock replaces a SQL store's clock (SQLite leases, deliveries).
func SetClock(s Store, now func() time.Time) { s.(*sqlStore).clock.Set(now) }

// FTSMatches counts the SQLite FTS rows matching an FTS5 expression, in
// every tenant: what the index itself still holds.
func FTSMatches(ctx context.Context, s Store, match string) (int, error) {
	var n int
	err := s.(*sqlStore).db.QueryRowContext(ctx, `SELECT count(*) FROM index_fts WHERE index_fts MATCH ?`, match).Scan(&n)
	return n, err
}

// IsSQLite tells the backends apart in the shared tests.
func IsSQLite(s Store) bool { return s.(*sqlStore).d.String() == "SQLite" }

// NoCache turns off a store's cache of totals and facets, to measure
// what they cost.
func NoCache(s Store) { s.(*sqlStore).cache = newResultCache(0) }

// Exec runs a statement on a store's database (benchmark upkeep).
func Exec(ctx context.Context, s Store, query string) error {
	_, err := s.(*sqlStore).db.ExecContext(ctx, query)
	return err
}

// QueryInt reads one integer from a store's database.
func QueryInt(ctx context.Context, s Store, query string, v *int64) error {
	return s.(*sqlStore).db.QueryRowContext(ctx, query).Scan(v)
}

// BulkLoad writes the batches into an empty store (see bulkLoad).
func BulkLoad(ctx context.Context, s Store, batches iter.Seq[[]Row]) error {
	return s.(*sqlStore).bulkLoad(ctx, batches)
}
