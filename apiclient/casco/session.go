package casco

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	// expires_at is Bucharest wall-clock time; the zone must resolve in
	// images without /usr/share/zoneinfo.
	_ "time/tzdata"

	"backoffice/apiclient"
)

// Tokens are what a session needs to go on, and all the dashboard has to
// keep (sealed, server-side) between requests to Resume it.
type Tokens struct {
	// Token is the JWT sent as the Token header.
	Token string `json:"token"`
	// RefreshToken renews Token (PATCH /auth). It is single-use: every
	// renewal rotates it.
	RefreshToken string `json:"refresh_token"`
	// ExpiresAt is when Token expires, in UTC: the JWT's exp claim, or
	// else the answer's expires_at read as Europe/Bucharest wall-clock
	// time (when both are there, the earlier). Zero when unknown; the
	// session then renews only after a 401.
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

// Session is one signed-in CascoApi account. Its methods are safe for
// concurrent use; concurrent calls that find the token expiring, or get a
// 401, share a single renewal. Build one with Client.Login or
// Client.Resume.
type Session struct {
	c *Client

	mu      sync.Mutex
	tokens  Tokens
	margin  time.Duration // renew this long before tokens.ExpiresAt
	lang    string
	closed  bool
	onRenew func(Tokens)

	hookMu    sync.Mutex
	delivered string // the token onRenew last saw (or was born with)
}

// flight is one PATCH /auth, shared by every caller (of any session)
// that needs the same refresh token renewed. A successful flight is kept
// for a while so that a session resumed from the old tokens, after the
// renewal, adopts the new ones instead of reusing a spent refresh token.
type flight struct {
	done   chan struct{}
	tokens Tokens // valid after done, when err is nil
	err    error
	until  time.Time // zero while running; guarded by Client.renewMu
}

// keepFlight bounds how long a finished renewal is remembered.
const keepFlight = 5 * time.Minute

// authData is the data of POST /auth and PATCH /auth.
type authData struct {
	Token        string `json:"token"`
	ExpiresAt    string `json:"expires_at"`
	RefreshToken string `json:"refresh_token"`
}

// Login authenticates account with password (POST /auth, credentials as
// query parameters as the API documents) and returns the new session. A
// refused login matches apiclient.ErrUnauthorized and ErrInvalidCredentials;
// a missing field is refused before any request.
func (c *Client) Login(ctx context.Context, account, password string) (*Session, error) {
	const op = "POST /auth"
	if strings.TrimSpace(account) == "" || password == "" {
		e := c.invalid(op, apiclient.ErrBadRequest, "account and password are required")
		e.Fields = map[string][]string{}
		if strings.TrimSpace(account) == "" {
			e.Fields["account"] = []string{"required"}
		}
		if password == "" {
			e.Fields["password"] = []string{"required"}
		}
		return nil, e
	}
	u := c.endpoint("auth")
	u.RawQuery = url.Values{"account": {account}, "password": {password}}.Encode()
	r := request{op: op, method: http.MethodPost, url: u, secrets: []string{password}}
	resp, cancel, err := c.send(ctx, r)
	if err != nil {
		var e *apiclient.Error
		if errors.As(err, &e) && e.StatusCode == http.StatusUnauthorized {
			e.Cause = ErrInvalidCredentials
		}
		return nil, err
	}
	defer cancel()
	defer resp.Body.Close()
	var data authData
	if _, err := c.readJSON(ctx, r, resp, &data); err != nil {
		return nil, err
	}
	t, err := c.tokensFrom(ctx, r, resp, data)
	if err != nil {
		return nil, err
	}
	return c.newSession(t), nil
}

// Resume rebuilds a session from tokens kept since Login (or since the
// last renewal). Tokens without a token or a refresh token match
// ErrSessionExpired. A zero ExpiresAt is taken from the JWT.
func (c *Client) Resume(t Tokens) (*Session, error) {
	if t.Token == "" || t.RefreshToken == "" {
		return nil, c.expired("resume", 0, "no stored tokens", "")
	}
	if t.ExpiresAt.IsZero() {
		t.ExpiresAt, _ = jwtTimes(t.Token)
	}
	t.ExpiresAt = t.ExpiresAt.UTC()
	return c.newSession(t), nil
}

func (c *Client) newSession(t Tokens) *Session {
	s := &Session{c: c, delivered: t.Token}
	s.set(t)
	return s
}

// set installs t; s.mu must be held or s not yet shared.
func (s *Session) set(t Tokens) {
	s.tokens = t
	s.margin = s.c.before
	if _, iat := jwtTimes(t.Token); !iat.IsZero() && !t.ExpiresAt.IsZero() {
		if quarter := t.ExpiresAt.Sub(iat) / 4; quarter < s.margin {
			s.margin = max(quarter, 0)
		}
	}
}

// Tokens returns the session's current tokens. After a call, compare
// them with the stored ones and store them again when they changed (or
// use OnRenew). After Logout they are empty.
func (s *Session) Tokens() Tokens {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokens
}

// OnRenew registers fn to be called with the new tokens after each
// renewal, once per renewal, from the goroutine of the call that needed
// it, never concurrently with itself, and never with tokens older than
// ones it already saw. fn must not block for long: that call waits.
func (s *Session) OnRenew(fn func(Tokens)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onRenew = fn
}

// SetLanguage sets the Content-Language of this session's calls ("ro",
// "en", or "" for the client's default), so that the upstream's
// messages match the user's language.
func (s *Session) SetLanguage(lang string) error {
	if err := checkLanguage(lang); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lang = lang
	return nil
}

// Renew renews the token now (PATCH /auth), sharing a renewal already
// under way. Calls renew by themselves when needed; this is for callers
// that want fresh tokens before storing them.
func (s *Session) Renew(ctx context.Context) error {
	s.mu.Lock()
	tok := s.tokens.Token
	s.mu.Unlock()
	_, err := s.renew(ctx, tok)
	return err
}

// Logout revokes the token (DELETE /auth) and closes the session: later
// calls match ErrSessionExpired and Tokens is empty. A session the
// upstream no longer accepts is closed without error, as there is
// nothing left to revoke. On other failures the session stays open.
func (s *Session) Logout(ctx context.Context) error {
	const op = "DELETE /auth"
	err := s.with(ctx, func(tok string, secrets []string) error {
		r := request{op: op, method: http.MethodDelete, url: s.c.endpoint("auth"), token: tok,
			lang: s.language(), secrets: secrets}
		resp, cancel, err := s.c.send(ctx, r)
		if err != nil {
			return err
		}
		defer cancel()
		defer resp.Body.Close()
		_, err = s.c.readJSON(ctx, r, resp, nil)
		return err
	})
	if err != nil && !errors.Is(err, apiclient.ErrUnauthorized) {
		return err
	}
	s.mu.Lock()
	s.closed = true
	s.tokens = Tokens{}
	s.mu.Unlock()
	return nil
}

func (s *Session) language() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lang
}

// with runs attempt with a fresh enough token, and once more with a
// renewed one if the upstream answers 401. Repeating a POST is safe
// there: a 401 means the upstream refused the call before acting on it.
// attempt gets the Token header value and the secrets to scrub from its
// errors.
func (s *Session) with(ctx context.Context, attempt func(tok string, secrets []string) error) error {
	t, err := s.fresh(ctx)
	if err != nil {
		return err
	}
	err = attempt(t.Token, []string{t.Token, t.RefreshToken})
	if !isUpstream401(err) {
		return err
	}
	nt, rerr := s.renew(ctx, t.Token)
	if rerr != nil {
		return rerr
	}
	return attempt(nt.Token, []string{nt.Token, nt.RefreshToken, t.Token, t.RefreshToken})
}

func isUpstream401(err error) bool {
	var e *apiclient.Error
	return errors.As(err, &e) && e.StatusCode != 0 && errors.Is(e.Kind, apiclient.ErrUnauthorized)
}

// fresh returns tokens to call with, renewing first when the token is
// about to expire. A renewal that fails for a reason other than a refused
// refresh token is not fatal while the old token is still valid.
func (s *Session) fresh(ctx context.Context) (Tokens, error) {
	s.mu.Lock()
	t, margin, closed := s.tokens, s.margin, s.closed
	s.mu.Unlock()
	if closed {
		return Tokens{}, s.c.expired("", 0, "session was logged out", "")
	}
	now := s.c.now()
	if t.ExpiresAt.IsZero() || now.Before(t.ExpiresAt.Add(-margin)) {
		return t, nil
	}
	nt, err := s.renew(ctx, t.Token)
	if err == nil {
		return nt, nil
	}
	if errors.Is(err, ErrSessionExpired) || !now.Before(t.ExpiresAt) {
		return Tokens{}, err
	}
	s.c.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "casco token renewal failed; using the current token until it expires",
		slog.Time("expires_at", t.ExpiresAt), slog.String("error", apiclient.Redact(err.Error())))
	return t, nil
}

// renew replaces the token the caller used (stale) by a renewed one. If
// the session already moved past stale, its current tokens are returned
// without a request; otherwise the caller joins the renewal of the
// session's refresh token, starting it if nobody has.
func (s *Session) renew(ctx context.Context, stale string) (Tokens, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return Tokens{}, s.c.expired("", 0, "session was logged out", "")
	}
	if s.tokens.Token != stale {
		t := s.tokens
		s.mu.Unlock()
		return t, nil
	}
	rt := s.tokens.RefreshToken
	s.mu.Unlock()

	f := s.c.join(ctx, rt)
	select {
	case <-f.done:
	case <-ctx.Done():
		e := apiclient.TransportError(upstream, "PATCH /auth", ctx.Err())
		return Tokens{}, s.c.fail(ctx, e, nil)
	}
	if f.err != nil {
		return Tokens{}, f.err
	}
	s.mu.Lock()
	if s.tokens.RefreshToken == rt && !s.closed {
		s.set(f.tokens)
	}
	t := s.tokens
	s.mu.Unlock()
	s.deliver()
	return t, nil
}

// deliver calls onRenew with the current tokens unless it saw them.
func (s *Session) deliver() {
	s.hookMu.Lock()
	defer s.hookMu.Unlock()
	s.mu.Lock()
	t, fn := s.tokens, s.onRenew
	s.mu.Unlock()
	if fn == nil || t.Token == "" || t.Token == s.delivered {
		return
	}
	s.delivered = t.Token
	fn(t)
}

// join returns the renewal flight of refresh token rt, starting one if
// there is none. The PATCH runs on its own goroutine, detached from the
// cancellation of the caller that started it, so that one impatient
// caller does not fail the others; the client's timeout still bounds it.
func (c *Client) join(ctx context.Context, rt string) *flight {
	sum := sha256.Sum256([]byte(rt))
	key := string(sum[:])
	now := c.now()
	c.renewMu.Lock()
	defer c.renewMu.Unlock()
	for k, f := range c.renewal {
		if !f.until.IsZero() && now.After(f.until) {
			delete(c.renewal, k)
		}
	}
	if f, ok := c.renewal[key]; ok {
		return f
	}
	f := &flight{done: make(chan struct{})}
	c.renewal[key] = f
	go func() {
		t, err := c.renewOnce(context.WithoutCancel(ctx), rt, sum[:])
		c.renewMu.Lock()
		f.tokens, f.err = t, err
		if err != nil {
			// Failures are not remembered: the next caller may retry.
			delete(c.renewal, key)
		} else {
			now := c.now()
			keep := keepFlight
			if left := t.ExpiresAt.Sub(now); !t.ExpiresAt.IsZero() && left < keep {
				keep = max(left, time.Second)
			}
			f.until = now.Add(keep)
		}
		c.renewMu.Unlock()
		close(f.done)
	}()
	return f
}

// refresh performs PATCH /auth with "Token: Refresh <rt>". A refused
// refresh token matches ErrSessionExpired.
func (c *Client) refresh(ctx context.Context, rt string) (Tokens, error) {
	const op = "PATCH /auth"
	r := request{op: op, method: http.MethodPatch, url: c.endpoint("auth"), token: "Refresh " + rt,
		secrets: []string{rt}}
	resp, cancel, err := c.send(ctx, r)
	if err != nil {
		var e *apiclient.Error
		if errors.As(err, &e) && (e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden) {
			e.Kind, e.Cause = apiclient.ErrUnauthorized, ErrSessionExpired
		}
		return Tokens{}, err
	}
	defer cancel()
	defer resp.Body.Close()
	var data authData
	if _, err := c.readJSON(ctx, r, resp, &data); err != nil {
		if isUpstream401(err) {
			var e *apiclient.Error
			errors.As(err, &e)
			e.Cause = ErrSessionExpired
		}
		return Tokens{}, err
	}
	return c.tokensFrom(ctx, r, resp, data)
}

// tokensFrom checks the data of an auth answer and works out the expiry.
func (c *Client) tokensFrom(ctx context.Context, r request, resp *http.Response, d authData) (Tokens, error) {
	if d.Token == "" || d.RefreshToken == "" {
		e := c.fail(ctx, &apiclient.Error{Upstream: upstream, Op: r.op, StatusCode: resp.StatusCode,
			Message: "answer has no token or refresh token", RequestID: resp.Header.Get("X-Request-Id"),
			Kind: apiclient.ErrInvalidResponse}, append(r.secrets, d.Token, d.RefreshToken))
		apiclient.EndAttempt(resp, e)
		return Tokens{}, e
	}
	exp, _ := jwtTimes(d.Token)
	if local, ok := parseBucharest(d.ExpiresAt); ok && (exp.IsZero() || local.Before(exp)) {
		exp = local
	}
	return Tokens{Token: d.Token, RefreshToken: d.RefreshToken, ExpiresAt: exp.UTC()}, nil
}

// expired is the error of a session that cannot go on.
func (c *Client) expired(op string, status int, msg, reqID string) *apiclient.Error {
	return &apiclient.Error{Upstream: upstream, Op: op, StatusCode: status, Message: msg, RequestID: reqID,
		Kind: apiclient.ErrUnauthorized, Cause: ErrSessionExpired}
}

// jwtTimes reads the exp and iat claims of a JWT without verifying it:
// the client has no key to, and only uses them to schedule renewals.
// Missing or unreadable claims are zero.
func jwtTimes(tok string) (exp, iat time.Time) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return
	}
	var claims struct {
		Exp json.Number `json:"exp"`
		Iat json.Number `json:"iat"`
	}
	if json.Unmarshal(b, &claims) != nil {
		return
	}
	return numericDate(claims.Exp), numericDate(claims.Iat)
}

// numericDate reads a JWT NumericDate (seconds since the epoch, possibly
// fractional).
func numericDate(n json.Number) time.Time {
	if n == "" {
		return time.Time{}
	}
	if i, err := n.Int64(); err == nil && i > 0 {
		return time.Unix(i, 0).UTC()
	}
	if f, err := n.Float64(); err == nil && f > 0 {
		sec := int64(f)
		return time.Unix(sec, int64((f-float64(sec))*1e9)).UTC()
	}
	return time.Time{}
}

var bucharest = sync.OnceValue(func() *time.Location {
	loc, err := time.LoadLocation("Europe/Bucharest")
	if err != nil {
		return nil
	}
	return loc
})

// parseBucharest reads expires_at: "2021-09-03 19:41:27", wall-clock time
// in Bucharest without an offset (reading it as UTC is off by two or
// three hours). An RFC 3339 value with an offset is taken as written.
func parseBucharest(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, false
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, true
	}
	loc := bucharest()
	if loc == nil {
		return time.Time{}, false
	}
	for _, layout := range []string{time.DateTime, "2006-01-02T15:04:05"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}
