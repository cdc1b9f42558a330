// Package sqlstore is the plumbing the dashboard's own SQL stores (the
// audit log, the quote history) share: opening SQLite or PostgreSQL the
// same way, numbered migrations with their own bookkeeping table per
// store, and the few things the two SQL dialects spell differently.
// Each store keeps its tables, queries and migrations; only what would
// otherwise be copied, and could then drift, lives here.
package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"modernc.org/sqlite" // pure-Go SQLite driver
)

// Dialect is what differs between the SQL stores; the stores write one
// set of queries against it, so that what they record and how they read
// it cannot differ between SQLite and PostgreSQL.
type Dialect int

// The dialects.
const (
	SQLite Dialect = iota + 1
	Postgres
)

// String is the dialect's name, as error messages show it.
func (d Dialect) String() string {
	switch d {
	case SQLite:
		return "SQLite"
	case Postgres:
		return "PostgreSQL"
	default:
		return "Dialect(" + strconv.Itoa(int(d)) + ")"
	}
}

// Rebind turns the $1, $2, … of a query written once for both dialects
// into SQLite's ? placeholders (in order); PostgreSQL keeps them.
func (d Dialect) Rebind(query string) string {
	if d == Postgres {
		return query
	}
	var b strings.Builder
	for i := 0; i < len(query); i++ {
		if query[i] == '$' && i+1 < len(query) && query[i+1] >= '0' && query[i+1] <= '9' {
			b.WriteByte('?')
			for i+1 < len(query) && query[i+1] >= '0' && query[i+1] <= '9' {
				i++
			}
			continue
		}
		b.WriteByte(query[i])
	}
	return b.String()
}

// Placeholder is the n-th (1-based) bind parameter: "?" or "$n".
func (d Dialect) Placeholder(n int) string {
	if d == Postgres {
		return "$" + strconv.Itoa(n)
	}
	return "?"
}

// Time turns an instant into the value a time column stores: a
// timestamptz for PostgreSQL, fixed-width UTC text for SQLite (see
// sqliteTime). Both keep whole microseconds, PostgreSQL's resolution,
// so that every store reads back what it wrote.
func (d Dialect) Time(t time.Time) any {
	if d == Postgres {
		return t.UTC()
	}
	return t.UTC().Truncate(time.Microsecond).Format(sqliteTime)
}

// NullTime is Time, with the zero instant stored as NULL (an optional
// time, such as an offer without an expiry).
func (d Dialect) NullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return d.Time(t)
}

// ForUpdate is the clause that locks the rows a SELECT reads until the
// transaction ends. SQLite has none and needs none: a write transaction
// there (BEGIN IMMEDIATE, see the DSN) already holds the only write lock.
func (d Dialect) ForUpdate() string {
	if d == Postgres {
		return " FOR UPDATE"
	}
	return ""
}

// sqliteTime is how SQLite stores an instant: UTC text with exactly six
// fractional digits, so that it reads well in the sqlite3 shell and
// sorts as text in time order.
const sqliteTime = "2006-01-02T15:04:05.000000Z"

// Time scans an instant from either store: PostgreSQL's timestamptz
// arrives as time.Time, SQLite's text as a string. NULL scans as the
// zero time.
type Time struct{ T time.Time }

// Scan implements sql.Scanner.
func (d *Time) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		d.T = time.Time{}
	case time.Time:
		d.T = v.UTC()
	case string:
		return d.parse(v)
	case []byte:
		return d.parse(string(v))
	default:
		return fmt.Errorf("cannot read a time from %T", src)
	}
	return nil
}

func (d *Time) parse(s string) error {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("stored time %q: %w", s, err)
	}
	d.T = t.UTC()
	return nil
}

var _ sql.Scanner = (*Time)(nil)

// Migration is one numbered schema step. Statements run one by one (no
// reliance on a driver accepting several statements in one Exec), in
// the transaction that records the version.
type Migration struct {
	Version    int
	Statements []string
}

// Schema is one store's tables as a list of migrations per dialect.
type Schema struct {
	// Name starts every error ("audit": "audit: …").
	Name string
	// VersionTable keeps the applied versions, one table per store, so
	// that stores sharing a database migrate independently.
	VersionTable string
	// LockKey names the PostgreSQL advisory lock that serializes the
	// migrations of instances sharing one database. Any constant works,
	// as long as every instance uses the same one; stores sharing a
	// database had better use different ones, so that neither waits for
	// the other.
	LockKey int64
	// SQLite and Postgres list the migrations, oldest first.
	SQLite, Postgres []Migration
	// WALCheckpointAbove is the WAL size (bytes) past which the store's
	// checkpointer empties the WAL; 0 means walCheckpointAbove. A store
	// that writes in large batches sets more: every emptying makes its
	// writer's next transaction drop its whole page cache.
	WALCheckpointAbove int64
	// SQLitePragmas are set on every connection of the store as it opens
	// ("cache_size(-65536)"): settings SQLite keeps per connection.
	SQLitePragmas []string
}

// UpTo returns s with only the migrations up to version v (all when v
// is 0 or beyond the newest). Tests use it to leave a database as an
// older build left it.
func (s Schema) UpTo(v int) Schema {
	if v > 0 {
		newer := func(m Migration) bool { return m.Version > v }
		s.SQLite = slices.DeleteFunc(slices.Clone(s.SQLite), newer)
		s.Postgres = slices.DeleteFunc(slices.Clone(s.Postgres), newer)
	}
	return s
}

func (s Schema) migrations(d Dialect) []Migration {
	if d == Postgres {
		return s.Postgres
	}
	return s.SQLite
}

// identifier is what a version table may be called: it is written into
// SQL, so it must be a plain name.
var identifier = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

func (s Schema) check() error {
	if s.Name == "" || !identifier.MatchString(s.VersionTable) || len(s.SQLite) == 0 || len(s.Postgres) == 0 {
		return fmt.Errorf("sqlstore: schema %q needs a name, a plain version table name and migrations for both dialects", s.Name)
	}
	return nil
}

// Config says where a store is kept.
type Config struct {
	// Path is the SQLite file, used when DatabaseURL is empty.
	Path string
	// DatabaseURL (postgres://… or postgresql://…) wins when set.
	DatabaseURL string
	// URLSetting names the setting DatabaseURL came from, for errors
	// ("AUDIT_DATABASE_URL"): the URL itself is never repeated, as it
	// may carry a password.
	URLSetting string
}

// Open opens the configured database and brings s to its newest
// version. It fails when the database cannot be reached, so that a
// dashboard never starts with a store it cannot write.
func Open(ctx context.Context, cfg Config, s Schema) (*sql.DB, Dialect, error) {
	if err := s.check(); err != nil {
		return nil, 0, err
	}
	switch {
	case cfg.DatabaseURL != "":
		db, err := openPostgres(ctx, cfg.DatabaseURL, cfg.URLSetting, s)
		return db, Postgres, err
	case cfg.Path != "":
		db, err := openSQLite(ctx, cfg.Path, s, sqliteOptions{pragmas: s.SQLitePragmas})
		return db, SQLite, err
	default:
		return nil, 0, fmt.Errorf("%s: neither a SQLite path nor a PostgreSQL URL is configured", s.Name)
	}
}

// openSQLite opens (creating when needed) the file at path.
func openSQLite(ctx context.Context, path string, s Schema, o sqliteOptions) (*sql.DB, error) {
	if err := createPrivate(path); err != nil {
		return nil, fmt.Errorf("%s: %w", s.Name, err)
	}
	// WAL and a busy timeout let concurrent requests write without
	// "database is locked"; _txlock=immediate makes BEGIN take the write
	// lock, so that a transaction that reads before it writes cannot
	// lose the race to upgrade its lock, and a second process opening
	// the same file waits instead of migrating alongside. synchronous
	// FULL because a record that a power cut takes back is worse than a
	// slower write, and writes are rare (one per user action).
	// foreign_keys: SQLite enforces REFERENCES only when asked, per
	// connection. The WAL is kept bounded by walKeeper (see wal.go).
	c, err := sqlite.NewConnector(sqliteDSN(path, sqliteBusyWait, o))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.Name, err)
	}
	closeKeeper := func() error { return nil }
	if !o.noWALKeeper {
		k, err := startWALKeeper(s.Name, path, cmp.Or(s.WALCheckpointAbove, walCheckpointAbove), o)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.Name, err)
		}
		closeKeeper = k.close
	}
	db := sql.OpenDB(closingConnector{Connector: c, close: closeKeeper})
	if err := pingSQLite(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("%s: opening %s: %w", s.Name, path, err)
	}
	if err := migrate(ctx, db, SQLite, s); err != nil {
		db.Close()
		return nil, fmt.Errorf("%w (in %s)", err, path)
	}
	// -wal and -shm left by a build that did not create the file first
	// keep the mode they were made with.
	for _, suffix := range []string{"-wal", "-shm"} {
		if err := os.Chmod(path+suffix, 0o600); err != nil && !errors.Is(err, fs.ErrNotExist) {
			db.Close()
			return nil, fmt.Errorf("%s: %w", s.Name, err)
		}
	}
	return db, nil
}

// createPrivate makes the database file, readable by this user only,
// before SQLite opens it: the stores name people and what they did (the
// quote history's WAL holds CNPs), and SQLite gives the -wal and -shm
// files the mode of the database file when it creates them. An existing
// file is made private too.
func createPrivate(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o600) // #nosec G304 -- the store's own file in DATA_DIR
	if err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Chmod(path, 0o600)
}

// sqliteBusyWait bounds how long pingSQLite retries: as long as the
// DSN's busy_timeout would have waited.
const sqliteBusyWait = 10 * time.Second

// pingSQLite opens the first connection. While another connection sets
// up the same new file (two instances starting together, or two stores
// in one test), SQLite may answer a new connection's journal_mode
// change with SQLITE_BUSY at once, without waiting on busy_timeout. The
// race is over within milliseconds, so it is retried rather than made
// the dashboard's failure to start.
func pingSQLite(ctx context.Context, db *sql.DB) error {
	deadline := time.Now().Add(sqliteBusyWait)
	for wait := time.Millisecond; ; wait = min(2*wait, 100*time.Millisecond) {
		err := db.PingContext(ctx)
		if err == nil || !isBusy(err) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
	}
}

// isBusy reports whether err is SQLite's SQLITE_BUSY (primary code 5,
// whatever the extended code).
func isBusy(err error) bool {
	var coded interface{ Code() int }
	return errors.As(err, &coded) && coded.Code()&0xff == 5
}

// openPostgres connects to the database at url and migrates it.
func openPostgres(ctx context.Context, url, setting string, s Schema) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		// pgx's message hides the password; the URL itself is not
		// repeated here for the same reason.
		return nil, fmt.Errorf("%s: %s: %w", s.Name, setting, err)
	}
	db := stdlib.OpenDB(*cfg)
	// A handful of connections is plenty for one write per action and a
	// page read now and then; idle ones are let go so that a shared
	// server is not held open by quiet instances.
	db.SetMaxOpenConns(8)
	db.SetConnMaxIdleTime(5 * time.Minute)
	pingCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		db.Close()
		return nil, fmt.Errorf("%s: connecting to PostgreSQL at %s: %w", s.Name, cfg.Host, err)
	}
	if err := migrate(ctx, db, Postgres, s); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// versionTable creates the migration bookkeeping table.
func versionTable(d Dialect, name string) string {
	if d == Postgres {
		return `CREATE TABLE IF NOT EXISTS ` + name + ` (
			version integer PRIMARY KEY,
			applied_at timestamptz NOT NULL
		)`
	}
	return `CREATE TABLE IF NOT EXISTS ` + name + ` (
		version INTEGER PRIMARY KEY,
		applied_at TEXT NOT NULL
	)`
}

// migrate brings the schema to the newest version in one transaction:
// either every pending migration applies or none does.
func migrate(ctx context.Context, db *sql.DB, d Dialect, s Schema) (err error) {
	migrations := s.migrations(d)
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s: migrating the %s schema: %w", s.Name, d, err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if d == Postgres {
		// Two instances starting together would otherwise both see
		// version 0 and both create the tables; the transaction-scoped
		// lock is released by the commit or rollback, even on a crash.
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, s.LockKey); err != nil {
			return fmt.Errorf("%s: locking the %s schema: %w", s.Name, d, err)
		}
	}
	if _, err := tx.ExecContext(ctx, versionTable(d, s.VersionTable)); err != nil {
		return fmt.Errorf("%s: creating schema_migrations: %w", s.Name, err)
	}
	var current int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM `+s.VersionTable).Scan(&current); err != nil {
		return fmt.Errorf("%s: reading the schema version: %w", s.Name, err)
	}
	latest := migrations[len(migrations)-1].Version
	if current > latest {
		// A newer dashboard migrated this store; running old code against
		// a schema it does not know could record things wrongly.
		return fmt.Errorf("%s: the %s schema is at version %d, newer than this build knows (%d)", s.Name, d, current, latest)
	}
	for _, m := range migrations {
		if m.Version <= current {
			continue
		}
		for _, stmt := range m.Statements {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("%s: %s migration %d: %w", s.Name, d, m.Version, err)
			}
		}
		insert := `INSERT INTO ` + s.VersionTable + ` (version, applied_at) VALUES (` + d.Placeholder(1) + `, ` + d.Placeholder(2) + `)`
		if _, err := tx.ExecContext(ctx, insert, m.Version, d.Time(time.Now())); err != nil {
			return fmt.Errorf("%s: recording %s migration %d: %w", s.Name, d, m.Version, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s: migrating the %s schema: %w", s.Name, d, err)
	}
	return nil
}
