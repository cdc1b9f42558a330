package handlers

import (
	"net/http"
	"slices"

	"backoffice/internal/session"
)

// Theme handles POST /preferences/theme: light, dark, or "" to follow
// the system's setting. Kept in the preferences cookie, so that it holds
// before sign-in and after sign-out.
func (p *Prefs) Theme(w http.ResponseWriter, r *http.Request) error {
	if err := ParseForm(w, r); err != nil {
		return err
	}
	theme := r.PostForm.Get("theme")
	if !slices.Contains(session.Themes(), theme) {
		return &Error{Status: http.StatusBadRequest, MessageKey: "prefs.error.theme"}
	}
	prefs := p.c.Sessions.Preferences(r)
	prefs.Theme = theme
	return p.saveAndReturn(w, r, prefs)
}
