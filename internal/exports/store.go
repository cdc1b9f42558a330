package exports

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"sync"
	"time"

	"backoffice/internal/sqlstore"
)

// States of a job.
const (
	StateRunning = "running"
	StateDone    = "done"
	StateFailed  = "failed"
)

// Job is one export: whose, of which view, and how far it got. Its file
// is kept in chunks beside it.
type Job struct {
	ID string
	// Tenant and Owner (a digest of the user's key) are whose it is: no
	// one else reads it.
	Tenant, Owner string
	Format        Format
	// View is the list's URL query the export was made of; Params the
	// export's own (format, cols, locale), for a retry.
	View, Params string
	Filename     string
	State        string
	// Total is how many rows the view had when the export began; Rows
	// how many are written; Bytes the file's size so far.
	Total, Rows int
	Bytes       int64
	// Capped marks an export of a text search ordered by relevance that
	// matched more than index.RankedMatches rows: the file holds only the
	// ranked ones (the newest matches).
	Capped bool
	// Error is the catalogue key of why it failed.
	Error                             string
	Created, Heartbeat, Expires, Done time.Time
}

// Stale reports a running job whose instance stopped beating: it died
// (a crash, a restart) and will never finish.
func (j Job) Stale(now time.Time) bool {
	return j.State == StateRunning && now.Sub(j.Heartbeat) > StaleAfter
}

// Percent is how far the job got, 0..100.
func (j Job) Percent() int {
	switch {
	case j.State == StateDone:
		return 100
	case j.Total <= 0:
		return 0
	}
	return min(99, j.Rows*100/j.Total)
}

const (
	// StaleAfter is how long a running job may go without a heartbeat
	// before it counts as dead; runners beat every HeartbeatEvery.
	StaleAfter     = 15 * time.Second
	HeartbeatEvery = time.Second
	// ChunkSize is how much of a file one chunk row holds.
	ChunkSize = 1 << 20
)

// Limits bound what a tenant can make the store hold.
type Limits struct {
	// JobsPerTenant bounds the jobs kept per tenant; the oldest finished
	// ones go first to make room.
	JobsPerTenant int
	// BytesPerTenant bounds the files kept per tenant, the same way.
	BytesPerTenant int64
	// BytesPerJob bounds one file: past it the job fails.
	BytesPerJob int64
	// TTL is how long a file is kept once finished (and how long a job
	// may run).
	TTL time.Duration
	// RunningPerInstance bounds the exports one process writes at once
	// (0: no bound): each takes a core while it runs, and the others
	// wait their turn, still beating so that no instance takes them for
	// dead.
	RunningPerInstance int
}

// DefaultLimits are the limits Open uses.
var DefaultLimits = Limits{JobsPerTenant: 20, BytesPerTenant: 1 << 30, BytesPerJob: 256 << 20, TTL: time.Hour, RunningPerInstance: 4}

// Errors of the store.
var (
	ErrNotFound = errors.New("exports: no such export")
	// ErrBusy: the owner has an export running (Create returns it).
	ErrBusy = errors.New("exports: an export is running")
	// ErrFull: the tenant's running exports fill its bounds.
	ErrFull = errors.New("exports: too many exports")
	// ErrTooLarge: a file grew past Limits.BytesPerJob.
	ErrTooLarge = errors.New("exports: file too large")
	// ErrNotRunning: the job is no longer running (another instance
	// failed it as stale, or it expired): its file is not wanted.
	ErrNotRunning = errors.New("exports: the job is no longer running")
)

// Config says where jobs are kept.
type Config struct {
	// Path is the SQLite file (DATA_DIR/exports.db), used when
	// DatabaseURL is empty.
	Path string
	// DatabaseURL (AUDIT_DATABASE_URL) wins when set: every instance
	// then sees every job. Tables are named exports_….
	DatabaseURL string
	Limits      Limits
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// MaxOpenConns bounds the store's database connections (0: the
	// default of its kind).
	MaxOpenConns int
}

// Store keeps jobs and their files.
type Store struct {
	db     *sql.DB
	d      sqlstore.Dialect
	limits Limits
	now    func() time.Time

	// closing ends the pruner (PruneEvery); pruner is done when it has.
	closing   chan struct{}
	closeOnce sync.Once
	pruner    sync.WaitGroup

	// runs are the exports this process runs (Go, Drain).
	runs runs
}

// migrationLockKey names the advisory lock of the store's migrations
// ("exports" in ASCII).
const migrationLockKey int64 = 0x6578706f727473

func schema() sqlstore.Schema {
	return sqlstore.Schema{
		Name:         "exports",
		VersionTable: "exports_schema_migrations",
		LockKey:      migrationLockKey,
		SQLite: []sqlstore.Migration{{Version: 1, Statements: []string{
			`CREATE TABLE exports_jobs (
				id TEXT PRIMARY KEY,
				tenant TEXT NOT NULL,
				owner TEXT NOT NULL,
				format TEXT NOT NULL,
				view_query TEXT NOT NULL,
				params TEXT NOT NULL,
				filename TEXT NOT NULL,
				state TEXT NOT NULL,
				total INTEGER NOT NULL DEFAULT 0,
				rows INTEGER NOT NULL DEFAULT 0,
				bytes INTEGER NOT NULL DEFAULT 0,
				error TEXT NOT NULL DEFAULT '',
				created_at TEXT NOT NULL,
				heartbeat_at TEXT NOT NULL,
				expires_at TEXT NOT NULL,
				done_at TEXT
			)`,
			// One running export per user: the database decides, so two
			// instances taking two clicks cannot both start one.
			`CREATE UNIQUE INDEX exports_jobs_running ON exports_jobs (tenant, owner) WHERE state = 'running'`,
			`CREATE INDEX exports_jobs_tenant ON exports_jobs (tenant, created_at)`,
			`CREATE INDEX exports_jobs_expires ON exports_jobs (expires_at)`,
			`CREATE TABLE exports_chunks (
				job_id TEXT NOT NULL,
				seq INTEGER NOT NULL,
				data BLOB NOT NULL,
				PRIMARY KEY (job_id, seq)
			)`,
		}}, {Version: 2, Statements: []string{
			`ALTER TABLE exports_jobs ADD COLUMN capped INTEGER NOT NULL DEFAULT 0`,
		}}},
		// Files hold personal data (emails, phones): what a prune deletes
		// is overwritten, not left in free pages for anyone who reads the
		// file.
		SQLitePragmas: []string{"secure_delete(ON)"},
		Postgres: []sqlstore.Migration{{Version: 1, Statements: []string{
			`CREATE TABLE exports_jobs (
				id text PRIMARY KEY,
				tenant text NOT NULL,
				owner text NOT NULL,
				format text NOT NULL,
				view_query text NOT NULL,
				params text NOT NULL,
				filename text NOT NULL,
				state text NOT NULL,
				total bigint NOT NULL DEFAULT 0,
				rows bigint NOT NULL DEFAULT 0,
				bytes bigint NOT NULL DEFAULT 0,
				error text NOT NULL DEFAULT '',
				created_at timestamptz NOT NULL,
				heartbeat_at timestamptz NOT NULL,
				expires_at timestamptz NOT NULL,
				done_at timestamptz
			)`,
			`CREATE UNIQUE INDEX exports_jobs_running ON exports_jobs (tenant, owner) WHERE state = 'running'`,
			`CREATE INDEX exports_jobs_tenant ON exports_jobs (tenant, created_at)`,
			`CREATE INDEX exports_jobs_expires ON exports_jobs (expires_at)`,
			`CREATE TABLE exports_chunks (
				job_id text NOT NULL,
				seq integer NOT NULL,
				data bytea NOT NULL,
				PRIMARY KEY (job_id, seq)
			)`,
		}}, {Version: 2, Statements: []string{
			`ALTER TABLE exports_jobs ADD COLUMN capped boolean NOT NULL DEFAULT false`,
		}}},
	}
}

// Open opens (creating or migrating) the store.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	db, d, err := sqlstore.Open(ctx, sqlstore.Config{Path: cfg.Path, DatabaseURL: cfg.DatabaseURL, URLSetting: "AUDIT_DATABASE_URL"}, schema())
	if err != nil {
		return nil, err
	}
	s := &Store{db: db, d: d, limits: cfg.Limits, now: cfg.Now, closing: make(chan struct{}), runs: runs{stop: make(chan struct{})}}
	if cfg.MaxOpenConns > 0 {
		db.SetMaxOpenConns(cfg.MaxOpenConns)
	}
	if s.limits == (Limits{}) {
		s.limits = DefaultLimits
	}
	if n := s.limits.RunningPerInstance; n > 0 {
		s.runs.slots = make(chan struct{}, n)
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

// Close stops the pruner and closes the database.
func (s *Store) Close() error {
	s.closeOnce.Do(func() { close(s.closing) })
	s.pruner.Wait()
	return s.db.Close()
}

// PruneEvery prunes expired jobs every d until Close, so that finished
// files (personal data) go at their expiry whether or not anyone
// exports again. onErr hears a prune that failed (nil: ignored).
func (s *Store) PruneEvery(d time.Duration, onErr func(error)) {
	s.pruner.Add(1)
	go func() {
		defer s.pruner.Done()
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-s.closing:
				return
			case <-t.C:
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				err := s.Prune(ctx)
				cancel()
				if err != nil && onErr != nil {
					onErr(err)
				}
			}
		}
	}()
}

// Backend names the database kind, for the start-up log.
func (s *Store) Backend() string { return s.d.String() }

// q turns $n placeholders into the dialect's.
func (s *Store) q(query string) string { return s.d.Rebind(query) }

func (s *Store) fail(what string, err error) error {
	return fmt.Errorf("exports: %s (%s): %w", what, s.d, err)
}

const jobColumns = `id, tenant, owner, format, view_query, params, filename, state, total, rows, bytes, error,
	created_at, heartbeat_at, expires_at, done_at, capped`

func scanJob(sc interface{ Scan(...any) error }) (Job, error) {
	var j Job
	var format string
	var total, rows, bytes int64
	var created, beat, expires, done sqlstore.Time
	err := sc.Scan(&j.ID, &j.Tenant, &j.Owner, &format, &j.View, &j.Params, &j.Filename, &j.State, &total, &rows, &bytes,
		&j.Error, &created, &beat, &expires, &done, &j.Capped)
	j.Format, j.Total, j.Rows, j.Bytes = Format(format), int(total), int(rows), bytes
	j.Created, j.Heartbeat, j.Expires, j.Done = created.T, beat.T, expires.T, done.T
	return j, err
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// querier is a database or a transaction.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// tenantLock names the advisory lock a PostgreSQL Create holds for its
// tenant, so that two instances creating at once cannot both pass the
// tenant's bounds. SQLite's write transaction (BEGIN IMMEDIATE) is the
// lock there.
func tenantLock(tenant string) int64 {
	h := fnv.New64a()
	h.Write([]byte("exports\x00" + tenant))
	return int64(h.Sum64()) // #nosec G115 -- a lock name; wrapping is fine
}

// Create records a new running job for j's tenant and owner, after
// pruning what expired and making room within the tenant's limits. When
// the owner has an export running it returns that job and ErrBusy. The
// checks and the insert are one transaction, under a per-tenant lock on
// PostgreSQL: concurrent creates on any instance keep the bounds.
func (s *Store) Create(ctx context.Context, j Job) (Job, error) {
	if j.Tenant == "" || j.Owner == "" {
		return Job{}, errors.New("exports: a job needs a tenant and an owner")
	}
	if err := s.Prune(ctx); err != nil {
		return Job{}, err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return Job{}, s.fail("creating a job", err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit, a no-op
	if s.d == sqlstore.Postgres {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, tenantLock(j.Tenant)); err != nil {
			return Job{}, s.fail("locking the tenant's jobs", err)
		}
	}
	now := s.now()
	if err := s.failStale(ctx, tx, j.Tenant, now); err != nil {
		return Job{}, err
	}
	if running, ok, err := s.running(ctx, tx, j.Tenant, j.Owner); err != nil {
		return Job{}, err
	} else if ok {
		return running, ErrBusy
	}
	if err := s.makeRoom(ctx, tx, j.Tenant); err != nil {
		return Job{}, err
	}
	j.ID, j.State, j.Rows, j.Bytes, j.Error = newID(), StateRunning, 0, 0, ""
	j.Created, j.Heartbeat, j.Expires = now, now, now.Add(s.limits.TTL)
	_, err = tx.ExecContext(ctx, s.q(`INSERT INTO exports_jobs (`+jobColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, 0, '', $10, $11, $12, NULL, $13)`),
		j.ID, j.Tenant, j.Owner, string(j.Format), j.View, j.Params, j.Filename, j.State, j.Total,
		s.d.Time(j.Created), s.d.Time(j.Heartbeat), s.d.Time(j.Expires), j.Capped)
	if err == nil {
		err = tx.Commit()
	}
	if err != nil {
		_ = tx.Rollback()
		// The unique index: another instance started one meanwhile.
		if running, ok, rerr := s.Running(ctx, j.Tenant, j.Owner); rerr == nil && ok {
			return running, ErrBusy
		}
		return Job{}, s.fail("creating a job", err)
	}
	return j, nil
}

// failStale marks the tenant's running jobs whose instance stopped
// beating as failed, so that their owners may start again.
func (s *Store) failStale(ctx context.Context, db querier, tenant string, now time.Time) error {
	_, err := db.ExecContext(ctx, s.q(`UPDATE exports_jobs SET state = 'failed', error = 'exports.error.stale'
		WHERE tenant = $1 AND state = 'running' AND heartbeat_at < $2`), tenant, s.d.Time(now.Add(-StaleAfter)))
	if err != nil {
		return s.fail("failing stale jobs", err)
	}
	return nil
}

// makeRoom deletes the tenant's oldest finished jobs until one more
// fits the limits; ErrFull when the running ones alone fill them.
func (s *Store) makeRoom(ctx context.Context, db querier, tenant string) error {
	rows, err := db.QueryContext(ctx, s.q(`SELECT id, state, bytes FROM exports_jobs WHERE tenant = $1 ORDER BY created_at, id`), tenant)
	if err != nil {
		return s.fail("listing jobs", err)
	}
	type kept struct {
		id      string
		running bool
		bytes   int64
	}
	var all []kept
	var count int
	var size int64
	for rows.Next() {
		var k kept
		var state string
		if err := rows.Scan(&k.id, &state, &k.bytes); err != nil {
			rows.Close()
			return s.fail("listing jobs", err)
		}
		k.running = state == StateRunning
		all = append(all, k)
		count++
		size += k.bytes
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return s.fail("listing jobs", err)
	}
	for _, k := range all {
		if count < s.limits.JobsPerTenant && size < s.limits.BytesPerTenant {
			break
		}
		if k.running {
			continue
		}
		if err := s.delete(ctx, db, k.id); err != nil {
			return err
		}
		count--
		size -= k.bytes
	}
	if count >= s.limits.JobsPerTenant || size >= s.limits.BytesPerTenant {
		return ErrFull
	}
	return nil
}

func (s *Store) delete(ctx context.Context, db querier, id string) error {
	if _, err := db.ExecContext(ctx, s.q(`DELETE FROM exports_chunks WHERE job_id = $1`), id); err != nil {
		return s.fail("deleting a file", err)
	}
	if _, err := db.ExecContext(ctx, s.q(`DELETE FROM exports_jobs WHERE id = $1`), id); err != nil {
		return s.fail("deleting a job", err)
	}
	return nil
}

// Prune deletes the jobs past their expiry, with their files. On
// SQLite (secure_delete on) the WAL is then checkpointed and emptied,
// so that the deleted files' pages are overwritten in the database file
// and gone from the log.
func (s *Store) Prune(ctx context.Context) error {
	deleted := 0
	for {
		ids, err := s.expired(ctx)
		if err != nil {
			return err
		}
		for _, id := range ids {
			if err := s.delete(ctx, s.db, id); err != nil {
				return err
			}
			deleted++
		}
		if len(ids) < pruneBatch {
			break
		}
	}
	if deleted > 0 && s.d == sqlstore.SQLite {
		return s.checkpoint(ctx)
	}
	return nil
}

// checkpoint copies the WAL into the database and empties it, trying
// again for a few seconds while it is refused: SQLite answers busy at
// once while another connection (sqlstore's own checkpointer, a
// commit's automatic one) checkpoints, or while a reader is in the WAL.
func (s *Store) checkpoint(ctx context.Context) error {
	deadline := time.Now().Add(5 * time.Second)
	for wait := time.Millisecond; ; wait = min(2*wait, 100*time.Millisecond) {
		var busy, logFrames, checkpointed int
		if err := s.db.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logFrames, &checkpointed); err != nil {
			return s.fail("checkpointing after a prune", err)
		}
		if busy == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return s.fail("checkpointing after a prune", errors.New("the WAL stayed busy"))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

// pruneBatch is how many expired jobs one query lists.
const pruneBatch = 100

func (s *Store) expired(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT id FROM exports_jobs WHERE expires_at < $1 LIMIT $2`), s.d.Time(s.now()), pruneBatch)
	if err != nil {
		return nil, s.fail("pruning", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, s.fail("pruning", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail("pruning", err)
	}
	return ids, nil
}

// Running is the owner's running job that still beats, if any.
func (s *Store) Running(ctx context.Context, tenant, owner string) (Job, bool, error) {
	return s.running(ctx, s.db, tenant, owner)
}

func (s *Store) running(ctx context.Context, db querier, tenant, owner string) (Job, bool, error) {
	j, err := scanJob(db.QueryRowContext(ctx, s.q(`SELECT `+jobColumns+` FROM exports_jobs
		WHERE tenant = $1 AND owner = $2 AND state = 'running'`), tenant, owner))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Job{}, false, nil
	case err != nil:
		return Job{}, false, s.fail("reading a job", err)
	case j.Stale(s.now()):
		return Job{}, false, nil
	}
	return j, true, nil
}

// Get reads a job of tenant and owner; any other's, or an expired one,
// is ErrNotFound.
func (s *Store) Get(ctx context.Context, tenant, owner, id string) (Job, error) {
	j, err := scanJob(s.db.QueryRowContext(ctx, s.q(`SELECT `+jobColumns+` FROM exports_jobs
		WHERE id = $1 AND tenant = $2 AND owner = $3`), id, tenant, owner))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Job{}, ErrNotFound
	case err != nil:
		return Job{}, s.fail("reading a job", err)
	case s.now().After(j.Expires):
		return Job{}, ErrNotFound
	}
	return j, nil
}

// Progress records rows written so far, and that the job's instance is
// alive.
func (s *Store) Progress(ctx context.Context, id string, rows int) error {
	_, err := s.db.ExecContext(ctx, s.q(`UPDATE exports_jobs SET rows = $1, heartbeat_at = $2 WHERE id = $3 AND state = 'running'`),
		rows, s.d.Time(s.now()), id)
	if err != nil {
		return s.fail("recording progress", err)
	}
	return nil
}

// Finish marks a job done with its row count; the file is kept until
// TTL from now. A job already failed (found stale by another instance)
// stays failed, and Finish says so with ErrNotRunning: the export did
// not complete, whatever this instance wrote.
func (s *Store) Finish(ctx context.Context, id string, rows int, bytes int64) error {
	now := s.now()
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE exports_jobs SET state = 'done', rows = $1, bytes = $2, heartbeat_at = $3,
		done_at = $4, expires_at = $5 WHERE id = $6 AND state = 'running'`), rows, bytes, s.d.Time(now), s.d.Time(now), s.d.Time(now.Add(s.limits.TTL)), id)
	if err != nil {
		return s.fail("finishing a job", err)
	}
	return affected(res, "finishing a job", s)
}

// affected is ErrNotRunning when an update guarded by state = 'running'
// changed no row.
func affected(res sql.Result, what string, s *Store) error {
	n, err := res.RowsAffected()
	if err != nil {
		return s.fail(what, err)
	}
	if n == 0 {
		return ErrNotRunning
	}
	return nil
}

// Fail marks a job failed, with the catalogue key of why, and drops
// what was written of its file.
func (s *Store) Fail(ctx context.Context, id, key string) error {
	if _, err := s.db.ExecContext(ctx, s.q(`UPDATE exports_jobs SET state = 'failed', error = $1, bytes = 0 WHERE id = $2`), key, id); err != nil {
		return s.fail("failing a job", err)
	}
	if _, err := s.db.ExecContext(ctx, s.q(`DELETE FROM exports_chunks WHERE job_id = $1`), id); err != nil {
		return s.fail("failing a job", err)
	}
	return nil
}

// WriteFile copies a finished job's file to w, one Write per chunk.
// Each chunk is read by a query of its own (by job and sequence), so
// that a slow download holds a database connection only for the moment
// one chunk takes to read, never for the whole transfer.
func (s *Store) WriteFile(ctx context.Context, id string, w io.Writer) error {
	for seq := 0; ; seq++ {
		data, ok, err := s.ReadChunk(ctx, id, seq)
		if err != nil || !ok {
			return err
		}
		if _, err := w.Write(data); err != nil {
			return err
		}
	}
}

// ReadChunk reads chunk seq (from 0) of job id's file; ok is false past
// its last chunk.
func (s *Store) ReadChunk(ctx context.Context, id string, seq int) (data []byte, ok bool, err error) {
	err = s.db.QueryRowContext(ctx, s.q(`SELECT data FROM exports_chunks WHERE job_id = $1 AND seq = $2`), id, seq).Scan(&data)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, false, nil
	case err != nil:
		return nil, false, s.fail("reading a file", err)
	}
	return data, true, nil
}

// FileWriter writes a job's file into the store in chunks as it grows;
// each chunk written is also a heartbeat.
type FileWriter struct {
	s     *Store
	ctx   context.Context
	id    string
	buf   []byte
	seq   int
	bytes int64
}

// NewFileWriter starts writing the file of job id.
func (s *Store) NewFileWriter(ctx context.Context, id string) *FileWriter {
	return &FileWriter{s: s, ctx: ctx, id: id, buf: make([]byte, 0, ChunkSize)}
}

// Write implements io.Writer.
func (w *FileWriter) Write(p []byte) (int, error) {
	n := len(p)
	if w.bytes+int64(len(w.buf))+int64(n) > w.s.limits.BytesPerJob {
		return 0, ErrTooLarge
	}
	for len(p) > 0 {
		k := min(len(p), ChunkSize-len(w.buf))
		w.buf = append(w.buf, p[:k]...)
		p = p[k:]
		if len(w.buf) == ChunkSize {
			if err := w.flush(); err != nil {
				return 0, err
			}
		}
	}
	return n, nil
}

func (w *FileWriter) flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	s := w.s
	// The chunk and the job's size in one transaction: one commit (one
	// sync to disk on SQLite) per chunk.
	tx, err := s.db.BeginTx(w.ctx, nil)
	if err != nil {
		return s.fail("writing a chunk", err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit, a no-op
	if _, err := tx.ExecContext(w.ctx, s.q(`INSERT INTO exports_chunks (job_id, seq, data) VALUES ($1, $2, $3)`), w.id, w.seq, w.buf); err != nil {
		return s.fail("writing a chunk", err)
	}
	size := w.bytes + int64(len(w.buf))
	// Only while the job runs: a job failed meanwhile (as stale, by
	// another instance) gets no more of its file, and the run stops.
	res, err := tx.ExecContext(w.ctx, s.q(`UPDATE exports_jobs SET bytes = $1, heartbeat_at = $2 WHERE id = $3 AND state = 'running'`),
		size, s.d.Time(s.now()), w.id)
	if err != nil {
		return s.fail("writing a chunk", err)
	}
	if err := affected(res, "writing a chunk", s); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return s.fail("writing a chunk", err)
	}
	w.seq++
	w.bytes = size
	w.buf = w.buf[:0]
	return nil
}

// Close writes what is left; Size is then the file's size.
func (w *FileWriter) Close() error { return w.flush() }

// Size is how many bytes were written to the store.
func (w *FileWriter) Size() int64 { return w.bytes }

// Find reads a job by id alone, whoever's it is: for operators' tools
// and tests. Pages read jobs with Get, which is scoped to their owner.
func (s *Store) Find(ctx context.Context, id string) (Job, error) {
	j, err := scanJob(s.db.QueryRowContext(ctx, s.q(`SELECT `+jobColumns+` FROM exports_jobs WHERE id = $1`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return Job{}, ErrNotFound
	}
	return j, err
}
