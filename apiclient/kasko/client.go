// Package kasko is the client of the KASKO REST API: the policy list, one
// policy in its v2 representation, asynchronous cancellation with its
// status resource, and signed document downloads.
//
// One Client is built per upstream at start-up and shared; WithKey binds
// the signed-in user's key for one request's worth of calls. The client
// owns the auth header, the v2 Accept header and If-Match, so callers deal
// in policies and errors only.
package kasko

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"backoffice/apiclient"
)

const (
	upstream = "kasko"

	// MediaTypeV2 selects the v2 representation of policies.
	MediaTypeV2 = "application/vnd.kasko.v2+json"

	// DefaultTimeout bounds one call, from dial to the last body byte.
	DefaultTimeout = 10 * time.Second

	defaultUserAgent = "backoffice-kasko-client/1"

	// Caps on what is read from the upstream: error bodies are only
	// mined for a message; a JSON page of 100 full policies stays far
	// below the larger cap.
	maxErrorBody = 64 << 10
	maxJSONBody  = 32 << 20

	// maxPageHint bounds the room reserved for a list page's items before
	// any arrived: the upstream caps limit at 100.
	maxPageHint = 100

	maxIDLength = 256
)

// Client calls the KASKO REST API. It is safe for concurrent use; copies
// made by WithKey share its connection pool.
type Client struct {
	base *url.URL
	cfg  apiclient.Config
	key  string
}

// Option configures a Client in New.
type Option func(*Client) error

func shared(o apiclient.ConfigOption) Option {
	return func(c *Client) error {
		if err := o(&c.cfg); err != nil {
			return fmt.Errorf("kasko: %w", err)
		}
		return nil
	}
}

// WithHTTPClient makes the client use hc (its transport, redirect policy
// and any timeout of its own) instead of a private pooled one.
func WithHTTPClient(hc *http.Client) Option { return shared(apiclient.WithHTTPClient(hc)) }

// WithTimeout bounds each call (DefaultTimeout otherwise); d <= 0 is an
// error because an unbounded call would hold a user's request forever.
func WithTimeout(d time.Duration) Option { return shared(apiclient.WithTimeout(d)) }

// WithUserAgent sets the User-Agent header sent upstream.
func WithUserAgent(ua string) Option { return shared(apiclient.WithUserAgent(ua)) }

// WithLogger makes the client log one debug line per call (warn for
// failures the operator should see). Keys and signed URLs are never
// logged.
func WithLogger(l *slog.Logger) Option { return shared(apiclient.WithLogger(l)) }

// WithObserver reports every HTTP attempt to o (upstream "kasko"; op as
// logged, e.g. "GET /policies/{id}"), for metrics. See apiclient.Observer.
func WithObserver(o apiclient.Observer) Option { return shared(apiclient.WithObserver(o)) }

// New returns a client for the API at baseURL (e.g.
// "https://api.eu1.kaskocloud.com", or the sandbox's ".../kasko"); a
// trailing slash is ignored. It carries no key until WithKey.
func New(baseURL string, opts ...Option) (*Client, error) {
	base, err := apiclient.ParseBaseURL(upstream, baseURL)
	if err != nil {
		return nil, err
	}
	c := &Client{base: base, cfg: apiclient.NewConfig(defaultUserAgent, DefaultTimeout)}
	for _, opt := range opts {
		if err := opt(c); err != nil {
			return nil, err
		}
	}
	c.cfg.Finish()
	return c, nil
}

// WithKey returns a copy of c that authenticates with key (secret or
// public). The copy is cheap and shares c's connections.
func (c *Client) WithKey(key string) *Client {
	cp := *c
	cp.key = key
	return &cp
}

// BaseURL returns the base URL the client was built with.
func (c *Client) BaseURL() string {
	return c.base.String()
}

// ListPolicies returns one page of policies in the v2 representation.
func (c *Client) ListPolicies(ctx context.Context, p ListParams) (*PolicyPage, error) {
	const op = "GET /policies"
	u, err := c.listURL(op, p)
	if err != nil {
		return nil, err
	}
	var body listWire
	h, err := c.doDecode(ctx, request{op: op, method: http.MethodGet, url: u, accept: MediaTypeV2, auth: true}, func(r io.Reader) (err error) {
		body, err = decodeListV2(r, min(p.Limit, maxPageHint))
		return err
	})
	if err != nil {
		return nil, err
	}
	return &PolicyPage{Policies: body.Data, Meta: body.Meta, RequestID: h.Get("X-Request-Id")}, nil
}

// ListPoliciesV1 returns one page of policies in the flat 2015
// representation (no v2 Accept header).
func (c *Client) ListPoliciesV1(ctx context.Context, p ListParams) (*PolicyPageV1, error) {
	const op = "GET /policies (v1)"
	u, err := c.listURL(op, p)
	if err != nil {
		return nil, err
	}
	var body listWireV1
	h, err := c.doJSON(ctx, request{op: op, method: http.MethodGet, url: u, accept: "application/json", auth: true}, &body)
	if err != nil {
		return nil, err
	}
	return &PolicyPageV1{Policies: body.Data, Meta: body.Meta, RequestID: h.Get("X-Request-Id")}, nil
}

func (c *Client) listURL(op string, p ListParams) (*url.URL, error) {
	if p.Offset < 0 || p.Limit < 0 {
		return nil, c.invalid(op, apiclient.ErrBadRequest, "offset and limit must not be negative")
	}
	q := url.Values{}
	if p.Offset > 0 {
		q.Set("offset", strconv.Itoa(p.Offset))
	}
	if p.Limit > 0 {
		q.Set("limit", strconv.Itoa(p.Limit))
	}
	if p.Sort != "" {
		q.Set("sort", p.Sort)
	}
	if p.OffsetPolicyID != "" {
		q.Set("offset_policy_id", p.OffsetPolicyID)
	}
	u := c.endpoint("policies")
	u.RawQuery = q.Encode()
	return u, nil
}

// GetPolicy returns one policy by its KASKO id (tpol_…) or its insurer
// policy id, with ETag, LastModified and RequestID set from the answer.
func (c *Client) GetPolicy(ctx context.Context, id string) (*Policy, error) {
	const op = "GET /policies/{id}"
	if err := c.checkSegment(op, "policy id", id); err != nil {
		return nil, err
	}
	var p Policy
	h, err := c.doDecode(ctx, request{op: op, method: http.MethodGet, url: c.endpoint("policies", id), accept: MediaTypeV2, auth: true}, func(r io.Reader) error {
		dec := json.NewDecoder(r)
		dec.UseNumber()
		if err := decodePolicy(dec, (*policyFields)(&p)); err != nil {
			return err
		}
		return expectEOF(dec)
	})
	if err != nil {
		return nil, err
	}
	p.ETag = unquoteETag(h.Get("ETag"))
	if lm := h.Get("Last-Modified"); lm != "" {
		if t, err := http.ParseTime(lm); err == nil {
			p.LastModified = t
		}
	}
	p.RequestID = h.Get("X-Request-Id")
	return &p, nil
}

// CancelPolicy asks for the policy to be cancelled, guarded by versionID
// (the ETag of the policy the user saw), which is sent as If-Match. An
// empty versionID is refused without a request. The cancellation is
// asynchronous: follow the returned StatusURL.
func (c *Client) CancelPolicy(ctx context.Context, id, versionID string, req CancelRequest) (*CancelAccepted, error) {
	const op = "POST /policies/{id}/cancel"
	if err := c.checkSegment(op, "policy id", id); err != nil {
		return nil, err
	}
	if strings.TrimSpace(versionID) == "" {
		return nil, c.invalid(op, apiclient.ErrPreconditionFailed, "version id (If-Match) is required")
	}
	if strings.ContainsAny(versionID, "\r\n\"") {
		return nil, c.invalid(op, apiclient.ErrBadRequest, "version id contains invalid characters")
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, c.invalid(op, apiclient.ErrBadRequest, "cannot encode cancel request")
	}
	var wire cancelAcceptedWire
	h, err := c.doJSON(ctx, request{
		op: op, method: http.MethodPost, url: c.endpoint("policies", id, "cancel"),
		accept: MediaTypeV2, auth: true, body: body, ifMatch: versionID,
	}, &wire)
	if err != nil {
		return nil, err
	}
	status := wire.Links.Href("status")
	if status == "" {
		status = h.Get("Location")
	}
	if status == "" {
		return nil, &apiclient.Error{Upstream: upstream, Op: op, StatusCode: http.StatusAccepted,
			Message: "accepted without a status link", RequestID: h.Get("X-Request-Id"), Kind: apiclient.ErrInvalidResponse}
	}
	return &CancelAccepted{PolicyID: wire.PolicyID, StatusURL: status, RequestID: h.Get("X-Request-Id")}, nil
}

// VersionStatus returns the state of the modification that assembles
// versionID of the policy.
func (c *Client) VersionStatus(ctx context.Context, policyID, versionID string) (*VersionStatus, error) {
	const op = "GET /policies/{id}/versions/{version}/status"
	if err := c.checkSegment(op, "policy id", policyID); err != nil {
		return nil, err
	}
	if err := c.checkSegment(op, "version id", versionID); err != nil {
		return nil, err
	}
	return c.getStatus(ctx, op, c.endpoint("policies", policyID, "versions", versionID, "status"))
}

// FollowStatus fetches a status link as returned by CancelPolicy. The
// link must be on the base URL's scheme and host (relative links are
// resolved against it): the key is never sent anywhere else.
func (c *Client) FollowStatus(ctx context.Context, statusURL string) (*VersionStatus, error) {
	const op = "GET /policies/{id}/versions/{version}/status"
	ref, err := url.Parse(statusURL)
	if err != nil || statusURL == "" {
		return nil, c.invalid(op, apiclient.ErrBadRequest, "status URL is not a URL")
	}
	u := c.base.ResolveReference(ref)
	if u.Scheme != c.base.Scheme || !strings.EqualFold(u.Host, c.base.Host) || u.User != nil {
		return nil, c.invalid(op, apiclient.ErrBadRequest, "status URL is not on the API host")
	}
	return c.getStatus(ctx, op, u)
}

func (c *Client) getStatus(ctx context.Context, op string, u *url.URL) (*VersionStatus, error) {
	var s VersionStatus
	h, err := c.doJSON(ctx, request{op: op, method: http.MethodGet, url: u, accept: MediaTypeV2, auth: true}, &s)
	if err != nil {
		return nil, err
	}
	s.RequestID = h.Get("X-Request-Id")
	return &s, nil
}

// Download is a document being streamed from a signed URL. The caller
// must close Body.
type Download struct {
	Body        io.ReadCloser
	ContentType string
	// FileName comes from Content-Disposition, else the URL's last path
	// segment; it never contains a path separator.
	FileName string
	// ContentLength is -1 when unknown.
	ContentLength int64
	RequestID     string
}

// DownloadAsset fetches a signed asset or media URL. It sends no key:
// signed URLs authorise themselves and usually live on a CDN host that
// must never see one. An expired link is ErrForbidden.
func (c *Client) DownloadAsset(ctx context.Context, signedURL string) (*Download, error) {
	const op = "GET asset"
	u, err := url.Parse(signedURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, c.invalid(op, apiclient.ErrBadRequest, "asset URL is not an absolute http(s) URL")
	}
	resp, cancel, err := c.send(ctx, request{op: op, method: http.MethodGet, url: u, accept: "*/*"})
	if err != nil {
		return nil, err
	}
	return &Download{
		Body:          &cancelOnClose{ReadCloser: resp.Body, cancel: cancel},
		ContentType:   resp.Header.Get("Content-Type"),
		FileName:      fileName(resp.Header.Get("Content-Disposition"), u),
		ContentLength: resp.ContentLength,
		RequestID:     resp.Header.Get("X-Request-Id"),
	}, nil
}

// cancelOnClose releases the call's timeout context once the caller is
// done streaming the body.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelOnClose) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

func fileName(disposition string, u *url.URL) string {
	name := ""
	if _, params, err := mime.ParseMediaType(disposition); err == nil {
		name = params["filename"]
	}
	if name == "" {
		name = path.Base(u.Path)
	}
	name = path.Base(strings.ReplaceAll(name, `\`, "/"))
	if name == "." || name == "/" || name == ".." {
		return ""
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, name)
}

// request describes one call; only auth requests carry the key.
type request struct {
	op      string
	method  string
	url     *url.URL
	accept  string
	auth    bool
	body    []byte
	ifMatch string
}

// doJSON performs r and decodes a 2xx JSON answer into out.
func (c *Client) doJSON(ctx context.Context, r request, out any) (http.Header, error) {
	return c.doDecode(ctx, r, func(body io.Reader) error {
		b, err := io.ReadAll(body)
		if err != nil {
			return err
		}
		return json.Unmarshal(b, out)
	})
}

// doDecode performs r and hands the body of a 2xx JSON answer to decode,
// capped at maxJSONBody. A failure is an answer too large, a transport
// failure while reading, or an undecodable answer, told apart by what
// the capped reader saw rather than by the error decode returns.
func (c *Client) doDecode(ctx context.Context, r request, decode func(io.Reader) error) (http.Header, error) {
	resp, cancel, err := c.send(ctx, r)
	if err != nil {
		return nil, err
	}
	defer cancel()
	defer resp.Body.Close()
	h := resp.Header
	fail := func(msg string, cause error) error {
		e := &apiclient.Error{Upstream: upstream, Op: r.op, StatusCode: resp.StatusCode, Message: msg,
			RequestID: apiclient.Redact(h.Get("X-Request-Id")), Kind: apiclient.ErrInvalidResponse, Cause: cause}
		apiclient.EndAttempt(resp, e)
		c.logFailure(ctx, e)
		return e
	}
	if ct := h.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || !strings.Contains(mt, "json") {
			return nil, fail("answer is not JSON", nil)
		}
	}
	body := &cappedReader{r: resp.Body, left: maxJSONBody}
	err = decode(body)
	switch {
	case body.tooLarge:
		return nil, fail("answer too large", fmt.Errorf("%w (%d bytes)", apiclient.ErrBodyTooLarge, int64(maxJSONBody)))
	case body.err != nil:
		e := apiclient.TransportError(upstream, r.op, body.err)
		e.StatusCode = resp.StatusCode
		e.RequestID = apiclient.Redact(h.Get("X-Request-Id"))
		c.logFailure(ctx, e)
		return nil, e
	case err != nil:
		return nil, fail("answer could not be decoded", err)
	}
	return h, nil
}

// cappedReader reads at most left bytes of r; one more is tooLarge, so
// that a misbehaving upstream cannot exhaust memory (as ReadLimited, for
// a reader that is decoded as it arrives). err keeps the first read
// failure other than EOF.
type cappedReader struct {
	r        io.Reader
	left     int64
	tooLarge bool
	err      error
}

func (c *cappedReader) Read(p []byte) (int, error) {
	if c.tooLarge {
		return 0, apiclient.ErrBodyTooLarge
	}
	if c.err != nil {
		return 0, c.err
	}
	// Asking for one byte past the cap tells a body of exactly the cap
	// from a longer one.
	if int64(len(p)) > c.left+1 {
		p = p[:c.left+1]
	}
	n, err := c.r.Read(p)
	if int64(n) > c.left {
		c.tooLarge = true
		return 0, apiclient.ErrBodyTooLarge
	}
	c.left -= int64(n)
	if err != nil && err != io.EOF {
		c.err = err
	}
	return n, err
}

// send performs r. On success the caller owns resp.Body and must call
// cancel after reading it; on failure everything is released.
func (c *Client) send(ctx context.Context, r request) (*http.Response, context.CancelFunc, error) {
	if r.auth && c.key == "" {
		return nil, nil, c.invalid(r.op, apiclient.ErrUnauthorized, "no API key bound to the client")
	}
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
	req.Header.Set("Accept", r.accept)
	req.Header.Set("User-Agent", c.cfg.UserAgent)
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if r.ifMatch != "" {
		req.Header.Set("If-Match", r.ifMatch)
	}
	if r.auth {
		req.SetBasicAuth(c.key, "")
	}
	att := c.cfg.Begin(upstream, r.op)
	start := time.Now()
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		cancel()
		e := apiclient.TransportError(upstream, r.op, err)
		att.End(0, e)
		c.logFailure(ctx, e)
		return nil, nil, e
	}
	c.cfg.Logger.LogAttrs(ctx, slog.LevelDebug, "upstream call",
		slog.String("upstream", upstream), slog.String("op", r.op),
		slog.Int("status", resp.StatusCode), slog.Duration("duration", time.Since(start)),
		slog.String("request_id", apiclient.Redact(resp.Header.Get("X-Request-Id"))))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := responseError(r.op, resp)
		resp.Body.Close()
		cancel()
		att.End(resp.StatusCode, e)
		c.logFailure(ctx, e)
		return nil, nil, e
	}
	att.Watch(resp)
	return resp, cancel, nil
}

// responseError turns a non-2xx answer into an *apiclient.Error, taking
// the message from the v2 envelope when there is one.
func responseError(op string, resp *http.Response) *apiclient.Error {
	e := &apiclient.Error{
		Upstream:   upstream,
		Op:         op,
		StatusCode: resp.StatusCode,
		RequestID:  apiclient.Redact(resp.Header.Get("X-Request-Id")),
		Kind:       apiclient.SentinelForStatus(resp.StatusCode),
		RetryIn:    apiclient.ParseRetryAfter(resp.StatusCode, resp.Header.Get("Retry-After"), time.Now()),
	}
	b, _ := apiclient.ReadLimited(resp.Body, maxErrorBody)
	if env, ok := decodeEnvelope(b); ok {
		e.Message = apiclient.Redact(env.Message)
		for _, fe := range env.Errors {
			if fe.Field == "" {
				continue
			}
			if e.Fields == nil {
				e.Fields = map[string][]string{}
			}
			field := apiclient.Redact(fe.Field)
			e.Fields[field] = append(e.Fields[field], apiclient.Redact(fe.Code))
		}
		return e
	}
	e.Message = genericMessage(resp.StatusCode)
	return e
}

// decodeEnvelope reads a v2 error body. The upstream's own sample of the
// "expired" 422 escapes an apostrophe as \' (PHP style), which is not
// JSON; such a body is retried with the escape undone rather than losing
// the message.
func decodeEnvelope(b []byte) (errorEnvelope, bool) {
	var env errorEnvelope
	if len(b) == 0 {
		return env, false
	}
	err := json.Unmarshal(b, &env)
	if err != nil && bytes.Contains(b, []byte(`\'`)) {
		env = errorEnvelope{}
		err = json.Unmarshal(bytes.ReplaceAll(b, []byte(`\'`), []byte(`'`)), &env)
	}
	return env, err == nil && env.Message != ""
}

func genericMessage(status int) string {
	if t := http.StatusText(status); t != "" {
		return t + " (no error message from upstream)"
	}
	return "unexpected status (no error message from upstream)"
}

// invalid is an error found before any request was made.
func (c *Client) invalid(op string, kind error, msg string) *apiclient.Error {
	return &apiclient.Error{Upstream: upstream, Op: op, Message: msg, Kind: kind}
}

func (c *Client) logFailure(ctx context.Context, e *apiclient.Error) {
	level := slog.LevelDebug
	if errors.Is(e, apiclient.ErrUnavailable) || errors.Is(e, apiclient.ErrInvalidResponse) || errors.Is(e, apiclient.ErrUnauthorized) {
		// Worth an operator's attention: the upstream is down, broken,
		// or rejects the key.
		level = slog.LevelWarn
	}
	c.cfg.Logger.LogAttrs(ctx, level, "upstream call failed",
		slog.String("upstream", upstream), slog.String("op", e.Op),
		slog.Int("status", e.StatusCode), slog.String("request_id", e.RequestID),
		slog.String("error", apiclient.Redact(e.Error())))
}

// checkSegment validates an id that becomes one path segment.
func (c *Client) checkSegment(op, what, s string) error {
	if problem := apiclient.SegmentProblem(s, maxIDLength); problem != "" {
		return c.invalid(op, apiclient.ErrBadRequest, what+" "+problem)
	}
	return nil
}

// endpoint joins escaped path segments onto the base URL, so an id with
// a slash or a "?" stays one segment.
func (c *Client) endpoint(segments ...string) *url.URL {
	return apiclient.JoinPath(c.base, segments...)
}

// unquoteETag turns `W/"tpv_…"` or `"tpv_…"` into the bare version id.
func unquoteETag(s string) string {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "W/")
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	return s
}
