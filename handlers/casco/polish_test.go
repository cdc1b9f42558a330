package casco_test

import (
	"net/http"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"backoffice/internal/sandbox"
	"backoffice/web/webtest"
)

// stepDone reports whether the step navigation marks step done.
func stepDone(doc *goquery.Document, step string) bool {
	return doc.Find(`[data-testid="nav-step-` + step + `"].done`).Length() == 1
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
