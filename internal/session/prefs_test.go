package session_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"backoffice/internal/session"
)

// TestColumnsPreference: a column choice survives in the cookie, in the
// list's order, with unknown and repeated ids dropped; no choice reads
// as nil (every column), and the cookie stays small.
func TestColumnsPreference(t *testing.T) {
	m := mustManager(t, session.Config{Store: "memory"})
	roundTrip := func(cols []string) (session.Prefs, *http.Cookie) {
		t.Helper()
		rec := httptest.NewRecorder()
		if err := m.SavePreferences(rec, httptest.NewRequest("POST", "/", nil), session.Prefs{PageSize: 50, Times: "policy", Columns: cols}); err != nil {
			t.Fatal(err)
		}
		cookies := rec.Result().Cookies()
		if len(cookies) != 1 {
			t.Fatalf("%d cookies set, want 1", len(cookies))
		}
		req := httptest.NewRequest("GET", "/", nil)
		req.AddCookie(cookies[0])
		return m.Preferences(req), cookies[0]
	}
	p, c := roundTrip([]string{"status", "<script>", "id", "id", "premium", strings.Repeat("x", 500)})
	if want := []string{"id", "status", "premium"}; !slices.Equal(p.Columns, want) {
		t.Errorf("Columns = %q, want %q", p.Columns, want)
	}
	if p.PageSize != 50 {
		t.Errorf("PageSize = %d, lost beside the columns", p.PageSize)
	}
	p, without := roundTrip(nil)
	if p.Columns != nil {
		t.Errorf("no choice reads as %q, want nil", p.Columns)
	}
	// Every column chosen costs the cookie at most 200 bytes (base64 of an encrypted gob).
	_, all := roundTrip(session.ListColumns())
	if grown := len(all.Value) - len(without.Value); grown > 200 || len(c.Value) > len(all.Value) {
		t.Errorf("the columns grow the cookie by %d bytes (%d with a junk choice)", grown, len(c.Value))
	}
	if p, _ := roundTrip([]string{"bogus"}); p.Columns != nil {
		t.Errorf("only unknown ids read as %q, want nil", p.Columns)
	}
	if got := session.CleanColumns(session.ListColumns()); !slices.Equal(got, session.ListColumns()) {
		t.Errorf("CleanColumns(all) = %q", got)
	}
}
