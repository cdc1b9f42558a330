package apiclient

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Config is the configuration every upstream client shares: the HTTP
// client, the per-call timeout, the User-Agent, the logger and the
// observer of attempts. A client embeds it and wraps the ConfigOptions
// below in its own Option type, so that validation and defaults live in
// one place.
type Config struct {
	HTTPClient *http.Client
	Timeout    time.Duration
	UserAgent  string
	Logger     *slog.Logger
	// Observer, when set, is told about every attempt (see Begin).
	Observer Observer
}

// NewConfig returns a Config with the given defaults and no HTTP client
// yet; Finish supplies one.
func NewConfig(userAgent string, timeout time.Duration) Config {
	return Config{Timeout: timeout, UserAgent: userAgent, Logger: slog.New(slog.DiscardHandler)}
}

// Finish gives c a private pooled HTTP client when the caller brought
// none. Call it after applying the options.
func (c *Config) Finish() {
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Transport: NewTransport()}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// ConfigOption changes one field of a Config and rejects values that
// would make the client unusable.
type ConfigOption func(*Config) error

// WithHTTPClient uses hc (its transport, redirect policy and any timeout
// of its own) instead of a private pooled client.
func WithHTTPClient(hc *http.Client) ConfigOption {
	return func(c *Config) error {
		if hc == nil {
			return errors.New("nil http client")
		}
		c.HTTPClient = hc
		return nil
	}
}

// WithTimeout bounds each call; d <= 0 is an error because an unbounded
// call would hold a user's request forever.
func WithTimeout(d time.Duration) ConfigOption {
	return func(c *Config) error {
		if d <= 0 {
			return fmt.Errorf("timeout must be positive, got %v", d)
		}
		c.Timeout = d
		return nil
	}
}

// WithUserAgent sets the User-Agent header sent upstream.
func WithUserAgent(ua string) ConfigOption {
	return func(c *Config) error {
		if strings.ContainsAny(ua, "\r\n") {
			return errors.New("user agent contains a line break")
		}
		c.UserAgent = ua
		return nil
	}
}

// WithLogger makes the client log one debug line per call and a line per
// failure (warn for those the operator should see).
func WithLogger(l *slog.Logger) ConfigOption {
	return func(c *Config) error {
		if l == nil {
			return errors.New("nil logger")
		}
		c.Logger = l
		return nil
	}
}

// ParseBaseURL checks an upstream base URL (scheme://host[/path] only:
// no credentials, query or fragment) and drops a trailing slash.
func ParseBaseURL(upstream, raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: base URL: %w", upstream, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%s: base URL %q: scheme must be http or https", upstream, StripQuery(raw))
	}
	if u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("%s: base URL %q: want scheme://host[/path] only", upstream, StripQuery(raw))
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// JoinPath returns base with escaped path segments appended, so that an
// id with a slash or a "?" stays one segment.
func JoinPath(base *url.URL, segments ...string) *url.URL {
	u := *base
	var raw, plain strings.Builder
	raw.WriteString(base.EscapedPath())
	plain.WriteString(base.Path)
	for _, s := range segments {
		raw.WriteString("/")
		raw.WriteString(url.PathEscape(s))
		plain.WriteString("/")
		plain.WriteString(s)
	}
	u.Path = plain.String()
	u.RawPath = raw.String()
	return &u
}

// IsJSON reports whether a Content-Type header names a JSON media type;
// an absent header is accepted, since some upstreams omit it.
func IsJSON(contentType string) bool {
	if contentType == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && strings.Contains(mt, "json")
}

// LogCall writes the one debug line of a call that got an answer.
func LogCall(ctx context.Context, l *slog.Logger, upstream, op string, status int, d time.Duration, requestID string) {
	l.LogAttrs(ctx, slog.LevelDebug, "upstream call",
		slog.String("upstream", upstream), slog.String("op", op),
		slog.Int("status", status), slog.Duration("duration", d),
		slog.String("request_id", Redact(requestID)))
}

// LogFailure logs e: at warn level when the operator should look (the
// upstream is down or broken, or refuses the credential), else at debug.
func LogFailure(ctx context.Context, l *slog.Logger, e *Error) {
	level := slog.LevelDebug
	if errors.Is(e, ErrUnavailable) || errors.Is(e, ErrInvalidResponse) || errors.Is(e, ErrUnauthorized) {
		level = slog.LevelWarn
	}
	l.LogAttrs(ctx, level, "upstream call failed",
		slog.String("upstream", e.Upstream), slog.String("op", e.Op),
		slog.Int("status", e.StatusCode), slog.String("request_id", e.RequestID),
		slog.String("error", Redact(e.Error())))
}

// SegmentProblem says what is wrong with a value that becomes one path
// segment ("" when nothing is): empty, "." or "..", longer than max, or
// with control characters. Clients turn it into their own typed error.
func SegmentProblem(s string, max int) string {
	switch {
	case strings.TrimSpace(s) == "":
		return "is empty"
	case s == "." || s == "..":
		return "is not valid"
	case len(s) > max:
		return "is too long"
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return "contains control characters"
		}
	}
	return ""
}
