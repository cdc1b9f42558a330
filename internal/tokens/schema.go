package tokens

import "backoffice/internal/sqlstore"

// migrationLockKey names the advisory lock that serializes migrations of
// instances sharing one PostgreSQL database ("tokens" in ASCII). It
// differs from the audit log's and the quotes', as the three may share
// a database and have no reason to wait for each other.
const migrationLockKey int64 = 0x746f6b656e73

// schema is the record table in both dialects, named tokens_… with its
// own version table so that it can live in the audit log's PostgreSQL
// database. A function rather than a package variable, so that no test
// or caller can change it for others.
//
// finished_at says a claim's work is done: result alone cannot, as an
// empty result may read back as NULL.
func schema() sqlstore.Schema {
	return sqlstore.Schema{
		Name:         "tokens",
		VersionTable: "tokens_schema_migrations",
		LockKey:      migrationLockKey,
		SQLite: []sqlstore.Migration{
			{Version: 1, Statements: []string{
				`CREATE TABLE tokens_records (
					key TEXT PRIMARY KEY CHECK (key <> ''),
					owner TEXT NOT NULL,
					kind TEXT NOT NULL CHECK (kind <> ''),
					subject TEXT NOT NULL,
					state BLOB,
					claimed_at TEXT,
					finished_at TEXT,
					result BLOB,
					created_at TEXT NOT NULL,
					expires_at TEXT NOT NULL
				)`,
				// Find: an owner's open forms of one kind and subject,
				// newest first. Claimed rows are never looked for there.
				`CREATE INDEX tokens_records_find ON tokens_records (owner, kind, subject, created_at, key) WHERE claimed_at IS NULL`,
				// Create's per-owner bound, oldest first.
				`CREATE INDEX tokens_records_owner ON tokens_records (owner, created_at, key)`,
				// Pruning, a bounded batch of the expired at a time.
				`CREATE INDEX tokens_records_expires ON tokens_records (expires_at)`,
			}},
		},
		Postgres: []sqlstore.Migration{
			{Version: 1, Statements: []string{
				`CREATE TABLE tokens_records (
					key text PRIMARY KEY CHECK (key <> ''),
					owner text NOT NULL,
					kind text NOT NULL CHECK (kind <> ''),
					subject text NOT NULL,
					state bytea,
					claimed_at timestamptz,
					finished_at timestamptz,
					result bytea,
					created_at timestamptz NOT NULL,
					expires_at timestamptz NOT NULL
				)`,
				`CREATE INDEX tokens_records_find ON tokens_records (owner, kind, subject, created_at DESC, key DESC) WHERE claimed_at IS NULL`,
				`CREATE INDEX tokens_records_owner ON tokens_records (owner, created_at DESC, key DESC)`,
				`CREATE INDEX tokens_records_expires ON tokens_records (expires_at)`,
			}},
		},
	}
}
