package session

import (
	"net/http"
	"slices"
	"strings"

	"github.com/gorilla/sessions"
)

// Prefs are the viewer's display choices. They hold nothing secret and
// outlive signing out, so they live in a cookie of their own, signed and
// encrypted so that nobody can read or forge one.
type Prefs struct {
	// Lang is the UI language ("en", "de", "ro"); empty = from the browser.
	Lang string
	// PageSize is the policy list's page size: 10, 20, 50 or 100.
	PageSize int
	// Times is "policy" (each policy's own time zone, the default) or
	// "viewer" (ViewerZone).
	Times string
	// ViewerZone is the viewer's IANA time zone, as the browser reported it.
	ViewerZone string
	// Columns are the policy list columns the viewer chose to see, in
	// the list's order; nil shows them all. Only ids of ListColumns are
	// kept (an unknown one is dropped on reading and on saving).
	Columns []string
	// Theme is "light" or "dark" when the viewer chose one over their
	// system's setting; "" follows the system (prefers-color-scheme).
	Theme string
}

// Themes are the colour themes a viewer may choose ("" follows the
// system).
func Themes() []string { return []string{"", "light", "dark"} }

// ListColumns are the ids of the policy list's columns, in their order:
// what a column choice may name.
func ListColumns() []string {
	return []string{"id", "holder", "email", "product", "status", "start", "end", "premium", "created"}
}

// CleanColumns keeps the known column ids of cols, once each, in the
// list's order; nil when none is left.
func CleanColumns(cols []string) []string {
	var out []string
	for _, c := range ListColumns() {
		if slices.Contains(cols, c) {
			out = append(out, c)
		}
	}
	return out
}

// PageSizes are the page sizes a viewer may choose.
var pageSizes = []int{10, 20, 50, 100}

// ValidPageSize reports whether n is one of the offered page sizes.
func ValidPageSize(n int) bool { return slices.Contains(pageSizes, n) }

const prefsCookie = "prefs"

// maxColumnsValue bounds the stored column list: every id once, with
// commas, is well under it.
const maxColumnsValue = 128

type prefsCodec struct {
	store *sessions.CookieStore
	name  string
}

func newPrefsCodec(secret []byte, secure bool) (*prefsCodec, error) {
	hashKey, err := derive(secret, "prefs-hmac", 32)
	if err != nil {
		return nil, err
	}
	blockKey, err := derive(secret, "prefs-aes", 32)
	if err != nil {
		return nil, err
	}
	store := sessions.NewCookieStore(hashKey, blockKey)
	store.Options = &sessions.Options{
		Path:     "/",
		MaxAge:   365 * 24 * 60 * 60,
		HttpOnly: true,
		Secure:   secure,
		SameSite: http.SameSiteLaxMode,
	}
	name := prefsCookie
	if secure {
		name = "__Host-" + prefsCookie
	}
	return &prefsCodec{store: store, name: name}, nil
}

// Preferences reads the viewer's preferences; a missing, forged or stale
// cookie gives the defaults.
func (m *Manager) Preferences(r *http.Request) Prefs {
	p := Prefs{PageSize: 20, Times: "policy"}
	s, err := m.prefs.store.Get(r, m.prefs.name)
	if err != nil {
		return p
	}
	if v, ok := s.Values["lang"].(string); ok {
		p.Lang = v
	}
	if v, ok := s.Values["page_size"].(int); ok && ValidPageSize(v) {
		p.PageSize = v
	}
	if v, ok := s.Values["times"].(string); ok && (v == "policy" || v == "viewer") {
		p.Times = v
	}
	if v, ok := s.Values["viewer_zone"].(string); ok {
		p.ViewerZone = v
	}
	if v, ok := s.Values["theme"].(string); ok && slices.Contains(Themes(), v) {
		p.Theme = v
	}
	if v, ok := s.Values["columns"].(string); ok && v != "" && len(v) <= maxColumnsValue {
		p.Columns = CleanColumns(strings.Split(v, ","))
	}
	return p
}

// SavePreferences writes the preferences cookie.
func (m *Manager) SavePreferences(w http.ResponseWriter, r *http.Request, p Prefs) error {
	s, _ := m.prefs.store.Get(r, m.prefs.name) // a bad cookie is replaced
	s.Values["lang"] = p.Lang
	s.Values["page_size"] = p.PageSize
	s.Values["times"] = p.Times
	s.Values["viewer_zone"] = p.ViewerZone
	if slices.Contains(Themes(), p.Theme) {
		s.Values["theme"] = p.Theme
	}
	// One short string ("id,holder,status"), the cookie staying small.
	if cols := CleanColumns(p.Columns); cols != nil {
		s.Values["columns"] = strings.Join(cols, ",")
	} else {
		delete(s.Values, "columns")
	}
	return s.Save(r, w)
}
