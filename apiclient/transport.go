package apiclient

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"
)

// NewTransport returns the pooled transport a client uses when the caller
// brings no *http.Client. The dashboard talks to one or two hosts with many
// concurrent users, so the per-host idle pool is far larger than the
// standard library's default of two, which would otherwise force a new TLS
// handshake for most requests under load.
func NewTransport() *http.Transport {
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   32,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}

// ErrBodyTooLarge reports an upstream body longer than the reader's cap.
var ErrBodyTooLarge = errors.New("upstream body exceeds size limit")

// ReadLimited reads r to its end but at most max bytes; a longer body is
// ErrBodyTooLarge, so that a misbehaving upstream cannot exhaust memory.
func ReadLimited(r io.Reader, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%w (%d bytes)", ErrBodyTooLarge, max)
	}
	return b, nil
}

// TransportError wraps a failure to get an answer at all (dial, TLS,
// timeout, cancelled context, broken body) as ErrUnavailable. The request
// URL is cut down to scheme, host and path because signed URLs carry their
// credentials in the query string.
func TransportError(upstream, op string, err error) *Error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = &url.Error{Op: ue.Op, URL: StripQuery(ue.URL), Err: ue.Err}
	}
	return &Error{Upstream: upstream, Op: op, Kind: ErrUnavailable, Cause: err}
}

// StripQuery returns raw without its query, fragment and user info, for
// URLs that may end up in an error or a log line.
func StripQuery(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	u.RawQuery = ""
	u.ForceQuery = false
	u.Fragment = ""
	u.RawFragment = ""
	u.User = nil
	return u.String()
}
