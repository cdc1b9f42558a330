package paths

import "net/url"

// Saved views of the policy list, and its column choice.
const (
	SavedViews    = "/views"
	PolicyColumns = "/policies/columns"
)

// SavedView opens a saved view (it redirects to the list with its state).
func SavedView(id string) string { return SavedViews + "/" + url.PathEscape(id) }

// SavedViewDelete deletes a saved view.
func SavedViewDelete(id string) string { return SavedView(id) + "/delete" }
