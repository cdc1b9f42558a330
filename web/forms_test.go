package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"backoffice/handlers"
	"backoffice/internal/sandbox"
	"backoffice/internal/tokens"
	"backoffice/web"
	"backoffice/web/webtest"
)

// countingTokens counts the records a store holds, created minus the
// ones it reports gone, so that a test sees what a session made it keep.
type countingTokens struct {
	tokens.Store
	created int
}

func (c *countingTokens) Create(ctx context.Context, r tokens.Record, perOwner int) error {
	c.created++
	return c.Store.Create(ctx, r, perOwner)
}

// formGetter serves GET path in process as the signed-in browser b.
func formGetter(t testing.TB, srv *webtest.Server, path string) func() int {
	b := srv.SignedIn(t, sandbox.KeyASecretTest)
	req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range b.Client().Jar.Cookies(req.URL) {
		req.AddCookie(c)
	}
	req.Header.Set("Accept-Language", "en")
	return func() int {
		rec := httptest.NewRecorder()
		srv.Handler.ServeHTTP(rec, req.Clone(context.Background()))
		return rec.Code
	}
}

// TestFormViewsDoNotGrowTheStore: 30,000 views of the new-policy form in
// one session keep one open form token: reopening a form reuses it.
func TestFormViewsDoNotGrowTheStore(t *testing.T) {
	if testing.Short() {
		t.Skip("30,000 requests")
	}
	store := &countingTokens{Store: tokens.NewMemory()}
	srv := webtest.NewServer(t, webtest.Options{Sandbox: sandbox.Options{Policies: 20}, Tokens: store})
	get := formGetter(t, srv, "/policies/new")
	const views = 30_000
	start := time.Now()
	for i := range views {
		if code := get(); code != http.StatusOK {
			t.Fatalf("view %d = %d", i, code)
		}
	}
	t.Logf("%d form views in %v", views, time.Since(start))
	if store.created != 1 {
		t.Errorf("%d form views created %d tokens, want 1 (the open form, reused)", views, store.created)
	}
	if store.created > handlers.MaxOpenForms {
		t.Errorf("the session holds more than %d open forms", handlers.MaxOpenForms)
	}
}

// BenchmarkNewPolicyForm serves GET /policies/new in process, on a fresh
// store and after 30,000 views in the same session: the two must not
// differ (the form token is reused, nothing piles up).
func BenchmarkNewPolicyForm(b *testing.B) {
	for _, warm := range []int{0, 30_000} {
		name := "fresh"
		if warm > 0 {
			name = "after-30000"
		}
		b.Run(name, func(b *testing.B) {
			srv := webtest.NewServer(b, webtest.Options{Sandbox: sandbox.Options{Policies: 20}})
			get := formGetter(b, srv, "/policies/new")
			for range warm {
				get()
			}
			b.ResetTimer()
			for b.Loop() {
				if code := get(); code != http.StatusOK {
					b.Fatalf("GET = %d", code)
				}
			}
		})
	}
}

// TestDrainWaitsForDetachedWrites: a cancellation whose browser left is
// still running upstream when the instance is told to stop; Drain
// returns only once it has finished and is on the record.
func TestDrainWaitsForDetachedWrites(t *testing.T) {
	srv := webtest.NewServer(t, webtest.Options{Sandbox: sandbox.Options{Policies: 20}, UpstreamTimeout: 5 * time.Second})
	b := srv.SignedIn(t, sandbox.KeyASecretTest)
	path := "/policies/" + sandbox.FixturePolicyID + "/cancel"
	form := b.Page(t, path, http.StatusOK)
	token := form.Doc.Find(`[data-testid="cancel-form"] input[name="token"]`).AttrOr("value", "")
	srv.Upstream.Sandbox.SetFaults(sandbox.Faults{Latency: time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, _ = b.PostContext(ctx, path, url.Values{"token": {token}, "step": {"confirm"}, "reason": {"customer_request"}, "termination_date": {"2026-12-01"}})
	if n := len(srv.AuditEntries(t)); n != 0 {
		t.Fatalf("the write is on the record before the insurer answered (%d entries)", n)
	}
	app, ok := srv.Handler.(*web.Server)
	if !ok {
		t.Fatalf("the dashboard's handler is a %T", srv.Handler)
	}
	app.StopAccepting()
	drainCtx, stop := context.WithTimeout(context.Background(), 5*time.Second)
	defer stop()
	if !app.Drain(drainCtx) {
		t.Fatal("Drain gave up on the write")
	}
	if e := srv.AuditEntries(t); len(e) != 1 || e[0].Outcome != "accepted" {
		t.Errorf("after Drain the audit log has %+v, want the accepted cancellation", e)
	}
}
