package audit

import "backoffice/internal/sqlstore"

// postgresMigrations keep the log in PostgreSQL, where several
// instances of the dashboard write to one log.
func postgresMigrations() []sqlstore.Migration {
	return []sqlstore.Migration{
		{Version: 1, Statements: []string{
			// GENERATED ALWAYS: not even a hand-written INSERT picks
			// its own id, so ids follow the order of appends.
			`CREATE TABLE audit_entries (
					id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
					at timestamptz NOT NULL,
					action text NOT NULL CHECK (action <> ''),
					actor text NOT NULL CHECK (actor <> ''),
					actor_name text NOT NULL DEFAULT '',
					mode text NOT NULL DEFAULT '',
					policy_id text NOT NULL CHECK (policy_id <> ''),
					insurer_policy_id text NOT NULL DEFAULT '',
					version_id text NOT NULL DEFAULT '',
					new_version_id text NOT NULL DEFAULT '',
					reason text NOT NULL DEFAULT '',
					termination_date text NOT NULL DEFAULT '',
					outcome text NOT NULL CHECK (outcome <> ''),
					upstream_status integer NOT NULL DEFAULT 0,
					upstream_request_id text NOT NULL DEFAULT '',
					message text NOT NULL DEFAULT ''
				)`,
			`CREATE INDEX audit_entries_policy_id ON audit_entries (policy_id, id DESC)`,
			`CREATE INDEX audit_entries_insurer_policy_id ON audit_entries (insurer_policy_id, id DESC)`,
			`CREATE INDEX audit_entries_actor ON audit_entries (actor, id DESC)`,
			`CREATE INDEX audit_entries_actor_name ON audit_entries (actor_name, id DESC)`,
			`CREATE INDEX audit_entries_outcome ON audit_entries (outcome, id DESC)`,
			// History stays as written, whoever holds a connection:
			// row triggers refuse UPDATE and DELETE, a statement
			// trigger TRUNCATE (which skips row triggers).
			`CREATE FUNCTION audit_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
				BEGIN
					RAISE EXCEPTION 'audit entries are append-only: % refused', TG_OP;
				END
				$$`,
			`CREATE TRIGGER audit_entries_no_change BEFORE UPDATE OR DELETE ON audit_entries
					FOR EACH ROW EXECUTE FUNCTION audit_entries_append_only()`,
			`CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE ON audit_entries
					FOR EACH STATEMENT EXECUTE FUNCTION audit_entries_append_only()`,
		}},
		// Policy creations: the variant, holder and push reference, and
		// no policy id until the insurer has made the policy. Adding a
		// column with a constant default rewrites no row, so the
		// triggers see nothing.
		{Version: 2, Statements: []string{
			`ALTER TABLE audit_entries
					ADD COLUMN variant_id text NOT NULL DEFAULT '',
					ADD COLUMN holder text NOT NULL DEFAULT '',
					ADD COLUMN reference text NOT NULL DEFAULT ''`,
			// Version 1 left the CHECK unnamed; PostgreSQL calls it
			// audit_entries_policy_id_check, but the catalogue says
			// for certain: drop every CHECK on policy_id alone.
			`DO $$
				DECLARE
					c name;
				BEGIN
					FOR c IN
						SELECT con.conname FROM pg_constraint con
						JOIN pg_attribute att ON att.attrelid = con.conrelid AND att.attnum = con.conkey[1]
						WHERE con.conrelid = 'audit_entries'::regclass AND con.contype = 'c'
							AND cardinality(con.conkey) = 1 AND att.attname = 'policy_id'
					LOOP
						EXECUTE format('ALTER TABLE audit_entries DROP CONSTRAINT %I', c);
					END LOOP;
				END
				$$`,
			`CREATE INDEX audit_entries_reference ON audit_entries (reference, id DESC)`,
		}},
		// Tenants (the KASKO distributor and mode, or the partner
		// account), and coalesced refusals: one row per session, action,
		// object and minute whose count grows.
		{Version: 3, Statements: []string{
			`ALTER TABLE audit_entries
					ADD COLUMN tenant text NOT NULL DEFAULT '',
					ADD COLUMN coalesce_key text NOT NULL DEFAULT '',
					ADD COLUMN count integer NOT NULL DEFAULT 1 CHECK (count >= 1)`,
			// A conversion's actor has always been the partner account,
			// so its tenant is known; a KASKO entry names only a masked
			// key, which no distributor can be told from, and stays
			// without a tenant, listed to no one. The row trigger is off
			// for the backfill only, inside this migration's transaction:
			// ALTER TABLE holds a lock no writer gets past until the
			// commit, and a failure rolls the trigger back on.
			`ALTER TABLE audit_entries DISABLE TRIGGER audit_entries_no_change`,
			`UPDATE audit_entries SET tenant = 'casco:' || actor WHERE action = 'convert'`,
			`ALTER TABLE audit_entries ENABLE TRIGGER audit_entries_no_change`,
			// The one change allowed from now on: a coalesced entry's
			// count grows, every other column as it was (compared as a
			// whole row, so that a later column is covered too).
			`CREATE OR REPLACE FUNCTION audit_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
				BEGIN
					IF TG_OP = 'UPDATE' AND OLD.coalesce_key <> '' AND NEW.count > OLD.count
						AND to_jsonb(NEW) - 'count' = to_jsonb(OLD) - 'count' THEN
						RETURN NEW;
					END IF;
					RAISE EXCEPTION 'audit entries are append-only: % refused', TG_OP;
				END
				$$`,
			`CREATE INDEX audit_entries_tenant ON audit_entries (tenant, id DESC)`,
			`CREATE UNIQUE INDEX audit_entries_coalesce ON audit_entries (tenant, coalesce_key) WHERE coalesce_key <> ''`,
		}},
	}
}
