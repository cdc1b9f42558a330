package throttle

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"
)

// Reasons a sign-in failed, the reason label of the metric.
const (
	ReasonRejected  = "rejected"
	ReasonThrottled = "throttled"
	ReasonMalformed = "malformed"
)

// addressConcurrency bounds the attempts from one address that one
// instance checks upstream at the same time. The counts are read before
// the upstream answers and written after, so attempts in flight together
// all pass the same check: without a bound, a client sending 200 at once
// would get 200 guesses. One at a time per account (so the fifth failure
// is counted before a sixth attempt is checked), a few at a time per
// address, so that colleagues behind one NAT do not wait for each other.
const addressConcurrency = 4

// GuardConfig is what a Guard is built from.
type GuardConfig struct {
	// Limiter counts the failures; nil throttles nothing (the guard
	// still counts the metric).
	Limiter Limiter
	// TrustedProxies may set X-Forwarded-For (TRUSTED_PROXIES).
	TrustedProxies []netip.Prefix
	// Failure hears every failed sign-in by kind and reason (Reason…),
	// e.g. metrics.SignInFailure; nil hears nothing.
	Failure func(kind, reason string)
	// Log receives store failures; nil discards them.
	Log *slog.Logger
}

// Guard is the throttle of the sign-in forms, shared by the KASKO and
// CASCO forms so that an address's failures on both add up. A nil
// *Guard lets everything through and counts nothing.
type Guard struct {
	cfg   GuardConfig
	mu    sync.Mutex
	slots map[string]*slot
}

// NewGuard returns a guard over cfg.
func NewGuard(cfg GuardConfig) *Guard {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Failure == nil {
		cfg.Failure = func(string, string) {}
	}
	return &Guard{cfg: cfg, slots: map[string]*slot{}}
}

// slot bounds the attempts in flight under one key in this process.
type slot struct {
	sem  chan struct{}
	refs int
}

// Attempt is one sign-in under a guard, from Begin to Done.
type Attempt struct {
	g       *Guard
	ctx     context.Context
	kind    string
	address string
	account string
	held    []string
}

// Begin starts an attempt of kind (Kasko, Casco) from r's client against
// account: a KASKO key's masked form, a CASCO account name lowercased,
// or "" when the credential is malformed (the address alone counts). It
// waits for attempts on the same account, and beyond addressConcurrency
// on the same address, that this instance is checking; the error is the
// request's, gone while waiting. Call Done when the outcome is counted.
func (g *Guard) Begin(r *http.Request, kind, account string) (*Attempt, error) {
	if g == nil {
		return nil, nil
	}
	a := &Attempt{g: g, ctx: r.Context(), kind: kind, address: AddressKey(ClientIP(r, g.cfg.TrustedProxies))}
	if account != "" {
		a.account = AccountKey(kind, account)
	}
	// Always the address first, then the account: one order, so that
	// two attempts never hold what the other waits for.
	for _, k := range a.keys() {
		n := 1
		if k == a.address {
			n = addressConcurrency
		}
		if err := g.acquire(a.ctx, k, n); err != nil {
			a.Done()
			return nil, err
		}
		a.held = append(a.held, k)
	}
	return a, nil
}

func (a *Attempt) keys() []string {
	if a.account == "" {
		return []string{a.address}
	}
	return []string{a.address, a.account}
}

func (g *Guard) acquire(ctx context.Context, key string, n int) error {
	g.mu.Lock()
	s := g.slots[key]
	if s == nil {
		s = &slot{sem: make(chan struct{}, n)}
		g.slots[key] = s
	}
	s.refs++
	g.mu.Unlock()
	select {
	case s.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		g.release(key, false)
		return ctx.Err()
	}
}

func (g *Guard) release(key string, acquired bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	s := g.slots[key]
	if acquired {
		<-s.sem
	}
	if s.refs--; s.refs == 0 {
		delete(g.slots, key)
	}
}

// Done ends the attempt, letting the next one on its keys go.
func (a *Attempt) Done() {
	if a == nil {
		return
	}
	for _, k := range a.held {
		a.g.release(k, true)
	}
	a.held = nil
}

// Allowed reports whether the attempt may ask the upstream; when not,
// retryAfter says for how long not, and the refusal is counted as a
// throttled failure. A limiter that fails lets the attempt through.
func (a *Attempt) Allowed() (ok bool, retryAfter time.Duration) {
	if a == nil || a.g.cfg.Limiter == nil {
		return true, 0
	}
	ok, wait, err := a.g.cfg.Limiter.Allowed(a.ctx, a.keys()...)
	if err != nil {
		a.g.cfg.Log.Error("sign-in throttle unavailable, letting the attempt through", slog.String("kind", a.kind), slog.Any("error", err))
		return true, 0
	}
	if !ok {
		a.g.cfg.Failure(a.kind, ReasonThrottled)
	}
	return ok, wait
}

// Rejected counts the upstream refusing the credential, against the
// address and the account.
func (a *Attempt) Rejected() {
	if a != nil {
		a.failed(ReasonRejected, a.keys()...)
	}
}

// Malformed counts a credential that could not be real, against the
// address only: it never reached the upstream.
func (a *Attempt) Malformed() {
	if a != nil {
		a.failed(ReasonMalformed, a.address)
	}
}

func (a *Attempt) failed(reason string, keys ...string) {
	a.g.cfg.Failure(a.kind, reason)
	if a.g.cfg.Limiter == nil {
		return
	}
	// Counted even when the browser has gone: the guess was made.
	ctx := context.WithoutCancel(a.ctx)
	if err := a.g.cfg.Limiter.Failed(ctx, keys...); err != nil {
		a.g.cfg.Log.Error("sign-in throttle unavailable, a failure went uncounted", slog.String("kind", a.kind), slog.Any("error", err))
	}
}

// SetRetryAfter writes d as a Retry-After header, in whole seconds.
func SetRetryAfter(w http.ResponseWriter, d time.Duration) {
	secs := max(int64((d+time.Second-1)/time.Second), 1)
	w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
}
