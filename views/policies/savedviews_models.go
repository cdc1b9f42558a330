package policies

import (
	"github.com/a-h/templ"

	"backoffice/views/layout"
)

// ListTools are the controls above an indexed list: the column chooser
// and, for staff, saving the list as a view.
type ListTools struct {
	// Columns offers every column the viewer may see, checked when shown.
	Columns []ColumnChoice
	// ColumnsURL is where the chooser posts; Return is the list URL it
	// comes back to.
	ColumnsURL string
	Return     string
	// Save is the save-a-view form; nil for read-only sessions.
	Save *SaveViewForm
}

// ColumnChooserID is the id of the column chooser's summary: the
// chooser's answer sends the browser back to it (a URL fragment), so
// that the keyboard focus is where it was, not at the page's top.
const ColumnChooserID = "column-chooser"

// ColumnChoice is one checkbox of the column chooser.
type ColumnChoice struct {
	ID       string
	LabelKey string
	Shown    bool
}

// SaveViewForm saves the list's state under a name.
type SaveViewForm struct {
	Action string
	// State is the list's query, without a page number.
	State string
	// MaxName is the longest name the server takes, in characters
	// (savedviews.MaxNameRunes): the field's maxlength.
	MaxName int
	// Name is kept after a refusal; ErrorKey says why (with ErrorArg).
	Name     string
	ErrorKey string
	ErrorArg int
}

// OpenView says which saved view the list shows.
type OpenView struct {
	Name string
	// URL opens the view as saved; Changed says the list was filtered,
	// sorted or searched since.
	URL     string
	Changed bool
	// SearchOmitted says the view has a search text this viewer (a
	// public key) was not given: staff may have searched for an email,
	// a phone number, a VIN or a plate.
	SearchOmitted bool
	// DeleteURL deletes it (staff only; "" hides the control).
	DeleteURL string
}

// SaveViewPage is the save form on a page of its own: what a browser
// without JavaScript gets back when a name is refused.
type SaveViewPage struct {
	Meta    layout.PageMeta
	Form    SaveViewForm
	BackURL string
}

// shownColumns are the ids of the columns drawn, in order: Shown, or
// every column when it is nil.
func (t TableView) shownColumns() []string {
	if t.Shown != nil {
		return t.Shown
	}
	return []string{"id", "holder", "email", "product", "status", "start", "end", "premium", "created"}
}

// cellAttrs are a cell's class, and for the start date the zone its
// dates are in, as the list always showed them.
func cellAttrs(id string, r Row) templ.Attributes {
	switch id {
	case "holder", "email", "product":
		return templ.Attributes{"class": "clip"}
	case "premium":
		return templ.Attributes{"class": "num"}
	case "start":
		return templ.Attributes{"title": r.Zone}
	}
	return templ.Attributes{}
}
