// Package kasko serves the KASKO side of the dashboard: signing in with a
// KASKO key, the policy list and pages, their documents, cancelling a
// policy and following the cancellation, creating a policy through the
// push API, and the audit log. It adds the signed-in key's badge and the
// pending-operations badge to every page's header through the core's
// frame (frame.go).
//
// Each URL's handler is in the file named after its resource:
//
//	POST /signin                           signin.go
//	GET  /policies, /policies/find         policy_list.go
//	GET  /policies/{id}                    policy_show.go
//	GET  /policies/{id}/documents/…        policy_document.go
//	GET, POST /policies/{id}/cancel        cancel.go
//	GET  /policies/{id}/cancel/progress    cancel.go
//	GET, POST /policies/new, /pushes/…     push.go
//	GET  /operations                       operations.go
//	GET  /audit                            audit.go
//	POST /policies/export, GET /exports/…  policy_export.go
package kasko

import (
	"context"
	"time"

	kaskoapi "backoffice/apiclient/kasko"
	"backoffice/handlers"
	"backoffice/internal/audit"
	"backoffice/internal/index"
	"backoffice/internal/savedviews"
	"backoffice/internal/throttle"
)

// PolicyAPI is what the KASKO pages need of the KASKO REST API, bound to
// one user's key.
type PolicyAPI interface {
	ListPolicies(ctx context.Context, p kaskoapi.ListParams) (*kaskoapi.PolicyPage, error)
	GetPolicy(ctx context.Context, id string) (*kaskoapi.Policy, error)
	DownloadAsset(ctx context.Context, signedURL string) (*kaskoapi.Download, error)
	CancelPolicy(ctx context.Context, id, versionID string, req kaskoapi.CancelRequest) (*kaskoapi.CancelAccepted, error)
	VersionStatus(ctx context.Context, policyID, versionID string) (*kaskoapi.VersionStatus, error)
}

// Deps are what the KASKO pages need from run.
type Deps struct {
	// Kasko binds the KASKO client to a user's key; nil when KASKO is off.
	Kasko func(key string) PolicyAPI
	// Push binds the push API client to a user's key (nil when the push
	// API is off); PushVariants are the product variants the new-policy
	// form offers.
	Push         func(key string) PushAPI
	PushVariants []PushVariant
	// Audit is the append-only log of actions taken here (default: one in
	// this process).
	Audit audit.Log
	// SortableFields are the fields the upstream policy list sorts by.
	SortableFields []string
	// ProductNames maps a KASKO product_id to its display name: the v2
	// policy object carries only the id, and distributors know their
	// products (KASKO_PRODUCTS; the sandbox's own list in sandbox mode).
	ProductNames map[string]string
	// Throttle refuses sign-ins after too many failures (shared with the
	// CASCO form); nil throttles nothing.
	Throttle *throttle.Guard
	// Index is the policy index (search, filters, counts); nil lists from
	// the upstream only. Poke asks the sync for the head of a tenant's
	// list at once (after a policy is created here); nil when this
	// instance does not sync.
	Index index.Store
	Poke  func(tenant string)
	// SavedViews keeps the tenants' saved list views; nil offers none.
	SavedViews savedviews.Store
	// Exports keeps export jobs and their files (nil: no exports).
	Exports ExportJobs
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// Handlers are the KASKO pages and what they share.
type Handlers struct {
	core         *handlers.Core
	kasko        func(key string) PolicyAPI
	push         func(key string) PushAPI
	pushVariants []PushVariant
	audit        audit.Log
	sortable     []string
	products     map[string]string
	throttle     *throttle.Guard
	index        index.Store
	poke         func(tenant string)
	savedViews   savedviews.Store
	exports      ExportJobs
	now          func() time.Time
	// regions and views keep indexed list regions and each tenant's index
	// state in memory for a moment (policy_cache.go).
	regions *regionCache
	views   tenantViews

	// Auth serves the KASKO sign-in form.
	Auth *Auth
	// Policies serves the policy list, pages and documents.
	Policies *Policies
	// Push serves creating a policy through the push API.
	Push *Push
	// Cancel serves policy cancellation; Operations the pending ones.
	Cancel     *Cancel
	Operations *Operations
	// Audit serves the audit log.
	Audit *AuditPages
	// SavedViews serves the list's saved views and column choice.
	SavedViews *SavedViews
	// Exports serves the export of a list view.
	Exports *Exports
	// Review serves the managers' overview and the expiry worklist.
	Review *Review
}

// New builds the KASKO pages on core and adds their part of the page
// frame.
func New(core *handlers.Core, d Deps) *Handlers {
	h := &Handlers{core: core, kasko: d.Kasko, push: d.Push, pushVariants: d.PushVariants, audit: d.Audit,
		sortable: d.SortableFields, products: d.ProductNames, throttle: d.Throttle, index: d.Index, poke: d.Poke, exports: d.Exports, now: d.Now}
	if h.now == nil {
		h.now = time.Now
	}
	h.regions = newRegionCache()
	if h.audit == nil {
		h.audit = audit.NewMemory()
	}
	h.Auth = &Auth{h: h}
	h.Policies = &Policies{h: h}
	h.Push = &Push{h: h}
	h.Cancel = &Cancel{h: h}
	h.Operations = &Operations{h: h}
	h.Audit = &AuditPages{h: h}
	h.Review = &Review{h: h}
	h.Exports = &Exports{h: h}
	h.savedViews = d.SavedViews
	h.SavedViews = &SavedViews{h: h}
	core.AddFrame(h.frame)
	core.AddFrame(h.savedViewsFrame)
	return h
}
