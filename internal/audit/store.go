package audit

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"
)

// dialect is what differs between the SQL stores; everything else (the
// columns, the queries, the migration runner) is shared, so the two
// stores cannot drift apart in what they record or how they filter.
type dialect struct {
	name string
	// placeholder is the n-th (1-based) bind parameter: "?" or "$n".
	placeholder func(n int) string
	// timeArg turns an entry's time into the value the column stores.
	timeArg func(t time.Time) any
	// lock serializes migrations across processes; it runs first in the
	// migration transaction.
	lock func(ctx context.Context, tx *sql.Tx) error
	// versionTable creates the migration bookkeeping table.
	versionTable string
	migrations   []migration
}

// upTo returns d with only the migrations up to version v (all when v
// is 0 or beyond the newest).
func (d dialect) upTo(v int) dialect {
	if v > 0 {
		d.migrations = slices.DeleteFunc(slices.Clone(d.migrations), func(m migration) bool { return m.version > v })
	}
	return d
}

// migration is one numbered schema step. Statements run one by one (no
// reliance on a driver accepting several statements in one Exec), in
// the transaction that records the version.
type migration struct {
	version    int
	statements []string
}

// sqlLog is the Log over database/sql, for SQLite and PostgreSQL.
type sqlLog struct {
	db *sql.DB
	d  dialect
}

// columns lists the stored fields in the order every query uses; the
// columns of later migrations come last, as they do in the tables.
const columns = `id, at, action, actor, actor_name, mode, policy_id, insurer_policy_id, version_id, new_version_id,
	reason, termination_date, outcome, upstream_status, upstream_request_id, message,
	variant_id, holder, reference`

// migrate brings the schema to the newest version in one transaction:
// either every pending migration applies or none does.
func (l *sqlLog) migrate(ctx context.Context) (err error) {
	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("audit: migrating the %s schema: %w", l.d.name, err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if err := l.d.lock(ctx, tx); err != nil {
		return fmt.Errorf("audit: locking the %s schema: %w", l.d.name, err)
	}
	if _, err := tx.ExecContext(ctx, l.d.versionTable); err != nil {
		return fmt.Errorf("audit: creating schema_migrations: %w", err)
	}
	var current int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM audit_schema_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("audit: reading the schema version: %w", err)
	}
	latest := l.d.migrations[len(l.d.migrations)-1].version
	if current > latest {
		// A newer dashboard migrated this log; running old code against
		// a schema it does not know could record entries wrongly.
		return fmt.Errorf("audit: the %s schema is at version %d, newer than this build knows (%d)", l.d.name, current, latest)
	}
	for _, m := range l.d.migrations {
		if m.version <= current {
			continue
		}
		for _, stmt := range m.statements {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("audit: %s migration %d: %w", l.d.name, m.version, err)
			}
		}
		insert := `INSERT INTO audit_schema_migrations (version, applied_at) VALUES (` + l.d.placeholder(1) + `, ` + l.d.placeholder(2) + `)`
		if _, err := tx.ExecContext(ctx, insert, m.version, l.d.timeArg(time.Now())); err != nil {
			return fmt.Errorf("audit: recording %s migration %d: %w", l.d.name, m.version, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("audit: migrating the %s schema: %w", l.d.name, err)
	}
	return nil
}

// Append implements Log.
func (l *sqlLog) Append(ctx context.Context, e Entry) (Entry, error) {
	if err := e.Check(); err != nil {
		return e, err
	}
	if e.At.IsZero() {
		e.At = time.Now()
	}
	// Microseconds are what PostgreSQL keeps; truncating here makes the
	// returned entry equal to what a later List reads, in every store.
	e.At = e.At.UTC().Truncate(time.Microsecond)
	args := []any{
		l.d.timeArg(e.At), e.Action, e.Actor, e.ActorName, e.Mode, e.PolicyID, e.InsurerPolicyID, e.VersionID, e.NewVersionID,
		e.Reason, e.TerminationDate, e.Outcome, e.UpstreamStatus, e.UpstreamRequestID, e.Message,
		e.VariantID, e.Holder, e.Reference,
	}
	ph := make([]string, len(args))
	for i := range ph {
		ph[i] = l.d.placeholder(i + 1)
	}
	q := `INSERT INTO audit_entries (` + strings.TrimPrefix(columns, "id, ") + `) VALUES (` + strings.Join(ph, ", ") + `) RETURNING id`
	err := l.db.QueryRowContext(ctx, q, args...).Scan(&e.ID)
	if err != nil {
		return e, fmt.Errorf("audit: appending to the %s log: %w", l.d.name, err)
	}
	return e, nil
}

// List implements Log. One query returns the page and, through a window
// count, the total of the same snapshot; only a page past the end, which
// has no row to carry the count, costs a second query.
func (l *sqlLog) List(ctx context.Context, f Filter) (Page, error) {
	if err := f.Check(); err != nil {
		return Page{}, err
	}
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return l.d.placeholder(len(args))
	}
	// Each condition is added only when asked for, so that the planner
	// sees plain equalities it can answer from the indexes.
	if f.Policy != "" {
		where = append(where, "(policy_id = "+arg(f.Policy)+" OR insurer_policy_id = "+arg(f.Policy)+" OR reference = "+arg(f.Policy)+")")
	}
	if f.Actor != "" {
		where = append(where, "(actor = "+arg(f.Actor)+" OR actor_name = "+arg(f.Actor)+")")
	}
	if f.Outcome != "" {
		where = append(where, "outcome = "+arg(f.Outcome))
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	filterArgs := len(args)
	q := `SELECT ` + columns + `, COUNT(*) OVER () FROM audit_entries` + cond +
		` ORDER BY id DESC LIMIT ` + arg(f.Limit) + ` OFFSET ` + arg(f.Offset)
	rows, err := l.db.QueryContext(ctx, q, args...)
	if err != nil {
		return Page{}, fmt.Errorf("audit: listing the %s log: %w", l.d.name, err)
	}
	defer rows.Close()
	var p Page
	for rows.Next() {
		var e Entry
		var at dbTime
		if err := rows.Scan(&e.ID, &at, &e.Action, &e.Actor, &e.ActorName, &e.Mode, &e.PolicyID, &e.InsurerPolicyID,
			&e.VersionID, &e.NewVersionID, &e.Reason, &e.TerminationDate, &e.Outcome, &e.UpstreamStatus,
			&e.UpstreamRequestID, &e.Message, &e.VariantID, &e.Holder, &e.Reference, &p.Total); err != nil {
			return Page{}, fmt.Errorf("audit: reading the %s log: %w", l.d.name, err)
		}
		e.At = at.t
		p.Entries = append(p.Entries, e)
	}
	if err := rows.Err(); err != nil {
		return Page{}, fmt.Errorf("audit: reading the %s log: %w", l.d.name, err)
	}
	if len(p.Entries) == 0 && f.Offset > 0 {
		count := `SELECT COUNT(*) FROM audit_entries` + cond
		if err := l.db.QueryRowContext(ctx, count, args[:filterArgs]...).Scan(&p.Total); err != nil {
			return Page{}, fmt.Errorf("audit: counting the %s log: %w", l.d.name, err)
		}
	}
	return p, nil
}

// Close implements Log.
func (l *sqlLog) Close() error { return l.db.Close() }

// sqliteTime is how SQLite stores an instant: UTC text with exactly six
// fractional digits, so that it reads well in the sqlite3 shell and
// sorts as text in time order.
const sqliteTime = "2006-01-02T15:04:05.000000Z"

// dbTime scans an instant from either store: PostgreSQL's timestamptz
// arrives as time.Time, SQLite's text as a string.
type dbTime struct{ t time.Time }

// Scan implements sql.Scanner.
func (d *dbTime) Scan(src any) error {
	switch v := src.(type) {
	case time.Time:
		d.t = v.UTC()
	case string:
		return d.parse(v)
	case []byte:
		return d.parse(string(v))
	default:
		return fmt.Errorf("audit: cannot read a time from %T", src)
	}
	return nil
}

func (d *dbTime) parse(s string) error {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("audit: stored time %q: %w", s, err)
	}
	d.t = t.UTC()
	return nil
}

var _ sql.Scanner = (*dbTime)(nil)

// ping checks the connection at Open, so that a wrong URL or an
// unreachable server stops the start instead of the first cancellation.
func ping(ctx context.Context, db *sql.DB) error {
	return db.PingContext(ctx)
}
