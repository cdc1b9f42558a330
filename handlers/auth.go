package handlers

import (
	"errors"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"unicode/utf8"

	"backoffice/apiclient"
	"backoffice/apiclient/kasko"
	"backoffice/internal/i18n"
	"backoffice/views/auth"
)

// Auth serves signing in and out.
type Auth struct {
	h *Handlers
}

// maxFormBytes bounds every form body the dashboard reads.
const maxFormBytes = 64 << 10

// kaskoKeyPattern is the shape of every KASKO API key: kind, mode and 32
// letters and digits (contract §1.2).
var kaskoKeyPattern = regexp.MustCompile(`^[sp]k_(test|live)_[A-Za-z0-9]{32}$`)

// maxDisplayName bounds the optional name a user gives at sign-in.
const maxDisplayName = 80

// Home handles GET /: the policy list for a signed-in user, else sign-in.
func (a *Auth) Home(w http.ResponseWriter, r *http.Request) error {
	target := "/signin"
	if _, ok := a.h.sessions.Kasko(r.Context()); ok {
		target = "/policies"
	} else if _, ok := a.h.sessions.Casco(r.Context()); ok {
		target = "/casco"
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
	return nil
}

// SignInPage handles GET /signin.
func (a *Auth) SignInPage(w http.ResponseWriter, r *http.Request) error {
	return render(w, r, http.StatusOK, auth.SignIn(a.view(r, "", "")))
}

// SignIn handles POST /signin. The key's shape is checked before anything
// leaves the server, then one cheap upstream call (a one-item list) proves
// the key works. The key is never written back into the page.
func (a *Auth) SignIn(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	if !a.h.upstreams.Kasko {
		return errNotFound
	}
	key := strings.TrimSpace(r.PostForm.Get("key"))
	name := strings.TrimSpace(r.PostForm.Get("display_name"))
	problem, upstreamID := "", ""
	switch {
	case key == "":
		problem = "signin.error.empty"
	case !kaskoKeyPattern.MatchString(key):
		problem = "signin.error.malformed"
	case !utf8.ValidString(name) || utf8.RuneCountInString(name) > maxDisplayName:
		problem = "signin.error.display_name"
	default:
		_, err := a.h.kasko(key).ListPolicies(r.Context(), kasko.ListParams{Limit: 1})
		var ue *apiclient.Error
		if errors.As(err, &ue) {
			upstreamID = ue.RequestID
		}
		switch {
		case err == nil:
		case errors.Is(err, apiclient.ErrUnauthorized), errors.Is(err, apiclient.ErrForbidden), errors.Is(err, apiclient.ErrNotFound):
			problem = "signin.error.rejected"
		default:
			a.h.log.Warn("sign-in check failed upstream", slog.String("error", apiclient.Redact(err.Error())),
				slog.String("request_id", RequestID(r.Context())))
			problem = "signin.error.upstream"
		}
	}
	if problem != "" {
		v := a.view(r, problem, name)
		v.UpstreamRequestID = upstreamID
		if isHTMX(r) {
			return render(w, r, http.StatusUnprocessableEntity, auth.KeyForm(v))
		}
		return render(w, r, http.StatusUnprocessableEntity, auth.SignIn(v))
	}
	if err := a.h.sessions.SignInKasko(r.Context(), key, name); err != nil {
		return err
	}
	a.h.log.Info("signed in", slog.String("key", apiclient.MaskKey(key)), slog.String("request_id", RequestID(r.Context())))
	next := r.PostForm.Get("next")
	if !isLocalPath(next) || strings.HasPrefix(next, "/signin") {
		next = "/policies"
	}
	redirect(w, r, next)
	return nil
}

// SignOut handles POST /signout: the session is destroyed, the
// preferences cookie stays.
func (a *Auth) SignOut(w http.ResponseWriter, r *http.Request) error {
	a.h.logoutPartner(r.Context())
	if err := a.h.sessions.SignOut(r.Context()); err != nil {
		return err
	}
	redirect(w, r, "/signin")
	return nil
}

func (a *Auth) view(r *http.Request, problem, name string) auth.SignInView {
	next := r.FormValue("next")
	if !isLocalPath(next) {
		next = ""
	}
	tab := r.FormValue("tab")
	if tab != "casco" || !a.h.upstreams.Casco {
		tab = "kasko"
	}
	if !a.h.upstreams.Kasko && a.h.upstreams.Casco {
		tab = "casco"
	}
	v := auth.SignInView{
		Meta:         a.h.meta(r, i18n.T(r.Context(), "signin.title")),
		Tab:          tab,
		CascoEnabled: a.h.upstreams.Casco && a.h.casco != nil,
		KaskoEnabled: a.h.upstreams.Kasko,
		SandboxURL:   a.h.upstreams.SandboxURL,
		ErrorKey:     problem,
		Next:         next,
		DisplayName:  name,
	}
	for _, k := range a.h.upstreams.DemoKeys {
		v.DemoKeys = append(v.DemoKeys, auth.DemoKey{Key: k.Key, Distributor: k.Distributor, Kind: k.Kind, Mode: k.Mode})
	}
	for _, p := range a.h.upstreams.DemoPartners {
		v.DemoPartners = append(v.DemoPartners, auth.DemoPartner{Account: p.Account, Password: p.Password, Name: p.Name})
	}
	return v
}

// redirect sends the browser to target after a successful POST: 303 for a
// plain form, HX-Redirect for htmx (a full navigation, not a swap).
func redirect(w http.ResponseWriter, r *http.Request, target string) {
	if r.Header.Get("HX-Request") == "true" {
		w.Header().Set("HX-Redirect", target)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}
