// Package apiclient holds what the upstream clients (kasko, push, casco) share:
// the error type every client returns and the sentinels handlers match with
// errors.Is, so that the one error adapter in handlers can map any upstream
// failure to a page without knowing which upstream produced it.
package apiclient

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Sentinels for the classes of upstream failure a caller acts on. Every
// *Error unwraps to exactly one of them.
var (
	ErrBadRequest         = errors.New("upstream: bad request")
	ErrUnauthorized       = errors.New("upstream: unauthorized")
	ErrForbidden          = errors.New("upstream: forbidden")
	ErrNotFound           = errors.New("upstream: not found")
	ErrConflict           = errors.New("upstream: conflict")
	ErrPreconditionFailed = errors.New("upstream: precondition failed")
	ErrUnprocessable      = errors.New("upstream: unprocessable")
	ErrTooLarge           = errors.New("upstream: request too large")
	// ErrUnavailable covers 5xx answers, timeouts and transport failures:
	// the outcome of a write is unknown.
	ErrUnavailable = errors.New("upstream: unavailable")
	// ErrInvalidResponse is an answer the client could not understand
	// (garbage body, wrong content type): a 502 for the user.
	ErrInvalidResponse = errors.New("upstream: invalid response")
)

// SentinelForStatus maps an HTTP status from an upstream to its sentinel.
func SentinelForStatus(status int) error {
	switch {
	case status == http.StatusBadRequest:
		return ErrBadRequest
	case status == http.StatusUnauthorized:
		return ErrUnauthorized
	case status == http.StatusForbidden:
		return ErrForbidden
	case status == http.StatusNotFound, status == http.StatusGone:
		return ErrNotFound
	case status == http.StatusConflict:
		return ErrConflict
	case status == http.StatusPreconditionFailed, status == http.StatusPreconditionRequired:
		return ErrPreconditionFailed
	case status == http.StatusUnprocessableEntity:
		return ErrUnprocessable
	case status == http.StatusRequestEntityTooLarge:
		return ErrTooLarge
	case status >= 500:
		return ErrUnavailable
	case status >= 400:
		return ErrBadRequest
	default:
		return ErrInvalidResponse
	}
}

// Error is an upstream failure. It keeps what support needs (status, the
// upstream's own message, its request id) and never the credential used.
type Error struct {
	Upstream   string // "kasko", "push", "casco"
	Op         string // e.g. "GET /policies/{id}"
	StatusCode int    // 0 when no HTTP answer arrived
	Message    string // the upstream's message, redacted
	RequestID  string // X-Request-Id or the upstream's correlation id
	// Fields maps an input field to the upstream's messages about it, for
	// validation errors that name fields.
	Fields map[string][]string
	// Kind is the sentinel this error unwraps to.
	Kind error
	// Cause is the underlying transport or decoding error, if any.
	Cause error
	// RetryIn is the wait the upstream asked for with Retry-After on a
	// 429 or 503 (see ParseRetryAfter); 0 when it asked for none.
	RetryIn time.Duration
}

// RetryAfter is how long the upstream asked the caller to wait before
// trying again, 0 when it did not say. Retrying code finds it through
// errors.As with an interface{ RetryAfter() time.Duration }.
func (e *Error) RetryAfter() time.Duration { return e.RetryIn }

// ParseRetryAfter reads the Retry-After header of an answer with status
// at now. It counts only for 429 and 503, the answers that define it as
// "come back later"; on a redirect it means something else. The value is
// delay-seconds or an HTTP date; a date in the past, a negative or
// unreadable value is 0 (no wait asked for). Bounding the wait is the
// caller's business: a client does not know how long its caller can
// afford to wait.
func ParseRetryAfter(status int, value string, now time.Time) time.Duration {
	if status != http.StatusTooManyRequests && status != http.StatusServiceUnavailable {
		return 0
	}
	value = strings.TrimSpace(value)
	if value == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(value, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		if secs > int64(math.MaxInt64/time.Second) {
			return time.Duration(math.MaxInt64)
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(value); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Upstream)
	if e.Op != "" {
		b.WriteString(" ")
		b.WriteString(e.Op)
	}
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, ": %d", e.StatusCode)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.Cause != nil {
		b.WriteString(": ")
		b.WriteString(Redact(e.Cause.Error()))
	}
	if e.RequestID != "" {
		b.WriteString(" (request id ")
		b.WriteString(e.RequestID)
		b.WriteString(")")
	}
	return b.String()
}

// Unwrap exposes both the sentinel and the cause, so errors.Is works with
// ErrNotFound as well as with context.DeadlineExceeded.
func (e *Error) Unwrap() []error {
	errs := make([]error, 0, 2)
	if e.Kind != nil {
		errs = append(errs, e.Kind)
	}
	if e.Cause != nil {
		errs = append(errs, e.Cause)
	}
	return errs
}

// keyPattern matches KASKO API keys (sk_/pk_, test/live) wherever they
// appear; signaturePattern matches signed-URL signatures and tokens;
// jwtPattern matches a JSON Web Token (CascoApi's access tokens), whose
// header always starts with the base64 of `{"`.
var (
	keyPattern       = regexp.MustCompile(`\b([sp]k_(?:test|live)_)[A-Za-z0-9]{4,}`)
	signaturePattern = regexp.MustCompile(`(?i)\b(signature|token|refresh_token|access_token|key|password)=[^&\s"]+`)
	jwtPattern       = regexp.MustCompile(`\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*`)
)

// Redact masks API keys, JWTs and URL secrets in s. Clients pass every
// string that may end up in an error or a log line through it.
func Redact(s string) string {
	s = keyPattern.ReplaceAllString(s, "${1}…")
	s = jwtPattern.ReplaceAllString(s, "REDACTED-JWT")
	return signaturePattern.ReplaceAllString(s, "${1}=REDACTED")
}

// RedactSecrets is Redact plus the removal of secrets the caller knows
// verbatim (a password, an opaque refresh token) that no pattern can
// recognise. Secrets shorter than four bytes are ignored: masking every
// "a" of a message would destroy it and protect nothing.
func RedactSecrets(s string, secrets ...string) string {
	for _, sec := range secrets {
		if len(sec) >= 4 {
			s = strings.ReplaceAll(s, sec, "REDACTED")
		}
	}
	return Redact(s)
}

// MaskKey shows a key the way the dashboard displays it: its prefix and
// its last four characters ("sk_test_…4f2a").
func MaskKey(key string) string {
	prefix := ""
	for _, p := range []string{"sk_test_", "sk_live_", "pk_test_", "pk_live_"} {
		if strings.HasPrefix(key, p) {
			prefix = p
			break
		}
	}
	rest := strings.TrimPrefix(key, prefix)
	if len(rest) <= 4 {
		return prefix + "…"
	}
	return prefix + "…" + rest[len(rest)-4:]
}
