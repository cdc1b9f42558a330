package casco

import (
	"context"
	"errors"
	"net/http"
	"time"

	"backoffice/apiclient"
	cascoapi "backoffice/apiclient/casco"
	"backoffice/handlers"
	"backoffice/internal/i18n"
	"backoffice/internal/paths"
)

// cascoSession resumes the partner's CascoApi session for this request.
// Renewed tokens go back into the session as soon as the client renews
// them. Two requests of one session each save the whole session, so the
// older pair may come back; the client then adopts the renewal of its
// spent refresh token (kept by this process, and by the shared token
// store for every instance) instead of spending it again.
func (h *Handlers) cascoSession(ctx context.Context) (*cascoapi.Session, error) {
	l, ok := h.core.Sessions.Casco(ctx)
	if !ok || h.casco == nil {
		return nil, cascoapi.ErrSessionExpired
	}
	s, err := h.casco.Resume(cascoapi.Tokens{Token: l.AccessToken, RefreshToken: l.RefreshToken, ExpiresAt: l.Expires})
	if err != nil {
		return nil, err
	}
	s.OnRenew(func(t cascoapi.Tokens) {
		renewed := l
		renewed.AccessToken, renewed.RefreshToken, renewed.Expires = t.Token, t.RefreshToken, t.ExpiresAt
		if err := h.core.Sessions.UpdateCasco(ctx, renewed); err != nil {
			h.core.Log.ErrorContext(ctx, "keeping renewed partner tokens failed", "err", err)
		}
	})
	return s, nil
}

// partnerCasco is the partner's CascoApi session, answering in the
// user's language: Romanian messages for Romanian users, English
// otherwise (the languages the CascoApi speaks).
func (h *Handlers) partnerCasco(ctx context.Context) (*cascoapi.Session, error) {
	s, err := h.cascoSession(ctx)
	if err != nil {
		return nil, err
	}
	lang := "en"
	if i18n.Lang(ctx) == "ro" {
		lang = "ro"
	}
	_ = s.SetLanguage(lang)
	return s, nil
}

// formOwner ties a form to the session and partner account that opened
// it.
func (h *Handlers) formOwner(ctx context.Context, account string) string {
	return h.core.FormOwner(ctx, "casco:"+account)
}

// partnerAccount is the signed-in CascoApi account.
func (h *Handlers) partnerAccount(ctx context.Context) (string, error) {
	l, ok := h.core.Sessions.Casco(ctx)
	if !ok || l.Account == "" {
		return "", cascoapi.ErrSessionExpired
	}
	return l.Account, nil
}

// endUpstreamSession ends the CascoApi session upstream (DELETE /auth)
// when the user signs out, best effort: signing out here must work even
// when the upstream does not.
func (h *Handlers) endUpstreamSession(ctx context.Context) {
	s, err := h.cascoSession(ctx)
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Second)
	defer cancel()
	if err := s.Logout(ctx); err != nil {
		h.core.Log.WarnContext(ctx, "partner logout upstream failed", "err", apiclient.Redact(err.Error()))
	}
}

// PartnerSignedIn guards a CascoApi page: without a partner login, or
// with one the upstream no longer renews, the browser goes to the
// partner sign-in and comes back to where it was.
func (h *Handlers) PartnerSignedIn(fn handlers.Func) handlers.Func {
	return func(w http.ResponseWriter, r *http.Request) error {
		if !h.core.Features.Casco {
			return handlers.ErrNotFound
		}
		if _, ok := h.core.Sessions.Casco(r.Context()); !ok {
			return partnerSignIn(w, r)
		}
		err := fn(w, r)
		if errors.Is(err, cascoapi.ErrSessionExpired) {
			h.core.Sessions.SignOutCasco(r.Context())
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

// toPartnerSignIn answers an ended partner session met where the guard
// cannot see it (inside a form's kept answer): signed out of the
// CascoApi, back to the partner sign-in, then to next.
func (h *Handlers) toPartnerSignIn(w http.ResponseWriter, r *http.Request, err error, next string) error {
	if !errors.Is(err, cascoapi.ErrSessionExpired) {
		return err
	}
	h.core.Sessions.SignOutCasco(r.Context())
	return partnerSignInTo(w, r, next)
}

// backTo marks err, when it is an ended partner session, with the page
// to come back to after signing in again.
func backTo(err error, next string) error {
	if errors.Is(err, cascoapi.ErrSessionExpired) {
		return &expiredAt{next: next, err: err}
	}
	return err
}

func partnerSignIn(w http.ResponseWriter, r *http.Request) error {
	return partnerSignInTo(w, r, handlers.ReturnPath(r))
}

func partnerSignInTo(w http.ResponseWriter, r *http.Request, next string) error {
	if !handlers.IsLocalPath(next) {
		next = paths.Casco
	}
	handlers.ToSignIn(w, r, paths.SignInPartnerNext(next))
	return nil
}

// OwnAudit guards the KASKO audit log (GET /audit) for partners: a
// session signed in with a CascoApi account and no KASKO key is sent to
// the partner's own log (/casco/audit) instead of the KASKO sign-in.
// Every other request goes to next unchanged, so the KASKO guard inside
// it decides as before: a KASKO login (with or without a partner one)
// sees the KASKO log, an anonymous visitor goes to the KASKO sign-in.
func (h *Handlers) OwnAudit(next handlers.Func) handlers.Func {
	return func(w http.ResponseWriter, r *http.Request) error {
		ctx := r.Context()
		if h.core.Features.Casco {
			_, kasko := h.core.Sessions.Kasko(ctx)
			if l, partner := h.core.Sessions.Casco(ctx); partner && l.Account != "" && !kasko {
				handlers.Redirect(w, r, paths.CascoAudit)
				return nil
			}
		}
		return next(w, r)
	}
}
