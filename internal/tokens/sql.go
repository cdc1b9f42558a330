package tokens

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"backoffice/internal/sqlstore"
)

// pruneBatch bounds the expired rows one prune deletes, so that no
// Create waits on a large delete; a full batch lets the next Create
// prune again, until the backlog is gone.
const pruneBatch = 500

// openSQL opens the SQLite file or PostgreSQL database of cfg.
func openSQL(ctx context.Context, cfg Config) (*sqlStore, error) {
	db, d, err := sqlstore.Open(ctx, sqlstore.Config{Path: cfg.Path, DatabaseURL: cfg.DatabaseURL, URLSetting: "AUDIT_DATABASE_URL"}, schema())
	if err != nil {
		return nil, err
	}
	return &sqlStore{db: db, d: d, clock: sqlstore.NewClock()}, nil
}

// sqlStore is the Store over database/sql, for SQLite and PostgreSQL:
// one set of queries, the dialect filling in what differs. Every claim
// is one statement whose WHERE decides who wins, so that it holds
// across instances without locks held between round trips.
type sqlStore struct {
	db    *sql.DB
	d     sqlstore.Dialect
	clock *sqlstore.Clock

	// stmts keeps the fixed queries prepared.
	stmts sqlstore.Statements

	pruneMu   sync.Mutex
	lastPrune time.Time
}

var _ Store = (*sqlStore)(nil)

func (s *sqlStore) args() *sqlstore.Args { return s.d.NewArgs() }

// blob binds bytes, an empty value as NULL.
func blob(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// fail wraps a database error with what was being done.
func (s *sqlStore) fail(what string, err error) error {
	return fmt.Errorf("tokens: %s (%s): %w", what, s.d, err)
}

// stmt returns q prepared, on tx when not nil. Statements are kept for
// the store's life: the queries carry no values, so there are a dozen
// or so, and SQLite would otherwise parse each one on every call
// (about a third of a Create's time). pgx caches its own.
func (s *sqlStore) stmt(ctx context.Context, tx *sql.Tx, q string) (*sql.Stmt, error) {
	return s.stmts.Get(ctx, s.db, tx, q)
}

// exec runs a statement and returns the number of rows it changed.
func (s *sqlStore) exec(ctx context.Context, tx *sql.Tx, q string, vals []any) (int64, error) {
	st, err := s.stmt(ctx, tx, q)
	if err != nil {
		return 0, err
	}
	res, err := st.ExecContext(ctx, vals...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// queryRow reads one row; sql.ErrNoRows comes from its Scan.
func (s *sqlStore) queryRow(ctx context.Context, tx *sql.Tx, q string, vals []any) scanner {
	st, err := s.stmt(ctx, tx, q)
	if err != nil {
		return failedRow{err}
	}
	return st.QueryRowContext(ctx, vals...)
}

type scanner interface{ Scan(...any) error }

// failedRow is a row whose query could not be prepared.
type failedRow struct{ err error }

func (r failedRow) Scan(...any) error { return r.err }

// insert adds rec, replacing an expired record of the same key (the
// WHERE of DO UPDATE), or for ClaimNew (claimed set) an unclaimed one
// too; it changes no row when the key is held. claimed is the claim
// time, or nil.
func (s *sqlStore) insert(ctx context.Context, tx *sql.Tx, rec Record, now time.Time, claimed any) (int64, error) {
	a := s.args()
	free := ``
	if claimed != nil {
		free = ` OR tokens_records.claimed_at IS NULL`
	}
	q := `INSERT INTO tokens_records (key, owner, kind, subject, state, claimed_at, created_at, expires_at) VALUES (` +
		a.Add(rec.Key) + `, ` + a.Add(rec.Owner) + `, ` + a.Add(rec.Kind) + `, ` + a.Add(rec.Subject) + `, ` +
		a.Add(blob(rec.State)) + `, ` + a.Add(claimed) + `, ` + a.Add(s.d.Time(now)) + `, ` + a.Add(s.d.Time(rec.Expires)) + `)
		ON CONFLICT (key) DO UPDATE SET owner = excluded.owner, kind = excluded.kind, subject = excluded.subject,
			state = excluded.state, claimed_at = excluded.claimed_at, finished_at = NULL, result = NULL,
			created_at = excluded.created_at, expires_at = excluded.expires_at
		WHERE tokens_records.expires_at <= ` + a.Add(s.d.Time(now)) + free
	return s.exec(ctx, tx, q, a.Vals)
}

// prune deletes a batch of expired rows, at most once per pruneEvery
// per store unless the last batch was full.
func (s *sqlStore) prune(ctx context.Context, now time.Time) error {
	s.pruneMu.Lock()
	if now.Sub(s.lastPrune) < pruneEvery {
		s.pruneMu.Unlock()
		return nil
	}
	s.lastPrune = now
	s.pruneMu.Unlock()
	a := s.args()
	q := `DELETE FROM tokens_records WHERE key IN (SELECT key FROM tokens_records WHERE expires_at <= ` +
		a.Add(s.d.Time(now)) + ` ORDER BY expires_at LIMIT ` + a.Add(pruneBatch) + `)`
	n, err := s.exec(ctx, nil, q, a.Vals)
	if err != nil || n == pruneBatch {
		s.pruneMu.Lock()
		s.lastPrune = time.Time{}
		s.pruneMu.Unlock()
	}
	if err != nil {
		return s.fail("pruning expired records", err)
	}
	return nil
}

// Create implements Store. The insert and the owner's bound are one
// transaction, so that a failed trim does not leave the owner over it.
func (s *sqlStore) Create(ctx context.Context, r Record, perOwner int) (err error) {
	now := s.clock.Stamp()
	rec, err := checkRecord(r, now)
	if err != nil {
		return err
	}
	if err := checkPerOwner(perOwner); err != nil {
		return err
	}
	if err := s.prune(ctx, now); err != nil {
		return err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return s.fail("creating a record", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	n, err := s.insert(ctx, tx, rec, now, nil)
	if err != nil {
		return s.fail("creating a record", err)
	}
	if n == 0 {
		return invalid("key exists")
	}
	if err = s.bound(ctx, tx, rec.Owner, perOwner, now); err != nil {
		return s.fail("bounding the owner's records", err)
	}
	if err = tx.Commit(); err != nil {
		return s.fail("creating a record", err)
	}
	return nil
}

// bound removes the owner's oldest open (unclaimed) records beyond its
// perOwner newest unexpired ones; a claimed record is a write under way
// or its kept answer, never evicted. The read finds the oldest record to keep, so that an
// owner under the bound (the usual case) costs one indexed read and no
// delete; expired rows are left to prune.
func (s *sqlStore) bound(ctx context.Context, tx *sql.Tx, owner string, perOwner int, now time.Time) error {
	a := s.args()
	q := `SELECT created_at, key FROM tokens_records WHERE owner = ` + a.Add(owner) + ` AND claimed_at IS NULL AND expires_at > ` + a.Add(s.d.Time(now)) +
		` ORDER BY created_at DESC, key DESC LIMIT 1 OFFSET ` + a.Add(perOwner-1)
	var created sqlstore.Time
	var key string
	err := s.queryRow(ctx, tx, q, a.Vals).Scan(&created, &key)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	a = s.args()
	q = `DELETE FROM tokens_records WHERE owner = ` + a.Add(owner) + ` AND claimed_at IS NULL AND (created_at, key) < (` + a.Add(s.d.Time(created.T)) + `, ` + a.Add(key) + `)`
	_, err = s.exec(ctx, tx, q, a.Vals)
	return err
}

const recordColumns = `key, owner, kind, subject, state, claimed_at, finished_at, result, created_at, expires_at`

// scanRecord reads recordColumns.
func scanRecord(row scanner) (Record, error) {
	var r Record
	var claimed, finished, created, expires sqlstore.Time
	if err := row.Scan(&r.Key, &r.Owner, &r.Kind, &r.Subject, &r.State, &claimed, &finished, &r.Result, &created, &expires); err != nil {
		return Record{}, err
	}
	r.Claimed, r.Created, r.Expires = claimed.T, created.T, expires.T
	r.State = cloneState(r.State)
	if finished.T.IsZero() {
		r.Result = nil
	} else {
		r.Result = cloneResult(r.Result)
	}
	return r, nil
}

// Find implements Store.
func (s *sqlStore) Find(ctx context.Context, owner, kind, subject string) (Record, bool, error) {
	if err := checkFind(owner, kind, subject); err != nil {
		return Record{}, false, err
	}
	a := s.args()
	q := `SELECT ` + recordColumns + ` FROM tokens_records WHERE owner = ` + a.Add(owner) + ` AND kind = ` + a.Add(kind) +
		` AND subject = ` + a.Add(subject) + ` AND claimed_at IS NULL AND expires_at > ` + a.Add(s.d.Time(s.clock.Read())) +
		` ORDER BY created_at DESC, key DESC LIMIT 1`
	r, err := scanRecord(s.queryRow(ctx, nil, q, a.Vals))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Record{}, false, nil
	case err != nil:
		return Record{}, false, s.fail("finding a record", err)
	}
	return r, true, nil
}

// Get implements Store.
func (s *sqlStore) Get(ctx context.Context, key string) (Record, error) {
	if err := checkKey(key); err != nil {
		return Record{}, err
	}
	a := s.args()
	q := `SELECT ` + recordColumns + ` FROM tokens_records WHERE key = ` + a.Add(key) + ` AND expires_at > ` + a.Add(s.d.Time(s.clock.Read()))
	r, err := scanRecord(s.queryRow(ctx, nil, q, a.Vals))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Record{}, ErrNotFound
	case err != nil:
		return Record{}, s.fail("reading a record", err)
	}
	return r, nil
}

// exists tells why a statement on the unexpired record key changed
// nothing: ErrNotFound when there is no such record, nil when there is
// one (so it was in a state the statement does not apply to).
func (s *sqlStore) exists(ctx context.Context, key string, now time.Time) error {
	a := s.args()
	q := `SELECT 1 FROM tokens_records WHERE key = ` + a.Add(key) + ` AND expires_at > ` + a.Add(s.d.Time(now))
	var one int
	err := s.queryRow(ctx, nil, q, a.Vals).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return ErrNotFound
	case err != nil:
		return s.fail("reading a record", err)
	}
	return nil
}

// SetState implements Store.
func (s *sqlStore) SetState(ctx context.Context, key string, state []byte) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if err := checkState(state); err != nil {
		return err
	}
	a := s.args()
	q := `UPDATE tokens_records SET state = ` + a.Add(blob(state)) + ` WHERE key = ` + a.Add(key) + ` AND expires_at > ` + a.Add(s.d.Time(s.clock.Read()))
	n, err := s.exec(ctx, nil, q, a.Vals)
	if err != nil {
		return s.fail("setting a state", err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// Claim implements Store: of concurrent claims, the database lets one
// UPDATE see claimed_at still NULL.
func (s *sqlStore) Claim(ctx context.Context, key string) (bool, error) {
	if err := checkKey(key); err != nil {
		return false, err
	}
	now := s.clock.Stamp()
	a := s.args()
	q := `UPDATE tokens_records SET claimed_at = ` + a.Add(s.d.Time(now)) + ` WHERE key = ` + a.Add(key) +
		` AND claimed_at IS NULL AND expires_at > ` + a.Add(s.d.Time(now))
	n, err := s.exec(ctx, nil, q, a.Vals)
	if err != nil {
		return false, s.fail("claiming a record", err)
	}
	if n == 1 {
		return true, nil
	}
	if err := s.exists(ctx, key, now); err != nil {
		return false, err
	}
	return false, nil
}

// ClaimNew implements Store: the insert either adds the row, replaces
// an expired or unclaimed one, or changes nothing; PostgreSQL re-checks
// the WHERE on the row a concurrent winner left, so only one caller
// changes a row.
func (s *sqlStore) ClaimNew(ctx context.Context, r Record) (bool, error) {
	now := s.clock.Stamp()
	rec, err := checkRecord(r, now)
	if err != nil {
		return false, err
	}
	if err := s.prune(ctx, now); err != nil {
		return false, err
	}
	n, err := s.insert(ctx, nil, rec, now, s.d.Time(now))
	if err != nil {
		return false, s.fail("claiming a new record", err)
	}
	return n == 1, nil
}

// Finish implements Store.
func (s *sqlStore) Finish(ctx context.Context, key string, result []byte, expires time.Time) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if err := checkResult(result); err != nil {
		return err
	}
	now := s.clock.Read()
	a := s.args()
	q := `UPDATE tokens_records SET result = ` + a.Add(cloneResult(result)) + `, finished_at = ` + a.Add(s.d.Time(now))
	if !expires.IsZero() {
		exp, err := checkExpires(expires, now)
		if err != nil {
			return err
		}
		q += `, expires_at = ` + a.Add(s.d.Time(exp))
	}
	q += ` WHERE key = ` + a.Add(key) + ` AND claimed_at IS NOT NULL AND expires_at > ` + a.Add(s.d.Time(now))
	n, err := s.exec(ctx, nil, q, a.Vals)
	if err != nil {
		return s.fail("finishing a record", err)
	}
	if n == 1 {
		return nil
	}
	if err := s.exists(ctx, key, now); err != nil {
		return err
	}
	return invalid("finishing a record that is not claimed")
}

// Release implements Store.
func (s *sqlStore) Release(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	now := s.clock.Read()
	a := s.args()
	q := `UPDATE tokens_records SET claimed_at = NULL WHERE key = ` + a.Add(key) + ` AND finished_at IS NULL AND expires_at > ` + a.Add(s.d.Time(now))
	n, err := s.exec(ctx, nil, q, a.Vals)
	if err != nil {
		return s.fail("releasing a record", err)
	}
	if n == 1 {
		return nil
	}
	if err := s.exists(ctx, key, now); err != nil {
		return err
	}
	return invalid("releasing a finished record")
}

// Close implements Store.
func (s *sqlStore) Close() error {
	return errors.Join(s.stmts.Close(), s.db.Close())
}
