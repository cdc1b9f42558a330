// Package layout holds the page frame every screen shares and the
// PageMeta view model that feeds it.
package layout

// PageMeta is what the frame needs from every page's view model.
type PageMeta struct {
	// Title is already translated; the frame appends the product name.
	Title string
	// Assets are the content-hashed URLs of the stylesheet and scripts.
	Assets Assets
	// Sandbox marks a dashboard running against the built-in sandbox.
	Sandbox bool
	// RequestID is shown on error pages and alerts for support.
	RequestID string
	// User is the signed-in user; nil on public pages.
	User *UserBadge
	// Nav is the current section ("policies"), marked in the navigation.
	Nav string
	// Path is the current page, where the language switcher returns to.
	Path string
	// Languages are the UI languages offered by the switcher.
	Languages []string
	// Times is the viewer's choice of zone for times: "policy" or
	// "viewer"; ViewerZone the zone their browser reported, if any.
	Times      string
	ViewerZone string
	// Partner is the CascoApi account signed in beside (or instead of) a
	// KASKO key; "" when none.
	Partner string
	// CanCreate shows the way to the new-policy form (staff, push API
	// configured).
	CanCreate bool
	// Ops are the user's pending operations and finished-operation
	// notices, for the header.
	Ops OpsView
}

// OpsView is the header's operations badge.
type OpsView struct {
	Pending int
	Notices []Notice
}

// Notice is a message shown once at the top of the next page.
type Notice struct {
	Kind    string // "success", "error"
	Text    string
	LinkURL string
}

// UserBadge is what the header shows of the signed-in user.
type UserBadge struct {
	DisplayName string
	// MaskedKey is the key as "sk_test_…4f2a".
	MaskedKey string
	// Role is "staff" or "readonly".
	Role string
	// Mode is "test" or "live": the header band's colour.
	Mode string
}

// Assets are hashed static URLs, resolved by the handler so that
// components do no lookups.
type Assets struct {
	CSS     string
	HTMX    string
	App     string
	Favicon string
}
