package webhooks_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"backoffice/internal/index"
	"backoffice/internal/indexsync"
	"backoffice/internal/sandbox"
	"backoffice/web/webtest"
)

// BenchmarkWebhookToRow measures how long a change upstream takes to
// show in the dashboard's index through a webhook alone: from the moment
// the sandbox changed the policy (its delivery's CreatedAt, the sandbox
// clock being the wall clock) to the moment the index returns the row as
// changed. The index's head poll is set to an hour so that the webhook,
// not the poll, is what gets measured.
//
//   - created: a policy pushed through the push API (policy.created);
//   - cancelled: a paid policy cancelled through the KASKO API, from the
//     cancellation's completion (policy.updated) to the row's status
//     cancelled.
//
// BENCH_WEBHOOK_SAMPLES sets the samples per run (default 30, at most
// 200, the sandbox's delivery log); each wait is bounded by
// webhookWaitMax.
func BenchmarkWebhookToRow(b *testing.B) {
	samples := 30
	if v := os.Getenv("BENCH_WEBHOOK_SAMPLES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > sandbox.DeliveryLogSize {
			b.Fatalf("BENCH_WEBHOOK_SAMPLES=%q: want 1..%d", v, sandbox.DeliveryLogSize)
		}
		samples = n
	}
	srv := webtest.NewServer(b, webtest.Options{
		Index:     true,
		IndexPoll: time.Hour,
		// Short, so that a sample does not wait long for its completion;
		// not zero, which would complete it within the cancel request.
		Sandbox: sandbox.Options{CancelDelay: 100 * time.Millisecond},
	})
	h := &hookBench{
		srv:    srv,
		key:    sandbox.KeyASecretTest,
		tenant: indexsync.TenantOf(sandbox.KeyASecretTest, sandbox.DistributorAID),
		client: &http.Client{Timeout: 10 * time.Second},
	}

	b.Run("created", func(b *testing.B) {
		var lat []time.Duration
		for i := range b.N {
			for j := range samples {
				lat = append(lat, h.created(b, fmt.Sprintf("Bench%dx%d", i, j)))
			}
		}
		reportLatencies(b, lat)
	})
	b.Run("cancelled", func(b *testing.B) {
		var lat []time.Duration
		for range b.N {
			for range samples {
				lat = append(lat, h.cancelled(b))
			}
		}
		reportLatencies(b, lat)
	})
}

// webhookWaitMax bounds every wait of one sample; a webhook slower than
// this is a failure, not a figure.
const webhookWaitMax = 10 * time.Second

// webhookPollEvery is how often the index (and the delivery log) is
// looked at: the figures' resolution.
const webhookPollEvery = time.Millisecond

type hookBench struct {
	srv    *webtest.Server
	key    string
	tenant string
	client *http.Client
}

// created pushes a policy held by first and returns the time from its
// creation upstream to its row in the index.
func (h *hookBench) created(b *testing.B, first string) time.Duration {
	b.Helper()
	seen := h.deliveryIDs()
	start := time.Now().AddDate(0, 1, 0).Format(time.DateOnly)
	body := `{"variant_id":"` + sandbox.ARAGVariantID + `","input":{"first_name":"` + first +
		`","last_name":"Webhook","email":"bench@example.com","data":{"start_date":"` + start + `","vin":"WVWZZZ1KZ8W006165"}}}`
	status, answer := h.do(b, http.MethodPost, h.srv.Upstream.PushURL+"/", body, "Content-Type", "application/json")
	if status != http.StatusOK {
		b.Fatalf("push: %d %s", status, answer)
	}
	d := h.newDelivery(b, seen, sandbox.EventPolicyCreated, "")
	row, at := h.waitRow(b, d.PolicyID, func(r index.Row) bool { return true })
	if row.FirstName != first {
		b.Fatalf("row %s: holder %q, want %q: the delivery found is not the push's", d.PolicyID, row.FirstName, first)
	}
	return at.Sub(d.CreatedAt)
}

// cancelled cancels the newest paid policy the index holds and returns
// the time from the cancellation's completion upstream to the row's
// status cancelled.
func (h *hookBench) cancelled(b *testing.B) time.Duration {
	b.Helper()
	ctx := context.Background()
	notExpired := false
	page, err := h.srv.Index.Search(ctx, index.Query{Tenant: h.tenant, Status: []string{"paid"}, Expired: &notExpired, Sort: "-" + index.SortCreated, Limit: 1})
	if err != nil {
		b.Fatal(err)
	}
	if len(page.Rows) == 0 {
		b.Fatal("no paid policy left to cancel")
	}
	id := page.Rows[0].ID
	status, answer, etag := h.get(b, id)
	if status != http.StatusOK || etag == "" {
		b.Fatalf("GET %s: %d (ETag %q) %s", id, status, etag, answer)
	}
	seen := h.deliveryIDs()
	status, answer = h.do(b, http.MethodPost, h.srv.Upstream.KaskoURL+"/policies/"+id+"/cancel",
		`{"cancellation_reason":"Benchmark","termination_date":"`+time.Now().AddDate(0, 0, 7).Format(time.DateOnly)+`"}`,
		"Content-Type", "application/json", "If-Match", etag)
	if status != http.StatusAccepted {
		b.Fatalf("cancel %s: %d %s", id, status, answer)
	}
	d := h.newDelivery(b, seen, sandbox.EventPolicyUpdated, id)
	_, at := h.waitRow(b, id, func(r index.Row) bool { return r.Status == "cancelled" })
	return at.Sub(d.CreatedAt)
}

// do sends a KASKO-style request with the secret key; header as pairs.
func (h *hookBench) do(b *testing.B, method, url, body string, header ...string) (int, string) {
	b.Helper()
	status, answer, _ := h.send(b, method, url, body, header...)
	return status, answer
}

// get reads a policy upstream and returns its ETag too.
func (h *hookBench) get(b *testing.B, id string) (int, string, string) {
	b.Helper()
	return h.send(b, http.MethodGet, h.srv.Upstream.KaskoURL+"/policies/"+id, "")
}

func (h *hookBench) send(b *testing.B, method, url, body string, header ...string) (int, string, string) {
	b.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+h.key)
	req.Header.Set("Accept", "application/vnd.kasko.v2+json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := h.client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(resp.Body)
	if err != nil {
		b.Fatal(err)
	}
	return resp.StatusCode, string(answer), resp.Header.Get("ETag")
}

// deliveryIDs are the deliveries the sandbox has made or queued so far.
func (h *hookBench) deliveryIDs() map[string]bool {
	ids := map[string]bool{}
	for _, d := range h.srv.Upstream.Sandbox.Deliveries() {
		ids[d.ID] = true
	}
	return ids
}

// newDelivery waits for the one delivery of event (for policy id, if
// given) that is not in seen: the sandbox records it when the policy
// changes, so its CreatedAt is when the change happened.
func (h *hookBench) newDelivery(b *testing.B, seen map[string]bool, event, id string) sandbox.Delivery {
	b.Helper()
	deadline := time.Now().Add(webhookWaitMax)
	for {
		var found []sandbox.Delivery
		for _, d := range h.srv.Upstream.Sandbox.Deliveries() {
			if !seen[d.ID] && d.Event == event && (id == "" || d.PolicyID == id) {
				found = append(found, d)
			}
		}
		switch {
		case len(found) == 1:
			return found[0]
		case len(found) > 1:
			b.Fatalf("%d new %s deliveries, want one: another endpoint or a duplicate fault?", len(found), event)
		case time.Now().After(deadline):
			b.Fatalf("no %s delivery within %s", event, webhookWaitMax)
		}
		time.Sleep(webhookPollEvery)
	}
}

// waitRow waits until the index has a row for id that ok accepts, and
// returns it and when it was first seen.
func (h *hookBench) waitRow(b *testing.B, id string, ok func(index.Row) bool) (index.Row, time.Time) {
	b.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(webhookWaitMax)
	for {
		r, err := h.srv.Index.Get(ctx, h.tenant, id)
		now := time.Now()
		switch {
		case err == nil && ok(r):
			return r, now
		case err != nil && !errors.Is(err, index.ErrNotFound):
			b.Fatal(err)
		case now.After(deadline):
			b.Fatalf("row %s not in the index as expected within %s (last: %+v, %v)", id, webhookWaitMax, r, err)
		}
		time.Sleep(webhookPollEvery)
	}
}

func reportLatencies(b *testing.B, lat []time.Duration) {
	b.Helper()
	if len(lat) == 0 {
		b.Fatal("no samples")
	}
	s := slices.Clone(lat)
	slices.Sort(s)
	at := func(p int) time.Duration { return s[min(len(s)-1, len(s)*p/100)] }
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(at(50)), "p50-ms")
	b.ReportMetric(ms(at(95)), "p95-ms")
	b.ReportMetric(ms(s[len(s)-1]), "max-ms")
	b.ReportMetric(float64(len(s)), "samples")
}
