package index

import (
	"context"
	"strings"

	"backoffice/internal/sqlstore"
)

// Config says where the index is kept.
type Config struct {
	// Path is the SQLite file (DATA_DIR/index.db), used when DatabaseURL
	// is empty: one instance.
	Path string
	// DatabaseURL (postgres://… or postgresql://…) wins when set: the
	// instances then share one index. Its tables are named index_…,
	// with their own version table and migration lock, so that it may
	// share a database with the audit log and the token store.
	DatabaseURL string
}

// Open opens the configured index, creating or migrating its schema. It
// fails when the database cannot be reached.
//
// Removed rows are gone, not hidden: the SQLite index overwrites what a
// deletion frees (secure_delete, turned on by every write) and FTS5
// drops a deleted row's words from its index at once (its secure-delete
// option), so that a purged tenant's names, e-mails and phone numbers
// are not left readable in free pages of the file. (The WAL keeps them
// until it is emptied: Purge does that at once, and sqlstore's
// checkpointer whenever the WAL passes indexWALCheckpointAbove.)
func Open(ctx context.Context, cfg Config) (Store, error) {
	return openSQL(ctx, cfg)
}

func openSQL(ctx context.Context, cfg Config) (*sqlStore, error) {
	db, d, err := sqlstore.Open(ctx, sqlstore.Config{Path: cfg.Path, DatabaseURL: cfg.DatabaseURL, URLSetting: "AUDIT_DATABASE_URL"}, schema())
	if err != nil {
		return nil, err
	}
	return newSQLStore(db, d), nil
}

// migrationLockKey names the advisory lock that serializes migrations of
// instances sharing one PostgreSQL database ("pindex" in ASCII), apart
// from the other stores' so that none waits for another.
const migrationLockKey int64 = 0x70696e646578

// openEnd is how SQLite keeps an open-ended end date: after every real
// one, so that the (tenant, end_date) index itself puts open-ended rows
// last ascending. PostgreSQL keeps NULL, which its ascending order puts
// last already.
const openEnd = "9999-12-31T23:59:59.999999Z"

// schema is the index's tables in both dialects. A function rather than
// a package variable, so that no test or caller can change it for
// others.
//
// Every sort field has an index (tenant, field, id): a page in any
// order is then the first rows of one index range, not a sort of the
// tenant's rows. index_tenants keeps each tenant's row count and change
// counter, written in the transaction of every write, so that Count,
// Tenants and Changed read one row instead of counting.
func schema() sqlstore.Schema {
	return sqlstore.Schema{
		Name:         "index",
		VersionTable: "index_schema_migrations",
		LockKey:      migrationLockKey,
		SQLite:       sqliteMigrations(),
		Postgres:     postgresMigrations(),

		WALCheckpointAbove: indexWALCheckpointAbove,
		SQLitePragmas:      sqlitePragmas(),
	}
}

// indexWALCheckpointAbove lets the WAL grow to 64 MiB before sqlstore's
// checkpointer empties it (other stores: 4 MiB). Emptying the WAL makes
// the write connection drop its page cache; during a full sync, at
// 4 MiB that happened every few batches and reloading the B-trees took
// 40 % of the sync's CPU. SQLite's own checkpoints still copy the WAL
// into the file every thousand pages and start it over whenever no
// reader is in it.
const indexWALCheckpointAbove = 64 << 20

func sortIndexes() []string {
	var out []string
	for _, c := range sortIndexColumns() {
		out = append(out, `CREATE INDEX index_rows_by_`+c+` ON index_rows (tenant, `+c+`, id)`)
	}
	return out
}

func sortIndexColumns() []string {
	return []string{"insurer_id", "holder_key", "email", "product_id", "status", "start_date", "end_date", "gross_minor", "created_at"}
}

func sqliteMigrations() []sqlstore.Migration {
	stmts := []string{
		// seq is the rowid the FTS table refers to.
		`CREATE TABLE index_rows (
			seq INTEGER PRIMARY KEY,
			tenant TEXT NOT NULL,
			id TEXT NOT NULL,
			insurer_id TEXT NOT NULL,
			external_id TEXT NOT NULL,
			first_name TEXT NOT NULL,
			last_name TEXT NOT NULL,
			holder_key TEXT NOT NULL,
			product_id TEXT NOT NULL,
			status TEXT NOT NULL,
			currency TEXT NOT NULL,
			gross_minor INTEGER NOT NULL,
			language TEXT NOT NULL,
			zone TEXT NOT NULL,
			created_at TEXT NOT NULL,
			start_date TEXT NOT NULL,
			end_date TEXT NOT NULL,
			termination_date TEXT,
			created_day TEXT NOT NULL,
			start_day TEXT NOT NULL,
			end_day TEXT,
			expired INTEGER NOT NULL,
			cancelled INTEGER NOT NULL,
			version TEXT NOT NULL,
			seen_at TEXT NOT NULL,
			email TEXT NOT NULL,
			phone TEXT NOT NULL,
			vin TEXT NOT NULL,
			plate TEXT NOT NULL,
			UNIQUE (tenant, id)
		)`,
		`CREATE INDEX index_rows_seen ON index_rows (tenant, seen_at)`,
		// Contentless: the words are kept only in the index, not a second
		// time as text. Text is folded and split in Go (Fold, Terms), so
		// the tokenizer only splits on the spaces between the words.
		`CREATE VIRTUAL TABLE index_fts USING fts5(pub, sec, content='', contentless_delete=1,
			tokenize="unicode61 remove_diacritics 0 tokenchars '_'")`,
		`INSERT INTO index_fts (index_fts, rank) VALUES ('secure-delete', 1)`,
		// Every deletion path (Delete, DeleteUnseen, Purge) takes the
		// row's words with it.
		`CREATE TRIGGER index_rows_fts_delete AFTER DELETE ON index_rows BEGIN
			DELETE FROM index_fts WHERE rowid = old.seq;
		END`,
		`CREATE TABLE index_tenants (
			tenant TEXT PRIMARY KEY,
			changed INTEGER NOT NULL,
			rows INTEGER NOT NULL
		)`,
		// index_counts is how many of a tenant's rows have each
		// combination of the faceted fields, kept by triggers in every
		// writing transaction: the totals and facets of a list filtered
		// by those fields alone (the usual case) are sums over a few
		// hundred rows here instead of a count over up to a million
		// (seconds, with a cgo-free SQLite). PostgreSQL keeps the same
		// table with statement triggers (pgCountsMigration), so that its
		// writers take these shared rows in one order.
		`CREATE TABLE index_counts (
			tenant TEXT NOT NULL,
			status TEXT NOT NULL,
			product_id TEXT NOT NULL,
			currency TEXT NOT NULL,
			expired INTEGER NOT NULL,
			n INTEGER NOT NULL,
			PRIMARY KEY (tenant, status, product_id, currency, expired)
		) WITHOUT ROWID`,
		`CREATE TRIGGER index_rows_count_insert AFTER INSERT ON index_rows BEGIN
			INSERT INTO index_counts (tenant, status, product_id, currency, expired, n)
				VALUES (new.tenant, new.status, new.product_id, new.currency, new.expired, 1)
				ON CONFLICT DO UPDATE SET n = n + 1;
		END`,
		`CREATE TRIGGER index_rows_count_delete AFTER DELETE ON index_rows BEGIN
			UPDATE index_counts SET n = n - 1 WHERE tenant = old.tenant AND status = old.status
				AND product_id = old.product_id AND currency = old.currency AND expired = old.expired;
		END`,
		`CREATE TRIGGER index_rows_count_update AFTER UPDATE OF status, product_id, currency, expired ON index_rows
			WHEN old.status IS NOT new.status OR old.product_id IS NOT new.product_id
				OR old.currency IS NOT new.currency OR old.expired IS NOT new.expired
		BEGIN
			UPDATE index_counts SET n = n - 1 WHERE tenant = old.tenant AND status = old.status
				AND product_id = old.product_id AND currency = old.currency AND expired = old.expired;
			INSERT INTO index_counts (tenant, status, product_id, currency, expired, n)
				VALUES (new.tenant, new.status, new.product_id, new.currency, new.expired, 1)
				ON CONFLICT DO UPDATE SET n = n + 1;
		END`,
		`CREATE TABLE index_sync (
			tenant TEXT PRIMARY KEY,
			cursor TEXT NOT NULL,
			running INTEGER NOT NULL,
			done INTEGER NOT NULL,
			total INTEGER NOT NULL,
			full_started TEXT,
			full_done TEXT,
			polled TEXT,
			error TEXT NOT NULL
		)`,
		`CREATE TABLE index_leases (
			name TEXT PRIMARY KEY,
			holder TEXT NOT NULL,
			expires_at TEXT NOT NULL
		)`,
		`CREATE TABLE index_deliveries (
			tenant TEXT NOT NULL,
			id TEXT NOT NULL,
			at TEXT NOT NULL,
			PRIMARY KEY (tenant, id)
		)`,
		`CREATE INDEX index_deliveries_at ON index_deliveries (at)`,
	}
	return []sqlstore.Migration{{Version: 1, Statements: append(stmts, sortIndexes()...)}, {Version: 2, Statements: []string{
		`ALTER TABLE index_rows ADD COLUMN tax_minor INTEGER NOT NULL DEFAULT 0`,
		`ALTER TABLE index_rows ADD COLUMN termination_day TEXT`,
		`CREATE INDEX index_rows_terminated ON index_rows (tenant, termination_day) WHERE termination_day IS NOT NULL`,
		refillAfterV2,
	}}, {Version: 3, Statements: dailyMigration()}, {Version: 4, Statements: []string{
		// A reconciliation rewrites every row, most of them unchanged:
		// the sums are then left alone instead of taken away and added
		// back.
		`DROP TRIGGER index_rows_daily_update`,
		dailyUpdateTrigger(),
	}}}
}

// dailyMigration creates index_daily (SQLite): per tenant, day, currency
// and product, the policies created that day with their premium and
// tax, the cancellations taking effect that day, and how the number of
// policies in force changes that day. Triggers keep it in every writing
// transaction, as index_counts. The overview then sums a few thousand
// of these instead of reading a year of rows (and, for the policies in
// force on a day, every row of the tenant).
//
// A row is in force on day D when it is paid, or cancelled with effect
// after D, has started by D and not ended before D (see Reviewer). So a
// paid or cancelled row adds +1 on its start day and -1 on the day it
// leaves: the day after its end, or its termination day if that comes
// first; one that leaves before it starts adds nothing. In force on D is
// then the sum of the changes up to D.
func dailyMigration() []string {
	apply, body, fields := dailyApply, dailyBody, dailyFields
	stmts := []string{
		`CREATE TABLE index_daily (
			tenant TEXT NOT NULL,
			day TEXT NOT NULL,
			currency TEXT NOT NULL,
			product_id TEXT NOT NULL,
			created INTEGER NOT NULL,
			gross INTEGER NOT NULL,
			tax INTEGER NOT NULL,
			cancelled INTEGER NOT NULL,
			force INTEGER NOT NULL,
			PRIMARY KEY (tenant, day, currency, product_id)
		) WITHOUT ROWID`,
		`CREATE TRIGGER index_rows_daily_insert AFTER INSERT ON index_rows BEGIN ` + body(apply("new", "")) + ` END`,
		`CREATE TRIGGER index_rows_daily_delete AFTER DELETE ON index_rows BEGIN ` + body(apply("old", "-")) + ` END`,
		`CREATE TRIGGER index_rows_daily_update AFTER UPDATE OF ` + fields + ` ON index_rows BEGIN ` +
			body(apply("old", "-"), apply("new", "")) + ` END`,
	}
	// The rows already kept, once: each row as its insert trigger would
	// have counted it.
	stmts = append(stmts, `CREATE TEMP TABLE index_daily_fill AS SELECT * FROM index_daily WHERE 0`)
	fill := apply("r", "")
	for _, f := range fill {
		f = strings.Replace(f, "INSERT INTO index_daily ", "INSERT INTO index_daily_fill ", 1)
		f = strings.Replace(f, " WHERE ", " FROM index_rows r WHERE ", 1)
		f = f[:strings.Index(f, "ON CONFLICT")]
		stmts = append(stmts, f)
	}
	stmts = append(stmts, `INSERT INTO index_daily SELECT tenant, day, currency, product_id, sum(created), sum(gross), sum(tax),
		sum(cancelled), sum(force) FROM index_daily_fill GROUP BY tenant, day, currency, product_id`, `DROP TABLE index_daily_fill`)
	return stmts
}

// dailyApply is the statements adding a row's share to index_daily
// (sign "") or taking it away ("-"); row is new or old.
func dailyApply(row, sign string) []string {
	leave := `CASE WHEN ` + row + `.status = 'cancelled' THEN
		CASE WHEN ` + row + `.end_day IS NULL THEN ` + row + `.termination_day
			ELSE min(date(` + row + `.end_day, '+1 day'), ` + row + `.termination_day) END
		ELSE date(` + row + `.end_day, '+1 day') END`
	// A cancelled row without a termination day is never in force.
	counts := `(` + row + `.status = 'paid' OR (` + row + `.status = 'cancelled' AND ` + row + `.termination_day IS NOT NULL))`
	up := func(day, created, gross, tax, cancelled, force, where string) string {
		return `INSERT INTO index_daily (tenant, day, currency, product_id, created, gross, tax, cancelled, force)
			SELECT ` + row + `.tenant, ` + day + `, ` + row + `.currency, ` + row + `.product_id, ` +
			created + `, ` + gross + `, ` + tax + `, ` + cancelled + `, ` + force + ` WHERE ` + where + `
			ON CONFLICT DO UPDATE SET created = created + excluded.created, gross = gross + excluded.gross,
				tax = tax + excluded.tax, cancelled = cancelled + excluded.cancelled, force = force + excluded.force;`
	}
	return []string{
		up(row+`.created_day`, sign+`1`, sign+row+`.gross_minor`, sign+row+`.tax_minor`, `0`, `0`, `true`),
		up(row+`.termination_day`, `0`, `0`, `0`, sign+`1`, `0`, row+`.status = 'cancelled' AND `+row+`.termination_day IS NOT NULL`),
		up(row+`.start_day`, `0`, `0`, `0`, `0`, sign+`1`, counts+` AND (`+leave+` IS NULL OR `+leave+` > `+row+`.start_day)`),
		up(leave, `0`, `0`, `0`, `0`, opposite(sign)+`1`, counts+` AND `+leave+` IS NOT NULL AND `+leave+` > `+row+`.start_day`),
	}
}

// dailyBody joins statements into a trigger's body.
func dailyBody(parts ...[]string) string {
	var b strings.Builder
	for _, p := range parts {
		for _, stmt := range p {
			b.WriteString(stmt)
			b.WriteString("\n")
		}
	}
	return b.String()
}

// dailyFields are the columns whose change moves a row's share.
const dailyFields = `status, product_id, currency, gross_minor, tax_minor, created_day, start_day, end_day, termination_day`

// dailyUpdateTrigger moves a changed row's share, only when one of
// dailyFields really changed.
func dailyUpdateTrigger() string {
	var when []string
	for _, f := range strings.Split(dailyFields, ", ") {
		when = append(when, `old.`+f+` IS NOT new.`+f)
	}
	return `CREATE TRIGGER index_rows_daily_update AFTER UPDATE OF ` + dailyFields + ` ON index_rows WHEN ` +
		strings.Join(when, ` OR `) + ` BEGIN ` + dailyBody(dailyApply("old", "-"), dailyApply("new", "")) + ` END`
}

// opposite is the other sign ("" is +).
func opposite(sign string) string {
	if sign == "-" {
		return ""
	}
	return "-"
}

// refillAfterV2 makes every tenant's next reconciliation due at once:
// rows written before version 2 lack the premium tax and termination
// day, which only a fresh read of each policy fills in.
const refillAfterV2 = `UPDATE index_sync SET full_done = '2000-01-01T00:00:00Z' WHERE full_done IS NOT NULL`

func postgresMigrations() []sqlstore.Migration {
	// COLLATE "C" on what is sorted or compared as text: byte order, as
	// in SQLite, whatever the database's locale, so that both stores
	// page alike (and C comparisons are the cheap ones).
	stmts := []string{
		`CREATE TABLE index_rows (
			tenant text COLLATE "C" NOT NULL,
			id text COLLATE "C" NOT NULL,
			insurer_id text COLLATE "C" NOT NULL,
			external_id text COLLATE "C" NOT NULL,
			first_name text NOT NULL,
			last_name text NOT NULL,
			holder_key text COLLATE "C" NOT NULL,
			product_id text COLLATE "C" NOT NULL,
			status text COLLATE "C" NOT NULL,
			currency text COLLATE "C" NOT NULL,
			gross_minor bigint NOT NULL,
			language text NOT NULL,
			zone text NOT NULL,
			created_at timestamptz NOT NULL,
			start_date timestamptz NOT NULL,
			end_date timestamptz,
			termination_date timestamptz,
			created_day text COLLATE "C" NOT NULL,
			start_day text COLLATE "C" NOT NULL,
			end_day text COLLATE "C",
			expired boolean NOT NULL,
			cancelled boolean NOT NULL,
			version text NOT NULL,
			seen_at timestamptz NOT NULL,
			email text COLLATE "C" NOT NULL,
			phone text NOT NULL,
			vin text NOT NULL,
			plate text NOT NULL,
			doc tsvector NOT NULL,
			PRIMARY KEY (tenant, id)
		)`,
		`CREATE INDEX index_rows_seen ON index_rows (tenant, seen_at)`,
		`CREATE INDEX index_rows_doc ON index_rows USING gin (doc)`,
		// Totals and facets of a list filtered by these fields count
		// from this index alone (index-only scans), not from the rows.
		`CREATE INDEX index_rows_facets ON index_rows (tenant, status, currency, product_id, expired)`,
		`CREATE TABLE index_tenants (
			tenant text PRIMARY KEY,
			changed bigint NOT NULL,
			rows bigint NOT NULL
		)`,
		`CREATE TABLE index_sync (
			tenant text PRIMARY KEY,
			cursor text NOT NULL,
			running boolean NOT NULL,
			done bigint NOT NULL,
			total bigint NOT NULL,
			full_started timestamptz,
			full_done timestamptz,
			polled timestamptz,
			error text NOT NULL
		)`,
		`CREATE TABLE index_leases (
			name text PRIMARY KEY,
			holder text NOT NULL,
			expires_at timestamptz NOT NULL
		)`,
		`CREATE TABLE index_deliveries (
			tenant text NOT NULL,
			id text NOT NULL,
			at timestamptz NOT NULL,
			PRIMARY KEY (tenant, id)
		)`,
		`CREATE INDEX index_deliveries_at ON index_deliveries (at)`,
	}
	return []sqlstore.Migration{{Version: 1, Statements: append(stmts, sortIndexes()...)}, {Version: 2, Statements: []string{
		`ALTER TABLE index_rows ADD COLUMN tax_minor bigint NOT NULL DEFAULT 0`,
		`ALTER TABLE index_rows ADD COLUMN termination_day text COLLATE "C"`,
		`CREATE INDEX index_rows_terminated ON index_rows (tenant, termination_day) WHERE termination_day IS NOT NULL`,
		refillAfterV2,
	}}, {Version: 3, Statements: pgDailyMigration()}, {Version: 4, Statements: pgCountsMigration()}}
}

// pgCountsMigration gives PostgreSQL index_counts too (see the SQLite
// schema): totals and facets of lists filtered by status, product,
// currency and expiry alone read a few hundred rows instead of counting
// a large tenant's rows (200–450 ms at a million). Kept as index_daily
// is, by statement triggers applying each statement's changes in key
// order.
func pgCountsMigration() []string {
	contrib := func(rel, sign string) string {
		return `SELECT tenant, status, product_id, currency, expired, ` + sign + `1 AS n FROM ` + rel
	}
	apply := func(parts ...string) string {
		return `INSERT INTO index_counts AS c (tenant, status, product_id, currency, expired, n)
			SELECT tenant, status, product_id, currency, expired, sum(n) FROM (` + strings.Join(parts, " UNION ALL ") + `) x
			GROUP BY tenant, status, product_id, currency, expired HAVING sum(n) <> 0
			ORDER BY tenant, status, product_id, currency, expired
			ON CONFLICT (tenant, status, product_id, currency, expired) DO UPDATE SET n = c.n + excluded.n`
	}
	return append([]string{
		`CREATE TABLE index_counts (
			tenant text COLLATE "C" NOT NULL,
			status text COLLATE "C" NOT NULL,
			product_id text COLLATE "C" NOT NULL,
			currency text COLLATE "C" NOT NULL,
			expired boolean NOT NULL,
			n bigint NOT NULL,
			PRIMARY KEY (tenant, status, product_id, currency, expired)
		)`,
	}, pgStatementTriggers("counts", apply, contrib)...)
}

// pgStatementTriggers keeps index_<name> from index_rows: a function and
// a statement trigger per kind of write, applying what the statement's
// old rows take away and its new rows add (contrib of a relation and a
// sign; apply turns contributions into one upsert, leaving out the
// groups whose changes cancel out, such as an unchanged row rewritten),
// then fills it from the rows already there.
func pgStatementTriggers(name string, apply func(parts ...string) string, contrib func(rel, sign string) string) []string {
	fn := func(op, body string) string {
		return `CREATE FUNCTION index_` + name + `_` + op + `() RETURNS trigger LANGUAGE plpgsql AS $fn$
			BEGIN
				` + body + `;
				RETURN NULL;
			END $fn$`
	}
	trigger := func(op, event, tables string) string {
		return `CREATE TRIGGER index_rows_` + name + `_` + op + ` AFTER ` + event + ` ON index_rows REFERENCING ` + tables +
			` FOR EACH STATEMENT EXECUTE FUNCTION index_` + name + `_` + op + `()`
	}
	return []string{
		fn("insert", apply(contrib("new_rows", ""))),
		fn("delete", apply(contrib("old_rows", "-"))),
		fn("update", apply(contrib("old_rows", "-"), contrib("new_rows", ""))),
		trigger("insert", "INSERT", "NEW TABLE AS new_rows"),
		trigger("delete", "DELETE", "OLD TABLE AS old_rows"),
		trigger("update", "UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
		apply(contrib("index_rows", "")),
	}
}

// pgDailyMigration is dailyMigration for PostgreSQL. Statement triggers
// (with transition tables) apply a whole upsert's changes in one
// statement, in key order, so that writers lock the sums' rows in one
// order; a row trigger would take them row by row, in any order.
func pgDailyMigration() []string {
	// contrib is what the rows of rel add to the sums, times sign.
	contrib := func(rel, sign string) string {
		leave := `CASE WHEN status = 'cancelled' THEN LEAST(to_char(end_day::date + 1, 'YYYY-MM-DD'), termination_day)
			ELSE to_char(end_day::date + 1, 'YYYY-MM-DD') END`
		counts := `(status = 'paid' OR (status = 'cancelled' AND termination_day IS NOT NULL))`
		x := `(SELECT tenant, currency, product_id, start_day, ` + leave + ` AS leave FROM ` + rel + ` WHERE ` + counts + `) x`
		return `SELECT tenant, created_day AS day, currency, product_id, ` + sign + `1 AS created, ` + sign + `gross_minor AS gross,
				` + sign + `tax_minor AS tax, 0 AS cancelled, 0 AS force FROM ` + rel + `
			UNION ALL SELECT tenant, termination_day, currency, product_id, 0, 0, 0, ` + sign + `1, 0 FROM ` + rel + `
				WHERE status = 'cancelled' AND termination_day IS NOT NULL
			UNION ALL SELECT tenant, start_day, currency, product_id, 0, 0, 0, 0, ` + sign + `1 FROM ` + x + `
				WHERE leave IS NULL OR leave > start_day
			UNION ALL SELECT tenant, leave, currency, product_id, 0, 0, 0, 0, ` + opposite(sign) + `1 FROM ` + x + `
				WHERE leave IS NOT NULL AND leave > start_day`
	}
	apply := func(parts ...string) string {
		return `INSERT INTO index_daily AS d (tenant, day, currency, product_id, created, gross, tax, cancelled, force)
			SELECT tenant, day, currency, product_id, sum(created), sum(gross), sum(tax), sum(cancelled), sum(force)
			FROM (` + strings.Join(parts, " UNION ALL ") + `) c
			GROUP BY tenant, day, currency, product_id
			HAVING sum(created) <> 0 OR sum(gross) <> 0 OR sum(tax) <> 0 OR sum(cancelled) <> 0 OR sum(force) <> 0
			ORDER BY tenant, day, currency, product_id
			ON CONFLICT (tenant, day, currency, product_id) DO UPDATE SET created = d.created + excluded.created,
				gross = d.gross + excluded.gross, tax = d.tax + excluded.tax, cancelled = d.cancelled + excluded.cancelled,
				force = d.force + excluded.force`
	}
	return append([]string{
		`CREATE TABLE index_daily (
			tenant text COLLATE "C" NOT NULL,
			day text COLLATE "C" NOT NULL,
			currency text COLLATE "C" NOT NULL,
			product_id text COLLATE "C" NOT NULL,
			created bigint NOT NULL,
			gross bigint NOT NULL,
			tax bigint NOT NULL,
			cancelled bigint NOT NULL,
			force bigint NOT NULL,
			PRIMARY KEY (tenant, day, currency, product_id)
		)`,
	}, pgStatementTriggers("daily", apply, contrib)...)
}
