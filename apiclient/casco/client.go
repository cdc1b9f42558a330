// Package casco is the client of CascoApi, the Romanian CASCO broker API
// of Life Is Hard SA: sign-in with an account and password, quotes from
// one insurer at a time, offer and policy documents, turning an offer into
// a policy, the nomenclature the forms need, and a vehicle identification
// helper.
//
// One Client is built per upstream at start-up and shared. Calls are made
// through a Session, which holds one account's tokens: Login creates one,
// Resume rebuilds one from tokens the dashboard kept in its session store.
// The Session sends the Token header, renews the token shortly before it
// expires and once after a 401, and reports rotated tokens (Tokens,
// OnRenew) so they can be stored again; callers deal in quotes, policies
// and errors only.
//
// Every failure is an *apiclient.Error. Money is Decimal, never a float.
package casco

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"backoffice/apiclient"
)

const (
	upstream = "casco"

	// DefaultTimeout bounds one call, from dial to the last body byte
	// (for a document: until Close).
	DefaultTimeout = 20 * time.Second

	// DefaultRenewBefore is how long before the token's expiry the
	// session renews it without waiting for a 401.
	DefaultRenewBefore = time.Minute

	// DefaultMaxDocumentSize caps one decoded PDF.
	DefaultMaxDocumentSize = 20 << 20

	defaultUserAgent = "backoffice-casco-client/1"

	// Caps on what is read from the upstream: error bodies are only
	// mined for a message and a field map; a quote or a nomenclature
	// list (every locality of a county) stays far below the larger cap.
	maxErrorBody = 256 << 10
	maxJSONBody  = 16 << 20

	maxSegmentLength = 256
)

// Sentinels a caller matches with errors.Is, next to apiclient's kinds.
var (
	// ErrSessionExpired means the session cannot go on: its refresh
	// token was refused (expired, revoked or already used), or it was
	// logged out. The user has to sign in again. Errors matching it also
	// match apiclient.ErrUnauthorized.
	ErrSessionExpired = errors.New("casco: session expired, sign in again")
	// ErrInvalidCredentials is a refused Login (wrong account or
	// password). Errors matching it also match apiclient.ErrUnauthorized.
	ErrInvalidCredentials = errors.New("casco: invalid account or password")
	// ErrProvider is an insurer's refusal of a quote or an issue that is
	// not about the input's fields ("Produs indisponibil", "Offer
	// expired", "Policy already issued for this offer"): the message says
	// why, and another insurer may still quote. Errors matching it also
	// match apiclient.ErrBadRequest (or the kind of their status).
	ErrProvider = errors.New("casco: refused by the insurer")
)

// validationMessage is the message of CascoApi's field validation
// errors, whose data is a map of dotted field paths to messages.
const validationMessage = "VALIDATION_ERROR"

// Client calls CascoApi. It is safe for concurrent use. It also
// coordinates token renewal between all sessions built from it, so that
// two requests of one user that each Resume the same stored tokens still
// renew them once.
type Client struct {
	base    *url.URL
	cfg     apiclient.Config
	lang    string
	maxDoc  int64
	before  time.Duration
	now     func() time.Time
	renewMu sync.Mutex
	renewal map[string]*flight // by refresh token digest
	// renewals, when set, shares renewals with other processes.
	renewals Renewals
}

// Option configures a Client in New.
type Option func(*Client) error

func shared(o apiclient.ConfigOption) Option {
	return func(c *Client) error {
		if err := o(&c.cfg); err != nil {
			return fmt.Errorf("casco: %w", err)
		}
		return nil
	}
}

// WithHTTPClient makes the client use hc (its transport, redirect policy
// and any timeout of its own) instead of a private pooled one.
func WithHTTPClient(hc *http.Client) Option { return shared(apiclient.WithHTTPClient(hc)) }

// WithTimeout bounds each call (DefaultTimeout otherwise); d <= 0 is an
// error. For a document, the bound runs until the body is closed.
func WithTimeout(d time.Duration) Option { return shared(apiclient.WithTimeout(d)) }

// WithUserAgent sets the User-Agent header sent upstream.
func WithUserAgent(ua string) Option { return shared(apiclient.WithUserAgent(ua)) }

// WithLogger makes the client log one debug line per call (warn for
// failures the operator should see, and for renewals that failed).
// Passwords and tokens are never logged.
func WithLogger(l *slog.Logger) Option { return shared(apiclient.WithLogger(l)) }

// WithObserver reports every HTTP attempt to o (upstream "casco"; op as
// logged, e.g. "PATCH /auth"), for metrics: a token renewal and the retry
// after a 401 are attempts of their own. See apiclient.Observer.
func WithObserver(o apiclient.Observer) Option { return shared(apiclient.WithObserver(o)) }

// WithLanguage sets the Content-Language sent with every call, which
// selects the language of the upstream's messages: "ro" or "en" (the
// default when nothing is sent). A session can override it.
func WithLanguage(lang string) Option {
	return func(c *Client) error {
		if err := checkLanguage(lang); err != nil {
			return err
		}
		c.lang = lang
		return nil
	}
}

// WithMaxDocumentSize caps the decoded size of one offer or policy
// document (DefaultMaxDocumentSize otherwise). Reading past it fails with
// apiclient.ErrInvalidResponse.
func WithMaxDocumentSize(n int64) Option {
	return func(c *Client) error {
		if n <= 0 {
			return fmt.Errorf("casco: document size limit must be positive, got %d", n)
		}
		c.maxDoc = n
		return nil
	}
}

// WithRenewBefore sets how long before expiry a token is renewed ahead of
// use (DefaultRenewBefore otherwise). For tokens that live less than four
// times as long, a quarter of their lifetime is used instead.
func WithRenewBefore(d time.Duration) Option {
	return func(c *Client) error {
		if d < 0 {
			return fmt.Errorf("casco: renew-before must not be negative, got %v", d)
		}
		c.before = d
		return nil
	}
}

// WithClock gives the client the clock it compares token expiry with
// (time.Now otherwise); tests and the sandbox share a fake one.
func WithClock(now func() time.Time) Option {
	return func(c *Client) error {
		if now == nil {
			return errors.New("casco: nil clock")
		}
		c.now = now
		return nil
	}
}

// New returns a client for CascoApi at baseURL (e.g.
// "https://casco-qa.api.lifeishard.ro", or the sandbox's ".../casco"); a
// trailing slash is ignored.
func New(baseURL string, opts ...Option) (*Client, error) {
	base, err := apiclient.ParseBaseURL(upstream, baseURL)
	if err != nil {
		return nil, err
	}
	c := &Client{
		base:    base,
		cfg:     apiclient.NewConfig(defaultUserAgent, DefaultTimeout),
		maxDoc:  DefaultMaxDocumentSize,
		before:  DefaultRenewBefore,
		now:     time.Now,
		renewal: map[string]*flight{},
	}
	for _, opt := range opts {
		if err := opt(c); err != nil {
			return nil, err
		}
	}
	c.cfg.Finish()
	// Never follow redirects: Go forwards custom headers such as Token to
	// the redirect target, whatever its host, and the API has no reason
	// to redirect. A 3xx is an unusable answer. The caller's client is
	// copied, not changed.
	hc := *c.cfg.HTTPClient
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.cfg.HTTPClient = &hc
	return c, nil
}

// BaseURL returns the base URL the client was built with.
func (c *Client) BaseURL() string {
	return c.base.String()
}

func checkLanguage(lang string) error {
	switch lang {
	case "", "ro", "en":
		return nil
	}
	return fmt.Errorf("casco: language %q: want \"ro\" or \"en\"", lang)
}

// request describes one call. token is the whole Token header value
// ("<jwt>" or "Refresh <refresh token>"); secrets are scrubbed from
// anything the answer makes it into.
type request struct {
	op      string
	method  string
	url     *url.URL
	body    []byte
	token   string
	lang    string
	secrets []string
}

// send performs r. On a 2xx answer the caller owns resp.Body and must
// call cancel after reading it; on failure everything is released and the
// error is an *apiclient.Error built from the envelope.
func (c *Client) send(ctx context.Context, r request) (*http.Response, context.CancelFunc, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, r.url.String(), body)
	if err != nil {
		cancel()
		return nil, nil, c.invalid(r.op, apiclient.ErrBadRequest, "cannot build request")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.cfg.UserAgent)
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if r.token != "" {
		req.Header.Set("Token", r.token)
	}
	lang := r.lang
	if lang == "" {
		lang = c.lang
	}
	if lang != "" {
		req.Header.Set("Content-Language", lang)
	}
	att := c.cfg.Begin(upstream, r.op)
	start := time.Now()
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		cancel()
		e := c.fail(ctx, apiclient.TransportError(upstream, r.op, err), r.secrets)
		att.End(0, e)
		return nil, nil, e
	}
	reqID := apiclient.RedactSecrets(resp.Header.Get("X-Request-Id"), r.secrets...)
	apiclient.LogCall(ctx, c.cfg.Logger, upstream, r.op, resp.StatusCode, time.Since(start), reqID)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		b, _ := apiclient.ReadLimited(resp.Body, maxErrorBody)
		resp.Body.Close()
		cancel()
		e := c.fail(ctx, responseError(r.op, resp.StatusCode, reqID, b), r.secrets)
		att.End(resp.StatusCode, e)
		return nil, nil, e
	}
	if !apiclient.IsJSON(resp.Header.Get("Content-Type")) {
		resp.Body.Close()
		cancel()
		e := c.fail(ctx, &apiclient.Error{Upstream: upstream, Op: r.op, StatusCode: resp.StatusCode,
			Message: "answer is not JSON", RequestID: reqID, Kind: apiclient.ErrInvalidResponse}, r.secrets)
		att.End(resp.StatusCode, e)
		return nil, nil, e
	}
	att.Watch(resp)
	return resp, cancel, nil
}

// readJSON reads the 2xx answer resp to r and decodes its envelope's
// data into out (nil: ignore it). It returns the answer's request id: the
// X-Request-Id header, else the envelope's correlation id. The caller
// closes the body.
func (c *Client) readJSON(ctx context.Context, r request, resp *http.Response, out any) (string, error) {
	reqID := apiclient.RedactSecrets(resp.Header.Get("X-Request-Id"), r.secrets...)
	fail := func(msg string, cause error) error {
		e := c.fail(ctx, &apiclient.Error{Upstream: upstream, Op: r.op, StatusCode: resp.StatusCode, Message: msg,
			RequestID: reqID, Kind: apiclient.ErrInvalidResponse, Cause: cause}, r.secrets)
		apiclient.EndAttempt(resp, e)
		return e
	}
	b, err := apiclient.ReadLimited(resp.Body, maxJSONBody)
	if err != nil {
		if errors.Is(err, apiclient.ErrBodyTooLarge) {
			return "", fail("answer too large", err)
		}
		e := apiclient.TransportError(upstream, r.op, err)
		e.StatusCode, e.RequestID = resp.StatusCode, reqID
		return "", c.fail(ctx, e, r.secrets)
	}
	var env envelope
	if err := json.Unmarshal(b, &env); err != nil {
		return "", fail("answer could not be decoded", err)
	}
	if reqID == "" {
		reqID = apiclient.RedactSecrets(string(env.CorrelationID), r.secrets...)
	}
	if env.Error {
		// An error flagged inside a 2xx answer: believe the flag, and
		// the envelope's status if it names an error.
		status := int(env.Status)
		if status < 400 {
			status = http.StatusBadRequest
		}
		e := c.fail(ctx, responseError(r.op, status, reqID, b), r.secrets)
		apiclient.EndAttempt(resp, e)
		return "", e
	}
	if out != nil {
		if len(env.Data) == 0 || string(env.Data) == "null" {
			return "", fail("answer has no data", nil)
		}
		if err := json.Unmarshal(env.Data, out); err != nil {
			return "", fail("answer could not be decoded", err)
		}
	}
	return reqID, nil
}

// responseError turns an error answer into an *apiclient.Error from its
// envelope. Scrubbing secrets is left to fail.
func responseError(op string, status int, reqID string, body []byte) *apiclient.Error {
	var env envelope
	if len(body) == 0 || json.Unmarshal(body, &env) != nil {
		return &apiclient.Error{Upstream: upstream, Op: op, StatusCode: status, RequestID: reqID,
			Message: genericMessage(status), Kind: apiclient.SentinelForStatus(status)}
	}
	return envelopeError(op, status, reqID, env)
}

// envelopeError builds the error of an envelope: its message, its
// correlation id when there is no X-Request-Id, and for VALIDATION_ERROR
// the field map from data.
func envelopeError(op string, status int, reqID string, env envelope) *apiclient.Error {
	e := &apiclient.Error{Upstream: upstream, Op: op, StatusCode: status, RequestID: reqID,
		Kind: apiclient.SentinelForStatus(status)}
	if e.RequestID == "" {
		e.RequestID = string(env.CorrelationID)
	}
	e.Message = string(env.Message)
	if e.Message == "" && len(env.Errors) > 0 {
		// The sibling Road API's envelope: a list of messages.
		e.Message = strings.Join(env.Errors, "; ")
	}
	if e.Message == validationMessage || e.Message == "" {
		e.Fields = fieldMap(env.Data)
	}
	if e.Message == "" {
		e.Message = genericMessage(status)
	}
	return e
}

// fieldMap reads a validation error's data: a map from a dotted field
// path to a list of messages, or to one message.
func fieldMap(data json.RawMessage) map[string][]string {
	if len(data) == 0 {
		return nil
	}
	var raw map[string]json.RawMessage
	if json.Unmarshal(data, &raw) != nil || len(raw) == 0 {
		return nil
	}
	fields := make(map[string][]string, len(raw))
	for f, v := range raw {
		var list []string
		if json.Unmarshal(v, &list) != nil {
			var one string
			if json.Unmarshal(v, &one) != nil {
				continue
			}
			list = []string{one}
		}
		fields[f] = list
	}
	if len(fields) == 0 {
		return nil
	}
	return fields
}

// noMessage ends the message of an error answer that carried none.
const noMessage = " (no error message from upstream)"

func genericMessage(status int) string {
	if t := http.StatusText(status); t != "" {
		return t + noMessage
	}
	return "unexpected status" + noMessage
}

// invalid is an error found before any request was made.
func (c *Client) invalid(op string, kind error, msg string) *apiclient.Error {
	return &apiclient.Error{Upstream: upstream, Op: op, Message: msg, Kind: kind}
}

// fail scrubs the secrets of the call (and anything looking like a token)
// from e, logs it and returns it.
func (c *Client) fail(ctx context.Context, e *apiclient.Error, secrets []string) *apiclient.Error {
	e.Message = apiclient.RedactSecrets(e.Message, secrets...)
	e.RequestID = apiclient.RedactSecrets(e.RequestID, secrets...)
	if e.Fields != nil {
		clean := make(map[string][]string, len(e.Fields))
		for f, msgs := range e.Fields {
			f = apiclient.RedactSecrets(f, secrets...)
			for _, m := range msgs {
				clean[f] = append(clean[f], apiclient.RedactSecrets(m, secrets...))
			}
		}
		e.Fields = clean
	}
	if e.Cause != nil && len(secrets) > 0 {
		e.Cause = scrubbed{err: e.Cause, secrets: secrets}
	}
	apiclient.LogFailure(ctx, c.cfg.Logger, e)
	return e
}

// scrubbed keeps a cause for errors.Is/As while its text loses the
// call's secrets (apiclient.Error already redacts known patterns).
type scrubbed struct {
	err     error
	secrets []string
}

func (s scrubbed) Error() string { return apiclient.RedactSecrets(s.err.Error(), s.secrets...) }
func (s scrubbed) Unwrap() error { return s.err }

// checkSegment validates a value that becomes one path segment.
func (c *Client) checkSegment(op, what, s string) error {
	if problem := apiclient.SegmentProblem(s, maxSegmentLength); problem != "" {
		return c.invalid(op, apiclient.ErrBadRequest, what+" "+problem)
	}
	return nil
}

func (c *Client) endpoint(segments ...string) *url.URL {
	return apiclient.JoinPath(c.base, segments...)
}
