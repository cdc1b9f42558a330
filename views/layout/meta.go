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
	// Nav is the current section, marked in the navigation.
	Nav Section
	// Path is the current page, where the language switcher returns to.
	Path string
	// Languages are the UI languages offered by the switcher.
	Languages []string
	// Times is the viewer's choice of zone for times; ViewerZone the zone
	// their browser reported, if any.
	Times      TimesIn
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
	// Kept, on the page a sign-in lands on, is the other login that
	// sign-in left in the session; nil when it left none.
	Kept *KeptLogin
	// SavedViews are the tenant's saved list views, for the navigation.
	SavedViews []SavedViewLink
	// Review shows the overview and the expiry worklist (a KASKO session
	// whose tenant the index covers); Expiring counts the policies in
	// force ending within 30 days, for the badge.
	Review   bool
	Expiring int
	// Theme is the viewer's chosen colour theme ("light", "dark"), ""
	// to follow their system's.
	Theme string
	// Printed is the footer of every printed page: whose book it is and
	// when it was printed ("" prints none).
	Printed string
}

// KeptLogin is a login a sign-in kept beside the new one, named on the
// next page with a one-click sign-out of it alone.
type KeptLogin struct {
	Kind KeptKind
	// Account names it: a partner account, or a KASKO key masked
	// ("sk_test_…4f2a") with the name given at sign-in.
	Account    string
	SignOutURL string
}

// KeptKind is which product's login was kept.
type KeptKind string

// The logins a sign-in may keep.
const (
	KeptPartner KeptKind = "partner"
	KeptKasko   KeptKind = "kasko"
)

// OpsView is the header's operations badge.
type OpsView struct {
	Pending int
	Notices []Notice
}

// Notice is a message shown once at the top of the next page.
type Notice struct {
	Kind    Tone
	Text    string
	LinkURL string
}

// UserBadge is what the header shows of the signed-in user.
type UserBadge struct {
	DisplayName string
	// MaskedKey is the key as "sk_test_…4f2a".
	MaskedKey string
	Role      Role
	// Mode is the header band's colour.
	Mode Mode
}

// Assets are hashed static URLs, resolved by the handler so that
// components do no lookups.
type Assets struct {
	CSS     string
	HTMX    string
	App     string
	Favicon string
	// Palette and PaletteCSS are the keyboard shortcuts and command
	// palette (palette.templ); "" loads none.
	Palette    string
	PaletteCSS string
}

// Section is a part of the dashboard in the main navigation.
type Section string

// The sections.
const (
	SectionPolicies Section = "policies"
	SectionNew      Section = "new"
	SectionCasco    Section = "casco"
	// SectionCascoAudit is a partner's own log of conversions.
	SectionCascoAudit Section = "casco-audit"
	SectionAudit      Section = "audit"
	SectionReview     Section = "review"
	SectionExpiring   Section = "expiring"
)

// TimesIn is the zone times are shown in.
type TimesIn string

// Where times are shown: in each policy's own zone, or the viewer's.
const (
	TimesPolicy TimesIn = "policy"
	TimesViewer TimesIn = "viewer"
)

// Tone is how a message box or notice reads: its colour, and whether a
// screen reader interrupts for it (errors only).
type Tone string

// The tones.
const (
	ToneError   Tone = "error"
	ToneWarning Tone = "warning"
	ToneSuccess Tone = "success"
	ToneInfo    Tone = "info"
)

// Role is what a KASKO key may do; its catalogue label is "role." + Role.
type Role string

// The roles.
const (
	RoleStaff    Role = "staff"
	RoleReadOnly Role = "readonly"
)

// Mode is a KASKO key's mode; its label is "env." + Mode.
type Mode string

// The modes.
const (
	ModeTest Mode = "test"
	ModeLive Mode = "live"
)
