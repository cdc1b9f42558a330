package kasko

import (
	"context"
	"net/http"
	"strings"

	"backoffice/apiclient"
	"backoffice/handlers"
	"backoffice/internal/paths"
	"backoffice/views/layout"
)

// User is the signed-in person as the KASKO pages see them. Key is the
// KASKO API key: it is used for upstream calls and never rendered.
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
	role, mode := layout.RoleStaff, layout.ModeTest
	if u.ReadOnly() {
		role = layout.RoleReadOnly
	}
	if u.Live() {
		mode = layout.ModeLive
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

// api is the KASKO API as the request's user: with their key.
func (h *Handlers) api(ctx context.Context) PolicyAPI {
	return h.kasko(currentUser(ctx).Key)
}

// formOwner ties a form to the session and key that opened it.
func (h *Handlers) formOwner(ctx context.Context) string {
	return h.core.FormOwner(ctx, currentUser(ctx).Key)
}

// SignedIn guards fn: without a KASKO login the browser goes to the
// sign-in page and comes back to where it was afterwards.
func (h *Handlers) SignedIn(fn handlers.Func) handlers.Func {
	return func(w http.ResponseWriter, r *http.Request) error {
		login, ok := h.core.Sessions.Kasko(r.Context())
		if !ok {
			handlers.ToSignIn(w, r, paths.SignInNext(handlers.ReturnPath(r)))
			return nil
		}
		u := &User{Key: login.Key, DisplayName: login.DisplayName}
		return fn(w, r.WithContext(withUser(r.Context(), u)))
	}
}

// Staff guards a write action: read-only sessions are refused before any
// upstream call.
func (h *Handlers) Staff(fn handlers.Func) handlers.Func {
	return h.SignedIn(func(w http.ResponseWriter, r *http.Request) error {
		if currentUser(r.Context()).ReadOnly() {
			return handlers.ErrReadOnly
		}
		return fn(w, r)
	})
}
