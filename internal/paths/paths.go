// Package paths builds the dashboard's own URLs. web/routes.go declares
// the patterns; every address that handlers put into a page, a redirect
// or a view model, and every address a template writes, comes from here,
// so that a renamed route is renamed in one place and a test
// (web.TestPathsMatchRoutes) proves each builder lands on a route.
//
// It imports nothing of the dashboard: views and handlers both use it.
package paths

import (
	"net/url"
	"strconv"
)

// Fixed addresses.
const (
	Home            = "/"
	SignIn          = "/signin"
	SignInPartner   = "/signin/partner"
	SignOut         = "/signout"
	SignOutPartner  = "/signout/partner"
	SignOutKasko    = "/signout/kasko"
	PrefsLanguage   = "/preferences/language"
	PrefsTimes      = "/preferences/times"
	PrefsTheme      = "/preferences/theme"
	Policies        = "/policies"
	PolicyFind      = "/policies/find"
	PolicyNew       = "/policies/new"
	PolicyExport    = "/policies/export"
	Operations      = "/operations"
	Audit           = "/audit"
	Casco           = "/casco"
	CascoAudit      = "/casco/audit"
	CascoDrafts     = "/casco/drafts"
	CascoCounties   = "/casco/options/counties"
	CascoLocalities = "/casco/options/localities"
	CascoMakes      = "/casco/options/makes"
	CascoModels     = "/casco/options/models"
	PushCheckBase   = "/pushes/check"
	WebhooksKasko   = "/webhooks/kasko"
	Review          = "/review"
	ReviewExpiring  = "/review/expiring"
)

// NoSeries stands for an empty series in a CASCO policy's PDF address.
const NoSeries = "~"

// SignInNext is the sign-in page that returns to next afterwards.
func SignInNext(next string) string {
	if next == "" {
		return SignIn
	}
	return SignIn + "?next=" + url.QueryEscape(next)
}

// SignInPartnerNext is the sign-in page on its partner tab, returning to
// next afterwards.
func SignInPartnerNext(next string) string {
	if next == "" {
		return SignIn + "?tab=casco"
	}
	return SignIn + "?tab=casco&next=" + url.QueryEscape(next)
}

// PolicyList is the policy list with its query (sort, page, size…).
func PolicyList(q url.Values) string {
	if len(q) == 0 {
		return Policies
	}
	return Policies + "?" + q.Encode()
}

// Policy is a policy's page.
func Policy(id string) string { return Policies + "/" + url.PathEscape(id) }

// PolicyDocument is one of a policy's documents (kind "asset" or
// "media", index in that list).
func PolicyDocument(id, kind string, index int) string {
	return Policy(id) + "/documents/" + url.PathEscape(kind) + "/" + strconv.Itoa(index)
}

// PolicyCancel is a policy's cancel form.
func PolicyCancel(id string) string { return Policy(id) + "/cancel" }

// CancelProgress follows the accepted cancellation that makes
// newVersionID.
func CancelProgress(id, newVersionID string) string {
	return Policy(id) + "/cancel/progress?version=" + url.QueryEscape(newVersionID)
}

// CancelWatch follows a policy after a conflict or an unknown outcome.
func CancelWatch(id string) string { return Policy(id) + "/cancel/progress?watch=1" }

// Push is the result page of a push by its reference.
func Push(reference string) string { return "/pushes/" + url.PathEscape(reference) }

// PushCheck looks for the policy of a push whose outcome is unknown.
func PushCheck(token string) string { return PushCheckBase + "?token=" + url.QueryEscape(token) }

// AuditList is the audit log with its filters and page.
func AuditList(q url.Values) string {
	if len(q) == 0 {
		return Audit
	}
	return Audit + "?" + q.Encode()
}

// CascoAuditPage is a page of the partner's audit log.
func CascoAuditPage(page int) string {
	if page <= 1 {
		return CascoAudit
	}
	return CascoAudit + "?page=" + strconv.Itoa(page)
}

// CascoHistory is a page of the partner's quote history.
func CascoHistory(page int) string {
	if page <= 1 {
		return Casco
	}
	return Casco + "?page=" + strconv.Itoa(page)
}

// Draft opens a quote where it was left.
func Draft(id string) string { return CascoDrafts + "/" + url.PathEscape(id) }

// DraftStep is a step of a quote ("vehicle", "owner", "cover", "offers",
// "policy").
func DraftStep(id, step string) string { return Draft(id) + "/" + url.PathEscape(step) }

// DraftPolicyForm is the payment form that turns offerID into a policy.
func DraftPolicyForm(id, offerID string) string {
	return DraftStep(id, "policy") + "?offer=" + url.QueryEscape(offerID)
}

// OfferPDF is an offer's document.
func OfferPDF(draftID, offerID string) string {
	return DraftStep(draftID, "offers") + "/" + url.PathEscape(offerID) + "/pdf"
}

// CascoPolicyPDF is a CASCO policy's document; series may contain "/"
// ("GRP/CL"), which stays inside its path segment escaped.
func CascoPolicyPDF(series, number string) string {
	if series == "" {
		series = NoSeries
	}
	return "/casco/policies/" + url.PathEscape(series) + "/" + url.PathEscape(number) + "/pdf"
}

// Export is an export job's page (its progress, then its file).
func Export(id string) string { return "/exports/" + url.PathEscape(id) }

// ExportFile is an export job's file.
func ExportFile(id string) string { return Export(id) + "/file" }
