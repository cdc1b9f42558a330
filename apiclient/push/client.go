// Package push is the client of the KASKO push API (used for ARAG AS24):
// one endpoint, POST /, that creates a policy from a variant id and the
// customer's input in a single request.
//
// Its errors come in their own envelope ({"errorMessage": "Bad Request:
// The 'vin' field is required."}); the client turns a message that names a
// field into apiclient.Error.Fields so a form can show it on that field.
package push

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"regexp"
	"strings"
	"time"

	"backoffice/apiclient"
)

const (
	upstream = "push"

	// DefaultTimeout bounds one call, from dial to the last body byte.
	DefaultTimeout = 10 * time.Second

	defaultUserAgent = "backoffice-push-client/1"

	maxErrorBody = 64 << 10
	maxJSONBody  = 1 << 20

	op = "POST /"
)

// Client calls the push API. It is safe for concurrent use; copies made
// by WithKey share its connection pool.
type Client struct {
	endpoint string
	cfg      apiclient.Config
	key      string
}

// Option configures a Client in New.
type Option func(*Client) error

func shared(o apiclient.ConfigOption) Option {
	return func(c *Client) error {
		if err := o(&c.cfg); err != nil {
			return fmt.Errorf("push: %w", err)
		}
		return nil
	}
}

// WithHTTPClient makes the client use hc instead of a private pooled one.
func WithHTTPClient(hc *http.Client) Option { return shared(apiclient.WithHTTPClient(hc)) }

// WithTimeout bounds each call (DefaultTimeout otherwise).
func WithTimeout(d time.Duration) Option { return shared(apiclient.WithTimeout(d)) }

// WithUserAgent sets the User-Agent header sent upstream.
func WithUserAgent(ua string) Option { return shared(apiclient.WithUserAgent(ua)) }

// WithLogger makes the client log one debug line per call (warn for
// failures the operator should see). Keys are never logged.
func WithLogger(l *slog.Logger) Option { return shared(apiclient.WithLogger(l)) }

// WithObserver reports every HTTP attempt to o (upstream "push", op
// "POST /"), for metrics. See apiclient.Observer.
func WithObserver(o apiclient.Observer) Option { return shared(apiclient.WithObserver(o)) }

// New returns a client for the push API at baseURL
// ("https://push-api.kasko.io", or the sandbox's ".../push"). Requests go
// to baseURL + "/" exactly: the API has no other path.
func New(baseURL string, opts ...Option) (*Client, error) {
	u, err := apiclient.ParseBaseURL(upstream, baseURL)
	if err != nil {
		return nil, err
	}
	u.Path += "/"
	c := &Client{endpoint: u.String(), cfg: apiclient.NewConfig(defaultUserAgent, DefaultTimeout)}
	for _, opt := range opts {
		if err := opt(c); err != nil {
			return nil, err
		}
	}
	c.cfg.Finish()
	return c, nil
}

// WithKey returns a copy of c that authenticates with key (a secret key;
// the upstream refuses public ones). The copy shares c's connections.
func (c *Client) WithKey(key string) *Client {
	cp := *c
	cp.key = key
	return &cp
}

// Endpoint returns the URL requests are posted to.
func (c *Client) Endpoint() string {
	return c.endpoint
}

// CreatePolicy pushes one policy and returns its reference.
func (c *Client) CreatePolicy(ctx context.Context, req CreateRequest) (*Created, error) {
	if c.key == "" {
		return nil, c.fail(ctx, &apiclient.Error{Upstream: upstream, Op: op, Message: "no API key bound to the client", Kind: apiclient.ErrUnauthorized})
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, &apiclient.Error{Upstream: upstream, Op: op, Message: "cannot encode request", Kind: apiclient.ErrBadRequest}
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, &apiclient.Error{Upstream: upstream, Op: op, Message: "cannot build request", Kind: apiclient.ErrBadRequest}
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Accept", "application/json")
	hreq.Header.Set("User-Agent", c.cfg.UserAgent)
	hreq.SetBasicAuth(c.key, "")

	att := c.cfg.Begin(upstream, op)
	start := time.Now()
	resp, err := c.cfg.HTTPClient.Do(hreq)
	if err != nil {
		e := apiclient.TransportError(upstream, op, err)
		att.End(0, e)
		return nil, c.fail(ctx, e)
	}
	defer resp.Body.Close()
	reqID := apiclient.Redact(resp.Header.Get("X-Request-Id"))
	c.cfg.Logger.LogAttrs(ctx, slog.LevelDebug, "upstream call",
		slog.String("upstream", upstream), slog.String("op", op),
		slog.Int("status", resp.StatusCode), slog.Duration("duration", time.Since(start)),
		slog.String("request_id", reqID))

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		b, _ := apiclient.ReadLimited(resp.Body, maxErrorBody)
		e := responseError(resp.StatusCode, reqID, b)
		att.End(resp.StatusCode, e)
		return nil, c.fail(ctx, e)
	}
	invalid := func(msg string, cause error) error {
		e := &apiclient.Error{Upstream: upstream, Op: op, StatusCode: resp.StatusCode, Message: msg,
			RequestID: reqID, Kind: apiclient.ErrInvalidResponse, Cause: cause}
		att.End(resp.StatusCode, e)
		return c.fail(ctx, e)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || !strings.Contains(mt, "json") {
			return nil, invalid("answer is not JSON", nil)
		}
	}
	b, err := apiclient.ReadLimited(resp.Body, maxJSONBody)
	if err != nil {
		if errors.Is(err, apiclient.ErrBodyTooLarge) {
			return nil, invalid("answer too large", err)
		}
		e := apiclient.TransportError(upstream, op, err)
		e.StatusCode, e.RequestID = resp.StatusCode, reqID
		att.End(resp.StatusCode, e)
		return nil, c.fail(ctx, e)
	}
	var created Created
	if err := json.Unmarshal(b, &created); err != nil {
		return nil, invalid("answer could not be decoded", err)
	}
	if created.Reference == "" {
		return nil, invalid("answer has no reference", nil)
	}
	created.RequestID = reqID
	att.End(resp.StatusCode, nil)
	return &created, nil
}

// quotedField finds the field a message names: "Missing 'vin'.", "The
// 'start_date' field must …".
var quotedField = regexp.MustCompile(`'([A-Za-z_][A-Za-z0-9_.]*)'`)

// responseError builds the error for a non-2xx answer from the
// errorMessage envelope.
func responseError(status int, reqID string, body []byte) *apiclient.Error {
	e := &apiclient.Error{Upstream: upstream, Op: op, StatusCode: status, RequestID: reqID,
		Kind: apiclient.SentinelForStatus(status)}
	var env errorEnvelope
	if len(body) == 0 || json.Unmarshal(body, &env) != nil || env.ErrorMessage == "" {
		e.Message = http.StatusText(status) + " (no error message from upstream)"
		return e
	}
	e.Message = apiclient.Redact(env.ErrorMessage)
	if m := quotedField.FindStringSubmatch(e.Message); m != nil {
		// The form shows the message next to the field, where the
		// "Bad Request: " status prefix is noise.
		text := e.Message
		if _, rest, ok := strings.Cut(text, ": "); ok {
			text = rest
		}
		// A dotted path ("input.data.vin") names the same form field
		// as its last part.
		field := m[1]
		if i := strings.LastIndexByte(field, '.'); i >= 0 && i < len(field)-1 {
			field = field[i+1:]
		}
		e.Fields = map[string][]string{field: {text}}
	}
	return e
}

func (c *Client) fail(ctx context.Context, e *apiclient.Error) error {
	level := slog.LevelDebug
	if errors.Is(e, apiclient.ErrUnavailable) || errors.Is(e, apiclient.ErrInvalidResponse) || errors.Is(e, apiclient.ErrUnauthorized) {
		level = slog.LevelWarn
	}
	c.cfg.Logger.LogAttrs(ctx, level, "upstream call failed",
		slog.String("upstream", upstream), slog.String("op", e.Op),
		slog.Int("status", e.StatusCode), slog.String("request_id", e.RequestID),
		slog.String("error", apiclient.Redact(e.Error())))
	return e
}
