package casco_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"backoffice/internal/audit"
	"backoffice/internal/quotes"
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

// allianzFailed is a quote whose cover asked the insurers while Allianz
// refused (the fault stays set), with every answer in.
func allianzFailed(t *testing.T) (*webtest.Server, *webtest.Browser, string, webtest.Response) {
	t.Helper()
	srv := webtest.NewServer(t, webtest.Options{UpstreamTimeout: 5 * time.Second, Sandbox: sandbox.Options{Policies: 20,
		Faults: sandbox.Faults{CascoUnavailable: []string{"allianz"}}}})
	b := demoPartner(t, srv)
	id := newDraft(t, b)
	saveStep(t, b, id, "vehicle", vehicleForm, "owner")
	saveStep(t, b, id, "owner", ownerForm, "cover")
	saveStep(t, b, id, "cover", coverForm, "offers")
	failed := waitAnswers(t, b, id)
	if got := columnStates(failed)["allianz"]; got != "error" {
		t.Fatalf("allianz = %q, want error", got)
	}
	return srv, b, id, failed
}

// TestRetryDoubleClickAsksOnce: "Try again" on a failed insurer clicked
// twice 200 ms apart while the insurers take 1.5 s; the browser drops
// the first request. The insurer is asked once, and its offer arrives.
func TestRetryDoubleClickAsksOnce(t *testing.T) {
	t.Parallel()
	srv, b, id, failed := allianzFailed(t)
	form := retryForm(t, failed, "allianz")
	before := srv.Upstream.Sandbox.Calls(sandbox.RouteCascoOffer)
	srv.Upstream.Sandbox.SetFaults(sandbox.Faults{Latency: slowInsurer})
	r := b.DoubleSubmit(stepPath(id, "offers")+"/allianz/retry", form, 200*time.Millisecond)
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != stepPath(id, "offers") {
		t.Fatalf("second click = %d to %q\n%.600s", r.Status, r.Header.Get("Location"), r.Body)
	}
	after := waitAnswers(t, b, id)
	if asked := srv.Upstream.Sandbox.Calls(sandbox.RouteCascoOffer) - before; asked != 1 {
		t.Errorf("allianz asked %d times for two clicks, want once", asked)
	}
	if got := columnStates(after)["allianz"]; got != "offer" {
		t.Errorf("allianz = %q after Try again, want its offer", got)
	}
	// The used form asks no one again.
	if r := b.Post(stepPath(id, "offers")+"/allianz/retry", form); r.Status != http.StatusSeeOther {
		t.Errorf("the used form sent again = %d, want its first answer (303)", r.Status)
	}
	if asked := srv.Upstream.Sandbox.Calls(sandbox.RouteCascoOffer) - before; asked != 1 {
		t.Errorf("allianz asked %d times after the used form was sent again, want once", asked)
	}
}

// TestRetryOfAGoneFailureAsksNoOne: a Try again form left open in a tab
// while the insurer was asked again from elsewhere, and answered, asks
// no one: sent, it would drop that offer.
func TestRetryOfAGoneFailureAsksNoOne(t *testing.T) {
	t.Parallel()
	srv, b, id, failed := allianzFailed(t)
	old := retryForm(t, failed, "allianz")
	srv.Upstream.Sandbox.SetFaults(sandbox.Faults{})
	if r := b.Post(stepPath(id, "offers"), offersForm(t, b, id)); r.Status != http.StatusSeeOther {
		t.Fatalf("ask again = %d", r.Status)
	}
	if got := columnStates(waitAnswers(t, b, id))["allianz"]; got != "offer" {
		t.Fatalf("allianz = %q after asking again, want its offer", got)
	}
	before := srv.Upstream.Sandbox.Calls(sandbox.RouteCascoOffer)
	r := b.Post(stepPath(id, "offers")+"/allianz/retry", old)
	if r.Status != http.StatusConflict || !strings.Contains(webtest.Text(r.Doc.Find("main")), "expired") {
		t.Errorf("the old Try again = %d: %.300s", r.Status, webtest.Text(r.Doc.Find("main")))
	}
	if n := srv.Upstream.Sandbox.Calls(sandbox.RouteCascoOffer); n != before {
		t.Errorf("the old Try again asked %d times", n-before)
	}
	if got := columnStates(b.Page(t, stepPath(id, "offers"), http.StatusOK))["allianz"]; got != "offer" {
		t.Errorf("allianz = %q after the old Try again, want its offer kept", got)
	}
}

// TestNewQuoteReusesTheUntouchedDraft: "New quote" clicked over and over
// opens one empty draft, not one per click; a quote started in earnest
// makes room for a new one; an account at the cap is told why.
func TestNewQuoteReusesTheUntouchedDraft(t *testing.T) {
	t.Parallel()
	srv := newCascoServer(t, sandbox.Options{})
	b := demoPartner(t, srv)
	first := newDraft(t, b)
	for range 20 {
		if again := newDraft(t, b); again != first {
			t.Fatalf("a click opened draft %s, want the untouched %s", again, first)
		}
	}
	page, err := srv.Quotes.ListDrafts(context.Background(), sandbox.CascoDemoAccount, quotes.Filter{Limit: 100})
	if err != nil || page.Total != 1 {
		t.Fatalf("drafts after 21 clicks = %d (%v), want 1", page.Total, err)
	}
	saveStep(t, b, first, "vehicle", vehicleForm, "owner")
	if next := newDraft(t, b); next == first {
		t.Error("a started quote was reopened as a new one")
	}
}

// TestDraftCap: an account holding the most drafts it may keep is told
// so, and none is made.
func TestDraftCap(t *testing.T) {
	t.Parallel()
	store := quotes.NewMemory()
	srv := webtest.NewServer(t, webtest.Options{Sandbox: sandbox.Options{Policies: 20}, Quotes: store})
	b := demoPartner(t, srv)
	ctx := context.Background()
	for range 5000 {
		d, err := store.CreateDraft(ctx, sandbox.CascoDemoAccount)
		if err != nil {
			t.Fatal(err)
		}
		d.Title = "started"
		if _, err := store.SaveDraft(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	r := b.Post("/casco/drafts", nil)
	if r.Status != http.StatusConflict || !strings.Contains(webtest.Text(r.Doc.Find("main")), "most quotes it can keep") {
		t.Fatalf("at the cap = %d: %.300s", r.Status, webtest.Text(r.Doc.Find("main")))
	}
	if page, _ := store.ListDrafts(ctx, sandbox.CascoDemoAccount, quotes.Filter{Limit: 1}); page.Total != 5000 {
		t.Errorf("drafts = %d, want still 5000", page.Total)
	}
}
