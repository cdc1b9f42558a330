package kasko_test

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"backoffice/internal/audit"
	"backoffice/internal/format"
	"backoffice/internal/sandbox"
	"backoffice/web/webtest"
)

// March 2025, the period the reason tests ask the overview for; the
// last instant counted is just before reasonsEnd.
var (
	reasonsFrom = time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	reasonsEnd  = time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC)
)

const (
	reasonsPeriod = "/review?period=custom&from=2025-03-01&to=2025-03-31"
	reasonUnpaid  = "Premium not paid"
	reasonDup     = "Duplicate policy"
	// reasonOdd has quotes, markup, non-ASCII and a trailing space, and
	// reasonOddTrimmed is another reason without the space.
	reasonOdd        = `Other: sold to "Ștefan" & <b>co</b> `
	reasonOddTrimmed = `Other: sold to "Ștefan" & <b>co</b>`
	reasonToday      = "Asked for today"
)

// reasonsSeed is March's accepted cancellations by reason (55 unpaid,
// more than a page; 1 duplicate; 2 without a reason; the two odd ones
// 1 each) among entries on the period's edges, of other outcomes,
// actions and tenants that no count may include; and one today.
func reasonsSeed(now time.Time) []audit.Entry {
	c := func(at time.Time, reason, outcome string) audit.Entry {
		return audit.Entry{Action: audit.ActionCancel, At: at, Actor: "sk_test_…aaaa", Mode: "test", PolicyID: "tpol_r",
			Reason: reason, Outcome: outcome}
	}
	es := []audit.Entry{
		c(reasonsFrom.Add(-time.Microsecond), reasonDup, audit.OutcomeAccepted), // February
		c(reasonsFrom, reasonDup, audit.OutcomeAccepted),                        // the first instant
		c(reasonsFrom.Add(time.Hour), reasonDup, audit.OutcomeCompleted),        // its completion
		c(reasonsFrom.Add(2*time.Hour), reasonDup, audit.OutcomeRejected),
		c(reasonsFrom.Add(3*time.Hour), "", audit.OutcomeAccepted),
		c(reasonsEnd.Add(-time.Microsecond), "", audit.OutcomeAccepted), // the last instant
		c(reasonsEnd, "", audit.OutcomeAccepted),                        // April
		c(reasonsFrom.Add(4*time.Hour), reasonOdd, audit.OutcomeAccepted),
		c(reasonsFrom.Add(5*time.Hour), reasonOddTrimmed, audit.OutcomeAccepted),
		c(reasonsFrom.Add(6*time.Hour), "", audit.OutcomeRefused),
		c(now, reasonToday, audit.OutcomeAccepted),
	}
	// The live tenant of the same distributor, and another action.
	live := c(reasonsFrom.Add(time.Hour), reasonDup, audit.OutcomeAccepted)
	live.Tenant, live.Mode = audit.KaskoTenant(sandbox.DistributorAID, "live"), "live"
	es = append(es, live, audit.Entry{Action: audit.ActionCreate, At: reasonsFrom.Add(time.Hour), Actor: "sk_test_…aaaa",
		VariantID: "var_1", Outcome: audit.OutcomeAccepted})
	for i := range 55 {
		es = append(es, c(reasonsFrom.Add(time.Duration(i)*13*time.Hour), reasonUnpaid, audit.OutcomeAccepted))
	}
	return es
}

// auditTotal reads how many entries an /audit page lists in all.
func auditTotal(t *testing.T, doc *goquery.Document) int {
	t.Helper()
	if doc.Find(`[data-testid="audit-empty"]`).Length() == 1 {
		return 0
	}
	text := webtest.Text(doc.Find(`[data-testid="audit-range"]`))
	m := regexp.MustCompile(`of (\d+)$`).FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("no total in %q", text)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// activeFilters lists the filters an /audit page says are on.
func activeFilters(doc *goquery.Document) []string {
	var out []string
	doc.Find(`[data-testid="audit-active-filter"]`).Each(func(_ int, s *goquery.Selection) { out = append(out, webtest.Text(s)) })
	return out
}

// TestReviewReasonsLinkToTheAuditLog: on the overview, for a secret and
// a public key, each reason's count links to the audit log filtered to
// exactly the entries counted (the "no reason given" bucket too), the
// page says those filters in words, and its pager keeps them.
func TestReviewReasonsLinkToTheAuditLog(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC()
	srv := webtest.NewServer(t, webtest.Options{Sandbox: sandbox.Options{Policies: 50}, Index: true,
		IndexKeys: []string{sandbox.KeyASecretTest}, IndexPoll: time.Hour, Audit: newAuditLog(t, reasonsSeed(now))})
	srv.WaitIndexed(t)
	en := format.New("en")
	wantCounts := map[string]int{reasonUnpaid: 55, reasonDup: 1, "(no reason given)": 2, reasonOdd: 1, reasonOddTrimmed: 1}
	for _, key := range []string{sandbox.KeyASecretTest, sandbox.KeyAPublicTest} {
		b := srv.SignedIn(t, key)
		doc := b.Page(t, reasonsPeriod, http.StatusOK).Doc
		lead := webtest.Text(doc.Find(`[data-testid="reasons-lead"]`))
		if !strings.Contains(lead, "requested through this dashboard in the period") || !strings.Contains(lead, "takes effect") {
			t.Errorf("%s: the reasons' note reads %q, want it to say they count requests by the day asked", key, lead)
		}
		rows := doc.Find(`[data-testid="reasons"] [data-testid="reason-row"]`)
		if rows.Length() != len(wantCounts) {
			t.Errorf("%s: %d reason rows, want %d", key, rows.Length(), len(wantCounts))
		}
		rows.Each(func(_ int, row *goquery.Selection) {
			// The raw text: the odd reasons differ by a trailing space.
			reason := row.Find(`[data-testid="reason"]`).Text()
			none := reason == "(no reason given)"
			if row.Find(`th[scope="row"][data-testid="reason"]`).Length() != 1 {
				t.Errorf("%s: %q is not its row's header", key, reason)
			}
			link := row.Find(`a[data-testid="reason-link"]`)
			count := number(t, link.Text())
			if want, ok := wantCounts[reason]; !ok || count != want {
				t.Errorf("%s: reason %q counts %d, want %d", key, reason, count, want)
			}
			h := href(t, link, "reason link")
			u, err := url.Parse(h)
			if err != nil {
				t.Fatal(err)
			}
			want := url.Values{"action": {"cancel"}, "outcome": {"accepted"}, "from": {"2025-03-01"}, "to": {"2025-03-31"}}
			if none {
				want.Set("no_reason", "1")
			} else {
				want.Set("reason", reason)
			}
			if u.Path != "/audit" || u.RawQuery != want.Encode() {
				t.Errorf("%s: reason %q links to %s, want /audit?%s", key, reason, h, want.Encode())
			}

			audited := b.Page(t, h, http.StatusOK).Doc
			if got := auditTotal(t, audited); got != count {
				t.Errorf("%s: reason %q counts %d, its audit log %s lists %d", key, reason, count, h, got)
			}
			auditRows(audited).Each(func(_ int, r *goquery.Selection) {
				shown := r.Find(`[data-testid="audit-reason"]`).Text()
				if (none && shown != "—") || (!none && shown != reason) {
					t.Errorf("%s: the %q list shows an entry with reason %q", key, reason, shown)
				}
			})
			words := []string{"Action: Cancellation", "Outcome: Accepted"}
			if none {
				words = append(words, "Reason: none given")
			} else {
				words = append(words, webtest.Squash("Reason, exactly: “"+reason+"”"))
			}
			words = append(words, "Recorded from "+en.Date(reasonsFrom)+" to "+en.Date(reasonsEnd.AddDate(0, 0, -1))+", both included (days in UTC)")
			if got := activeFilters(audited); !slices.Equal(got, words) {
				t.Errorf("%s: the audit log says its filters are %q, want %q", key, got, words)
			}
			if got := href(t, audited.Find(`[data-testid="audit-active-clear"]`), "clear link"); got != "/audit" {
				t.Errorf("%s: the filters clear to %q, want /audit", key, got)
			}
			if audited.Find(`#audit-reason`).AttrOr("value", "") != u.Query().Get("reason") ||
				(audited.Find(`#audit-no-reason[checked]`).Length() == 1) != none ||
				audited.Find(`#audit-action option[selected]`).AttrOr("value", "") != "cancel" ||
				audited.Find(`#audit-from`).AttrOr("value", "") != "2025-03-01" || audited.Find(`#audit-to`).AttrOr("value", "") != "2025-03-31" {
				t.Errorf("%s: the filter form does not keep %s", key, h)
			}

			// More than a page: the pager's links keep every filter.
			if count > 50 {
				next := href(t, audited.Find(`[data-testid="audit-pager-next"]`), "next page")
				nu, _ := url.Parse(next)
				wantNext := url.Values{"page": {"2"}}
				for k, v := range want {
					wantNext[k] = v
				}
				if nu.RawQuery != wantNext.Encode() {
					t.Errorf("%s: next page %s, want /audit?%s", key, next, wantNext.Encode())
				}
				second := b.Page(t, next, http.StatusOK).Doc
				if got := auditTotal(t, second); got != count || auditRows(second).Length() != count-50 {
					t.Errorf("%s: the second page lists %d of %d, want %d of %d", key, auditRows(second).Length(), got, count-50, count)
				}
				if got := activeFilters(second); !slices.Equal(got, words) {
					t.Errorf("%s: the second page's filters are %q", key, got)
				}
			}
		})
	}

	// A period still running counts up to the end of today, and so does
	// its link.
	b := srv.SignedIn(t, sandbox.KeyASecretTest)
	doc := b.Page(t, "/review", http.StatusOK).Doc
	var found bool
	doc.Find(`[data-testid="reason-row"]`).Each(func(_ int, row *goquery.Selection) {
		if row.Find(`[data-testid="reason"]`).Text() != reasonToday {
			return
		}
		found = true
		h := href(t, row.Find(`a[data-testid="reason-link"]`), "today's reason")
		u, _ := url.Parse(h)
		if got := u.Query().Get("to"); got != now.Format(time.DateOnly) {
			t.Errorf("this month's link ends on %s, want today %s", got, now.Format(time.DateOnly))
		}
		if got := auditTotal(t, b.Page(t, h, http.StatusOK).Doc); got != 1 {
			t.Errorf("today's reason lists %d entries, want 1", got)
		}
	})
	if !found {
		t.Error("this month's overview does not count today's cancellation")
	}
}

// TestAuditCancellationFilters: /audit's action, reason, no_reason,
// from and to filters, their words, and the 400s of values it cannot
// honour.
func TestAuditCancellationFilters(t *testing.T) {
	t.Parallel()
	srv := webtest.NewServer(t, webtest.Options{Audit: newAuditLog(t, reasonsSeed(time.Now().UTC()))})
	b := srv.SignedIn(t, sandbox.KeyAPublicTest)
	en := format.New("en")
	march := "&from=2025-03-01&to=2025-03-31"
	tests := []struct {
		path  string
		total int
		words []string
	}{
		{"/audit?action=create", 1, []string{"Action: Policy creation"}},
		{"/audit?action=cancel&no_reason=1", 4, []string{"Action: Cancellation", "Reason: none given"}},
		{"/audit?reason=" + url.QueryEscape(reasonDup), 4, []string{"Reason, exactly: “Duplicate policy”"}},
		{"/audit?reason=" + url.QueryEscape(reasonDup) + march, 3, []string{"Reason, exactly: “Duplicate policy”",
			"Recorded from " + en.Date(reasonsFrom) + " to " + en.Date(reasonsEnd.AddDate(0, 0, -1)) + ", both included (days in UTC)"}},
		{"/audit?reason=Duplicate", 0, []string{"Reason, exactly: “Duplicate”"}},
		{"/audit?reason=" + url.QueryEscape(reasonOdd), 1, nil},
		{"/audit?reason=" + url.QueryEscape(reasonOddTrimmed), 1, nil},
		{"/audit?no_reason=1&from=2025-04-01", 1, []string{"Reason: none given", "Recorded on or after " + en.Date(reasonsEnd) + " (days in UTC)"}},
		{"/audit?action=cancel&to=2025-02-28", 1, []string{"Action: Cancellation", "Recorded on or before " + en.Date(reasonsFrom.AddDate(0, 0, -1)) + " (days in UTC)"}},
		{"/audit?from=2025-03-31&to=2025-03-31&no_reason=1", 1, nil},
		{"/audit?reason=" + strings.Repeat("ș", 600), 0, nil}, // 600 characters, 1200 bytes
	}
	for _, tt := range tests {
		doc := b.Page(t, tt.path, http.StatusOK).Doc
		if got := auditTotal(t, doc); got != tt.total {
			t.Errorf("%s lists %d entries, want %d", tt.path, got, tt.total)
		}
		if got := activeFilters(doc); tt.words != nil && !slices.Equal(got, tt.words) {
			t.Errorf("%s says its filters are %q, want %q", tt.path, got, tt.words)
		}
	}
	if doc := b.Page(t, "/audit", http.StatusOK).Doc; doc.Find(`[data-testid="audit-active"]`).Length() != 0 {
		t.Error("the unfiltered log says filters are on")
	}

	// A page size and page go with the filters into every pager link.
	doc := b.Page(t, "/audit?reason="+url.QueryEscape(reasonUnpaid)+"&action=cancel&outcome=accepted"+march+"&size=20&page=2", http.StatusOK).Doc
	base := url.Values{"reason": {reasonUnpaid}, "action": {"cancel"}, "outcome": {"accepted"}, "from": {"2025-03-01"}, "to": {"2025-03-31"}, "size": {"20"}}
	for rel, page := range map[string]string{"first": "", "prev": "", "next": "3", "last": "3"} {
		want := url.Values{}
		for k, v := range base {
			want[k] = v
		}
		if page != "" {
			want.Set("page", page)
		}
		if got := href(t, doc.Find(`[data-testid="audit-pager-`+rel+`"]`), rel); got != "/audit?"+want.Encode() {
			t.Errorf("pager %s = %s, want /audit?%s", rel, got, want.Encode())
		}
	}

	// Values the page cannot honour: the error page says why.
	for _, tt := range []struct{ path, message string }{
		{"/audit?action=teleport", "There is no such action. Choose one from the list."},
		{"/audit?action=Cancel", "There is no such action. Choose one from the list."},
		{"/audit?reason=" + strings.Repeat("x", 601), "A reason filter may have at most 600 characters."},
		{"/audit?no_reason=yes", "“Only entries without a reason” is either ticked (no_reason=1) or left out."},
		{"/audit?no_reason=1&reason=Other", "Ask for a reason or for entries without a reason, not both."},
	} {
		checkAuditError(t, b.Page(t, tt.path, http.StatusBadRequest).Doc, http.StatusBadRequest, tt.message)
	}

	// Refused days: the page with the message on the dates, what was
	// typed kept, and no entries.
	for _, tt := range []struct{ from, to, message string }{
		{"2025-02-30", "", "Enter the days as dates (YYYY-MM-DD)."},
		{"nonsense", "2025-03-31", "Enter the days as dates (YYYY-MM-DD)."},
		{"", "31.03.2025", "Enter the days as dates (YYYY-MM-DD)."},
		{"2025-04-01", "2025-03-01", "The range ends before it starts."},
		{"1999-12-31", "2025-03-01", "Choose days from the year 2000 up to five years from today."},
		{"", "9999-12-31", "Choose days from the year 2000 up to five years from today."},
	} {
		path := "/audit?action=cancel&from=" + url.QueryEscape(tt.from) + "&to=" + url.QueryEscape(tt.to)
		doc := b.Page(t, path, http.StatusBadRequest).Doc
		if got := webtest.Text(doc.Find(`[data-testid="audit-days-error"][role="alert"]`)); got != tt.message {
			t.Errorf("%s: message %q, want %q", path, got, tt.message)
		}
		for id, typed := range map[string]string{"#audit-from": tt.from, "#audit-to": tt.to} {
			field := doc.Find(id + `[aria-invalid="true"][aria-describedby="audit-days-error"]`)
			if field.Length() != 1 || field.AttrOr("value", "?") != typed {
				t.Errorf("%s: %s is not marked invalid with %q kept", path, id, typed)
			}
		}
		if doc.Find(`#audit-action option[selected]`).AttrOr("value", "") != "cancel" {
			t.Errorf("%s: the form drops the action", path)
		}
		if n := auditRows(doc).Length() + doc.Find(`[data-testid="audit-range"]`).Length(); n != 0 {
			t.Errorf("%s: refused days still list entries", path)
		}
	}
	r := b.Page(t, "/audit?from=2025-04-01&to=2025-03-01", http.StatusBadRequest,
		"HX-Request", "true", "HX-Target", "audit-table", "HX-Current-URL", srv.URL+"/audit")
	checkHXHeaders(t, r.Header, map[string]string{"HX-Retarget": "#flash", "HX-Reswap": "innerHTML"})
	if got := webtest.Text(r.Doc.Find(`[data-testid="alert"]`)); !strings.HasPrefix(got, "The range ends before it starts.") {
		t.Errorf("htmx, inverted range: alert %q", got)
	}
}
