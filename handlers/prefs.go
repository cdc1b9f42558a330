package handlers

import (
	"net/http"
	"slices"
	"time"

	"backoffice/internal/format"
	"backoffice/internal/session"
)

// Prefs serves the viewer's display preferences (language, page size,
// time zone display), kept in their own cookie that outlives sign-out.
type Prefs struct {
	h *Handlers
}

// Language handles POST /preferences/language: it stores the choice and
// returns to the page the switcher was on.
func (p *Prefs) Language(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	lang := r.PostForm.Get("lang")
	if !slices.Contains(p.h.languages, lang) {
		return &Error{Status: http.StatusBadRequest, MessageKey: "error.bad_request"}
	}
	prefs := p.h.sessions.Preferences(r)
	prefs.Lang = lang
	return p.saveAndReturn(w, r, prefs)
}

// Language returns the viewer's chosen UI language, for the i18n
// middleware; empty when they chose none.
func (h *Handlers) Language(r *http.Request) string {
	if h.sessions == nil {
		return ""
	}
	return h.sessions.Preferences(r).Lang
}

// maxZoneName bounds a zone name from the browser; the longest IANA
// names are about 30 bytes.
const maxZoneName = 64

// Times handles POST /preferences/times: show times in each policy's own
// zone, or in the viewer's. The browser fills in its zone (app.js); a
// form sent without one keeps the zone already known, else UTC.
func (p *Prefs) Times(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	times := r.PostForm.Get("times")
	if times != "policy" && times != "viewer" {
		return &Error{Status: http.StatusBadRequest, MessageKey: "error.bad_request"}
	}
	prefs := p.h.sessions.Preferences(r)
	prefs.Times = times
	if zone := r.PostForm.Get("zone"); zone != "" {
		if len(zone) > maxZoneName || !validZone(p.h.zones, zone) {
			return &Error{Status: http.StatusBadRequest, MessageKey: "prefs.error.zone"}
		}
		prefs.ViewerZone = zone
	}
	return p.saveAndReturn(w, r, prefs)
}

// validZone accepts IANA names only: "Local" would mean the server's
// zone, which says nothing about the viewer.
func validZone(zones *format.Zones, name string) bool {
	if name == "Local" {
		return false
	}
	_, err := zones.In(time.Time{}, name)
	return err == nil
}

// saveAndReturn stores prefs and sends the browser back to the page the
// form was on (a local path only).
func (p *Prefs) saveAndReturn(w http.ResponseWriter, r *http.Request, prefs session.Prefs) error {
	if err := p.h.sessions.SavePreferences(w, r, prefs); err != nil {
		return err
	}
	back := r.PostForm.Get("return")
	if !isLocalPath(back) {
		back = "/"
	}
	redirect(w, r, back)
	return nil
}

// parseForm reads a small form body; anything else is a bad request.
func parseForm(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return &Error{Status: http.StatusBadRequest, MessageKey: "error.bad_request", Err: err}
	}
	return nil
}
