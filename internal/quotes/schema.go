package quotes

import "backoffice/internal/sqlstore"

// migrationLockKey names the advisory lock that serializes migrations of
// instances sharing one PostgreSQL database ("quotes" in ASCII). It
// differs from the audit log's, as the two may share a database and
// have no reason to wait for each other.
const migrationLockKey int64 = 0x71756f746573

// schema is the quote tables in both dialects. They are named quotes_…,
// with their own version table, so that they can live in the audit
// log's PostgreSQL database beside its audit_… tables. A function rather
// than a package variable, so that no test or caller can change it for
// others.
//
// What a step or a status may be is checked in Go, not by CHECK
// constraints: a new step must not need a migration, which SQLite
// could only do by rebuilding the table. The constraints keep what must
// hold whatever the code: ids, owners and the one policy per offer.
func schema() sqlstore.Schema {
	return sqlstore.Schema{
		Name:         "quotes",
		VersionTable: "quotes_schema_migrations",
		LockKey:      migrationLockKey,
		SQLite: []sqlstore.Migration{
			{Version: 1, Statements: []string{
				// JSON columns are NULL until the step is filled; times
				// are fixed-width UTC text, which sorts in time order.
				`CREATE TABLE quotes_drafts (
					id TEXT PRIMARY KEY,
					account TEXT NOT NULL CHECK (account <> ''),
					step TEXT NOT NULL CHECK (step <> ''),
					title TEXT NOT NULL DEFAULT '',
					vehicle TEXT CHECK (vehicle IS NULL OR json_valid(vehicle)),
					owner TEXT CHECK (owner IS NULL OR json_valid(owner)),
					cover TEXT CHECK (cover IS NULL OR json_valid(cover)),
					version INTEGER NOT NULL CHECK (version > 0),
					created_at TEXT NOT NULL,
					updated_at TEXT NOT NULL
				)`,
				// The history list: one account's drafts, newest first.
				`CREATE INDEX quotes_drafts_account_updated ON quotes_drafts (account, updated_at, id)`,
				// seq keeps the order the upstream gave the offers in.
				`CREATE TABLE quotes_offers (
					draft_id TEXT NOT NULL REFERENCES quotes_drafts (id),
					seq INTEGER NOT NULL,
					offer_id TEXT NOT NULL DEFAULT '',
					provider TEXT NOT NULL CHECK (provider <> ''),
					body TEXT CHECK (body IS NULL OR json_valid(body)),
					error TEXT NOT NULL DEFAULT '',
					expires_at TEXT,
					created_at TEXT NOT NULL,
					PRIMARY KEY (draft_id, seq)
				)`,
				// The primary key is the one policy per offer (per
				// account: the offer ids are the upstream's, and a clash
				// with another account's must neither block this one nor
				// show it the other's policy).
				`CREATE TABLE quotes_policies (
					account TEXT NOT NULL CHECK (account <> ''),
					offer_id TEXT NOT NULL CHECK (offer_id <> ''),
					draft_id TEXT NOT NULL REFERENCES quotes_drafts (id),
					provider TEXT NOT NULL CHECK (provider <> ''),
					series TEXT NOT NULL DEFAULT '',
					number TEXT NOT NULL CHECK (number <> ''),
					body TEXT CHECK (body IS NULL OR json_valid(body)),
					issued_at TEXT NOT NULL,
					PRIMARY KEY (account, offer_id)
				)`,
				`CREATE INDEX quotes_policies_number ON quotes_policies (account, series, number, issued_at)`,
				`CREATE INDEX quotes_policies_draft ON quotes_policies (draft_id, issued_at)`,
			}},
			// The insurers being asked for a draft's offers: a row per
			// provider awaiting its answer, named by the token of the
			// request that asked (a later ask replaces it, so that only
			// the latest answer is kept).
			{Version: 2, Statements: []string{
				`CREATE TABLE quotes_asks (
					draft_id TEXT NOT NULL REFERENCES quotes_drafts (id),
					provider TEXT NOT NULL CHECK (provider <> ''),
					token TEXT NOT NULL CHECK (token <> ''),
					started_at TEXT NOT NULL,
					PRIMARY KEY (draft_id, provider)
				)`,
			}},
		},
		Postgres: []sqlstore.Migration{
			{Version: 1, Statements: []string{
				// json, not jsonb: it keeps the exact text the handlers
				// stored (key order, spacing), so that a draft reads back
				// byte for byte as in SQLite and Memory.
				`CREATE TABLE quotes_drafts (
					id text PRIMARY KEY,
					account text NOT NULL CHECK (account <> ''),
					step text NOT NULL CHECK (step <> ''),
					title text NOT NULL DEFAULT '',
					vehicle json,
					owner json,
					cover json,
					version integer NOT NULL CHECK (version > 0),
					created_at timestamptz NOT NULL,
					updated_at timestamptz NOT NULL
				)`,
				`CREATE INDEX quotes_drafts_account_updated ON quotes_drafts (account, updated_at DESC, id DESC)`,
				`CREATE TABLE quotes_offers (
					draft_id text NOT NULL REFERENCES quotes_drafts (id),
					seq integer NOT NULL,
					offer_id text NOT NULL DEFAULT '',
					provider text NOT NULL CHECK (provider <> ''),
					body json,
					error text NOT NULL DEFAULT '',
					expires_at timestamptz,
					created_at timestamptz NOT NULL,
					PRIMARY KEY (draft_id, seq)
				)`,
				`CREATE TABLE quotes_policies (
					account text NOT NULL CHECK (account <> ''),
					offer_id text NOT NULL CHECK (offer_id <> ''),
					draft_id text NOT NULL REFERENCES quotes_drafts (id),
					provider text NOT NULL CHECK (provider <> ''),
					series text NOT NULL DEFAULT '',
					number text NOT NULL CHECK (number <> ''),
					body json,
					issued_at timestamptz NOT NULL,
					PRIMARY KEY (account, offer_id)
				)`,
				`CREATE INDEX quotes_policies_number ON quotes_policies (account, series, number, issued_at DESC)`,
				`CREATE INDEX quotes_policies_draft ON quotes_policies (draft_id, issued_at)`,
			}},
			{Version: 2, Statements: []string{
				`CREATE TABLE quotes_asks (
					draft_id text NOT NULL REFERENCES quotes_drafts (id),
					provider text NOT NULL CHECK (provider <> ''),
					token text NOT NULL CHECK (token <> ''),
					started_at timestamptz NOT NULL,
					PRIMARY KEY (draft_id, provider)
				)`,
			}},
		},
	}
}
