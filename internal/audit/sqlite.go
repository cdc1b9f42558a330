package audit

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"time"

	_ "modernc.org/sqlite" // pure-Go SQLite driver "sqlite"
)

// sqliteDialect stores the log in one SQLite file. A function rather than
// a package variable, so that no test or caller can change it for others.
func sqliteDialect() dialect {
	return dialect{
		name:        "SQLite",
		placeholder: func(int) string { return "?" },
		timeArg:     func(t time.Time) any { return t.UTC().Truncate(time.Microsecond).Format(sqliteTime) },
		// The DSN's _txlock=immediate makes BEGIN take the write lock, so a
		// second process opening the same file waits (busy_timeout) instead
		// of migrating alongside.
		lock: func(context.Context, *sql.Tx) error { return nil },
		versionTable: `CREATE TABLE IF NOT EXISTS audit_schema_migrations (
		version INTEGER PRIMARY KEY,
		applied_at TEXT NOT NULL
	)`,
		migrations: []migration{
			{version: 1, statements: []string{
				// AUTOINCREMENT: ids are never reused, even for the last row
				// of a file someone tampered with outside the triggers.
				`CREATE TABLE audit_entries (
				id INTEGER PRIMARY KEY AUTOINCREMENT,
				at TEXT NOT NULL,
				action TEXT NOT NULL CHECK (action <> ''),
				actor TEXT NOT NULL CHECK (actor <> ''),
				actor_name TEXT NOT NULL DEFAULT '',
				mode TEXT NOT NULL DEFAULT '',
				policy_id TEXT NOT NULL CHECK (policy_id <> ''),
				insurer_policy_id TEXT NOT NULL DEFAULT '',
				version_id TEXT NOT NULL DEFAULT '',
				new_version_id TEXT NOT NULL DEFAULT '',
				reason TEXT NOT NULL DEFAULT '',
				termination_date TEXT NOT NULL DEFAULT '',
				outcome TEXT NOT NULL CHECK (outcome <> ''),
				upstream_status INTEGER NOT NULL DEFAULT 0,
				upstream_request_id TEXT NOT NULL DEFAULT '',
				message TEXT NOT NULL DEFAULT ''
			)`,
				// Every filter is an equality on one column, read newest
				// first: (column, id) answers both from the index.
				`CREATE INDEX audit_entries_policy_id ON audit_entries (policy_id, id)`,
				`CREATE INDEX audit_entries_insurer_policy_id ON audit_entries (insurer_policy_id, id)`,
				`CREATE INDEX audit_entries_actor ON audit_entries (actor, id)`,
				`CREATE INDEX audit_entries_actor_name ON audit_entries (actor_name, id)`,
				`CREATE INDEX audit_entries_outcome ON audit_entries (outcome, id)`,
				// The Go code has no update or delete; the triggers keep
				// hand-written SQL from rewriting history as well.
				`CREATE TRIGGER audit_entries_no_update BEFORE UPDATE ON audit_entries
			BEGIN SELECT RAISE(ABORT, 'audit entries are append-only: UPDATE refused'); END`,
				`CREATE TRIGGER audit_entries_no_delete BEFORE DELETE ON audit_entries
			BEGIN SELECT RAISE(ABORT, 'audit entries are append-only: DELETE refused'); END`,
			}},
			// Policy creations: the variant, holder and push reference, and
			// no policy id until the insurer has made the policy. SQLite
			// cannot drop a CHECK, so the table is rebuilt, in this
			// migration's transaction: a failure leaves version 1 as it was.
			{version: 2, statements: []string{
				`CREATE TABLE audit_entries_v2 (
				id INTEGER PRIMARY KEY AUTOINCREMENT,
				at TEXT NOT NULL,
				action TEXT NOT NULL CHECK (action <> ''),
				actor TEXT NOT NULL CHECK (actor <> ''),
				actor_name TEXT NOT NULL DEFAULT '',
				mode TEXT NOT NULL DEFAULT '',
				policy_id TEXT NOT NULL DEFAULT '',
				insurer_policy_id TEXT NOT NULL DEFAULT '',
				version_id TEXT NOT NULL DEFAULT '',
				new_version_id TEXT NOT NULL DEFAULT '',
				reason TEXT NOT NULL DEFAULT '',
				termination_date TEXT NOT NULL DEFAULT '',
				outcome TEXT NOT NULL CHECK (outcome <> ''),
				upstream_status INTEGER NOT NULL DEFAULT 0,
				upstream_request_id TEXT NOT NULL DEFAULT '',
				message TEXT NOT NULL DEFAULT '',
				variant_id TEXT NOT NULL DEFAULT '',
				holder TEXT NOT NULL DEFAULT '',
				reference TEXT NOT NULL DEFAULT ''
			)`,
				// Ids are copied, so links and notes naming an entry by id
				// stay right.
				`INSERT INTO audit_entries_v2 (id, at, action, actor, actor_name, mode, policy_id, insurer_policy_id,
				version_id, new_version_id, reason, termination_date, outcome, upstream_status, upstream_request_id, message)
			SELECT id, at, action, actor, actor_name, mode, policy_id, insurer_policy_id,
				version_id, new_version_id, reason, termination_date, outcome, upstream_status, upstream_request_id, message
			FROM audit_entries ORDER BY id`,
				// The copy leaves the new table's counter at the highest id
				// copied; the old counter may be higher (ids handed out to
				// rows removed outside the triggers). Carry the larger one,
				// so that no id is ever handed out twice.
				`DELETE FROM sqlite_sequence WHERE name = 'audit_entries_v2'`,
				`INSERT INTO sqlite_sequence (name, seq)
			SELECT 'audit_entries_v2', seq FROM (
				SELECT MAX(seq) AS seq FROM (
					SELECT seq FROM sqlite_sequence WHERE name = 'audit_entries'
					UNION ALL SELECT MAX(id) FROM audit_entries_v2))
			WHERE seq IS NOT NULL`,
				// DROP TABLE fires no DELETE trigger (it removes the
				// table's triggers and indexes with it, and its counter
				// row); the rename then carries the new counter row along.
				`DROP TABLE audit_entries`,
				`ALTER TABLE audit_entries_v2 RENAME TO audit_entries`,
				`CREATE INDEX audit_entries_policy_id ON audit_entries (policy_id, id)`,
				`CREATE INDEX audit_entries_insurer_policy_id ON audit_entries (insurer_policy_id, id)`,
				`CREATE INDEX audit_entries_actor ON audit_entries (actor, id)`,
				`CREATE INDEX audit_entries_actor_name ON audit_entries (actor_name, id)`,
				`CREATE INDEX audit_entries_outcome ON audit_entries (outcome, id)`,
				`CREATE INDEX audit_entries_reference ON audit_entries (reference, id)`,
				`CREATE TRIGGER audit_entries_no_update BEFORE UPDATE ON audit_entries
			BEGIN SELECT RAISE(ABORT, 'audit entries are append-only: UPDATE refused'); END`,
				`CREATE TRIGGER audit_entries_no_delete BEFORE DELETE ON audit_entries
			BEGIN SELECT RAISE(ABORT, 'audit entries are append-only: DELETE refused'); END`,
			}},
		},
	}
}

// openSQLite opens (creating when needed) the log in the file at path.
func openSQLite(ctx context.Context, path string, d dialect) (Log, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	// WAL and a busy timeout let concurrent requests append without
	// "database is locked"; synchronous FULL because an audit entry that
	// a power cut takes back is worse than a slower append, and appends
	// are rare (one per action).
	db, err := sql.Open("sqlite", "file:"+path+
		"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	l := &sqlLog{db: db, d: d}
	if err := ping(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("audit: opening %s: %w", path, err)
	}
	if err := l.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("%w (in %s)", err, path)
	}
	// The log names who did what to which policy: only this user reads it.
	if err := os.Chmod(path, 0o600); err != nil {
		db.Close()
		return nil, fmt.Errorf("audit: %w", err)
	}
	return l, nil
}
