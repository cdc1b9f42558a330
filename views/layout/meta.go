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
}

// Assets are hashed static URLs, resolved by the handler so that
// components do no lookups.
type Assets struct {
	CSS     string
	HTMX    string
	Favicon string
}
