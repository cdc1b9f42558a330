package handlers

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"backoffice/apiclient"
	"backoffice/internal/i18n"
	"backoffice/views/errorpage"
	"backoffice/views/layout"
)

// Error is a failure a handler decides on itself (bad input, a missing
// page, a forbidden action): an HTTP status and the catalogue key of the
// message the user reads.
type Error struct {
	Status     int
	MessageKey string
	// Err is the cause, for the log; never shown.
	Err error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.MessageKey + ": " + e.Err.Error()
	}
	return e.MessageKey
}

func (e *Error) Unwrap() error { return e.Err }

// The failures every product answers alike.
var (
	ErrNotFound         = &Error{Status: http.StatusNotFound, MessageKey: "error.not_found"}
	ErrBadRequest       = &Error{Status: http.StatusBadRequest, MessageKey: "error.bad_request"}
	ErrReadOnly         = &Error{Status: http.StatusForbidden, MessageKey: "error.read_only"}
	errMethodNotAllowed = &Error{Status: http.StatusMethodNotAllowed, MessageKey: "error.method_not_allowed"}
)

// BadRequest is a 400 whose message, key, says what is wrong.
func BadRequest(key string) error {
	return &Error{Status: http.StatusBadRequest, MessageKey: key}
}

// statusClientClosedRequest is what the access log and metrics record for
// a request its client abandoned (nginx's convention; never sent).
const statusClientClosedRequest = 499

// problem is what serveError decided to show.
type problem struct {
	status     int
	messageKey string
	upstreamID string // the upstream's request id, for support
	retry      bool   // offer "try again" (same URL, GET only)
}

// classify maps any error to the answer the user gets. It is the only
// place that knows how upstream failures become pages.
func classify(err error) problem {
	var he *Error
	if errors.As(err, &he) {
		return problem{status: he.Status, messageKey: he.MessageKey}
	}
	var ue *apiclient.Error
	upstreamID := ""
	if errors.As(err, &ue) {
		upstreamID = ue.RequestID
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return problem{status: http.StatusGatewayTimeout, messageKey: "error.upstream_timeout", upstreamID: upstreamID, retry: true}
	case errors.Is(err, apiclient.ErrNotFound):
		return problem{status: http.StatusNotFound, messageKey: "error.not_found", upstreamID: upstreamID}
	case errors.Is(err, apiclient.ErrConflict), errors.Is(err, apiclient.ErrPreconditionFailed):
		return problem{status: http.StatusConflict, messageKey: "error.conflict", upstreamID: upstreamID}
	case errors.Is(err, apiclient.ErrForbidden):
		return problem{status: http.StatusForbidden, messageKey: "error.forbidden", upstreamID: upstreamID}
	case errors.Is(err, apiclient.ErrUnauthorized):
		// The upstream refused a credential the dashboard holds: an
		// operator matter, shown to the user as a bad gateway.
		return problem{status: http.StatusBadGateway, messageKey: "error.upstream_rejected", upstreamID: upstreamID}
	case errors.Is(err, apiclient.ErrBadRequest), errors.Is(err, apiclient.ErrUnprocessable), errors.Is(err, apiclient.ErrTooLarge):
		return problem{status: http.StatusBadRequest, messageKey: "error.bad_request", upstreamID: upstreamID}
	case errors.Is(err, apiclient.ErrUnavailable), errors.Is(err, apiclient.ErrInvalidResponse):
		return problem{status: http.StatusBadGateway, messageKey: "error.upstream_unavailable", upstreamID: upstreamID, retry: true}
	default:
		return problem{status: http.StatusInternalServerError, messageKey: "error.internal"}
	}
}

// ServeError is the one error adapter: it logs (at error level only for
// server-side failures), then answers with a full error page, or, for an
// htmx request, with an alert retargeted into the page's #flash region.
// It never shows an upstream's raw body.
func (c *Core) ServeError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		// The browser went away (a second click, a closed tab): nobody
		// reads an answer, and nothing failed on this side.
		c.Log.Info("request abandoned by the client", slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.String("request_id", RequestID(r.Context())))
		w.WriteHeader(statusClientClosedRequest)
		return
	}
	p := classify(err)
	attrs := []any{
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.Int("status", p.status),
		slog.String("request_id", RequestID(r.Context())),
		slog.String("error", apiclient.Redact(err.Error())),
	}
	if p.upstreamID != "" {
		attrs = append(attrs, slog.String("upstream_request_id", p.upstreamID))
	}
	if p.status >= 500 {
		c.Log.Error("request failed", attrs...)
	} else {
		c.Log.Info("request refused", attrs...)
	}
	supportID := RequestID(r.Context())
	if p.upstreamID != "" {
		supportID = p.upstreamID
	}
	if IsHTMX(r) {
		w.Header().Set("HX-Retarget", "#flash")
		w.Header().Set("HX-Reswap", "innerHTML")
		msg := i18n.T(r.Context(), p.messageKey)
		if rerr := Render(w, r, p.status, layout.Alert("error", msg, supportID)); rerr != nil {
			c.Log.Error("rendering the error alert failed", slog.String("error", rerr.Error()),
				slog.String("request_id", RequestID(r.Context())))
			c.ServeFallback(w, r, p.status)
		}
		return
	}
	meta := c.Meta(r, i18n.T(r.Context(), "error.title"))
	meta.RequestID = supportID
	v := errorpage.View{Meta: meta, Status: p.status, MessageKey: p.messageKey}
	if p.retry && r.Method == http.MethodGet && IsLocalPath(r.URL.RequestURI()) {
		v.RetryURL = r.URL.RequestURI()
	}
	if rerr := Render(w, r, p.status, errorpage.Page(v)); rerr != nil {
		c.Log.Error("rendering the error page failed", slog.String("error", rerr.Error()),
			slog.String("request_id", RequestID(r.Context())))
		c.ServeFallback(w, r, p.status)
	}
}

// ServeFallback answers with the page pre-rendered at start, in the
// request's language with its id: what is left when rendering itself
// fails. Without one (a core built by a test) it answers in plain text.
func (c *Core) ServeFallback(w http.ResponseWriter, r *http.Request, status int) {
	if c.fallback == nil {
		http.Error(w, http.StatusText(status), status)
		return
	}
	c.fallback.Serve(w, r, status, i18n.Lang(r.Context()), RequestID(r.Context()))
}

// NotFound answers every path no route matches.
func (c *Core) NotFound(w http.ResponseWriter, r *http.Request) error {
	return ErrNotFound
}

// CrossOriginDenied answers an unsafe request sent from another site (or
// without the headers that prove it came from ours).
func (c *Core) CrossOriginDenied(w http.ResponseWriter, r *http.Request) error {
	return &Error{Status: http.StatusForbidden, MessageKey: "error.cross_origin"}
}

// MethodNotAllowed answers a known path asked with the wrong method; the
// router sets the Allow header.
func (c *Core) MethodNotAllowed(w http.ResponseWriter, r *http.Request) error {
	return errMethodNotAllowed
}
