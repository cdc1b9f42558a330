package kasko

import (
	"errors"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"backoffice/apiclient"
	kaskoapi "backoffice/apiclient/kasko"
	"backoffice/handlers"
	"backoffice/internal/paths"
	"backoffice/internal/throttle"
	"backoffice/views/auth"
)

// Auth serves the KASKO tab of the sign-in page; the page itself, the
// home redirect and signing out are the core's.
type Auth struct {
	h *Handlers
}

// kaskoKeyPattern is the shape of every KASKO API key: kind, mode and 32
// letters and digits (contract §1.2).
var kaskoKeyPattern = regexp.MustCompile(`^[sp]k_(test|live)_[A-Za-z0-9]{32}$`)

// maxDisplayName bounds the optional name a user gives at sign-in.
const maxDisplayName = 80

// SignIn handles POST /signin. The key's shape is checked before anything
// leaves the server, then one cheap upstream call (a one-item list) proves
// the key works. The key is never written back into the page.
func (a *Auth) SignIn(w http.ResponseWriter, r *http.Request) error {
	if err := handlers.ParseForm(w, r); err != nil {
		return err
	}
	if !a.h.kaskoEnabled() {
		return handlers.ErrNotFound
	}
	core := a.h.core
	key := strings.TrimSpace(r.PostForm.Get("key"))
	name := strings.TrimSpace(r.PostForm.Get("display_name"))
	// A guess is counted against the key's masked form, what identifies
	// it without revealing it; a malformed key guesses at no account.
	account := ""
	if kaskoKeyPattern.MatchString(key) {
		account = apiclient.MaskKey(key)
	}
	try, err := a.h.throttle.Begin(r, throttle.Kasko, account)
	if err != nil {
		return err
	}
	defer try.Done()
	var retryAfter time.Duration
	problem, upstreamID, tenant := "", "", ""
	switch {
	case key == "":
		problem = "signin.error.empty"
	case !kaskoKeyPattern.MatchString(key):
		problem = "signin.error.malformed"
		try.Malformed()
	case !utf8.ValidString(name) || utf8.RuneCountInString(name) > maxDisplayName:
		problem = "signin.error.display_name"
	default:
		if ok, wait := try.Allowed(); !ok {
			problem, retryAfter = "signin.error.throttled", wait
			break
		}
		page, err := a.h.kasko(key).ListPolicies(r.Context(), kaskoapi.ListParams{Limit: 1})
		upstreamID, tenant = handlers.UpstreamRequestID(err), keyTenant(key, page)
		switch {
		case err == nil:
		case errors.Is(err, apiclient.ErrUnauthorized), errors.Is(err, apiclient.ErrForbidden), errors.Is(err, apiclient.ErrNotFound):
			problem = "signin.error.rejected"
			try.Rejected()
		default:
			core.Log.Warn("sign-in check failed upstream", slog.String("error", apiclient.Redact(err.Error())),
				slog.String("request_id", handlers.RequestID(r.Context())))
			problem = "signin.error.upstream"
		}
	}
	if problem != "" {
		v := core.Auth.View(r, auth.TabKasko)
		v.ErrorKey, v.DisplayName, v.UpstreamRequestID = problem, name, upstreamID
		status := http.StatusUnprocessableEntity
		if retryAfter > 0 {
			throttle.SetRetryAfter(w, retryAfter)
			status = http.StatusTooManyRequests
		}
		if handlers.IsHTMX(r) {
			return handlers.Render(w, r, status, auth.KeyForm(v))
		}
		return handlers.Render(w, r, status, auth.SignIn(v))
	}
	if err := core.Sessions.SignInKasko(r.Context(), key, name); err != nil {
		return err
	}
	a.h.rememberTenant(r.Context(), key, tenant)
	core.Log.Info("signed in", slog.String("key", apiclient.MaskKey(key)), slog.String("request_id", handlers.RequestID(r.Context())))
	handlers.Redirect(w, r, handlers.NextAfterSignIn(r.PostForm.Get("next"), paths.Policies))
	return nil
}

// kaskoEnabled: the KASKO pages exist when the KASKO API is configured.
func (h *Handlers) kaskoEnabled() bool { return h.core.Features.Kasko && h.kasko != nil }

// pushEnabled: the new-policy form exists when the push API is
// configured.
func (h *Handlers) pushEnabled() bool { return h.core.Features.Push && h.push != nil }
