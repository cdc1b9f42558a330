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
	"backoffice/internal/i18n"
	"backoffice/internal/session"
	"backoffice/static"
)

// Config is everything the server is assembled from.
type Config struct {
	Logger    *slog.Logger
	Handlers  *handlers.Handlers
	Sessions  *session.Manager
	Assets    *static.Assets
	Catalog   *i18n.Catalog
	Upstreams []Upstream
	// Stores are checked by /readyz next to the upstreams (name → check).
	Stores map[string]func(context.Context) error
	// ProbeTimeout bounds /readyz; default 3s.
	ProbeTimeout time.Duration
}

// New returns the dashboard's root handler.
func New(cfg Config) (http.Handler, error) {
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
	mux := routes(cfg.Handlers, cfg.Assets, hc)
	// Pages and JSON are compressed on the fly; static assets carry their
	// own precompressed bodies and PDFs do not shrink.
	compress, err := gzhttp.NewWrapper(gzhttp.MinSize(1024), gzhttp.ContentTypes([]string{"text/html", "application/json"}))
	if err != nil {
		return nil, err
	}
	crossOrigin := http.NewCrossOriginProtection()
	crossOrigin.SetDenyHandler(cfg.Handlers.Wrap(cfg.Handlers.CrossOriginDenied))

	// Order, outermost first: the request id exists before anything logs;
	// the access log sees the final status, including a recovered panic's
	// 500; compression wraps everything a handler writes; security headers
	// are set before any handler can write; the
	// printer is in the context before the cross-origin check, so that its
	// refusal page is translated; that check refuses unsafe cross-site
	// requests before any handler runs, and before the session is loaded;
	// the session is loaded last, for the handlers alone (health checks
	// and assets never touch the store).
	return chain(mux,
		requestID,
		logRequests(cfg.Logger),
		recoverPanics(cfg.Logger),
		func(h http.Handler) http.Handler { return compress(h) },
		secureHeaders,
		cfg.Catalog.Middleware(cfg.Handlers.Language),
		crossOrigin.Handler,
		skipSessions(cfg.Sessions.LoadAndSave),
	), nil
}

// skipSessions applies the session middleware to pages only: static assets
// and health checks are served without a session store round trip or a
// Set-Cookie header on an immutable, cacheable answer.
func skipSessions(load middleware) middleware {
	return func(next http.Handler) http.Handler {
		withSession := load(next)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p := r.URL.Path
			if strings.HasPrefix(p, static.Prefix) || p == "/healthz" || p == "/readyz" {
				next.ServeHTTP(w, r)
				return
			}
			withSession.ServeHTTP(w, r)
		})
	}
}
