package indexsync

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"backoffice/internal/sandbox"
)

// TestRetryAfterHonoured checks that the syncer waits out an upstream's
// Retry-After (through the apiclient error's RetryAfter method) even
// when its own backoff is far shorter.
func TestRetryAfterHonoured(t *testing.T) {
	e := newEnv(t, 300)
	rt := &countingRT{base: http.DefaultTransport}
	var (
		mu sync.Mutex
		at []time.Time
	)
	rt.before = func(sort string, n int) *http.Response {
		if sort != "created_at" {
			return nil
		}
		mu.Lock()
		at = append(at, time.Now())
		mu.Unlock()
		if n == 1 {
			return &http.Response{
				StatusCode: http.StatusTooManyRequests,
				Header:     http.Header{"Content-Type": {"application/json"}, "Retry-After": {"1"}},
				Body:       io.NopCloser(strings.NewReader(`{"status":"Too Many Requests","message":"Slow down."}`)),
			}
		}
		return nil
	}
	cfg := e.fastConfig(t, rt, sandbox.KeyASecretTest) // backoff 2-20 ms
	start(t, cfg)
	e.waitSynced(t, tenantATest)
	mu.Lock()
	defer mu.Unlock()
	if len(at) < 2 {
		t.Fatalf("%d full-sync requests", len(at))
	}
	if gap := at[1].Sub(at[0]); gap < time.Second {
		t.Errorf("retried %v after a 429 with Retry-After: 1, want at least 1s", gap)
	}
}
