package audit

// Actions on the policy list's saved views, as recorded. A view belongs
// to the whole tenant (every session of it lists and opens it), so
// saving or deleting one changes what everyone sees: Reference is the
// view's address (/views/{id}), Message its name.
const (
	// ActionViewCreate is a saved view created.
	ActionViewCreate = "view_create"
	// ActionViewDelete is a saved view deleted.
	ActionViewDelete = "view_delete"
)
