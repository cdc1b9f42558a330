package handlers

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"backoffice/apiclient"
	"backoffice/views/layout"
)

// User is the signed-in person as the handlers see them. Key is the KASKO
// API key: it is used for upstream calls and never rendered.
type User struct {
	Key         string
	DisplayName string

	// pending holds the user's pending operations once a request has
	// looked them up (the header and the page both ask); nil until then.
	pending *[]pendingOp
}

// ReadOnly reports a public key: every write action is hidden and refused.
func (u *User) ReadOnly() bool { return strings.HasPrefix(u.Key, "pk_") }

// Live reports a live key: its actions touch real policies.
func (u *User) Live() bool { return strings.Contains(u.Key, "_live_") }

// Badge is what the page header shows of the user.
func (u *User) Badge() *layout.UserBadge {
	role, mode := "staff", "test"
	if u.ReadOnly() {
		role = "readonly"
	}
	if u.Live() {
		mode = "live"
	}
	return &layout.UserBadge{DisplayName: u.DisplayName, MaskedKey: apiclient.MaskKey(u.Key), Role: role, Mode: mode}
}

type userKey struct{}

func withUser(ctx context.Context, u *User) context.Context {
	return context.WithValue(ctx, userKey{}, u)
}

// currentUser is the signed-in user of the request; nil on public pages.
func currentUser(ctx context.Context) *User {
	u, _ := ctx.Value(userKey{}).(*User)
	return u
}

// SignedIn guards fn: without a KASKO login the browser goes to the
// sign-in page and comes back to where it was afterwards. An htmx request
// gets HX-Redirect, so the whole page moves instead of a fragment swap
// showing the sign-in form inside a table.
func (h *Handlers) SignedIn(fn Func) Func {
	return func(w http.ResponseWriter, r *http.Request) error {
		login, ok := h.sessions.Kasko(r.Context())
		if !ok {
			toSignIn(w, r, "/signin?next="+url.QueryEscape(returnPath(r)))
			return nil
		}
		u := &User{Key: login.Key, DisplayName: login.DisplayName}
		return fn(w, r.WithContext(withUser(r.Context(), u)))
	}
}

// Staff guards a write action: read-only sessions are refused before any
// upstream call.
func (h *Handlers) Staff(fn Func) Func {
	return h.SignedIn(func(w http.ResponseWriter, r *http.Request) error {
		if currentUser(r.Context()).ReadOnly() {
			return &Error{Status: http.StatusForbidden, MessageKey: "error.read_only"}
		}
		return fn(w, r)
	})
}

// returnPath is where to come back to after signing in: the page itself,
// or for an htmx request the page the browser shows (HX-Current-URL), not
// the fragment URL it fetched.
func returnPath(r *http.Request) string {
	if r.Header.Get("HX-Request") == "true" {
		if cur, err := url.Parse(r.Header.Get("HX-Current-URL")); err == nil && isLocalPath(cur.RequestURI()) && cur.Path != "" {
			return cur.RequestURI()
		}
	}
	if r.Method != http.MethodGet {
		return "/"
	}
	return r.URL.RequestURI()
}

// toSignIn sends a signed-out request to a sign-in page: 303 for a
// browser, HX-Redirect with 401 for htmx, so that the whole page moves.
func toSignIn(w http.ResponseWriter, r *http.Request, target string) {
	if r.Header.Get("HX-Request") == "true" {
		w.Header().Set("HX-Redirect", target)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}
