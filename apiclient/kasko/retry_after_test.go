package kasko

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"backoffice/apiclient"
	"backoffice/internal/sandbox"
)

// TestRetryAfter checks that a 429 or 503 answer's Retry-After (seconds
// or an HTTP date) reaches the error, and nothing else does.
func TestRetryAfter(t *testing.T) {
	soon := time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)
	past := time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat)
	cases := []struct {
		name     string
		status   int
		header   string
		min, max time.Duration
	}{
		{"429 seconds", 429, "7", 7 * time.Second, 7 * time.Second},
		{"503 seconds", 503, " 120 ", 2 * time.Minute, 2 * time.Minute},
		{"503 HTTP date", 503, soon, 85 * time.Second, 90 * time.Second},
		{"429 date in the past", 429, past, 0, 0},
		{"429 zero", 429, "0", 0, 0},
		{"429 negative", 429, "-5", 0, 0},
		{"429 garbage", 429, "soon", 0, 0},
		{"429 none", 429, "", 0, 0},
		{"429 huge", 429, "99999999999999999", time.Duration(1<<63 - 1), time.Duration(1<<63 - 1)},
		{"500 with header", 500, "7", 0, 0},
		{"502 with header", 502, "7", 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.header != "" {
					w.Header().Set("Retry-After", tc.header)
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tc.status)
				w.Write([]byte(`{"status":"x","message":"Slow down."}`))
			}))
			t.Cleanup(srv.Close)
			c, err := New(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.WithKey(sandbox.KeyASecretTest).ListPolicies(context.Background(), ListParams{})
			var e *apiclient.Error
			if !errors.As(err, &e) || e.StatusCode != tc.status {
				t.Fatalf("got %v, want an *apiclient.Error with status %d", err, tc.status)
			}
			// What retrying code looks for, without naming the type.
			var ra interface{ RetryAfter() time.Duration }
			if !errors.As(err, &ra) {
				t.Fatal("the error has no RetryAfter method")
			}
			if got := ra.RetryAfter(); got < tc.min || got > tc.max {
				t.Errorf("RetryAfter() = %v, want %v..%v", got, tc.min, tc.max)
			}
		})
	}
}
