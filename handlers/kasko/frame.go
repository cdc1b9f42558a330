package kasko

import (
	"cmp"
	"net/http"

	"backoffice/handlers"
	"backoffice/internal/i18n"
	"backoffice/views/layout"
)

// frame is the KASKO part of every page's header: who is signed in with
// a key, where they want times shown, whether they may create policies,
// and their pending operations.
func (h *Handlers) frame(r *http.Request, meta *layout.PageMeta) {
	u := currentUser(r.Context())
	if u == nil && h.core.Sessions != nil {
		// A page outside the KASKO guard (a partner's, the sign-in page)
		// still shows who is signed in.
		if login, ok := h.core.Sessions.Kasko(r.Context()); ok {
			u = &User{Key: login.Key, DisplayName: login.DisplayName}
		}
	}
	if u == nil {
		return
	}
	meta.User = u.Badge()
	prefs := h.core.Sessions.Preferences(r)
	meta.Times, meta.ViewerZone = layout.TimesIn(prefs.Times), prefs.ViewerZone
	meta.CanCreate = !u.ReadOnly() && h.pushEnabled()
	meta.Printed = i18n.T(r.Context(), "review.printed", "Tenant", cmp.Or(u.Tenant, u.DisplayName), "At", formatter(r.Context()).DateTime(h.now()))
	if u.Tenant != "" && !handlers.IsHTMX(r) {
		// A fragment has no navigation to put the badge in, and a live
		// search sends one per keystroke.
		if n := h.expiringSoon(r, u); n >= 0 {
			meta.Review, meta.Expiring = true, n
		}
	}
	// An htmx fragment has no header: no pending operations to count,
	// and its notices wait for the next whole page.
	if !handlers.IsHTMX(r) {
		meta.Ops = h.opsView(r.Context(), true)
	}
}
