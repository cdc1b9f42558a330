package audit

import (
	"context"
	"fmt"
	"time"
)

// ReasonCounter counts the cancellations asked for through the dashboard
// by the reason given, for the managers' overview.
type ReasonCounter interface {
	// CancelReasons counts a tenant's cancellations the upstream accepted
	// (or completed) from from until to (to excluded), by reason ("" for
	// none given).
	CancelReasons(ctx context.Context, tenant string, from, to time.Time) (map[string]int, error)
}

var (
	_ ReasonCounter = (*sqlLog)(nil)
	_ ReasonCounter = (*Memory)(nil)
)

// CancelReasons implements ReasonCounter. Every cancellation the
// upstream took is recorded as accepted first (its completion is a
// second entry), so counting acceptances counts each once.
func (l *sqlLog) CancelReasons(ctx context.Context, tenant string, from, to time.Time) (map[string]int, error) {
	p := l.d.Placeholder
	rows, err := l.db.QueryContext(ctx, `SELECT reason, count(*) FROM audit_entries
		WHERE tenant = `+p(1)+` AND action = `+p(2)+` AND outcome = `+p(3)+` AND at >= `+p(4)+` AND at < `+p(5)+`
		GROUP BY reason`, tenant, ActionCancel, OutcomeAccepted, l.d.Time(from.UTC()), l.d.Time(to.UTC()))
	if err != nil {
		return nil, fmt.Errorf("audit: counting cancellation reasons (%s): %w", l.d, err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var reason string
		var n int
		if err := rows.Scan(&reason, &n); err != nil {
			return nil, fmt.Errorf("audit: counting cancellation reasons (%s): %w", l.d, err)
		}
		out[reason] += n
	}
	return out, rows.Err()
}

// CancelReasons implements ReasonCounter.
func (m *Memory) CancelReasons(_ context.Context, tenant string, from, to time.Time) (map[string]int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]int{}
	for _, e := range m.entries {
		if e.Tenant == tenant && e.Action == ActionCancel && e.Outcome == OutcomeAccepted && !e.At.Before(from) && e.At.Before(to) {
			out[e.Reason]++
		}
	}
	return out, nil
}
