package handlers

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"backoffice/apiclient"
	"backoffice/apiclient/casco"
	"backoffice/internal/session"
	"backoffice/views/auth"
)

// DemoPartner is a sandbox CascoApi account shown on the sign-in page.
type DemoPartner struct {
	Account  string
	Password string
	Name     string
}

// maxAccountLen bounds the account and password fields of the partner
// sign-in form.
const maxAccountLen = 200

// SignInPartner handles POST /signin/partner: a CascoApi account and
// password become a sealed token pair in the session, beside a KASKO key
// if there is one. The password is never kept, and never written back.
func (a *Auth) SignInPartner(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	if !a.h.upstreams.Casco || a.h.casco == nil {
		return errNotFound
	}
	account := strings.TrimSpace(r.PostForm.Get("account"))
	password := r.PostForm.Get("password")
	problem, upstreamID := "", ""
	var s *casco.Session
	switch {
	case account == "" || password == "":
		problem = "partner.error.empty"
	case len(account) > maxAccountLen || len(password) > maxAccountLen || !utf8.ValidString(account):
		problem = "partner.error.malformed"
	default:
		var err error
		s, err = a.h.casco.Login(r.Context(), account, password)
		var ue *apiclient.Error
		if errors.As(err, &ue) {
			upstreamID = ue.RequestID
		}
		switch {
		case err == nil:
		case errors.Is(err, casco.ErrInvalidCredentials), errors.Is(err, apiclient.ErrUnauthorized), errors.Is(err, apiclient.ErrForbidden):
			problem = "partner.error.rejected"
		default:
			a.h.log.Warn("partner sign-in failed upstream", slog.String("error", apiclient.Redact(err.Error())),
				slog.String("request_id", RequestID(r.Context())))
			problem = "partner.error.upstream"
		}
	}
	if problem != "" {
		v := a.view(r, "", "")
		v.Tab, v.PartnerErrorKey, v.PartnerAccount, v.UpstreamRequestID = "casco", problem, account, upstreamID
		if isHTMX(r) {
			return render(w, r, http.StatusUnprocessableEntity, auth.PartnerForm(v))
		}
		return render(w, r, http.StatusUnprocessableEntity, auth.SignIn(v))
	}
	t := s.Tokens()
	if err := a.h.sessions.SignInCasco(r.Context(), session.CascoLogin{
		Account: account, AccessToken: t.Token, RefreshToken: t.RefreshToken, Expires: t.ExpiresAt,
	}); err != nil {
		return err
	}
	a.h.log.Info("partner signed in", slog.String("account", account), slog.String("request_id", RequestID(r.Context())))
	next := r.PostForm.Get("next")
	if !isLocalPath(next) || strings.HasPrefix(next, "/signin") {
		next = "/casco"
	}
	redirect(w, r, next)
	return nil
}

// partners keeps, per CascoApi account, the newest tokens this process
// has seen. The session store keeps them too, but two requests of one
// session each save the whole session; when one of them renewed the
// tokens (which rotates the refresh token) the other could put the old
// pair back. The newer pair wins on every read.
type partners struct {
	mu     sync.Mutex
	latest map[string]session.CascoLogin // account → newest tokens
}

func (p *partners) freshest(l session.CascoLogin) session.CascoLogin {
	p.mu.Lock()
	defer p.mu.Unlock()
	if cur, ok := p.latest[l.Account]; ok && cur.Expires.After(l.Expires) && cur.SignedInAt.Equal(l.SignedInAt) {
		return cur
	}
	return l
}

func (p *partners) remember(l session.CascoLogin) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.latest == nil {
		p.latest = map[string]session.CascoLogin{}
	}
	p.latest[l.Account] = l
}

// cascoSession resumes the partner's CascoApi session for this request.
// Renewed tokens go back into the session store (and the process's
// newest-pair record) as soon as the client renews them.
func (h *Handlers) cascoSession(ctx context.Context) (*casco.Session, session.CascoLogin, error) {
	l, ok := h.sessions.Casco(ctx)
	if !ok || h.casco == nil {
		return nil, l, casco.ErrSessionExpired
	}
	l = h.partners.freshest(l)
	s, err := h.casco.Resume(casco.Tokens{Token: l.AccessToken, RefreshToken: l.RefreshToken, ExpiresAt: l.Expires})
	if err != nil {
		return nil, l, err
	}
	s.OnRenew(func(t casco.Tokens) {
		renewed := l
		renewed.AccessToken, renewed.RefreshToken, renewed.Expires = t.Token, t.RefreshToken, t.ExpiresAt
		h.partners.remember(renewed)
		if err := h.sessions.UpdateCasco(ctx, renewed); err != nil {
			h.log.ErrorContext(ctx, "keeping renewed partner tokens failed", "err", err)
		}
	})
	return s, l, nil
}

// logoutPartner ends the CascoApi session upstream (DELETE /auth), best
// effort: signing out here must work even when the upstream does not.
func (h *Handlers) logoutPartner(ctx context.Context) {
	s, _, err := h.cascoSession(ctx)
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Second)
	defer cancel()
	if err := s.Logout(ctx); err != nil {
		h.log.WarnContext(ctx, "partner logout upstream failed", "err", apiclient.Redact(err.Error()))
	}
}

// PartnerSignedIn guards a CascoApi page: without a partner login, or
// with one the upstream no longer renews, the browser goes to the
// partner sign-in and comes back to where it was.
func (h *Handlers) PartnerSignedIn(fn Func) Func {
	return func(w http.ResponseWriter, r *http.Request) error {
		if !h.upstreams.Casco {
			return errNotFound
		}
		if _, ok := h.sessions.Casco(r.Context()); !ok {
			return partnerSignIn(w, r)
		}
		err := fn(w, r)
		if errors.Is(err, casco.ErrSessionExpired) {
			h.sessions.SignOutCasco(r.Context())
			var back *expiredAt
			if errors.As(err, &back) {
				return partnerSignInTo(w, r, back.next)
			}
			return partnerSignIn(w, r)
		}
		return err
	}
}

// expiredAt is a partner session that ended during a form submission:
// after signing in again the browser goes to next (the form's page,
// whose input is kept in the draft), not to the form's action.
type expiredAt struct {
	next string
	err  error
}

func (e *expiredAt) Error() string { return e.err.Error() }
func (e *expiredAt) Unwrap() error { return e.err }

// backTo marks err, when it is an ended partner session, with the page
// to come back to after signing in again.
func backTo(err error, next string) error {
	if errors.Is(err, casco.ErrSessionExpired) {
		return &expiredAt{next: next, err: err}
	}
	return err
}

func partnerSignIn(w http.ResponseWriter, r *http.Request) error {
	return partnerSignInTo(w, r, returnPath(r))
}

func partnerSignInTo(w http.ResponseWriter, r *http.Request, next string) error {
	if !isLocalPath(next) {
		next = "/casco"
	}
	toSignIn(w, r, "/signin?tab=casco&next="+url.QueryEscape(next))
	return nil
}
