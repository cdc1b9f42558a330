package casco_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"backoffice/internal/audit"
	"backoffice/internal/sandbox"
	"backoffice/web/webtest"
)

func TestCascoPaymentValidation(t *testing.T) {
	t.Parallel()
	srv := newCascoServer(t, sandbox.Options{})
	b := demoPartner(t, srv)
	id := quoteUpTo(t, b)
	offers := askOffers(t, b, id)
	choose := offers.Doc.Find(`td[data-provider="allianz"] [data-testid="choose-offer"]`).AttrOr("href", "")
	form := b.Page(t, choose, http.StatusOK)
	valid := func() url.Values {
		return url.Values{
			"token": {form.Doc.Find(`input[name="token"]`).AttrOr("value", "")}, "offer": {form.Doc.Find(`input[name="offer"]`).AttrOr("value", "")},
			"method": {"pos"}, "amount": {"4554.00"}, "date": {bucharestDay(0)}, "document_number": {"POS-1"},
		}
	}
	tests := []struct {
		name, field, value, message string
	}{
		{"no method", "method", "", "Choose one of the options."},
		{"unknown method", "method", "cash", "Choose one of the options."},
		{"no amount", "amount", "", "This field is required."},
		{"amount not the premium", "amount", "4553.99", "The amount must be the offer's premium (or its first installment)."},
		{"amount not a number", "amount", "4554 lei", "Enter an amount like 12500 or 12500.50 (at most two decimals)."},
		{"payment in the future", "date", bucharestDay(1), "This date cannot be in the future."},
		{"payment not a date", "date", "yesterday", "Enter a real date (YYYY-MM-DD)."},
		{"no document number", "document_number", "", "This field is required."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := valid()
			in.Set(tt.field, tt.value)
			r := b.Post(stepPath(id, "policy"), in)
			if r.Status != http.StatusUnprocessableEntity {
				t.Fatalf("status = %d, want 422", r.Status)
			}
			if got := webtest.Text(r.Doc.Find(`[data-testid="error-` + tt.field + `"]`)); got != tt.message {
				t.Errorf("error = %q, want %q", got, tt.message)
			}
			if got := r.Doc.Find(`#f-`+tt.field).AttrOr("aria-invalid", ""); got != "true" {
				t.Errorf("aria-invalid = %q", got)
			}
			if tt.field != "method" {
				if got := r.Doc.Find(`#f-`+tt.field).AttrOr("value", ""); got != tt.value {
					t.Errorf("%s came back as %q, want %q", tt.field, got, tt.value)
				}
			}
		})
	}
	if n := srv.Upstream.Sandbox.Calls(sandbox.RouteCascoPolicy); n != 0 {
		t.Errorf("invalid payments reached the upstream %d times", n)
	}
	// The same form, corrected, converts.
	if r := b.Post(stepPath(id, "policy"), valid()); r.Status != http.StatusSeeOther {
		t.Fatalf("corrected payment = %d\n%.600s", r.Status, r.Body)
	}
}

func TestCascoConvertsOnce(t *testing.T) {
	t.Parallel()
	srv := newCascoServer(t, sandbox.Options{Faults: sandbox.Faults{Latency: 50 * time.Millisecond}})
	b := demoPartner(t, srv)
	id := quoteUpTo(t, b)
	offers := askOffers(t, b, id)
	choose := offers.Doc.Find(`td[data-provider="generali"] [data-testid="choose-offer"]`).AttrOr("href", "")
	// Two tabs of one session: the same open form, so one answer.
	tab1, tab2 := b.Page(t, choose, http.StatusOK), b.Page(t, choose, http.StatusOK)
	pay := func(doc *goquery.Document) url.Values {
		return url.Values{
			"token": {doc.Find(`input[name="token"]`).AttrOr("value", "")}, "offer": {doc.Find(`input[name="offer"]`).AttrOr("value", "")},
			"method": {"receipt"}, "amount": {"4781.70"}, "date": {bucharestDay(0)}, "document_number": {"R-7"},
		}
	}
	if tok := pay(tab1.Doc).Get("token"); tok == "" || tok != pay(tab2.Doc).Get("token") {
		t.Fatalf("tabs of one session have tokens %q and %q, want one open form", tok, pay(tab2.Doc).Get("token"))
	}
	// A double click in each tab, all at once.
	forms := []url.Values{pay(tab1.Doc), pay(tab1.Doc), pay(tab1.Doc), pay(tab2.Doc), pay(tab2.Doc)}
	results := make([]webtest.Response, len(forms))
	var wg sync.WaitGroup
	for i, f := range forms {
		wg.Go(func() { results[i] = b.Post(stepPath(id, "policy"), f) })
	}
	wg.Wait()
	for i, r := range results {
		if r.Status != http.StatusSeeOther || r.Header.Get("Location") != stepPath(id, "policy") {
			t.Errorf("submission %d = %d to %q", i, r.Status, r.Header.Get("Location"))
		}
	}
	if n := srv.Upstream.Sandbox.Calls(sandbox.RouteCascoPolicy); n != 1 {
		t.Errorf("upstream conversions = %d, want 1", n)
	}
	policies, err := srv.Quotes.Policies(context.Background(), sandbox.CascoDemoAccount, id)
	if err != nil || len(policies) != 1 {
		t.Fatalf("policies recorded = %d (%v), want 1", len(policies), err)
	}
	var converts int
	for _, e := range srv.AuditEntries(t) {
		if e.Action == audit.ActionConvert {
			converts++
		}
	}
	if converts != 1 {
		t.Errorf("audit conversions = %d, want 1", converts)
	}
	// A resubmission later (Back, then send again) shows the same policy.
	again := b.Post(stepPath(id, "policy"), pay(tab2.Doc))
	if again.Status != http.StatusSeeOther || again.Header.Get("Location") != stepPath(id, "policy") {
		t.Errorf("resubmission = %d to %q", again.Status, again.Header.Get("Location"))
	}
	pol := b.Page(t, stepPath(id, "policy"), http.StatusOK)
	if got := webtest.Text(pol.Doc.Find(`[data-testid="policy-number"]`)); got != policies[0].Number {
		t.Errorf("policy shown = %q, want %q", got, policies[0].Number)
	}
	if n := srv.Upstream.Sandbox.Calls(sandbox.RouteCascoPolicy); n != 1 {
		t.Errorf("upstream conversions after the resubmission = %d, want 1", n)
	}
}

// TestCascoPaymentUpstreamFields: a VALIDATION_ERROR from the policy
// issue lands on the payment field it names, or above the form for a
// field the form lacks; the form stays, with a token that works.
func TestCascoPaymentUpstreamFields(t *testing.T) {
	t.Parallel()
	tests := []struct {
		field, formField, message string
	}{
		{"payment.documentNumber", "document_number", "The CASCO service says: The payment.documentNumber field is required."},
		{"payment.bankAccount", "", "The CASCO service says: The payment.bankAccount field is required."},
	}
	for _, tt := range tests {
		t.Run(tt.field, func(t *testing.T) {
			t.Parallel()
			srv := newCascoServer(t, sandbox.Options{})
			b := demoPartner(t, srv)
			id := quoteUpTo(t, b)
			offers := askOffers(t, b, id)
			form := b.Page(t, offers.Doc.Find(`td[data-provider="allianz"] [data-testid="choose-offer"]`).AttrOr("href", ""), http.StatusOK)
			in := url.Values{
				"token": {form.Doc.Find(`input[name="token"]`).AttrOr("value", "")}, "offer": {form.Doc.Find(`input[name="offer"]`).AttrOr("value", "")},
				"method": {"pos"}, "amount": {"4554.00"}, "date": {bucharestDay(0)}, "document_number": {"POS-1"},
			}
			srv.Upstream.Sandbox.SetFaults(sandbox.Faults{CascoValidationField: tt.field})
			r := b.Post(stepPath(id, "policy"), in)
			if r.Status != http.StatusUnprocessableEntity {
				t.Fatalf("status = %d, want 422\n%.600s", r.Status, r.Body)
			}
			if tt.formField != "" {
				if got := webtest.Text(r.Doc.Find(`[data-testid="error-` + tt.formField + `"]`)); got != tt.message {
					t.Errorf("error on %s = %q, want %q", tt.formField, got, tt.message)
				}
			} else if got := webtest.Text(r.Doc.Find(`[data-testid="alert"]`)); !strings.Contains(got, tt.message) {
				t.Errorf("alert = %q, want it to say %q", got, tt.message)
			}
			if got := r.Doc.Find(`#f-document_number`).AttrOr("value", ""); got != "POS-1" {
				t.Errorf("typed document number came back as %q", got)
			}
			// Once the upstream accepts, the new token converts.
			srv.Upstream.Sandbox.SetFaults(sandbox.Faults{})
			in.Set("token", r.Doc.Find(`input[name="token"]`).AttrOr("value", ""))
			if again := b.Post(stepPath(id, "policy"), in); again.Status != http.StatusSeeOther {
				t.Errorf("converting again = %d, want 303", again.Status)
			}
		})
	}
}
