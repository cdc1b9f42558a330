package handlers

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"time"
)

// FormTokens keeps the one-time tokens of the forms that write upstream
// (cancel, push, offer to policy). A token names who opened the form
// (Owner), which form it is (Kind) and what it acts on (State, as the
// user saw it when the form was opened); the first submission's answer is
// kept and every later one, concurrent or not, gets it again, so that a
// double click or a resubmission never writes twice.
type FormTokens interface {
	// Open mints a token for f (its Token and Created are set here).
	Open(ctx context.Context, f Form) (token string, err error)
	// Load returns the form of token when owner opened it as kind and it
	// has not expired; ErrFormExpired otherwise.
	Load(ctx context.Context, token, owner, kind string) (Form, error)
	// Update replaces the state of token: what a form learns while it is
	// being sent (the push it made, to look for its policy later).
	Update(ctx context.Context, token string, state []byte) error
	// Once runs send for the first submission of token and keeps its
	// reply; every submission gets that reply.
	Once(ctx context.Context, token string, send func() Reply) (Reply, error)
}

// Form is an opened form.
type Form struct {
	Token   string
	Owner   string
	Kind    string
	State   []byte
	Created time.Time
}

// Reply is a kept answer.
type Reply struct {
	Status int
	Header http.Header
	Body   []byte
}

// ErrFormExpired: the token is unknown, expired, or another user's or
// another form's.
var ErrFormExpired = errors.New("form token expired or unknown")

// TokenTTL is how long an opened form can be sent.
const TokenTTL = time.Hour

// OpenForm opens a form of kind for owner with a typed state.
func OpenForm[T any](ctx context.Context, tokens FormTokens, owner, kind string, state T) (string, error) {
	b, err := json.Marshal(state)
	if err != nil {
		return "", err
	}
	return tokens.Open(ctx, Form{Owner: owner, Kind: kind, State: b})
}

// LoadForm reads the typed state of owner's form token of kind; ok is
// false when the token is not (or no longer) good.
func LoadForm[T any](ctx context.Context, tokens FormTokens, token, owner, kind string) (state T, ok bool, err error) {
	f, err := tokens.Load(ctx, token, owner, kind)
	if errors.Is(err, ErrFormExpired) {
		return state, false, nil
	}
	if err != nil {
		return state, false, err
	}
	if err := json.Unmarshal(f.State, &state); err != nil {
		// A form of an older shape (a deploy in between): open a new one.
		return state, false, nil
	}
	return state, true, nil
}

// UpdateForm replaces the typed state of token.
func UpdateForm[T any](ctx context.Context, tokens FormTokens, token string, state T) error {
	b, err := json.Marshal(state)
	if err != nil {
		return err
	}
	return tokens.Update(ctx, token, b)
}

// SendOnce answers a form's submission with the reply of its first one:
// send runs for the first submission only, writing into a recorder (its
// error goes through the error adapter there), and every submission gets
// what it wrote.
func (c *Core) SendOnce(w http.ResponseWriter, r *http.Request, token string, send Func) error {
	reply, err := c.Tokens.Once(r.Context(), token, func() Reply {
		rec := &recorder{header: http.Header{}}
		if err := send(rec, r); err != nil {
			c.ServeError(rec, r, err)
		}
		return rec.reply()
	})
	if err != nil {
		return err
	}
	for k, v := range reply.Header {
		// The session middleware sets its own cookie on the real writer.
		if k != "Set-Cookie" {
			w.Header()[k] = v
		}
	}
	w.WriteHeader(reply.Status)
	_, _ = w.Write(reply.Body)
	return nil
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
	return Reply{Status: status, Header: rec.header, Body: rec.body.Bytes()}
}

// MemoryTokens keeps form tokens in this process: a restart forgets
// every open form, and another instance does not know them.
type MemoryTokens struct {
	ttl time.Duration

	mu        sync.Mutex
	forms     map[string]*memoryForm
	lastPrune time.Time
}

type memoryForm struct {
	Form
	// sending is held while the first submission is out: a double click
	// waits for its reply instead of sending again.
	sending sync.Mutex
	reply   *Reply
}

// NewMemoryTokens keeps tokens for ttl.
func NewMemoryTokens(ttl time.Duration) *MemoryTokens {
	return &MemoryTokens{ttl: ttl, forms: map[string]*memoryForm{}}
}

// Open implements FormTokens.
func (m *MemoryTokens) Open(_ context.Context, f Form) (string, error) {
	b := make([]byte, 18)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	f.Token, f.Created = base64.RawURLEncoding.EncodeToString(b), time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	// Expired forms go at most once a minute, not on every Open: a scan
	// of every open form under the lock on each form page would cost
	// every user for what one of them opened.
	if f.Created.Sub(m.lastPrune) > time.Minute {
		for k, old := range m.forms {
			if f.Created.Sub(old.Created) > m.ttl {
				delete(m.forms, k)
			}
		}
		m.lastPrune = f.Created
	}
	m.forms[f.Token] = &memoryForm{Form: f}
	return f.Token, nil
}

func (m *MemoryTokens) live(token string) *memoryForm {
	m.mu.Lock()
	defer m.mu.Unlock()
	f := m.forms[token]
	if f == nil || time.Since(f.Created) > m.ttl {
		return nil
	}
	return f
}

// Load implements FormTokens.
func (m *MemoryTokens) Load(_ context.Context, token, owner, kind string) (Form, error) {
	f := m.live(token)
	if f == nil || f.Owner != owner || f.Kind != kind {
		return Form{}, ErrFormExpired
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	out := f.Form
	out.State = bytes.Clone(f.State)
	return out, nil
}

// Update implements FormTokens.
func (m *MemoryTokens) Update(_ context.Context, token string, state []byte) error {
	f := m.live(token)
	if f == nil {
		return ErrFormExpired
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	f.State = bytes.Clone(state)
	return nil
}

// Once implements FormTokens.
func (m *MemoryTokens) Once(_ context.Context, token string, send func() Reply) (Reply, error) {
	f := m.live(token)
	if f == nil {
		return Reply{}, ErrFormExpired
	}
	f.sending.Lock()
	defer f.sending.Unlock()
	if f.reply == nil {
		r := send()
		f.reply = &r
	}
	return *f.reply, nil
}
