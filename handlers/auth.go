package handlers

import (
	"net/http"

	"backoffice/apiclient"
	"backoffice/internal/i18n"
	"backoffice/internal/paths"
	"backoffice/internal/session"
	"backoffice/views/auth"
	"backoffice/views/layout"
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

// SignOutPartner handles POST /signout/partner: it ends the partner login
// alone (upstream too), and a KASKO login beside it stays. The upstream
// session ends through the sign-out hooks, which end upstream sessions
// and only the partner login has one.
func (a *Auth) SignOutPartner(w http.ResponseWriter, r *http.Request) error {
	if _, ok := a.c.Sessions.Casco(r.Context()); ok {
		for _, fn := range a.c.signOuts {
			fn(r.Context())
		}
	}
	if err := a.c.Sessions.SignOutPartner(r.Context()); err != nil {
		return err
	}
	Redirect(w, r, paths.Home)
	return nil
}

// SignOutKasko handles POST /signout/kasko: it ends the KASKO login alone;
// a partner login beside it stays.
func (a *Auth) SignOutKasko(w http.ResponseWriter, r *http.Request) error {
	if err := a.c.Sessions.SignOutKasko(r.Context()); err != nil {
		return err
	}
	Redirect(w, r, paths.Home)
	return nil
}

// keptLogin names, on the page a sign-in lands on, the other login that
// sign-in kept: whoever signs in must see that the browser still acts as
// someone else too (a shared machine, a planted session).
func (a *Auth) keptLogin(r *http.Request, meta *layout.PageMeta) {
	if a.c.Sessions == nil {
		return
	}
	ctx := r.Context()
	switch a.c.Sessions.PopKept(ctx) {
	case session.KeptPartner:
		if l, ok := a.c.Sessions.Casco(ctx); ok {
			meta.Kept = &layout.KeptLogin{Kind: layout.KeptPartner, Account: l.Account, SignOutURL: paths.SignOutPartner}
		}
	case session.KeptKasko:
		if l, ok := a.c.Sessions.Kasko(ctx); ok {
			name := apiclient.MaskKey(l.Key)
			if l.DisplayName != "" {
				name = l.DisplayName + " (" + name + ")"
			}
			meta.Kept = &layout.KeptLogin{Kind: layout.KeptKasko, Account: name, SignOutURL: paths.SignOutKasko}
		}
	}
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
