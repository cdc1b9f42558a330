package layout

// SavedViewLink is one of the tenant's saved views in the navigation.
type SavedViewLink struct {
	// Name is as the user typed it: text, escaped on output.
	Name string
	URL  string
	// Current marks the view open on this page.
	Current bool
}
