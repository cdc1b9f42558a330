package web

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"runtime/debug"
	"time"

	"github.com/a-h/templ"

	"backoffice/handlers"
	"backoffice/internal/i18n"
	"backoffice/views/errorpage"
)

// middleware wraps a handler; chain applies them so that the first listed
// is the outermost.
type middleware func(http.Handler) http.Handler

func chain(h http.Handler, mws ...middleware) http.Handler {
	for i := len(mws) - 1; i >= 0; i-- {
		h = mws[i](h)
	}
	return h
}

// statusRecorder remembers the status and size written, for the access log.
type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach the real writer (flushing).
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// incomingIDPattern accepts a request id set by a trusted proxy only when
// it is short and plain, so it cannot smuggle anything into logs or pages.
var incomingIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{8,64}$`)

// requestID gives every request an id, echoed in X-Request-Id, logged, and
// shown on error pages so that a user can quote it to support.
func requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if !incomingIDPattern.MatchString(id) {
			var b [12]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, r.WithContext(handlers.WithRequestID(r.Context(), id)))
	})
}

// logRequests writes one access-log line per request. It logs the path,
// never the query string or headers, where credentials could travel.
func logRequests(log *slog.Logger) middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			rec := &statusRecorder{ResponseWriter: w}
			next.ServeHTTP(rec, r)
			if rec.status == 0 {
				rec.status = http.StatusOK
			}
			log.LogAttrs(r.Context(), slog.LevelInfo, "request",
				slog.String("method", r.Method),
				slog.String("path", r.URL.Path),
				slog.Int("status", rec.status),
				slog.Int("bytes", rec.bytes),
				slog.Duration("duration", time.Since(start)),
				slog.Bool("htmx", r.Header.Get("HX-Request") == "true"),
				slog.String("request_id", handlers.RequestID(r.Context())),
			)
		})
	}
}

// recoverPanics turns a panic into a logged 500 instead of a dropped
// connection. It sits inside requestID so the log line carries the id.
// The answer is the pre-rendered fallback page (serve): whatever
// panicked may be what renders pages.
func recoverPanics(log *slog.Logger, serve func(http.ResponseWriter, *http.Request)) middleware {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() {
				v := recover()
				if v == nil || v == http.ErrAbortHandler {
					if v != nil {
						panic(v)
					}
					return
				}
				log.Error("panic",
					slog.String("panic", fmt.Sprint(v)),
					slog.String("path", r.URL.Path),
					slog.String("request_id", handlers.RequestID(r.Context())),
					slog.String("stack", string(debug.Stack())),
				)
				w.Header().Set("Connection", "close")
				if serve == nil {
					http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
					return
				}
				serve(w, r)
			}()
			next.ServeHTTP(w, r)
		})
	}
}

// panicPage answers a recovered panic with the fallback page in the
// viewer's language. The panic recovery sits outside the i18n middleware
// (so that a panic there is caught too), so the language is chosen here
// the same way: preference cookie, then Accept-Language.
func panicPage(f *errorpage.Fallback, catalog *i18n.Catalog, preferred func(*http.Request) string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		pref := ""
		if preferred != nil {
			pref = preferred(r)
		}
		lang := catalog.Match(pref, r.Header.Get("Accept-Language"))
		f.Serve(w, r, http.StatusInternalServerError, lang, handlers.RequestID(r.Context()))
	}
}

// hstsValue asks browsers to use only HTTPS for a year, subdomains
// included: sent only when the dashboard is served over TLS (Secure
// cookies), since over plain HTTP browsers ignore it anyway and it would
// only mislead.
const hstsValue = "max-age=31536000; includeSubDomains"

// secureHeaders sets a strict Content-Security-Policy with a per-request
// nonce (handed to templ, which puts it on the scripts it renders) and the
// usual hardening headers; hsts adds Strict-Transport-Security.
func secureHeaders(hsts bool) middleware {
	return func(next http.Handler) http.Handler {
		return secureHeadersHandler(next, hsts)
	}
}

func secureHeadersHandler(next http.Handler, hsts bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b [18]byte
		_, _ = rand.Read(b[:])
		nonce := base64.RawStdEncoding.EncodeToString(b[:])
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self' 'nonce-"+nonce+"'; "+
			"style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; "+
			"base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		if hsts {
			h.Set("Strict-Transport-Security", hstsValue)
		}
		next.ServeHTTP(w, r.WithContext(templ.WithNonce(r.Context(), nonce)))
	})
}
