// Package throttle slows down password guessing through the sign-in
// forms. Every sign-in is checked by the upstream it names, so without a
// bound the dashboard is an oracle anyone may ask as fast as it answers.
// Failed sign-ins are counted per client address and per account, in a
// sliding window; once a count reaches its limit, further attempts under
// that key are refused (429) without asking the upstream, until enough of
// the window has passed.
//
// Only failures count: the upstream refusing a credential (against the
// address and the account), and a malformed credential (against the
// address only: it never reaches the upstream, so it guesses nothing
// about an account, but a client sending garbage is still probing).
// A success counts nothing, and resets nothing either: it would let a
// guesser who owns one valid account clear its address's count at will.
//
// The counters are kept where the instances share state: Redis
// (SESSION_STORE=redis), PostgreSQL (AUDIT_DATABASE_URL) or, on a single
// instance, memory. A restart forgetting the counters in memory is
// acceptable: it gives a guesser one more window's worth of attempts,
// and restarts are not theirs to trigger. The counting itself is
// github.com/go-chi/httprate's sliding window over its LimitCounter
// interface, so that the Redis counter is httprate-redis's.
//
// A store that fails never locks anyone out: the attempt goes ahead and
// the failure is logged (fail open). Locking every user out whenever
// Redis or PostgreSQL hiccups would turn a store outage into a full
// outage, while the upstream still rejects wrong credentials.
package throttle

import (
	"context"
	"fmt"
	"math"
	"net/netip"
	"strings"
	"time"

	"github.com/go-chi/httprate"
)

// Limiter counts failed attempts under keys and says when too many
// failed.
type Limiter interface {
	// Allowed reports whether another attempt under all of keys may go
	// ahead; when not, retryAfter is how long until it may (whole
	// seconds, at least one). A store failure answers ok with the error,
	// so that callers fail open and log it.
	Allowed(ctx context.Context, keys ...string) (ok bool, retryAfter time.Duration, err error)
	// Failed counts one failed attempt under each of keys.
	Failed(ctx context.Context, keys ...string) error
}

// Limits are the failures a key may have in a sliding window.
type Limits struct {
	// Address bounds the failures from one client address, whatever
	// the accounts tried.
	Address int
	// Account bounds the failures against one account (a KASKO key's
	// masked form, a CASCO account name), wherever they come from.
	Account int
	// Window is the length of the sliding window.
	Window time.Duration
}

// DefaultLimits: 5 failures per account in 5 minutes leaves room for a
// person retyping a key or password a few times (the error message says
// what was wrong) while holding a guesser to about one try a minute per
// account, 1,440 a day, hopeless against a 32-character key and slow
// against any decent password. 20 per address lets a handful of people
// behind one office NAT mistype at the same time, yet stops one client
// from spreading guesses over many accounts at more than 4 a minute.
var DefaultLimits = Limits{Address: 20, Account: 5, Window: 5 * time.Minute}

// Kinds of sign-in, the kind label of the metric and part of account
// keys, so that a KASKO key and a CASCO account never share a count.
const (
	Kasko = "kasko"
	Casco = "casco"
)

const (
	addressPrefix = "addr:"
	accountPrefix = "acct:"
)

// AddressKey is the key counting failures from the client address ip
// (as ClientIP returns it). An IPv6 address counts as its /64: a single
// host is usually given a whole /64 and can pick any address in it, so
// counting single addresses would bound nothing.
func AddressKey(ip string) string {
	if a, err := netip.ParseAddr(ip); err == nil && a.Is6() && !a.Is4In6() {
		p, _ := a.Prefix(64)
		return addressPrefix + p.String()
	}
	return addressPrefix + ip
}

// AccountKey is the key counting failures against account of kind
// (Kasko, Casco).
func AccountKey(kind, account string) string {
	return accountPrefix + kind + ":" + account
}

// Counting is a Limiter over an httprate.LimitCounter: the sliding
// window httprate's own limiter uses (the previous window's count,
// weighted by how much of it still overlaps, plus the current one's),
// with a limit per kind of key. It counts only what Failed is told,
// where httprate's middleware counts every request.
type Counting struct {
	counter httprate.LimitCounter
	limits  Limits
	now     func() time.Time
	close   func() error
}

var _ Limiter = (*Counting)(nil)

// Option adjusts a Counting limiter.
type Option func(*Counting)

// WithClock replaces the system clock, for tests that move time on.
func WithClock(now func() time.Time) Option { return func(c *Counting) { c.now = now } }

// New returns a limiter counting in c. Windows are aligned to the wall
// clock, so that every instance sharing c agrees on them.
func New(c httprate.LimitCounter, l Limits, opts ...Option) (*Counting, error) {
	if l.Address < 1 || l.Account < 1 || l.Window < time.Second {
		return nil, fmt.Errorf("throttle: limits need positive counts and a window of at least a second, got %+v", l)
	}
	lim := &Counting{counter: c, limits: l, now: time.Now, close: func() error { return nil }}
	for _, o := range opts {
		o(lim)
	}
	// The request limit is not the counter's business (ours differ by
	// key); the window sets its expiry.
	c.Config(l.Account, l.Window)
	return lim, nil
}

// NewMemory counts in this process only: for a single instance.
func NewMemory(l Limits, opts ...Option) (*Counting, error) {
	return New(httprate.NewLocalLimitCounter(l.Window), l, opts...)
}

// Close releases the store's connections.
func (l *Counting) Close() error { return l.close() }

func (l *Counting) windows() (now, current, previous time.Time) {
	now = l.now().UTC()
	current = now.Truncate(l.limits.Window)
	return now, current, current.Add(-l.limits.Window)
}

func (l *Counting) limit(key string) int {
	if strings.HasPrefix(key, addressPrefix) {
		return l.limits.Address
	}
	return l.limits.Account
}

// Allowed implements Limiter.
func (l *Counting) Allowed(_ context.Context, keys ...string) (bool, time.Duration, error) {
	now, cur, prev := l.windows()
	var wait time.Duration
	for _, k := range keys {
		c, p, err := l.counter.Get(k, cur, prev)
		if err != nil {
			return true, 0, fmt.Errorf("throttle: reading the count: %w", err)
		}
		wait = max(wait, retryAfter(now.Sub(cur), l.limits.Window, c, p, l.limit(k)))
	}
	return wait == 0, wait, nil
}

// Failed implements Limiter.
func (l *Counting) Failed(_ context.Context, keys ...string) error {
	_, cur, _ := l.windows()
	for _, k := range keys {
		if err := l.counter.IncrementBy(k, cur, 1); err != nil {
			return fmt.Errorf("throttle: counting a failure: %w", err)
		}
	}
	return nil
}

// retryAfter is how long until the sliding count of a key drops below
// limit if nothing more fails: 0 when it is below already. elapsed is
// the time since the current window began; curr and prev are the
// counts of the current and previous windows. The count is
// prev×(window−elapsed)/window + curr: within this window it falls
// with the previous window's share, and once this window is over it is
// curr's share of the next.
func retryAfter(elapsed, window time.Duration, curr, prev, limit int) time.Duration {
	w := float64(window)
	rate := float64(prev)*(w-float64(elapsed))/w + float64(curr)
	if rate < float64(limit) {
		return 0
	}
	var until float64 // from now, in nanoseconds, to the instant the count equals limit
	if curr < limit {
		until = w*(1-float64(limit-curr)/float64(prev)) - float64(elapsed)
	} else {
		until = w - float64(elapsed) + w*(1-float64(limit)/float64(curr))
	}
	// The next whole second after that instant, where the count is
	// below limit: Retry-After is in seconds, and a client retrying at
	// the instant itself would be refused again.
	return max(time.Duration(math.Floor(until/float64(time.Second))+1)*time.Second, time.Second)
}
