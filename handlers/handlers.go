// Package handlers holds the dashboard's page and action logic, one file
// per resource. Every handler returns an error; Wrap hands failures to the
// one adapter in errors.go, which picks the status and the page.
package handlers

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"backoffice/apiclient/casco"
	"backoffice/apiclient/kasko"
	"backoffice/internal/audit"
	"backoffice/internal/format"
	"backoffice/internal/quotes"
	"backoffice/internal/session"
	"backoffice/views/layout"
)

// Func is a handler that reports failure by returning an error instead of
// writing an error answer itself.
type Func func(w http.ResponseWriter, r *http.Request) error

// Upstreams says which upstream features the dashboard offers: a feature
// whose upstream is not configured is hidden.
type Upstreams struct {
	Kasko bool
	Push  bool
	Casco bool
	// SandboxURL is set when the dashboard runs against the built-in
	// sandbox: the address of its description (demo credentials).
	SandboxURL string
	// DemoKeys, in sandbox mode, are listed on the sign-in page so that a
	// newcomer can sign in at once.
	DemoKeys []DemoKey
	// DemoPartners are the sandbox's CascoApi accounts, listed likewise.
	DemoPartners []DemoPartner
}

// DemoKey is a sandbox credential shown on the sign-in page.
type DemoKey struct {
	Key         string
	Distributor string
	Kind        string // "secret" or "public"
	Mode        string // "test" or "live"
}

// PolicyAPI is what the handlers need of the KASKO REST API, bound to one
// user's key.
type PolicyAPI interface {
	ListPolicies(ctx context.Context, p kasko.ListParams) (*kasko.PolicyPage, error)
	GetPolicy(ctx context.Context, id string) (*kasko.Policy, error)
	DownloadAsset(ctx context.Context, signedURL string) (*kasko.Download, error)
	CancelPolicy(ctx context.Context, id, versionID string, req kasko.CancelRequest) (*kasko.CancelAccepted, error)
	VersionStatus(ctx context.Context, policyID, versionID string) (*kasko.VersionStatus, error)
}

// Deps are what the handlers need from run.
type Deps struct {
	Logger    *slog.Logger
	Assets    layout.Assets
	Upstreams Upstreams
	Sessions  *session.Manager
	// Kasko binds the KASKO client to a user's key.
	Kasko func(key string) PolicyAPI
	// Languages are the UI languages, for the switcher.
	Languages []string
	// SortableFields are the fields the upstream policy list sorts by.
	SortableFields []string
	// ProductNames maps a KASKO product_id to its display name: the v2
	// policy object carries only the id, and distributors know their
	// products (KASKO_PRODUCTS; the sandbox's own list in sandbox mode).
	ProductNames map[string]string
	// Audit is the append-only log of actions taken here.
	Audit audit.Log
	// Push binds the push API client to a user's key; PushVariants are
	// the product variants the new-policy form offers.
	Push         func(key string) PushAPI
	PushVariants []PushVariant
	// Casco is the CascoApi client; partner sessions resume on it.
	Casco *casco.Client
	// Quotes keeps each partner account's drafts, offers and policies.
	Quotes quotes.Store
}

// Handlers groups the resource handlers and their shared dependencies.
type Handlers struct {
	log          *slog.Logger
	assets       layout.Assets
	upstreams    Upstreams
	sessions     *session.Manager
	kasko        func(key string) PolicyAPI
	languages    []string
	sortable     []string
	products     map[string]string
	zones        *format.Zones
	audit        audit.Log
	push         func(key string) PushAPI
	pushVariants []PushVariant
	casco        *casco.Client
	partners     partners
	quotes       quotes.Store

	// Auth serves signing in and out.
	Auth *Auth
	// Prefs serves the viewer's preferences.
	Prefs *Prefs
	// Policies serves the policy list and detail.
	Policies *Policies
	// AuditPages serves the audit log.
	AuditPages *AuditPages
	// Cancel serves policy cancellation; Operations the pending ones.
	Cancel     *Cancel
	Operations *Operations
	// Push serves creating a policy through the push API.
	Push *Push
	// Quotes serves the CASCO partner pages; Nomenclature their
	// reference lists.
	Quotes       *Quotes
	Nomenclature *Nomenclature
	// Drafts serves a quote's first three steps, Offers the fourth and
	// Conversions the fifth (offer to policy) and the policy documents.
	Drafts      *Drafts
	Offers      *Offers
	Conversions *Conversions

	// finished remembers the operations whose end is recorded.
	finished sync.Map // new version id → true
}

// New builds the handlers.
func New(d Deps) *Handlers {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	h := &Handlers{log: d.Logger, assets: d.Assets, upstreams: d.Upstreams, sessions: d.Sessions, kasko: d.Kasko, languages: d.Languages, sortable: d.SortableFields, products: d.ProductNames, zones: format.NewZones(), audit: d.Audit,
		push: d.Push, pushVariants: d.PushVariants, casco: d.Casco, quotes: d.Quotes}
	if h.quotes == nil {
		h.quotes = quotes.NewMemory()
	}
	if h.audit == nil {
		h.audit = audit.NewMemory()
	}
	h.Auth = &Auth{h: h}
	h.Prefs = &Prefs{h: h}
	h.Policies = &Policies{h: h}
	h.AuditPages = &AuditPages{h: h}
	h.Cancel = &Cancel{h: h, intents: newIntents(time.Hour)}
	h.Operations = &Operations{h: h}
	h.Push = &Push{h: h, intents: newIntents(time.Hour)}
	h.Quotes = &Quotes{h: h}
	h.Nomenclature = newNomenclature(h)
	h.Drafts = &Drafts{h: h}
	h.Offers = &Offers{h: h}
	h.Conversions = &Conversions{h: h, intents: newIntents(time.Hour)}
	return h
}

// Wrap adapts fn to an http.Handler whose failures go through serveError.
func (h *Handlers) Wrap(fn Func) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := fn(w, r); err != nil {
			h.serveError(w, r, err)
		}
	})
}

// meta is the frame data every page starts from.
func (h *Handlers) meta(r *http.Request, title string) layout.PageMeta {
	meta := layout.PageMeta{
		Title:     title,
		Assets:    h.assets,
		Sandbox:   h.upstreams.SandboxURL != "",
		RequestID: RequestID(r.Context()),
		Languages: h.languages,
		Path:      returnPath(r),
	}
	if l, ok := h.sessions.Casco(r.Context()); ok {
		meta.Partner = l.Account
	}
	u := currentUser(r.Context())
	if login, ok := h.sessions.Kasko(r.Context()); u == nil && ok {
		// A page outside the KASKO guard (a partner's) still shows who is
		// signed in.
		u = &User{Key: login.Key, DisplayName: login.DisplayName}
	}
	if u != nil {
		meta.User = u.Badge()
		prefs := h.sessions.Preferences(r)
		meta.Times, meta.ViewerZone = prefs.Times, prefs.ViewerZone
		meta.CanCreate = !u.ReadOnly() && h.upstreams.Push && h.push != nil
		// An htmx fragment has no header: no pending operations to count,
		// and its notices wait for the next whole page.
		if !isHTMX(r) {
			meta.Ops = h.opsView(r.Context(), true)
		}
	}
	return meta
}
