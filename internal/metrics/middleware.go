package metrics

import (
	"net/http"
	"time"
)

// Middleware times every request and records it under the route pattern
// patternOf returns for it ("" becomes "other": unmatched paths, 404s and
// 405s). patternOf is the caller's, because a middleware outside the mux
// never sees Request.Pattern, which the mux sets on its own copy of the
// request; the dashboard asks its ServeMux (mux.Handler(r)). The raw path
// is never a label: every distinct label value is a series kept forever.
//
// The status is the one the handler wrote; a handler that panics is
// counted as a 500 whether or not an outer middleware recovers. The
// wrapped ResponseWriter keeps flushing and hijacking working through
// http.ResponseController.
func (m *Metrics) Middleware(patternOf func(*http.Request) string) func(http.Handler) http.Handler {
	if m == nil {
		return func(next http.Handler) http.Handler { return next }
	}
	if patternOf == nil {
		panic("metrics: Middleware needs a patternOf function")
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			rw := &responseWriter{ResponseWriter: w}
			returned := false
			// Deferred, not after ServeHTTP, so that a panic passing
			// through is counted; recover is left to the recovering
			// middleware, which keeps the panic's stack.
			defer func() {
				code := rw.status
				if code == 0 {
					code = http.StatusOK
					if !returned {
						code = http.StatusInternalServerError
					}
				}
				pattern := patternOf(r)
				if pattern == "" {
					pattern = Other
				}
				m.httpDuration.WithLabelValues(pattern, methodLabel(r.Method), codeClass(code)).Observe(time.Since(start).Seconds())
			}()
			next.ServeHTTP(rw, r)
			returned = true
		})
	}
}

// methodLabel folds methods outside the standard set, which a client can
// invent at will.
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return method
	}
	return Other
}

var codeClasses = [...]string{"1xx", "2xx", "3xx", "4xx", "5xx"}

// codeClass turns a status into its class ("2xx"): operators alert on
// classes, and a label per status would multiply the series by the
// number of statuses in use.
func codeClass(code int) string {
	if c := code/100 - 1; c >= 0 && c < len(codeClasses) {
		return codeClasses[c]
	}
	return Other
}

// responseWriter remembers the final status written.
type responseWriter struct {
	http.ResponseWriter
	status int
}

func (w *responseWriter) WriteHeader(code int) {
	// 1xx answers (103 Early Hints) precede the final one, except 101,
	// after which the connection is no longer HTTP.
	if w.status == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Flush keeps the writer an http.Flusher for code that asserts the
// interface instead of using http.ResponseController.
func (w *responseWriter) Flush() {
	_ = w.FlushError()
}

// FlushError is what http.ResponseController.Flush calls, so that a
// writer underneath that cannot flush still reports it.
func (w *responseWriter) FlushError() error {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the writer underneath
// (hijacking, deadlines, full duplex).
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
