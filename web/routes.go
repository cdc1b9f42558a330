package web

import (
	"net/http"
	"slices"
	"strings"

	"backoffice/handlers"
)

// routes is the dashboard's whole URL surface. Only GET and POST, so that
// every action also works as a plain HTML form.
func routes(h *handlers.Handlers, assets http.Handler, health *health) *http.ServeMux {
	mux := http.NewServeMux()

	// Operations.
	mux.HandleFunc("GET /healthz", health.live)
	mux.HandleFunc("GET /readyz", health.ready)

	// Static assets, under content-hashed URLs.
	mux.Handle("GET /static/", assets)

	// Signing in and out; preferences.
	mux.Handle("GET /{$}", h.Wrap(h.Auth.Home))
	mux.Handle("GET /signin", h.Wrap(h.Auth.SignInPage))
	mux.Handle("POST /signin", h.Wrap(h.Auth.SignIn))
	mux.Handle("POST /signin/partner", h.Wrap(h.Auth.SignInPartner))
	mux.Handle("POST /signout", h.Wrap(h.Auth.SignOut))
	mux.Handle("POST /preferences/language", h.Wrap(h.Prefs.Language))
	mux.Handle("POST /preferences/times", h.Wrap(h.Prefs.Times))

	// Policy pages.
	mux.Handle("GET /policies", h.Wrap(h.SignedIn(h.Policies.List)))
	mux.Handle("GET /policies/find", h.Wrap(h.SignedIn(h.Policies.Find)))
	mux.Handle("GET /policies/{id}", h.Wrap(h.SignedIn(h.Policies.Show)))
	mux.Handle("GET /policies/{id}/documents/{kind}/{index}", h.Wrap(h.SignedIn(h.Policies.Document)))

	// Creating a policy through the push API (staff only; the POST
	// refuses read-only sessions itself, on the record).
	mux.Handle("GET /policies/new", h.Wrap(h.Staff(h.Push.Form)))
	mux.Handle("POST /policies/new", h.Wrap(h.SignedIn(h.Push.Submit)))
	mux.Handle("GET /pushes/check", h.Wrap(h.Staff(h.Push.Check)))
	mux.Handle("GET /pushes/{reference}", h.Wrap(h.SignedIn(h.Push.Result)))

	// CASCO quotes, for partners signed in with a CascoApi account: the
	// history, the reference lists of the dependent selects, a quote's
	// five steps (vehicle, policyholder, cover, offers, policy) and the
	// offer and policy documents.
	mux.Handle("GET /casco", h.Wrap(h.PartnerSignedIn(h.Quotes.Home)))
	mux.Handle("GET /casco/options/counties", h.Wrap(h.PartnerSignedIn(h.Nomenclature.Counties)))
	mux.Handle("GET /casco/options/localities", h.Wrap(h.PartnerSignedIn(h.Nomenclature.Localities)))
	mux.Handle("GET /casco/options/makes", h.Wrap(h.PartnerSignedIn(h.Nomenclature.Makes)))
	mux.Handle("GET /casco/options/models", h.Wrap(h.PartnerSignedIn(h.Nomenclature.Models)))
	mux.Handle("POST /casco/drafts", h.Wrap(h.PartnerSignedIn(h.Drafts.Create)))
	mux.Handle("GET /casco/drafts/{id}", h.Wrap(h.PartnerSignedIn(h.Drafts.Open)))
	mux.Handle("GET /casco/drafts/{id}/vehicle", h.Wrap(h.PartnerSignedIn(h.Drafts.Vehicle)))
	mux.Handle("POST /casco/drafts/{id}/vehicle", h.Wrap(h.PartnerSignedIn(h.Drafts.SaveVehicle)))
	mux.Handle("GET /casco/drafts/{id}/owner", h.Wrap(h.PartnerSignedIn(h.Drafts.Owner)))
	mux.Handle("POST /casco/drafts/{id}/owner", h.Wrap(h.PartnerSignedIn(h.Drafts.SaveOwner)))
	mux.Handle("GET /casco/drafts/{id}/cover", h.Wrap(h.PartnerSignedIn(h.Drafts.Cover)))
	mux.Handle("POST /casco/drafts/{id}/cover", h.Wrap(h.PartnerSignedIn(h.Drafts.SaveCover)))
	mux.Handle("GET /casco/drafts/{id}/offers", h.Wrap(h.PartnerSignedIn(h.Offers.List)))
	mux.Handle("POST /casco/drafts/{id}/offers", h.Wrap(h.PartnerSignedIn(h.Offers.Ask)))
	mux.Handle("GET /casco/drafts/{id}/offers/{offerID}/pdf", h.Wrap(h.PartnerSignedIn(h.Offers.PDF)))
	mux.Handle("GET /casco/drafts/{id}/policy", h.Wrap(h.PartnerSignedIn(h.Conversions.Form)))
	mux.Handle("POST /casco/drafts/{id}/policy", h.Wrap(h.PartnerSignedIn(h.Conversions.Convert)))
	mux.Handle("GET /casco/policies/{series}/{number}/pdf", h.Wrap(h.PartnerSignedIn(h.Conversions.PDF)))

	// Cancelling a policy (staff only: read-only sessions are refused
	// before any upstream call), and following pending operations.
	mux.Handle("GET /policies/{id}/cancel", h.Wrap(h.Staff(h.Cancel.Form)))
	mux.Handle("POST /policies/{id}/cancel", h.Wrap(h.SignedIn(h.Cancel.Submit)))
	mux.Handle("GET /policies/{id}/cancel/progress", h.Wrap(h.SignedIn(h.Cancel.Progress)))
	mux.Handle("GET /operations", h.Wrap(h.SignedIn(h.Operations.List)))

	// The audit log.
	mux.Handle("GET /audit", h.Wrap(h.SignedIn(h.AuditPages.List)))

	// Everything else: 405 where the path exists under another method,
	// 404 otherwise, both as dashboard pages.
	mux.Handle("/", fallback(mux, h))
	return mux
}

// fallback tells a wrong method from an unknown path by asking the mux
// which patterns the path would match under the methods we serve.
func fallback(mux *http.ServeMux, h *handlers.Handlers) http.Handler {
	notFound := h.Wrap(h.NotFound)
	methodNotAllowed := h.Wrap(h.MethodNotAllowed)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var allowed []string
		for _, m := range []string{http.MethodGet, http.MethodPost} {
			probe := r.Clone(r.Context())
			probe.Method = m
			if _, pattern := mux.Handler(probe); pattern != "/" && pattern != "" {
				allowed = append(allowed, m)
			}
		}
		if len(allowed) == 0 {
			notFound.ServeHTTP(w, r)
			return
		}
		if slices.Contains(allowed, http.MethodGet) {
			allowed = append(allowed, http.MethodHead)
		}
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		methodNotAllowed.ServeHTTP(w, r)
	})
}
