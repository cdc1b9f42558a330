package handlers

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"backoffice/internal/tokens"
)

// TokenStore is what the forms need of a store of one-time records
// (internal/tokens has the backends: memory, SQLite, PostgreSQL, Redis).
// A record is claimed by one caller across every instance, and keeps the
// answer that claim produced.
type TokenStore interface {
	Create(ctx context.Context, r tokens.Record, perOwner int) error
	Find(ctx context.Context, owner, kind, subject string) (tokens.Record, bool, error)
	Get(ctx context.Context, key string) (tokens.Record, error)
	SetState(ctx context.Context, key string, state []byte) error
	Claim(ctx context.Context, key string) (bool, error)
	ClaimNew(ctx context.Context, r tokens.Record) (bool, error)
	Finish(ctx context.Context, key string, result []byte, expires time.Time) error
}

// Forms keeps the one-time tokens of the forms that write upstream
// (cancel, push, asking for offers, offer to policy). A token names who
// opened the form (the session), which form it is (kind), what it acts
// on (subject) and what the user saw then (state). Its first submission
// claims it, runs detached from the browser and keeps its answer; every
// other submission, on any instance, gets that answer. So a double click,
// a resubmission, a second tab or a request the balancer sends to
// another instance never writes twice, and a browser that gives up never
// leaves a write half done.
type Forms struct {
	store TokenStore
	log   *slog.Logger
	// writeTimeout bounds a detached write, its records included.
	writeTimeout time.Duration
	// observe counts claims, replays and writes in flight (metrics).
	observe Observer

	// inflight are the detached writes running in this process; a
	// graceful shutdown waits for them.
	inflight inflight
}

// inflight counts running work and says when there is none. Unlike a
// WaitGroup, work may start while someone waits (a request that came in
// just before the listener closed).
type inflight struct {
	mu   sync.Mutex
	n    int
	idle chan struct{} // closed when n drops to 0; nil while n is 0
}

func (in *inflight) start() {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.n == 0 {
		in.idle = make(chan struct{})
	}
	in.n++
}

func (in *inflight) end() {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.n--
	if in.n == 0 {
		close(in.idle)
		in.idle = nil
	}
}

// wait returns a channel closed once nothing runs (nil: nothing runs).
func (in *inflight) wait() <-chan struct{} {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.idle
}

// Observer hears what operators count (internal/metrics): form token
// claims ("won", "lost", "expired") and replays by form kind, the upstream
// writes in flight, and the outcome of every write put on the record.
type Observer interface {
	Claim(kind, result string)
	Replay(kind string)
	WriteStarted()
	WriteEnded()
	Write(action, outcome string)
}

// Bounds of the form tokens.
const (
	// TokenTTL is how long an opened form can be sent.
	TokenTTL = time.Hour
	// MaxOpenForms bounds the open forms of one session: reopening a form
	// reuses its token, and beyond this the oldest go.
	MaxOpenForms = 20
	// replyTTL is how long a form's answer is kept after it was sent.
	replyTTL = 24 * time.Hour
	// pollEvery is how often a second submission looks for the first
	// one's answer.
	pollEvery = 100 * time.Millisecond
)

// ErrFormExpired: the token is unknown, expired, or another session's or
// another form's.
var ErrFormExpired = errors.New("form token expired or unknown")

// Form kinds.
const (
	FormCancel  = "cancel"
	FormPush    = "push"
	FormOffers  = "offers"
	FormRetry   = "offers-retry"
	FormConvert = "convert"
)

// Reply is a kept answer.
type Reply struct {
	Status int         `json:"status"`
	Header http.Header `json:"header,omitempty"`
	Body   []byte      `json:"body,omitempty"`
}

// FormsConfig configures the form tokens.
type FormsConfig struct {
	Store TokenStore
	Log   *slog.Logger
	// WriteTimeout bounds a detached write (default 30 s): the upstream
	// call with its own timeout, the records before and after it.
	WriteTimeout time.Duration
	Observer     Observer
}

// NewForms keeps form tokens in cfg.Store.
func NewForms(cfg FormsConfig) *Forms {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = 30 * time.Second
	}
	if cfg.Observer == nil {
		cfg.Observer = noObserver{}
	}
	return &Forms{store: cfg.Store, log: cfg.Log, writeTimeout: cfg.WriteTimeout, observe: cfg.Observer}
}

type noObserver struct{}

func (noObserver) Claim(string, string) {}
func (noObserver) Replay(string)        {}
func (noObserver) WriteStarted()        {}
func (noObserver) WriteEnded()          {}
func (noObserver) Write(string, string) {}

// Open returns the token of owner's form of kind about subject, carrying
// state: the one already open and not yet sent, or a new one. Rendering
// a form again (a reload, a second tab, an error shown on it) therefore
// keeps one token, and a session cannot grow the store by reloading.
func (f *Forms) Open(ctx context.Context, owner, kind, subject string, state []byte) (string, error) {
	if owner == "" {
		return "", errors.New("forms: no owner (the session has no form owner)")
	}
	if r, ok, err := f.store.Find(ctx, owner, kind, subject); err != nil {
		return "", err
	} else if ok {
		if !bytes.Equal(r.State, state) {
			if err := f.store.SetState(ctx, r.Key, state); err != nil {
				return "", err
			}
		}
		return r.Key, nil
	}
	b := make([]byte, 18)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	key := base64.RawURLEncoding.EncodeToString(b)
	err := f.store.Create(ctx, tokens.Record{Key: key, Owner: owner, Kind: kind, Subject: subject, State: state, Expires: time.Now().Add(TokenTTL)}, MaxOpenForms)
	return key, err
}

// Load returns the state of owner's token of kind; ErrFormExpired when
// it is not (or no longer) good.
func (f *Forms) Load(ctx context.Context, token, owner, kind string) ([]byte, error) {
	if token == "" || len(token) > tokens.MaxKey {
		return nil, ErrFormExpired
	}
	r, err := f.store.Get(ctx, token)
	if errors.Is(err, tokens.ErrNotFound) || errors.Is(err, tokens.ErrInvalid) {
		return nil, ErrFormExpired
	}
	if err != nil {
		return nil, err
	}
	if r.Owner != owner || r.Kind != kind {
		return nil, ErrFormExpired
	}
	if r.Claimed.IsZero() && time.Until(r.Expires) < f.writeTimeout+recordTimeout {
		// It would expire while its write runs, and take the write's
		// answer with it: a fresh form instead.
		return nil, ErrFormExpired
	}
	return r.State, nil
}

// Sent reports whether token has been sent (claimed by a submission),
// on any instance: a form whose subject changed since it was opened may
// be refused before it is sent, but once sent every submission must get
// the first one's answer. A token the store cannot read counts as not
// sent.
func (f *Forms) Sent(ctx context.Context, token string) bool {
	if token == "" || len(token) > tokens.MaxKey {
		return false
	}
	r, err := f.store.Get(ctx, token)
	return err == nil && !r.Claimed.IsZero()
}

// Update replaces the state of token.
func (f *Forms) Update(ctx context.Context, token string, state []byte) error {
	err := f.store.SetState(ctx, token, state)
	if errors.Is(err, tokens.ErrNotFound) {
		return ErrFormExpired
	}
	return err
}

// OpenForm opens (or reopens) owner's form of kind about subject with a
// typed state.
func OpenForm[T any](ctx context.Context, f *Forms, owner, kind, subject string, state T) (string, error) {
	b, err := json.Marshal(state)
	if err != nil {
		return "", err
	}
	return f.Open(ctx, owner, kind, subject, b)
}

// LoadForm reads the typed state of owner's form token of kind; ok is
// false when the token is not (or no longer) good.
func LoadForm[T any](ctx context.Context, f *Forms, token, owner, kind string) (state T, ok bool, err error) {
	b, err := f.Load(ctx, token, owner, kind)
	if errors.Is(err, ErrFormExpired) {
		return state, false, nil
	}
	if err != nil {
		return state, false, err
	}
	if err := json.Unmarshal(b, &state); err != nil {
		// A form of an older shape (a deploy in between): open a new one.
		return state, false, nil
	}
	return state, true, nil
}

// UpdateForm replaces the typed state of token.
func UpdateForm[T any](ctx context.Context, f *Forms, token string, state T) error {
	b, err := json.Marshal(state)
	if err != nil {
		return err
	}
	return f.Update(ctx, token, b)
}

// FirstTime reports whether this is the first call for key across every
// instance sharing the store, within keep: for work that must happen
// once although several requests may see that it is due (recording
// the end of an operation that two pollers see at once). When the store
// fails it answers true: a duplicate record is better than none.
func (f *Forms) FirstTime(ctx context.Context, key string, keep time.Duration) bool {
	won, err := f.store.ClaimNew(ctx, tokens.Record{Key: "once:" + key, Kind: "once", Expires: time.Now().Add(keep)})
	if err != nil {
		f.log.ErrorContext(ctx, "shared once-only record failed; going ahead", "key", key, "err", err)
		return true
	}
	return won
}

// Drain waits for the detached writes of this process to finish and
// record their outcome, until ctx ends; it reports whether they all did.
func (f *Forms) Drain(ctx context.Context) bool {
	for {
		idle := f.inflight.wait()
		if idle == nil {
			return true
		}
		select {
		case <-idle:
			// A write may have started meanwhile: look again.
		case <-ctx.Done():
			return false
		}
	}
}

// Submission is one sending of a one-time form.
type Submission struct {
	Token, Kind string
	// Input names what this submission asks for (the fields that go
	// upstream, as the form checked them): a second submission of the
	// same form with other input (another tab, edited after the first
	// was sent) is not the same request, and is not answered with the
	// first one's outcome as if it were.
	Input string
	// Send makes the upstream write and answers with its outcome.
	Send Func
	// Pending answers when the first submission's outcome is not known
	// here (still running, or lost with its instance): check before
	// sending again, never invite a second write.
	Pending Func
	// Differs answers a submission whose input is not the first one's.
	Differs Func
}

// sentReply is a kept answer with the input that produced it.
type sentReply struct {
	Reply
	Input string `json:"input"`
}

// recordTimeout bounds writing a record after the write's own deadline
// may have passed: the outcome must be kept whatever happened before.
const recordTimeout = 5 * time.Second

// SendOnce answers a submission of a one-time form. The first submission
// claims the token and runs s.Send detached from the request: with its
// own deadline, to the end, whatever the browser does, and its answer is
// kept in the store before anything is written back. A later or
// concurrent submission, on any instance, waits for that answer and gets
// it (s.Differs when it asked for something else); when none comes in
// time, s.Pending answers instead.
func (c *Core) SendOnce(w http.ResponseWriter, r *http.Request, s Submission) error {
	f := c.Forms
	ctx := r.Context()
	input := inputDigest(s.Input)
	won, err := f.store.Claim(ctx, s.Token)
	switch {
	case errors.Is(err, tokens.ErrNotFound) || errors.Is(err, tokens.ErrInvalid):
		f.observe.Claim(s.Kind, "expired")
		return ErrFormExpired
	case err != nil:
		// The claim may have gone through before the store failed:
		// nobody knows whether a write started.
		f.log.ErrorContext(ctx, "claiming a form token failed", "kind", s.Kind, "err", err)
		return s.Pending(w, r)
	}
	if !won {
		f.observe.Claim(s.Kind, "lost")
		sent, ok := f.wait(ctx, s.Token)
		switch {
		case ctx.Err() != nil:
			return nil // the browser left; nobody to answer
		case !ok:
			return s.Pending(w, r)
		case sent.Input != input:
			return s.Differs(w, r)
		}
		f.observe.Replay(s.Kind)
		writeReply(w, r, sent.Reply)
		return nil
	}
	f.observe.Claim(s.Kind, "won")
	done := make(chan Reply, 1)
	f.inflight.start()
	f.observe.WriteStarted()
	go func() {
		defer f.inflight.end()
		defer f.observe.WriteEnded()
		done <- c.sendDetached(r, s.Token, input, s.Send)
	}()
	select {
	case reply := <-done:
		writeReply(w, r, reply)
	case <-ctx.Done():
		// The browser gave up; the write goes on and its answer waits in
		// the store for the next submission of this form.
	}
	return nil
}

// inputDigest keeps what a submission asked for without keeping it
// (personal data stays out of the token store).
func inputDigest(input string) string {
	sum := sha256.Sum256([]byte(input))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// sendDetached runs send without the request's cancellation, records
// its answer under token and returns it.
func (c *Core) sendDetached(r *http.Request, token, input string, send Func) Reply {
	f := c.Forms
	detached := context.WithoutCancel(r.Context())
	ctx, cancel := context.WithTimeout(detached, f.writeTimeout)
	defer cancel()
	dr := r.WithContext(ctx)
	rec := &recorder{header: http.Header{}}
	if err := send(rec, dr); err != nil {
		c.ServeError(rec, dr, err)
	}
	reply := rec.reply()
	// Recorded on a context of its own: the write's deadline may have
	// passed, its outcome must be kept all the same.
	rctx, rcancel := context.WithTimeout(detached, recordTimeout)
	defer rcancel()
	b, err := json.Marshal(sentReply{Reply: reply, Input: input})
	if err == nil {
		err = f.store.Finish(rctx, token, b, time.Now().Add(replyTTL))
	}
	if err != nil {
		// The write happened, or not, upstream all the same, and its
		// record is in the audit log; a resubmission will be told the
		// outcome is unknown rather than write again.
		f.log.ErrorContext(rctx, "keeping a form's answer failed", "err", err)
	}
	return reply
}

// wait polls token for the answer of its first submission, for as long
// as that one may take, or until ctx ends. ok is false when no answer can
// be had (none in time, its instance died, the store failed).
func (f *Forms) wait(ctx context.Context, token string) (sentReply, bool) {
	deadline := time.Now().Add(f.writeTimeout + recordTimeout)
	t := time.NewTicker(pollEvery)
	defer t.Stop()
	for {
		rec, err := f.store.Get(ctx, token)
		switch {
		case ctx.Err() != nil:
			return sentReply{}, false
		case err != nil:
			if !errors.Is(err, tokens.ErrNotFound) {
				f.log.ErrorContext(ctx, "reading a form's answer failed", "err", err)
			}
			return sentReply{}, false
		}
		if rec.Result != nil {
			var sent sentReply
			if err := json.Unmarshal(rec.Result, &sent); err != nil {
				f.log.ErrorContext(ctx, "a form's kept answer is unreadable", "err", err)
				return sentReply{}, false
			}
			return sent, true
		}
		// A claim older than any write can take belongs to an instance
		// that died mid-write: its outcome will never be recorded here.
		if !rec.Claimed.IsZero() && time.Since(rec.Claimed) > f.writeTimeout+recordTimeout {
			return sentReply{}, false
		}
		if time.Now().After(deadline) {
			return sentReply{}, false
		}
		select {
		case <-ctx.Done():
			return sentReply{}, false
		case <-t.C:
		}
	}
}

// writeReply sends a kept answer to r. A redirect recorded for an htmx
// request (HX-Redirect) is a 303 for a plain one, and the reverse, so
// that a resubmission by the other kind of request still lands on the
// outcome.
func writeReply(w http.ResponseWriter, r *http.Request, reply Reply) {
	h := reply.Header.Clone()
	if h == nil {
		h = http.Header{}
	}
	status := reply.Status
	htmx := r.Header.Get("HX-Request") == "true"
	switch {
	case !htmx && h.Get("HX-Redirect") != "":
		h.Set("Location", h.Get("HX-Redirect"))
		h.Del("HX-Redirect")
		status, reply.Body = http.StatusSeeOther, nil
	case htmx && status == http.StatusSeeOther && h.Get("Location") != "":
		h.Set("HX-Redirect", h.Get("Location"))
		h.Del("Location")
		status, reply.Body = http.StatusNoContent, nil
	}
	if reply.Body == nil {
		h.Del("Content-Length")
		h.Del("Content-Type")
	}
	for k, v := range h {
		// The session middleware sets its own cookie on the real writer.
		if k != "Set-Cookie" {
			w.Header()[k] = v
		}
	}
	w.WriteHeader(status)
	_, _ = w.Write(reply.Body)
}

// recorder is a ResponseWriter that keeps the answer to send it again.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (rec *recorder) Header() http.Header { return rec.header }

func (rec *recorder) WriteHeader(status int) {
	if rec.status == 0 {
		rec.status = status
	}
}

func (rec *recorder) Write(b []byte) (int, error) {
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	return rec.body.Write(b)
}

func (rec *recorder) reply() Reply {
	status := rec.status
	if status == 0 {
		status = http.StatusOK
	}
	h := rec.header.Clone()
	h.Del("Set-Cookie")
	return Reply{Status: status, Header: h, Body: rec.body.Bytes()}
}
