package throttle

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"

	"github.com/go-chi/httprate"

	"backoffice/internal/sqlstore"
)

// migrationLockKey names the advisory lock serializing migrations of the
// counters' table ("thrott" in ASCII), apart from the other stores'
// that may share the database.
const migrationLockKey int64 = 0x7468726f7474

// schema is the counters' table, throttle_…, with its own version table
// so that it can live in the audit log's PostgreSQL database. One row
// per key and window: a failure is one upsert on it, and a check reads
// the current and previous windows' rows. sqlstore wants both dialects;
// SQLite serves the tests of the queries, not the dashboard, where one
// instance counts in memory.
func schema() sqlstore.Schema {
	return sqlstore.Schema{
		Name:         "throttle",
		VersionTable: "throttle_schema_migrations",
		LockKey:      migrationLockKey,
		SQLite: []sqlstore.Migration{
			{Version: 1, Statements: []string{
				`CREATE TABLE throttle_counters (
					key TEXT NOT NULL CHECK (key <> ''),
					window_start TEXT NOT NULL,
					count INTEGER NOT NULL,
					PRIMARY KEY (key, window_start)
				)`,
				`CREATE INDEX throttle_counters_window ON throttle_counters (window_start)`,
			}},
		},
		Postgres: []sqlstore.Migration{
			{Version: 1, Statements: []string{
				`CREATE TABLE throttle_counters (
					key text NOT NULL CHECK (key <> ''),
					window_start timestamptz NOT NULL,
					count integer NOT NULL,
					PRIMARY KEY (key, window_start)
				)`,
				// The sweep of windows too old to matter.
				`CREATE INDEX throttle_counters_window ON throttle_counters (window_start)`,
			}},
		},
	}
}

// sqlTimeout bounds each query: a sign-in waits for it, and a database
// that does not answer that fast is treated as down (fail open).
const sqlTimeout = time.Second

// OpenSQL counts in the database of cfg: PostgreSQL (AUDIT_DATABASE_URL)
// for instances sharing it, creating or migrating the table. A failing
// database lets attempts through (see the package comment).
func OpenSQL(ctx context.Context, cfg sqlstore.Config, l Limits, opts ...Option) (*Counting, error) {
	db, d, err := sqlstore.Open(ctx, cfg, schema())
	if err != nil {
		return nil, err
	}
	lim, err := New(&sqlCounter{db: db, d: d}, l, opts...)
	if err != nil {
		db.Close()
		return nil, err
	}
	lim.close = db.Close
	return lim, nil
}

// sqlCounter is an httprate.LimitCounter in a SQL table. Every failure
// is one atomic upsert, so that instances counting the same key at the
// same moment never lose a count.
type sqlCounter struct {
	db     *sql.DB
	d      sqlstore.Dialect
	window time.Duration

	sweepMu   sync.Mutex
	lastSweep time.Time
}

var _ httprate.LimitCounter = (*sqlCounter)(nil)

func (c *sqlCounter) Config(_ int, window time.Duration) { c.window = window }

func (c *sqlCounter) Increment(key string, current time.Time) error {
	return c.IncrementBy(key, current, 1)
}

func (c *sqlCounter) IncrementBy(key string, current time.Time, n int) error {
	ctx, cancel := context.WithTimeout(context.Background(), sqlTimeout)
	defer cancel()
	p := c.d.Placeholder
	var count int
	err := c.db.QueryRowContext(ctx, `INSERT INTO throttle_counters (key, window_start, count) VALUES (`+p(1)+`, `+p(2)+`, `+p(3)+`)
		ON CONFLICT (key, window_start) DO UPDATE SET count = throttle_counters.count + excluded.count
		RETURNING count`, key, c.d.Time(current), n).Scan(&count)
	if err != nil {
		return fmt.Errorf("counting in %s: %w", c.d, err)
	}
	c.sweep(ctx, current)
	return nil
}

func (c *sqlCounter) Get(key string, current, previous time.Time) (curr, prev int, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), sqlTimeout)
	defer cancel()
	p := c.d.Placeholder
	rows, err := c.db.QueryContext(ctx, `SELECT window_start, count FROM throttle_counters
		WHERE key = `+p(1)+` AND window_start IN (`+p(2)+`, `+p(3)+`)`, key, c.d.Time(current), c.d.Time(previous))
	if err != nil {
		return 0, 0, fmt.Errorf("reading counts in %s: %w", c.d, err)
	}
	defer rows.Close()
	for rows.Next() {
		var start sqlstore.Time
		var n int
		if err := rows.Scan(&start, &n); err != nil {
			return 0, 0, fmt.Errorf("reading counts in %s: %w", c.d, err)
		}
		if start.T.Equal(current) {
			curr = n
		} else {
			prev = n
		}
	}
	if err := rows.Err(); err != nil {
		return 0, 0, fmt.Errorf("reading counts in %s: %w", c.d, err)
	}
	return curr, prev, nil
}

// sweep deletes the windows no check reads any more, at most once a
// window per instance: every address that ever failed leaves rows, and
// nothing else would remove them. A failed sweep is retried next time.
func (c *sqlCounter) sweep(ctx context.Context, current time.Time) {
	c.sweepMu.Lock()
	if current.Sub(c.lastSweep) < c.window {
		c.sweepMu.Unlock()
		return
	}
	c.lastSweep = current
	c.sweepMu.Unlock()
	if _, err := c.db.ExecContext(ctx, `DELETE FROM throttle_counters WHERE window_start < `+c.d.Placeholder(1),
		c.d.Time(current.Add(-c.window))); err != nil {
		c.sweepMu.Lock()
		c.lastSweep = time.Time{}
		c.sweepMu.Unlock()
	}
}
