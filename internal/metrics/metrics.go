// Package metrics keeps the dashboard's Prometheus metrics for operators:
// request latency by route, upstream latency and errors, one-time form
// token claims and replays, and write outcomes. They live in a registry of
// their own, served by Handler on a separate listener, so that nothing
// registered by a library on the global default registry leaks in and the
// dashboard's own port never exposes them.
//
// A nil *Metrics is valid and does nothing, so that code and tests without
// metrics need no checks.
//
// Every label value comes from a small fixed set or from a constant in the
// calling code (a route pattern, an upstream operation template, a form
// kind, an action name), never from a request: each distinct value is a
// time series kept for the life of the process.
package metrics

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"backoffice/apiclient"
)

// Metrics holds the dashboard's collectors and their registry.
type Metrics struct {
	reg *prometheus.Registry

	httpDuration     *prometheus.HistogramVec
	upstreamDuration *prometheus.HistogramVec
	upstreamErrors   *prometheus.CounterVec
	claims           *prometheus.CounterVec
	replays          *prometheus.CounterVec
	writes           *prometheus.CounterVec
	writesInFlight   prometheus.Gauge
	signInFailures   *prometheus.CounterVec
}

// Outcomes of an upstream attempt (the outcome label).
const (
	UpstreamOK          = "ok"
	UpstreamClientError = "client_error"
	UpstreamServerError = "server_error"
	UpstreamTimeout     = "timeout"
	UpstreamTransport   = "transport"
	// UpstreamCanceled is an attempt abandoned by the dashboard's own
	// caller (the user left, the server is shutting down): not the
	// upstream's fault, so it is kept apart from transport failures that
	// an operator alerts on.
	UpstreamCanceled = "canceled"
)

// Results of a form token claim (the result label of Claim).
const (
	ClaimWon     = "won"
	ClaimLost    = "lost"
	ClaimExpired = "expired"
)

// Outcomes of a write (the outcome label of Write).
const (
	WriteCompleted = "completed"
	WriteAccepted  = "accepted"
	WriteFailed    = "failed"
	WriteRejected  = "rejected"
	WriteRefused   = "refused"
	WriteUnknown   = "unknown"
)

// Other stands for a label value outside its fixed set: an unmatched
// route, a non-standard method, a result or outcome the code does not
// know. Folding them keeps the number of series bounded.
const Other = "other"

// Buckets, in seconds. Pages wait on upstreams whose calls time out at
// 10s (20s for CascoApi), so both go past the default 10s top bucket.
var (
	httpBuckets     = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}
	upstreamBuckets = []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 20, 30}
)

// New returns metrics registered on a fresh registry, together with the
// Go runtime and process collectors.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "backoffice_http_request_duration_seconds",
			Help:    "Time to serve a dashboard request, by route pattern, method and status class.",
			Buckets: httpBuckets,
		}, []string{"pattern", "method", "code"}),
		upstreamDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "backoffice_upstream_request_duration_seconds",
			Help:    "Time of one upstream HTTP attempt until its answer was read, by upstream, operation and outcome.",
			Buckets: upstreamBuckets,
		}, []string{"upstream", "operation", "outcome"}),
		upstreamErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "backoffice_upstream_errors_total",
			Help: "Upstream attempts that failed, by upstream, operation and kind (timeout, transport, canceled, or the error class of the answer).",
		}, []string{"upstream", "operation", "kind"}),
		claims: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "backoffice_form_token_claims_total",
			Help: "Claims of one-time form tokens, by form kind and result (won, lost, expired).",
		}, []string{"kind", "result"}),
		replays: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "backoffice_form_token_replays_total",
			Help: "Form submissions answered with the kept reply of an earlier one, by form kind.",
		}, []string{"kind"}),
		writes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "backoffice_writes_total",
			Help: "Upstream writes, by action and outcome (completed, accepted, failed, rejected, refused, unknown).",
		}, []string{"action", "outcome"}),
		writesInFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "backoffice_writes_in_flight",
			Help: "Writes sent upstream and detached from their request, not yet settled.",
		}),
		signInFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "backoffice_signin_failures_total",
			Help: "Failed sign-ins, by kind (kasko, casco) and reason (rejected by the upstream, throttled, malformed).",
		}, []string{"kind", "reason"}),
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.httpDuration, m.upstreamDuration, m.upstreamErrors,
		m.claims, m.replays, m.writes, m.writesInFlight, m.signInFailures,
	)
	// Zero before the first failure, so that a rate or an alert on a
	// series works from start-up rather than from its first increment.
	for _, kind := range []string{SignInKasko, SignInCasco} {
		for _, reason := range []string{SignInRejected, SignInThrottled, SignInMalformed} {
			m.signInFailures.WithLabelValues(kind, reason)
		}
	}
	return m
}

// Handler serves the metrics in the Prometheus exposition formats. It
// counts its own scrapes, as promhttp.Handler does for the default
// registry. A nil *Metrics serves 404.
func (m *Metrics) Handler() http.Handler {
	if m == nil {
		return http.NotFoundHandler()
	}
	return promhttp.InstrumentMetricHandler(m.reg, promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		Registry: m.reg,
		// One collector's failure should not hide every other metric.
		ErrorHandling: promhttp.ContinueOnError,
	}))
}

// ObserveUpstream records one upstream HTTP attempt; its signature is
// apiclient.Observer's, so that a client takes it as it is
// (kasko.WithObserver(m.ObserveUpstream)). status is 0 when no answer
// arrived; err is nil for a usable answer.
func (m *Metrics) ObserveUpstream(upstream, op string, status int, d time.Duration, err error) {
	if m == nil {
		return
	}
	outcome := upstreamOutcome(status, err)
	m.upstreamDuration.WithLabelValues(upstream, op, outcome).Observe(d.Seconds())
	if outcome != UpstreamOK {
		m.upstreamErrors.WithLabelValues(upstream, op, errorKind(outcome, status, err)).Inc()
	}
}

// upstreamOutcome classifies an attempt. The cause of a failure wins over
// the status, because a body cut off by the deadline after a 200 is a
// timeout; an answer that arrived but could not be used (not JSON, a
// redirect) is the upstream's fault.
func upstreamOutcome(status int, err error) string {
	switch {
	case err == nil && status >= 500:
		return UpstreamServerError
	case err == nil && status >= 400:
		return UpstreamClientError
	case err == nil:
		return UpstreamOK
	case errors.Is(err, context.Canceled):
		return UpstreamCanceled
	case isTimeout(err):
		return UpstreamTimeout
	case status >= 500:
		return UpstreamServerError
	case status >= 400:
		return UpstreamClientError
	case status != 0 && errors.Is(err, apiclient.ErrInvalidResponse):
		return UpstreamServerError
	default:
		return UpstreamTransport
	}
}

func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// errorKinds names the apiclient sentinels for the kind label, in the
// order they are tested.
var errorKinds = []struct {
	err  error
	kind string
}{
	{apiclient.ErrBadRequest, "bad_request"},
	{apiclient.ErrUnauthorized, "unauthorized"},
	{apiclient.ErrForbidden, "forbidden"},
	{apiclient.ErrNotFound, "not_found"},
	{apiclient.ErrConflict, "conflict"},
	{apiclient.ErrPreconditionFailed, "precondition_failed"},
	{apiclient.ErrUnprocessable, "unprocessable"},
	{apiclient.ErrTooLarge, "too_large"},
	{apiclient.ErrInvalidResponse, "invalid_response"},
	{apiclient.ErrUnavailable, "unavailable"},
}

// errorKind is the kind label of a failed attempt: how it ended when no
// usable answer arrived, else the class of the answer.
func errorKind(outcome string, status int, err error) string {
	switch outcome {
	case UpstreamTimeout, UpstreamTransport, UpstreamCanceled:
		return outcome
	}
	if err == nil {
		// A bare error status, from a caller other than apiclient.
		err = apiclient.SentinelForStatus(status)
	}
	for _, k := range errorKinds {
		if errors.Is(err, k.err) {
			return k.kind
		}
	}
	return Other
}

// Claim counts one claim of a form token of kind: result is ClaimWon (this
// submission sends), ClaimLost (another submission got there first) or
// ClaimExpired (the token is unknown or too old).
func (m *Metrics) Claim(kind, result string) {
	if m == nil {
		return
	}
	switch result {
	case ClaimWon, ClaimLost, ClaimExpired:
	default:
		result = Other
	}
	m.claims.WithLabelValues(kind, result).Inc()
}

// Replay counts one submission of a form of kind answered with the reply
// kept from its first submission.
func (m *Metrics) Replay(kind string) {
	if m == nil {
		return
	}
	m.replays.WithLabelValues(kind).Inc()
}

// Write counts one write of action (the audit log's: "cancel", "create",
// "convert") by how it ended, in the audit log's terms: WriteCompleted,
// WriteAccepted (the upstream took it and finishes it later), WriteFailed
// (the upstream tried and failed), WriteRejected (the upstream refused
// it), WriteRefused (the dashboard refused it before sending: a read-only
// session) or WriteUnknown (no usable answer: it may or may not have
// happened).
func (m *Metrics) Write(action, outcome string) {
	if m == nil {
		return
	}
	switch outcome {
	case WriteCompleted, WriteAccepted, WriteFailed, WriteRejected, WriteRefused, WriteUnknown:
	default:
		outcome = Other
	}
	m.writes.WithLabelValues(action, outcome).Inc()
}

// WriteStarted counts a write detached from its request as in flight;
// pair every call with a WriteEnded, deferred in the detached goroutine.
func (m *Metrics) WriteStarted() {
	if m == nil {
		return
	}
	m.writesInFlight.Inc()
}

// WriteEnded counts a detached write as settled.
func (m *Metrics) WriteEnded() {
	if m == nil {
		return
	}
	m.writesInFlight.Dec()
}

// Kinds and reasons of a failed sign-in (the labels of SignInFailure).
const (
	SignInKasko     = "kasko"
	SignInCasco     = "casco"
	SignInRejected  = "rejected"
	SignInThrottled = "throttled"
	SignInMalformed = "malformed"
)

// SignInFailure counts one failed sign-in of kind (SignInKasko,
// SignInCasco) for reason: SignInRejected (the upstream refused the
// credential), SignInThrottled (refused without asking it, after too
// many failures) or SignInMalformed (not a credential at all). A
// metric, not audit rows: a guesser would otherwise fill the audit log,
// whose rows are never deleted. Its signature is the one throttle's
// GuardConfig.Failure takes.
func (m *Metrics) SignInFailure(kind, reason string) {
	if m == nil {
		return
	}
	switch kind {
	case SignInKasko, SignInCasco:
	default:
		kind = Other
	}
	switch reason {
	case SignInRejected, SignInThrottled, SignInMalformed:
	default:
		reason = Other
	}
	m.signInFailures.WithLabelValues(kind, reason).Inc()
}
