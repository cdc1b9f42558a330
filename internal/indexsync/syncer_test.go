package indexsync

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"backoffice/apiclient"
	kasko "backoffice/apiclient/kasko"
	"backoffice/internal/index"
	"backoffice/internal/sandbox"
	"backoffice/internal/sandbox/sandboxtest"
)

// The demo keys' tenants, as audit.KaskoTenant names them (checked in
// TestTenantOf).
const (
	tenantATest = "kasko:" + sandbox.DistributorAID + ":test"
	tenantALive = "kasko:" + sandbox.DistributorAID + ":live"
	tenantBTest = "kasko:" + sandbox.DistributorBID + ":test"
)

// countingRT counts the list requests by sort order and can answer in
// the upstream's place (fault injection the sandbox does not offer).
type countingRT struct {
	base http.RoundTripper
	mu   sync.Mutex
	n    map[string]int // "created_at", "-created_at", "" (resolve)
	// before, when set, sees each list request with its running count
	// and may answer it instead of the upstream.
	before func(sort string, n int) *http.Response
}

func (c *countingRT) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, "/policies") {
		sort := r.URL.Query().Get("sort")
		c.mu.Lock()
		if c.n == nil {
			c.n = map[string]int{}
		}
		c.n[sort]++
		n := c.n[sort]
		before := c.before
		c.mu.Unlock()
		if before != nil {
			if resp := before(sort, n); resp != nil {
				resp.Request = r
				return resp, nil
			}
		}
	}
	return c.base.RoundTrip(r)
}

func (c *countingRT) count(sort string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[sort]
}

type env struct {
	srv   *sandboxtest.Server
	store *memStore
}

func newEnv(t testing.TB, policies int) *env {
	t.Helper()
	clk := &tickingClock{t: time.Now()}
	return newEnvWith(t, sandbox.Options{Policies: policies, Now: clk.Now})
}

func newEnvWith(t testing.TB, opts sandbox.Options) *env {
	t.Helper()
	return &env{srv: sandboxtest.Start(t, opts), store: newMemStore()}
}

// tickingClock moves a second on every reading, so that policies pushed
// in quick succession have distinct creation times, as they would when
// sent by people: the upstream orders equal times by id, at random.
type tickingClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *tickingClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

func (e *env) client(t testing.TB, rt http.RoundTripper) *kasko.Client {
	t.Helper()
	c, err := kasko.New(e.srv.KaskoURL, kasko.WithHTTPClient(&http.Client{Transport: rt}))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// fastConfig is a config that makes the tests quick: no rate to speak
// of, short backoff and lease.
func (e *env) fastConfig(t testing.TB, rt http.RoundTripper, keys ...string) Config {
	return Config{
		Store: e.store, Client: e.client(t, rt), Keys: keys,
		Rate: 5000, PollEvery: time.Hour, ReconcileEvery: 24 * time.Hour, LeaseTTL: time.Second,
		BackoffMin: 2 * time.Millisecond, BackoffMax: 20 * time.Millisecond, AuthRetry: time.Hour,
		Log: testLogger(t),
	}
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

// start runs a syncer until the test ends or stop is called; stop waits
// for Run to return.
func start(t testing.TB, cfg Config) (s *Syncer, stop func()) {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Run(ctx)
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Error("Run did not return after its context ended")
			}
		})
	}
	t.Cleanup(stop)
	return s, stop
}

func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (e *env) waitSynced(t testing.TB, tenant string) index.SyncState {
	t.Helper()
	return e.waitSyncedWithin(t, 60*time.Second, tenant)
}

func (e *env) waitSyncedWithin(t testing.TB, d time.Duration, tenant string) index.SyncState {
	t.Helper()
	waitFor(t, d, "full sync of "+tenant, func() bool {
		st := e.store.state(tenant)
		return !st.FullDone.IsZero() && !st.Full
	})
	return e.store.state(tenant)
}

func (e *env) upstreamTotal(t testing.TB, key string) int {
	t.Helper()
	p, err := e.client(t, http.DefaultTransport).WithKey(key).ListPolicies(context.Background(), kasko.ListParams{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	return p.Meta.Total
}

func TestFullSyncEveryKey(t *testing.T) {
	e := newEnv(t, 2500)
	rt := &countingRT{base: http.DefaultTransport}
	s, _ := start(t, e.fastConfig(t, rt, sandbox.KeyASecretTest, sandbox.KeyASecretLive, sandbox.KeyBSecretTest))
	seen := map[string]string{}
	for _, tc := range []struct{ key, tenant string }{
		{sandbox.KeyASecretTest, tenantATest},
		{sandbox.KeyASecretLive, tenantALive},
		{sandbox.KeyBSecretTest, tenantBTest},
	} {
		st := e.waitSynced(t, tc.tenant)
		want := e.upstreamTotal(t, tc.key)
		if got := e.store.count(tc.tenant); got != want {
			t.Errorf("%s: %d rows, upstream reports %d", tc.tenant, got, want)
		}
		if st.Total != want || st.Done != want || st.Error != "" || st.Cursor != "" || st.FullStarted.IsZero() {
			t.Errorf("%s: state %+v", tc.tenant, st)
		}
		if k, ok := s.Key(tc.tenant); !ok || k != tc.key {
			t.Errorf("Key(%s) = %s, %v", tc.tenant, apiclient.MaskKey(k), ok)
		}
		// Isolation: every row is one the tenant's key can see, and no
		// id appears under two tenants.
		c := e.client(t, http.DefaultTransport).WithKey(tc.key)
		for i, id := range e.store.ids(tc.tenant) {
			if other, dup := seen[id]; dup {
				t.Fatalf("%s is under %s and %s", id, other, tc.tenant)
			}
			seen[id] = tc.tenant
			if i < 5 {
				if _, err := c.GetPolicy(context.Background(), id); err != nil {
					t.Errorf("%s: row %s not visible to its key: %v", tc.tenant, id, err)
				}
			}
		}
	}
	if got := s.Tenants(); len(got) != 3 {
		t.Errorf("Tenants() = %v", got)
	}
	fx, err := e.store.Get(context.Background(), tenantATest, sandbox.FixturePolicyID)
	if err != nil {
		t.Fatal(err)
	}
	if fx.InsurerID != sandbox.FixtureInsurerPolicyID || fx.Email == "" || fx.Zone == "" || fx.CreatedDay == "" || fx.Version == "" {
		t.Errorf("fixture row: %+v", fx)
	}
	if _, err := e.store.Get(context.Background(), tenantBTest, sandbox.FixturePolicyID); !errors.Is(err, index.ErrNotFound) {
		t.Errorf("tenant B holds tenant A's fixture: %v", err)
	}
}

func TestResumeAfterKill(t *testing.T) {
	e := newEnv(t, 2500)
	total := e.upstreamTotal(t, sandbox.KeyASecretTest)
	pages := total/DefaultPageSize + 1

	var stop func()
	killed := make(chan struct{})
	rt1 := &countingRT{base: http.DefaultTransport}
	rt1.before = func(sort string, n int) *http.Response {
		if sort == "created_at" && n == 8 {
			close(killed)
		}
		return nil
	}
	_, stop = start(t, e.fastConfig(t, rt1, sandbox.KeyASecretTest))
	<-killed
	stop()
	st := e.store.state(tenantATest)
	if !st.Full || st.Cursor == "" || st.Done == 0 || st.Done >= total {
		t.Fatalf("after the kill: %+v", st)
	}
	started := st.FullStarted
	t.Logf("killed after %d rows (cursor %s)", st.Done, st.Cursor)

	rt2 := &countingRT{base: http.DefaultTransport}
	start(t, e.fastConfig(t, rt2, sandbox.KeyASecretTest))
	st = e.waitSynced(t, tenantATest)
	if got := e.store.count(tenantATest); got != total {
		t.Errorf("%d rows, upstream reports %d", got, total)
	}
	if !st.FullStarted.Equal(started) {
		t.Errorf("FullStarted changed on resume: %v, then %v", started, st.FullStarted)
	}
	requests := rt1.count("created_at") + rt2.count("created_at")
	if requests > pages+1 {
		t.Errorf("%d full-sync page requests in all; one pass is %d", requests, pages)
	}
	t.Logf("full-sync pages: %d before the kill, %d after (one pass: %d)", rt1.count("created_at"), rt2.count("created_at"), pages)
}

func TestCursorGoneRestarts(t *testing.T) {
	e := newEnv(t, 600)
	started := time.Now().Add(-time.Hour).Truncate(time.Second)
	if err := e.store.SaveSyncState(context.Background(), index.SyncState{
		Tenant: tenantATest, Full: true, Cursor: "TEST-GONE-ROW", Done: 300, FullStarted: started,
	}); err != nil {
		t.Fatal(err)
	}
	start(t, e.fastConfig(t, &countingRT{base: http.DefaultTransport}, sandbox.KeyASecretTest))
	st := e.waitSynced(t, tenantATest)
	want := e.upstreamTotal(t, sandbox.KeyASecretTest)
	if got := e.store.count(tenantATest); got != want || st.Done != want {
		t.Errorf("%d rows (done %d), upstream reports %d", got, st.Done, want)
	}
	if !st.FullStarted.Equal(started) {
		t.Errorf("FullStarted %v, want the interrupted sync's %v", st.FullStarted, started)
	}
}

func TestBackoffOnFaults(t *testing.T) {
	e := newEnv(t, 1500)
	e.srv.Sandbox.SetFaults(sandbox.Faults{ErrorRate: 0.3, MalformedRate: 0.1})
	rt := &countingRT{base: http.DefaultTransport}
	start(t, e.fastConfig(t, rt, sandbox.KeyASecretTest, sandbox.KeyBSecretTest))
	for _, tenant := range []string{tenantATest, tenantBTest} {
		e.waitSynced(t, tenant)
		// The head poll right after may fail too; its success clears it.
		waitFor(t, 10*time.Second, "the error to be cleared", func() bool { return e.store.state(tenant).Error == "" })
	}
	e.srv.Sandbox.SetFaults(sandbox.Faults{})
	for key, tenant := range map[string]string{sandbox.KeyASecretTest: tenantATest, sandbox.KeyBSecretTest: tenantBTest} {
		if got, want := e.store.count(tenant), e.upstreamTotal(t, key); got != want {
			t.Errorf("%s: %d rows, upstream reports %d", tenant, got, want)
		}
	}
	errs := e.store.errorsSeen()
	if len(errs) == 0 {
		t.Fatal("no failure was recorded in the sync state")
	}
	for _, msg := range errs {
		if strings.Contains(msg, sandbox.KeyASecretTest) || strings.Contains(msg, sandbox.KeyBSecretTest) {
			t.Fatalf("a key in the sync state: %s", msg)
		}
	}
	t.Logf("%d failures recorded, e.g. %q; %d full-sync requests", len(errs), errs[0], rt.count("created_at"))
}

func TestBackoffOn429(t *testing.T) {
	e := newEnv(t, 400)
	rt := &countingRT{base: http.DefaultTransport}
	rt.before = func(sort string, n int) *http.Response {
		if sort == "created_at" && n <= 3 {
			return &http.Response{
				StatusCode: http.StatusTooManyRequests,
				Header:     http.Header{"Content-Type": {"application/json"}, "Retry-After": {"0"}},
				Body:       io.NopCloser(strings.NewReader(`{"status":"Too Many Requests","message":"Slow down."}`)),
			}
		}
		return nil
	}
	start(t, e.fastConfig(t, rt, sandbox.KeyASecretTest))
	e.waitSynced(t, tenantATest)
	if got, want := e.store.count(tenantATest), e.upstreamTotal(t, sandbox.KeyASecretTest); got != want {
		t.Errorf("%d rows, upstream reports %d", got, want)
	}
	errs := e.store.errorsSeen()
	if len(errs) < 3 || !strings.Contains(errs[0], "429") {
		t.Errorf("recorded failures: %q", errs)
	}
}

type retryAfterErr struct{ d time.Duration }

func (e retryAfterErr) Error() string             { return "slow down" }
func (e retryAfterErr) RetryAfter() time.Duration { return e.d }

func TestBackoffBounds(t *testing.T) {
	s, err := New(Config{Store: newMemStore(), Client: &kasko.Client{}})
	if err != nil {
		t.Fatal(err)
	}
	plain := errors.New("boom")
	for f := 1; f <= 40; f++ {
		want := min(DefaultBackoffMin<<min(f-1, 20), DefaultBackoffMax)
		for range 20 {
			d := s.backoff(f, plain)
			if d < want/2 || d > want {
				t.Fatalf("failure %d: %v outside [%v, %v]", f, d, want/2, want)
			}
		}
	}
	if d := s.backoff(1, fmt.Errorf("wrapped: %w", retryAfterErr{90 * time.Second})); d != 90*time.Second {
		t.Errorf("Retry-After 90s: waited %v", d)
	}
	if d := s.backoff(1, retryAfterErr{48 * time.Hour}); d != maxRetryAfter {
		t.Errorf("Retry-After 48h: waited %v, want the cap %v", d, maxRetryAfter)
	}
}

func TestLeaseOneSyncs(t *testing.T) {
	e := newEnv(t, 1200)
	rt1 := &countingRT{base: http.DefaultTransport}
	rt2 := &countingRT{base: http.DefaultTransport}
	cfg1 := e.fastConfig(t, rt1, sandbox.KeyASecretTest)
	cfg1.Holder, cfg1.PollEvery = "one", 20*time.Millisecond
	cfg2 := e.fastConfig(t, rt2, sandbox.KeyASecretTest)
	cfg2.Holder, cfg2.PollEvery = "two", 20*time.Millisecond
	s1, stop1 := start(t, cfg1)
	s2, stop2 := start(t, cfg2)
	e.waitSynced(t, tenantATest)
	time.Sleep(100 * time.Millisecond)
	full1, full2 := rt1.count("created_at"), rt2.count("created_at")
	if (full1 == 0) == (full2 == 0) {
		t.Fatalf("full-sync pages: %d by one, %d by two; want exactly one syncer", full1, full2)
	}
	holder, other, otherRT, stopHolder := s1, s2, rt2, stop1
	if full1 == 0 {
		holder, other, otherRT, stopHolder = s2, s1, rt1, stop2
	}
	if !holder.Holding() || other.Holding() {
		t.Fatalf("Holding: holder %v, other %v", holder.Holding(), other.Holding())
	}
	// Both resolved the tenant: either can take a webhook.
	if _, ok := other.Key(tenantATest); !ok {
		t.Error("the instance without the lease did not resolve its key")
	}
	if otherRT.count("-created_at") != 0 {
		t.Errorf("the instance without the lease polled %d times", otherRT.count("-created_at"))
	}
	// The lease passes on when its holder stops.
	stopHolder()
	waitFor(t, 5*time.Second, "the second syncer to take over", other.Holding)
	polls := otherRT.count("-created_at")
	waitFor(t, 5*time.Second, "the second syncer to poll", func() bool { return otherRT.count("-created_at") > polls })
}

func pushPolicy(t testing.TB, srv *sandboxtest.Server, key string, i int) {
	t.Helper()
	body := fmt.Sprintf(`{"variant_id":%q,"input":{"first_name":"Jörg","last_name":"Push%d","email":"push%d@example.com","data":{"start_date":"2026-12-01","vin":"WVWZZZ1KZ8W%06d"}}}`,
		sandbox.ARAGVariantID, i, i, i)
	req, err := http.NewRequest(http.MethodPost, srv.PushURL+"/", bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(key, "")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("push: %d %s", resp.StatusCode, b)
	}
}

func TestHeadPollPicksUpPushes(t *testing.T) {
	e := newEnv(t, 800)
	rt := &countingRT{base: http.DefaultTransport}
	s, _ := start(t, e.fastConfig(t, rt, sandbox.KeyASecretTest))
	e.waitSynced(t, tenantATest)
	total := e.upstreamTotal(t, sandbox.KeyASecretTest)
	waitFor(t, 5*time.Second, "the first head poll", func() bool { return !e.store.state(tenantATest).Polled.IsZero() })

	pushPolicy(t, e.srv, sandbox.KeyASecretTest, 1)
	s.Poke(tenantATest)
	waitFor(t, 5*time.Second, "the pushed policy", func() bool { return e.store.count(tenantATest) == total+1 })
	head, err := e.client(t, http.DefaultTransport).WithKey(sandbox.KeyASecretTest).ListPolicies(context.Background(), kasko.ListParams{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	row, err := e.store.Get(context.Background(), tenantATest, head.Policies[0].ID)
	if err != nil || row.LastName != "Push1" || row.VIN != "WVWZZZ1KZ8W000001" {
		t.Fatalf("pushed row: %+v, %v", row, err)
	}

	// A burst longer than a page: the poll reads on while all is new.
	const burst = 150
	for i := range burst {
		pushPolicy(t, e.srv, sandbox.KeyASecretTest, 100+i)
	}
	before := rt.count("-created_at")
	s.Poke(tenantATest)
	waitFor(t, 5*time.Second, "the burst", func() bool { return e.store.count(tenantATest) == total+1+burst })
	if got := rt.count("-created_at") - before; got != 2 {
		t.Errorf("the burst took %d head pages, want 2", got)
	}
}

// TestHeadPollWritesOnlyChanges: a head poll that finds nothing new
// writes nothing (the tenant's change counter, and what is kept for it,
// stay), and a new policy is the one row written.
func TestHeadPollWritesOnlyChanges(t *testing.T) {
	e := newEnv(t, 300)
	s, _ := start(t, e.fastConfig(t, &countingRT{base: http.DefaultTransport}, sandbox.KeyASecretTest))
	e.waitSynced(t, tenantATest)
	waitFor(t, 5*time.Second, "the first head poll", func() bool { return !e.store.state(tenantATest).Polled.IsZero() })
	polls := func() time.Time { return e.store.state(tenantATest).Polled }
	written := func() int {
		e.store.mu.Lock()
		defer e.store.mu.Unlock()
		return e.store.upserted
	}
	before, polled := written(), polls()
	s.Poke(tenantATest)
	waitFor(t, 5*time.Second, "another head poll", func() bool { return polls().After(polled) })
	if got := written() - before; got != 0 {
		t.Errorf("a poll with nothing new wrote %d rows", got)
	}
	pushPolicy(t, e.srv, sandbox.KeyASecretTest, 7)
	before, polled = written(), polls()
	s.Poke(tenantATest)
	waitFor(t, 5*time.Second, "a head poll after the push", func() bool { return polls().After(polled) })
	if got := written() - before; got != 1 {
		t.Errorf("a poll after one push wrote %d rows, want 1", got)
	}
}

// TestHeadPollKeepsTheCounterOnSQLite: on the real store, rows read
// back compare equal to the upstream's, so a poll with nothing new
// leaves the tenant's change counter where it was.
func TestHeadPollKeepsTheCounterOnSQLite(t *testing.T) {
	ctx := context.Background()
	store, err := index.Open(ctx, index.Config{Path: filepath.Join(t.TempDir(), "index.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	e := newEnv(t, 300)
	cfg := e.fastConfig(t, &countingRT{base: http.DefaultTransport}, sandbox.KeyASecretTest)
	cfg.Store = store
	s, _ := start(t, cfg)
	state := func() index.SyncState {
		st, err := store.SyncState(ctx, tenantATest)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	waitFor(t, 20*time.Second, "the sync and a head poll", func() bool { st := state(); return !st.FullDone.IsZero() && st.Polled.After(st.FullDone) })
	before, err := store.Changed(ctx, tenantATest)
	if err != nil {
		t.Fatal(err)
	}
	polled := state().Polled
	s.Poke(tenantATest)
	waitFor(t, 5*time.Second, "another head poll", func() bool { return state().Polled.After(polled) })
	if after, _ := store.Changed(ctx, tenantATest); after != before {
		t.Errorf("a poll with nothing new moved the change counter from %d to %d", before, after)
	}
}

func TestReconcileDeletesGoneRows(t *testing.T) {
	e := newEnv(t, 500)
	cfg := e.fastConfig(t, &countingRT{base: http.DefaultTransport}, sandbox.KeyASecretTest)
	cfg.ReconcileEvery = 300 * time.Millisecond
	start(t, cfg)
	first := e.waitSynced(t, tenantATest)
	total := e.upstreamTotal(t, sandbox.KeyASecretTest)
	bogus := index.Row{Tenant: tenantATest, ID: "tpol_00000000000000000000000bogus", InsurerID: "TEST-BOGUS", SeenAt: time.Now().Add(-time.Hour)}
	if err := e.store.Upsert(context.Background(), []index.Row{bogus}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "a reconciliation", func() bool {
		st := e.store.state(tenantATest)
		return st.FullDone.After(first.FullDone) && !st.Full
	})
	if _, err := e.store.Get(context.Background(), tenantATest, bogus.ID); !errors.Is(err, index.ErrNotFound) {
		t.Errorf("the bogus row survived reconciliation: %v", err)
	}
	if got := e.store.count(tenantATest); got != total {
		t.Errorf("%d rows after reconciliation, upstream reports %d", got, total)
	}
}

func TestRejectedKeyDoesNotStopOthers(t *testing.T) {
	e := newEnv(t, 500)
	const bad = "sk_test_ThisKeyIsNotKnownUpstream0000"
	var logs bytes.Buffer
	var mu sync.Mutex
	cfg := e.fastConfig(t, &countingRT{base: http.DefaultTransport}, bad, sandbox.KeyBSecretTest)
	cfg.Log = slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, nil))
	s, stop := start(t, cfg)
	e.waitSynced(t, tenantBTest)
	waitFor(t, 5*time.Second, "the rejection to be logged", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return strings.Contains(logs.String(), "rejects an index key")
	})
	stop()
	if len(s.Tenants()) != 1 {
		t.Errorf("Tenants() = %v", s.Tenants())
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Contains(logs.String(), bad) {
		t.Error("the rejected key is in the log")
	}
	if !strings.Contains(logs.String(), apiclient.MaskKey(bad)) {
		t.Error("the log does not say which key (masked)")
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

func TestNewRefusesPublicKeys(t *testing.T) {
	_, err := New(Config{Store: newMemStore(), Client: &kasko.Client{}, Keys: []string{sandbox.KeyAPublicTest}})
	if err == nil || strings.Contains(err.Error(), sandbox.KeyAPublicTest) {
		t.Fatalf("got %v", err)
	}
}

// TestSQLiteStore runs a full sync, a kill and resume, and a
// reconciliation against the real SQLite store.
func TestSQLiteStore(t *testing.T) {
	ctx := context.Background()
	store, err := index.Open(ctx, index.Config{Path: filepath.Join(t.TempDir(), "index.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	e := newEnv(t, 2500)

	killed := make(chan struct{})
	rt1 := &countingRT{base: http.DefaultTransport}
	rt1.before = func(sort string, n int) *http.Response {
		if sort == "created_at" && n == 5 {
			close(killed)
		}
		return nil
	}
	cfg := e.fastConfig(t, rt1, sandbox.KeyASecretTest, sandbox.KeyASecretLive, sandbox.KeyBSecretTest)
	// A realistic lease: a SQLite writer busy with a page can hold up
	// a renewal longer than a test-sized lease lives. One holder name: the
	// same instance restarted renews its own lease at once.
	cfg.Store, cfg.LeaseTTL, cfg.Holder = store, 10*time.Second, "sqlite-test"
	_, stop := start(t, cfg)
	<-killed
	stop()

	rt2 := &countingRT{base: http.DefaultTransport}
	cfg = e.fastConfig(t, rt2, sandbox.KeyASecretTest, sandbox.KeyASecretLive, sandbox.KeyBSecretTest)
	cfg.Store, cfg.LeaseTTL, cfg.Holder = store, 10*time.Second, "sqlite-test"
	_, stop = start(t, cfg)
	state := func(tenant string) index.SyncState {
		st, err := store.SyncState(ctx, tenant)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	for key, tenant := range map[string]string{sandbox.KeyASecretTest: tenantATest, sandbox.KeyASecretLive: tenantALive, sandbox.KeyBSecretTest: tenantBTest} {
		waitFor(t, 60*time.Second, "full sync of "+tenant, func() bool { st := state(tenant); return !st.FullDone.IsZero() && !st.Full })
		n, err := store.Count(ctx, tenant)
		if err != nil {
			t.Fatal(err)
		}
		if want := e.upstreamTotal(t, key); n != want {
			t.Errorf("%s: %d rows, upstream reports %d", tenant, n, want)
		}
	}
	total := e.upstreamTotal(t, sandbox.KeyASecretTest)
	pages := 0
	for _, key := range []string{sandbox.KeyASecretTest, sandbox.KeyASecretLive, sandbox.KeyBSecretTest} {
		pages += e.upstreamTotal(t, key)/DefaultPageSize + 1
	}
	// A stop writes what was read (flushOnStop); it loses, per tenant, the
	// page in flight and the pages read ahead but not yet taken
	// (readAheadPages), nothing more.
	if got := rt1.count("created_at") + rt2.count("created_at"); got > pages+3*(readAheadPages+1) {
		t.Errorf("%d full-sync pages for all three tenants across the kill; one pass is %d", got, pages)
	} else {
		t.Logf("%d full-sync pages across the kill; one pass is %d", got, pages)
	}
	stop()

	cfg = e.fastConfig(t, &countingRT{base: http.DefaultTransport}, sandbox.KeyASecretTest)
	cfg.Store, cfg.LeaseTTL, cfg.Holder, cfg.ReconcileEvery = store, 10*time.Second, "sqlite-test", time.Second
	start(t, cfg)
	first := state(tenantATest)
	bogus := index.Row{Tenant: tenantATest, ID: "tpol_00000000000000000000000bogus", InsurerID: "TEST-BOGUS", Status: "paid",
		CreatedAt: time.Now(), SeenAt: time.Now().Add(-time.Hour)}
	if err := store.Upsert(ctx, []index.Row{bogus}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "a reconciliation", func() bool {
		st := state(tenantATest)
		return st.FullDone.After(first.FullDone) && !st.Full
	})
	if _, err := store.Get(ctx, tenantATest, bogus.ID); !errors.Is(err, index.ErrNotFound) {
		t.Errorf("the bogus row survived reconciliation: %v", err)
	}
	if n, _ := store.Count(ctx, tenantATest); n != total {
		t.Errorf("%d rows after reconciliation, upstream reports %d", n, total)
	}
}
