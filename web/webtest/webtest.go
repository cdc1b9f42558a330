// Package webtest serves the whole dashboard (real handlers, middleware,
// sessions in memory) in front of a sandbox upstream on loopback, for
// handler tests that speak HTTP and parse HTML.
package webtest

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"backoffice/apiclient/casco"
	"backoffice/apiclient/kasko"
	"backoffice/apiclient/push"
	"backoffice/handlers"
	cascopages "backoffice/handlers/casco"
	kaskopages "backoffice/handlers/kasko"
	"backoffice/handlers/webhooks"
	"backoffice/internal/audit"
	"backoffice/internal/exports"
	"backoffice/internal/i18n"
	"backoffice/internal/index"
	"backoffice/internal/indexsync"
	"backoffice/internal/paths"
	"backoffice/internal/quotes"
	"backoffice/internal/sandbox"
	"backoffice/internal/sandbox/sandboxtest"
	"backoffice/internal/savedviews"
	"backoffice/internal/session"
	"backoffice/internal/throttle"
	"backoffice/internal/tokens"
	"backoffice/static"
	"backoffice/web"
)

// Options adjust the dashboard under test.
type Options struct {
	// Sandbox options for the upstream (Policies 0 means the default 2500).
	Sandbox sandbox.Options
	// Features overrides which features are on; zero value: KASKO, push
	// and CASCO on, in sandbox mode, with the demo credentials listed.
	Features *handlers.Features
	// UpstreamTimeout bounds client calls (default 2s).
	UpstreamTimeout time.Duration
	// IdleTimeout of sessions (default 30m).
	IdleTimeout time.Duration
	// Audit is the audit log (default: a fresh one in memory).
	Audit audit.Log
	// Quotes is the quote history (default: a fresh one in memory).
	Quotes quotes.Store
	// Tokens keeps the form tokens (default: a fresh store in memory).
	Tokens tokens.Store
	// WriteTimeout bounds a detached upstream write (default: web's).
	WriteTimeout time.Duration
	// Throttle guards both sign-in forms (default: none).
	Throttle *throttle.Guard
	// Index turns the policy index on: a SQLite index in a temporary
	// folder, synced with the demo secret keys, fed by the sandbox's
	// webhooks; NewServer returns once every tenant's first sync is done.
	Index bool
	// IndexPoll is the sync's head poll interval (default 1s).
	IndexPoll time.Duration
	// IndexKeys are the keys the index syncs (default: every demo secret
	// key).
	IndexKeys []string
	// SavedViews keeps the list's saved views (default: a SQLite store
	// in a temporary folder, shared with SecondInstance).
	SavedViews savedviews.Store
	// Exports keeps export jobs (default with Index: a SQLite store in a
	// temporary folder; a second instance shares it).
	Exports *exports.Store
}

// Server is a running dashboard and its upstream.
type Server struct {
	URL      string
	Upstream *sandboxtest.Server
	Sessions *session.Manager
	Audit    audit.Log
	Quotes   quotes.Store
	Tokens   tokens.Store
	// Handler is the dashboard itself, for tests that call it in process.
	Handler http.Handler
	// Index and Syncer are the policy index and its sync (Options.Index).
	Index  index.Store
	Syncer *indexsync.Syncer
	// Exports is the export job store (Options.Exports).
	Exports *exports.Store

	opts Options
}

// NewServer starts the dashboard and its sandbox; both stop with the test.
func NewServer(t testing.TB, opts Options) *Server {
	t.Helper()
	up := sandboxtest.Start(t, opts.Sandbox)
	sessions, err := session.New(session.Config{Store: "memory", Secret: []byte("webtest-secret-webtest-secret-32"), IdleTimeout: opts.IdleTimeout})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sessions.Close() })
	if opts.Quotes == nil {
		opts.Quotes = quotes.NewMemory()
	}
	if opts.Audit == nil {
		opts.Audit = audit.NewMemory()
	}
	if opts.Tokens == nil {
		opts.Tokens = tokens.NewMemory()
	}
	s := &Server{Upstream: up, Sessions: sessions, Audit: opts.Audit, Quotes: opts.Quotes, Tokens: opts.Tokens, opts: opts}
	if opts.Index {
		idx, err := index.Open(context.Background(), index.Config{Path: filepath.Join(t.TempDir(), "index.db")})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { idx.Close() })
		s.Index = idx
		if opts.Exports == nil {
			ex, err := exports.Open(context.Background(), exports.Config{Path: filepath.Join(t.TempDir(), "exports.db")})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { ex.Close() })
			opts.Exports = ex
		}
	}
	s.Exports = opts.Exports
	if s.opts.SavedViews == nil {
		views, err := savedviews.Open(context.Background(), savedviews.Config{Path: filepath.Join(t.TempDir(), "savedviews.db")})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { views.Close() })
		s.opts.SavedViews = views
	}
	s.start(t)
	if opts.Index {
		s.WaitIndexed(t)
	}
	return s
}

// WaitIndexed waits for every demo tenant's first full sync.
func (s *Server) WaitIndexed(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(60 * time.Second)
	for _, c := range s.Upstream.Sandbox.Credentials() {
		if !s.indexes(c) {
			continue
		}
		tenant := indexsync.TenantOf(c.Key, c.DistributorID)
		for {
			st, err := s.Index.SyncState(ctx, tenant)
			if err != nil {
				t.Fatal(err)
			}
			if !st.FullDone.IsZero() {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("index: %s not synced within 60s (state %+v)", tenant, st)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// SecondInstance starts another dashboard in front of the same sandbox,
// sharing what several instances share (sessions, audit log, quote
// history, form tokens) and nothing else: its own upstream clients and
// caches, as another process behind a load balancer has. A browser's
// cookies work on both (cookies do not depend on the port).
func (s *Server) SecondInstance(t testing.TB) *Server {
	t.Helper()
	other := &Server{Upstream: s.Upstream, Sessions: s.Sessions, Audit: s.Audit, Quotes: s.Quotes, Tokens: s.Tokens, Index: s.Index, Syncer: s.Syncer, Exports: s.Exports, opts: s.opts}
	other.start(t)
	return other
}

// start serves a dashboard over s's stores and sandbox.
func (s *Server) start(t testing.TB) {
	t.Helper()
	opts, up := s.opts, s.Upstream
	timeout := opts.UpstreamTimeout
	if timeout == 0 {
		timeout = 2 * time.Second
	}
	kc, err := kasko.New(up.KaskoURL, kasko.WithTimeout(timeout))
	if err != nil {
		t.Fatal(err)
	}
	pc, err := push.New(up.PushURL, push.WithTimeout(timeout))
	if err != nil {
		t.Fatal(err)
	}
	cc, err := casco.New(up.CascoURL, casco.WithTimeout(timeout))
	if err != nil {
		t.Fatal(err)
	}
	assets, err := static.New()
	if err != nil {
		t.Fatal(err)
	}
	catalog, err := i18n.New()
	if err != nil {
		t.Fatal(err)
	}
	features := handlers.Features{Kasko: true, Push: true, Casco: true, SandboxURL: up.URL + "/_sandbox"}
	for _, a := range up.Sandbox.CascoAccounts() {
		features.DemoPartners = append(features.DemoPartners, handlers.DemoPartner{Account: a.Account, Password: a.Password, Name: a.Name})
	}
	for _, c := range up.Sandbox.Credentials() {
		features.DemoKeys = append(features.DemoKeys, handlers.DemoKey{Key: c.Key, Distributor: c.DistributorName, Kind: c.Kind, Mode: c.Mode})
	}
	if opts.Features != nil {
		features = *opts.Features
	}
	srv := httptest.NewUnstartedServer(nil)
	var hooks http.Handler
	var poke func(string)
	if s.Index != nil {
		hooks, poke = s.startIndex(t, kc, "http://"+srv.Listener.Addr().String())
	}
	root, err := web.New(web.Config{
		Tokens:       s.Tokens,
		WriteTimeout: opts.WriteTimeout,
		Sessions:     s.Sessions,
		Assets:       assets,
		Catalog:      catalog,
		Features:     features,
		Kasko: kaskopages.Deps{
			Kasko:          func(key string) kaskopages.PolicyAPI { return kc.WithKey(key) },
			Push:           func(key string) kaskopages.PushAPI { return pc.WithKey(key) },
			PushVariants:   []kaskopages.PushVariant{{ID: sandbox.ARAGVariantID, Name: "ARAG AS24", Zone: "Europe/Berlin"}, {ID: "BackdatedVariant0000000000000000", Name: "Backdated test variant", Zone: "Europe/Berlin", AllowPastStart: true}},
			Audit:          s.Audit,
			SortableFields: sandbox.SortableFields(),
			ProductNames:   productNames(up.Sandbox.Products()),
			Throttle:       opts.Throttle,
			Index:          s.Index,
			Poke:           poke,
			SavedViews:     opts.SavedViews,
			Exports:        exportJobs(s.Exports),
		},
		Casco:    cascopages.Deps{Casco: cc, Quotes: s.Quotes, Audit: s.Audit, Throttle: opts.Throttle},
		Webhooks: hooks,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = root
	srv.Start()
	t.Cleanup(srv.Close)
	s.URL, s.Handler = srv.URL, root
}

// On is the same browser (its cookies, its session) talking to another
// instance.
func (b *Browser) On(s *Server) *Browser {
	other := *b
	other.srv = s
	return &other
}

// Response is an answer, with its HTML parsed when it is HTML.
type Response struct {
	Status int
	Header http.Header
	Body   string
	Doc    *goquery.Document
}

// Browser is a cookie-keeping client that does not follow redirects, so
// tests see each 303 and its Location.
type Browser struct {
	t      testing.TB
	srv    *Server
	client *http.Client
	// Header is sent with every request (e.g. Accept-Language).
	Header http.Header
}

// NewBrowser returns a fresh client with an empty cookie jar.
func (s *Server) NewBrowser(t testing.TB) *Browser {
	jar, _ := cookiejar.New(nil)
	return &Browser{t: t, srv: s, Header: http.Header{}, client: &http.Client{
		Jar:           jar,
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// Client is the browser's HTTP client: its cookie jar holds the session,
// and it does not follow redirects. For callers that need the raw answer
// (a compressed body, its exact size), which Do does not give.
func (b *Browser) Client() *http.Client { return b.client }

// Do sends req with the browser's headers and cookies.
func (b *Browser) Do(req *http.Request) Response {
	b.t.Helper()
	for k, v := range b.Header {
		req.Header[k] = v
	}
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	r := Response{Status: resp.StatusCode, Header: resp.Header, Body: string(body)}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		// templ writes this class for a value of a type it cannot print
		// (a named string type given to class={…} without string()).
		if strings.Contains(r.Body, "templ-css-class-unknown-type") {
			b.t.Errorf("%s %s: a class attribute was given a value templ cannot print", req.Method, req.URL.Path)
		}
		r.Doc, err = goquery.NewDocumentFromReader(strings.NewReader(r.Body))
		if err != nil {
			b.t.Fatal(err)
		}
	}
	return r
}

// Get fetches path (relative to the dashboard); extra headers as pairs.
func (b *Browser) Get(path string, header ...string) Response {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.srv.URL+path, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return b.Do(req)
}

// PostContext is Post bound to ctx, as a browser that may give up on the
// request: it returns the error instead of failing the test.
func (b *Browser) PostContext(ctx context.Context, path string, form url.Values, header ...string) (Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		return Response{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	for k, v := range b.Header {
		req.Header[k] = v
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return Response{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return Response{}, err
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: string(body)}, nil
}

// DoubleSubmit posts form to path twice as a person double-clicking on a
// slow connection does: the first request is abandoned by the browser
// after gap (the second click navigates away from it), the second is sent
// then and its answer returned.
func (b *Browser) DoubleSubmit(path string, form url.Values, gap time.Duration, header ...string) Response {
	b.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	first := make(chan struct{})
	go func() {
		defer close(first)
		_, _ = b.PostContext(ctx, path, form, header...)
	}()
	time.Sleep(gap)
	cancel()
	<-first
	return b.Post(path, form, header...)
}

// Post submits a form to path as the dashboard's own page would
// (same-origin), with extra headers as pairs.
func (b *Browser) Post(path string, form url.Values, header ...string) Response {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return b.Do(req)
}

// SignIn signs the browser in with key and fails the test unless it works.
func (b *Browser) SignIn(key string) {
	b.t.Helper()
	r := b.Post("/signin", url.Values{"key": {key}})
	if r.Status != http.StatusSeeOther {
		b.t.Fatalf("sign-in with %s… = %d, want 303\n%.500s", key[:8], r.Status, r.Body)
	}
}

// SignedIn returns an English-speaking browser signed in with key.
func (s *Server) SignedIn(t testing.TB, key string) *Browser {
	t.Helper()
	b := s.NewBrowser(t)
	b.Header.Set("Accept-Language", "en")
	b.SignIn(key)
	return b
}

// Page fetches path and fails the test unless the answer has status want
// and is HTML.
// t is the caller's: a browser made by a parent test may be used in a
// subtest, which must fail itself, not its parent.
func (b *Browser) Page(t testing.TB, path string, want int, header ...string) Response {
	t.Helper()
	r := b.Get(path, header...)
	if r.Status != want {
		t.Fatalf("GET %s = %d, want %d\n%.800s", path, r.Status, want, r.Body)
	}
	if r.Doc == nil {
		t.Fatalf("GET %s: not HTML (Content-Type %q)", path, r.Header.Get("Content-Type"))
	}
	return r
}

// Squash collapses the whitespace templ leaves between inline elements.
func Squash(s string) string { return strings.Join(strings.Fields(s), " ") }

// Text is the squashed text of sel.
func Text(sel *goquery.Selection) string { return Squash(sel.Text()) }

// AuditEntries lists the audit log's entries, newest first (at most 100).
func (s *Server) AuditEntries(t testing.TB) []audit.Entry {
	t.Helper()
	p, err := s.Audit.List(context.Background(), audit.Filter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return p.Entries
}

func productNames(products []sandbox.Product) map[string]string {
	names := make(map[string]string, len(products))
	for _, p := range products {
		names[p.ProductID] = p.Name
	}
	return names
}

// startIndex starts the sync of s's index with the demo secret keys and
// registers a webhook per tenant with the sandbox, to self; it returns
// the receiver and the sync's poke. Only the first instance syncs (as
// with a lease, the others read).
func (s *Server) startIndex(t testing.TB, kc *kasko.Client, self string) (http.Handler, func(string)) {
	t.Helper()
	var keys []string
	secrets := map[string][]string{}
	for _, c := range s.Upstream.Sandbox.Credentials() {
		if !s.indexes(c) {
			continue
		}
		keys = append(keys, c.Key)
		tenant := indexsync.TenantOf(c.Key, c.DistributorID)
		hook, err := s.Upstream.Sandbox.AddWebhook(c.Key, self+paths.WebhooksKasko+"?tenant="+url.QueryEscape(tenant))
		if err != nil {
			t.Fatal(err)
		}
		secrets[tenant] = append(secrets[tenant], hook.Secret)
	}
	if s.Syncer == nil {
		poll := s.opts.IndexPoll
		if poll == 0 {
			poll = time.Second
		}
		syncer, err := indexsync.New(indexsync.Config{Store: s.Index, Client: kc, Keys: keys, Rate: 1000, PollEvery: poll,
			BackoffMin: 50 * time.Millisecond, BackoffMax: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); syncer.Run(ctx) }()
		t.Cleanup(func() { cancel(); <-done })
		s.Syncer = syncer
	}
	hooks := webhooks.New(webhooks.Deps{Store: s.Index, Secrets: secrets, Key: s.Syncer.Key, Get: webhooks.GetWith(kc)})
	return hooks, s.Syncer.Poke
}

// indexes reports whether the index syncs with demo credential c.
func (s *Server) indexes(c sandbox.Credential) bool {
	if len(s.opts.IndexKeys) > 0 {
		return slices.Contains(s.opts.IndexKeys, c.Key)
	}
	return c.Kind == "secret"
}

// exportJobs hands a store to the handlers, nil as nil (an interface
// holding a nil pointer is not nil).
func exportJobs(s *exports.Store) kaskopages.ExportJobs {
	if s == nil {
		return nil
	}
	return s
}
