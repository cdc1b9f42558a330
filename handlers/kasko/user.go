package kasko

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"

	"backoffice/apiclient"
	kaskoapi "backoffice/apiclient/kasko"
	"backoffice/handlers"
	"backoffice/internal/indexsync"
	"backoffice/internal/paths"
	"backoffice/views/layout"
)

// User is the signed-in person as the KASKO pages see them. Key is the
// KASKO API key: it is used for upstream calls and never rendered.
type User struct {
	Key         string
	DisplayName string
	// Tenant is whose audit entries the user records and sees: the key's
	// distributor and mode (see keyTenant).
	Tenant string

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
		tenant, err := h.sessionTenant(r.Context(), login.Key)
		if err != nil {
			return err
		}
		u := &User{Key: login.Key, DisplayName: login.DisplayName, Tenant: tenant}
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

// tenantSessionKey keeps the signed-in key's tenant, found at sign-in.
const tenantSessionKey = "kasko.tenant"

// keyTenant is the audit tenant of key, from the answer to the sign-in
// check (a one-item policy list). The KASKO API has no "who am I": a
// key's distributor shows only in the policies it sees (their
// distributor_id; the upstream only shows a key its own distributor's
// policies), and its mode in its prefix. A key that sees no policy yet
// gets a tenant of its own, named by a digest of the key, so that it
// still sees its own entries and no one else's; once its distributor
// has a policy, a new sign-in moves it to the distributor's tenant (the
// entries made before stay with the key's).
func keyTenant(key string, page *kaskoapi.PolicyPage) string {
	distributor := ""
	if page != nil {
		for _, p := range page.Policies {
			if p.DistributorID != "" {
				distributor = p.DistributorID
				break
			}
		}
	}
	// The index names tenants the same way: one distributor and mode's
	// audit entries and index rows line up.
	return indexsync.TenantOf(key, distributor)
}

// keyFingerprint ties a stored tenant to the key it was found for, so
// that a session whose key changed by any path never keeps the old
// key's tenant.
func keyFingerprint(key string) string {
	sum := sha256.Sum256([]byte("tenant\x00" + key))
	return hex.EncodeToString(sum[:8])
}

// rememberTenant keeps key's tenant in the session.
func (h *Handlers) rememberTenant(ctx context.Context, key, tenant string) {
	h.core.Sessions.Put(ctx, tenantSessionKey, keyFingerprint(key)+" "+tenant)
}

// sessionTenant is the tenant sign-in found for key; a session signed in
// before tenants were kept (or whose key changed) asks the upstream once
// and keeps the answer.
func (h *Handlers) sessionTenant(ctx context.Context, key string) (string, error) {
	if fp, tenant, ok := strings.Cut(h.core.Sessions.Get(ctx, tenantSessionKey), " "); ok && fp == keyFingerprint(key) && tenant != "" {
		return tenant, nil
	}
	if h.kasko == nil {
		return "", handlers.ErrNotFound
	}
	page, err := h.kasko(key).ListPolicies(ctx, kaskoapi.ListParams{Limit: 1})
	if err != nil {
		return "", err
	}
	tenant := keyTenant(key, page)
	h.rememberTenant(ctx, key, tenant)
	return tenant, nil
}
