package handlers

import (
	"net/http"
	"slices"
	"time"

	"backoffice/internal/format"
	"backoffice/internal/paths"
	"backoffice/internal/session"
)

// Prefs serves the viewer's display preferences (language, page size,
// time zone display), kept in their own cookie that outlives sign-out.
type Prefs struct {
	c *Core
}

// Language handles POST /preferences/language: it stores the choice and
// returns to the page the switcher was on.
func (p *Prefs) Language(w http.ResponseWriter, r *http.Request) error {
	if err := ParseForm(w, r); err != nil {
		return err
	}
	lang := r.PostForm.Get("lang")
	if !slices.Contains(p.c.languages, lang) {
		return ErrBadRequest
	}
	prefs := p.c.Sessions.Preferences(r)
	prefs.Lang = lang
	return p.saveAndReturn(w, r, prefs)
}

// Language returns the viewer's chosen UI language, for the i18n
// middleware; empty when they chose none.
func (c *Core) Language(r *http.Request) string {
	if c.Sessions == nil {
		return ""
	}
	return c.Sessions.Preferences(r).Lang
}

// maxZoneName bounds a zone name from the browser; the longest IANA
// names are about 30 bytes.
const maxZoneName = 64

// Times handles POST /preferences/times: show times in each policy's own
// zone, or in the viewer's. The browser fills in its zone (app.js); a
// form sent without one keeps the zone already known, else UTC.
func (p *Prefs) Times(w http.ResponseWriter, r *http.Request) error {
	if err := ParseForm(w, r); err != nil {
		return err
	}
	times := r.PostForm.Get("times")
	if times != "policy" && times != "viewer" {
		return ErrBadRequest
	}
	prefs := p.c.Sessions.Preferences(r)
	prefs.Times = times
	if zone := r.PostForm.Get("zone"); zone != "" {
		if len(zone) > maxZoneName || !validZone(p.c.Zones, zone) {
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
	if err := p.c.Sessions.SavePreferences(w, r, prefs); err != nil {
		return err
	}
	back := r.PostForm.Get("return")
	if !IsLocalPath(back) {
		back = paths.Home
	}
	Redirect(w, r, back)
	return nil
}
