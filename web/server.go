// Package web assembles the dashboard's HTTP server: the routes, the
// middleware chain, static assets and health checks. It holds no page
// logic; that lives in handlers.
package web

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/klauspost/compress/gzhttp"

	"backoffice/handlers"
	"backoffice/handlers/casco"
	"backoffice/handlers/kasko"
	"backoffice/internal/i18n"
	"backoffice/internal/metrics"
	"backoffice/internal/paths"
	"backoffice/internal/session"
	"backoffice/internal/tokens"
	"backoffice/static"
	"backoffice/views/errorpage"
	"backoffice/views/layout"
)

// Config is everything the dashboard is assembled from: the stores and
// upstream clients that run (or a test) made, and the features they
// allow. New is the one place where they become handlers and routes, for
// the program and for the test harness alike.
type Config struct {
	Logger   *slog.Logger
	Sessions *session.Manager
	Assets   *static.Assets
	Catalog  *i18n.Catalog
	// Features are the upstream features on, and the sandbox's demo
	// credentials; Kasko and Casco what each product's pages need.
	Features handlers.Features
	Kasko    kasko.Deps
	Casco    casco.Deps
	// Tokens keeps one-time form tokens (default: in this process);
	// WriteTimeout bounds an upstream write detached from its request.
	Tokens       tokens.Store
	WriteTimeout time.Duration
	// Metrics counts for operators (nil: off).
	Metrics *metrics.Metrics
	// Upstreams are probed by /readyz.
	Upstreams []Upstream
	// Stores are checked by /readyz next to the upstreams (name → check).
	Stores map[string]func(context.Context) error
	// ProbeTimeout bounds /readyz; default 3s.
	ProbeTimeout time.Duration
	// Webhooks receives the KASKO webhooks (POST /webhooks/kasko); nil
	// answers 404: no webhook is expected.
	Webhooks http.Handler
}

// Server is the dashboard's root handler, and what a graceful shutdown
// needs of it.
type Server struct {
	http.Handler
	core   *handlers.Core
	health *health
}

// StopAccepting turns /readyz to 503 "draining": a balancer stops
// sending this instance work, while what is in flight finishes.
func (s *Server) StopAccepting() { s.health.draining.Store(true) }

// Drain waits, until ctx ends, for the upstream writes that run detached
// from their requests to finish and be recorded; it reports whether all
// did.
func (s *Server) Drain(ctx context.Context) bool { return s.core.Drain(ctx) }

// New assembles the dashboard.
func New(cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.ProbeTimeout <= 0 {
		cfg.ProbeTimeout = 3 * time.Second
	}
	hc := &health{
		upstreams: cfg.Upstreams,
		stores:    cfg.Stores,
		timeout:   cfg.ProbeTimeout,
		client: &http.Client{
			Timeout: cfg.ProbeTimeout,
			// A redirect is an answer; following it could leave the upstream.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	if cfg.Tokens == nil {
		cfg.Tokens = tokens.NewMemory()
	}
	// The CASCO pages share CascoApi renewals through the same store.
	cfg.Casco.Tokens = cfg.Tokens
	a := cfg.Assets
	// Written once, now: when a page cannot be rendered, nothing that
	// renders is trusted.
	fallback := errorpage.NewFallback(cfg.Catalog, a.Path("css/app.css"))
	core := handlers.New(handlers.Config{
		Logger:       cfg.Logger,
		Assets:       layout.Assets{CSS: a.Path("css/app.css"), HTMX: a.Path("js/htmx.min.js"), App: a.Path("js/app.js"), Favicon: a.Path("img/favicon.svg"), Palette: a.Path("js/palette.js"), PaletteCSS: a.Path("css/palette.css")},
		Features:     cfg.Features,
		Sessions:     cfg.Sessions,
		Languages:    cfg.Catalog.Languages(),
		Tokens:       cfg.Tokens,
		WriteTimeout: cfg.WriteTimeout,
		Observer:     cfg.Metrics,
		Fallback:     fallback,
	})
	app := &app{core: core, kasko: kasko.New(core, cfg.Kasko), casco: casco.New(core, cfg.Casco), webhooks: cfg.Webhooks}
	if app.webhooks == nil {
		app.webhooks = http.NotFoundHandler()
	}
	mux := routes(app, cfg.Assets, hc)
	// Pages and JSON are compressed on the fly; static assets carry their
	// own precompressed bodies and PDFs do not shrink.
	compress, err := gzhttp.NewWrapper(gzhttp.MinSize(1024), gzhttp.ContentTypes([]string{"text/html", "application/json"}))
	if err != nil {
		return nil, err
	}
	crossOrigin := http.NewCrossOriginProtection()
	crossOrigin.SetDenyHandler(core.Wrap(core.CrossOriginDenied))

	// Order, outermost first: the request id exists before anything logs;
	// the access log sees the final status, including a recovered panic's
	// 500; compression wraps everything a handler writes; security headers
	// are set before any handler can write; the
	// printer is in the context before the cross-origin check, so that its
	// refusal page is translated; that check refuses unsafe cross-site
	// requests before any handler runs, and before the session is loaded;
	// the session is loaded last, for the handlers alone (health checks
	// and assets never touch the store).
	// Requests are timed by the pattern that served them, never by path
	// (bounded label values).
	patternOf := func(r *http.Request) string { _, p := mux.Handler(r); return p }
	root := chain(mux,
		requestID,
		logRequests(cfg.Logger),
		// Outside the panic recovery, so that a recovered panic counts as
		// the 500 it became; outside compression, whose time it includes.
		cfg.Metrics.Middleware(patternOf),
		recoverPanics(cfg.Logger, panicPage(fallback, cfg.Catalog, core.Language)),
		func(h http.Handler) http.Handler { return compress(h) },
		// HSTS only where cookies are Secure: served over TLS.
		secureHeaders(cfg.Sessions.Secure()),
		cfg.Catalog.Middleware(core.Language),
		crossOrigin.Handler,
		skipSessions(cfg.Sessions.LoadAndSave),
	)
	return &Server{Handler: root, core: core, health: hc}, nil
}

// app is the dashboard's handlers: the shared core and the two products.
type app struct {
	core     *handlers.Core
	kasko    *kasko.Handlers
	casco    *casco.Handlers
	webhooks http.Handler
}

// skipSessions applies the session middleware to pages only: static assets
// and health checks are served without a session store round trip or a
// Set-Cookie header on an immutable, cacheable answer.
func skipSessions(load middleware) middleware {
	return func(next http.Handler) http.Handler {
		withSession := load(next)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p := r.URL.Path
			// Webhooks come from the upstream's servers: they have no
			// session, and must not get a cookie.
			if strings.HasPrefix(p, static.Prefix) || p == "/healthz" || p == "/readyz" || p == paths.WebhooksKasko {
				next.ServeHTTP(w, r)
				return
			}
			withSession.ServeHTTP(w, r)
		})
	}
}
