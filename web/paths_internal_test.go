package web

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"backoffice/handlers"
	"backoffice/handlers/casco"
	"backoffice/handlers/kasko"
	"backoffice/internal/paths"
)

// TestPathsMatchRoutes proves that every address internal/paths builds
// lands on the route meant for it, not on the 404 fallback or a
// neighbour: a route renamed in routes.go without its builder (or the
// reverse) fails here, not in a user's browser.
func TestPathsMatchRoutes(t *testing.T) {
	core := handlers.New(handlers.Config{})
	mux := routes(&app{core: core, kasko: kasko.New(core, kasko.Deps{}), casco: casco.New(core, casco.Deps{}), webhooks: http.NotFoundHandler()}, http.NotFoundHandler(), &health{})
	odd := "a/b c?d" // escaping must keep a value inside its segment
	for _, c := range []struct {
		method, path, pattern string
	}{
		{"GET", paths.Home, "GET /{$}"},
		{"GET", paths.SignIn, "GET /signin"},
		{"GET", paths.SignInNext("/policies?page=2"), "GET /signin"},
		{"GET", paths.SignInPartnerNext("/casco"), "GET /signin"},
		{"POST", paths.SignIn, "POST /signin"},
		{"POST", paths.SignInPartner, "POST /signin/partner"},
		{"POST", paths.SignOut, "POST /signout"},
		{"POST", paths.SignOutPartner, "POST /signout/partner"},
		{"POST", paths.SignOutKasko, "POST /signout/kasko"},
		{"POST", paths.PrefsLanguage, "POST /preferences/language"},
		{"POST", paths.PrefsTimes, "POST /preferences/times"},
		{"GET", paths.PolicyList(url.Values{"sort": {"-created_at"}}), "GET /policies"},
		{"GET", paths.PolicyFind, "GET /policies/find"},
		{"GET", paths.Policy(odd), "GET /policies/{id}"},
		{"GET", paths.PolicyDocument(odd, "asset", 3), "GET /policies/{id}/documents/{kind}/{index}"},
		{"GET", paths.PolicyNew, "GET /policies/new"},
		{"POST", paths.PolicyNew, "POST /policies/new"},
		{"GET", paths.PushCheck(odd), "GET /pushes/check"},
		{"GET", paths.Push(odd), "GET /pushes/{reference}"},
		{"GET", paths.PolicyCancel(odd), "GET /policies/{id}/cancel"},
		{"POST", paths.PolicyCancel(odd), "POST /policies/{id}/cancel"},
		{"GET", paths.CancelProgress(odd, odd), "GET /policies/{id}/cancel/progress"},
		{"GET", paths.CancelWatch(odd), "GET /policies/{id}/cancel/progress"},
		{"GET", paths.Operations, "GET /operations"},
		{"GET", paths.SavedView(odd), "GET /views/{id}"},
		{"POST", paths.SavedViews, "POST /views"},
		{"POST", paths.SavedViewDelete(odd), "POST /views/{id}/delete"},
		{"POST", paths.PolicyColumns, "POST /policies/columns"},
		{"POST", paths.PolicyExport, "POST /policies/export"},
		{"GET", paths.Export(odd), "GET /exports/{id}"},
		{"GET", paths.ExportFile(odd), "GET /exports/{id}/file"},
		{"POST", paths.WebhooksKasko, "POST /webhooks/kasko"},
		{"GET", paths.AuditList(url.Values{"policy": {odd}}), "GET /audit"},
		{"GET", paths.CascoHistory(2), "GET /casco"},
		{"GET", paths.CascoAuditPage(1), "GET /casco/audit"},
		{"GET", paths.CascoAuditPage(3), "GET /casco/audit"},
		{"GET", paths.CascoCounties, "GET /casco/options/counties"},
		{"GET", paths.CascoLocalities, "GET /casco/options/localities"},
		{"GET", paths.CascoMakes, "GET /casco/options/makes"},
		{"GET", paths.CascoModels, "GET /casco/options/models"},
		{"POST", paths.CascoDrafts, "POST /casco/drafts"},
		{"GET", paths.Draft(odd), "GET /casco/drafts/{id}"},
		{"GET", paths.DraftStep(odd, "vehicle"), "GET /casco/drafts/{id}/vehicle"},
		{"POST", paths.DraftStep(odd, "owner"), "POST /casco/drafts/{id}/owner"},
		{"GET", paths.DraftStep(odd, "cover"), "GET /casco/drafts/{id}/cover"},
		{"POST", paths.DraftStep(odd, "offers"), "POST /casco/drafts/{id}/offers"},
		{"GET", paths.OfferPDF(odd, odd), "GET /casco/drafts/{id}/offers/{offerID}/pdf"},
		{"GET", paths.DraftPolicyForm(odd, odd), "GET /casco/drafts/{id}/policy"},
		{"POST", paths.DraftStep(odd, "policy"), "POST /casco/drafts/{id}/policy"},
		{"GET", paths.CascoPolicyPDF("GRP/CL", "123"), "GET /casco/policies/{series}/{number}/pdf"},
		{"GET", paths.CascoPolicyPDF("", "123"), "GET /casco/policies/{series}/{number}/pdf"},
	} {
		r := httptest.NewRequest(c.method, c.path, nil)
		if _, got := mux.Handler(r); got != c.pattern {
			t.Errorf("%s %s matches %q, want %q", c.method, c.path, got, c.pattern)
		}
	}
	// Escaped values come back whole as path values.
	probe := http.NewServeMux()
	var got []string
	probe.HandleFunc("GET /policies/{id}", func(_ http.ResponseWriter, r *http.Request) { got = append(got, r.PathValue("id")) })
	probe.HandleFunc("GET /casco/policies/{series}/{number}/pdf", func(_ http.ResponseWriter, r *http.Request) {
		got = append(got, r.PathValue("series"))
	})
	for _, p := range []string{paths.Policy(odd), paths.CascoPolicyPDF("GRP/CL", "1")} {
		probe.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", p, nil))
	}
	if len(got) != 2 || got[0] != odd || got[1] != "GRP/CL" {
		t.Errorf("path values = %q, want %q and GRP/CL", got, odd)
	}
}
