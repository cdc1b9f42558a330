// Package handlers holds the dashboard's page and action logic, one file
// per resource. Every handler returns an error; Wrap hands failures to the
// one adapter in errors.go, which picks the status and the page.
package handlers

import (
	"log/slog"
	"net/http"

	"backoffice/views/layout"
)

// Func is a handler that reports failure by returning an error instead of
// writing an error answer itself.
type Func func(w http.ResponseWriter, r *http.Request) error

// Upstreams says which upstream features the dashboard offers: a feature
// whose upstream is not configured is hidden.
type Upstreams struct {
	Kasko bool
	Push  bool
	Casco bool
	// SandboxURL is set when the dashboard runs against the built-in
	// sandbox: the address of its description (demo credentials).
	SandboxURL string
}

// Deps are what the handlers need from run.
type Deps struct {
	Logger    *slog.Logger
	Assets    layout.Assets
	Upstreams Upstreams
}

// Handlers groups the resource handlers and their shared dependencies.
type Handlers struct {
	log       *slog.Logger
	assets    layout.Assets
	upstreams Upstreams

	// Auth serves the sign-in pages.
	Auth *Auth
}

// New builds the handlers.
func New(d Deps) *Handlers {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	h := &Handlers{log: d.Logger, assets: d.Assets, upstreams: d.Upstreams}
	h.Auth = &Auth{h: h}
	return h
}

// Wrap adapts fn to an http.Handler whose failures go through serveError.
func (h *Handlers) Wrap(fn Func) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := fn(w, r); err != nil {
			h.serveError(w, r, err)
		}
	})
}

// meta is the frame data every page starts from.
func (h *Handlers) meta(r *http.Request, title string) layout.PageMeta {
	return layout.PageMeta{
		Title:     title,
		Assets:    h.assets,
		Sandbox:   h.upstreams.SandboxURL != "",
		RequestID: RequestID(r.Context()),
	}
}
