package handlers

import "net/http"

// AuditPages serves the audit log: GET /audit for every role, and each
// policy's own entries as a timeline on its detail page.
type AuditPages struct {
	h *Handlers
}

// List handles GET /audit.
func (a *AuditPages) List(w http.ResponseWriter, r *http.Request) error {
	return errNotFound
}
