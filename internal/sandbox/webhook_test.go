package sandbox_test

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"backoffice/internal/sandbox"
	"backoffice/internal/sandbox/sandboxtest"
)

var deliveryIDRe = regexp.MustCompile(`^[0-9a-f]{32}$`)

// hit is one request a receiver got.
type hit struct {
	method, path string
	header       http.Header
	body         []byte
	at           time.Time
}

func (h hit) event() string    { return h.header.Get("X-KASKO-Event") }
func (h hit) delivery() string { return h.header.Get("X-KASKO-Delivery") }

func (h hit) payload(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(h.body, &m); err != nil {
		t.Fatalf("payload is not a JSON object: %v: %s", err, h.body)
	}
	return m
}

// receiver is a webhook endpoint on loopback. It answers with statuses in
// turn (the last one repeats; none means 204), after delay.
type receiver struct {
	srv      *httptest.Server
	URL      string
	mu       sync.Mutex
	hits     []hit
	statuses []int
	delay    time.Duration
}

func newReceiver(t *testing.T, statuses ...int) *receiver {
	t.Helper()
	rc := &receiver{statuses: statuses}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.hits = append(rc.hits, hit{r.Method, r.URL.Path, r.Header.Clone(), b, time.Now()})
		status := http.StatusNoContent
		if n := len(rc.statuses); n > 0 {
			status = rc.statuses[min(len(rc.hits)-1, n-1)]
		}
		delay := rc.delay
		rc.mu.Unlock()
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
		if status/100 == 3 {
			w.Header().Set("Location", "/elsewhere")
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(rc.srv.Close)
	rc.URL = rc.srv.URL + "/hook"
	return rc
}

func (rc *receiver) all() []hit {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.hits)
}

// await waits until n hits matching keep have arrived and returns them.
func (rc *receiver) await(t *testing.T, n int, keep func(hit) bool) []hit {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var got []hit
		for _, h := range rc.all() {
			if keep == nil || keep(h) {
				got = append(got, h)
			}
		}
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("receiver got %d matching hits, want %d (all: %d)", len(got), n, len(rc.all()))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func forPolicy(id string) func(hit) bool {
	return func(h hit) bool { return strings.Contains(string(h.body), `"id":"`+id+`"`) }
}

func sign(secret string, body []byte) string {
	m := hmac.New(sha1.New, []byte(secret))
	m.Write(body)
	return "sha1=" + hex.EncodeToString(m.Sum(nil))
}

// checkHit asserts the contract's headers and a signature that verifies
// over the raw body with secret.
func checkHit(t *testing.T, h hit, event, secret string) {
	t.Helper()
	if h.method != "POST" || h.path != "/hook" {
		t.Errorf("request: %s %s", h.method, h.path)
	}
	if ct := h.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type: %q", ct)
	}
	if h.event() != event {
		t.Errorf("X-KASKO-Event: got %q, want %q", h.event(), event)
	}
	if !deliveryIDRe.MatchString(h.delivery()) {
		t.Errorf("X-KASKO-Delivery: %q is not 32 lowercase hex", h.delivery())
	}
	if got, want := h.header.Get("X-KASKO-Signature"), sign(secret, h.body); !hmac.Equal([]byte(got), []byte(want)) {
		t.Errorf("X-KASKO-Signature: got %q, want %q", got, want)
	}
	if h.header.Get("User-Agent") == "" {
		t.Errorf("no User-Agent")
	}
}

func addHook(t *testing.T, srv *sandboxtest.Server, key, url string) sandbox.Webhook {
	t.Helper()
	wh, err := srv.Sandbox.AddWebhook(key, url)
	if err != nil {
		t.Fatalf("AddWebhook: %v", err)
	}
	return wh
}

func pushBody(last string) string {
	return `{"variant_id":"` + sandbox.ARAGVariantID + `","input":{"first_name":"Jörg","last_name":"` + last +
		`","email":"joerg@example.com","data":{"start_date":"2026-12-01","vin":"WVWZZZ1KZ8W006165"},"metadata":{"crm":"42"}}}`
}

// push creates a policy with key and returns its KASKO and insurer ids.
func push(t *testing.T, srv *sandboxtest.Server, key, last string) (id, insurerID string) {
	t.Helper()
	r := do(t, "POST", srv.PushURL+"/", pushBody(last), basic(key), header("Content-Type", "application/json"))
	if r.status != 200 {
		t.Fatalf("push: %d %s", r.status, r.body)
	}
	for _, d := range list(t, srv, "?limit=5", basic(key), acceptV2()).Data {
		if str(d, "last_name") == last {
			return str(d, "id"), str(d, "insurer_policy_id")
		}
	}
	t.Fatalf("pushed policy %s not listed", last)
	return "", ""
}

func awaitDelivery(t *testing.T, sb *sandbox.Sandbox, done func(sandbox.Delivery) bool) sandbox.Delivery {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		for _, d := range sb.Deliveries() {
			if done(d) {
				return d
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no such delivery; have %+v", sb.Deliveries())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestWebhookPolicyCreated(t *testing.T) {
	srv, clk := start(t, sandbox.Options{})
	rc := newReceiver(t)
	r := do(t, "POST", srv.URL+"/_sandbox/webhooks", `{"url":"`+rc.URL+`"}`, bearer(sandbox.KeyASecretTest), header("Content-Type", "application/json"))
	if r.status != http.StatusCreated {
		t.Fatalf("register: %d %s", r.status, r.body)
	}
	var wh sandbox.Webhook
	if err := json.Unmarshal(r.body, &wh); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(wh.ID, "wh_") || wh.URL != rc.URL || wh.Secret != sandbox.WebhookSecretATest || wh.Mode != "test" || wh.DistributorID != sandbox.DistributorAID {
		t.Errorf("webhook: %s", r.body)
	}
	if loc := r.header.Get("Location"); loc != srv.URL+"/_sandbox/webhooks/"+wh.ID {
		t.Errorf("Location: %q", loc)
	}
	clk.Add(time.Second)
	id, insurerID := push(t, srv, sandbox.KeyASecretTest, "Weiß")
	h := rc.await(t, 1, nil)[0]
	checkHit(t, h, sandbox.EventPolicyCreated, sandbox.WebhookSecretATest)
	m := h.payload(t)
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	want := []string{"_links", "assets", "email", "end_date", "first_name", "gross_premium", "id", "last_name", "livemode", "metadata",
		"policy_created_date", "policy_id", "premium_tax", "product_id", "start_date"}
	if !slices.Equal(keys, want) {
		t.Errorf("payload keys: got %v, want %v", keys, want)
	}
	pol := do(t, "GET", srv.KaskoURL+"/policies/"+id, "", basic(sandbox.KeyASecretTest), acceptV2()).json(t)
	for k, v := range map[string]string{
		"id": id, "policy_id": insurerID, "livemode": "false", "first_name": "Jörg", "last_name": "Weiß", "email": "joerg@example.com",
		"product_id": str(pol, "product_id"), "policy_created_date": str(pol, "policy_created_date"), "start_date": str(pol, "start_date"),
		"end_date": "", "gross_premium": str(pol, "quote", "payment_data", "gross_premium"), "premium_tax": str(pol, "quote", "payment_data", "premium_tax"),
		"metadata": str(pol, "metadata"), "_links": `{"self":{"href":"` + srv.KaskoURL + `/policies/` + id + `"}}`,
	} {
		if got := str(m, k); got != v {
			t.Errorf("%s: got %q, want %q", k, got, v)
		}
	}
	assets, _ := m["assets"].([]any)
	if len(assets) != 3 {
		t.Fatalf("assets: %s", h.body)
	}
	for _, a := range assets {
		am := a.(map[string]any)
		if len(am) != 4 || str(am, "extension") != "pdf" || str(am, "designation") == "" || str(am, "name") == "" {
			t.Errorf("asset: %v", am)
		}
		if r := do(t, "GET", str(am, "href"), ""); r.status != 200 || r.header.Get("Content-Type") != "application/pdf" {
			t.Errorf("asset href %s: %d", str(am, "href"), r.status)
		}
	}
	d := awaitDelivery(t, srv.Sandbox, func(d sandbox.Delivery) bool { return d.Delivered })
	if d.ID != h.delivery() || d.Event != sandbox.EventPolicyCreated || d.PolicyID != id || d.InsurerPolicyID != insurerID || d.WebhookID != wh.ID ||
		d.URL != rc.URL || d.Attempts != 1 || d.LastStatus != 204 || d.State != sandbox.DeliveryDelivered || d.DeliveredAt == nil || d.LastError != "" {
		t.Errorf("delivery: %+v", d)
	}
}

func TestWebhookDoesNotBlockTheRequest(t *testing.T) {
	srv, _ := start(t, sandbox.Options{})
	rc := newReceiver(t)
	rc.delay = 3 * time.Second
	addHook(t, srv, sandbox.KeyASecretTest, rc.URL)
	t0 := time.Now()
	push(t, srv, sandbox.KeyASecretTest, "Langsam")
	if el := time.Since(t0); el > time.Second {
		t.Errorf("push took %v while the receiver was slow", el)
	}
	rc.await(t, 1, nil)
	// Close aborts the request the receiver still sits on, so that its
	// server can close without waiting.
	_ = srv.Sandbox.Close()
}

func TestWebhookCancelCompletesOnItsOwn(t *testing.T) {
	// The real clock and a scan interval far beyond the test: only the
	// timer at the due time can complete the cancellation.
	srv, _ := start(t, sandbox.Options{Now: time.Now, CancelDelay: 150 * time.Millisecond, WebhookScanInterval: time.Hour})
	rc := newReceiver(t)
	addHook(t, srv, sandbox.KeyASecretTest, rc.URL)
	t0 := time.Now()
	r := do(t, "POST", cancelURL(srv.KaskoURL, sandbox.FixturePolicyID), cancelBody, basic(sandbox.KeyASecretTest), acceptV2(),
		header("If-Match", sandbox.FixtureVersionID), header("Content-Type", "application/json"))
	if r.status != http.StatusAccepted {
		t.Fatalf("cancel: %d %s", r.status, r.body)
	}
	calls := srv.Sandbox.Calls(sandbox.RouteGetPolicy) + srv.Sandbox.Calls(sandbox.RouteListPolicies) + srv.Sandbox.Calls(sandbox.RouteVersionStatus)
	h := rc.await(t, 1, nil)[0]
	if el := h.at.Sub(t0); el < 150*time.Millisecond {
		t.Errorf("policy.updated after %v, before the cancel delay", el)
	}
	checkHit(t, h, sandbox.EventPolicyUpdated, sandbox.WebhookSecretATest)
	if m := h.payload(t); str(m, "id") != sandbox.FixturePolicyID || str(m, "policy_id") != sandbox.FixtureInsurerPolicyID {
		t.Errorf("payload: %s", h.body)
	}
	if n := srv.Sandbox.Calls(sandbox.RouteGetPolicy) + srv.Sandbox.Calls(sandbox.RouteListPolicies) + srv.Sandbox.Calls(sandbox.RouteVersionStatus); n != calls {
		t.Errorf("a request was made before the event: %d calls", n-calls)
	}
	pol := do(t, "GET", srv.KaskoURL+"/policies/"+sandbox.FixturePolicyID, "", basic(sandbox.KeyASecretTest), acceptV2()).json(t)
	if str(pol, "status") != "cancelled" || str(pol, "version_id") == sandbox.FixtureVersionID {
		t.Errorf("after the event: status %s, version %s", str(pol, "status"), str(pol, "version_id"))
	}
}

func TestWebhookCancelFollowsTheFakeClock(t *testing.T) {
	srv, clk := start(t, sandbox.Options{CancelDelay: time.Minute, WebhookScanInterval: 10 * time.Millisecond})
	rc := newReceiver(t)
	addHook(t, srv, sandbox.KeyASecretTest, rc.URL)
	r := do(t, "POST", cancelURL(srv.KaskoURL, sandbox.FixturePolicyID), cancelBody, basic(sandbox.KeyASecretTest), acceptV2(),
		header("If-Match", sandbox.FixtureVersionID))
	if r.status != http.StatusAccepted {
		t.Fatalf("cancel: %d %s", r.status, r.body)
	}
	time.Sleep(100 * time.Millisecond)
	if n := len(rc.all()); n != 0 {
		t.Fatalf("%d events before the sandbox clock reached the due time", n)
	}
	clk.Add(61 * time.Second)
	h := rc.await(t, 1, nil)[0]
	checkHit(t, h, sandbox.EventPolicyUpdated, sandbox.WebhookSecretATest)
	if str(h.payload(t), "id") != sandbox.FixturePolicyID {
		t.Errorf("payload: %s", h.body)
	}
}

func TestWebhookFailedCancellationSendsNothing(t *testing.T) {
	srv, _ := start(t, sandbox.Options{Now: time.Now, CancelDelay: 10 * time.Millisecond, WebhookScanInterval: 10 * time.Millisecond,
		Faults: sandbox.Faults{FailCancellations: true}})
	rc := newReceiver(t)
	addHook(t, srv, sandbox.KeyASecretTest, rc.URL)
	r := do(t, "POST", cancelURL(srv.KaskoURL, sandbox.FixturePolicyID), cancelBody, basic(sandbox.KeyASecretTest), acceptV2(),
		header("If-Match", sandbox.FixtureVersionID))
	if r.status != http.StatusAccepted {
		t.Fatalf("cancel: %d %s", r.status, r.body)
	}
	time.Sleep(150 * time.Millisecond)
	if n := len(rc.all()); n != 0 {
		t.Errorf("a failed cancellation sent %d events", n)
	}
}

func TestWebhookExpiry(t *testing.T) {
	srv, clk := start(t, sandbox.Options{WebhookScanInterval: 5 * time.Millisecond})
	key := basic(sandbox.KeyASecretTest)
	// The policy expiring next: the first open one in end_date order.
	var next map[string]any
	for off := 0; next == nil; off += 100 {
		p := list(t, srv, "?sort=end_date&limit=100&offset="+itoa(int64(off)), key, acceptV2())
		if len(p.Data) == 0 {
			t.Fatal("no policy expires in the future")
		}
		for _, d := range p.Data {
			if str(d, "expired") == "false" && str(d, "end_date") != "" {
				next = d
				break
			}
		}
	}
	id := str(next, "id")
	end, err := time.Parse(time.RFC3339, str(next, "end_date"))
	if err != nil {
		t.Fatal(err)
	}
	rc := newReceiver(t)
	addHook(t, srv, sandbox.KeyASecretTest, rc.URL)
	clk.Add(end.Sub(clk.Now()) - time.Second)
	time.Sleep(50 * time.Millisecond)
	if hs := rc.all(); len(hs) != 0 {
		t.Fatalf("events before the end date: %s", hs[0].body)
	}
	clk.Add(2 * time.Second)
	h := rc.await(t, 1, forPolicy(id))[0]
	checkHit(t, h, sandbox.EventPolicyUpdated, sandbox.WebhookSecretATest)
	if m := h.payload(t); str(m, "end_date") != str(next, "end_date") || str(m, "policy_id") != str(next, "insurer_policy_id") {
		t.Errorf("payload: %s", h.body)
	}
	pol := do(t, "GET", srv.KaskoURL+"/policies/"+id, "", key, acceptV2()).json(t)
	if str(pol, "expired") != "true" {
		t.Errorf("expired: %s", str(pol, "expired"))
	}
	clk.Add(time.Hour)
	time.Sleep(50 * time.Millisecond)
	if n := len(rc.await(t, 1, forPolicy(id))); n != 1 {
		t.Errorf("the expiry was sent %d times", n)
	}
}

func TestWebhookRetries(t *testing.T) {
	const base = 20 * time.Millisecond
	srv, _ := start(t, sandbox.Options{WebhookRetryBase: base})
	rc := newReceiver(t, 500, 302, 204)
	addHook(t, srv, sandbox.KeyASecretTest, rc.URL)
	push(t, srv, sandbox.KeyASecretTest, "Wiederholt")
	d := awaitDelivery(t, srv.Sandbox, func(d sandbox.Delivery) bool { return d.Delivered })
	hs := rc.all()
	if len(hs) != 3 {
		t.Fatalf("got %d requests, want 3 (500, 302 not followed, 204)", len(hs))
	}
	for i, h := range hs {
		checkHit(t, h, sandbox.EventPolicyCreated, sandbox.WebhookSecretATest)
		if h.delivery() != hs[0].delivery() || string(h.body) != string(hs[0].body) {
			t.Errorf("attempt %d: delivery %s, want the first's %s with the same body", i+1, h.delivery(), hs[0].delivery())
		}
	}
	if gap := hs[1].at.Sub(hs[0].at); gap < base {
		t.Errorf("first retry after %v, want at least %v", gap, base)
	}
	if gap := hs[2].at.Sub(hs[1].at); gap < 2*base {
		t.Errorf("second retry after %v, want at least %v (doubling)", gap, 2*base)
	}
	if d.Attempts != 3 || d.LastStatus != 204 || d.State != sandbox.DeliveryDelivered || d.ID != hs[0].delivery() {
		t.Errorf("delivery: %+v", d)
	}
}

func TestWebhookGivesUp(t *testing.T) {
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadURL := "http://" + dead.Addr().String() + "/hook"
	dead.Close()
	cases := []struct {
		name       string
		url        func(rc *receiver) string
		delay      time.Duration
		wantStatus int
		wantErr    string
		wantHits   int
	}{
		{"503", func(rc *receiver) string { return rc.URL }, 0, 503, "answered 503 Service Unavailable", sandbox.DefaultWebhookMaxAttempts},
		{"redirect", func(rc *receiver) string { return rc.URL }, 0, 301, "answered 301 Moved Permanently", sandbox.DefaultWebhookMaxAttempts},
		{"connection refused", func(*receiver) string { return deadURL }, 0, 0, "refused", 0},
		{"timeout", func(rc *receiver) string { return rc.URL }, time.Second, 0, "no answer within 50ms", sandbox.DefaultWebhookMaxAttempts},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := start(t, sandbox.Options{WebhookRetryBase: 2 * time.Millisecond, WebhookTimeout: 50 * time.Millisecond})
			rc := newReceiver(t, tc.wantStatus)
			rc.delay = tc.delay
			addHook(t, srv, sandbox.KeyASecretTest, tc.url(rc))
			push(t, srv, sandbox.KeyASecretTest, "Vergeblich")
			d := awaitDelivery(t, srv.Sandbox, func(d sandbox.Delivery) bool { return d.State == sandbox.DeliveryFailed })
			if d.Delivered || d.Attempts != sandbox.DefaultWebhookMaxAttempts || d.LastStatus != tc.wantStatus || !strings.Contains(d.LastError, tc.wantErr) ||
				d.LastAttemptAt == nil || d.NextAttemptAt != nil {
				t.Errorf("delivery: %+v", d)
			}
			if n := len(rc.all()); n != tc.wantHits {
				t.Errorf("receiver got %d requests, want %d", n, tc.wantHits)
			}
			for _, h := range rc.all() {
				if h.path != "/hook" {
					t.Errorf("redirect followed to %s", h.path)
				}
			}
		})
	}
}

func TestWebhookScopes(t *testing.T) {
	srv, _ := start(t, sandbox.Options{})
	rcs := map[string]*receiver{}
	secrets := map[string]string{
		sandbox.KeyASecretTest: sandbox.WebhookSecretATest,
		sandbox.KeyASecretLive: sandbox.WebhookSecretALive,
		sandbox.KeyBSecretTest: sandbox.WebhookSecretBTest,
	}
	for key := range secrets {
		rcs[key] = newReceiver(t)
		addHook(t, srv, key, rcs[key].URL)
	}
	if len(map[string]bool{sandbox.WebhookSecretATest: true, sandbox.WebhookSecretALive: true, sandbox.WebhookSecretBTest: true}) != 3 {
		t.Fatal("scopes share a secret")
	}
	ids := map[string]string{}
	for key := range secrets {
		ids[key], _ = push(t, srv, key, "Scope")
	}
	for key, rc := range rcs {
		h := rc.await(t, 1, nil)[0]
		checkHit(t, h, sandbox.EventPolicyCreated, secrets[key])
		m := h.payload(t)
		if str(m, "id") != ids[key] {
			t.Errorf("%s got policy %s, want %s", key, str(m, "id"), ids[key])
		}
		if live := key == sandbox.KeyASecretLive; str(m, "livemode") != map[bool]string{true: "true", false: "false"}[live] ||
			strings.HasPrefix(str(m, "id"), "lpol_") != live {
			t.Errorf("%s: livemode %s for %s", key, str(m, "livemode"), str(m, "id"))
		}
	}
	time.Sleep(100 * time.Millisecond)
	for key, rc := range rcs {
		if n := len(rc.all()); n != 1 {
			t.Errorf("%s's endpoint got %d events, want only its own", key, n)
		}
	}
}

func TestWebhookRegistration(t *testing.T) {
	srv, _ := start(t, sandbox.Options{})
	u := srv.URL + "/_sandbox/webhooks"
	key := basic(sandbox.KeyASecretTest)
	if _, err := srv.Sandbox.AddWebhook(sandbox.KeyAPublicTest, "http://127.0.0.1:1/"); !errors.Is(err, sandbox.ErrWebhookKey) {
		t.Errorf("public key: %v", err)
	}
	if _, err := srv.Sandbox.AddWebhook("sk_test_nope", "http://127.0.0.1:1/"); !errors.Is(err, sandbox.ErrWebhookKey) {
		t.Errorf("unknown key: %v", err)
	}
	if _, err := srv.Sandbox.AddWebhook(sandbox.KeyASecretTest, "127.0.0.1:1"); !errors.Is(err, sandbox.ErrWebhookURL) {
		t.Errorf("bad url: %v", err)
	}
	wantError(t, do(t, "POST", u, `{"url":"http://127.0.0.1:1/"}`), 401, "No valid API key provided.")
	wantError(t, do(t, "POST", u, `{"url":"http://127.0.0.1:1/"}`, basic(sandbox.KeyAPublicTest)), 403, "The API key doesn't have permissions to perform the request.")
	badURL := "The url field must be an absolute http or https URL."
	for body, msg := range map[string]string{
		`{}`:                            "The url field is required.",
		`{"url":""}`:                    "The url field is required.",
		`{"url":"ftp://127.0.0.1/x"}`:   badURL,
		`{"url":"/relative"}`:           badURL,
		`{"url":"http://"}`:             badURL,
		`{"url":"http://a b/"}`:         badURL,
		`{"url":"http://u:p@host/"}`:    badURL,
		`{"url":"http://127.0.0.1/#x"}`: badURL,
	} {
		wantError(t, do(t, "POST", u, body, key), 400, msg)
	}
	r := do(t, "POST", u, `{"url":"http://127.0.0.1:1/","events":["x"]}`, key)
	if r.status != 400 || !strings.Contains(str(r.json(t), "message"), "unknown field") {
		t.Errorf("unknown field: %d %s", r.status, r.body)
	}
	if r := do(t, "POST", u, `{"url":`, key); r.status != 400 {
		t.Errorf("broken JSON: %d", r.status)
	}
	wantError(t, do(t, "GET", u, ""), 405, "Method GET is not allowed here; allowed: POST.")

	var ids []string
	for i := range sandbox.MaxWebhooks {
		k := sandbox.KeyASecretTest
		if i%2 == 1 {
			k = sandbox.KeyBSecretTest
		}
		r := do(t, "POST", u, `{"url":"https://127.0.0.1:1/`+itoa(int64(i))+`"}`, basic(k))
		if r.status != 201 {
			t.Fatalf("endpoint %d: %d %s", i+1, r.status, r.body)
		}
		ids = append(ids, str(r.json(t), "id"))
	}
	wantError(t, do(t, "POST", u, `{"url":"http://127.0.0.1:1/"}`, key), 400, "At most 20 webhook endpoints can be registered.")
	if _, err := srv.Sandbox.AddWebhook(sandbox.KeyASecretTest, "http://127.0.0.1:1/"); !errors.Is(err, sandbox.ErrWebhookLimit) {
		t.Errorf("21st by Go: %v", err)
	}

	wantError(t, do(t, "DELETE", u+"/"+ids[0], ""), 401, "No valid API key provided.")
	wantError(t, do(t, "DELETE", u+"/"+ids[0], "", basic(sandbox.KeyBSecretTest)), 404, `Webhook of id: "`+ids[0]+`" not found.`)
	wantError(t, do(t, "DELETE", u+"/"+ids[0], "", basic(sandbox.KeyASecretLive)), 404, `Webhook of id: "`+ids[0]+`" not found.`)
	if r := do(t, "DELETE", u+"/"+ids[0], "", key); r.status != 204 || len(r.body) != 0 {
		t.Errorf("delete: %d %s", r.status, r.body)
	}
	wantError(t, do(t, "DELETE", u+"/"+ids[0], "", key), 404, `Webhook of id: "`+ids[0]+`" not found.`)
	if n := len(srv.Sandbox.Webhooks()); n != sandbox.MaxWebhooks-1 {
		t.Errorf("%d endpoints after one delete", n)
	}
	if !srv.Sandbox.RemoveWebhook(ids[1]) || srv.Sandbox.RemoveWebhook(ids[1]) {
		t.Errorf("RemoveWebhook: want true, then false")
	}
}

func TestWebhookRemovedEndpointGetsNothing(t *testing.T) {
	srv, _ := start(t, sandbox.Options{})
	gone, kept := newReceiver(t), newReceiver(t)
	wh := addHook(t, srv, sandbox.KeyASecretTest, gone.URL)
	addHook(t, srv, sandbox.KeyASecretTest, kept.URL)
	srv.Sandbox.RemoveWebhook(wh.ID)
	push(t, srv, sandbox.KeyASecretTest, "Entfernt")
	kept.await(t, 1, nil)
	time.Sleep(50 * time.Millisecond)
	if n := len(gone.all()); n != 0 {
		t.Errorf("a removed endpoint got %d events", n)
	}
}

func TestWebhookDuplicatesFault(t *testing.T) {
	srv, clk := start(t, sandbox.Options{})
	r := do(t, "PUT", srv.URL+"/_sandbox/faults", `{"webhook_duplicates":true}`)
	if r.status != 200 || str(r.json(t), "webhook_duplicates") != "true" || !srv.Sandbox.Faults().WebhookDuplicates {
		t.Fatalf("faults: %d %s", r.status, r.body)
	}
	rc := newReceiver(t)
	addHook(t, srv, sandbox.KeyASecretTest, rc.URL)
	push(t, srv, sandbox.KeyASecretTest, "Doppelt")
	hs := rc.await(t, 2, nil)
	for _, h := range hs {
		checkHit(t, h, sandbox.EventPolicyCreated, sandbox.WebhookSecretATest)
	}
	if hs[0].delivery() != hs[1].delivery() || string(hs[0].body) != string(hs[1].body) {
		t.Errorf("duplicates differ: %s vs %s", hs[0].delivery(), hs[1].delivery())
	}
	d := awaitDelivery(t, srv.Sandbox, func(d sandbox.Delivery) bool { return d.Duplicates == 1 })
	if d.Attempts != 1 || !d.Delivered {
		t.Errorf("delivery: %+v", d)
	}
	do(t, "PUT", srv.URL+"/_sandbox/faults", `{"webhook_duplicates":false}`)
	clk.Add(time.Second)
	push(t, srv, sandbox.KeyASecretTest, "Einfach")
	rc.await(t, 3, nil)
	time.Sleep(50 * time.Millisecond)
	if n := len(rc.all()); n != 3 {
		t.Errorf("with the fault off: %d requests, want 3", n)
	}
}

func TestWebhookInfo(t *testing.T) {
	srv, clk := start(t, sandbox.Options{})
	rc := newReceiver(t)
	wh := addHook(t, srv, sandbox.KeyASecretTest, rc.URL)
	first, _ := push(t, srv, sandbox.KeyASecretTest, "Erster")
	rc.await(t, 1, nil)
	clk.Add(time.Second)
	second, _ := push(t, srv, sandbox.KeyASecretTest, "Zweiter")
	rc.await(t, 2, nil)
	awaitDelivery(t, srv.Sandbox, func(d sandbox.Delivery) bool { return d.PolicyID == second && d.Delivered })
	var info struct {
		WebhookSecrets []map[string]string `json:"webhook_secrets"`
		Webhooks       []sandbox.Webhook   `json:"webhooks"`
		Deliveries     []sandbox.Delivery  `json:"deliveries"`
		Faults         map[string]any      `json:"faults"`
	}
	r := do(t, "GET", srv.URL+"/_sandbox", "")
	if err := json.Unmarshal(r.body, &info); err != nil {
		t.Fatal(err)
	}
	if len(info.Webhooks) != 1 || info.Webhooks[0].ID != wh.ID || info.Webhooks[0].URL != rc.URL || info.Webhooks[0].Secret != sandbox.WebhookSecretATest {
		t.Errorf("webhooks: %+v", info.Webhooks)
	}
	if len(info.Deliveries) != 2 || info.Deliveries[0].PolicyID != second || info.Deliveries[1].PolicyID != first ||
		!info.Deliveries[0].Delivered || info.Deliveries[0].Attempts != 1 || info.Deliveries[0].URL != rc.URL {
		t.Errorf("deliveries (newest first): %+v", info.Deliveries)
	}
	if len(info.WebhookSecrets) != 3 || info.WebhookSecrets[0]["secret"] != sandbox.WebhookSecretATest || info.WebhookSecrets[0]["secret_key"] != sandbox.KeyASecretTest {
		t.Errorf("webhook secrets: %v", info.WebhookSecrets)
	}
	if info.Faults["webhook_duplicates"] != false {
		t.Errorf("faults: %v", info.Faults)
	}
}

func TestDeliveryLogIsBounded(t *testing.T) {
	srv, clk := start(t, sandbox.Options{})
	rc := newReceiver(t)
	for range 3 {
		addHook(t, srv, sandbox.KeyASecretTest, rc.URL)
	}
	n := sandbox.DeliveryLogSize/3 + 5
	var firstAt time.Time
	for i := range n {
		clk.Add(time.Second)
		if i == 0 {
			firstAt = clk.Now()
		}
		push(t, srv, sandbox.KeyASecretTest, "Log"+itoa(int64(i)))
	}
	rc.await(t, 3*n, nil)
	ds := srv.Sandbox.Deliveries()
	if len(ds) != sandbox.DeliveryLogSize {
		t.Errorf("%d deliveries kept, want %d", len(ds), sandbox.DeliveryLogSize)
	}
	for i := 1; i < len(ds); i++ {
		if ds[i].CreatedAt.After(ds[i-1].CreatedAt) {
			t.Fatalf("deliveries not newest first at %d", i)
		}
	}
	if last := ds[len(ds)-1].CreatedAt; !last.After(firstAt) {
		t.Errorf("the first push's deliveries (%v) should have left the log", last)
	}
}

func TestWebhookClose(t *testing.T) {
	before := runtime.NumGoroutine()
	func() {
		sb, err := sandbox.New(sandbox.Options{Policies: 300, WebhookRetryBase: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		ok, failing := newReceiver(t), newReceiver(t, 500)
		if _, err := sb.AddWebhook(sandbox.KeyASecretTest, ok.URL); err != nil {
			t.Fatal(err)
		}
		if _, err := sb.AddWebhook(sandbox.KeyASecretTest, failing.URL); err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest("POST", "/push/", strings.NewReader(pushBody("Schluss")))
		req.SetBasicAuth(sandbox.KeyASecretTest, "")
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		sb.ServeHTTP(rec, req)
		if rec.Code != 200 {
			t.Fatalf("push: %d %s", rec.Code, rec.Body)
		}
		ok.await(t, 1, nil)
		failing.await(t, 1, nil)
		// One delivery now waits an hour for its retry: Close must not.
		awaitDelivery(t, sb, func(d sandbox.Delivery) bool { return d.State == sandbox.DeliveryRetrying })
		t0 := time.Now()
		if err := sb.Close(); err != nil {
			t.Fatal(err)
		}
		if el := time.Since(t0); el > 2*time.Second {
			t.Errorf("Close took %v", el)
		}
		if err := sb.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
		for _, d := range sb.Deliveries() {
			if d.State == sandbox.DeliveryRetrying || d.State == sandbox.DeliveryPending {
				t.Errorf("after Close: %+v", d)
			}
		}
		if _, err := sb.AddWebhook(sandbox.KeyASecretTest, ok.URL); !errors.Is(err, sandbox.ErrWebhookClosed) {
			t.Errorf("AddWebhook after Close: %v", err)
		}
		// The API still answers; events are no longer sent.
		rec = httptest.NewRecorder()
		req = httptest.NewRequest("POST", "/push/", strings.NewReader(pushBody("Danach")))
		req.SetBasicAuth(sandbox.KeyASecretTest, "")
		req.Header.Set("Content-Type", "application/json")
		sb.ServeHTTP(rec, req)
		if rec.Code != 200 {
			t.Errorf("push after Close: %d", rec.Code)
		}
		ok.srv.Close()
		failing.srv.Close()
		if n := len(ok.all()); n != 1 {
			t.Errorf("an event was sent after Close: %d", n)
		}
	}()
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("goroutines: %d before, %d after Close\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestCloseWithoutWebhooks(t *testing.T) {
	sb, err := sandbox.New(sandbox.Options{Policies: 100})
	if err != nil {
		t.Fatal(err)
	}
	if err := sb.Close(); err != nil {
		t.Fatal(err)
	}
	if err := sb.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestWebhooksFromEnv(t *testing.T) {
	env := map[string]string{
		"SANDBOX_WEBHOOKS":              sandbox.KeyASecretTest + "=http://127.0.0.1:9/a, " + sandbox.KeyBSecretTest + "=https://localhost/b",
		"SANDBOX_WEBHOOK_DUPLICATES":    "true",
		"SANDBOX_WEBHOOK_RETRY_BASE":    "5ms",
		"SANDBOX_WEBHOOK_TIMEOUT":       "3s",
		"SANDBOX_WEBHOOK_SCAN_INTERVAL": "250ms",
	}
	o, err := sandbox.OptionsFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	want := []sandbox.WebhookConfig{{SecretKey: sandbox.KeyASecretTest, URL: "http://127.0.0.1:9/a"}, {SecretKey: sandbox.KeyBSecretTest, URL: "https://localhost/b"}}
	if !slices.Equal(o.Webhooks, want) || !o.Faults.WebhookDuplicates || o.WebhookRetryBase != 5*time.Millisecond || o.WebhookTimeout != 3*time.Second ||
		o.WebhookScanInterval != 250*time.Millisecond {
		t.Errorf("options: %+v", o)
	}
	o.Policies = 100
	sb, err := sandbox.New(o)
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	if whs := sb.Webhooks(); len(whs) != 2 || whs[0].Secret != sandbox.WebhookSecretATest || whs[1].DistributorID != sandbox.DistributorBID {
		t.Errorf("webhooks: %+v", whs)
	}
	for name, v := range map[string]string{
		"SANDBOX_WEBHOOKS":              sandbox.KeyAPublicTest + "=http://127.0.0.1:9/",
		"SANDBOX_WEBHOOK_DUPLICATES":    "often",
		"SANDBOX_WEBHOOK_RETRY_BASE":    "soon",
		"SANDBOX_WEBHOOK_SCAN_INTERVAL": "1us",
	} {
		if _, err := sandbox.OptionsFromEnv(func(k string) string { return map[string]string{name: v}[k] }); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=%s: got %v", name, v, err)
		}
	}
	for _, v := range []string{"http://127.0.0.1:9/", sandbox.KeyASecretTest + "=ftp://x/", "sk_test_unknown=http://127.0.0.1:9/"} {
		if _, err := sandbox.OptionsFromEnv(func(k string) string { return map[string]string{"SANDBOX_WEBHOOKS": v}[k] }); err == nil {
			t.Errorf("SANDBOX_WEBHOOKS=%s: want an error", v)
		}
	}
	if _, err := sandbox.New(sandbox.Options{Policies: 100, Webhooks: []sandbox.WebhookConfig{{SecretKey: sandbox.KeyAPublicTest, URL: "http://127.0.0.1:9/"}}}); err == nil {
		t.Errorf("New with a public key's webhook: want an error")
	}
}

// TestOrdersSurviveMutations checks that the cached orders a sync pages
// through stay right across a push and a completed cancellation, which
// update them in place rather than re-sorting.
func TestOrdersSurviveMutations(t *testing.T) {
	srv, clk := start(t, sandbox.Options{})
	key := basic(sandbox.KeyASecretTest)
	all := func(sort string) []map[string]any {
		var out []map[string]any
		cursor := ""
		for {
			q := "?limit=100&sort=" + sort
			if cursor != "" {
				q += "&offset_policy_id=" + cursor
			}
			p := list(t, srv, q, key, acceptV2())
			out = append(out, p.Data...)
			if len(p.Data) < 100 {
				return out
			}
			cursor = str(p.Data[len(p.Data)-1], "insurer_policy_id")
		}
	}
	sorts := []string{"status,last_name", "-created_at", "created_at"}
	for _, s := range sorts {
		all(s) // caches the order
	}
	r := do(t, "POST", cancelURL(srv.KaskoURL, sandbox.FixturePolicyID), cancelBody, key, acceptV2(), header("If-Match", sandbox.FixtureVersionID))
	if r.status != http.StatusAccepted {
		t.Fatalf("cancel: %d", r.status)
	}
	clk.Add(time.Second)
	newID, _ := push(t, srv, sandbox.KeyASecretTest, "Neu") // settles the cancellation too
	for _, s := range sorts {
		rows := all(s)
		ids := map[string]bool{}
		for i, d := range rows {
			if ids[str(d, "id")] {
				t.Fatalf("%s: %s listed twice", s, str(d, "id"))
			}
			ids[str(d, "id")] = true
			if i == 0 {
				continue
			}
			a, b := rows[i-1], d
			var ok bool
			switch s {
			case "status,last_name":
				ok = str(a, "status") < str(b, "status") || str(a, "status") == str(b, "status") && str(a, "last_name") <= str(b, "last_name")
			case "-created_at":
				ok = str(a, "created_at") >= str(b, "created_at")
			default:
				ok = str(a, "created_at") <= str(b, "created_at")
			}
			if !ok {
				t.Fatalf("%s: rows %d and %d out of order", s, i-1, i)
			}
		}
		if !ids[newID] || !ids[sandbox.FixturePolicyID] {
			t.Errorf("%s: pushed or cancelled policy missing", s)
		}
	}
	var st string
	for _, d := range all("status,last_name") {
		if str(d, "id") == sandbox.FixturePolicyID {
			st = str(d, "status")
		}
	}
	if st != "cancelled" {
		t.Errorf("cancelled fixture listed as %q", st)
	}
}

// syncBuffer is a log sink shared by the sandbox's goroutines and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestWebhookQueueFullDrops(t *testing.T) {
	var logs syncBuffer
	srv, clk := start(t, sandbox.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	rc := newReceiver(t)
	rc.delay = 10 * time.Second // every sender stuck: the queue only fills
	for range sandbox.MaxWebhooks {
		addHook(t, srv, sandbox.KeyASecretTest, rc.URL)
	}
	pushes := sandbox.WebhookQueueSize/sandbox.MaxWebhooks + 2
	for i := range pushes {
		clk.Add(time.Second)
		t0 := time.Now()
		push(t, srv, sandbox.KeyASecretTest, "Voll"+itoa(int64(i)))
		if el := time.Since(t0); el > 2*time.Second {
			t.Fatalf("push %d took %v with a full queue", i, el)
		}
	}
	ds := srv.Sandbox.Deliveries()
	if ds[0].State != sandbox.DeliveryDropped || ds[0].LastError != "the delivery queue was full" || ds[0].Attempts != 0 {
		t.Errorf("newest delivery: %+v", ds[0])
	}
	if !strings.Contains(logs.String(), "webhook queue full") {
		t.Errorf("no warning logged: %s", logs.String())
	}
	_ = srv.Sandbox.Close() // frees the receiver's stuck requests
}
