package casco_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"backoffice/internal/audit"
	"backoffice/internal/sandbox"
	"backoffice/web/webtest"
)

// TestPartnerAuditIsTheAccounts: a partner's conversion is recorded in
// its account's tenant and listed on /casco/audit to that account only;
// the other partner and the KASKO distributors see none of it, and a
// partner cannot read the KASKO tenants' /audit.
func TestPartnerAuditIsTheAccounts(t *testing.T) {
	t.Parallel()
	srv := newCascoServer(t, sandbox.Options{})
	demo := demoPartner(t, srv)
	id := quoteUpTo(t, demo)
	offers := askOffers(t, demo, id)
	choose := offers.Doc.Find(`td[data-provider="generali"] [data-testid="choose-offer"]`).AttrOr("href", "")
	form := demo.Page(t, choose, http.StatusOK).Doc
	pay := url.Values{
		"token": {form.Find(`input[name="token"]`).AttrOr("value", "")}, "offer": {form.Find(`input[name="offer"]`).AttrOr("value", "")},
		"method": {"receipt"}, "amount": {"4781.70"}, "date": {bucharestDay(0)}, "document_number": {"R-7"},
	}
	if r := demo.Post(stepPath(id, "policy"), pay); r.Status != http.StatusSeeOther {
		t.Fatalf("conversion = %d, want 303\n%.500s", r.Status, r.Body)
	}
	var converted audit.Entry
	for _, e := range srv.AuditEntries(t) {
		if e.Action == audit.ActionConvert {
			converted = e
		}
	}
	if converted.Tenant != audit.PartnerTenant(sandbox.CascoDemoAccount) || converted.Holder == "" {
		t.Fatalf("conversion entry = %+v, want the demo account's tenant and the holder", converted)
	}
	// Another partner's conversion, a KASKO distributor's cancellation
	// and an entry an older build left without a tenant.
	for _, e := range []audit.Entry{
		{Action: audit.ActionConvert, Actor: sandbox.CascoPartnerAccount, Reference: "900001", Holder: "Other Holder",
			Outcome: audit.OutcomeCompleted, Message: "ALZ 1", Tenant: audit.PartnerTenant(sandbox.CascoPartnerAccount)},
		{Action: audit.ActionCancel, Actor: "sk_test_…PSIA", PolicyID: sandbox.FixturePolicyID, Outcome: audit.OutcomeAccepted,
			Tenant: audit.KaskoTenant(sandbox.DistributorAID, "test")},
		{Action: audit.ActionConvert, Actor: "ghost", Reference: "900002", Holder: "Unattributed Holder", Outcome: audit.OutcomeCompleted},
	} {
		if _, err := srv.Audit.Append(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}

	page := demo.Page(t, "/casco/audit", http.StatusOK)
	rows := page.Doc.Find(`[data-testid="audit-row"]`)
	if rows.Length() != 1 || rows.AttrOr("data-id", "") != strconv.FormatInt(converted.ID, 10) {
		t.Fatalf("demo's /casco/audit lists %d rows (%q), want its conversion alone", rows.Length(), webtest.Text(rows))
	}
	if got := webtest.Text(rows.Find(`[data-testid="audit-holder"]`)); got != converted.Holder {
		t.Errorf("holder = %q, want %q", got, converted.Holder)
	}
	if got := webtest.Text(rows.Find(`[data-testid="audit-policy"]`)); got != converted.Message {
		t.Errorf("policy = %q, want %q", got, converted.Message)
	}
	for _, s := range []string{"Other Holder", "Unattributed Holder", sandbox.FixturePolicyID} {
		if strings.Contains(page.Doc.Text(), s) {
			t.Errorf("demo's audit log shows %q", s)
		}
	}

	other := partner(t, srv, sandbox.CascoPartnerAccount, sandbox.CascoPartnerPassword)
	op := other.Page(t, "/casco/audit", http.StatusOK)
	if got := webtest.Text(op.Doc.Find(`[data-testid="audit-holder"]`)); got != "Other Holder" {
		t.Errorf("the other partner's log lists holders %q, want its own alone", got)
	}
	if strings.Contains(op.Doc.Text(), converted.Holder) {
		t.Error("the other partner sees demo's policyholder")
	}

	// /audit is the KASKO tenants': a partner without a key is sent to
	// its own log (issue 14), and sees no KASKO entry.
	r := demo.Get("/audit")
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/casco/audit" {
		t.Errorf("a partner's GET /audit = %d to %q, want 303 to /casco/audit", r.Status, r.Header.Get("Location"))
	}
	// A KASKO session sees no partner's conversion on /audit.
	k := srv.SignedIn(t, sandbox.KeyASecretTest).Page(t, "/audit", http.StatusOK)
	for _, s := range []string{converted.Holder, "Other Holder", "Unattributed Holder"} {
		if strings.Contains(k.Doc.Text(), s) {
			t.Errorf("a KASKO session's /audit shows %q", s)
		}
	}
	// And a KASKO session without a partner login cannot open the
	// partner page.
	if r := srv.SignedIn(t, sandbox.KeyASecretTest).Get("/casco/audit"); r.Status == http.StatusOK {
		t.Error("a KASKO session without a partner login read /casco/audit")
	}
}

// TestPartnerAuditRedirect: /audit sends a partner-only session to its
// own log, and nothing else changes: an anonymous visitor still goes to
// the KASKO sign-in, a session holding a KASKO key (with or without a
// partner login) reads the KASKO log, and htmx gets a full navigation.
// The partner navigation links the partner's log.
func TestPartnerAuditRedirect(t *testing.T) {
	t.Parallel()
	srv := newCascoServer(t, sandbox.Options{})
	demo := demoPartner(t, srv)

	home := demo.Page(t, "/casco", http.StatusOK)
	if got := home.Doc.Find(`[data-testid="nav-casco-audit"]`).AttrOr("href", ""); got != "/casco/audit" {
		t.Errorf("partner navigation links the log at %q, want /casco/audit", got)
	}
	if home.Doc.Find(`[data-testid="nav-audit"]`).Length() != 0 {
		t.Error("a partner-only session is offered the KASKO log")
	}
	tests := []struct {
		name         string
		b            *webtest.Browser
		hx           bool
		wantStatus   int
		wantLocation string
		wantHX       string
	}{
		{"partner only", demo, false, http.StatusSeeOther, "/casco/audit", ""},
		{"partner only, htmx", demo, true, http.StatusNoContent, "", "/casco/audit"},
		{"anonymous", srv.NewBrowser(t), false, http.StatusSeeOther, "/signin?next=%2Faudit", ""},
		{"KASKO only", srv.SignedIn(t, sandbox.KeyASecretTest), false, http.StatusOK, "", ""},
	}
	both := partner(t, srv, sandbox.CascoDemoAccount, sandbox.CascoDemoPassword)
	both.SignIn(sandbox.KeyASecretTest)
	tests = append(tests, struct {
		name         string
		b            *webtest.Browser
		hx           bool
		wantStatus   int
		wantLocation string
		wantHX       string
	}{"KASKO and partner", both, false, http.StatusOK, "", ""})
	for _, tc := range tests {
		var r webtest.Response
		if tc.hx {
			r = tc.b.Get("/audit", "HX-Request", "true")
		} else {
			r = tc.b.Get("/audit")
		}
		if r.Status != tc.wantStatus {
			t.Errorf("%s: GET /audit = %d, want %d", tc.name, r.Status, tc.wantStatus)
		}
		if got := r.Header.Get("Location"); got != tc.wantLocation {
			t.Errorf("%s: Location = %q, want %q", tc.name, got, tc.wantLocation)
		}
		if got := r.Header.Get("HX-Redirect"); got != tc.wantHX {
			t.Errorf("%s: HX-Redirect = %q, want %q", tc.name, got, tc.wantHX)
		}
		if tc.wantStatus == http.StatusOK && r.Doc.Find(`h1`).Length() == 0 {
			t.Errorf("%s: the KASKO log has no heading", tc.name)
		}
	}
	// The partner's own log opens.
	demo.Page(t, "/casco/audit", http.StatusOK)
}
