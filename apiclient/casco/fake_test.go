package casco_test

// fakeAPI is a CascoApi stand-in that follows the contract to the letter
// (section 3) for what the sandbox cannot be made to do on demand: hold a
// renewal open while fifty calls pile up, answer a PATCH with 503, send
// malformed or huge documents, echo secrets back.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"backoffice/apiclient"
	"backoffice/apiclient/casco"
)

const (
	testAccount  = "broker7"
	testPassword = "Pa55-w0rd-secret"
)

// clock is a settable test clock shared by the fake and the client.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 9, 3, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// mkJWT builds an (unsigned, as far as the client can tell) HS256-shaped
// token with exp and iat; n makes each one distinct.
func mkJWT(exp, iat time.Time, n int) string {
	enc := base64.RawURLEncoding.EncodeToString
	h := enc([]byte(`{"alg":"HS256","typ":"JWT"}`))
	claims := map[string]any{"sub": testAccount, "jti": fmt.Sprintf("jti-%d", n)}
	if !exp.IsZero() {
		claims["exp"] = exp.Unix()
	}
	if !iat.IsZero() {
		claims["iat"] = iat.Unix()
	}
	p, _ := json.Marshal(claims)
	return h + "." + enc(p) + "." + enc([]byte(fmt.Sprintf("sig-%d", n)))
}

type fakeAPI struct {
	t     *testing.T
	clock *clock
	ttl   time.Duration // access token lifetime

	mu      sync.Mutex
	n       int
	access  map[string]bool // live access tokens
	refresh map[string]bool // live refresh tokens

	logins, patches, deletes atomic.Int32
	// patchGate, when set, holds every PATCH until it is closed.
	patchGate chan struct{}
	// patchStatus and deleteStatus, when set, are the status every
	// PATCH or DELETE /auth answers with.
	patchStatus, deleteStatus atomic.Int32
	// seen records "METHOD path Token-header" of every call.
	seen []string
	// routes answer authorised calls by "METHOD /path".
	routes map[string]http.HandlerFunc
}

func newFake(t *testing.T, clk *clock) (*fakeAPI, *httptest.Server) {
	t.Helper()
	f := &fakeAPI{t: t, clock: clk, ttl: 5 * time.Minute, access: map[string]bool{}, refresh: map[string]bool{},
		routes: map[string]http.HandlerFunc{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func writeEnvelope(w http.ResponseWriter, status int, data any, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Request-Id", fmt.Sprintf("req-%d", status))
	w.WriteHeader(status)
	body := map[string]any{"error": status >= 400, "status": status, "data": data}
	if message != "" {
		body["message"] = message
	}
	json.NewEncoder(w).Encode(body)
}

// issue mints a token pair; f.mu must be held.
func (f *fakeAPI) issue() map[string]any {
	f.n++
	now := f.clock.Now()
	exp := now.Add(f.ttl)
	tok := mkJWT(exp, now, f.n)
	rt := fmt.Sprintf("rt-%d-%x", f.n, now.UnixNano())
	f.access[tok] = true
	f.refresh[rt] = true
	bucharest, _ := time.LoadLocation("Europe/Bucharest")
	return map[string]any{"token": tok, "expires_at": exp.In(bucharest).Format(time.DateTime), "refresh_token": rt}
}

// expireAll makes every access token answer 401 (refresh tokens live on).
func (f *fakeAPI) expireAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.access)
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	tok := r.Header.Get("Token")
	f.mu.Lock()
	f.seen = append(f.seen, r.Method+" "+r.URL.Path+" "+tok)
	f.mu.Unlock()
	switch {
	case r.URL.Path == "/auth" && r.Method == http.MethodPost:
		f.logins.Add(1)
		q := r.URL.Query()
		if q.Get("account") == "" || q.Get("password") == "" {
			writeEnvelope(w, 400, map[string][]string{"account": {"The account field is required."}}, "VALIDATION_ERROR")
			return
		}
		if q.Get("account") != testAccount || q.Get("password") != testPassword || tok != "" {
			writeEnvelope(w, 401, nil, "Invalid credentials")
			return
		}
		f.mu.Lock()
		data := f.issue()
		f.mu.Unlock()
		writeEnvelope(w, 200, data, "")
	case r.URL.Path == "/auth" && r.Method == http.MethodPatch:
		f.patches.Add(1)
		if f.patchGate != nil {
			<-f.patchGate
		}
		if s := f.patchStatus.Load(); s != 0 {
			writeEnvelope(w, int(s), nil, http.StatusText(int(s)))
			return
		}
		rt, ok := strings.CutPrefix(tok, "Refresh ")
		f.mu.Lock()
		if !ok || !f.refresh[rt] {
			f.mu.Unlock()
			writeEnvelope(w, 401, nil, "Invalid refresh token")
			return
		}
		delete(f.refresh, rt) // rotation: single use
		data := f.issue()
		f.mu.Unlock()
		writeEnvelope(w, 200, data, "")
	default:
		f.mu.Lock()
		ok := f.access[tok]
		f.mu.Unlock()
		if !ok {
			writeEnvelope(w, 401, nil, "Unauthorized")
			return
		}
		if r.URL.Path == "/auth" && r.Method == http.MethodDelete {
			f.deletes.Add(1)
			if s := f.deleteStatus.Load(); s != 0 {
				writeEnvelope(w, int(s), nil, http.StatusText(int(s)))
				return
			}
			f.mu.Lock()
			delete(f.access, tok)
			f.mu.Unlock()
			writeEnvelope(w, 200, []any{}, "")
			return
		}
		h := f.routes[r.Method+" "+r.URL.Path]
		if h == nil {
			writeEnvelope(w, 404, nil, "Not found")
			return
		}
		h(w, r)
	}
}

// calls returns the recorded calls that start with prefix.
func (f *fakeAPI) calls(prefix string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, s := range f.seen {
		if strings.HasPrefix(s, prefix) {
			out = append(out, s)
		}
	}
	return out
}

func mustNew(t *testing.T, base string, opts ...casco.Option) *casco.Client {
	t.Helper()
	c, err := casco.New(base, opts...)
	if err != nil {
		t.Fatalf("New(%q): %v", base, err)
	}
	return c
}

func mustLogin(t *testing.T, c *casco.Client) *casco.Session {
	t.Helper()
	s, err := c.Login(context.Background(), testAccount, testPassword)
	if err != nil {
		t.Fatalf("Login: %v", err)
	}
	return s
}

func mustAPIError(t *testing.T, err error) *apiclient.Error {
	t.Helper()
	var e *apiclient.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *apiclient.Error", err, err)
	}
	return e
}

// counties answers GET /nomenclature/county with one county.
func counties(w http.ResponseWriter, r *http.Request) {
	writeEnvelope(w, 200, []map[string]any{{"id": 12, "siruta": 120, "code": "CJ", "name": "CLUJ", "country": "RO"}}, "")
}

func httptestServer(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// raw answers with a fixed status, content type and body.
func raw(status int, contentType, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if contentType != "" {
			w.Header().Set("Content-Type", contentType)
		}
		w.Header().Set("X-Request-Id", "req-raw")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}
