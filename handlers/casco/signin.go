package casco

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"backoffice/apiclient"
	cascoapi "backoffice/apiclient/casco"
	"backoffice/handlers"
	"backoffice/internal/paths"
	"backoffice/internal/session"
	"backoffice/internal/throttle"
	"backoffice/views/auth"
)

// Auth serves the partner sign-in form; the sign-in page itself and
// signing out are the core's (handlers.Auth).
type Auth struct {
	h *Handlers
}

// maxAccountLen bounds the account and password fields of the partner
// sign-in form.
const maxAccountLen = 200

// SignIn handles POST /signin/partner: a CascoApi account and password
// become a sealed token pair in the session, beside a KASKO key if there
// is one. The password is never kept, and never written back.
func (a *Auth) SignIn(w http.ResponseWriter, r *http.Request) error {
	h := a.h
	if err := handlers.ParseForm(w, r); err != nil {
		return err
	}
	if !h.core.Features.Casco || h.casco == nil {
		return handlers.ErrNotFound
	}
	account := strings.TrimSpace(r.PostForm.Get("account"))
	password := r.PostForm.Get("password")
	// Account names are compared without case, so that changing the
	// case of a name does not buy a guesser a fresh count.
	malformed := len(account) > maxAccountLen || len(password) > maxAccountLen || !utf8.ValidString(account)
	counted := ""
	if !malformed {
		counted = strings.ToLower(account)
	}
	try, err := h.throttle.Begin(r, throttle.Casco, counted)
	if err != nil {
		return err
	}
	defer try.Done()
	var retryAfter time.Duration
	problem, upstreamID := "", ""
	var s *cascoapi.Session
	switch {
	case account == "" || password == "":
		problem = "partner.error.empty"
	case malformed:
		problem = "partner.error.malformed"
		try.Malformed()
	default:
		if ok, wait := try.Allowed(); !ok {
			problem, retryAfter = "partner.error.throttled", wait
			break
		}
		var err error
		s, err = h.casco.Login(r.Context(), account, password)
		upstreamID = handlers.UpstreamRequestID(err)
		switch {
		case err == nil:
		case errors.Is(err, cascoapi.ErrInvalidCredentials), errors.Is(err, apiclient.ErrUnauthorized), errors.Is(err, apiclient.ErrForbidden):
			problem = "partner.error.rejected"
			try.Rejected()
		default:
			h.core.Log.Warn("partner sign-in failed upstream", slog.String("error", apiclient.Redact(err.Error())),
				slog.String("request_id", handlers.RequestID(r.Context())))
			problem = "partner.error.upstream"
		}
	}
	if problem != "" {
		v := h.core.Auth.View(r, auth.TabCasco)
		v.PartnerErrorKey, v.PartnerAccount, v.UpstreamRequestID = problem, account, upstreamID
		status := http.StatusUnprocessableEntity
		if retryAfter > 0 {
			throttle.SetRetryAfter(w, retryAfter)
			status = http.StatusTooManyRequests
		}
		if handlers.IsHTMX(r) {
			return handlers.Render(w, r, status, auth.PartnerForm(v))
		}
		return handlers.Render(w, r, status, auth.SignIn(v))
	}
	t := s.Tokens()
	if err := h.core.Sessions.SignInCasco(r.Context(), session.CascoLogin{
		Account: account, AccessToken: t.Token, RefreshToken: t.RefreshToken, Expires: t.ExpiresAt,
	}); err != nil {
		return err
	}
	h.core.Log.Info("partner signed in", slog.String("account", account), slog.String("request_id", handlers.RequestID(r.Context())))
	handlers.Redirect(w, r, handlers.NextAfterSignIn(r.PostForm.Get("next"), paths.Casco))
	return nil
}
