package sandbox_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"backoffice/internal/sandbox"
	"backoffice/internal/sandbox/sandboxtest"
)

const v2 = "application/vnd.kasko.v2+json"

// clock is a fake clock the tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type reqOpt func(*http.Request)

func basic(key string) reqOpt { return func(r *http.Request) { r.SetBasicAuth(key, "") } }
func bearer(key string) reqOpt {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+key) }
}
func header(k, v string) reqOpt { return func(r *http.Request) { r.Header.Set(k, v) } }
func acceptV2() reqOpt          { return header("Accept", v2) }

type result struct {
	status int
	header http.Header
	body   []byte
}

func (r result) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v: %s", err, r.body)
	}
	return m
}

func do(t *testing.T, method, url, body string, opts ...reqOpt) result {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	for _, o := range opts {
		o(req)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	if res.Header.Get("X-Request-Id") == "" {
		t.Errorf("%s %s: no X-Request-Id", method, url)
	}
	return result{status: res.StatusCode, header: res.Header, body: b}
}

// wantError asserts a status and the exact KASKO error envelope.
func wantError(t *testing.T, r result, status int, msg string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status: got %d, want %d (%s)", r.status, status, r.body)
	}
	want := map[string]any{"status": http.StatusText(status), "message": msg}
	var got map[string]any
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatalf("error body: %v: %s", err, r.body)
	}
	if len(got) != 2 || got["status"] != want["status"] || got["message"] != want["message"] {
		t.Errorf("error body: got %s, want %v", r.body, want)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("content type: got %q, want application/json", ct)
	}
}

func wantPushError(t *testing.T, r result, status int, msg string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status: got %d, want %d (%s)", r.status, status, r.body)
	}
	var got map[string]any
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatalf("error body: %v: %s", err, r.body)
	}
	if len(got) != 1 || got["errorMessage"] != msg {
		t.Errorf("error body: got %s, want errorMessage %q", r.body, msg)
	}
}

func start(t *testing.T, opts sandbox.Options) (*sandboxtest.Server, *clock) {
	t.Helper()
	c := newClock()
	if opts.Now == nil {
		opts.Now = c.Now
	}
	if opts.Policies == 0 {
		opts.Policies = 300
	}
	return sandboxtest.Start(t, opts), c
}

type listPage struct {
	Data []map[string]any `json:"data"`
	Meta struct {
		Total int    `json:"total"`
		Count int    `json:"count"`
		Limit int    `json:"limit"`
		Sort  string `json:"sort"`
	} `json:"meta"`
}

func list(t *testing.T, srv *sandboxtest.Server, query string, opts ...reqOpt) listPage {
	t.Helper()
	r := do(t, "GET", srv.KaskoURL+"/policies"+query, "", opts...)
	if r.status != http.StatusOK {
		t.Fatalf("list %s: got %d: %s", query, r.status, r.body)
	}
	var p listPage
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatalf("list %s: %v", query, err)
	}
	return p
}

func str(m map[string]any, path ...string) string {
	var cur any = m
	for _, k := range path {
		mm, ok := cur.(map[string]any)
		if !ok {
			return ""
		}
		cur = mm[k]
	}
	switch v := cur.(type) {
	case string:
		return v
	case nil:
		return ""
	default:
		b, _ := json.Marshal(v)
		return string(b)
	}
}
