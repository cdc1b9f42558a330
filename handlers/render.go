package handlers

import (
	"bytes"
	"context"
	"net/http"
	"strconv"

	"github.com/a-h/templ"
)

type requestIDKey struct{}

// WithRequestID stores the dashboard's request id in ctx; the web
// middleware sets it for every request.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID is the dashboard's id of the current request.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// IsHTMX reports a request made by htmx (not a boosted navigation), which
// gets a fragment instead of the full page.
func IsHTMX(r *http.Request) bool {
	return r.Header.Get("HX-Request") == "true" && r.Header.Get("HX-Boosted") != "true"
}

// Render renders c into a buffer and only then writes status and body, so
// a failing component never leaves a half-written 200 page behind.
func Render(w http.ResponseWriter, r *http.Request, status int, c templ.Component) error {
	var buf bytes.Buffer
	if err := c.Render(r.Context(), &buf); err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Add("Vary", "HX-Request")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	if h.Get("Cache-Control") == "" {
		// Pages show one user's data: never keep them in a shared cache.
		h.Set("Cache-Control", "no-store")
	}
	w.WriteHeader(status)
	// A failed write means the client went away; there is no one left to
	// show an error to, so it is not returned.
	_, _ = w.Write(buf.Bytes())
	return nil
}
