// Package handlers is the core the dashboard's two products share: the
// error adapter, rendering, the page frame, redirects and form parsing,
// the form checker, one-time form tokens, sign-in pages and preferences.
// It knows neither product: the KASKO pages live in handlers/kasko, the
// CASCO partner pages in handlers/casco, and each adds what it shows in
// the page header through a Frame.
//
// Every handler returns an error; Wrap hands failures to the one adapter
// in errors.go, which picks the status and the page.
package handlers

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"log/slog"
	"net/http"
	"time"

	"backoffice/internal/format"
	"backoffice/internal/session"
	"backoffice/internal/tokens"
	"backoffice/views/errorpage"
	"backoffice/views/layout"
)

// Func is a handler that reports failure by returning an error instead of
// writing an error answer itself.
type Func func(w http.ResponseWriter, r *http.Request) error

// Features says which upstream features the dashboard offers: a feature
// whose upstream is not configured is hidden.
type Features struct {
	Kasko bool
	Push  bool
	Casco bool
	// SandboxURL is set when the dashboard runs against the built-in
	// sandbox: the address of its description (demo credentials).
	SandboxURL string
	// DemoKeys, in sandbox mode, are listed on the sign-in page so that a
	// newcomer can sign in at once.
	DemoKeys []DemoKey
	// DemoPartners are the sandbox's CascoApi accounts, listed likewise.
	DemoPartners []DemoPartner
}

// DemoKey is a sandbox KASKO credential shown on the sign-in page.
type DemoKey struct {
	Key         string
	Distributor string
	Kind        string // "secret" or "public"
	Mode        string // "test" or "live"
}

// DemoPartner is a sandbox CascoApi account shown on the sign-in page.
type DemoPartner struct {
	Account  string
	Password string
	Name     string
}

// Frame adds a product's part of the page frame (who is signed in, the
// pending operations badge) to meta.
type Frame func(r *http.Request, meta *layout.PageMeta)

// Config is what the core is built from.
type Config struct {
	Logger    *slog.Logger
	Assets    layout.Assets
	Features  Features
	Sessions  *session.Manager
	Languages []string
	// Tokens keeps the one-time form tokens (default: in this process);
	// WriteTimeout bounds a write detached from its request; Observer
	// counts what happens to form submissions (metrics).
	Tokens       TokenStore
	WriteTimeout time.Duration
	Observer     Observer
	// Fallback is the pre-rendered page for when the error page itself
	// cannot be rendered (nil: plain text).
	Fallback *errorpage.Fallback
}

// Core is what every page and action shares. Its exported fields are for
// the product packages; they are set once, by New.
type Core struct {
	Log      *slog.Logger
	Sessions *session.Manager
	Features Features
	Zones    *format.Zones
	Forms    *Forms

	assets    layout.Assets
	languages []string
	observer  Observer
	frames    []Frame
	signOuts  []func(context.Context)
	fallback  *errorpage.Fallback

	// Auth serves the sign-in page, the home redirect and signing out;
	// Prefs the viewer's preferences.
	Auth  *Auth
	Prefs *Prefs
}

// New builds the core.
func New(cfg Config) *Core {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Tokens == nil {
		cfg.Tokens = tokens.NewMemory()
	}
	if cfg.Observer == nil {
		cfg.Observer = noObserver{}
	}
	c := &Core{
		Log: cfg.Logger, Sessions: cfg.Sessions, Features: cfg.Features, Zones: format.NewZones(),
		Forms:    NewForms(FormsConfig{Store: cfg.Tokens, Log: cfg.Logger, WriteTimeout: cfg.WriteTimeout, Observer: cfg.Observer}),
		observer: cfg.Observer,
		assets:   cfg.Assets, languages: cfg.Languages, fallback: cfg.Fallback,
	}
	c.Auth = &Auth{c: c}
	c.Prefs = &Prefs{c: c}
	c.AddFrame(c.Auth.keptLogin)
	return c
}

// AddFrame adds a product's part of every page's frame.
func (c *Core) AddFrame(f Frame) { c.frames = append(c.frames, f) }

// OnSignOut runs fn when a user signs out, before the session ends (a
// product ends its upstream session there).
func (c *Core) OnSignOut(fn func(context.Context)) { c.signOuts = append(c.signOuts, fn) }

// FormOwner ties a form to the session that opened it and to the
// credential it was opened with (a KASKO key, a partner account), without
// keeping the credential: another session, or the same one signed in
// with another key, cannot send it.
func (c *Core) FormOwner(ctx context.Context, credential string) string {
	id := c.Sessions.FormOwner(ctx)
	if id == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(id + "\x00" + credential))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// Drain waits, until ctx ends, for the writes that run detached from
// their requests to finish and record their outcome.
func (c *Core) Drain(ctx context.Context) bool { return c.Forms.Drain(ctx) }

// Wrap adapts fn to an http.Handler whose failures go through ServeError.
func (c *Core) Wrap(fn Func) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := fn(w, r); err != nil {
			c.ServeError(w, r, err)
		}
	})
}

// Meta is the frame data every page starts from.
func (c *Core) Meta(r *http.Request, title string) layout.PageMeta {
	meta := layout.PageMeta{
		Title:     title,
		Assets:    c.assets,
		Sandbox:   c.Features.SandboxURL != "",
		RequestID: RequestID(r.Context()),
		Languages: c.languages,
		Path:      ReturnPath(r),
	}
	if c.Sessions != nil {
		meta.Theme = c.Sessions.Preferences(r).Theme
	}
	for _, f := range c.frames {
		f(r, &meta)
	}
	return meta
}
