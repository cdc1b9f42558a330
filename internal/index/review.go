package index

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Reviewer answers the managers' overview of a tenant's book from the
// index: what was written, cancelled and in force in a period, per
// currency (amounts in different currencies are never added up).
type Reviewer interface {
	Review(ctx context.Context, q ReviewQuery) (Review, error)
}

// ReviewQuery is a period of days and the one before it. Days are
// YYYY-MM-DD, inclusive, compared with each policy's own days (as the
// list's filters are), so that a figure and the list filtered to it
// count the same rows.
type ReviewQuery struct {
	Tenant           string
	From, To         string
	PrevFrom, PrevTo string
	// Buckets split [From, To] for the charts (weeks or months); each
	// is inclusive, in order, within the period.
	Buckets []DayRange
}

// DayRange is an inclusive range of days.
type DayRange struct{ From, To string }

// Figures are one currency's figures for one period.
type Figures struct {
	// InForce counts the policies in force on the period's last day:
	// paid (or cancelled later), started, not ended.
	InForce int
	// New counts the policies created in the period; GrossMinor and
	// TaxMinor are their premium and premium tax.
	New        int
	GrossMinor int64
	TaxMinor   int64
	// Cancelled counts the cancellations that took effect in the period.
	Cancelled int
}

// Review is the overview of a ReviewQuery.
type Review struct {
	// Current and Previous are per currency (lowercase ISO code).
	Current, Previous map[string]Figures
	// NewPerBucket and CancelledPerBucket follow ReviewQuery.Buckets.
	NewPerBucket, CancelledPerBucket []int
	// PremiumByProduct is the gross premium of the period's new policies
	// per currency, then per product id.
	PremiumByProduct map[string]map[string]int64
	// ByStatus counts every row of the tenant per status.
	ByStatus map[string]int
}

// InForceStatuses are the statuses a policy in force can have on a day:
// paid, or cancelled with effect after that day.
var InForceStatuses = []string{"paid", "cancelled"}

var _ Reviewer = (*sqlStore)(nil)

// Review implements Reviewer.
func (s *sqlStore) Review(ctx context.Context, q ReviewQuery) (Review, error) {
	q.Tenant = clean(q.Tenant)
	if q.Tenant == "" {
		return Review{}, fmt.Errorf("%w: no tenant", ErrBadQuery)
	}
	for _, d := range []string{q.From, q.To, q.PrevFrom, q.PrevTo} {
		if _, err := time.Parse(time.DateOnly, d); err != nil {
			return Review{}, fmt.Errorf("%w: %q is not a day", ErrBadQuery, d)
		}
	}
	if q.From > q.To || q.PrevFrom > q.PrevTo || q.PrevTo >= q.From {
		return Review{}, fmt.Errorf("%w: the periods are not in order", ErrBadQuery)
	}
	changed, err := s.Changed(ctx, q.Tenant)
	if err != nil {
		return Review{}, err
	}
	key := fmt.Sprintf("review\x00%d\x00%s\x00%s\x00%s\x00%s\x00%s\x00%v", changed, q.Tenant, q.From, q.To, q.PrevFrom, q.PrevTo, q.Buckets)
	if v, ok := s.cache.get(key); ok {
		return cloneReview(v.(Review)), nil
	}
	rv := Review{
		Current: map[string]Figures{}, Previous: map[string]Figures{},
		NewPerBucket: make([]int, len(q.Buckets)), CancelledPerBucket: make([]int, len(q.Buckets)),
		PremiumByProduct: map[string]map[string]int64{},
	}
	bucket := func(day string) int {
		for i, b := range q.Buckets {
			if day >= b.From && day <= b.To {
				return i
			}
		}
		return -1
	}
	period := func(day string) map[string]Figures {
		switch {
		case day >= q.From && day <= q.To:
			return rv.Current
		case day >= q.PrevFrom && day <= q.PrevTo:
			return rv.Previous
		}
		return nil
	}

	// Everything comes from index_daily, the per-day sums triggers keep
	// in every writing transaction (see dailyMigration): a few thousand
	// small rows, however many policies the tenant has.
	err = s.each(ctx, `SELECT day, currency, product_id, created, gross, tax FROM index_daily
		WHERE tenant = $1 AND day >= $2 AND day <= $3 AND created <> 0`, []any{q.Tenant, q.PrevFrom, q.To},
		func(sc scanner) error {
			var day, cur, product string
			var n int
			var gross, tax int64
			if err := sc.Scan(&day, &cur, &product, &n, &gross, &tax); err != nil {
				return err
			}
			if m := period(day); m != nil {
				f := m[cur]
				f.New += n
				f.GrossMinor += gross
				f.TaxMinor += tax
				m[cur] = f
			}
			if day >= q.From && day <= q.To {
				if rv.PremiumByProduct[cur] == nil {
					rv.PremiumByProduct[cur] = map[string]int64{}
				}
				rv.PremiumByProduct[cur][product] += gross
			}
			if i := bucket(day); i >= 0 {
				rv.NewPerBucket[i] += n
			}
			return nil
		})
	if err != nil {
		return Review{}, err
	}

	// Cancellations that took effect in either period.
	err = s.each(ctx, `SELECT day, currency, SUM(cancelled) FROM index_daily
		WHERE tenant = $1 AND day >= $2 AND day <= $3 AND cancelled <> 0 GROUP BY day, currency`, []any{q.Tenant, q.PrevFrom, q.To},
		func(sc scanner) error {
			var day, cur string
			var n int
			if err := sc.Scan(&day, &cur, &n); err != nil {
				return err
			}
			if m := period(day); m != nil {
				f := m[cur]
				f.Cancelled += n
				m[cur] = f
			}
			if i := bucket(day); i >= 0 {
				rv.CancelledPerBucket[i] += n
			}
			return nil
		})
	if err != nil {
		return Review{}, err
	}

	// In force on each period's last day.
	for _, p := range []struct {
		day string
		m   map[string]Figures
	}{{q.To, rv.Current}, {q.PrevTo, rv.Previous}} {
		// The changes up to the day add up to the number in force.
		err := s.each(ctx, `SELECT currency, SUM(force) FROM index_daily WHERE tenant = $1 AND day <= $2 GROUP BY currency`,
			[]any{q.Tenant, p.day}, func(sc scanner) error {
				var cur string
				var n int
				if err := sc.Scan(&cur, &n); err != nil {
					return err
				}
				if n != 0 {
					f := p.m[cur]
					f.InForce = n
					p.m[cur] = f
				}
				return nil
			})
		if err != nil {
			return Review{}, err
		}
	}

	facets, err := s.Facets(ctx, Query{Tenant: q.Tenant})
	if err != nil {
		return Review{}, err
	}
	rv.ByStatus = facets.Status
	s.cache.put(key, cloneReview(rv))
	return rv, nil
}

// each runs a fixed query (with $n placeholders) and calls fn per row.
func (s *sqlStore) each(ctx context.Context, query string, args []any, fn func(scanner) error) error {
	rows, err := s.db.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return s.fail("review", err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return s.fail("review", err)
		}
	}
	if err := rows.Err(); err != nil {
		return s.fail("review", err)
	}
	return nil
}

func cloneReview(r Review) Review {
	out := r
	out.Current, out.Previous = cloneFigures(r.Current), cloneFigures(r.Previous)
	out.NewPerBucket = append([]int(nil), r.NewPerBucket...)
	out.CancelledPerBucket = append([]int(nil), r.CancelledPerBucket...)
	out.PremiumByProduct = map[string]map[string]int64{}
	for c, m := range r.PremiumByProduct {
		out.PremiumByProduct[c] = map[string]int64{}
		for k, v := range m {
			out.PremiumByProduct[c][k] = v
		}
	}
	out.ByStatus = map[string]int{}
	for k, v := range r.ByStatus {
		out.ByStatus[k] = v
	}
	return out
}

func cloneFigures(m map[string]Figures) map[string]Figures {
	out := make(map[string]Figures, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// errNoReview is for callers whose store cannot review.
var errNoReview = errors.New("index: this store has no overview")

// ReviewOf returns s as a Reviewer, or an error when it is not one.
func ReviewOf(s Store) (Reviewer, error) {
	if r, ok := s.(Reviewer); ok {
		return r, nil
	}
	return nil, errNoReview
}
