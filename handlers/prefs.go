package handlers

import (
	"net/http"
	"slices"
)

// Prefs serves the viewer's display preferences (language, page size,
// time zone display), kept in their own cookie that outlives sign-out.
type Prefs struct {
	h *Handlers
}

// Language handles POST /preferences/language: it stores the choice and
// returns to the page the switcher was on.
func (p *Prefs) Language(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return &Error{Status: http.StatusBadRequest, MessageKey: "error.bad_request", Err: err}
	}
	lang := r.PostForm.Get("lang")
	if !slices.Contains(p.h.languages, lang) {
		return &Error{Status: http.StatusBadRequest, MessageKey: "error.bad_request"}
	}
	prefs := p.h.sessions.Preferences(r)
	prefs.Lang = lang
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

// Language returns the viewer's chosen UI language, for the i18n
// middleware; empty when they chose none.
func (h *Handlers) Language(r *http.Request) string {
	if h.sessions == nil {
		return ""
	}
	return h.sessions.Preferences(r).Lang
}
