package audit

import "backoffice/internal/sqlstore"

// sqliteMigrations keep the log in one SQLite file.
func sqliteMigrations() []sqlstore.Migration {
	return []sqlstore.Migration{
		{Version: 1, Statements: []string{
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
		{Version: 2, Statements: []string{
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
		// Tenants (the KASKO distributor and mode, or the partner
		// account), and coalesced refusals: one row per session, action,
		// object and minute whose count grows. Added columns with
		// constant defaults rewrite no row.
		{Version: 3, Statements: []string{
			`ALTER TABLE audit_entries ADD COLUMN tenant TEXT NOT NULL DEFAULT ''`,
			`ALTER TABLE audit_entries ADD COLUMN coalesce_key TEXT NOT NULL DEFAULT ''`,
			`ALTER TABLE audit_entries ADD COLUMN count INTEGER NOT NULL DEFAULT 1 CHECK (count >= 1)`,
			// A conversion's actor has always been the partner account,
			// so its tenant is known; a KASKO entry names only a masked
			// key, which no distributor can be told from, and stays
			// without a tenant, listed to no one. The backfill runs with
			// the update trigger dropped inside this migration's
			// transaction (which holds the write lock): nothing else can
			// write meanwhile, and a failure restores the trigger.
			`DROP TRIGGER audit_entries_no_update`,
			`UPDATE audit_entries SET tenant = 'casco:' || actor WHERE action = 'convert'`,
			// The one change allowed from now on: a coalesced entry's
			// count grows, every other column as it was.
			`CREATE TRIGGER audit_entries_no_update BEFORE UPDATE ON audit_entries
			WHEN NOT (OLD.coalesce_key <> '' AND NEW.count > OLD.count AND
					NEW.id IS OLD.id AND NEW.at IS OLD.at AND NEW.action IS OLD.action AND NEW.actor IS OLD.actor AND
					NEW.actor_name IS OLD.actor_name AND NEW.mode IS OLD.mode AND NEW.policy_id IS OLD.policy_id AND NEW.insurer_policy_id IS OLD.insurer_policy_id AND
					NEW.version_id IS OLD.version_id AND NEW.new_version_id IS OLD.new_version_id AND NEW.reason IS OLD.reason AND NEW.termination_date IS OLD.termination_date AND
					NEW.outcome IS OLD.outcome AND NEW.upstream_status IS OLD.upstream_status AND NEW.upstream_request_id IS OLD.upstream_request_id AND NEW.message IS OLD.message AND
					NEW.variant_id IS OLD.variant_id AND NEW.holder IS OLD.holder AND NEW.reference IS OLD.reference AND NEW.tenant IS OLD.tenant AND
					NEW.coalesce_key IS OLD.coalesce_key)
			BEGIN SELECT RAISE(ABORT, 'audit entries are append-only: UPDATE refused'); END`,
			`CREATE INDEX audit_entries_tenant ON audit_entries (tenant, id)`,
			`CREATE UNIQUE INDEX audit_entries_coalesce ON audit_entries (tenant, coalesce_key) WHERE coalesce_key <> ''`,
		}},
	}
}
