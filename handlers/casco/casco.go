// Package casco serves the CASCO pages of insurer partners signed in
// with a CascoApi account: the quote history, a quote's five steps
// (vehicle, policyholder, cover, offers, policy) with the reference lists
// their selects need, and the offer and policy documents. The quote's
// rules are internal/quotes'; this package is their HTTP side.
//
// Where each route of web/routes.go is served:
//
//	POST /signin/partner                          signin.go
//	GET  /casco                                   history.go
//	GET  /casco/audit                             audit.go
//	GET  /casco/options/{counties,localities,…}   nomenclature.go
//	POST /casco/drafts, GET /casco/drafts/{id}    drafts.go
//	/casco/drafts/{id}/vehicle                    vehicle.go
//	/casco/drafts/{id}/owner                      owner.go
//	/casco/drafts/{id}/cover                      cover.go
//	/casco/drafts/{id}/offers[/{offerID}/pdf]     offers.go
//	POST /casco/drafts/{id}/offers/{provider}/retry  asks.go (and the asks a saved cover starts)
//	/casco/drafts/{id}/policy                     conversion.go
//	GET  /casco/policies/{series}/{number}/pdf    conversion.go
//
// The three form steps share one flow (step.go); the PDFs one way out
// (documents.go). The partner's CascoApi session (the sign-in guard,
// token renewal, the end upstream at sign-out) is partner_session.go,
// the partner badge in every page's header frame.go.
package casco

import (
	cascoapi "backoffice/apiclient/casco"
	"backoffice/handlers"
	"backoffice/internal/audit"
	"backoffice/internal/quotes"
	"backoffice/internal/throttle"
	"backoffice/internal/tokens"
)

// Deps are what the CASCO pages are built from.
type Deps struct {
	// Casco is the CascoApi client; nil when the CascoApi is off.
	Casco *cascoapi.Client
	// Quotes keeps each partner account's drafts, offers and policies
	// (default: in this process).
	Quotes quotes.Store
	// Audit records the conversions, with the partner account as the
	// actor (default: in this process).
	Audit audit.Log
	// Tokens is the store shared by every instance (the one the form
	// tokens use): CascoApi token renewals go through it, so that two
	// instances never spend one refresh token twice. Nil: renewals are
	// shared within this process only.
	Tokens tokens.Store
	// Throttle refuses sign-ins after too many failures (shared with the
	// KASKO form); nil throttles nothing.
	Throttle *throttle.Guard
}

// Handlers are the CASCO partner pages.
type Handlers struct {
	core   *handlers.Core
	casco  *cascoapi.Client
	quotes quotes.Store
	audit  audit.Log
	// throttle guards the partner sign-in.
	throttle *throttle.Guard

	// Auth serves the partner sign-in form.
	Auth *Auth
	// History serves the partner's quote history.
	History *History
	// Nomenclature serves the reference lists of the dependent selects.
	Nomenclature *Nomenclature
	// Drafts starts and reopens quotes.
	Drafts *Drafts
	// Vehicle, Owner and Cover serve a quote's three form steps, Offers
	// the fourth and Conversions the fifth (offer to policy) with the
	// policy documents.
	Vehicle     *Step[quotes.VehicleForm]
	Owner       *Step[quotes.OwnerForm]
	Cover       *Step[quotes.CoverForm]
	Offers      *Offers
	Conversions *Conversions
}

// New builds the CASCO pages on core, and adds to core what they need
// of every page: the partner badge in the header, and the end of the
// upstream session when the user signs out.
func New(core *handlers.Core, d Deps) *Handlers {
	if d.Quotes == nil {
		d.Quotes = quotes.NewMemory()
	}
	if d.Audit == nil {
		d.Audit = audit.NewMemory()
	}
	if d.Casco != nil && d.Tokens != nil {
		d.Casco.ShareRenewals(sharedRenewals{store: d.Tokens, sessions: core.Sessions})
	}
	h := &Handlers{core: core, casco: d.Casco, quotes: d.Quotes, audit: d.Audit, throttle: d.Throttle}
	h.Auth = &Auth{h: h}
	h.History = &History{h: h}
	h.Nomenclature = newNomenclature(h)
	h.Drafts = &Drafts{h: h}
	h.Vehicle = &Step[quotes.VehicleForm]{h: h, form: &vehicleStep{h: h}}
	h.Owner = &Step[quotes.OwnerForm]{h: h, form: &ownerStep{h: h}}
	h.Cover = &Step[quotes.CoverForm]{h: h, form: &coverStep{h: h}}
	h.Offers = &Offers{h: h}
	h.Conversions = &Conversions{h: h}
	core.AddFrame(h.frame)
	core.OnSignOut(h.endUpstreamSession)
	return h
}

// cascoZone is where CASCO dates are: the upstream's "today", start
// dates and offer expiry are Bucharest's.
const cascoZone = "Europe/Bucharest"
