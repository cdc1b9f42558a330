package index

import (
	"context"
	"iter"
)

// bulkLoad writes many rows into an index that has none yet (benchmarks
// building a million rows): the sort indexes are dropped first and
// built once at the end, as a sort, instead of taking each row in turn
// at a random place; Upsert does the rest, batch by batch.
func (s *sqlStore) bulkLoad(ctx context.Context, batches iter.Seq[[]Row]) error {
	for _, c := range sortIndexColumns() {
		if _, err := s.db.ExecContext(ctx, `DROP INDEX index_rows_by_`+c); err != nil {
			return s.fail("bulk load", err)
		}
	}
	for batch := range batches {
		if err := s.Upsert(ctx, batch); err != nil {
			return err
		}
	}
	for _, stmt := range sortIndexes() {
		if _, err := s.db.ExecContext(ctx, stmt); err != nil {
			return s.fail("bulk load", err)
		}
	}
	return nil
}
