package webhooks_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	kasko "backoffice/apiclient/kasko"
	"backoffice/handlers/webhooks"
	"backoffice/internal/index"
	"backoffice/internal/indexsync"
	"backoffice/internal/sandbox"
	"backoffice/internal/sandbox/sandboxtest"
)

const (
	tenantATest = "kasko:" + sandbox.DistributorAID + ":test"
	tenantALive = "kasko:" + sandbox.DistributorAID + ":live"
	tenantBTest = "kasko:" + sandbox.DistributorBID + ":test"
	secretA     = "whsec_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	secretARot  = "whsec_rotatedrotatedrotatedrotated0"
	secretB     = "whsec_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	secretLive  = "whsec_livelivelivelivelivelivelive0"
)

// memStore is the part of index.Store the receiver uses. The embedded
// interface is nil: any other method panics.
type memStore struct {
	index.Store
	mu         sync.Mutex
	rows       map[string]index.Row // tenant + " " + id
	deliveries map[string]bool
	upserts    int
}

func newMemStore() *memStore {
	return &memStore{rows: map[string]index.Row{}, deliveries: map[string]bool{}}
}

func (m *memStore) Upsert(_ context.Context, rows []index.Row) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range rows {
		m.upserts++
		m.rows[r.Tenant+" "+r.ID] = r
	}
	return nil
}

func (m *memStore) Get(_ context.Context, tenant, id string) (index.Row, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.rows[tenant+" "+id]
	if !ok {
		return index.Row{}, index.ErrNotFound
	}
	return r, nil
}

func (m *memStore) ClaimDelivery(_ context.Context, tenant, id string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := tenant + " " + id
	if m.deliveries[k] {
		return false, nil
	}
	m.deliveries[k] = true
	return true, nil
}

func (m *memStore) ReleaseDelivery(_ context.Context, tenant, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.deliveries, tenant+" "+id)
	return nil
}

func (m *memStore) writes() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.upserts
}

type env struct {
	srv    *sandboxtest.Server
	client *kasko.Client
	store  *memStore
	gets   atomic.Int64
	h      http.Handler
}

func newEnv(t *testing.T, maxBody int64) *env {
	t.Helper()
	e := &env{srv: sandboxtest.Start(t, sandbox.Options{Policies: 300}), store: newMemStore()}
	c, err := kasko.New(e.srv.KaskoURL)
	if err != nil {
		t.Fatal(err)
	}
	e.client = c
	keys := map[string]string{
		tenantATest: sandbox.KeyASecretTest,
		tenantBTest: sandbox.KeyBSecretTest,
		// Misconfigured on purpose: a test key for the live tenant.
		tenantALive: sandbox.KeyASecretTest,
	}
	get := webhooks.GetWith(c)
	e.h = webhooks.New(webhooks.Deps{
		Store:   e.store,
		Secrets: map[string][]string{tenantATest: {secretARot, secretA}, tenantBTest: {secretB}, tenantALive: {secretLive}, "kasko:nokey:test": {"whsec_nokeynokeynokey"}},
		Key: func(tenant string) (string, bool) {
			k, ok := keys[tenant]
			return k, ok
		},
		Get: func(ctx context.Context, key, id string) (*kasko.Policy, error) {
			e.gets.Add(1)
			return get(ctx, key, id)
		},
		MaxBody: maxBody,
	})
	return e
}

type delivery struct {
	query, event, id, signature, body string
	method                            string
}

func newDelivery(secret, policyID string) delivery {
	body := `{"id":"` + policyID + `","livemode":false,"policy_id":"TEST-X","first_name":"Forged","email":"x@example.com"}`
	return delivery{event: webhooks.EventPolicyUpdated, id: newDeliveryID(), signature: webhooks.Sign(secret, []byte(body)), body: body}
}

func newDeliveryID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (e *env) send(t *testing.T, d delivery) *httptest.ResponseRecorder {
	t.Helper()
	method := d.method
	if method == "" {
		method = http.MethodPost
	}
	r := httptest.NewRequest(method, "/webhooks/kasko"+d.query, strings.NewReader(d.body))
	r.Header.Set("Content-Type", "application/json")
	if d.event != "" {
		r.Header.Set(webhooks.HeaderEvent, d.event)
	}
	if d.id != "" {
		r.Header.Set(webhooks.HeaderDelivery, d.id)
	}
	if d.signature != "" {
		r.Header.Set(webhooks.HeaderSignature, d.signature)
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	if ct := w.Header().Get("Content-Type"); w.Code != http.StatusNoContent && !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("answer %d has Content-Type %q", w.Code, ct)
	}
	return w
}

func wantStatus(t *testing.T, w *httptest.ResponseRecorder, status int, msgPart string) {
	t.Helper()
	if w.Code != status || !strings.Contains(w.Body.String(), msgPart) {
		t.Fatalf("got %d %q, want %d containing %q", w.Code, w.Body.String(), status, msgPart)
	}
}

// seedRow stores the fixture policy as the index had it before.
func (e *env) seedRow(t *testing.T, tenant, key, id string) index.Row {
	t.Helper()
	p, err := e.client.WithKey(key).GetPolicy(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	row := indexsync.RowOf(p, tenant, time.Now().Add(-time.Hour))
	if err := e.store.Upsert(context.Background(), []index.Row{row}); err != nil {
		t.Fatal(err)
	}
	return row
}

func (e *env) row(t *testing.T, tenant, id string) index.Row {
	t.Helper()
	r, err := e.store.Get(context.Background(), tenant, id)
	if err != nil {
		t.Fatalf("row %s: %v", id, err)
	}
	return r
}

func TestUpdatedDeliveryRefetchesThePolicy(t *testing.T) {
	e := newEnv(t, 0)
	before := e.seedRow(t, tenantATest, sandbox.KeyASecretTest, sandbox.FixturePolicyID)
	if before.Cancelled {
		t.Fatal("the fixture starts cancelled")
	}
	c := e.client.WithKey(sandbox.KeyASecretTest)
	if _, err := c.CancelPolicy(context.Background(), sandbox.FixturePolicyID, before.Version,
		kasko.CancelRequest{Reason: "Customer request", TerminationDate: "2026-12-31"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, query, secret string }{
		{"named tenant", "?tenant=" + tenantATest, secretA},
		{"tenant found by its secret", "", secretARot},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := e.send(t, newDelivery(tc.secret, sandbox.FixturePolicyID))
			wantStatus(t, w, http.StatusNoContent, "")
			after := e.row(t, tenantATest, sandbox.FixturePolicyID)
			if !after.Cancelled || after.Status != "cancelled" || after.Version == before.Version || after.TerminationDate.IsZero() {
				t.Errorf("row after the webhook: %+v", after)
			}
			// The payload's fields are not trusted.
			if after.FirstName == "Forged" || after.Email == "x@example.com" {
				t.Errorf("row took the payload's fields: %+v", after)
			}
		})
	}
	if _, err := e.store.Get(context.Background(), tenantBTest, sandbox.FixturePolicyID); !errors.Is(err, index.ErrNotFound) {
		t.Errorf("a row appeared under tenant B: %v", err)
	}
}

func TestCreatedDeliveryAddsTheRow(t *testing.T) {
	e := newEnv(t, 0)
	d := newDelivery(secretB, sandbox.FixtureOtherDistributorID)
	d.event = webhooks.EventPolicyCreated
	d.query = "?tenant=" + tenantBTest
	wantStatus(t, e.send(t, d), http.StatusNoContent, "")
	if r := e.row(t, tenantBTest, sandbox.FixtureOtherDistributorID); r.InsurerID == "" || r.Tenant != tenantBTest {
		t.Errorf("row: %+v", r)
	}
}

func TestRefusals(t *testing.T) {
	e := newEnv(t, 1024)
	e.seedRow(t, tenantATest, sandbox.KeyASecretTest, sandbox.FixturePolicyID)
	good := func() delivery { return newDelivery(secretA, sandbox.FixturePolicyID) }
	for _, tc := range []struct {
		name   string
		change func(d *delivery)
		status int
		msg    string
	}{
		{"GET", func(d *delivery) { d.method = http.MethodGet }, http.StatusMethodNotAllowed, "POST"},
		{"bad signature", func(d *delivery) { d.signature = webhooks.Sign("whsec_wrong", []byte(d.body)) }, http.StatusUnauthorized, "signature"},
		{"signature of another body", func(d *delivery) { d.body = strings.Replace(d.body, "Forged", "Forgex", 1) }, http.StatusUnauthorized, "signature"},
		{"missing signature", func(d *delivery) { d.signature = "" }, http.StatusUnauthorized, "signature"},
		{"sha256 prefix", func(d *delivery) { d.signature = "sha256=" + strings.TrimPrefix(d.signature, "sha1=") }, http.StatusUnauthorized, "signature"},
		{"signature not hex", func(d *delivery) { d.signature = "sha1=zz" }, http.StatusUnauthorized, "signature"},
		{"secret of another tenant", func(d *delivery) {
			d.query = "?tenant=" + tenantATest
			d.signature = webhooks.Sign(secretB, []byte(d.body))
		}, http.StatusUnauthorized, "signature"},
		{"unknown tenant", func(d *delivery) { d.query = "?tenant=kasko:nobody:test" }, http.StatusNotFound, "unknown tenant"},
		{"oversized", func(d *delivery) {
			d.body = `{"id":"` + sandbox.FixturePolicyID + `","pad":"` + strings.Repeat("x", 2048) + `"}`
			d.signature = webhooks.Sign(secretA, []byte(d.body))
		}, http.StatusRequestEntityTooLarge, "too large"},
		{"malformed JSON", func(d *delivery) {
			d.body = `{"id":`
			d.signature = webhooks.Sign(secretA, []byte(d.body))
		}, http.StatusBadRequest, "JSON"},
		{"no id", func(d *delivery) {
			d.body = `{"policy_id":"TEST-1"}`
			d.signature = webhooks.Sign(secretA, []byte(d.body))
		}, http.StatusBadRequest, "policy id"},
		{"bad delivery id", func(d *delivery) { d.id = "not-a-guid" }, http.StatusBadRequest, "X-KASKO-Delivery"},
		{"missing delivery id", func(d *delivery) { d.id = "" }, http.StatusBadRequest, "X-KASKO-Delivery"},
		{"tenant without an index key", func(d *delivery) {
			d.query = "?tenant=kasko:nokey:test"
			d.signature = webhooks.Sign("whsec_nokeynokeynokey", []byte(d.body))
		}, http.StatusServiceUnavailable, "no index key for this tenant yet"},
		{"policy the key cannot see", func(d *delivery) {
			d.body = `{"id":"` + sandbox.FixtureOtherDistributorID + `"}`
			d.signature = webhooks.Sign(secretA, []byte(d.body))
		}, http.StatusUnprocessableEntity, "policy not visible to this tenant's key"},
		{"policy of the other mode", func(d *delivery) {
			d.query = "?tenant=" + tenantALive
			d.signature = webhooks.Sign(secretLive, []byte(d.body))
		}, http.StatusUnprocessableEntity, "does not belong"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := good()
			tc.change(&d)
			writes := e.store.writes()
			wantStatus(t, e.send(t, d), tc.status, tc.msg)
			if e.store.writes() != writes {
				t.Error("the index was written")
			}
			if r := e.row(t, tenantATest, sandbox.FixturePolicyID); r.Cancelled {
				t.Error("the row changed")
			}
			if tc.status == http.StatusUnprocessableEntity {
				// Released: the same delivery is processed again.
				gets := e.gets.Load()
				wantStatus(t, e.send(t, d), tc.status, tc.msg)
				if e.gets.Load() != gets+1 {
					t.Error("the retried delivery was not refetched")
				}
			}
		})
	}
}

func TestOtherEventsIgnored(t *testing.T) {
	e := newEnv(t, 0)
	d := newDelivery(secretA, sandbox.FixturePolicyID)
	d.event = "payment.succeeded"
	wantStatus(t, e.send(t, d), http.StatusNoContent, "")
	if e.gets.Load() != 0 || e.store.writes() != 0 {
		t.Error("an ignored event was processed")
	}
}

func TestAmbiguousSecret(t *testing.T) {
	store := newMemStore()
	h := webhooks.New(webhooks.Deps{
		Store:   store,
		Secrets: map[string][]string{tenantATest: {secretA}, tenantBTest: {secretA}},
		Key:     func(string) (string, bool) { return "", false },
		Get:     func(context.Context, string, string) (*kasko.Policy, error) { panic("not reached") },
	})
	e := &env{store: store, h: h}
	wantStatus(t, e.send(t, newDelivery(secretA, sandbox.FixturePolicyID)), http.StatusBadRequest, "several tenants")
}

func TestReplayIsNotRefetched(t *testing.T) {
	e := newEnv(t, 0)
	d := newDelivery(secretA, sandbox.FixturePolicyID)
	wantStatus(t, e.send(t, d), http.StatusNoContent, "")
	gets, writes := e.gets.Load(), e.store.writes()
	if gets != 1 || writes != 1 {
		t.Fatalf("first delivery: %d gets, %d writes", gets, writes)
	}
	wantStatus(t, e.send(t, d), http.StatusNoContent, "")
	if e.gets.Load() != gets || e.store.writes() != writes {
		t.Error("the replay was processed again")
	}
}

func TestUpstreamFailureCanBeRetried(t *testing.T) {
	e := newEnv(t, 0)
	d := newDelivery(secretA, sandbox.FixturePolicyID)
	e.srv.Sandbox.SetFaults(sandbox.Faults{ErrorRate: 1})
	wantStatus(t, e.send(t, d), http.StatusBadGateway, "could not be read upstream")
	if e.store.writes() != 0 {
		t.Fatal("the index was written")
	}
	e.srv.Sandbox.SetFaults(sandbox.Faults{})
	wantStatus(t, e.send(t, d), http.StatusNoContent, "")
	if r := e.row(t, tenantATest, sandbox.FixturePolicyID); r.InsurerID != sandbox.FixtureInsurerPolicyID {
		t.Errorf("row after the retry: %+v", r)
	}
}

func TestUpstreamTimeoutIs503(t *testing.T) {
	e := newEnv(t, 0)
	c, err := kasko.New(e.srv.KaskoURL, kasko.WithTimeout(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	e.srv.Sandbox.SetFaults(sandbox.Faults{Latency: time.Second})
	h := webhooks.New(webhooks.Deps{
		Store:   e.store,
		Secrets: map[string][]string{tenantATest: {secretA}},
		Key:     func(string) (string, bool) { return sandbox.KeyASecretTest, true },
		Get:     webhooks.GetWith(c),
	})
	e.h = h
	d := newDelivery(secretA, sandbox.FixturePolicyID)
	wantStatus(t, e.send(t, d), http.StatusServiceUnavailable, "in time")
	e.srv.Sandbox.SetFaults(sandbox.Faults{})
	wantStatus(t, e.send(t, d), http.StatusNoContent, "")
}

// TestFromTheSandbox receives the sandbox's own deliveries over HTTP:
// a cancellation completing upstream reaches the index, and a push
// (policy.created) adds its row.
func TestFromTheSandbox(t *testing.T) {
	e := newEnv(t, 0)
	recv := webhooks.New(webhooks.Deps{
		Store:   e.store,
		Secrets: map[string][]string{tenantATest: {sandbox.WebhookSecretATest}},
		Key: func(tenant string) (string, bool) {
			return sandbox.KeyASecretTest, tenant == tenantATest
		},
		Get: webhooks.GetWith(e.client),
	})
	srv := httptest.NewServer(recv)
	t.Cleanup(srv.Close)
	if _, err := e.srv.Sandbox.AddWebhook(sandbox.KeyASecretTest, srv.URL+"/webhooks/kasko?tenant="+tenantATest); err != nil {
		t.Fatal(err)
	}
	before := e.seedRow(t, tenantATest, sandbox.KeyASecretTest, sandbox.FixturePolicyID)
	c := e.client.WithKey(sandbox.KeyASecretTest)
	if _, err := c.CancelPolicy(context.Background(), sandbox.FixturePolicyID, before.Version,
		kasko.CancelRequest{Reason: "Customer request", TerminationDate: "2026-12-31"}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		// Requests let the sandbox complete the cancellation.
		if _, err := c.GetPolicy(context.Background(), sandbox.FixturePolicyID); err != nil {
			t.Fatal(err)
		}
		if r, err := e.store.Get(context.Background(), tenantATest, sandbox.FixturePolicyID); err == nil && r.Cancelled {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the cancellation did not reach the index; deliveries: %+v", e.srv.Sandbox.Deliveries())
		}
		time.Sleep(20 * time.Millisecond)
	}

	body := `{"variant_id":"` + sandbox.ARAGVariantID + `","input":{"first_name":"Jörg","last_name":"Hooked","email":"j@example.com","data":{"start_date":"2026-12-01","vin":"WVWZZZ1KZ8W006165"}}}`
	req, err := http.NewRequest(http.MethodPost, e.srv.PushURL+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(sandbox.KeyASecretTest, "")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("push: %d", resp.StatusCode)
	}
	head, err := c.ListPolicies(context.Background(), kasko.ListParams{Limit: 1})
	if err != nil || len(head.Policies) != 1 || head.Policies[0].LastName != "Hooked" {
		t.Fatalf("pushed policy not at the head: %v", err)
	}
	id := head.Policies[0].ID
	deadline = time.Now().Add(10 * time.Second)
	for {
		if r, err := e.store.Get(context.Background(), tenantATest, id); err == nil && r.LastName == "Hooked" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the pushed policy did not reach the index; deliveries: %+v", e.srv.Sandbox.Deliveries())
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The sender records an attempt once it has read the answer, which
	// comes after the row is written: wait for the records too.
	deadline = time.Now().Add(10 * time.Second)
	for {
		pending := false
		for _, d := range e.srv.Sandbox.Deliveries() {
			pending = pending || d.Attempts == 0
		}
		if !pending || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, d := range e.srv.Sandbox.Deliveries() {
		if !d.Delivered || d.LastStatus != http.StatusNoContent {
			t.Errorf("delivery: %+v", d)
		}
	}
}
