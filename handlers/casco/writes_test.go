package casco_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"backoffice/internal/audit"
	"backoffice/internal/sandbox"
	"backoffice/web/webtest"
)

// slowInsurer is how long the sandbox takes to answer in these tests: a
// person has time to click again, and the browser gives up on the first
// request.
const slowInsurer = 1500 * time.Millisecond

func newSlowCascoServer(t *testing.T) *webtest.Server {
	t.Helper()
	return webtest.NewServer(t, webtest.Options{Sandbox: sandbox.Options{Policies: 20}, UpstreamTimeout: 5 * time.Second})
}

// TestConvertDoubleClickOnASlowInsurer: "Issue the policy" clicked twice
// 200 ms apart while the insurer takes 1.5 s; the browser drops the
// first request. The insurer is asked once, the policy is recorded (in
// the history, with the audit entry) although its request is gone, and
// the second click lands on the issued policy with its series and number.
func TestConvertDoubleClickOnASlowInsurer(t *testing.T) {
	t.Parallel()
	srv := newSlowCascoServer(t)
	b := demoPartner(t, srv)
	id := quoteUpTo(t, b)
	offers := askOffers(t, b, id)
	choose := offers.Doc.Find(`td[data-provider="generali"] [data-testid="choose-offer"]`).AttrOr("href", "")
	form := b.Page(t, choose, http.StatusOK)
	pay := url.Values{
		"token": {form.Doc.Find(`input[name="token"]`).AttrOr("value", "")}, "offer": {form.Doc.Find(`input[name="offer"]`).AttrOr("value", "")},
		"method": {"receipt"}, "amount": {form.Doc.Find(`#f-amount`).AttrOr("value", "")}, "date": {bucharestDay(0)}, "document_number": {"R-9"},
	}
	srv.Upstream.Sandbox.SetFaults(sandbox.Faults{Latency: slowInsurer})
	r := b.DoubleSubmit(stepPath(id, "policy"), pay, 200*time.Millisecond)
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != stepPath(id, "policy") {
		t.Fatalf("second click = %d to %q, want the issued policy\n%.600s", r.Status, r.Header.Get("Location"), r.Body)
	}
	if n := srv.Upstream.Sandbox.Calls(sandbox.RouteCascoPolicy); n != 1 {
		t.Errorf("upstream conversions = %d, want 1", n)
	}
	var converts []audit.Entry
	for _, e := range srv.AuditEntries(t) {
		if e.Action == audit.ActionConvert {
			converts = append(converts, e)
		}
	}
	if len(converts) != 1 || converts[0].Outcome != audit.OutcomeCompleted {
		t.Fatalf("audit conversions = %+v, want one completed", converts)
	}
	srv.Upstream.Sandbox.SetFaults(sandbox.Faults{})
	pol := b.Page(t, stepPath(id, "policy"), http.StatusOK)
	number := webtest.Text(pol.Doc.Find(`[data-testid="policy-number"]`))
	if number == "" || !strings.Contains(converts[0].Message, number) {
		t.Errorf("policy page shows number %q, audit says %q", number, converts[0].Message)
	}
	hist := b.Page(t, "/casco", http.StatusOK)
	row := hist.Doc.Find(`[data-testid="history-row"][data-draft="` + id + `"]`)
	if row.Find(`[data-testid="history-policy-pdf"]`).Length() != 1 {
		t.Errorf("the history does not list the issued policy: %q", webtest.Text(row))
	}
}

// TestOffersDoubleClickAsksOnce: "Ask for offers" clicked twice against
// slow insurers asks each insurer once.
func TestOffersDoubleClickAsksOnce(t *testing.T) {
	t.Parallel()
	srv := newSlowCascoServer(t)
	b := demoPartner(t, srv)
	id := quoteUpTo(t, b)
	form := offersForm(t, b, id)
	before := srv.Upstream.Sandbox.Calls(sandbox.RouteCascoOffer)
	srv.Upstream.Sandbox.SetFaults(sandbox.Faults{Latency: slowInsurer})
	r := b.DoubleSubmit(stepPath(id, "offers"), form, 200*time.Millisecond)
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != stepPath(id, "offers") {
		t.Fatalf("second click = %d to %q\n%.600s", r.Status, r.Header.Get("Location"), r.Body)
	}
	srv.Upstream.Sandbox.SetFaults(sandbox.Faults{})
	asked := srv.Upstream.Sandbox.Calls(sandbox.RouteCascoOffer) - before
	page := b.Page(t, stepPath(id, "offers"), http.StatusOK)
	columns := page.Doc.Find(`thead th[data-provider]`).Length()
	if columns == 0 || asked != columns {
		t.Errorf("insurers asked %d times for %d columns, want once each", asked, columns)
	}
}
