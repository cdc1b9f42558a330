package tokens

import (
	"context"
	"time"
)

// SetClock makes s read the time from now; false for the Redis store,
// whose clock is the server's.
func SetClock(s Store, now func() time.Time) bool {
	switch s := s.(type) {
	case *Memory:
		s.clock.Set(now)
	case *sqlStore:
		s.clock.Set(now)
	default:
		return false
	}
	return true
}

// Stored counts the records s holds, expired ones not yet removed
// included, and for Memory the entries of its owner lists.
func Stored(ctx context.Context, s Store) (records, listed int, err error) {
	switch s := s.(type) {
	case *Memory:
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, l := range s.owners {
			listed += len(l)
		}
		return len(s.recs), listed, nil
	case *sqlStore:
		err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM tokens_records`).Scan(&records)
		return records, 0, err
	case *Redis:
		keys, err := s.c.Keys(ctx, s.ns+"r:*").Result()
		return len(keys), 0, err
	}
	panic("unknown store")
}
