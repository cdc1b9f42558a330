package handlers

import (
	"net/http"
	"net/url"
	"strings"

	"backoffice/internal/paths"
)

// IsLocalPath accepts only same-site absolute paths, so a "next" or retry
// URL can never send the user to another site ("//evil", "/\evil").
func IsLocalPath(p string) bool {
	return strings.HasPrefix(p, "/") && !strings.HasPrefix(p, "//") && !strings.HasPrefix(p, "/\\") && !strings.ContainsAny(p, "\r\n")
}

// Redirect sends the browser to target after a successful POST: 303 for a
// plain form, HX-Redirect for htmx (a full navigation, not a swap).
func Redirect(w http.ResponseWriter, r *http.Request, target string) {
	if r.Header.Get("HX-Request") == "true" {
		w.Header().Set("HX-Redirect", target)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// ToSignIn sends a signed-out request to a sign-in page: 303 for a
// browser, HX-Redirect with 401 for htmx, so that the whole page moves
// instead of a fragment swap showing the sign-in form inside a table.
func ToSignIn(w http.ResponseWriter, r *http.Request, target string) {
	if r.Header.Get("HX-Request") == "true" {
		w.Header().Set("HX-Redirect", target)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// ReturnPath is where to come back to after signing in: the page itself,
// or for an htmx request the page the browser shows (HX-Current-URL), not
// the fragment URL it fetched.
func ReturnPath(r *http.Request) string {
	if r.Header.Get("HX-Request") == "true" {
		if cur, err := url.Parse(r.Header.Get("HX-Current-URL")); err == nil && IsLocalPath(cur.RequestURI()) && cur.Path != "" {
			return cur.RequestURI()
		}
	}
	if r.Method != http.MethodGet {
		return "/"
	}
	return r.URL.RequestURI()
}

// NextAfterSignIn is where a sign-in form's "next" field may send the
// browser: a local page other than a sign-in page, else fallback.
func NextAfterSignIn(next, fallback string) string {
	if !IsLocalPath(next) || strings.HasPrefix(next, paths.SignIn) {
		return fallback
	}
	return next
}
