package kasko

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"backoffice/handlers"
	"backoffice/internal/i18n"
	"backoffice/internal/paths"
	"backoffice/views/layout"
)

// policyIDPattern is the shape of a KASKO policy id in a page path, for
// the policy page's own actions.
var policyIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// Palette handles GET /palette: the command palette's entries for this
// session, as an HTML fragment the palette script filters as the user
// types. It offers only what the session may do, the same decisions the
// navigation and the guards make: KASKO pages and the policy jump for a
// KASKO login (the new-policy form and cancelling for staff only, the
// overview where the index covers the tenant, the tenant's own saved
// views), the quotes for a partner login. ?from= is the page the palette
// was opened on: its actions are offered there.
//
// It serves partner-only sessions too, so it cannot sit behind the KASKO
// guard alone; a session with neither login goes to the sign-in page.
func (h *Handlers) Palette(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if h.core.Sessions == nil {
		handlers.ToSignIn(w, r, paths.SignIn)
		return nil
	}
	if _, ok := h.core.Sessions.Kasko(ctx); ok {
		return h.SignedIn(h.palette)(w, r)
	}
	if _, ok := h.core.Sessions.Casco(ctx); ok {
		return h.palette(w, r)
	}
	handlers.ToSignIn(w, r, paths.SignIn)
	return nil
}

// palette builds and renders the entries; the user is set when the
// session has a KASKO login.
func (h *Handlers) palette(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	u := currentUser(ctx)
	from := paletteFrom(r.URL.Query().Get("from"))
	v := layout.PaletteView{}
	page := func(key, url, kw string) {
		v.Entries = append(v.Entries, layout.PaletteEntry{Kind: layout.PalettePage, Label: i18n.T(ctx, key), URL: url, Keywords: kw})
	}
	if u != nil {
		_, covered, failed := h.Policies.indexCovers(ctx, u.Tenant)
		indexed := covered && !failed
		v.FindURL = paths.PolicyFind
		if indexed {
			// The indexed list opens insurer and external ids too.
			v.FindURL = paths.PolicyList(url.Values{"open": {"1"}})
		}
		page("nav.policies", paths.Policies, "list g p")
		if !u.ReadOnly() && h.pushEnabled() {
			page("nav.new", paths.PolicyNew, "create push")
		}
		if indexed {
			// As the navigation: the overview needs the tenant's index.
			page("nav.review", paths.Review, "overview g o")
			page("nav.expiring", paths.ReviewExpiring, "expiry g e")
		}
		page("nav.audit", paths.Audit, "log g a")
	}
	if l, ok := h.core.Sessions.Casco(ctx); ok && l.Account != "" {
		page("nav.casco", paths.Casco, "casco quotes g q")
		page("nav.casco_audit", paths.CascoAudit, "casco log")
	}
	if u != nil && h.savedViews != nil && u.Tenant != "" {
		views, err := h.savedViews.List(ctx, u.Tenant)
		if err != nil {
			// The palette still jumps to pages without them.
			h.core.Log.WarnContext(ctx, "saved views unavailable for the palette", "err", err)
		}
		for _, sv := range views {
			v.Entries = append(v.Entries, layout.PaletteEntry{Kind: layout.PaletteSavedView, Label: sv.Name, URL: paths.SavedView(sv.ID)})
		}
	}
	if u != nil {
		switch id, onPolicy := strings.CutPrefix(from, paths.Policies+"/"); {
		case from == paths.Policies && h.exports != nil:
			// The list's own button, which carries the list's filters;
			// the palette offers it only where the page shows it.
			v.Entries = append(v.Entries, layout.PaletteEntry{Kind: layout.PaletteAction, Label: i18n.T(ctx, "palette.export_csv"),
				URL: paths.PolicyExport, Click: `[data-testid="export-csv"]`, Keywords: "csv download"})
		case onPolicy && !u.ReadOnly() && policyIDPattern.MatchString(id) && !isListPath(id):
			// Shown while the page offers cancelling (not for a policy
			// already cancelled); the cancel form is a page of its own.
			v.Entries = append(v.Entries, layout.PaletteEntry{Kind: layout.PaletteAction, Label: i18n.T(ctx, "palette.cancel_policy"),
				URL: paths.PolicyCancel(id), Click: `[data-testid="cancel-open"]`, Keywords: "cancel terminate"})
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	return handlers.Render(w, r, http.StatusOK, layout.PaletteEntries(v))
}

// isListPath reports the fixed addresses under /policies/ that are not a
// policy.
func isListPath(seg string) bool {
	switch seg {
	case "new", "find", "export", "columns":
		return true
	}
	return false
}

// paletteFrom is the local path the palette was opened on ("" when from
// is not one): only its path counts, never a host.
func paletteFrom(from string) string {
	if !strings.HasPrefix(from, "/") || strings.HasPrefix(from, "//") || len(from) > 200 {
		return ""
	}
	u, err := url.Parse(from)
	if err != nil || u.Host != "" {
		return ""
	}
	return strings.TrimSuffix(u.Path, "/")
}
