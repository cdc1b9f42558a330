package handlers

import (
	"net/http"

	"backoffice/internal/i18n"
	"backoffice/internal/paths"
	"backoffice/views/auth"
)

// Auth serves what signing in and out share between the products: the
// sign-in page with its two tabs, the home redirect and signing out. Each
// product handles its own sign-in form (handlers/kasko, handlers/casco).
type Auth struct {
	c *Core
}

// Home handles GET /: the policy list for a KASKO user, the quote history
// for a partner, else sign-in.
func (a *Auth) Home(w http.ResponseWriter, r *http.Request) error {
	target := paths.SignIn
	if _, ok := a.c.Sessions.Kasko(r.Context()); ok {
		target = paths.Policies
	} else if _, ok := a.c.Sessions.Casco(r.Context()); ok {
		target = paths.Casco
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
	return nil
}

// SignInPage handles GET /signin.
func (a *Auth) SignInPage(w http.ResponseWriter, r *http.Request) error {
	return Render(w, r, http.StatusOK, auth.SignIn(a.View(r, auth.TabKasko)))
}

// SignOut handles POST /signout: each product ends what it holds
// upstream, then the session is destroyed; the preferences cookie stays.
func (a *Auth) SignOut(w http.ResponseWriter, r *http.Request) error {
	for _, fn := range a.c.signOuts {
		fn(r.Context())
	}
	if err := a.c.Sessions.SignOut(r.Context()); err != nil {
		return err
	}
	Redirect(w, r, paths.SignIn)
	return nil
}

// View is the sign-in page as the request asks for it (its tab and where
// to go next), on tab unless the request names another.
func (a *Auth) View(r *http.Request, tab auth.Tab) auth.SignInView {
	f := a.c.Features
	next := r.FormValue("next")
	if !IsLocalPath(next) {
		next = ""
	}
	if auth.Tab(r.FormValue("tab")) == auth.TabCasco {
		tab = auth.TabCasco
	}
	if tab != auth.TabCasco || !f.Casco {
		tab = auth.TabKasko
	}
	if !f.Kasko && f.Casco {
		tab = auth.TabCasco
	}
	v := auth.SignInView{
		Meta:         a.c.Meta(r, i18n.T(r.Context(), "signin.title")),
		Tab:          tab,
		CascoEnabled: f.Casco,
		KaskoEnabled: f.Kasko,
		SandboxURL:   f.SandboxURL,
		Next:         next,
	}
	for _, k := range f.DemoKeys {
		v.DemoKeys = append(v.DemoKeys, auth.DemoKey{Key: k.Key, Distributor: k.Distributor, Kind: k.Kind, Mode: k.Mode})
	}
	for _, p := range f.DemoPartners {
		v.DemoPartners = append(v.DemoPartners, auth.DemoPartner{Account: p.Account, Password: p.Password, Name: p.Name})
	}
	return v
}
