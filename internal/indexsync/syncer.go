package indexsync

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"backoffice/apiclient"
	kasko "backoffice/apiclient/kasko"
	"backoffice/internal/index"
)

// LeaseName is the store lease that makes one instance the syncer.
const LeaseName = "index-sync"

// Defaults applied by New to zero Config fields.
const (
	DefaultRate           = 20.0
	DefaultPageSize       = 100
	DefaultPollEvery      = 10 * time.Second
	DefaultReconcileEvery = 6 * time.Hour
	DefaultLeaseTTL       = 30 * time.Second
	DefaultBackoffMin     = time.Second
	DefaultBackoffMax     = 60 * time.Second
	DefaultAuthRetry      = 5 * time.Minute
	DefaultMaxBurstPages  = 50
)

const (
	// maxPageSize is the upstream's own cap on limit.
	maxPageSize = 100
	// maxRetryAfter bounds how long an upstream's Retry-After can park
	// the sync; a bogus header must not stop it for a day.
	maxRetryAfter = 15 * time.Minute
	// maxCursorRestarts bounds how often one full sync starts over
	// because its cursor row vanished; rows deleted that fast are a
	// problem for the operator, not for a loop.
	maxCursorRestarts = 3
	// maxErrorText bounds what SyncState.Error keeps.
	maxErrorText = 500
)

// Config configures a Syncer. Zero fields take the defaults above.
type Config struct {
	Store index.Store
	// Client is the KASKO client; each key is bound with WithKey.
	Client *kasko.Client
	// Keys are the secret keys whose policies are indexed (INDEX_KEYS).
	Keys []string
	// Rate is the upstream requests per second, across all keys.
	Rate float64
	// PageSize is the list page size (at most 100).
	PageSize int
	// PollEvery is how often the head of each tenant's list is read.
	PollEvery time.Duration
	// ReconcileEvery is how often a full sync runs again to find rows
	// the upstream no longer shows.
	ReconcileEvery time.Duration
	// LeaseTTL is the lifetime of the sync lease; it is renewed every
	// third of it.
	LeaseTTL time.Duration
	// Holder names this instance in the lease; random when empty.
	Holder string
	Log    *slog.Logger
	Now    func() time.Time

	// BackoffMin and BackoffMax bound the exponential backoff after an
	// upstream failure (429, 5xx, network, garbled answer).
	BackoffMin, BackoffMax time.Duration
	// AuthRetry is how often a key the upstream rejects is tried again.
	AuthRetry time.Duration
	// MaxBurstPages bounds how far back one head poll reads when every
	// row it sees is new.
	MaxBurstPages int
}

// Syncer keeps the index in step with the upstream for the configured
// keys. Build it with New and start it with Run.
type Syncer struct {
	cfg   Config
	log   *slog.Logger
	lim   limiter
	zones zoneCache
	// pokes and changed are per key and fixed at New: pokes asks for a
	// head poll, changed tells a key's worker that its tenant moved.
	pokes   map[string]chan struct{}
	changed map[string]chan struct{}
	holding atomic.Bool

	mu       sync.Mutex
	tenantOf map[string]string // key → tenant
	keyOf    map[string]string // tenant → the key that syncs it
}

// New checks cfg and returns a Syncer; nothing runs before Run.
func New(cfg Config) (*Syncer, error) {
	if cfg.Store == nil || cfg.Client == nil {
		return nil, errors.New("indexsync: a store and a client are required")
	}
	var keys []string
	for _, k := range cfg.Keys {
		k = strings.TrimSpace(k)
		if k == "" || slices.Contains(keys, k) {
			continue
		}
		if !strings.HasPrefix(k, "sk_") {
			// A public key is refused email and data: the rows would lack
			// what secret readers search by.
			return nil, fmt.Errorf("indexsync: index key %s is not a secret key", apiclient.MaskKey(k))
		}
		keys = append(keys, k)
	}
	cfg.Keys = keys
	if cfg.Rate <= 0 {
		cfg.Rate = DefaultRate
	}
	if cfg.PageSize <= 0 || cfg.PageSize > maxPageSize {
		cfg.PageSize = DefaultPageSize
	}
	setDefault(&cfg.PollEvery, DefaultPollEvery)
	setDefault(&cfg.ReconcileEvery, DefaultReconcileEvery)
	setDefault(&cfg.LeaseTTL, DefaultLeaseTTL)
	setDefault(&cfg.BackoffMin, DefaultBackoffMin)
	setDefault(&cfg.BackoffMax, DefaultBackoffMax)
	setDefault(&cfg.AuthRetry, DefaultAuthRetry)
	cfg.BackoffMax = max(cfg.BackoffMax, cfg.BackoffMin)
	if cfg.MaxBurstPages <= 0 {
		cfg.MaxBurstPages = DefaultMaxBurstPages
	}
	if cfg.Holder == "" {
		var b [8]byte
		_, _ = rand.Read(b[:])
		cfg.Holder = "indexsync-" + hex.EncodeToString(b[:])
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Syncer{
		cfg:      cfg,
		log:      log.With(slog.String("component", "indexsync")),
		lim:      limiter{every: time.Duration(float64(time.Second) / cfg.Rate)},
		pokes:    make(map[string]chan struct{}, len(keys)),
		changed:  make(map[string]chan struct{}, len(keys)),
		tenantOf: make(map[string]string, len(keys)),
		keyOf:    make(map[string]string, len(keys)),
	}
	for _, k := range keys {
		s.pokes[k] = make(chan struct{}, 1)
		s.changed[k] = make(chan struct{}, 1)
	}
	return s, nil
}

func setDefault(d *time.Duration, def time.Duration) {
	if *d <= 0 {
		*d = def
	}
}

// Run resolves the keys' tenants and, while this instance holds the
// sync lease, syncs them. It returns when ctx ends.
func (s *Syncer) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, k := range s.cfg.Keys {
		wg.Go(func() { s.resolveLoop(ctx, k) })
	}
	s.leaseLoop(ctx)
	wg.Wait()
}

// Poke asks for an immediate head poll of tenant (after a policy was
// created through the dashboard). It does nothing for an unknown tenant
// or on an instance that does not hold the lease.
func (s *Syncer) Poke(tenant string) {
	s.mu.Lock()
	ch := s.pokes[s.keyOf[tenant]]
	s.mu.Unlock()
	if ch != nil {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// Key returns the configured key that indexes tenant, once resolved.
func (s *Syncer) Key(tenant string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k, ok := s.keyOf[tenant]
	return k, ok
}

// Tenants lists the resolved tenants, sorted.
func (s *Syncer) Tenants() []string {
	s.mu.Lock()
	out := make([]string, 0, len(s.keyOf))
	for t := range s.keyOf {
		out = append(out, t)
	}
	s.mu.Unlock()
	slices.Sort(out)
	return out
}

// Holding reports whether this instance holds the sync lease now.
func (s *Syncer) Holding() bool { return s.holding.Load() }

// current is key's tenant and whether key is the one that syncs it.
func (s *Syncer) current(key string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tenantOf[key]
	return t, t != "" && s.keyOf[t] == key
}

func (s *Syncer) setTenant(key, tenant string) {
	s.mu.Lock()
	old := s.tenantOf[key]
	if old == tenant {
		s.mu.Unlock()
		return
	}
	if old != "" && s.keyOf[old] == key {
		delete(s.keyOf, old)
	}
	s.tenantOf[key] = tenant
	other, taken := s.keyOf[tenant]
	if !taken {
		s.keyOf[tenant] = key
	}
	s.mu.Unlock()
	if taken && other != key {
		s.log.Warn("two index keys see the same tenant; the first one indexes it",
			slog.String("tenant", tenant), slog.String("key", apiclient.MaskKey(key)), slog.String("used", apiclient.MaskKey(other)))
	} else {
		s.log.Info("index key resolved", slog.String("tenant", tenant), slog.String("key", apiclient.MaskKey(key)))
	}
	select {
	case s.changed[key] <- struct{}{}:
	default:
	}
}

// resolveLoop finds key's tenant on every instance (webhooks need it on
// whichever instance they reach). A key that sees no policy yet is
// looked at again now and then: its tenant moves to its distributor's
// once it sees one.
func (s *Syncer) resolveLoop(ctx context.Context, key string) {
	failures := 0
	for {
		tenant, err := s.resolve(ctx, key)
		if ctx.Err() != nil {
			return
		}
		wait := s.cfg.AuthRetry
		if err != nil {
			failures++
			wait = s.backoff(failures, err)
			s.log.Warn("index key not resolved", slog.String("key", apiclient.MaskKey(key)), slog.String("error", apiclient.Redact(err.Error())))
		} else {
			failures = 0
			s.setTenant(key, tenant)
			if !isKeyTenant(tenant) {
				return
			}
		}
		if sleep(ctx, wait) != nil {
			return
		}
	}
}

// resolve reads one policy: the upstream has no "who am I", a key's
// distributor shows only in the policies it sees.
func (s *Syncer) resolve(ctx context.Context, key string) (string, error) {
	var page *kasko.PolicyPage
	err := s.call(ctx, nil, key, func(ctx context.Context, c *kasko.Client) (err error) {
		page, err = c.ListPolicies(ctx, kasko.ListParams{Limit: 1})
		return err
	})
	if err != nil {
		return "", err
	}
	return TenantOf(key, distributorOf(page.Policies)), nil
}

func distributorOf(ps []kasko.Policy) string {
	for i := range ps {
		if ps[i].DistributorID != "" {
			return ps[i].DistributorID
		}
	}
	return ""
}

// leaseLoop syncs while this instance holds the lease and waits for it
// otherwise; a holder that dies passes it on within LeaseTTL.
func (s *Syncer) leaseLoop(ctx context.Context) {
	every := s.cfg.LeaseTTL / 3
	for {
		ok, err := s.lease(ctx)
		if err != nil && ctx.Err() == nil {
			s.log.Warn("index sync lease not taken", slog.String("error", err.Error()))
		}
		if ok {
			s.hold(ctx, every)
		}
		if sleep(ctx, every) != nil {
			return
		}
	}
}

func (s *Syncer) lease(ctx context.Context) (bool, error) {
	lctx, cancel := context.WithTimeout(ctx, s.cfg.LeaseTTL/3)
	defer cancel()
	return s.cfg.Store.Lease(lctx, LeaseName, s.cfg.Holder, s.cfg.LeaseTTL)
}

// hold runs the key workers and renews the lease well before it runs
// out; when a renewal fails, the workers stop at once, because another
// instance may take over once the lease has expired.
func (s *Syncer) hold(ctx context.Context, every time.Duration) {
	s.holding.Store(true)
	defer s.holding.Store(false)
	s.log.Info("index sync lease taken", slog.String("holder", s.cfg.Holder))
	wctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, k := range s.cfg.Keys {
		wg.Go(func() { s.work(wctx, k) })
	}
	t := time.NewTicker(every)
	defer t.Stop()
	// A renewal that fails (a slow or unreachable store) is retried while
	// the lease surely still runs; syncing stops before it can expire.
	validUntil := time.Now().Add(s.cfg.LeaseTTL)
	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-t.C:
			asked := time.Now()
			ok, err := s.lease(ctx)
			if ctx.Err() != nil {
				break
			}
			if ok {
				validUntil = asked.Add(s.cfg.LeaseTTL)
				continue
			}
			if err != nil && time.Now().Add(every).Before(validUntil) {
				s.log.Warn("index sync lease not renewed; retrying", slog.String("holder", s.cfg.Holder), slog.String("error", err.Error()))
				continue
			}
			msg := "held by another instance"
			if err != nil {
				msg = err.Error()
			}
			s.log.Warn("index sync lease lost; syncing stops", slog.String("holder", s.cfg.Holder), slog.String("reason", msg))
			cancel()
			wg.Wait()
			return
		}
	}
	cancel()
	wg.Wait()
}

// errTenantChanged ends a tenant's sync when its key moved to another
// tenant. A type, not a variable, so that the package keeps no globals.
type errTenantChanged struct{}

func (errTenantChanged) Error() string { return "indexsync: the key's tenant changed" }

// work syncs key's tenant until ctx ends, starting over after failures.
func (s *Syncer) work(ctx context.Context, key string) {
	failures := 0
	for ctx.Err() == nil {
		tenant, owner := s.current(key)
		if !owner {
			select {
			case <-ctx.Done():
			case <-s.changed[key]:
			}
			continue
		}
		r := &run{s: s, key: key, tenant: tenant}
		err := r.sync(ctx)
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, errTenantChanged{}) {
			failures = 0
			continue
		}
		failures++
		r.recordError(ctx, err)
		s.log.Warn("index sync failed; retrying", slog.String("tenant", tenant), slog.String("error", errorText(err)))
		if sleep(ctx, s.backoff(failures, err)) != nil {
			return
		}
	}
}

// call runs one upstream request under the shared rate limit. It retries
// what a later attempt may get through (429, 5xx, network, a garbled
// answer) with backoff, and a rejected key slowly, forever: the index
// waits for the upstream rather than giving up. Other errors return.
func (s *Syncer) call(ctx context.Context, r *run, key string, fn func(context.Context, *kasko.Client) error) error {
	c := s.cfg.Client.WithKey(key)
	failures := 0
	for {
		if err := s.lim.wait(ctx); err != nil {
			return err
		}
		err := fn(ctx, c)
		if err == nil {
			return nil // the caller's next state save clears the error
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var wait time.Duration
		switch {
		case errors.Is(err, apiclient.ErrUnauthorized), errors.Is(err, apiclient.ErrForbidden):
			wait = s.cfg.AuthRetry
			s.log.Error("the upstream rejects an index key; its tenant is not synced until it is fixed",
				slog.String("key", apiclient.MaskKey(key)), slog.String("error", errorText(err)), slog.Duration("retry_in", wait))
		case retryable(err):
			failures++
			wait = s.backoff(failures, err)
			s.log.Warn("upstream call failed; backing off", slog.String("key", apiclient.MaskKey(key)),
				slog.String("error", errorText(err)), slog.Duration("retry_in", wait))
		default:
			return err
		}
		if r != nil {
			r.recordError(ctx, err)
		}
		if err := sleep(ctx, wait); err != nil {
			return err
		}
	}
}

func retryable(err error) bool {
	var ae *apiclient.Error
	if errors.As(err, &ae) && ae.StatusCode == 429 {
		return true
	}
	return errors.Is(err, apiclient.ErrUnavailable) || errors.Is(err, apiclient.ErrInvalidResponse)
}

// backoff is the wait before attempt failures+1: exponential between
// BackoffMin and BackoffMax, jittered so that instances and tenants do
// not retry in step, and never shorter than a Retry-After the error
// carries (apiclient errors gain RetryAfter when the upstream sends one).
func (s *Syncer) backoff(failures int, err error) time.Duration {
	d := s.cfg.BackoffMax
	if failures < 31 {
		if e := s.cfg.BackoffMin << (failures - 1); e > 0 && e < d {
			d = e
		}
	}
	d = d/2 + mrand.N(d/2+1) // #nosec G404 -- jitter of a retry delay, not a secret
	var ra interface{ RetryAfter() time.Duration }
	if errors.As(err, &ra) {
		if v := min(ra.RetryAfter(), maxRetryAfter); v > d {
			d = v
		}
	}
	return d
}

func errorText(err error) string {
	if err == nil {
		return ""
	}
	msg := apiclient.Redact(err.Error())
	if len(msg) > maxErrorText {
		msg = msg[:maxErrorText] + "…"
	}
	return msg
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// limiter spaces requests evenly at its rate (no bursts): the upstream's
// limits are unknown, and a steady pace is the polite guess.
type limiter struct {
	every time.Duration
	mu    sync.Mutex
	next  time.Time
}

func (l *limiter) wait(ctx context.Context) error {
	l.mu.Lock()
	now := time.Now()
	at := l.next
	if at.Before(now) {
		at = now
	}
	l.next = at.Add(l.every)
	l.mu.Unlock()
	return sleep(ctx, at.Sub(now))
}
