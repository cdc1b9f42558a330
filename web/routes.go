package web

import (
	"net/http"
	"slices"
	"strings"

	"backoffice/handlers"
)

// routes is the dashboard's whole URL surface. Only GET and POST, so that
// every action also works as a plain HTML form. The file that serves each
// pattern is named in the README's route table; internal/paths builds the
// addresses (TestPathsMatchRoutes keeps the two in step).
func routes(a *app, assets http.Handler, health *health) *http.ServeMux {
	mux := http.NewServeMux()
	c, k, p := a.core, a.kasko, a.casco
	wrap := c.Wrap

	// Operations.
	mux.HandleFunc("GET /healthz", health.live)
	mux.HandleFunc("GET /readyz", health.ready)

	// Static assets, under content-hashed URLs.
	mux.Handle("GET /static/", assets)

	// Signing in and out (a KASKO key, or a CascoApi partner account);
	// preferences.
	mux.Handle("GET /{$}", wrap(c.Auth.Home))
	mux.Handle("GET /signin", wrap(c.Auth.SignInPage))
	mux.Handle("POST /signin", wrap(k.Auth.SignIn))
	mux.Handle("POST /signin/partner", wrap(p.Auth.SignIn))
	mux.Handle("POST /signout", wrap(c.Auth.SignOut))
	mux.Handle("POST /signout/partner", wrap(c.Auth.SignOutPartner))
	mux.Handle("POST /signout/kasko", wrap(c.Auth.SignOutKasko))
	mux.Handle("POST /preferences/language", wrap(c.Prefs.Language))
	mux.Handle("POST /preferences/times", wrap(c.Prefs.Times))
	mux.Handle("POST /preferences/theme", wrap(c.Prefs.Theme))

	// KASKO policy pages.
	mux.Handle("GET /policies", wrap(k.SignedIn(k.Policies.List)))
	mux.Handle("GET /policies/find", wrap(k.SignedIn(k.Policies.Find)))
	mux.Handle("GET /policies/{id}", wrap(k.SignedIn(k.Policies.Show)))
	mux.Handle("GET /policies/{id}/documents/{kind}/{index}", wrap(k.SignedIn(k.Policies.Document)))

	// Creating a policy through the push API (staff only; the POST
	// refuses read-only sessions itself, on the record).
	mux.Handle("GET /policies/new", wrap(k.Staff(k.Push.Form)))
	mux.Handle("POST /policies/new", wrap(k.SignedIn(k.Push.Submit)))
	mux.Handle("GET /pushes/check", wrap(k.Staff(k.Push.Check)))
	mux.Handle("GET /pushes/{reference}", wrap(k.SignedIn(k.Push.Result)))

	// Cancelling a policy (staff only: read-only sessions are refused
	// before any upstream call), and following pending operations.
	mux.Handle("GET /policies/{id}/cancel", wrap(k.Staff(k.Cancel.Form)))
	mux.Handle("POST /policies/{id}/cancel", wrap(k.SignedIn(k.Cancel.Submit)))
	mux.Handle("GET /policies/{id}/cancel/progress", wrap(k.SignedIn(k.Cancel.Progress)))
	mux.Handle("GET /operations", wrap(k.SignedIn(k.Operations.List)))

	// Exporting a list view (CSV, XLSX): a job any instance can follow,
	// then its file.
	mux.Handle("POST /policies/export", wrap(k.SignedIn(k.Exports.Create)))
	mux.Handle("GET /exports/{id}", wrap(k.SignedIn(k.Exports.Show)))
	mux.Handle("GET /exports/{id}/file", wrap(k.SignedIn(k.Exports.File)))

	// Saved views of the policy list (every session of the tenant opens
	// them; the POSTs refuse read-only sessions themselves), and the
	// list's column choice.
	mux.Handle("GET /views/{id}", wrap(k.SignedIn(k.SavedViews.Open)))
	mux.Handle("POST /views", wrap(k.SignedIn(k.SavedViews.Create)))
	mux.Handle("POST /views/{id}/delete", wrap(k.SignedIn(k.SavedViews.Delete)))
	mux.Handle("POST /policies/columns", wrap(k.SignedIn(k.SavedViews.Columns)))

	// The audit log.
	// A partner-only session is sent to its own log (/casco/audit).
	mux.Handle("GET /audit", wrap(p.OwnAudit(k.SignedIn(k.Audit.List))))
	mux.Handle("GET /review", wrap(k.SignedIn(k.Review.Overview)))
	mux.Handle("GET /review/expiring", wrap(k.SignedIn(k.Review.Expiring)))

	// The command palette's entries for the session (KASKO and partner
	// logins alike; it checks which the session holds itself).
	mux.Handle("GET /palette", wrap(k.Palette))

	// KASKO webhooks (policy.created, policy.updated), signed per tenant:
	// they keep the policy index live. Not a page: the receiver answers
	// the sender in plain text.
	mux.Handle("POST /webhooks/kasko", a.webhooks)

	// CASCO quotes, for partners signed in with a CascoApi account: the
	// history, the reference lists of the dependent selects, a quote's
	// five steps (vehicle, policyholder, cover, offers, policy) and the
	// offer and policy documents.
	mux.Handle("GET /casco", wrap(p.PartnerSignedIn(p.History.List)))
	mux.Handle("GET /casco/options/counties", wrap(p.PartnerSignedIn(p.Nomenclature.Counties)))
	mux.Handle("GET /casco/options/localities", wrap(p.PartnerSignedIn(p.Nomenclature.Localities)))
	mux.Handle("GET /casco/options/makes", wrap(p.PartnerSignedIn(p.Nomenclature.Makes)))
	mux.Handle("GET /casco/options/models", wrap(p.PartnerSignedIn(p.Nomenclature.Models)))
	mux.Handle("POST /casco/drafts", wrap(p.PartnerSignedIn(p.Drafts.Create)))
	mux.Handle("GET /casco/drafts/{id}", wrap(p.PartnerSignedIn(p.Drafts.Open)))
	mux.Handle("GET /casco/drafts/{id}/vehicle", wrap(p.PartnerSignedIn(p.Vehicle.Show)))
	mux.Handle("POST /casco/drafts/{id}/vehicle", wrap(p.PartnerSignedIn(p.Vehicle.Save)))
	mux.Handle("GET /casco/drafts/{id}/owner", wrap(p.PartnerSignedIn(p.Owner.Show)))
	mux.Handle("POST /casco/drafts/{id}/owner", wrap(p.PartnerSignedIn(p.Owner.Save)))
	mux.Handle("GET /casco/drafts/{id}/cover", wrap(p.PartnerSignedIn(p.Cover.Show)))
	mux.Handle("POST /casco/drafts/{id}/cover", wrap(p.PartnerSignedIn(p.Cover.Save)))
	mux.Handle("GET /casco/drafts/{id}/offers", wrap(p.PartnerSignedIn(p.Offers.List)))
	mux.Handle("POST /casco/drafts/{id}/offers", wrap(p.PartnerSignedIn(p.Offers.Ask)))
	mux.Handle("GET /casco/drafts/{id}/offers/{offerID}/pdf", wrap(p.PartnerSignedIn(p.Offers.PDF)))
	mux.Handle("POST /casco/drafts/{id}/offers/{provider}/retry", wrap(p.PartnerSignedIn(p.Offers.Retry)))
	mux.Handle("GET /casco/drafts/{id}/policy", wrap(p.PartnerSignedIn(p.Conversions.Form)))
	mux.Handle("POST /casco/drafts/{id}/policy", wrap(p.PartnerSignedIn(p.Conversions.Convert)))
	mux.Handle("GET /casco/policies/{series}/{number}/pdf", wrap(p.PartnerSignedIn(p.Conversions.PDF)))
	mux.Handle("GET /casco/audit", wrap(p.PartnerSignedIn(p.AuditList)))

	// Everything else: 405 where the path exists under another method,
	// 404 otherwise, both as dashboard pages.
	mux.Handle("/", fallback(mux, c))
	return mux
}

// fallback tells a wrong method from an unknown path by asking the mux
// which patterns the path would match under the methods we serve.
func fallback(mux *http.ServeMux, c *handlers.Core) http.Handler {
	notFound := c.Wrap(c.NotFound)
	methodNotAllowed := c.Wrap(c.MethodNotAllowed)
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
