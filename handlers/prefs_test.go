package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"backoffice/apiclient/kasko"
	"backoffice/internal/sandbox"
	"backoffice/web/webtest"
)

// fixtureStart is the cover start of the Riga fixture policy, read from
// the upstream, so that expectations follow the sandbox's seed.
func fixtureStart(t *testing.T, srv *webtest.Server) time.Time {
	t.Helper()
	c, err := kasko.New(srv.Upstream.KaskoURL)
	if err != nil {
		t.Fatal(err)
	}
	pol, err := c.WithKey(sandbox.KeyASecretTest).GetPolicy(context.Background(), sandbox.FixturePolicyID)
	if err != nil {
		t.Fatal(err)
	}
	if pol.LocalizedDates == nil || pol.LocalizedDates.TimeZone != "Europe/Riga" {
		t.Fatalf("fixture policy is not in Europe/Riga: %+v", pol.LocalizedDates)
	}
	return pol.StartDate
}

// coverStart returns the cover start cell of a policy page: the shown
// time, the time in the other zone, and whether the day-differs flag is on.
func coverStart(t *testing.T, r webtest.Response) (shown, other string, flagged bool) {
	t.Helper()
	dd := r.Doc.Find(`[data-testid="cover"] dd`).First()
	if dd.Length() == 0 {
		t.Fatalf("no cover dates on the page (status %d)", r.Status)
	}
	return strings.TrimSpace(dd.Find(`[data-testid="date-local"]`).Text()),
		strings.TrimSpace(dd.Find(`[data-testid="date-other"]`).Text()),
		dd.Find(`[data-testid="day-differs"]`).Length() == 1
}

func TestTimesPreference(t *testing.T) {
	srv := webtest.NewServer(t, webtest.Options{Sandbox: sandbox.Options{Policies: 50}})
	start := fixtureStart(t, srv)
	riga, _ := time.LoadLocation("Europe/Riga")
	newYork, _ := time.LoadLocation("America/New_York")
	// The fixture starts at midnight in Riga: 17:00 the day before in New
	// York, whatever the season (both zones shift by an hour together). The
	// CLDR data of go-playground/locales writes English day periods "am"/"pm".
	if h := start.In(riga).Hour(); h != 0 {
		t.Fatalf("fixture start is %v in Riga, want midnight", start.In(riga))
	}
	rigaDay := start.In(riga).Format("Jan 2, 2006")
	nyDay := start.In(newYork).Format("Jan 2, 2006")
	detail := "/policies/" + sandbox.FixturePolicyID

	b := srv.NewBrowser(t)
	b.SignIn(sandbox.KeyASecretTest)

	// Default: the policy's zone, and the browser is asked for its own.
	r := b.Get(detail)
	shown, other, flagged := coverStart(t, r)
	if shown != rigaDay+", 12:00 am" || other != "" || flagged {
		t.Errorf("default: shown %q other %q flagged %v, want %q in Riga alone", shown, other, flagged, rigaDay+", 12:00 am")
	}
	if z := r.Doc.Find(`[data-testid="zone"]`).Text(); !strings.Contains(z, "policy's time zone: Europe/Riga (UTC+0") {
		t.Errorf("default zone line = %q", z)
	}
	if r.Doc.Find(`time[data-local-time]`).Length() == 0 {
		t.Error("without the viewer's zone the page does not ask the browser for its local time")
	}
	if sel := r.Doc.Find(`#times-select option[selected]`).AttrOr("value", ""); sel != "policy" {
		t.Errorf("times switch shows %q selected, want policy", sel)
	}

	// The viewer's zone, as the browser reports it.
	resp := b.Post("/preferences/times", url.Values{"times": {"viewer"}, "zone": {"America/New_York"}, "return": {detail}})
	if resp.Status != http.StatusSeeOther || resp.Header.Get("Location") != detail {
		t.Fatalf("POST /preferences/times = %d to %q, want 303 back to the policy", resp.Status, resp.Header.Get("Location"))
	}
	r = b.Get(detail)
	shown, other, flagged = coverStart(t, r)
	if shown != nyDay+", 5:00 pm" || other != "Europe/Riga: "+rigaDay+", 12:00 am" || !flagged {
		t.Errorf("viewer times: shown %q other %q flagged %v, want %q beside Riga's and flagged", shown, other, flagged, nyDay+", 5:00 pm")
	}
	if z := r.Doc.Find(`[data-testid="zone"]`).Text(); !strings.Contains(z, "your time zone: America/New_York (UTC-0") || !strings.Contains(z, "Europe/Riga") {
		t.Errorf("viewer zone line = %q", z)
	}
	if r.Doc.Find(`time[data-local-time]`).Length() != 0 {
		t.Error("the browser is asked for its local time although the server shows it")
	}
	if sel := r.Doc.Find(`#times-select option[selected]`).AttrOr("value", ""); sel != "viewer" {
		t.Errorf("times switch shows %q selected, want viewer", sel)
	}
	if z := r.Doc.Find(`input[name="zone"][data-viewer-zone]`).AttrOr("value", ""); z != "America/New_York" {
		t.Errorf("times switch carries zone %q, want America/New_York", z)
	}

	// The list follows: its date cells are in New York time.
	list := b.Get("/policies?sort=-created_at&size=100")
	var cell *goquery.Selection
	list.Doc.Find(`[data-testid="policy-row"]`).EachWithBreak(func(_ int, s *goquery.Selection) bool {
		if strings.TrimSpace(s.Find("td").First().Text()) == sandbox.FixtureInsurerPolicyID {
			cell = s.Find("td").Eq(5)
			return false
		}
		return true
	})
	if cell == nil {
		t.Fatal("the fixture policy is not on the list")
	}
	if note := list.Doc.Find(`[data-testid="dates-zone"]`).Text(); !strings.Contains(note, "your time zone (America/New_York)") {
		t.Errorf("list zone note = %q, want the viewer's zone named", note)
	}
	if got, zone := strings.TrimSpace(cell.Text()), cell.AttrOr("title", ""); got != nyDay || zone != "America/New_York" {
		t.Errorf("list cover start = %q (%s), want %q (America/New_York)", got, zone, nyDay)
	}

	// Back to the policy's zone: the viewer's time is shown beside it and
	// the differing day flagged, without any script.
	b.Post("/preferences/times", url.Values{"times": {"policy"}, "return": {detail}})
	shown, other, flagged = coverStart(t, b.Get(detail))
	if shown != rigaDay+", 12:00 am" || other != "America/New_York: "+nyDay+", 5:00 pm" || !flagged {
		t.Errorf("policy times with a known viewer zone: shown %q other %q flagged %v", shown, other, flagged)
	}
}

func TestTimesPreferenceRejectsBadInput(t *testing.T) {
	srv := webtest.NewServer(t, webtest.Options{Sandbox: sandbox.Options{Policies: 20}})
	b := srv.NewBrowser(t)
	b.SignIn(sandbox.KeyASecretTest)
	tests := []struct {
		name       string
		form       url.Values
		wantStatus int
		wantAlert  string
	}{
		{"unknown choice", url.Values{"times": {"mars"}}, http.StatusBadRequest, "request"},
		{"no choice", url.Values{"zone": {"Europe/Paris"}}, http.StatusBadRequest, "request"},
		{"unknown zone", url.Values{"times": {"viewer"}, "zone": {"Mars/Olympus_Mons"}}, http.StatusBadRequest, "time zone is unknown"},
		{"server's zone", url.Values{"times": {"viewer"}, "zone": {"Local"}}, http.StatusBadRequest, "time zone is unknown"},
		{"path in zone", url.Values{"times": {"viewer"}, "zone": {"../../etc/passwd"}}, http.StatusBadRequest, "time zone is unknown"},
		{"overlong zone", url.Values{"times": {"viewer"}, "zone": {strings.Repeat("A", 200)}}, http.StatusBadRequest, "time zone is unknown"},
		{"no zone: UTC", url.Values{"times": {"viewer"}, "return": {"/policies"}}, http.StatusSeeOther, ""},
		{"foreign return", url.Values{"times": {"policy"}, "return": {"https://evil.example/"}}, http.StatusSeeOther, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := b.Post("/preferences/times", tt.form)
			if r.Status != tt.wantStatus {
				t.Fatalf("status = %d, want %d", r.Status, tt.wantStatus)
			}
			if tt.wantStatus == http.StatusSeeOther {
				if loc := r.Header.Get("Location"); !strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") {
					t.Errorf("redirect to %q, want a local path", loc)
				}
				return
			}
			if alert := r.Doc.Find(`[data-testid="error-message"], [data-testid="alert"]`).Text(); !strings.Contains(alert, tt.wantAlert) {
				t.Errorf("message = %q, want it to contain %q", alert, tt.wantAlert)
			}
		})
	}
	// With no zone ever reported, "my time zone" is UTC, and says so.
	b.Post("/preferences/times", url.Values{"times": {"viewer"}})
	r := b.Get("/policies/" + sandbox.FixturePolicyID)
	if z := r.Doc.Find(`[data-testid="zone"]`).Text(); !strings.Contains(z, "your time zone: UTC (UTC+00:00)") {
		t.Errorf("zone line without a reported zone = %q, want UTC", z)
	}
}
