package sandbox

import (
	"bytes"
	"container/heap"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Webhook events (contract §1.8).
const (
	EventPolicyCreated = "policy.created"
	EventPolicyUpdated = "policy.updated"
)

// Webhook delivery limits and defaults.
const (
	DefaultWebhookRetryBase    = time.Second
	DefaultWebhookMaxAttempts  = 6
	DefaultWebhookTimeout      = 10 * time.Second
	DefaultWebhookScanInterval = time.Second
	// MaxWebhooks bounds the registered endpoints, all scopes together.
	MaxWebhooks = 20
	// WebhookQueueSize bounds the deliveries waiting for a sender; an
	// event finding the queue full is dropped with a logged warning.
	WebhookQueueSize = 1024
	// DeliveryLogSize is how many deliveries Deliveries and GET /_sandbox
	// remember.
	DeliveryLogSize = 200
	webhookWorkers  = 4
	// maxWebhookRetries bounds the deliveries waiting for a retry.
	maxWebhookRetries = 4 * WebhookQueueSize
	webhookAgent      = "KASKO-Webhooks/1.0 (sandbox)"
	maxWebhookURL     = 2048
	// A receiver's answer is read only to reuse the connection; its
	// content does not matter.
	maxWebhookAnswer = 64 << 10
)

// Delivery states.
const (
	DeliveryPending   = "pending"   // queued, not tried yet
	DeliveryRetrying  = "retrying"  // failed, another attempt is scheduled
	DeliveryDelivered = "delivered" // a 2xx answer came
	DeliveryFailed    = "failed"    // every attempt failed, or the endpoint was removed
	DeliveryDropped   = "dropped"   // the queue was full, or the sandbox closed first
)

// WebhookConfig registers an endpoint at New (Options.Webhooks and
// SANDBOX_WEBHOOKS).
type WebhookConfig struct {
	SecretKey string // a demo secret key; its scope is the endpoint's
	URL       string
}

// Webhook is a registered endpoint. It receives the events of one scope
// (distributor and mode), signed with that scope's secret.
type Webhook struct {
	ID            string `json:"id"`
	URL           string `json:"url"`
	Secret        string `json:"secret"`
	Mode          string `json:"mode"` // "test" or "live"
	DistributorID string `json:"distributor_id"`
	scope         int
}

// Delivery is one event sent to one endpoint, with every attempt's outcome.
// Times are the sandbox clock's.
type Delivery struct {
	ID              string `json:"id"` // X-KASKO-Delivery, the same on every attempt
	Event           string `json:"event"`
	PolicyID        string `json:"policy_id"` // the KASKO id (tpol_/lpol_)
	InsurerPolicyID string `json:"insurer_policy_id"`
	WebhookID       string `json:"webhook_id"`
	URL             string `json:"url"`
	State           string `json:"state"`
	Delivered       bool   `json:"delivered"`
	Attempts        int    `json:"attempts"`
	// LastStatus is the HTTP status of the latest attempt; 0 when it got
	// no answer (LastError says why).
	LastStatus int    `json:"last_status"`
	LastError  string `json:"last_error,omitempty"`
	// Duplicates counts the extra copies sent by the WebhookDuplicates
	// fault.
	Duplicates    int        `json:"duplicates"`
	CreatedAt     time.Time  `json:"created_at"`
	LastAttemptAt *time.Time `json:"last_attempt_at"`
	NextAttemptAt *time.Time `json:"next_attempt_at"`
	DeliveredAt   *time.Time `json:"delivered_at"`
}

// delivery is a Delivery in flight; rec is guarded by hooks.mu.
type delivery struct {
	rec    Delivery
	body   []byte
	secret string
	dup    bool
}

// hooks is the sender side of webhooks. Its goroutines start with the
// first registered endpoint, so a sandbox that never has one never needs
// Close.
type hooks struct {
	active atomic.Bool // an endpoint exists: the cheap test on every settle

	mu        sync.Mutex
	endpoints []Webhook
	seq       int
	log       []*delivery // ring of the latest deliveries
	logNext   int
	started   bool
	closed    bool
	dropping  bool // the queue was full at the last try
	queue     chan *delivery
	kick      chan struct{}
	stop      chan struct{}
	ctx       context.Context // cancelled by Close, aborting requests in flight
	cancel    context.CancelFunc
	retries   map[*time.Timer]struct{}
	client    *http.Client
	transport *http.Transport
	wg        sync.WaitGroup

	// Under Sandbox.mu: the policies whose end date has not passed, by end
	// date, so that expiries are found without a scan of every policy.
	expiry expiryHeap
}

type expiryHeap []*policy

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].endDate < h[j].endDate }
func (h expiryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *expiryHeap) Push(x any)        { *h = append(*h, x.(*policy)) }
func (h *expiryHeap) Pop() any {
	old := *h
	p := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return p
}

func (o *Options) webhookDefaults() error {
	if o.WebhookRetryBase == 0 {
		o.WebhookRetryBase = DefaultWebhookRetryBase
	}
	if o.WebhookMaxAttempts == 0 {
		o.WebhookMaxAttempts = DefaultWebhookMaxAttempts
	}
	if o.WebhookTimeout == 0 {
		o.WebhookTimeout = DefaultWebhookTimeout
	}
	if o.WebhookScanInterval == 0 {
		o.WebhookScanInterval = DefaultWebhookScanInterval
	}
	switch {
	case o.WebhookRetryBase < 0 || o.WebhookRetryBase > time.Hour:
		return errors.New("sandbox: WebhookRetryBase must be within 0..1h")
	case o.WebhookMaxAttempts < 1 || o.WebhookMaxAttempts > 20:
		return errors.New("sandbox: WebhookMaxAttempts must be within 1..20")
	case o.WebhookTimeout < 0:
		return errors.New("sandbox: WebhookTimeout must not be negative")
	case o.WebhookScanInterval < time.Millisecond:
		return errors.New("sandbox: WebhookScanInterval must be at least 1ms")
	case len(o.Webhooks) > MaxWebhooks:
		return fmt.Errorf("sandbox: at most %d webhooks", MaxWebhooks)
	}
	return nil
}

// Registration errors of AddWebhook.
var (
	ErrWebhookKey    = errors.New("webhooks are registered with a secret key (sk_test_… or sk_live_…)")
	ErrWebhookURL    = errors.New("the url must be an absolute http or https URL")
	ErrWebhookLimit  = fmt.Errorf("at most %d webhook endpoints can be registered", MaxWebhooks)
	ErrWebhookClosed = errors.New("the sandbox is closed")
)

func validWebhookURL(raw string) bool {
	if raw == "" || len(raw) > maxWebhookURL {
		return false
	}
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.Hostname() != "" && u.Fragment == "" && u.User == nil
}

// AddWebhook registers an endpoint for the events of secretKey's scope
// (its distributor and mode); a public or unknown key is an error. The
// first endpoint starts the delivery goroutines, which Close stops.
func (s *Sandbox) AddWebhook(secretKey, rawURL string) (Webhook, error) {
	k, ok := s.keys[secretKey]
	if !ok || k.public {
		return Webhook{}, ErrWebhookKey
	}
	if !validWebhookURL(rawURL) {
		return Webhook{}, ErrWebhookURL
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	h := &s.hooks
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.closed:
		return Webhook{}, ErrWebhookClosed
	case len(h.endpoints) >= MaxWebhooks:
		return Webhook{}, ErrWebhookLimit
	}
	h.seq++
	sc := s.scopes[k.scope]
	wh := Webhook{
		ID:            hexID("wh_", 32, fmt.Sprint(s.opts.Seed), "webhook", fmt.Sprint(h.seq)),
		URL:           rawURL,
		Secret:        sc.webhookSecret,
		Mode:          k.cred.Mode,
		DistributorID: sc.distributorID,
		scope:         k.scope,
	}
	h.endpoints = append(h.endpoints, wh)
	h.active.Store(true)
	if !h.started {
		s.startHooksLocked()
	}
	return wh, nil
}

// RemoveWebhook unregisters an endpoint; its deliveries still waiting for a
// retry end as failed. It reports whether the id was registered.
func (s *Sandbox) RemoveWebhook(id string) bool {
	h := &s.hooks
	h.mu.Lock()
	defer h.mu.Unlock()
	for i, wh := range h.endpoints {
		if wh.ID == id {
			h.endpoints = append(h.endpoints[:i], h.endpoints[i+1:]...)
			h.active.Store(len(h.endpoints) > 0 && !h.closed)
			return true
		}
	}
	return false
}

// Webhooks lists the registered endpoints, oldest first.
func (s *Sandbox) Webhooks() []Webhook {
	h := &s.hooks
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Webhook{}, h.endpoints...)
}

// Deliveries lists the latest DeliveryLogSize deliveries, newest first.
func (s *Sandbox) Deliveries() []Delivery {
	h := &s.hooks
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]Delivery, 0, len(h.log))
	for i := range len(h.log) {
		d := h.log[(h.logNext-1-i+2*len(h.log))%len(h.log)]
		out = append(out, d.rec.clone())
	}
	return out
}

func (d Delivery) clone() Delivery {
	for _, t := range []**time.Time{&d.LastAttemptAt, &d.NextAttemptAt, &d.DeliveredAt} {
		if *t != nil {
			v := **t
			*t = &v
		}
	}
	return d
}

// Close stops the webhook goroutines, aborting deliveries in flight and
// dropping those still queued. The API keeps answering; no webhook is sent
// any more. Calling it again does nothing.
func (s *Sandbox) Close() error {
	h := &s.hooks
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	h.active.Store(false)
	started := h.started
	if started {
		close(h.stop)
		h.cancel()
		for t := range h.retries {
			t.Stop()
		}
		clear(h.retries)
	}
	h.mu.Unlock()
	if !started {
		return nil
	}
	h.wg.Wait()
	h.mu.Lock()
	for drained := false; !drained; {
		select {
		case d := <-h.queue:
			h.dropLocked(d, "the sandbox closed")
		default:
			drained = true
		}
	}
	for _, d := range h.log {
		if d.rec.State == DeliveryRetrying {
			h.dropLocked(d, "the sandbox closed")
		}
	}
	h.mu.Unlock()
	h.transport.CloseIdleConnections()
	return nil
}

func (h *hooks) dropLocked(d *delivery, why string) {
	d.rec.State = DeliveryDropped
	d.rec.LastError = why
	d.rec.NextAttemptAt = nil
}

// startHooksLocked starts the senders and the scheduler. Callers hold s.mu
// and s.hooks.mu.
func (s *Sandbox) startHooksLocked() {
	h := &s.hooks
	h.started = true
	h.queue = make(chan *delivery, WebhookQueueSize)
	h.kick = make(chan struct{}, 1)
	h.stop = make(chan struct{})
	h.ctx, h.cancel = context.WithCancel(context.Background())
	h.retries = make(map[*time.Timer]struct{})
	h.log = make([]*delivery, 0, DeliveryLogSize)
	// A transport of its own: no proxy from the environment, and Close
	// can shut its idle connections so that no goroutine outlives it.
	h.transport = &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout: 5 * time.Second,
		MaxIdleConns:        16,
		MaxIdleConnsPerHost: webhookWorkers,
		IdleConnTimeout:     30 * time.Second,
	}
	h.client = &http.Client{
		Transport: h.transport,
		// The contract counts a 3xx as a failed delivery: never follow.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	now := s.now()
	for _, sc := range s.scopes {
		for _, p := range sc.policies {
			if p.endDate != 0 && !p.expired(now) {
				h.expiry = append(h.expiry, p)
			}
		}
	}
	heap.Init(&h.expiry)
	h.wg.Add(webhookWorkers + 1)
	for range webhookWorkers {
		go s.sendLoop()
	}
	go s.scheduleLoop()
}

// watchExpiry adds a new policy to the expiry watch. Callers hold s.mu,
// which guards hooks.started as well as hooks.mu does.
func (s *Sandbox) watchExpiry(p *policy, now time.Time) {
	if p.endDate != 0 && !p.expired(now) && s.hooks.started {
		heap.Push(&s.hooks.expiry, p)
	}
}

// wake makes the scheduler look at the due cancellations again (a new one
// may be due before its next timer). Callers may hold s.mu.
func (h *hooks) wake() {
	if !h.active.Load() {
		return
	}
	select {
	case h.kick <- struct{}{}:
	default:
	}
}

// scheduleLoop completes cancellations when they are due and finds
// policies whose end date passed, emitting policy.updated for each. A
// timer at the next due time makes completions real time; the periodic
// scan also catches a fake clock moved by a test.
func (s *Sandbox) scheduleLoop() {
	h := &s.hooks
	defer h.wg.Done()
	tick := time.NewTicker(s.opts.WebhookScanInterval)
	defer tick.Stop()
	due := time.NewTimer(time.Hour)
	defer due.Stop()
	for {
		if next, ok := s.sweep(); ok {
			due.Reset(next)
		} else {
			due.Stop()
		}
		select {
		case <-h.stop:
			return
		case <-tick.C:
		case <-due.C:
		case <-h.kick:
		}
	}
}

// sweep settles what is due and emits expiries; it returns the wait until
// the next pending cancellation by the sandbox clock.
func (s *Sandbox) sweep() (time.Duration, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.settle(now)
	h := &s.hooks
	for len(h.expiry) > 0 && h.expiry[0].expired(now) {
		p := heap.Pop(&h.expiry).(*policy)
		s.emitLocked(EventPolicyUpdated, p, now)
	}
	var next time.Duration
	found := false
	for p := range s.pending {
		if p.op == nil {
			continue
		}
		if d := p.op.dueAt.Sub(now); !found || d < next {
			next, found = d, true
		}
	}
	return max(next, 0), found
}

// emitLocked queues event for every endpoint of p's scope. It never
// blocks: the request that caused the event must not wait for receivers.
// Callers hold s.mu.
func (s *Sandbox) emitLocked(event string, p *policy, now time.Time) {
	h := &s.hooks
	if !h.active.Load() {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	var body []byte
	dup := false
	for _, wh := range h.endpoints {
		if wh.scope != int(p.scope) {
			continue
		}
		if body == nil {
			body = s.webhookPayload(p, now)
			dup = s.Faults().WebhookDuplicates
		}
		d := &delivery{
			rec: Delivery{
				ID: newDeliveryID(), Event: event, PolicyID: p.id, InsurerPolicyID: p.insurerID,
				WebhookID: wh.ID, URL: wh.URL, State: DeliveryPending, CreatedAt: now,
			},
			body: body, secret: wh.Secret, dup: dup,
		}
		h.remember(d)
		h.enqueueLocked(d, s)
	}
}

func (h *hooks) remember(d *delivery) {
	if len(h.log) < DeliveryLogSize {
		h.log = append(h.log, d)
		h.logNext = len(h.log) % DeliveryLogSize
		return
	}
	h.log[h.logNext] = d
	h.logNext = (h.logNext + 1) % DeliveryLogSize
}

func (h *hooks) enqueueLocked(d *delivery, s *Sandbox) {
	select {
	case h.queue <- d:
		h.dropping = false
	default:
		h.dropLocked(d, "the delivery queue was full")
		// One warning per burst: a fake clock moved a year ahead expires
		// thousands of policies at once.
		if !h.dropping {
			h.dropping = true
			s.log.Warn("sandbox: webhook queue full, deliveries dropped until it drains", "delivery", d.rec.ID, "event", d.rec.Event, "policy_id", d.rec.PolicyID, "url", d.rec.URL)
		}
	}
}

func newDeliveryID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand since Go 1.24)
	return hex.EncodeToString(b[:])
}

// webhookBase is the base URL of links in payloads: BaseURL, else the
// address the latest request came to (an event may happen between
// requests).
func (s *Sandbox) webhookBase() string {
	if s.opts.BaseURL != "" {
		return s.opts.BaseURL
	}
	if b := s.lastBase.Load(); b != nil {
		return *b
	}
	return "http://127.0.0.1"
}

// webhookPayload builds the contract's payload: policy_id is the insurer
// policy id, assets carry signed hrefs, and the link key is "self".
// Callers hold s.mu.
func (s *Sandbox) webhookPayload(p *policy, now time.Time) []byte {
	base := s.webhookBase()
	pr := &s.prods[p.product]
	_, tax, gross := p.gross(s.prods)
	bucket := s.bucket(now)
	utc := time.UTC
	w := newJW(1536)
	w.open('{')
	w.str("id", p.id)
	w.bool("livemode", s.scopes[p.scope].live)
	w.str("policy_id", p.insurerID)
	w.str("product_id", pr.productID)
	w.str("first_name", p.firstName)
	w.str("last_name", p.lastName)
	w.str("email", p.email)
	created := p.acceptedAt
	if created == 0 {
		created = p.createdAt
	}
	w.time("policy_created_date", created, utc)
	w.time("start_date", p.startDate, utc)
	w.time("end_date", p.endDate, utc)
	w.int("gross_premium", gross)
	w.int("premium_tax", tax)
	s.writeMetadata(w, p)
	w.arr("assets")
	for _, a := range assetDefs {
		if p.assets&a.bit == 0 {
			continue
		}
		w.elemObj()
		w.str("designation", a.designation)
		w.str("name", a.name)
		w.str("extension", "pdf")
		w.str("href", s.signedURL(base, AssetPrefix+"/policies/"+p.id+"/"+a.designation+"/"+assetFile(a, p), bucket))
		w.close('}')
	}
	w.close(']')
	w.obj("_links")
	w.obj("self")
	w.str("href", base+KaskoPrefix+"/policies/"+p.id)
	w.close('}')
	w.close('}')
	w.close('}')
	return w.b
}

// WebhookSignature is the X-KASKO-Signature value of body under secret.
func WebhookSignature(secret string, body []byte) string {
	m := hmac.New(sha1.New, []byte(secret))
	m.Write(body)
	return "sha1=" + hex.EncodeToString(m.Sum(nil))
}

func (s *Sandbox) sendLoop() {
	h := &s.hooks
	defer h.wg.Done()
	for {
		select {
		case <-h.stop:
			return
		case d := <-h.queue:
			s.attempt(d)
		}
	}
}

func (s *Sandbox) registered(id string) bool {
	h := &s.hooks
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, wh := range h.endpoints {
		if wh.ID == id {
			return true
		}
	}
	return false
}

// attempt makes one try of a delivery and schedules the next on failure.
func (s *Sandbox) attempt(d *delivery) {
	h := &s.hooks
	if !s.registered(d.rec.WebhookID) {
		h.mu.Lock()
		d.rec.State = DeliveryFailed
		d.rec.LastError = "the endpoint was removed"
		d.rec.NextAttemptAt = nil
		h.mu.Unlock()
		return
	}
	status, err := s.post(d)
	now := s.now()
	h.mu.Lock()
	d.rec.Attempts++
	d.rec.LastAttemptAt = &now
	d.rec.NextAttemptAt = nil
	d.rec.LastStatus = status
	d.rec.LastError = ""
	switch {
	case err != nil:
		d.rec.LastError = err.Error()
	case status < 200 || status > 299:
		d.rec.LastError = fmt.Sprintf("answered %d %s", status, http.StatusText(status))
	}
	ok := err == nil && status >= 200 && status <= 299
	switch {
	case ok:
		d.rec.State = DeliveryDelivered
		d.rec.Delivered = true
		d.rec.DeliveredAt = &now
	case h.closed:
		h.dropLocked(d, "the sandbox closed")
	case d.rec.Attempts >= s.opts.WebhookMaxAttempts:
		d.rec.State = DeliveryFailed
		s.log.Warn("sandbox: webhook delivery failed", "delivery", d.rec.ID, "event", d.rec.Event, "url", d.rec.URL, "attempts", d.rec.Attempts, "error", d.rec.LastError)
	case len(h.retries) >= maxWebhookRetries:
		// Waiting retries live in timers, not in the queue: bound them
		// too, or a dead endpoint under a push storm grows them forever.
		h.dropLocked(d, d.rec.LastError+"; too many deliveries waiting for a retry")
		s.log.Warn("sandbox: webhook retry dropped, too many waiting", "delivery", d.rec.ID, "url", d.rec.URL)
	default:
		d.rec.State = DeliveryRetrying
		wait := s.opts.WebhookRetryBase << (d.rec.Attempts - 1)
		next := now.Add(wait)
		d.rec.NextAttemptAt = &next
		var t *time.Timer
		// The callback locks h.mu first, so it sees t assigned below.
		t = time.AfterFunc(wait, func() {
			h.mu.Lock()
			defer h.mu.Unlock()
			if h.closed {
				return
			}
			delete(h.retries, t)
			h.enqueueLocked(d, s)
		})
		h.retries[t] = struct{}{}
	}
	dup := ok && d.dup
	h.mu.Unlock()
	if dup {
		// The duplicate's own outcome is not tracked: the receiver has
		// the delivery already.
		if _, err := s.post(d); err == nil {
			h.mu.Lock()
			d.rec.Duplicates++
			h.mu.Unlock()
		}
	}
}

// post sends one copy and returns the answer's status.
func (s *Sandbox) post(d *delivery) (int, error) {
	h := &s.hooks
	ctx, cancel := context.WithTimeout(h.ctx, s.opts.WebhookTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.rec.URL, bytes.NewReader(d.body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", webhookAgent)
	req.Header.Set("X-KASKO-Event", d.rec.Event)
	req.Header.Set("X-KASKO-Delivery", d.rec.ID)
	req.Header.Set("X-KASKO-Signature", WebhookSignature(d.secret, d.body))
	res, err := h.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("no answer within %v", s.opts.WebhookTimeout)
		}
		return 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, maxWebhookAnswer))
	res.Body.Close()
	return res.StatusCode, nil
}

func (s *Sandbox) webhookRoutes() []route {
	return []route{
		{RouteAddWebhook, []string{"POST"}, famAdmin, func(g []string) ([]string, bool) {
			return nil, len(g) == 2 && g[0] == "_sandbox" && g[1] == "webhooks"
		}, (*Sandbox).handleAddWebhook},
		{RouteDeleteWebhook, []string{"DELETE"}, famAdmin, func(g []string) ([]string, bool) {
			if len(g) != 3 || g[0] != "_sandbox" || g[1] != "webhooks" || g[2] == "" {
				return nil, false
			}
			return g[2:3], true
		}, (*Sandbox).handleDeleteWebhook},
	}
}

// handleAddWebhook serves POST /_sandbox/webhooks: a secret key (as the
// KASKO API takes it) and {"url": "…"}; 201 with the endpoint.
func (s *Sandbox) handleAddWebhook(c *call) reply {
	k, ok := s.authenticate(c.r)
	if !ok {
		return unauthorized()
	}
	if k.public {
		return forbidden()
	}
	body, ok := s.readBody(c.r)
	if !ok {
		return s.tooLarge(famAdmin)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var in struct {
		URL *string `json:"url"`
	}
	if err := dec.Decode(&in); err != nil {
		return kaskoError(http.StatusBadRequest, "The request body is not valid JSON: "+strings.TrimPrefix(err.Error(), "json: "))
	}
	if in.URL == nil || *in.URL == "" {
		return kaskoError(http.StatusBadRequest, "The url field is required.")
	}
	wh, err := s.AddWebhook(k.cred.Key, *in.URL)
	switch {
	case errors.Is(err, ErrWebhookURL):
		return kaskoError(http.StatusBadRequest, "The url field must be an absolute http or https URL.")
	case errors.Is(err, ErrWebhookLimit):
		return kaskoError(http.StatusBadRequest, fmt.Sprintf("At most %d webhook endpoints can be registered.", MaxWebhooks))
	case errors.Is(err, ErrWebhookClosed):
		return kaskoError(http.StatusServiceUnavailable, "The sandbox is closed.")
	case err != nil:
		return kaskoError(http.StatusBadRequest, err.Error()+".")
	}
	b, err := json.Marshal(wh)
	if err != nil {
		return kaskoError(http.StatusInternalServerError, "Could not encode the webhook.")
	}
	rep := jsonOK(http.StatusCreated, b)
	rep.set("Location", c.base+AdminPath+"/webhooks/"+wh.ID)
	return rep
}

// handleDeleteWebhook serves DELETE /_sandbox/webhooks/{id}: a secret key
// of the endpoint's scope; another scope's endpoint is not found.
func (s *Sandbox) handleDeleteWebhook(c *call) reply {
	k, ok := s.authenticate(c.r)
	if !ok {
		return unauthorized()
	}
	if k.public {
		return forbidden()
	}
	id := c.args[0]
	notFound := kaskoError(http.StatusNotFound, fmt.Sprintf("Webhook of id: %q not found.", id))
	for _, wh := range s.Webhooks() {
		if wh.ID == id && wh.scope != k.scope {
			return notFound
		}
	}
	if !s.RemoveWebhook(id) {
		return notFound
	}
	return reply{status: http.StatusNoContent}
}
