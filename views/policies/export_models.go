package policies

import "backoffice/views/layout"

// ExportState is where an export job is.
type ExportState string

// The states an export shows.
const (
	ExportRunning ExportState = "running"
	ExportDone    ExportState = "done"
	ExportFailed  ExportState = "failed"
)

// ExportView is the page of one export job.
type ExportView struct {
	Meta layout.PageMeta
	Job  ExportJob
}

// ExportJob is an export's progress, then its file.
type ExportJob struct {
	ID    string
	State ExportState
	// StatusURL is polled while it runs; FileURL is the download.
	StatusURL, FileURL string
	// ListURL is the list view it exports.
	ListURL string
	Format  string // "CSV", "XLSX"
	Percent int
	Rows    int
	Total   int
	// Filename and Size (formatted) describe the finished file.
	Filename, Size string
	// Capped: the view is a text search by relevance that matched more
	// than the ranked matches; the file holds only those (the newest).
	Capped bool
	// ErrorKey says why it failed.
	ErrorKey string
	// NoticeKey, when set, is said above the job (another export was
	// asked for while this one runs).
	NoticeKey string
	// Retry posts the same export again (failed jobs).
	Retry *ExportRetry
}

// ExportRetry is a form that starts the same export again.
type ExportRetry struct {
	Action string
	Fields []HiddenField
}

// HiddenField is one hidden input.
type HiddenField struct{ Name, Value string }
