// Package sandbox is a stateful, strict, in-memory HTTP implementation of the
// KASKO REST API (under KaskoPrefix), the KASKO push API (under PushPrefix)
// and CascoApi, the Romanian CASCO broker API (under CascoPrefix), with
// signed document downloads (under AssetPrefix), a small JSON
// self-description at GET /_sandbox, and the sender side of KASKO webhooks
// (webhook.go): endpoints registered per scope get policy.created and
// policy.updated, signed with the scope's demo secret. A sandbox with
// webhooks runs goroutines until Close.
//
// It exists because no upstream host is reachable from where the dashboard
// is built and tested: a client that passes against the sandbox must be
// right against the real API, so the sandbox is strict wherever the contract
// is (auth, Accept, If-Match, check order, error envelopes).
//
// Seeded data is deterministic from Options.Seed and Options.ReferenceDate,
// the moment the seeded history leads up to. By default that is today (the
// clock's day when New runs), so a demo always has policies created this
// month and policies expiring in the coming weeks; pinning it
// (SANDBOX_REFERENCE_DATE) gives data that does not move with the calendar,
// which is what sandboxtest does for tests. A few fixtures are always
// present (when Policies is at least MinPolicies), with the same ids and
// roles whatever the reference date; their dates move with it:
//
//   - FixturePolicyID / FixtureInsurerPolicyID: distributor A, test mode,
//     paid, open-ended (never expires), Europe/Riga, holder "Jānis Bērziņš",
//     version FixtureVersionID; cancellable.
//   - FixtureCancelledID: distributor A, test, cancelled (bike theft, Berlin).
//   - FixtureExpiredID: distributor A, test, paid but expired (travel, Bucharest).
//   - FixtureLiveID: distributor A, live mode (seen only with live keys).
//   - FixtureOtherDistributorID: distributor B, test mode.
//
// CascoApi has two demo partner accounts (CascoDemoAccount,
// CascoPartnerAccount); its offers and policies start empty and are made
// by the requests, with ids from the seed and prices from the request alone
// (the formula is in casco_offer.go and the README).
package sandbox

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	// Zones must resolve even in minimal images without /usr/share/zoneinfo.
	_ "time/tzdata"
)

// URL prefixes of the sandbox's parts.
const (
	KaskoPrefix = "/kasko"
	PushPrefix  = "/push"
	AssetPrefix = "/assets"
	// AdminPath serves the sandbox's self-description.
	AdminPath = "/_sandbox"
)

// Route names as counted by Calls.
const (
	RouteListPolicies  = "GET /kasko/policies"
	RouteGetPolicy     = "GET /kasko/policies/{id}"
	RouteCancelPolicy  = "POST /kasko/policies/{id}/cancel"
	RouteVersionStatus = "GET /kasko/policies/{id}/versions/{version}/status"
	RoutePush          = "POST /push/"
	RoutePolicyAsset   = "GET /assets/policies/{id}/{designation}/{file}"
	RouteMediaAsset    = "GET /assets/media/{id}/{media}/{file}"
	RouteInfo          = "GET /_sandbox"
	RouteFaults        = "PUT /_sandbox/faults"
	RouteAddWebhook    = "POST /_sandbox/webhooks"
	RouteDeleteWebhook = "DELETE /_sandbox/webhooks/{id}"
)

// Defaults applied by New to zero Options fields.
const (
	DefaultSeed         = 1
	DefaultPolicies     = 2500
	DefaultCancelDelay  = 2 * time.Second
	DefaultAssetURLTTL  = 15 * time.Minute
	DefaultMaxBodyBytes = 1 << 20
	// MinPolicies is the smallest seed size: the fixtures and the eight live
	// policies need room.
	MinPolicies = 16
)

// earliestReferenceDate is the earliest Options.ReferenceDate New accepts:
// the seeded history reaches three years further back, and a time at or
// before the Unix epoch would read as "no date" in the policy data.
var earliestReferenceDate = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// Options configure a sandbox. The zero value is usable.
type Options struct {
	Seed     int64 // deterministic data; 0 means DefaultSeed
	Policies int   // number of seeded policies; 0 means DefaultPolicies
	// ReferenceDate is the moment the seeded history leads up to:
	// policies were created evenly over the three years before it (so the
	// days just before it have some), some expire in the days and weeks
	// after it, and seeded cancellations happened before it. Zero means
	// today: 00:00 UTC of the clock's (Now) date when New runs, never later
	// than that clock, so every sandbox started on the same day with the
	// same Seed holds the same data. A pinned value is used as given (not
	// rounded): same Seed and ReferenceDate, same data, whatever the clock.
	// It must not be before 2000-01-01.
	ReferenceDate time.Time
	// CancelDelay is the time from a cancel's 202 to its completion. Zero
	// completes at the next request (convenient in tests); OptionsFromEnv
	// and cmd/sandbox default it to DefaultCancelDelay.
	CancelDelay  time.Duration
	AssetURLTTL  time.Duration // lifetime of signed asset/media URLs; 0 means DefaultAssetURLTTL
	BaseURL      string        // public scheme://host[:port]; empty = from the request's Host
	Faults       Faults
	Now          func() time.Time // clock; nil means time.Now
	Logger       *slog.Logger     // nil discards
	MaxBodyBytes int64            // request body cap (413 above); 0 means DefaultMaxBodyBytes

	// CascoTokenTTL is the lifetime of a CascoApi access token (JWT exp);
	// 0 means DefaultCascoTokenTTL. Short, so that clients really renew.
	CascoTokenTTL time.Duration
	// CascoRefreshTTL is the lifetime of a CascoApi refresh token, renewed
	// with each rotation; 0 means DefaultCascoRefreshTTL. At least
	// CascoTokenTTL.
	CascoRefreshTTL time.Duration
	// CascoOfferTTL is how long a CascoApi offer can become a policy: its
	// offerExpiryDate is the Bucharest date of quote time + CascoOfferTTL
	// (never after the offer's startDate), and the offer expires at the
	// end of that day; 0 means DefaultCascoOfferTTL.
	CascoOfferTTL time.Duration

	// Webhooks are registered by New as AddWebhook would register them.
	Webhooks []WebhookConfig
	// WebhookRetryBase is the wait before the first redelivery of a failed
	// webhook, doubling after each further failure; 0 means
	// DefaultWebhookRetryBase.
	WebhookRetryBase time.Duration
	// WebhookMaxAttempts bounds the tries of one delivery, the first
	// included; 0 means DefaultWebhookMaxAttempts.
	WebhookMaxAttempts int
	// WebhookTimeout bounds one delivery attempt; 0 means
	// DefaultWebhookTimeout.
	WebhookTimeout time.Duration
	// WebhookScanInterval is how often, while webhooks are registered,
	// the sandbox looks for policies whose end date has passed and for
	// cancellations due by its clock; 0 means DefaultWebhookScanInterval.
	WebhookScanInterval time.Duration
}

// Faults are injected failures for resilience tests and demos. The generic
// ones (latency, error rate, malformed rate) apply to /kasko, /push and
// /casco answers.
type Faults struct {
	Latency           time.Duration // added to every /kasko, /push and /casco answer
	ErrorRate         float64       // 0..1: share of answers replaced by a 500/502/503
	MalformedRate     float64       // 0..1: share of 200 answers replaced by a broken body
	FailCancellations bool          // cancellations end as "failed" instead of "completed"
	// RejectCancellations makes every cancel of a visible policy answer
	// with this status (400, 404, 409, 412, 422) and the contract's message for
	// it, as if the upstream had a reason the sandbox's data does not
	// show; 0 is off.
	RejectCancellations int
	// RejectPushes makes every push by a secret key answer with this
	// status (400, 401 or 404) and RejectPushMessage as its errorMessage
	// detail (default: the contract's wording for that status); 0 is off.
	RejectPushes      int
	RejectPushMessage string
	// CascoUnavailable lists CascoApi providers (generali, groupama,
	// allianz, eazy_insure) whose quotes and policy issues answer 400 with
	// the provider error "Product unavailable" ("Produs indisponibil").
	CascoUnavailable []string
	// CascoValidationField, when set, makes every CascoApi quote and policy
	// issue answer 400 VALIDATION_ERROR with this dotted field reported as
	// required, the way
	// the live service reports a field its documentation does not list
	// (e.g. "product.policyholder.address.floor").
	CascoValidationField string
	// WebhookDuplicates sends every webhook delivery a second time, with
	// the same X-KASKO-Delivery, once the first copy was answered 2xx: a
	// receiver must be idempotent.
	WebhookDuplicates bool
}

func (f Faults) validate() error {
	switch f.RejectCancellations {
	case 0, http.StatusBadRequest, http.StatusNotFound, http.StatusConflict, http.StatusPreconditionFailed, http.StatusUnprocessableEntity:
	default:
		return errors.New("reject_cancellations must be 0, 400, 404, 409, 412 or 422")
	}
	switch f.RejectPushes {
	case 0, http.StatusBadRequest, http.StatusUnauthorized, http.StatusNotFound:
	default:
		return errors.New("reject_pushes must be 0, 400, 401 or 404")
	}
	if f.Latency < 0 {
		return errors.New("latency must not be negative")
	}
	if f.ErrorRate < 0 || f.ErrorRate > 1 {
		return errors.New("error rate must be within 0..1")
	}
	if f.MalformedRate < 0 || f.MalformedRate > 1 {
		return errors.New("malformed rate must be within 0..1")
	}
	for _, p := range f.CascoUnavailable {
		if !slices.Contains(CascoProviders(), p) {
			return fmt.Errorf("casco_unavailable: unknown provider %q (want %s)", p, strings.Join(CascoProviders(), ", "))
		}
	}
	return nil
}

// Credential is one demo API key.
type Credential struct {
	Key             string `json:"key"`
	Kind            string `json:"kind"` // "secret" or "public"
	Mode            string `json:"mode"` // "test" or "live"
	DistributorID   string `json:"distributor_id"`
	DistributorName string `json:"distributor_name"`
}

// Sandbox is the upstream imitation; it is an http.Handler. All state sits
// behind mu so that any number of goroutines may call it.
type Sandbox struct {
	opts   Options
	now    func() time.Time
	log    *slog.Logger
	secret []byte // signs asset URLs

	ridPrefix string
	ridSeq    atomic.Uint64

	faultsMu  sync.Mutex
	faults    Faults
	faultRand *mrand.Rand

	callsMu sync.Mutex
	calls   map[string]int

	keys  map[string]keyInfo
	creds []Credential

	mu        sync.Mutex
	prods     []product
	scopes    []*scopeState
	byID      map[string]*policy
	byInsurer map[string]*policy
	pending   map[*policy]struct{}
	rng       *mrand.Rand // new ids after seeding
	ring      []*policy   // policies holding encoded JSON, oldest first
	ringNext  int

	casco *cascoState

	hooks    hooks
	lastBase atomic.Pointer[string] // base URL of the latest request, for webhook payloads
}

// New builds a sandbox and seeds its data.
func New(opts Options) (*Sandbox, error) {
	if opts.Seed == 0 {
		opts.Seed = DefaultSeed
	}
	if opts.Policies == 0 {
		opts.Policies = DefaultPolicies
	}
	if opts.Policies < MinPolicies {
		return nil, fmt.Errorf("sandbox: Policies must be at least %d, got %d", MinPolicies, opts.Policies)
	}
	if opts.CancelDelay < 0 {
		return nil, errors.New("sandbox: CancelDelay must not be negative")
	}
	if opts.AssetURLTTL == 0 {
		opts.AssetURLTTL = DefaultAssetURLTTL
	}
	if opts.AssetURLTTL < 2*time.Second {
		return nil, errors.New("sandbox: AssetURLTTL must be at least 2s")
	}
	if opts.MaxBodyBytes == 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.MaxBodyBytes < 0 {
		return nil, errors.New("sandbox: MaxBodyBytes must not be negative")
	}
	if opts.CascoTokenTTL == 0 {
		opts.CascoTokenTTL = DefaultCascoTokenTTL
	}
	if opts.CascoRefreshTTL == 0 {
		opts.CascoRefreshTTL = max(DefaultCascoRefreshTTL, opts.CascoTokenTTL)
	}
	if opts.CascoOfferTTL == 0 {
		opts.CascoOfferTTL = DefaultCascoOfferTTL
	}
	if opts.CascoTokenTTL < time.Second || opts.CascoRefreshTTL < opts.CascoTokenTTL || opts.CascoOfferTTL < 0 {
		return nil, errors.New("sandbox: CascoTokenTTL must be at least 1s, CascoRefreshTTL at least CascoTokenTTL, CascoOfferTTL not negative")
	}
	if err := opts.webhookDefaults(); err != nil {
		return nil, err
	}
	if !opts.ReferenceDate.IsZero() && opts.ReferenceDate.Before(earliestReferenceDate) {
		return nil, fmt.Errorf("sandbox: ReferenceDate must not be before %s, got %s", earliestReferenceDate.Format(time.DateOnly), opts.ReferenceDate.Format(time.RFC3339))
	}
	opts.Faults.CascoUnavailable = slices.Clone(opts.Faults.CascoUnavailable)
	opts.BaseURL = strings.TrimRight(opts.BaseURL, "/")
	if err := opts.Faults.validate(); err != nil {
		return nil, fmt.Errorf("sandbox: faults: %w", err)
	}
	s := &Sandbox{
		opts:   opts,
		now:    opts.Now,
		log:    opts.Logger,
		faults: opts.Faults,
		calls:  make(map[string]int),
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.opts.ReferenceDate.IsZero() {
		s.opts.ReferenceDate = startOfDayUTC(s.now())
	}
	s.opts.ReferenceDate = s.opts.ReferenceDate.UTC()
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	// The secret is derived from the seed so that the same seed and clock
	// give byte-identical policy JSON (signed URLs included). It guards a
	// training sandbox, not real documents.
	sum := sha256.Sum256(fmt.Appendf(nil, "kasko-sandbox-asset-secret/%d", opts.Seed))
	s.secret = sum[:]
	var rb [4]byte
	if _, err := rand.Read(rb[:]); err != nil {
		return nil, fmt.Errorf("sandbox: request id prefix: %w", err)
	}
	s.ridPrefix = "req_" + hex.EncodeToString(rb[:])
	useed := uint64(opts.Seed)
	s.faultRand = mrand.New(mrand.NewPCG(useed^0xfa017, useed+7))
	s.rng = mrand.New(mrand.NewPCG(useed^0x5eed, useed*31+1))
	s.keys, s.creds = demoKeys()
	cs, err := newCascoState(opts.Seed)
	if err != nil {
		return nil, err
	}
	s.casco = cs
	if err := s.seed(); err != nil {
		return nil, err
	}
	for i, wc := range opts.Webhooks {
		if _, err := s.AddWebhook(wc.SecretKey, wc.URL); err != nil {
			s.Close()
			return nil, fmt.Errorf("sandbox: webhook %d: %w", i+1, err)
		}
	}
	return s, nil
}

// SetFaults replaces the injected faults; it is safe while serving.
// Invalid values (negative latency, rates outside 0..1) are clamped.
func (s *Sandbox) SetFaults(f Faults) {
	f.CascoUnavailable = slices.Clone(f.CascoUnavailable)
	f.Latency = max(f.Latency, 0)
	f.ErrorRate = min(max(f.ErrorRate, 0), 1)
	f.MalformedRate = min(max(f.MalformedRate, 0), 1)
	s.faultsMu.Lock()
	s.faults = f
	s.faultsMu.Unlock()
}

// Faults returns the faults in force.
func (s *Sandbox) Faults() Faults {
	s.faultsMu.Lock()
	defer s.faultsMu.Unlock()
	f := s.faults
	f.CascoUnavailable = slices.Clone(f.CascoUnavailable)
	return f
}

// Calls reports how many requests reached a route, named as in the Route
// constants (e.g. RouteCancelPolicy, RoutePush). Requests answered with a
// fault or an auth error count too; unknown paths and wrong methods do not.
func (s *Sandbox) Calls(route string) int {
	s.callsMu.Lock()
	defer s.callsMu.Unlock()
	return s.calls[route]
}

// ReferenceDate is the moment the seeded history leads up to, in UTC:
// Options.ReferenceDate, or the start of the clock's day when New ran.
func (s *Sandbox) ReferenceDate() time.Time { return s.opts.ReferenceDate }

// Credentials lists the demo API keys.
func (s *Sandbox) Credentials() []Credential {
	out := make([]Credential, len(s.creds))
	copy(out, s.creds)
	return out
}

// Product is one seeded insurance product as a distributor's
// configuration knows it: the v2 policy object carries only product_id.
type Product struct {
	ProductID string `json:"product_id"`
	Name      string `json:"name"`
	Currency  string `json:"currency"`
	TimeZone  string `json:"time_zone"`
}

// Products lists the seeded products.
func (s *Sandbox) Products() []Product {
	out := make([]Product, 0, len(s.prods))
	for i := range s.prods {
		p := &s.prods[i]
		out = append(out, Product{ProductID: p.productID, Name: p.name, Currency: p.currency, TimeZone: p.zoneName})
	}
	return out
}

// reply is a complete answer, built before anything is written so that
// faults can replace it and panics can still become a clean 500.
type reply struct {
	status int
	header http.Header
	body   []byte
}

func (r *reply) set(k, v string) {
	if r.header == nil {
		r.header = make(http.Header)
	}
	r.header.Set(k, v)
}

// call carries what a handler needs about one request.
type call struct {
	r    *http.Request
	args []string
	base string // scheme://host of the sandbox as the client sees it
	now  time.Time
}

type family int

const (
	famKasko family = iota
	famPush
	famAssets
	famAdmin
	famCasco
)

type route struct {
	name    string
	methods []string
	fam     family
	match   func(segs []string) ([]string, bool)
	handle  func(*Sandbox, *call) reply
}

func (s *Sandbox) routes() []route {
	rs := []route{
		{RouteListPolicies, []string{"GET"}, famKasko, func(g []string) ([]string, bool) {
			return nil, len(g) == 2 && g[0] == "kasko" && g[1] == "policies"
		}, (*Sandbox).handleList},
		{RouteGetPolicy, []string{"GET"}, famKasko, func(g []string) ([]string, bool) {
			if len(g) != 3 || g[0] != "kasko" || g[1] != "policies" || g[2] == "" {
				return nil, false
			}
			return g[2:3], true
		}, (*Sandbox).handleGet},
		{RouteCancelPolicy, []string{"POST"}, famKasko, func(g []string) ([]string, bool) {
			if len(g) != 4 || g[0] != "kasko" || g[1] != "policies" || g[2] == "" || g[3] != "cancel" {
				return nil, false
			}
			return g[2:3], true
		}, (*Sandbox).handleCancel},
		{RouteVersionStatus, []string{"GET"}, famKasko, func(g []string) ([]string, bool) {
			ok := len(g) == 6 && g[0] == "kasko" && g[1] == "policies" && g[2] != "" && g[3] == "versions" && g[4] != "" && g[5] == "status"
			if !ok {
				return nil, false
			}
			return []string{g[2], g[4]}, true
		}, (*Sandbox).handleStatus},
		{RoutePush, []string{"POST"}, famPush, func(g []string) ([]string, bool) {
			return nil, len(g) == 2 && g[0] == "push" && g[1] == ""
		}, (*Sandbox).handlePush},
		{RoutePolicyAsset, []string{"GET"}, famAssets, func(g []string) ([]string, bool) {
			ok := len(g) == 5 && g[0] == "assets" && g[1] == "policies" && g[2] != "" && g[3] != "" && g[4] != ""
			if !ok {
				return nil, false
			}
			return g[2:5], true
		}, (*Sandbox).handlePolicyAsset},
		{RouteMediaAsset, []string{"GET"}, famAssets, func(g []string) ([]string, bool) {
			ok := len(g) == 5 && g[0] == "assets" && g[1] == "media" && g[2] != "" && g[3] != "" && g[4] != ""
			if !ok {
				return nil, false
			}
			return g[2:5], true
		}, (*Sandbox).handleMediaAsset},
		{RouteInfo, []string{"GET"}, famAdmin, func(g []string) ([]string, bool) {
			return nil, len(g) == 1 && g[0] == "_sandbox"
		}, (*Sandbox).handleInfo},
		{RouteFaults, []string{"PUT"}, famAdmin, func(g []string) ([]string, bool) {
			return nil, len(g) == 2 && g[0] == "_sandbox" && g[1] == "faults"
		}, (*Sandbox).handleFaults},
	}
	rs = append(rs, s.webhookRoutes()...)
	return append(rs, s.cascoRoutes()...)
}

// match finds the route for a request; when the path is known but the
// method is not, it returns the Allow value instead.
func (s *Sandbox) match(method, path string) (*route, []string, string) {
	segs := strings.Split(strings.TrimPrefix(path, "/"), "/")
	var allow []string
	routes := s.routes()
	for i := range routes {
		rt := &routes[i]
		args, ok := rt.match(segs)
		if !ok {
			continue
		}
		for _, m := range rt.methods {
			if m == method || (m == "GET" && method == http.MethodHead) {
				return rt, args, ""
			}
		}
		allow = append(allow, rt.methods...)
		if len(rt.methods) == 1 && rt.methods[0] == "GET" {
			allow = append(allow, "HEAD")
		}
	}
	return nil, nil, strings.Join(allow, ", ")
}

// ServeHTTP implements http.Handler.
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rid := fmt.Sprintf("%s%08x", s.ridPrefix, s.ridSeq.Add(1))
	w.Header().Set("X-Request-Id", rid)
	fam := famKasko
	if r.URL.Path == PushPrefix || strings.HasPrefix(r.URL.Path, PushPrefix+"/") {
		fam = famPush
	}
	if r.URL.Path == CascoPrefix || strings.HasPrefix(r.URL.Path, CascoPrefix+"/") {
		fam = famCasco
	}
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("sandbox: panic while serving", "request_id", rid, "route", r.URL.Path, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			writeReply(w, errorReply(fam, http.StatusInternalServerError, "Internal server error."))
		}
	}()
	rt, args, allow := s.match(r.Method, r.URL.Path)
	if rt == nil {
		if allow != "" {
			rep := errorReply(fam, http.StatusMethodNotAllowed, fmt.Sprintf("Method %s is not allowed here; allowed: %s.", r.Method, allow))
			rep.set("Allow", allow)
			writeReply(w, rep)
			return
		}
		writeReply(w, errorReply(fam, http.StatusNotFound, "No route matches "+r.Method+" "+r.URL.Path+"."))
		return
	}
	s.callsMu.Lock()
	s.calls[rt.name]++
	s.callsMu.Unlock()

	c := &call{r: r, args: args, base: s.baseURL(r), now: s.now()}
	if b := s.lastBase.Load(); b == nil || *b != c.base {
		base := c.base
		s.lastBase.Store(&base)
	}
	if rt.fam != famKasko && rt.fam != famPush && rt.fam != famCasco {
		writeReply(w, rt.handle(s, c))
		return
	}
	f := s.Faults()
	var rep reply
	if s.roll(f.ErrorRate) {
		rep = s.faultReply(rt.fam)
	} else {
		// The upstream acts first and answers late, as a slow real one
		// does: a client that gives up waiting has not undone the write
		// (the case the dashboard must survive), it only misses the answer.
		rep = rt.handle(s, c)
		if rep.status == http.StatusOK && s.roll(f.MalformedRate) {
			rep = s.malformed(rep)
		}
	}
	if f.Latency > 0 {
		t := time.NewTimer(f.Latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	writeReply(w, rep)
}

func (s *Sandbox) roll(rate float64) bool {
	if rate <= 0 {
		return false
	}
	s.faultsMu.Lock()
	defer s.faultsMu.Unlock()
	return s.faultRand.Float64() < rate
}

func (s *Sandbox) faultReply(fam family) reply {
	s.faultsMu.Lock()
	n := s.faultRand.IntN(3)
	s.faultsMu.Unlock()
	status := []int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable}[n]
	return errorReply(fam, status, "Injected fault: the upstream failed to answer.")
}

// malformed breaks a good answer the two ways proxies and crashing servers
// do: a JSON body cut short, or an HTML error page served as 200.
func (s *Sandbox) malformed(rep reply) reply {
	s.faultsMu.Lock()
	html := s.faultRand.IntN(2) == 0
	s.faultsMu.Unlock()
	out := reply{status: http.StatusOK}
	if html || len(rep.body) < 2 {
		out.set("Content-Type", "text/html; charset=utf-8")
		out.body = []byte("<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>\n")
		return out
	}
	out.set("Content-Type", "application/json")
	out.body = rep.body[:len(rep.body)/2]
	return out
}

func (s *Sandbox) baseURL(r *http.Request) string {
	if s.opts.BaseURL != "" {
		return s.opts.BaseURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func writeReply(w http.ResponseWriter, rep reply) {
	h := w.Header()
	for k, v := range rep.header {
		h[k] = v
	}
	if len(rep.body) > 0 && h.Get("Content-Type") == "" {
		h.Set("Content-Type", "application/json")
	}
	if rep.status != http.StatusNotModified {
		h.Set("Content-Length", fmt.Sprint(len(rep.body)))
	}
	w.WriteHeader(rep.status)
	if len(rep.body) > 0 {
		_, _ = w.Write(rep.body)
	}
}

// errorReply builds the family's error envelope: the KASKO REST
// {"status","message"}, the push API's {"errorMessage"} or CascoApi's
// {"error","status","message"}.
func errorReply(fam family, status int, msg string) reply {
	switch fam {
	case famPush:
		return pushError(status, msg)
	case famCasco:
		return cascoError(status, msg)
	}
	return kaskoError(status, msg)
}

func kaskoError(status int, msg string) reply {
	w := newJW(len(msg) + 48)
	w.open('{')
	w.str("status", http.StatusText(status))
	w.str("message", msg)
	w.close('}')
	return reply{status: status, body: w.b}
}

// pushError answers in the push API's envelope. Its messages lead with the
// reason phrase ("Bad Request: The 'vin' field is required.").
func pushError(status int, msg string) reply {
	text := http.StatusText(status)
	if msg != "" && msg != text {
		text += ": " + msg
	}
	w := newJW(len(text) + 24)
	w.open('{')
	w.str("errorMessage", text)
	w.close('}')
	return reply{status: status, body: w.b}
}

// readBody reads a request body up to the configured cap.
func (s *Sandbox) readBody(r *http.Request) ([]byte, bool) {
	if r.ContentLength > s.opts.MaxBodyBytes {
		return nil, false
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, s.opts.MaxBodyBytes+1))
	if err != nil || int64(len(b)) > s.opts.MaxBodyBytes {
		return nil, false
	}
	return b, true
}

func (s *Sandbox) tooLarge(fam family) reply {
	return errorReply(fam, http.StatusRequestEntityTooLarge, fmt.Sprintf("Request body exceeds %d bytes.", s.opts.MaxBodyBytes))
}
