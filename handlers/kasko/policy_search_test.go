package kasko_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"backoffice/internal/index"
	"backoffice/internal/indexsync"
	"backoffice/internal/sandbox"
	"backoffice/web/webtest"
)

// TestIndexedList runs the checks that only read on one indexed
// dashboard: an index's first sync is the costly part of each.
func TestIndexedList(t *testing.T) {
	t.Parallel()
	srv := webtest.NewServer(t, webtest.Options{Sandbox: sandbox.Options{Policies: 300}, Index: true})
	for name, check := range map[string]func(*testing.T, *webtest.Server){
		"search finds by any fragment":      checkSearchFindsByAnyFragment,
		"an exact id opens the policy":      checkSearchExactIDOpensThePolicy,
		"search text never breaks":          checkSearchTextNeverBreaks,
		"filters compose with counts, sort": checkFiltersComposeWithCountsAndSort,
		"bad filter values say where":       checkFilterBadValuesSayWhere,
		"public keys search what they see":  checkPublicKeySearchesOnlyWhatItMaySee,
		"every key sees its own tenant":     checkEveryKeySeesItsOwnTenant,
	} {
		t.Run(name, func(t *testing.T) { check(t, srv) })
	}
}

var tenantATest = indexsync.TenantOf(sandbox.KeyASecretTest, sandbox.DistributorAID)

// rowTexts are the table's rows as the text of their first two cells.
func rowTexts(doc *goquery.Document) []string {
	var out []string
	doc.Find(`tr[data-testid="policy-row"]`).Each(func(_ int, s *goquery.Selection) {
		out = append(out, webtest.Text(s.Find("td").Eq(0))+" | "+webtest.Text(s.Find("td").Eq(1)))
	})
	return out
}

func checkSearchFindsByAnyFragment(t *testing.T, srv *webtest.Server) {
	fixture, err := srv.Index.Get(context.Background(), tenantATest, sandbox.FixturePolicyID)
	if err != nil {
		t.Fatal(err)
	}
	if fixture.Email == "" || fixture.Phone == "" {
		t.Fatalf("the fixture's row lacks email or phone: %+v", fixture)
	}
	b := srv.SignedIn(t, sandbox.KeyASecretTest)
	digits := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, fixture.Phone)
	for _, q := range []string{"berzins janis", "Jānis Bērziņš", "BĒRZ", "janis", fixture.Email[:strings.IndexByte(fixture.Email, '@')], digits[len(digits)-7:], strings.ToLower(sandbox.FixtureInsurerPolicyID[:9])} {
		r := b.Page(t, "/policies?q="+url.QueryEscape(q), http.StatusOK)
		rows := rowTexts(r.Doc)
		found := false
		for _, row := range rows {
			found = found || strings.Contains(row, sandbox.FixtureInsurerPolicyID)
		}
		if !found {
			t.Errorf("q=%q: the fixture is not among %d rows %q", q, len(rows), rows)
			continue
		}
		// The phone is not a column: there is nothing to mark.
		if q != digits[len(digits)-7:] && r.Doc.Find(`tr[data-testid="policy-row"] mark`).Length() == 0 {
			t.Errorf("q=%q: nothing marked", q)
		}
		if got := r.Doc.Find("#find-q").AttrOr("value", ""); got != q {
			t.Errorf("q=%q: the box keeps %q", q, got)
		}
	}
	// The holder's name is marked where it matched, and nowhere else.
	r := b.Page(t, "/policies?q=berz", http.StatusOK)
	var marks []string
	r.Doc.Find(`tr[data-testid="policy-row"] td:nth-child(2) mark`).Each(func(_ int, s *goquery.Selection) { marks = append(marks, s.Text()) })
	if len(marks) == 0 || marks[0] != "Bērz" {
		t.Errorf("holder marks = %q, want Bērz first", marks)
	}
}

func checkSearchExactIDOpensThePolicy(t *testing.T, srv *webtest.Server) {
	b := srv.SignedIn(t, sandbox.KeyASecretTest)
	for _, q := range []string{sandbox.FixtureInsurerPolicyID, strings.ToLower(sandbox.FixtureInsurerPolicyID), sandbox.FixturePolicyID} {
		r := b.Get("/policies?open=1&q=" + url.QueryEscape(q))
		if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/policies/"+sandbox.FixturePolicyID {
			t.Errorf("q=%q: %d → %q, want 303 to the policy", q, r.Status, r.Header.Get("Location"))
		}
		// The same search met again (Back, a link) lists the policy.
		if rows := rowTexts(b.Page(t, "/policies?q="+url.QueryEscape(q), http.StatusOK).Doc); len(rows) != 1 {
			t.Errorf("q=%q without a submit: rows %q", q, rows)
		}
	}
	// While typing (htmx), the list follows; nothing navigates away.
	r := b.Page(t, "/policies?q="+sandbox.FixtureInsurerPolicyID, http.StatusOK, "HX-Request", "true", "HX-Target", "policy-table")
	if rows := rowTexts(r.Doc); len(rows) != 1 || !strings.Contains(rows[0], sandbox.FixtureInsurerPolicyID) {
		t.Errorf("htmx search rows = %q", rows)
	}
	if r.Doc.Find("head title").Length() != 0 {
		t.Error("the htmx answer is a whole page, not the table region")
	}
	// Another tenant's id is not found, not opened.
	r = srv.SignedIn(t, sandbox.KeyBSecretTest).Page(t, "/policies?q="+sandbox.FixtureInsurerPolicyID, http.StatusOK)
	if rows := rowTexts(r.Doc); len(rows) != 0 {
		t.Errorf("distributor B finds A's policy: %q", rows)
	}
}

func checkSearchTextNeverBreaks(t *testing.T, srv *webtest.Server) {
	b := srv.SignedIn(t, sandbox.KeyASecretTest)
	for _, q := range []string{`"`, `*`, `berz*`, `NEAR(a b)`, `a AND OR NOT`, `'; DROP TABLE index_rows; --`, `{pub}: x`, `^janis`, `-janis`, `🙂 janis`, "jan\x00is", strings.Repeat("ā", 10000)} {
		r := b.Get("/policies?q=" + url.QueryEscape(q))
		if r.Status != http.StatusOK {
			t.Errorf("q=%.40q: status %d", q, r.Status)
		}
	}
}

func checkFiltersComposeWithCountsAndSort(t *testing.T, srv *webtest.Server) {
	b := srv.SignedIn(t, sandbox.KeyASecretTest)
	r := b.Page(t, "/policies", http.StatusOK)
	if r.Doc.Find(`[data-testid="filters"]`).Length() != 1 {
		t.Fatal("no filter panel")
	}
	if got := webtest.Text(r.Doc.Find(`[data-testid="freshness"]`)); !strings.Contains(got, "Index updated") {
		t.Errorf("freshness = %q", got)
	}
	// The count beside "Cancelled" is what choosing it gives.
	label := r.Doc.Find(`[data-testid="filter-status"] input[value="cancelled"]`).Parent().Find(`[data-testid="count"]`)
	want := strings.Trim(webtest.Text(label), "()")
	r = b.Page(t, "/policies?status=cancelled&size=100", http.StatusOK)
	total := strings.Fields(webtest.Text(r.Doc.Find(`[data-testid="range"]`)))
	if want == "" || len(total) == 0 || total[len(total)-1] != want {
		t.Errorf("cancelled: count beside the option %q, range %q", want, total)
	}
	r.Doc.Find(`tr[data-testid="policy-row"]`).Each(func(_ int, s *goquery.Selection) {
		if !s.Find(".badge.status-cancelled").Is("span") {
			t.Errorf("row %q is not cancelled", webtest.Text(s.Find("td").First()))
		}
	})
	if !r.Doc.Find(`[data-testid="filter-status"] input[value="cancelled"]`).Is("[checked]") {
		t.Error("the cancelled box is not checked")
	}
	if r.Doc.Find(`[data-testid="filter-clear"]`).Length() != 1 {
		t.Error("no way to clear the filters")
	}
	// Every column sorts, both ways, keeping the filter.
	for _, field := range []string{"insurer_policy_id", "last_name", "email", "product", "status", "start_date", "end_date", "gross_premium", "created_at"} {
		for _, sort := range []string{field, "-" + field} {
			r := b.Page(t, "/policies?status=cancelled&sort="+sort, http.StatusOK)
			th := r.Doc.Find(`th[aria-sort="ascending"], th[aria-sort="descending"]`)
			if th.Length() != 1 {
				t.Errorf("sort=%s: %d sorted headers", sort, th.Length())
			}
			link := r.Doc.Find(`a[data-testid="sort-link"]`).First().AttrOr("href", "")
			if !strings.Contains(link, "status=cancelled") {
				t.Errorf("sort=%s: the sort links drop the filter: %s", sort, link)
			}
		}
	}
	// Date ranges are inclusive days in each policy's zone; premium in
	// major units.
	r = b.Page(t, "/policies?created_from=2000-01-01&created_to=2100-12-31&premium_min=0&premium_max=100000", http.StatusOK)
	if len(rowTexts(r.Doc)) == 0 {
		t.Error("a wide range finds nothing")
	}
	r = b.Page(t, "/policies?premium_min=0&premium_max=0.01", http.StatusOK)
	if n := len(rowTexts(r.Doc)); n != 0 {
		t.Errorf("premium ≤ 0.01 finds %d rows", n)
	}
}

func checkFilterBadValuesSayWhere(t *testing.T, srv *webtest.Server) {
	b := srv.SignedIn(t, sandbox.KeyASecretTest)
	for _, tt := range []struct{ query, group, text string }{
		{"status=bogus", "status", "not a value this filter knows"},
		{"currency=EURO", "currency", "not a value this filter knows"},
		{"product=pr_nope", "product", "not a value this filter knows"},
		{"expired=maybe", "expired", "not a value this filter knows"},
		{"created_from=2026-13-01", "created", "not a date"},
		{"start_from=2026-05-02&start_to=2026-05-01", "start", "before"},
		{"premium_min=abc", "premium", "not an amount"},
		{"premium_min=20&premium_max=10", "premium", "before"},
	} {
		r := b.Page(t, "/policies?"+tt.query, http.StatusBadRequest)
		g := r.Doc.Find(`[data-testid="filter-` + tt.group + `"]`)
		if !g.HasClass("invalid") || !strings.Contains(webtest.Text(g.Find(`[role="alert"]`)), tt.text) {
			t.Errorf("%s: group %s says %q", tt.query, tt.group, webtest.Text(g.Find(".field-error")))
		}
		if n := len(rowTexts(r.Doc)); n != 0 {
			t.Errorf("%s: %d rows shown under a refused filter", tt.query, n)
		}
		if r.Doc.Find(`[aria-invalid="true"]`).Length() == 0 {
			t.Errorf("%s: no control is marked invalid", tt.query)
		}
	}
	// An unknown sort is refused like the upstream list refuses it.
	b.Page(t, "/policies?sort=shoe_size", http.StatusBadRequest)
}

func checkPublicKeySearchesOnlyWhatItMaySee(t *testing.T, srv *webtest.Server) {
	fixture, err := srv.Index.Get(context.Background(), tenantATest, sandbox.FixturePolicyID)
	if err != nil {
		t.Fatal(err)
	}
	pk := srv.SignedIn(t, sandbox.KeyAPublicTest)
	r := pk.Page(t, "/policies?q=berzins", http.StatusOK)
	if rows := rowTexts(r.Doc); len(rows) == 0 {
		t.Error("a public key cannot find by name")
	}
	if strings.Contains(r.Body, fixture.Email) {
		t.Error("the email reaches a public key's page")
	}
	for _, q := range []string{fixture.Email, fixture.Phone, strings.Split(fixture.Email, "@")[1]} {
		r := pk.Page(t, "/policies?q="+url.QueryEscape(q), http.StatusOK)
		if rows := rowTexts(r.Doc); len(rows) != 0 {
			t.Errorf("a public key finds %d rows by %q", len(rows), q)
		}
	}
	pk.Page(t, "/policies?sort=email", http.StatusBadRequest)
	r = pk.Page(t, "/policies", http.StatusOK)
	if r.Doc.Find(`th a[href*="sort=email"]`).Length() != 0 {
		t.Error("a public key is offered the email sort")
	}
	// Another distributor's key sees none of A's rows.
	b := srv.SignedIn(t, sandbox.KeyBPublicTest)
	for _, row := range rowTexts(b.Page(t, "/policies?q=berzins+janis", http.StatusOK).Doc) {
		if strings.Contains(row, sandbox.FixtureInsurerPolicyID) {
			t.Errorf("B finds A's policy: %q", row)
		}
	}
}

func TestListWithoutIndexCoverSaysSo(t *testing.T) {
	t.Parallel()
	srv := webtest.NewServer(t, webtest.Options{Sandbox: sandbox.Options{Policies: 100}, Index: true, IndexKeys: []string{sandbox.KeyASecretTest}})
	b := srv.SignedIn(t, sandbox.KeyBSecretTest)
	r := b.Page(t, "/policies", http.StatusOK)
	if got := webtest.Text(r.Doc.Find(`[data-testid="freshness"]`)); !strings.Contains(got, "need an index key") {
		t.Errorf("freshness = %q", got)
	}
	if r.Doc.Find(`[data-testid="filters"]`).Length() != 0 {
		t.Error("filters offered without an index")
	}
	// The box still opens an id, and a fragment is a miss, not a crash.
	if r := b.Get("/policies?q=" + sandbox.FixtureOtherDistributorID); r.Status != http.StatusSeeOther {
		t.Errorf("an exact id without an index: %d", r.Status)
	}
	b.Page(t, "/policies?q=berzins", http.StatusNotFound)
}

func TestIndexFollowsTheUpstream(t *testing.T) {
	t.Parallel()
	srv := webtest.NewServer(t, webtest.Options{Sandbox: sandbox.Options{Policies: 300, CancelDelay: 200 * time.Millisecond}, Index: true})
	ctx := context.Background()
	b := srv.SignedIn(t, sandbox.KeyASecretTest)

	// Cancelled through the dashboard: the webhook (or the page read
	// after it) turns the row cancelled, without any sync by hand.
	cancelAs(t, b, "/policies/"+sandbox.FixturePolicyID, "")
	t.Cleanup(func() {
		if t.Failed() {
			for _, d := range srv.Upstream.Sandbox.Deliveries() {
				t.Logf("delivery %+v", d)
			}
		}
	})
	waitRow(t, srv.Index, sandbox.FixturePolicyID, func(r index.Row) bool { return r.Status == "cancelled" })
	r := b.Page(t, "/policies?status=cancelled&q=janis+berzins", http.StatusOK)
	if rows := rowTexts(r.Doc); len(rows) != 1 || !strings.Contains(rows[0], sandbox.FixtureInsurerPolicyID) {
		t.Errorf("cancelled Jānis Bērziņš rows = %q", rows)
	}

	// A row that differs from the live policy is corrected on sight.
	row, err := srv.Index.Get(ctx, tenantATest, sandbox.FixtureExpiredID)
	if err != nil {
		t.Fatal(err)
	}
	row.Status, row.SeenAt = "pending", row.SeenAt.Add(-time.Hour)
	if err := srv.Index.Upsert(ctx, []index.Row{row}); err != nil {
		t.Fatal(err)
	}
	b.Page(t, "/policies/"+sandbox.FixtureExpiredID, http.StatusOK)
	if got, _ := srv.Index.Get(ctx, tenantATest, sandbox.FixtureExpiredID); got.Status == "pending" {
		t.Error("the policy page did not correct its row")
	}
}

// TestIndexedListFollowsTheIndex: a list shown once (and kept rendered)
// shows a row changed in the index by anyone within the half second a
// tenant's index state is kept.
func TestIndexedListFollowsTheIndex(t *testing.T) {
	t.Parallel()
	srv := webtest.NewServer(t, webtest.Options{Sandbox: sandbox.Options{Policies: 100}, Index: true, IndexKeys: []string{sandbox.KeyASecretTest}, IndexPoll: time.Hour})
	b := srv.SignedIn(t, sandbox.KeyASecretTest)
	path := "/policies?q=" + url.QueryEscape(sandbox.FixtureInsurerPolicyID[:10])
	first := rowTexts(b.Page(t, path, http.StatusOK).Doc)
	if again := rowTexts(b.Page(t, path, http.StatusOK).Doc); strings.Join(again, ",") != strings.Join(first, ",") {
		t.Fatalf("the same list twice: %q then %q", first, again)
	}
	ctx := context.Background()
	row, err := srv.Index.Get(ctx, tenantATest, sandbox.FixturePolicyID)
	if err != nil {
		t.Fatal(err)
	}
	// Seen "later" than any sync page of this test can be, so that a head
	// poll running meanwhile does not write the upstream's name back.
	row.LastName, row.SeenAt = "Kalniņš", time.Now().Add(time.Hour)
	if err := srv.Index.Upsert(ctx, []index.Row{row}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(600 * time.Millisecond)
	rows := rowTexts(b.Page(t, path, http.StatusOK).Doc)
	if len(rows) != 1 || !strings.Contains(rows[0], "Jānis Kalniņš") {
		t.Errorf("after the change the list shows %q", rows)
	}
}

// TestListWhenTheIndexFails: an index that cannot be read costs search,
// not the list: the upstream's list shows, and says why.
func TestListWhenTheIndexFails(t *testing.T) {
	t.Parallel()
	srv := webtest.NewServer(t, webtest.Options{Sandbox: sandbox.Options{Policies: 100}, Index: true, IndexKeys: []string{sandbox.KeyASecretTest}})
	b := srv.SignedIn(t, sandbox.KeyASecretTest)
	if err := srv.Index.Close(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(600 * time.Millisecond) // past the kept tenant state
	r := b.Page(t, "/policies", http.StatusOK)
	if got := webtest.Text(r.Doc.Find(`[data-testid="freshness"]`)); !strings.Contains(got, "cannot be read just now") {
		t.Errorf("freshness = %q", got)
	}
	if rows := rowTexts(r.Doc); len(rows) == 0 {
		t.Error("no rows from the upstream")
	}
	if r.Doc.Find(`[data-testid="filters"]`).Length() != 0 {
		t.Error("filters offered without a readable index")
	}
}

// waitRow waits up to 5 s for the fixture tenant's row id to satisfy ok.
func waitRow(t *testing.T, idx index.Store, id string, ok func(index.Row) bool) {
	t.Helper()
	start := time.Now()
	deadline := start.Add(20 * time.Second)
	for {
		r, err := idx.Get(context.Background(), tenantATest, id)
		if err == nil && ok(r) {
			t.Logf("row %s as expected after %v", id, time.Since(start))
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("row %s: not as expected within 5s (%+v, %v)", id, r, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkEveryKeySeesItsOwnTenant: each demo key's list holds its own
// distributor and mode's policies alone (the fixture of A test, the live
// fixture of A live, B's own), and public keys never get an email.
func checkEveryKeySeesItsOwnTenant(t *testing.T, srv *webtest.Server) {
	ctx := context.Background()
	owner := map[string]string{
		sandbox.FixtureInsurerPolicyID: tenantATest,
		sandbox.FixtureLiveInsurerID:   indexsync.TenantOf(sandbox.KeyASecretLive, sandbox.DistributorAID),
	}
	other, err := srv.Index.Get(ctx, indexsync.TenantOf(sandbox.KeyBSecretTest, sandbox.DistributorBID), sandbox.FixtureOtherDistributorID)
	if err != nil {
		t.Fatal(err)
	}
	owner[other.InsurerID] = indexsync.TenantOf(sandbox.KeyBSecretTest, sandbox.DistributorBID)
	for _, c := range srv.Upstream.Sandbox.Credentials() {
		b := srv.SignedIn(t, c.Key)
		tenant := indexsync.TenantOf(c.Key, c.DistributorID)
		for id, want := range owner {
			// A prefix: the exact id would open the policy.
			r := b.Page(t, "/policies?q="+url.QueryEscape(strings.ToLower(id[:len(id)-1])), http.StatusOK)
			rows := rowTexts(r.Doc)
			got := len(rows) == 1 && strings.Contains(rows[0], id)
			if got != (want == tenant) {
				t.Errorf("%s (%s %s) searching %s: rows %q", c.DistributorName, c.Kind, c.Mode, id, rows)
			}
		}
		r := b.Page(t, "/policies?size=100", http.StatusOK)
		if c.Kind == "public" && strings.Contains(r.Body, "@example.") {
			t.Errorf("%s (%s %s): an email reaches a public key's list", c.DistributorName, c.Kind, c.Mode)
		}
		if c.Kind == "secret" && !strings.Contains(r.Body, "@") {
			t.Errorf("%s (%s %s): a secret key's list shows no email", c.DistributorName, c.Kind, c.Mode)
		}
	}
}

// seedZandas indexes, beside the synced ones, index.RankedMatches + 40
// policies of holders named Zanda, more than a relevance search ranks,
// and says how many.
func seedZandas(t *testing.T, srv *webtest.Server) int {
	t.Helper()
	srv.WaitIndexed(t)
	ctx := context.Background()
	template, err := srv.Index.Get(ctx, tenantATest, sandbox.FixturePolicyID)
	if err != nil {
		t.Fatal(err)
	}
	n := index.RankedMatches + 40
	rows := make([]index.Row, n)
	for i := range rows {
		r := template
		r.ID, r.InsurerID, r.ExternalID = fmt.Sprintf("tpol_cap%06d", i), fmt.Sprintf("CAP-%06d", i), ""
		r.FirstName, r.LastName, r.SeenAt = "Zanda", fmt.Sprintf("Ozoliņa%d", i%5), time.Now().Add(time.Hour)
		rows[i] = r
	}
	if err := srv.Index.Upsert(ctx, rows); err != nil {
		t.Fatal(err)
	}
	time.Sleep(600 * time.Millisecond) // the tenant's kept state
	return n
}

// TestBroadSearchSaysItIsCapped: a text matching more rows than a
// relevance search ranks says so and how to narrow it, pages end at the
// cap, and a column sort counts every match.
func TestBroadSearchSaysItIsCapped(t *testing.T) {
	t.Parallel()
	srv := webtest.NewServer(t, webtest.Options{Sandbox: sandbox.Options{Policies: 20}, Index: true, IndexKeys: []string{sandbox.KeyASecretTest}, IndexPoll: time.Hour})
	b := srv.SignedIn(t, sandbox.KeyASecretTest)
	n := seedZandas(t, srv)
	doc := b.Page(t, "/policies?q=zanda&size=100", http.StatusOK).Doc
	if got := strings.TrimSpace(doc.Find(`[data-testid="range"]`).Text()); !strings.Contains(got, "more than 1000") {
		t.Errorf("range reads %q", got)
	}
	if doc.Find(`[data-testid="capped"]`).Length() != 1 {
		t.Error("no note that the matches are capped")
	}
	if n := doc.Find("table tbody tr").Length(); n != 100 {
		t.Errorf("%d rows on the first page", n)
	}
	// Page 10 is the last ranked one; page 11 is past the end.
	if n := b.Page(t, "/policies?q=zanda&size=100&page=10", http.StatusOK).Doc.Find("table tbody tr").Length(); n != 100 {
		t.Errorf("%d rows on page 10", n)
	}
	sorted := b.Page(t, "/policies?q=zanda&size=100&sort=created_at", http.StatusOK).Doc
	if got := sorted.Find(`[data-testid="range"]`).Text(); !strings.Contains(got, fmt.Sprintf("of %d", n)) {
		t.Errorf("sorted range reads %q, want every one of %d matches", got, n)
	}
	if sorted.Find(`[data-testid="capped"]`).Length() != 0 {
		t.Error("a sorted search says it is capped")
	}
}
