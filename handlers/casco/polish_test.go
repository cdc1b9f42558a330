package casco_test

import (
	"context"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"backoffice/internal/format"
	"backoffice/internal/quotes"
	"backoffice/internal/sandbox"
	"backoffice/web/webtest"
)

// stepDone reports whether the step navigation marks step done.
func stepDone(doc *goquery.Document, step string) bool {
	return doc.Find(`[data-testid="nav-step-`+step+`"].done`).Length() == 1
}

// TestCascoIdentifyDoesNotCompleteTheStep: Identify fills the vehicle
// in and keeps it, but step 1 is done only once saved; a refused
// Identify (basics missing) is not done either.
func TestCascoIdentifyDoesNotCompleteTheStep(t *testing.T) {
	t.Parallel()
	srv := newCascoServer(t, sandbox.Options{})
	b := demoPartner(t, srv)
	id := newDraft(t, b)

	tests := []struct {
		name       string
		form       func(version string) map[string][]string
		wantStatus int
	}{
		{"identified", func(v string) map[string][]string {
			f := vehicleForm(v)
			f.Set("step", "identify")
			return f
		}, http.StatusOK},
		{"basics missing", func(v string) map[string][]string {
			f := vehicleForm(v)
			f.Set("step", "identify")
			f.Del("model")
			return f
		}, http.StatusUnprocessableEntity},
	}
	for _, tc := range tests {
		p := b.Page(t, stepPath(id, "vehicle"), http.StatusOK)
		r := b.Post(stepPath(id, "vehicle"), tc.form(version(t, p.Doc)))
		if r.Status != tc.wantStatus {
			t.Fatalf("%s: identify = %d, want %d\n%.500s", tc.name, r.Status, tc.wantStatus, r.Body)
		}
		if stepDone(r.Doc, "vehicle") {
			t.Errorf("%s: step 1 is marked done after Identify", tc.name)
		}
		if r.Doc.Find(`[data-testid="nav-step-owner"] a`).Length() != 0 {
			t.Errorf("%s: step 2 opens after Identify", tc.name)
		}
		again := b.Page(t, stepPath(id, "vehicle"), http.StatusOK)
		if stepDone(again.Doc, "vehicle") {
			t.Errorf("%s: step 1 is marked done on reload after Identify", tc.name)
		}
		if got := b.Get(stepPath(id, "owner")); got.Status != http.StatusSeeOther || got.Header.Get("Location") != stepPath(id, "vehicle") {
			t.Errorf("%s: step 2 after Identify = %d to %q, want 303 to step 1", tc.name, got.Status, got.Header.Get("Location"))
		}
	}
	// Identified, then saved: done.
	p := b.Page(t, stepPath(id, "vehicle"), http.StatusOK)
	f := vehicleForm(version(t, p.Doc))
	f.Set("step", "identify")
	if r := b.Post(stepPath(id, "vehicle"), f); r.Status != http.StatusOK {
		t.Fatalf("identify = %d", r.Status)
	}
	if got := webtest.Text(b.Page(t, stepPath(id, "vehicle"), http.StatusOK).Doc.Find(`[data-testid="vehicle-code"]`)); got == "" {
		t.Error("the identification was not kept")
	}
	saveStep(t, b, id, "vehicle", vehicleForm, "owner")
	owner := b.Page(t, stepPath(id, "owner"), http.StatusOK)
	if !stepDone(owner.Doc, "vehicle") {
		t.Error("step 1 is not done after Save")
	}
	// Identifying a saved vehicle again with another model: not done
	// until saved again.
	p = b.Page(t, stepPath(id, "vehicle"), http.StatusOK)
	f = vehicleForm(version(t, p.Doc))
	f.Set("step", "identify")
	f.Set("year", "2019")
	r := b.Post(stepPath(id, "vehicle"), f)
	if r.Status != http.StatusOK || stepDone(r.Doc, "vehicle") {
		t.Errorf("re-identify with a change = %d, done %v; want 200, not done", r.Status, stepDone(r.Doc, "vehicle"))
	}
}

// TestCascoNewQuoteReusesTheEmptyDraft: "New quote" reopens the
// account's quote with no vehicle yet, however the clicks come: one
// after another, two 200 ms apart on two instances over a SQLite store,
// or many at once. The history lists one "New quote (no vehicle yet)".
func TestCascoNewQuoteReusesTheEmptyDraft(t *testing.T) {
	t.Parallel()
	store, err := quotes.Open(context.Background(), quotes.Config{Path: filepath.Join(t.TempDir(), "quotes.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	a := webtest.NewServer(t, webtest.Options{Sandbox: sandbox.Options{Policies: 20}, Quotes: store})
	onA := demoPartner(t, a)
	onB := onA.On(a.SecondInstance(t))

	first := newDraft(t, onA)
	if again := newDraft(t, onB); again != first {
		t.Errorf("second click (other instance) opened %s, want %s", again, first)
	}
	// Two clicks about 200 ms apart, then a burst, on both instances.
	ids := make([]string, 8)
	var wg sync.WaitGroup
	for i := range ids {
		br := onA
		if i%2 == 1 {
			br = onB
		}
		wg.Go(func() {
			if i == 1 {
				time.Sleep(200 * time.Millisecond)
			}
			r := br.Post("/casco/drafts", nil)
			ids[i] = r.Header.Get("Location")
		})
	}
	wg.Wait()
	for i, loc := range ids {
		if loc != stepPath(first, "vehicle") {
			t.Errorf("click %d went to %q, want %q", i, loc, stepPath(first, "vehicle"))
		}
	}
	// A draft with a vehicle is no longer reopened; the next click makes
	// one, and only one, new quote.
	saveStep(t, onA, first, "vehicle", vehicleForm, "owner")
	second := newDraft(t, onB)
	if second == first {
		t.Fatal("a quote with a vehicle was reopened as a new one")
	}
	if again := newDraft(t, onA); again != second {
		t.Errorf("the click after = %s, want %s", again, second)
	}
	rows := onA.Page(t, "/casco", http.StatusOK).Doc.Find(`[data-testid="history-row"]`)
	untitled := 0
	rows.Each(func(_ int, s *goquery.Selection) {
		if webtest.Text(s.Find(`[data-testid="history-open"]`)) == "New quote (no vehicle yet)" {
			untitled++
		}
	})
	if rows.Length() != 2 || untitled != 1 {
		t.Errorf("history: %d rows, %d untitled; want 2 rows, 1 untitled", rows.Length(), untitled)
	}
	// An htmx click is a full navigation to the same draft.
	r := onA.Post("/casco/drafts", nil, "HX-Request", "true")
	if r.Status != http.StatusNoContent || r.Header.Get("HX-Redirect") != stepPath(second, "vehicle") {
		t.Errorf("htmx new quote = %d to %q", r.Status, r.Header.Get("HX-Redirect"))
	}
}

// TestCascoHistoryTitlesDiffer: two quotes of one car and holder read
// differently in the history: vehicle, plate, holder, the day, and the
// insurers asked; alike in all of these, the time of day tells them
// apart. A quote with no vehicle yet has no details.
func TestCascoHistoryTitlesDiffer(t *testing.T) {
	t.Parallel()
	srv := newCascoServer(t, sandbox.Options{})
	b := demoPartner(t, srv)
	four := quoteUpTo(t, b)
	askOffers(t, b, four)
	two := newDraft(t, b)
	saveStep(t, b, two, "vehicle", vehicleForm, "owner")
	saveStep(t, b, two, "owner", ownerForm, "cover")
	saveStep(t, b, two, "cover", func(v string) url.Values {
		f := coverForm(v)
		f["providers"] = []string{"generali", "allianz"}
		return f
	}, "offers")
	askOffers(t, b, two)
	fresh := newDraft(t, b)

	f := format.New("en")
	today := f.Date(time.Now().In(mustZone(t, "Europe/Bucharest")))
	titles := map[string]string{}
	b.Page(t, "/casco", http.StatusOK).Doc.Find(`[data-testid="history-row"]`).Each(func(_ int, s *goquery.Selection) {
		titles[s.AttrOr("data-draft", "")] = webtest.Text(s.Find(`[data-testid="history-open"]`))
	})
	want := map[string]string{
		four:  "Toyota Corolla · CJ12ABC · Ștefan Țurcanu · " + today + " · 4 insurers",
		two:   "Toyota Corolla · CJ12ABC · Ștefan Țurcanu · " + today + " · 2 insurers",
		fresh: "New quote (no vehicle yet)",
	}
	for id, w := range want {
		if titles[id] != webtest.Squash(w) {
			t.Errorf("title of %s = %q, want %q", id, titles[id], webtest.Squash(w))
		}
	}
	if titles[four] == titles[two] {
		t.Error("two quotes of one car and holder have one title")
	}

	// Alike in vehicle, holder, day and insurers: the time is added.
	same := newDraft(t, b)
	saveStep(t, b, same, "vehicle", vehicleForm, "owner")
	saveStep(t, b, same, "owner", ownerForm, "cover")
	saveStep(t, b, same, "cover", coverForm, "offers")
	askOffers(t, b, same)
	doc := b.Page(t, "/casco", http.StatusOK).Doc
	for _, id := range []string{four, same} {
		got := webtest.Text(doc.Find(`[data-draft="` + id + `"] [data-testid="history-details"]`))
		if !timeOfDay.MatchString(got) || !strings.Contains(got, "4 insurers") {
			t.Errorf("details of %s = %q, want the date with the time and 4 insurers", id, got)
		}
	}
	if got := webtest.Text(doc.Find(`[data-draft="` + two + `"] [data-testid="history-details"]`)); timeOfDay.MatchString(got) {
		t.Errorf("details of a quote unlike the others = %q, want no time", got)
	}
	// In Romanian, the insurers are counted in Romanian.
	b.Header.Set("Accept-Language", "ro")
	ro := webtest.Text(b.Page(t, "/casco", http.StatusOK).Doc.Find(`[data-draft="` + two + `"] [data-testid="history-details"]`))
	if !strings.HasSuffix(ro, "2 asigurători") {
		t.Errorf("Romanian details = %q, want … 2 asigurători", ro)
	}
}

var timeOfDay = regexp.MustCompile(`\d{1,2}:\d{2}`)

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// TestCascoRefusedFormsSummary: a refused vehicle, owner or cover form
// (and Identify without the basics) comes back with the error summary
// focused (autofocus on a focusable region), each entry linking to its
// field's control, and each control in error marked aria-invalid and
// described by its message.
func TestCascoRefusedFormsSummary(t *testing.T) {
	t.Parallel()
	srv := newCascoServer(t, sandbox.Options{})
	b := demoPartner(t, srv)
	id := newDraft(t, b)
	saveStep(t, b, id, "vehicle", vehicleForm, "owner")
	saveStep(t, b, id, "owner", ownerForm, "cover")

	// Each refusal undoes its step: the later steps come first.
	tests := []struct {
		name       string
		step       string
		form       func(version string) url.Values
		hx         bool
		wantStatus int
		wantFields []string
		wantAlert  bool
	}{
		{"cover", "cover", func(v string) url.Values {
			f := coverForm(v)
			f.Del("providers")
			f.Set("term", "13")
			return f
		}, false, http.StatusUnprocessableEntity, []string{"term", "providers"}, false},
		{"owner", "owner", func(v string) url.Values {
			f := ownerForm(v)
			f.Set("email", "not-an-address")
			f.Set("cnp", "1")
			return f
		}, false, http.StatusUnprocessableEntity, []string{"cnp", "email"}, false},
		{"owner, htmx", "owner", func(v string) url.Values {
			f := ownerForm(v)
			f.Set("phone", "x")
			return f
		}, true, http.StatusUnprocessableEntity, []string{"phone"}, false},
		{"vehicle", "vehicle", func(v string) url.Values {
			f := vehicleForm(v)
			f.Set("vin", "123")
			f.Set("year", "1800")
			return f
		}, false, http.StatusUnprocessableEntity, []string{"vin", "year"}, false},
		{"identify without basics", "vehicle", func(v string) url.Values {
			f := vehicleForm(v)
			f.Set("step", "identify")
			f.Del("model")
			return f
		}, false, http.StatusUnprocessableEntity, []string{"model"}, true},
	}
	for _, tc := range tests {
		p := b.Page(t, stepPath(id, tc.step), http.StatusOK)
		var r webtest.Response
		if tc.hx {
			r = b.Post(stepPath(id, tc.step), tc.form(version(t, p.Doc)), "HX-Request", "true")
		} else {
			r = b.Post(stepPath(id, tc.step), tc.form(version(t, p.Doc)))
		}
		if r.Status != tc.wantStatus {
			t.Errorf("%s: = %d, want %d", tc.name, r.Status, tc.wantStatus)
			continue
		}
		sum := r.Doc.Find(`[data-testid="error-summary"]`)
		if sum.Length() != 1 {
			t.Errorf("%s: %d error summaries, want 1", tc.name, sum.Length())
			continue
		}
		if _, ok := sum.Attr("autofocus"); !ok || sum.AttrOr("tabindex", "") != "-1" || sum.AttrOr("role", "") != "alert" {
			t.Errorf("%s: the summary is not focused on arrival (autofocus, tabindex -1, role alert)", tc.name)
		}
		if got := r.Doc.Find(`[autofocus]`).Length(); got != 1 {
			t.Errorf("%s: %d autofocus elements, want the summary alone", tc.name, got)
		}
		if hasAlert := r.Doc.Find(`[data-testid="alert"]`).Length() > 0; hasAlert != tc.wantAlert {
			t.Errorf("%s: alert shown %v, want %v", tc.name, hasAlert, tc.wantAlert)
		}
		links := sum.Find(`a[href^="#f-"]`)
		if links.Length() != r.Doc.Find(`[aria-invalid="true"]`).FilterFunction(func(_ int, s *goquery.Selection) bool {
			_, first := s.Attr("id")
			return first
		}).Length() {
			t.Errorf("%s: %d summary links for %d fields in error", tc.name, links.Length(), r.Doc.Find(`[aria-invalid="true"][id]`).Length())
		}
		for _, f := range tc.wantFields {
			if sum.Find(`a[href="#f-`+f+`"]`).Length() != 1 {
				t.Errorf("%s: the summary does not link to %s", tc.name, f)
			}
		}
		links.Each(func(_ int, a *goquery.Selection) {
			target := r.Doc.Find(a.AttrOr("href", ""))
			name := strings.TrimPrefix(a.AttrOr("href", ""), "#f-")
			if target.Length() != 1 {
				t.Errorf("%s: summary link %q has no target", tc.name, a.AttrOr("href", ""))
				return
			}
			if target.AttrOr("aria-invalid", "") != "true" {
				t.Errorf("%s: %s is not aria-invalid", tc.name, name)
			}
			if !strings.Contains(target.AttrOr("aria-describedby", ""), "e-"+name) || r.Doc.Find(`#e-`+name).Length() != 1 {
				t.Errorf("%s: %s is not described by its message", tc.name, name)
			}
			if msg := webtest.Text(r.Doc.Find(`#e-` + name)); msg == "" || !strings.Contains(webtest.Text(a), msg) {
				t.Errorf("%s: summary entry %q does not carry the message %q", tc.name, webtest.Text(a), msg)
			}
		})
	}
}
