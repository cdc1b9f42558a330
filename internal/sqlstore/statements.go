package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"sync"
)

// Statements keeps a store's fixed queries prepared for the store's
// life. The queries carry no values, so a store has a few dozen of them,
// and SQLite would otherwise parse each one again on every call. The
// zero value is ready to use.
type Statements struct {
	m sync.Map // query text → *sql.Stmt
}

// Get returns q prepared on db, and on tx when tx is not nil (prepared
// on the transaction's connection once, then reused).
func (s *Statements) Get(ctx context.Context, db *sql.DB, tx *sql.Tx, q string) (*sql.Stmt, error) {
	v, ok := s.m.Load(q)
	if !ok {
		st, err := db.PrepareContext(ctx, q)
		if err != nil {
			return nil, err
		}
		if v, ok = s.m.LoadOrStore(q, st); ok {
			st.Close()
		} else {
			v = st
		}
	}
	st := v.(*sql.Stmt)
	if tx != nil {
		st = tx.StmtContext(ctx, st)
	}
	return st, nil
}

// Close closes every statement; call it before closing the database.
func (s *Statements) Close() error {
	var errs []error
	s.m.Range(func(_, v any) bool {
		errs = append(errs, v.(*sql.Stmt).Close())
		return true
	})
	return errors.Join(errs...)
}
