package kasko_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"backoffice/internal/audit"
	"backoffice/internal/audit/pgtest"
	"backoffice/internal/format"
	"backoffice/internal/sandbox"
	"backoffice/web/webtest"
)

// auditAt is when the first seeded entry happened; each next one is a
// minute later.
var auditAt = time.Date(2026, 7, 1, 22, 5, 0, 0, time.UTC)

// auditSeed is a small log with every filter's cases; index i has ID i+1.
func auditSeed() []audit.Entry {
	return []audit.Entry{
		{PolicyID: "tpol_a", InsurerPolicyID: "INS-A", Actor: "sk_test_…aaaa", ActorName: "Ana", Mode: "test",
			Outcome: audit.OutcomeAccepted, UpstreamStatus: 202, UpstreamRequestID: "req_a1", Reason: "customer_request", TerminationDate: "2026-07-31"},
		{PolicyID: "tpol_b", InsurerPolicyID: "INS-B", Actor: "sk_test_…bbbb", Mode: "test",
			Outcome: audit.OutcomeRejected, UpstreamStatus: 409, UpstreamRequestID: "req_b1", Reason: "duplicate", Message: "A change is in progress"},
		{PolicyID: "tpol_a", InsurerPolicyID: "INS-A", Actor: "sk_test_…bbbb", ActorName: "Ben", Mode: "test",
			Outcome: audit.OutcomeCompleted, UpstreamStatus: 200, UpstreamRequestID: "req_a2"},
		{PolicyID: "tpol_c", Actor: "pk_test_…cccc", ActorName: "Ana", Mode: "test", Outcome: audit.OutcomeRefused},
		{PolicyID: "tpol_d", InsurerPolicyID: "INS-D", Actor: "sk_test_…aaaa", ActorName: "Ana", Mode: "test",
			Outcome: audit.OutcomeUnknown, Reason: `<script>alert("x")</script> & "quotes"`},
	}
}

// seedTenant is the tenant of distributor A's test keys, which the
// seeded entries belong to unless they say otherwise.
var seedTenant = audit.KaskoTenant(sandbox.DistributorAID, "test")

// newAuditLog returns an in-memory log holding entries, in order, each
// a minute after the one before, in seedTenant unless they name one.
func newAuditLog(t *testing.T, entries []audit.Entry) *audit.Memory {
	t.Helper()
	m := audit.NewMemory()
	for i, e := range entries {
		if e.Action == "" {
			e.Action = audit.ActionCancel
		}
		if e.At.IsZero() {
			e.At = auditAt.Add(time.Duration(i) * time.Minute)
		}
		if e.Tenant == "" {
			e.Tenant = seedTenant
		}
		if _, err := m.Append(context.Background(), e); err != nil {
			t.Fatalf("seeding the audit log: %v", err)
		}
	}
	return m
}

func auditRows(doc *goquery.Document) *goquery.Selection {
	return doc.Find(`[data-testid="audit-row"]`)
}

// auditIDs lists the entry ids of the rows, in order.
func auditIDs(doc *goquery.Document) []string {
	var out []string
	auditRows(doc).Each(func(_ int, s *goquery.Selection) { out = append(out, s.AttrOr("data-id", "?")) })
	return out
}

// checkAuditIDs fails unless the page lists exactly want, in order.
func checkAuditIDs(t *testing.T, doc *goquery.Document, want ...string) {
	t.Helper()
	if got := auditIDs(doc); !slices.Equal(got, want) {
		t.Errorf("rows = %v, want %v", got, want)
	}
}

func TestAuditList(t *testing.T) {
	srv := webtest.NewServer(t, webtest.Options{Audit: newAuditLog(t, auditSeed())})
	b := srv.SignedIn(t, sandbox.KeyASecretTest)
	fullPage := func(t *testing.T, doc *goquery.Document) {
		t.Helper()
		if got := webtest.Text(doc.Find("h1")); got != "Audit log" {
			t.Errorf("h1 = %q, want Audit log", got)
		}
		if doc.Find(`form[data-testid="audit-filters"]`).Length() != 1 {
			t.Error("the full page has no filter form")
		}
	}
	fragment := func(t *testing.T, doc *goquery.Document) {
		t.Helper()
		if n := doc.Find(`h1, form[data-testid="audit-filters"], header.site-header`).Length(); n != 0 {
			t.Errorf("the fragment carries %d page elements (h1, filters, header)", n)
		}
	}
	tests := []struct {
		name         string
		path         string
		hx           bool // an htmx request targeting #audit-table
		wantStatus   int
		wantLocation string
		wantHX       map[string]string // response headers; others HX-* absent
		check        func(t *testing.T, doc *goquery.Document)
	}{
		{"newest first", "/audit", false, http.StatusOK, "", nil, func(t *testing.T, doc *goquery.Document) {
			fullPage(t, doc)
			checkAuditIDs(t, doc, "5", "4", "3", "2", "1")
			if got := webtest.Text(doc.Find(`[data-testid="audit-range"]`)); got != "1–5 of 5" {
				t.Errorf("range = %q, want 1–5 of 5", got)
			}
			if n := doc.Find(`[data-testid="audit-pager"]`).Length(); n != 0 {
				t.Errorf("one page has %d pagers, want none", n)
			}
		}},
		{"policy by KASKO id", "/audit?policy=tpol_a", false, http.StatusOK, "", nil, func(t *testing.T, doc *goquery.Document) {
			fullPage(t, doc)
			checkAuditIDs(t, doc, "3", "1")
			if got := doc.Find("#audit-policy").AttrOr("value", ""); got != "tpol_a" {
				t.Errorf("policy field = %q, want it to keep tpol_a", got)
			}
		}},
		{"policy by insurer id, spaces trimmed", "/audit?policy=+INS-A+", false, http.StatusOK, "", nil, func(t *testing.T, doc *goquery.Document) {
			checkAuditIDs(t, doc, "3", "1")
		}},
		{"actor by masked key", "/audit?actor=" + url.QueryEscape("sk_test_…bbbb"), false, http.StatusOK, "", nil, func(t *testing.T, doc *goquery.Document) {
			checkAuditIDs(t, doc, "3", "2")
			if got := doc.Find("#audit-actor").AttrOr("value", ""); got != "sk_test_…bbbb" {
				t.Errorf("actor field = %q, want it to keep the key", got)
			}
		}},
		{"actor by name", "/audit?actor=Ana", false, http.StatusOK, "", nil, func(t *testing.T, doc *goquery.Document) {
			checkAuditIDs(t, doc, "5", "4", "1")
		}},
		{"outcome", "/audit?outcome=rejected", false, http.StatusOK, "", nil, func(t *testing.T, doc *goquery.Document) {
			checkAuditIDs(t, doc, "2")
			if got := doc.Find("#audit-outcome option[selected]").AttrOr("value", "?"); got != "rejected" {
				t.Errorf("selected outcome = %q, want rejected", got)
			}
		}},
		{"all filters together", "/audit?policy=tpol_a&actor=Ben&outcome=completed", false, http.StatusOK, "", nil, func(t *testing.T, doc *goquery.Document) {
			checkAuditIDs(t, doc, "3")
		}},
		{"nothing matches", "/audit?policy=tpol_zzz", false, http.StatusOK, "", nil, func(t *testing.T, doc *goquery.Document) {
			checkAuditIDs(t, doc)
			empty := doc.Find(`[data-testid="audit-empty"]`)
			if got := webtest.Text(empty.Find("p").First()); got != "No entries match these filters." {
				t.Errorf("empty state = %q", got)
			}
			if got := href(t, empty.Find("a"), "clear link"); got != "/audit" {
				t.Errorf("clear link = %q, want /audit", got)
			}
		}},
		{"htmx gets the table alone", "/audit?outcome=rejected", true, http.StatusOK, "", nil, func(t *testing.T, doc *goquery.Document) {
			fragment(t, doc)
			checkAuditIDs(t, doc, "2")
		}},
		{"htmx, no match", "/audit?actor=nobody", true, http.StatusOK, "", nil, func(t *testing.T, doc *goquery.Document) {
			fragment(t, doc)
			if doc.Find(`[data-testid="audit-empty"]`).Length() != 1 {
				t.Error("no empty state in the fragment")
			}
		}},
		{"bad page", "/audit?page=abc", false, http.StatusBadRequest, "", nil, func(t *testing.T, doc *goquery.Document) {
			checkAuditError(t, doc, http.StatusBadRequest, "The page number must be a whole number from 1 up.")
		}},
		{"page zero", "/audit?page=0", false, http.StatusBadRequest, "", nil, func(t *testing.T, doc *goquery.Document) {
			checkAuditError(t, doc, http.StatusBadRequest, "The page number must be a whole number from 1 up.")
		}},
		{"bad size", "/audit?size=lots", false, http.StatusBadRequest, "", nil, func(t *testing.T, doc *goquery.Document) {
			checkAuditError(t, doc, http.StatusBadRequest, "The page size must be a whole number from 1 to 100.")
		}},
		{"size over 100", "/audit?size=101", false, http.StatusBadRequest, "", nil, func(t *testing.T, doc *goquery.Document) {
			checkAuditError(t, doc, http.StatusBadRequest, "The page size must be a whole number from 1 to 100.")
		}},
		{"unknown outcome", "/audit?outcome=maybe", false, http.StatusBadRequest, "", nil, func(t *testing.T, doc *goquery.Document) {
			checkAuditError(t, doc, http.StatusBadRequest, "There is no such outcome. Choose one from the list.")
		}},
		{"overlong filter", "/audit?actor=" + strings.Repeat("x", 201), false, http.StatusBadRequest, "", nil, func(t *testing.T, doc *goquery.Document) {
			checkAuditError(t, doc, http.StatusBadRequest, "A filter may have at most 200 characters.")
		}},
		{"past the end", "/audit?page=2", false, http.StatusNotFound, "", nil, func(t *testing.T, doc *goquery.Document) {
			checkAuditError(t, doc, http.StatusNotFound, "This page is past the end of the audit log. Go back to the first page.")
		}},
		{"htmx bad outcome is an alert in #flash", "/audit?outcome=maybe", true, http.StatusBadRequest, "",
			map[string]string{"HX-Retarget": "#flash", "HX-Reswap": "innerHTML"}, func(t *testing.T, doc *goquery.Document) {
				fragment(t, doc)
				if got := webtest.Text(doc.Find(`[data-testid="alert"]`)); !strings.HasPrefix(got, "There is no such outcome. Choose one from the list.") {
					t.Errorf("alert = %q, want the outcome message", got)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h []string
			if tt.hx {
				h = []string{"HX-Request", "true", "HX-Target", "audit-table", "HX-Current-URL", srv.URL + "/audit"}
			}
			r := b.Page(t, tt.path, tt.wantStatus, h...)
			if got := r.Header.Get("Location"); got != tt.wantLocation {
				t.Errorf("Location = %q, want %q", got, tt.wantLocation)
			}
			checkHXHeaders(t, r.Header, tt.wantHX)
			if !slices.Contains(r.Header.Values("Vary"), "HX-Request") {
				t.Errorf("Vary = %q, want HX-Request", r.Header.Values("Vary"))
			}
			tt.check(t, r.Doc)
		})
	}
}

// checkHXHeaders compares the response's HX-* headers with want exactly.
func checkHXHeaders(t *testing.T, h http.Header, want map[string]string) {
	t.Helper()
	for k := range h {
		if !strings.HasPrefix(k, "Hx-") {
			continue
		}
		expected := false
		for w := range want {
			expected = expected || http.CanonicalHeaderKey(w) == k
		}
		if !expected {
			t.Errorf("unexpected header %s: %q", k, h.Get(k))
		}
	}
	for k, v := range want {
		if got := h.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
}

// checkAuditError checks an error page's status and message, and that no
// entry is shown on it.
func checkAuditError(t *testing.T, doc *goquery.Document, status int, message string) {
	t.Helper()
	if got := webtest.Text(doc.Find(`[data-testid="error-status"]`)); got != strconv.Itoa(status) {
		t.Errorf("error status shown = %q, want %d", got, status)
	}
	if got := webtest.Text(doc.Find(`[data-testid="error-message"]`)); got != message {
		t.Errorf("error message = %q, want %q", got, message)
	}
	if n := auditRows(doc).Length(); n != 0 {
		t.Errorf("error page shows %d entries", n)
	}
}

// TestAuditRowContent checks every column of one entry, in English and
// German, and that user text is escaped.
func TestAuditRowContent(t *testing.T) {
	srv := webtest.NewServer(t, webtest.Options{Audit: newAuditLog(t, auditSeed())})
	tests := []struct {
		lang string
		// the labels the page shows in that language
		wantAction, wantOutcome, wantRange string
	}{
		{"en", "Cancellation", "Accepted", "1–1 of 1"},
		{"de", "Stornierung", "Angenommen", "1–1 von 1"},
		{"ro", "Anulare", "Acceptată", "1–1 din 1"},
	}
	for _, tt := range tests {
		t.Run(tt.lang, func(t *testing.T) {
			b := srv.NewBrowser(t)
			b.Header.Set("Accept-Language", tt.lang)
			b.SignIn(sandbox.KeyASecretTest)
			doc := b.Page(t, "/audit?policy=INS-A&outcome=accepted", http.StatusOK).Doc
			checkAuditIDs(t, doc, "1")
			row := auditRows(doc).First()
			f := format.New(tt.lang)
			cell := func(id string) *goquery.Selection { return row.Find(`[data-testid="` + id + `"]`) }
			if got, want := webtest.Text(cell("audit-time")), f.DateTime(auditAt)+" UTC"; got != want {
				t.Errorf("time = %q, want %q", got, want)
			}
			if got := cell("audit-time").Find("time").AttrOr("datetime", ""); got != "2026-07-01T22:05:00Z" {
				t.Errorf("datetime = %q, want 2026-07-01T22:05:00Z", got)
			}
			if got := webtest.Text(cell("audit-actor")); got != "sk_test_…aaaa Ana" {
				t.Errorf("actor = %q, want the masked key and the name", got)
			}
			link := cell("audit-policy").Find("a")
			if got := href(t, link, "policy link"); got != "/policies/tpol_a" {
				t.Errorf("policy link = %q, want /policies/tpol_a", got)
			}
			if got := webtest.Text(link); got != "INS-A" {
				t.Errorf("policy = %q, want the insurer id INS-A", got)
			}
			if got := webtest.Text(cell("audit-policy").Find(`[data-testid="audit-policy-id"]`)); !strings.HasSuffix(got, " tpol_a") {
				t.Errorf("KASKO id shown = %q, want it as text beside the insurer id", got)
			}
			if cell("audit-policy").Find("[title]").Length() != 0 {
				t.Error("the policy cell keeps something in a tooltip")
			}
			if got := webtest.Text(cell("audit-action")); got != tt.wantAction {
				t.Errorf("action = %q, want %q", got, tt.wantAction)
			}
			if got := webtest.Text(cell("audit-reason")); got != "customer_request" {
				t.Errorf("reason = %q", got)
			}
			if got, want := webtest.Text(cell("audit-termination")), f.Date(time.Date(2026, 7, 31, 0, 0, 0, 0, time.UTC)); got != want {
				t.Errorf("termination date = %q, want %q", got, want)
			}
			badge := cell("audit-outcome").Find(`[data-testid="audit-outcome-badge"]`)
			if got := webtest.Text(badge); got != tt.wantOutcome || badge.AttrOr("data-outcome", "") != "accepted" || !badge.HasClass("outcome-accepted") {
				t.Errorf("outcome badge = %q (data-outcome %q, class %q), want %q", got, badge.AttrOr("data-outcome", ""), badge.AttrOr("class", ""), tt.wantOutcome)
			}
			if got := webtest.Text(cell("audit-upstream-status")); got != "202" {
				t.Errorf("upstream status = %q, want 202", got)
			}
			if got := webtest.Text(cell("audit-request-id").Find("code")); got != "req_a1" {
				t.Errorf("request id = %q, want req_a1 in <code>", got)
			}
			if got := webtest.Text(doc.Find(`[data-testid="audit-range"]`)); got != tt.wantRange {
				t.Errorf("range = %q, want %q", got, tt.wantRange)
			}
		})
	}

	t.Run("no status, no request id, no insurer id", func(t *testing.T) {
		b := srv.SignedIn(t, sandbox.KeyASecretTest)
		row := auditRows(b.Page(t, "/audit?outcome=refused", http.StatusOK).Doc).First()
		for id, want := range map[string]string{"audit-upstream-status": "—", "audit-request-id": "—", "audit-termination": "—", "audit-reason": "—", "audit-policy": "tpol_c"} {
			if got := webtest.Text(row.Find(`[data-testid="` + id + `"]`)); got != want {
				t.Errorf("%s = %q, want %q", id, got, want)
			}
		}
	})

	t.Run("the upstream's message is text, not a tooltip", func(t *testing.T) {
		b := srv.SignedIn(t, sandbox.KeyASecretTest)
		row := auditRows(b.Page(t, "/audit?policy=INS-B", http.StatusOK).Doc).First()
		if got := webtest.Text(row.Find(`[data-testid="audit-message"]`)); got != "A change is in progress" {
			t.Errorf("message = %q", got)
		}
		if row.Find(`[data-testid="audit-outcome"] [title]`).Length() != 0 {
			t.Error("the outcome keeps its message in a tooltip")
		}
	})

	t.Run("user text is escaped", func(t *testing.T) {
		b := srv.SignedIn(t, sandbox.KeyASecretTest)
		doc := b.Page(t, "/audit?policy=INS-D", http.StatusOK).Doc
		if n := doc.Find("#audit-table script").Length(); n != 0 {
			t.Errorf("the reason became %d script elements", n)
		}
		if got := auditRows(doc).First().Find(`[data-testid="audit-reason"]`).Text(); got != `<script>alert("x")</script> & "quotes"` {
			t.Errorf("reason = %q, want the text as typed", got)
		}
	})
}

// Push references of the seeded creations.
const (
	refPending = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
	refMade    = "16fd2706-8baf-433b-82eb-8c7fada847da"
)

// createSeed is a log with policy creations around one cancellation;
// index i has ID i+1.
func createSeed() []audit.Entry {
	return []audit.Entry{
		// Pushed, but the insurer has not made the policy yet: no ids.
		{Action: audit.ActionCreate, VariantID: "var_kasko_basic", Holder: "Maria Popescu", Reference: refPending,
			Actor: "sk_test_…aaaa", ActorName: "Ana", Mode: "test", Outcome: audit.OutcomeCompleted, UpstreamStatus: 200, UpstreamRequestID: "req_push_1"},
		// Pushed and made at once: the policy has its ids.
		{Action: audit.ActionCreate, VariantID: "var_kasko_plus", Holder: "Jonas Weber", Reference: refMade,
			PolicyID: "tpol_new", InsurerPolicyID: "INS-NEW", Actor: "sk_test_…aaaa", Mode: "test",
			Outcome: audit.OutcomeCompleted, UpstreamStatus: 200, UpstreamRequestID: "req_push_2"},
		{Action: audit.ActionCancel, PolicyID: "tpol_a", InsurerPolicyID: "INS-A", Actor: "sk_test_…aaaa", Mode: "test",
			Outcome: audit.OutcomeAccepted, UpstreamStatus: 202, Reason: "customer_request", TerminationDate: "2026-07-31"},
		// Refused by the insurer: no reference, the holder as typed.
		{Action: audit.ActionCreate, VariantID: "var_kasko_basic", Holder: `<b>Eve</b> & "Co"`, Actor: "sk_test_…bbbb", Mode: "test",
			Outcome: audit.OutcomeRejected, UpstreamStatus: 422, UpstreamRequestID: "req_push_3", Message: "start_date is in the past"},
	}
}

// TestAuditCreateEntries checks how a policy creation shows in the log:
// the action and its variant, the policy when it has ids and otherwise
// the holder and push reference, no cancellation columns, and that the
// policy filter finds it by its push reference.
func TestAuditCreateEntries(t *testing.T) {
	srv := webtest.NewServer(t, webtest.Options{Audit: newAuditLog(t, createSeed())})
	cell := func(row *goquery.Selection, id string) *goquery.Selection {
		return row.Find(`[data-testid="` + id + `"]`)
	}

	for _, tt := range []struct{ lang, wantAction, wantVariant string }{
		{"en", "Policy creation", "Variant"},
		{"de", "Anlage einer Police", "Variante"},
		{"ro", "Crearea poliței", "Variantă"},
	} {
		t.Run("action in "+tt.lang, func(t *testing.T) {
			b := srv.NewBrowser(t)
			b.Header.Set("Accept-Language", tt.lang)
			b.SignIn(sandbox.KeyASecretTest)
			doc := b.Page(t, "/audit", http.StatusOK).Doc
			checkAuditIDs(t, doc, "4", "3", "2", "1")
			row := auditRows(doc).Last()
			if got := webtest.Text(cell(row, "audit-action").Find(".action")); got != tt.wantAction {
				t.Errorf("action = %q, want %q", got, tt.wantAction)
			}
			if got, want := webtest.Text(cell(row, "audit-variant")), tt.wantVariant+" var_kasko_basic"; got != want {
				t.Errorf("variant = %q, want %q", got, want)
			}
			if got := webtest.Text(cell(row, "audit-variant").Find("code")); got != "var_kasko_basic" {
				t.Errorf("variant id = %q, want var_kasko_basic in <code>", got)
			}
		})
	}

	t.Run("no policy id: holder and reference, no link", func(t *testing.T) {
		b := srv.SignedIn(t, sandbox.KeyASecretTest)
		row := auditRows(b.Page(t, "/audit", http.StatusOK).Doc).Last()
		policy := cell(row, "audit-policy")
		if n := policy.Find("a").Length(); n != 0 {
			t.Errorf("the policy cell has %d links, want none", n)
		}
		if got := webtest.Text(policy.Find(`[data-testid="audit-holder"]`)); got != "Maria Popescu" {
			t.Errorf("holder = %q, want Maria Popescu", got)
		}
		ref := policy.Find(`code[data-testid="audit-reference"]`)
		if got := webtest.Text(ref); got != refPending {
			t.Errorf("reference = %q, want %q in <code>", got, refPending)
		}
		if got := ref.AttrOr("title", ""); got != "Push reference" {
			t.Errorf("reference title = %q, want Push reference", got)
		}
		for id, want := range map[string]string{"audit-reason": "—", "audit-termination": "—", "audit-upstream-status": "200", "audit-actor": "sk_test_…aaaa Ana"} {
			if got := webtest.Text(cell(row, id)); got != want {
				t.Errorf("%s = %q, want %q", id, got, want)
			}
		}
		if got := webtest.Text(cell(row, "audit-request-id").Find("code")); got != "req_push_1" {
			t.Errorf("request id = %q, want req_push_1", got)
		}
	})

	t.Run("with a policy id: the insurer id, linked", func(t *testing.T) {
		b := srv.SignedIn(t, sandbox.KeyASecretTest)
		row := auditRows(b.Page(t, "/audit?policy=tpol_new", http.StatusOK).Doc)
		if row.Length() != 1 || row.AttrOr("data-id", "") != "2" {
			t.Fatalf("/audit?policy=tpol_new shows %d rows (first %q), want entry 2", row.Length(), row.AttrOr("data-id", ""))
		}
		policy := cell(row, "audit-policy")
		link := policy.Find("a")
		if got := href(t, link, "policy link"); got != "/policies/tpol_new" {
			t.Errorf("policy link = %q, want /policies/tpol_new", got)
		}
		if got := webtest.Text(link); got != "INS-NEW" {
			t.Errorf("policy = %q, want INS-NEW", got)
		}
		if n := policy.Find(`[data-testid="audit-holder"], [data-testid="audit-reference"]`).Length(); n != 0 {
			t.Errorf("a created policy with ids still shows %d holder/reference elements", n)
		}
		if got := webtest.Text(cell(row, "audit-action").Find(".action")); got != "Policy creation" {
			t.Errorf("action = %q, want Policy creation", got)
		}
		if got := webtest.Text(cell(row, "audit-variant").Find("code")); got != "var_kasko_plus" {
			t.Errorf("variant = %q, want var_kasko_plus", got)
		}
		for _, id := range []string{"audit-reason", "audit-termination"} {
			if got := webtest.Text(cell(row, id)); got != "—" {
				t.Errorf("%s = %q, want —", id, got)
			}
		}
	})

	t.Run("no reference: the holder alone, as typed", func(t *testing.T) {
		b := srv.SignedIn(t, sandbox.KeyASecretTest)
		doc := b.Page(t, "/audit?outcome=rejected", http.StatusOK).Doc
		checkAuditIDs(t, doc, "4")
		policy := cell(auditRows(doc), "audit-policy")
		if got := policy.Find(`[data-testid="audit-holder"]`).Text(); got != `<b>Eve</b> & "Co"` {
			t.Errorf("holder = %q, want the text as typed", got)
		}
		if n := doc.Find("#audit-table b").Length(); n != 0 {
			t.Errorf("the holder became %d <b> elements", n)
		}
		if n := policy.Find(`[data-testid="audit-reference"], a`).Length(); n != 0 {
			t.Errorf("the policy cell has %d reference or link elements, want none", n)
		}
	})

	t.Run("the cancellation keeps its columns", func(t *testing.T) {
		b := srv.SignedIn(t, sandbox.KeyASecretTest)
		row := auditRows(b.Page(t, "/audit?policy=INS-A", http.StatusOK).Doc)
		if got := webtest.Text(cell(row, "audit-action")); got != "Cancellation" {
			t.Errorf("action = %q, want Cancellation alone", got)
		}
		if got := webtest.Text(cell(row, "audit-reason")); got != "customer_request" {
			t.Errorf("reason = %q, want customer_request", got)
		}
	})

	for _, tt := range []struct {
		name, path string
		hx         bool // an htmx request targeting #audit-table
		want       string
	}{
		{"filter by the reference of a pending creation", "/audit?policy=" + refPending, false, "1"},
		{"filter by the reference of a created policy", "/audit?policy=" + refMade, false, "2"},
		{"filter by reference, spaces trimmed", "/audit?policy=+" + refPending + "+", false, "1"},
		{"filter by reference, via htmx", "/audit?policy=" + refMade, true, "2"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := srv.SignedIn(t, sandbox.KeyAPublicTest)
			var h []string
			if tt.hx {
				h = []string{"HX-Request", "true", "HX-Target", "audit-table", "HX-Current-URL", srv.URL + "/audit"}
			}
			doc := b.Page(t, tt.path, http.StatusOK, h...).Doc
			checkAuditIDs(t, doc, tt.want)
			if got := webtest.Text(doc.Find(`[data-testid="audit-range"]`)); got != "1–1 of 1" {
				t.Errorf("range = %q, want 1–1 of 1", got)
			}
		})
	}
	t.Run("a reference prefix finds nothing", func(t *testing.T) {
		b := srv.SignedIn(t, sandbox.KeyASecretTest)
		checkAuditIDs(t, b.Page(t, "/audit?policy="+refPending[:8], http.StatusOK).Doc)
	})
}

// TestAuditPagination pages through 120 entries, 50 a page by default.
func TestAuditPagination(t *testing.T) {
	entries := make([]audit.Entry, 120)
	for i := range entries {
		outcome := audit.OutcomeAccepted
		if i%2 == 1 {
			outcome = audit.OutcomeRejected
		}
		entries[i] = audit.Entry{PolicyID: fmt.Sprintf("tpol_%03d", i), Actor: "sk_test_…aaaa", Outcome: outcome}
	}
	srv := webtest.NewServer(t, webtest.Options{Audit: newAuditLog(t, entries)})
	b := srv.SignedIn(t, sandbox.KeyASecretTest)
	ids := func(from, to, step int) []string {
		var out []string
		for id := from; (step < 0 && id >= to) || (step > 0 && id <= to); id += step {
			out = append(out, strconv.Itoa(id))
		}
		return out
	}
	tests := []struct {
		name      string
		path      string
		wantIDs   []string
		wantRange string
		wantPage  string
		// wantLinks are the pager's links (first, prev, next, last); ""
		// for a disabled control.
		wantLinks [4]string
	}{
		{"first page", "/audit", ids(120, 71, -1), "1–50 of 120", "Page 1 of 3",
			[4]string{"", "", "/audit?page=2", "/audit?page=3"}},
		{"middle page", "/audit?page=2", ids(70, 21, -1), "51–100 of 120", "Page 2 of 3",
			[4]string{"/audit", "/audit", "/audit?page=3", "/audit?page=3"}},
		{"last page", "/audit?page=3", ids(20, 1, -1), "101–120 of 120", "Page 3 of 3",
			[4]string{"/audit", "/audit?page=2", "", ""}},
		{"size and filter carried", "/audit?outcome=rejected&size=20&page=2", ids(80, 42, -2), "21–40 of 60", "Page 2 of 3",
			[4]string{"/audit?outcome=rejected&size=20", "/audit?outcome=rejected&size=20", "/audit?outcome=rejected&page=3&size=20", "/audit?outcome=rejected&page=3&size=20"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := b.Page(t, tt.path, http.StatusOK).Doc
			checkAuditIDs(t, doc, tt.wantIDs...)
			if got := webtest.Text(doc.Find(`[data-testid="audit-range"]`)); got != tt.wantRange {
				t.Errorf("range = %q, want %q", got, tt.wantRange)
			}
			pager := doc.Find(`[data-testid="audit-pager"]`)
			if got := webtest.Text(pager.Find(`[data-testid="audit-page"]`)); got != tt.wantPage {
				t.Errorf("position = %q, want %q", got, tt.wantPage)
			}
			for i, rel := range []string{"first", "prev", "next", "last"} {
				link := pager.Find(`[data-testid="audit-pager-` + rel + `"]`)
				got := link.AttrOr("href", "")
				if got != tt.wantLinks[i] {
					t.Errorf("%s = %q, want %q", rel, got, tt.wantLinks[i])
				}
				if got != "" && (link.AttrOr("hx-get", "") != got || link.AttrOr("hx-target", "") != "#audit-table" || link.AttrOr("hx-push-url", "") != "true") {
					t.Errorf("%s: htmx attributes hx-get=%q hx-target=%q hx-push-url=%q", rel, link.AttrOr("hx-get", ""), link.AttrOr("hx-target", ""), link.AttrOr("hx-push-url", ""))
				}
			}
			if tt.path == "/audit?outcome=rejected&size=20&page=2" {
				// A new filter keeps the chosen page size.
				if got := doc.Find(`#audit-filters input[name="size"]`).AttrOr("value", ""); got != "20" {
					t.Errorf("filter form size = %q, want 20", got)
				}
			} else if n := doc.Find(`#audit-filters input[name="size"]`).Length(); n != 0 {
				t.Errorf("filter form carries the default size (%d fields)", n)
			}
		})
	}
}

// TestAuditFilterFormWorksWithoutJS checks the form is a plain GET form
// to /audit with htmx layered on top.
func TestAuditFilterFormWorksWithoutJS(t *testing.T) {
	srv := webtest.NewServer(t, webtest.Options{Audit: newAuditLog(t, auditSeed())})
	b := srv.SignedIn(t, sandbox.KeyASecretTest)
	form := b.Page(t, "/audit", http.StatusOK).Doc.Find(`form[data-testid="audit-filters"]`)
	for attr, want := range map[string]string{"method": "get", "action": "/audit", "hx-get": "/audit", "hx-target": "#audit-table", "hx-push-url": "true"} {
		if got := form.AttrOr(attr, ""); got != want {
			t.Errorf("form %s = %q, want %q", attr, got, want)
		}
	}
	var names []string
	form.Find("input[name], select[name]").Each(func(_ int, s *goquery.Selection) { names = append(names, s.AttrOr("name", "")) })
	if want := []string{"policy", "actor", "action", "outcome", "reason", "no_reason", "from", "to"}; !slices.Equal(names, want) {
		t.Errorf("form fields = %v, want %v", names, want)
	}
	var options []string
	form.Find("#audit-outcome option").Each(func(_ int, s *goquery.Selection) { options = append(options, s.AttrOr("value", "?")) })
	if want := append([]string{""}, audit.Outcomes()...); !slices.Equal(options, want) {
		t.Errorf("outcome options = %q, want %q", options, want)
	}
	// What the browser sends when the form is submitted with empty fields.
	doc := b.Page(t, "/audit?policy=&actor=&action=&outcome=&reason=&from=&to=", http.StatusOK).Doc
	checkAuditIDs(t, doc, "5", "4", "3", "2", "1")
}

func TestAuditAccess(t *testing.T) {
	srv := webtest.NewServer(t, webtest.Options{Audit: newAuditLog(t, auditSeed())})
	t.Run("read-only key reads it", func(t *testing.T) {
		b := srv.SignedIn(t, sandbox.KeyAPublicTest)
		checkAuditIDs(t, b.Page(t, "/audit", http.StatusOK).Doc, "5", "4", "3", "2", "1")
	})
	t.Run("signed out goes to sign in", func(t *testing.T) {
		r := srv.NewBrowser(t).Get("/audit?outcome=rejected")
		if want := "/signin?next=" + url.QueryEscape("/audit?outcome=rejected"); r.Status != http.StatusSeeOther || r.Header.Get("Location") != want {
			t.Errorf("GET /audit signed out = %d → %q, want 303 → %q", r.Status, r.Header.Get("Location"), want)
		}
	})
	t.Run("signed out htmx moves the page", func(t *testing.T) {
		r := srv.NewBrowser(t).Get("/audit?page=2", "HX-Request", "true", "HX-Target", "audit-table", "HX-Current-URL", srv.URL+"/audit?outcome=failed")
		if want := "/signin?next=" + url.QueryEscape("/audit?outcome=failed"); r.Status != http.StatusUnauthorized || r.Header.Get("HX-Redirect") != want {
			t.Errorf("htmx GET signed out = %d, HX-Redirect %q, want 401, %q", r.Status, r.Header.Get("HX-Redirect"), want)
		}
	})
}

// TestAuditListOnPostgres reads the page from the PostgreSQL store the
// instances share in production, filters and all.
func TestAuditListOnPostgres(t *testing.T) {
	pg := pgtest.Start(t)
	log, err := audit.Open(context.Background(), audit.Config{DatabaseURL: pg.NewDatabase(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Close() })
	for i, e := range auditSeed() {
		e.Action, e.At, e.Tenant = audit.ActionCancel, auditAt.Add(time.Duration(i)*time.Minute), seedTenant
		if _, err := log.Append(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	srv := webtest.NewServer(t, webtest.Options{Audit: log})
	b := srv.SignedIn(t, sandbox.KeyAPublicTest)
	checkAuditIDs(t, b.Page(t, "/audit", http.StatusOK).Doc, "5", "4", "3", "2", "1")
	doc := b.Page(t, "/audit?actor=Ana&size=2&page=2", http.StatusOK).Doc
	checkAuditIDs(t, doc, "1")
	if got := webtest.Text(doc.Find(`[data-testid="audit-range"]`)); got != "3–3 of 3" {
		t.Errorf("range = %q, want 3–3 of 3", got)
	}
	if got, want := webtest.Text(auditRows(doc).Find(`[data-testid="audit-time"]`)), format.New("en").DateTime(auditAt)+" UTC"; got != want {
		t.Errorf("time = %q, want %q", got, want)
	}

	// A creation known only by its push reference, stored with no
	// policy id, is found by the reference.
	c := createSeed()[0]
	c.At, c.Tenant = auditAt.Add(time.Hour), seedTenant
	if _, err := log.Append(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	byRef := b.Page(t, "/audit?policy="+refPending, http.StatusOK).Doc
	checkAuditIDs(t, byRef, "6")
	if got := webtest.Text(auditRows(byRef).Find(`[data-testid="audit-reference"]`)); got != refPending {
		t.Errorf("reference = %q, want %q", got, refPending)
	}
}
