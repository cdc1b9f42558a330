package apiclient

import (
	"errors"
	"io"
	"net/http"
	"sync/atomic"
	"time"
)

// Observer is told about every HTTP attempt a client makes upstream, once
// the attempt is over: status is 0 when no answer arrived; d runs from
// sending the request until the answer was read (for a streamed document,
// until its body was closed); err is nil for a usable 2xx answer and an
// *Error otherwise. op is the operation as logged ("GET /policies/{id}"),
// a fixed template that never carries an id. An Observer is called from
// the goroutine of the call and must not block.
type Observer func(upstream, op string, status int, d time.Duration, err error)

// WithObserver reports every upstream attempt to o: a retry after a 401
// is a second attempt; a call refused before sending (a missing key, a
// malformed id) is none. A later WithObserver replaces an earlier one.
func WithObserver(o Observer) ConfigOption {
	return func(c *Config) error {
		if o == nil {
			return errors.New("nil observer")
		}
		c.Observer = o
		return nil
	}
}

// Attempt is one request sent upstream, reported to its Config's Observer
// by the first End. A nil *Attempt (no observer) does nothing, so that a
// client without one pays for neither the clock nor the allocation.
type Attempt struct {
	observe  Observer
	upstream string
	op       string
	start    time.Time
	ended    atomic.Bool
}

// Begin starts timing one attempt; call it right before sending.
func (c *Config) Begin(upstream, op string) *Attempt {
	if c.Observer == nil {
		return nil
	}
	return &Attempt{observe: c.Observer, upstream: upstream, op: op, start: time.Now()}
}

// End reports the attempt; later calls are ignored, so that an early
// failure wins over the body's Close that always follows it. The status of
// an *Error wins over status: CascoApi flags some refusals inside a 200.
func (a *Attempt) End(status int, err error) {
	if a == nil || !a.ended.CompareAndSwap(false, true) {
		return
	}
	var e *Error
	if errors.As(err, &e) && e.StatusCode != 0 {
		status = e.StatusCode
	}
	a.observe(a.upstream, a.op, status, time.Since(a.start), err)
}

// Watch hands the end of the attempt to resp's body: the first error
// reading it ends the attempt as a transport failure, and Close ends it
// as a success unless EndAttempt reported a failure first. Call it on a
// 2xx answer whose body the caller goes on to read.
func (a *Attempt) Watch(resp *http.Response) {
	if a == nil {
		return
	}
	resp.Body = &watchedBody{ReadCloser: resp.Body, a: a, status: resp.StatusCode}
}

// EndAttempt reports the attempt that produced resp as failed with err
// (an answer that cannot be used: not JSON, too large, undecodable). It
// does nothing when resp's body is not watched.
func EndAttempt(resp *http.Response, err error) {
	if resp == nil {
		return
	}
	if b, ok := resp.Body.(*watchedBody); ok {
		b.a.End(b.status, err)
	}
}

// watchedBody ends its attempt at the first read error or at Close.
type watchedBody struct {
	io.ReadCloser
	a      *Attempt
	status int
}

func (b *watchedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		e := TransportError(b.a.upstream, b.a.op, err)
		e.StatusCode = b.status
		b.a.End(b.status, e)
	}
	return n, err
}

func (b *watchedBody) Close() error {
	err := b.ReadCloser.Close()
	b.a.End(b.status, nil)
	return err
}
