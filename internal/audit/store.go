package audit

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"backoffice/internal/sqlstore"
)

// sqlLog is the Log over database/sql, for SQLite and PostgreSQL.
type sqlLog struct {
	db *sql.DB
	d  sqlstore.Dialect
}

// columns lists the stored fields in the order every query uses; the
// columns of later migrations come last, as they do in the tables.
const columns = `id, at, action, actor, actor_name, mode, policy_id, insurer_policy_id, version_id, new_version_id,
	reason, termination_date, outcome, upstream_status, upstream_request_id, message,
	variant_id, holder, reference, tenant, coalesce_key, count`

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
	e.Count = max(e.Count, 1)
	args := []any{
		l.d.Time(e.At), e.Action, e.Actor, e.ActorName, e.Mode, e.PolicyID, e.InsurerPolicyID, e.VersionID, e.NewVersionID,
		e.Reason, e.TerminationDate, e.Outcome, e.UpstreamStatus, e.UpstreamRequestID, e.Message,
		e.VariantID, e.Holder, e.Reference, e.Tenant, e.Coalesce, e.Count,
	}
	ph := make([]string, len(args))
	for i := range ph {
		ph[i] = l.d.Placeholder(i + 1)
	}
	// A repeat of a coalesced entry finds the first one through the
	// partial unique index and adds to its count, in one statement, so
	// that instances sharing the log count together and never race into
	// two rows. The triggers let exactly this change through.
	q := `INSERT INTO audit_entries (` + strings.TrimPrefix(columns, "id, ") + `) VALUES (` + strings.Join(ph, ", ") + `)
		ON CONFLICT (tenant, coalesce_key) WHERE coalesce_key <> '' DO UPDATE SET count = audit_entries.count + excluded.count
		RETURNING id, at, count`
	var at sqlstore.Time
	err := l.db.QueryRowContext(ctx, q, args...).Scan(&e.ID, &at, &e.Count)
	if err != nil {
		return e, fmt.Errorf("audit: appending to the %s log: %w", l.d, err)
	}
	e.At = at.T
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
		return l.d.Placeholder(len(args))
	}
	// Each condition is added only when asked for, so that the planner
	// sees plain equalities it can answer from the indexes.
	if f.Tenant != "" {
		where = append(where, "tenant = "+arg(f.Tenant))
	}
	if f.Policy != "" {
		where = append(where, "(policy_id = "+arg(f.Policy)+" OR insurer_policy_id = "+arg(f.Policy)+" OR reference = "+arg(f.Policy)+")")
	}
	if f.Actor != "" {
		where = append(where, "(actor = "+arg(f.Actor)+" OR actor_name = "+arg(f.Actor)+")")
	}
	if f.Outcome != "" {
		where = append(where, "outcome = "+arg(f.Outcome))
	}
	if f.Action != "" {
		where = append(where, "action = "+arg(f.Action))
	}
	if f.Reason != "" {
		where = append(where, "reason = "+arg(f.Reason))
	}
	if f.NoReason {
		where = append(where, "reason = ''")
	}
	// The same comparisons, with the same stored values, as
	// CancelReasons: the overview's counts link here.
	if !f.From.IsZero() {
		where = append(where, "at >= "+arg(l.d.Time(f.From.UTC())))
	}
	if !f.To.IsZero() {
		where = append(where, "at < "+arg(l.d.Time(f.To.UTC())))
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
		return Page{}, fmt.Errorf("audit: listing the %s log: %w", l.d, err)
	}
	defer rows.Close()
	var p Page
	for rows.Next() {
		var e Entry
		var at sqlstore.Time
		if err := rows.Scan(&e.ID, &at, &e.Action, &e.Actor, &e.ActorName, &e.Mode, &e.PolicyID, &e.InsurerPolicyID,
			&e.VersionID, &e.NewVersionID, &e.Reason, &e.TerminationDate, &e.Outcome, &e.UpstreamStatus,
			&e.UpstreamRequestID, &e.Message, &e.VariantID, &e.Holder, &e.Reference, &e.Tenant, &e.Coalesce, &e.Count,
			&p.Total); err != nil {
			return Page{}, fmt.Errorf("audit: reading the %s log: %w", l.d, err)
		}
		e.At = at.T
		p.Entries = append(p.Entries, e)
	}
	if err := rows.Err(); err != nil {
		return Page{}, fmt.Errorf("audit: reading the %s log: %w", l.d, err)
	}
	if len(p.Entries) == 0 && f.Offset > 0 {
		count := `SELECT COUNT(*) FROM audit_entries` + cond
		if err := l.db.QueryRowContext(ctx, count, args[:filterArgs]...).Scan(&p.Total); err != nil {
			return Page{}, fmt.Errorf("audit: counting the %s log: %w", l.d, err)
		}
	}
	return p, nil
}

// Close implements Log.
func (l *sqlLog) Close() error { return l.db.Close() }
