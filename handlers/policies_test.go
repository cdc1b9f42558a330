package handlers_test

import (
	"context"
	"encoding/json"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"backoffice/apiclient/kasko"
	"backoffice/apiclient/push"
	"backoffice/internal/sandbox"
	"backoffice/web/webtest"
)

// fixturePath is the detail page of the sandbox's well-known policy
// (distributor A, test, paid, Home Contents Insurance, Europe/Riga,
// holder Jānis Bērziņš, net 2,500.00 EUR + 10 % tax).
const fixturePath = "/policies/" + sandbox.FixturePolicyID

// squash collapses the whitespace templ leaves between inline elements.
func squash(s string) string { return strings.Join(strings.Fields(s), " ") }

func textOf(sel *goquery.Selection) string { return squash(sel.Text()) }

// newPolicyServer starts a dashboard over a sandbox of n policies.
func newPolicyServer(t *testing.T, n int) *webtest.Server {
	t.Helper()
	return webtest.NewServer(t, webtest.Options{Sandbox: sandbox.Options{Policies: n}})
}

// signedIn returns an English-speaking browser signed in with key.
func signedIn(t *testing.T, srv *webtest.Server, key string) *webtest.Browser {
	t.Helper()
	b := srv.NewBrowser(t)
	b.Header.Set("Accept-Language", "en")
	b.SignIn(key)
	return b
}

// page fetches path and fails the test unless the answer has status want
// and is HTML.
func page(t *testing.T, b *webtest.Browser, path string, want int, header ...string) webtest.Response {
	t.Helper()
	r := b.Get(path, header...)
	if r.Status != want {
		t.Fatalf("GET %s = %d, want %d\n%.800s", path, r.Status, want, r.Body)
	}
	if r.Doc == nil {
		t.Fatalf("GET %s: not HTML (Content-Type %q)", path, r.Header.Get("Content-Type"))
	}
	return r
}

// upstream is the KASKO client bound to key, pointed straight at the
// sandbox: the source of truth the pages are compared with.
func upstream(t *testing.T, srv *webtest.Server, key string) *kasko.Client {
	t.Helper()
	c, err := kasko.New(srv.Upstream.KaskoURL)
	if err != nil {
		t.Fatal(err)
	}
	return c.WithKey(key)
}

func upstreamList(t *testing.T, srv *webtest.Server, key string, p kasko.ListParams) *kasko.PolicyPage {
	t.Helper()
	pg, err := upstream(t, srv, key).ListPolicies(context.Background(), p)
	if err != nil {
		t.Fatalf("upstream list %+v: %v", p, err)
	}
	return pg
}

func upstreamPolicy(t *testing.T, srv *webtest.Server, key, id string) *kasko.Policy {
	t.Helper()
	p, err := upstream(t, srv, key).GetPolicy(context.Background(), id)
	if err != nil {
		t.Fatalf("upstream get %s: %v", id, err)
	}
	return p
}

func insurerIDs(ps []kasko.Policy) []string {
	out := make([]string, len(ps))
	for i := range ps {
		out[i] = ps[i].InsurerPolicyID
	}
	return out
}

func rows(doc *goquery.Document) *goquery.Selection {
	return doc.Find(`[data-testid="policy-row"]`)
}

// rowIDs lists the insurer policy ids of the list's rows, in order.
func rowIDs(doc *goquery.Document) []string {
	var ids []string
	rows(doc).Each(func(_ int, row *goquery.Selection) {
		ids = append(ids, textOf(row.Find("td").First()))
	})
	return ids
}

// cells lists the text of column col (0-based) of every row.
func cells(doc *goquery.Document, col int) []string {
	var out []string
	rows(doc).Each(func(_ int, row *goquery.Selection) {
		out = append(out, textOf(row.Find("td").Eq(col)))
	})
	return out
}

// href returns the href of the one element sel matches.
func href(t *testing.T, sel *goquery.Selection, what string) string {
	t.Helper()
	if sel.Length() != 1 {
		t.Fatalf("%s: %d elements, want 1", what, sel.Length())
	}
	h, ok := sel.Attr("href")
	if !ok {
		t.Fatalf("%s has no href", what)
	}
	return h
}

// localURL parses a link of the dashboard and checks it stays on it.
func localURL(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil || u.Host != "" || !strings.HasPrefix(u.Path, "/") {
		t.Fatalf("link %q is not a local path (%v)", raw, err)
	}
	return u
}

// headerColumn finds a list column by its header label.
func headerColumn(t *testing.T, doc *goquery.Document, label string) *goquery.Selection {
	t.Helper()
	var found *goquery.Selection
	doc.Find("table.data thead th").Each(func(_ int, th *goquery.Selection) {
		if columnLabel(th) == label {
			found = th
		}
	})
	if found == nil {
		t.Fatalf("no column %q", label)
	}
	return found
}

// columnLabel is a header's text without its sort mark.
func columnLabel(th *goquery.Selection) string {
	return strings.TrimSpace(strings.TrimSuffix(textOf(th), textOf(th.Find(".sort-mark"))))
}

// checkErrorPage checks a full error page: its status, its message and
// that nothing of the list or of a stack trace leaks into it.
func checkErrorPage(t *testing.T, r webtest.Response, wantStatus int, wantMessage string) {
	t.Helper()
	if got := textOf(r.Doc.Find(`[data-testid="error-status"]`)); got != strconv.Itoa(wantStatus) {
		t.Errorf("error status shown = %q, want %d", got, wantStatus)
	}
	if got := textOf(r.Doc.Find(`[data-testid="error-message"]`)); got != wantMessage {
		t.Errorf("error message = %q, want %q", got, wantMessage)
	}
	if n := rows(r.Doc).Length(); n != 0 {
		t.Errorf("error page shows %d policy rows", n)
	}
	checkNoLeak(t, r.Doc.Selection)
}

// checkNoLeak fails when the visible text carries a Go stack trace or a
// piece of an upstream body (the sandbox's injected faults, its broken
// JSON or HTML).
func checkNoLeak(t *testing.T, sel *goquery.Selection) {
	t.Helper()
	text := sel.Text()
	for _, bad := range []string{"goroutine ", ".go:", "panic", "Injected fault", "Bad Gateway", `{"`, `"status"`, "tpol_"} {
		if strings.Contains(text, bad) {
			t.Errorf("page text contains %q:\n%.600s", bad, squash(text))
		}
	}
}

// productName is the display name the sandbox gives a product id.
func productName(t *testing.T, srv *webtest.Server, id string) string {
	t.Helper()
	for _, p := range srv.Upstream.Sandbox.Products() {
		if p.ProductID == id {
			return p.Name
		}
	}
	t.Fatalf("no sandbox product %s", id)
	return ""
}

// digits keeps the digits of a formatted amount: the minor units.
func digits(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}

// 1. The list: columns, rows and their values.

func TestPolicyListColumnsAndRows(t *testing.T) {
	t.Parallel()
	srv := newPolicyServer(t, 100)
	b := signedIn(t, srv, sandbox.KeyASecretTest)
	r := page(t, b, "/policies", http.StatusOK)

	wantCols := []struct {
		label    string
		sortable bool
		numeric  bool
	}{
		{"Policy", true, false},
		{"Holder", true, false},
		{"Email", true, false},
		{"Product", false, false},
		{"Status", true, false},
		{"Cover start", true, false},
		{"Cover end", true, false},
		{"Gross premium", true, true},
		{"Created", true, false},
	}
	ths := r.Doc.Find("table.data thead th")
	if ths.Length() != len(wantCols) {
		t.Fatalf("columns = %d, want %d", ths.Length(), len(wantCols))
	}
	for i, want := range wantCols {
		th := ths.Eq(i)
		if got := columnLabel(th); got != want.label {
			t.Errorf("column %d label = %q, want %q", i, got, want.label)
		}
		if got := th.Find(`a[data-testid="sort-link"]`).Length() == 1; got != want.sortable {
			t.Errorf("column %q sortable = %v, want %v", want.label, got, want.sortable)
		}
		if got := th.HasClass("num"); got != want.numeric {
			t.Errorf("column %q header class num = %v, want %v", want.label, got, want.numeric)
		}
		if th.AttrOr("scope", "") != "col" {
			t.Errorf("column %q has no scope=col", want.label)
		}
	}

	// The rows are the upstream's first page in its default order, one
	// per policy, each with its own values.
	up := upstreamList(t, srv, sandbox.KeyASecretTest, kasko.ListParams{Limit: 20, Sort: "-created_at"})
	trs := rows(r.Doc)
	if trs.Length() != 20 || len(up.Policies) != 20 {
		t.Fatalf("rows = %d (upstream %d), want the page size 20", trs.Length(), len(up.Policies))
	}
	trs.Each(func(i int, tr *goquery.Selection) {
		p := up.Policies[i]
		td := tr.Find("td")
		link := td.Eq(0).Find("a")
		if got := href(t, link, "row link"); got != "/policies/"+p.ID {
			t.Errorf("row %d links to %q, want /policies/%s", i, got, p.ID)
		}
		if got := textOf(link); got != p.InsurerPolicyID {
			t.Errorf("row %d id = %q, want %q", i, got, p.InsurerPolicyID)
		}
		if got := textOf(td.Eq(1)); got != p.FirstName+" "+p.LastName {
			t.Errorf("row %d holder = %q, want %q", i, got, p.FirstName+" "+p.LastName)
		}
		if got := textOf(td.Eq(2)); got != p.Email {
			t.Errorf("row %d email = %q, want %q", i, got, p.Email)
		}
		if got := textOf(td.Eq(3)); got != productName(t, srv, p.ProductID) {
			t.Errorf("row %d product = %q, want %q", i, got, productName(t, srv, p.ProductID))
		}
		badge := td.Eq(4).Find("span.badge").First()
		if !badge.HasClass("status-"+p.Status) || textOf(badge) != p.Status {
			t.Errorf("row %d status badge = %q class %q, want %q with status-%s", i, textOf(badge), badge.AttrOr("class", ""), p.Status, p.Status)
		}
		if got := td.Eq(4).Find("span.badge.expired").Length() == 1; got != p.Expired {
			t.Errorf("row %d expired badge = %v, want %v", i, got, p.Expired)
		}
		premium := td.Eq(7)
		if !premium.HasClass("num") {
			t.Errorf("row %d premium cell has no class num", i)
		}
		if got, want := digits(textOf(premium)), strconv.FormatInt(p.Quote.GrossPaymentAmount, 10); got != want {
			t.Errorf("row %d premium = %q, want the digits %s", i, textOf(premium), want)
		}
	})

	// The fixture's row, with exact values: find its page first.
	all := upstreamList(t, srv, sandbox.KeyASecretTest, kasko.ListParams{Limit: 100, Sort: "-created_at"})
	at := slices.Index(insurerIDs(all.Policies), sandbox.FixtureInsurerPolicyID)
	if at < 0 {
		t.Fatal("the fixture is not in the upstream list")
	}
	fp := page(t, b, "/policies?page="+strconv.Itoa(at/20+1), http.StatusOK)
	var fixture *goquery.Selection
	rows(fp.Doc).Each(func(_ int, tr *goquery.Selection) {
		if textOf(tr.Find("td").First()) == sandbox.FixtureInsurerPolicyID {
			fixture = tr
		}
	})
	if fixture == nil {
		t.Fatalf("fixture not on page %d", at/20+1)
	}
	want := []string{sandbox.FixtureInsurerPolicyID, "Jānis Bērziņš", "janis.berzins@example.com", "Home Contents Insurance", "paid"}
	for i, w := range want {
		if got := textOf(fixture.Find("td").Eq(i)); got != w {
			t.Errorf("fixture cell %d = %q, want %q", i, got, w)
		}
	}
	if got := textOf(fixture.Find("td").Eq(7)); got != "€2,750.00" {
		t.Errorf("fixture premium = %q, want €2,750.00", got)
	}
	if got := href(t, fixture.Find("td a"), "fixture link"); got != fixturePath {
		t.Errorf("fixture links to %q, want %q", got, fixturePath)
	}
}

// 2. Sorting.

func TestPolicyListSortHeaders(t *testing.T) {
	t.Parallel()
	srv := newPolicyServer(t, 100)
	tests := []struct {
		path     string
		label    string
		wantAria string // "" = no aria-sort (not sortable)
		wantLink string // sort= of the header link; "" = no link
	}{
		{"/policies", "Created", "descending", "created_at"},
		{"/policies", "Holder", "none", "last_name"},
		{"/policies", "Policy", "none", "insurer_policy_id"},
		{"/policies", "Email", "none", "email"},
		{"/policies", "Status", "none", "status"},
		{"/policies", "Cover start", "none", "start_date"},
		{"/policies", "Cover end", "none", "end_date"},
		{"/policies", "Gross premium", "none", "gross_premium"},
		{"/policies", "Product", "", ""},
		{"/policies?sort=last_name", "Holder", "ascending", "-last_name"},
		{"/policies?sort=last_name", "Created", "none", "created_at"},
		{"/policies?sort=-last_name", "Holder", "descending", "last_name"},
		{"/policies?sort=gross_premium&size=50", "Gross premium", "ascending", "-gross_premium"},
		{"/policies?sort=created_date", "Created", "ascending", "-created_at"},
		{"/policies?sort=-created_date", "Created", "descending", "created_at"},
	}
	for _, tt := range tests {
		t.Run(tt.path+" "+tt.label, func(t *testing.T) {
			b := signedIn(t, srv, sandbox.KeyASecretTest) // size= is remembered: a fresh browser each
			r := page(t, b, tt.path, http.StatusOK)
			th := headerColumn(t, r.Doc, tt.label)
			aria, has := th.Attr("aria-sort")
			if aria != tt.wantAria || has != (tt.wantAria != "") {
				t.Errorf("aria-sort = %q (present %v), want %q", aria, has, tt.wantAria)
			}
			link := th.Find(`a[data-testid="sort-link"]`)
			if tt.wantLink == "" {
				if link.Length() != 0 || th.Find("a").Length() != 0 {
					t.Error("an unsortable column has a link")
				}
				return
			}
			u := localURL(t, href(t, link, "sort link"))
			q := u.Query()
			wantSize := "20"
			if strings.Contains(tt.path, "size=50") {
				wantSize = "50"
			}
			if u.Path != "/policies" || q.Get("sort") != tt.wantLink || q.Get("size") != wantSize || q.Has("page") || q.Has("after") {
				t.Errorf("sort link = %q, want /policies with sort=%s size=%s and no page or cursor", u, tt.wantLink, wantSize)
			}
			if link.AttrOr("hx-get", "") != u.String() || link.AttrOr("hx-target", "") != "#policy-table" {
				t.Errorf("sort link htmx attributes = %q → %q", link.AttrOr("hx-get", ""), link.AttrOr("hx-target", ""))
			}
		})
	}
}

func TestPolicyListSortToggles(t *testing.T) {
	t.Parallel()
	srv := newPolicyServer(t, 100)
	b := signedIn(t, srv, sandbox.KeyASecretTest)
	path := "/policies"
	// Clicking Holder three times: ascending, descending, ascending.
	for i, want := range []struct{ sort, aria string }{{"last_name", "ascending"}, {"-last_name", "descending"}, {"last_name", "ascending"}} {
		r := page(t, b, path, http.StatusOK)
		path = href(t, headerColumn(t, r.Doc, "Holder").Find("a"), "Holder sort link")
		if got := localURL(t, path).Query().Get("sort"); got != want.sort {
			t.Fatalf("click %d goes to sort=%q, want %q", i+1, got, want.sort)
		}
		next := page(t, b, path, http.StatusOK)
		if got := headerColumn(t, next.Doc, "Holder").AttrOr("aria-sort", ""); got != want.aria {
			t.Errorf("after click %d Holder aria-sort = %q, want %q", i+1, got, want.aria)
		}
		if got := headerColumn(t, next.Doc, "Created").AttrOr("aria-sort", ""); got != "none" {
			t.Errorf("after click %d Created aria-sort = %q, want none", i+1, got)
		}
		if got := textOf(headerColumn(t, next.Doc, "Holder").Find(".sort-mark")); got != map[string]string{"ascending": "▲", "descending": "▼"}[want.aria] {
			t.Errorf("after click %d the sort mark is %q", i+1, got)
		}
	}
}

func TestPolicyListSortOrder(t *testing.T) {
	t.Parallel()
	srv := newPolicyServer(t, 100)
	b := signedIn(t, srv, sandbox.KeyASecretTest)
	lastWord := func(s string) string { return s[strings.LastIndex(s, " ")+1:] }
	same := func(s string) string { return s }
	byString := func(a, b string) int { return strings.Compare(a, b) }
	byNumber := func(a, b string) int {
		x, _ := strconv.ParseInt(digits(a), 10, 64)
		y, _ := strconv.ParseInt(digits(b), 10, 64)
		return int(x - y)
	}
	tests := []struct {
		sort string
		col  int                 // the column whose values must be in order; -1 = compare with upstream only
		key  func(string) string // the sort key within the cell
		cmp  func(a, b string) int
	}{
		{"-created_at", -1, nil, nil},
		{"created_at", -1, nil, nil},
		{"insurer_policy_id", 0, same, byString},
		{"-insurer_policy_id", 0, same, byString},
		{"last_name", 1, lastWord, byString},
		{"-last_name", 1, lastWord, byString},
		{"email", 2, same, byString},
		{"-email", 2, same, byString},
		{"status", -1, nil, nil},
		{"start_date", -1, nil, nil},
		{"-end_date", -1, nil, nil},
		{"gross_premium", 7, same, byNumber},
		{"-gross_premium", 7, same, byNumber},
	}
	for _, tt := range tests {
		t.Run(tt.sort, func(t *testing.T) {
			r := page(t, b, "/policies?sort="+tt.sort, http.StatusOK)
			got := rowIDs(r.Doc)
			want := insurerIDs(upstreamList(t, srv, sandbox.KeyASecretTest, kasko.ListParams{Limit: 20, Sort: tt.sort}).Policies)
			if !slices.Equal(got, want) {
				t.Errorf("rows = %v\nwant the upstream's %v", got, want)
			}
			if tt.col < 0 {
				return
			}
			vals := cells(r.Doc, tt.col)
			for i := 1; i < len(vals); i++ {
				c := tt.cmp(tt.key(vals[i-1]), tt.key(vals[i]))
				if strings.HasPrefix(tt.sort, "-") {
					c = -c
				}
				if c > 0 {
					t.Errorf("row %d %q comes before row %d %q", i-1, vals[i-1], i, vals[i])
				}
			}
			if slices.Equal(vals, slices.Repeat(vals[:1], len(vals))) {
				t.Error("all rows have the same value: the order proves nothing")
			}
		})
	}
	// Asking for the same sort in both directions gives different pages.
	asc := rowIDs(page(t, b, "/policies?sort=last_name", http.StatusOK).Doc)
	desc := rowIDs(page(t, b, "/policies?sort=-last_name", http.StatusOK).Doc)
	if slices.Equal(asc, desc) {
		t.Error("ascending and descending pages are the same")
	}
}

// 3. Pagination.

// pagerWindow renders the pager's numbered part as "1 2 [3] 4 5 … 26".
func pagerWindow(doc *goquery.Document) string {
	var parts []string
	doc.Find(`[data-testid="pager"]`).Children().Each(func(_ int, s *goquery.Selection) {
		switch {
		case s.HasClass("gap"):
			parts = append(parts, "…")
		case s.AttrOr("aria-current", "") == "page":
			parts = append(parts, "["+textOf(s)+"]")
		case strings.HasPrefix(s.AttrOr("aria-label", ""), "Page "):
			parts = append(parts, textOf(s))
		}
	})
	return strings.Join(parts, " ")
}

// pagerControl reports a first/prev/next/last control as its link, or ""
// when it is shown disabled; it fails when the control is missing.
func pagerControl(t *testing.T, doc *goquery.Document, rel, label string) string {
	t.Helper()
	pager := doc.Find(`[data-testid="pager"]`)
	link := pager.Find(`a[data-testid="pager-` + rel + `"]`)
	var disabled int
	pager.Find(`span.page.disabled[aria-disabled="true"]`).Each(func(_ int, s *goquery.Selection) {
		if textOf(s) == label {
			disabled++
		}
	})
	switch {
	case link.Length() == 1 && disabled == 0 && textOf(link) == label:
		return link.AttrOr("href", "")
	case link.Length() == 0 && disabled == 1:
		return ""
	}
	t.Fatalf("pager control %s: %d links, %d disabled", rel, link.Length(), disabled)
	return ""
}

func TestPolicyListPagination(t *testing.T) {
	t.Parallel()
	srv := newPolicyServer(t, 300)
	b := signedIn(t, srv, sandbox.KeyASecretTest)
	total := upstreamList(t, srv, sandbox.KeyASecretTest, kasko.ListParams{Limit: 1}).Meta.Total
	if total != 255 {
		t.Fatalf("the sandbox's distributor A has %d test policies, the cases below assume 255", total)
	}
	tests := []struct {
		query                      string
		wantRange                  string
		wantRows                   int
		wantWindow                 string
		wantFirst, wantPrev        bool // enabled
		wantNext, wantLast         bool
		wantPrevPage, wantNextPage int
		wantLastPage               int
		wantSize                   int
	}{
		{"size=10", "1–10 of 255", 10, "[1] 2 3 … 26", false, false, true, true, 0, 2, 26, 10},
		{"size=10&page=3", "21–30 of 255", 10, "1 2 [3] 4 5 … 26", true, true, true, true, 2, 4, 26, 10},
		{"size=10&page=11", "101–110 of 255", 10, "1 … 9 10 [11] 12 13 … 26", true, true, true, true, 10, 12, 26, 10},
		{"size=10&page=26", "251–255 of 255", 5, "1 … 24 25 [26]", true, true, false, false, 25, 0, 0, 10},
		{"size=50&page=3", "101–150 of 255", 50, "1 2 [3] 4 5 6", true, true, true, true, 2, 4, 6, 50},
		{"size=50&page=6&sort=last_name", "251–255 of 255", 5, "1 … 4 5 [6]", true, true, false, false, 5, 0, 0, 50},
		{"size=100&page=2", "101–200 of 255", 100, "1 [2] 3", true, true, true, true, 1, 3, 3, 100},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			r := page(t, b, "/policies?"+tt.query, http.StatusOK)
			q, _ := url.ParseQuery(tt.query)
			sort := q.Get("sort")
			if sort == "" {
				sort = "-created_at"
			}
			if got := textOf(r.Doc.Find(`[data-testid="range"]`)); got != tt.wantRange {
				t.Errorf("range = %q, want %q", got, tt.wantRange)
			}
			if got := rows(r.Doc).Length(); got != tt.wantRows {
				t.Errorf("rows = %d, want %d", got, tt.wantRows)
			}
			if got := pagerWindow(r.Doc); got != tt.wantWindow {
				t.Errorf("pager = %q, want %q", got, tt.wantWindow)
			}
			check := func(rel, label string, enabled bool, wantPage int) string {
				t.Helper()
				link := pagerControl(t, r.Doc, rel, label)
				if (link != "") != enabled {
					t.Errorf("%s enabled = %v, want %v", rel, link != "", enabled)
					return ""
				}
				if link == "" {
					return ""
				}
				lq := localURL(t, link).Query()
				gotPage := 1
				if lq.Has("page") {
					gotPage, _ = strconv.Atoi(lq.Get("page"))
				}
				if gotPage != wantPage || lq.Get("sort") != sort || lq.Get("size") != strconv.Itoa(tt.wantSize) {
					t.Errorf("%s → %q, want page %d, sort %s, size %d", rel, link, wantPage, sort, tt.wantSize)
				}
				if rel != "next" && lq.Has("after") {
					t.Errorf("%s link %q carries a cursor", rel, link)
				}
				return link
			}
			check("first", "First", tt.wantFirst, 1)
			check("prev", "Previous", tt.wantPrev, tt.wantPrevPage)
			check("last", "Last", tt.wantLast, tt.wantLastPage)
			next := check("next", "Next", tt.wantNext, tt.wantNextPage)

			// The rows are the upstream's rows at that offset.
			pageNo := 1
			if q.Has("page") {
				pageNo, _ = strconv.Atoi(q.Get("page"))
			}
			up := upstreamList(t, srv, sandbox.KeyASecretTest, kasko.ListParams{Limit: tt.wantSize, Offset: (pageNo - 1) * tt.wantSize, Sort: sort})
			ids := rowIDs(r.Doc)
			if !slices.Equal(ids, insurerIDs(up.Policies)) {
				t.Errorf("rows = %v\nwant %v", ids, insurerIDs(up.Policies))
			}
			current := r.Doc.Find(`[data-testid="sizes"] [aria-current="true"]`)
			if textOf(current) != strconv.Itoa(tt.wantSize) {
				t.Errorf("current size = %q, want %d", textOf(current), tt.wantSize)
			}
			sizeLinks := r.Doc.Find(`[data-testid="sizes"] a.size`)
			if sizeLinks.Length() != 3 {
				t.Errorf("size links = %d, want the 3 other sizes", sizeLinks.Length())
			}
			sizeLinks.Each(func(_ int, a *goquery.Selection) {
				lq := localURL(t, a.AttrOr("href", "")).Query()
				if lq.Get("sort") != sort || lq.Get("size") != textOf(a) || lq.Has("page") || lq.Has("after") {
					t.Errorf("size link %q should keep sort %s and go to page 1", a.AttrOr("href", ""), sort)
				}
			})

			// Next carries the cursor (the last row shown) and lands on
			// the same rows as the offset page.
			if next == "" {
				return
			}
			nq := localURL(t, next).Query()
			if len(ids) == 0 || nq.Get("after") != ids[len(ids)-1] {
				t.Errorf("next link %q: after = %q, want the last row %q", next, nq.Get("after"), ids[len(ids)-1])
			}
			viaCursor := page(t, b, next, http.StatusOK)
			nq.Del("after")
			viaOffset := page(t, b, "/policies?"+nq.Encode(), http.StatusOK)
			if a, o := rowIDs(viaCursor.Doc), rowIDs(viaOffset.Doc); len(a) == 0 || !slices.Equal(a, o) {
				t.Errorf("next via cursor = %v\nvia offset = %v", a, o)
			}
			if a, o := textOf(viaCursor.Doc.Find(`[data-testid="range"]`)), textOf(viaOffset.Doc.Find(`[data-testid="range"]`)); a != o {
				t.Errorf("range via cursor %q, via offset %q", a, o)
			}
		})
	}
}

func TestPolicyListStaleCursorFallsBack(t *testing.T) {
	t.Parallel()
	srv := newPolicyServer(t, 100)
	b := signedIn(t, srv, sandbox.KeyASecretTest)
	want := rowIDs(page(t, b, "/policies?size=10&page=3", http.StatusOK).Doc)
	last := page(t, b, "/policies?size=100", http.StatusOK).Doc.Find(`[data-testid="policy-row"] td:first-child`).Last()
	for _, after := range []string{
		textOf(last),                      // the very last row: an old bookmark, nothing after it
		"TEST-HOME-NOSUCHID",              // never existed
		"TEST-CYBER-5HT8W3ZN",             // another distributor's policy
		sandbox.FixtureLiveInsurerID,      // a live policy, not seen by a test key
		strings.Repeat("x", 90) + "/?#&=", // junk
	} {
		t.Run(after, func(t *testing.T) {
			before := srv.Upstream.Sandbox.Calls(sandbox.RouteListPolicies)
			r := page(t, b, "/policies?size=10&page=3&after="+url.QueryEscape(after), http.StatusOK)
			if got := rowIDs(r.Doc); !slices.Equal(got, want) {
				t.Errorf("rows = %v\nwant the offset page %v", got, want)
			}
			if got := textOf(r.Doc.Find(`[data-testid="range"]`)); !strings.HasPrefix(got, "21–30 of ") {
				t.Errorf("range = %q, want 21–30", got)
			}
			if n := srv.Upstream.Sandbox.Calls(sandbox.RouteListPolicies) - before; n != 2 {
				t.Errorf("upstream list calls = %d, want 2 (the cursor, then the offset)", n)
			}
		})
	}
}

func TestPolicyListPageSizePreference(t *testing.T) {
	t.Parallel()
	srv := newPolicyServer(t, 300)
	tests := []struct {
		size       string
		wantStatus int
		wantRows   int // on the page asked for
		wantLater  int // rows on a plain /policies afterwards
	}{
		{"10", http.StatusOK, 10, 10},
		{"20", http.StatusOK, 20, 20},
		{"50", http.StatusOK, 50, 50},
		{"100", http.StatusOK, 100, 100},
		{"0", http.StatusOK, 10, 10},
		{"-5", http.StatusOK, 10, 10},
		{"35", http.StatusOK, 50, 50},
		{"10000", http.StatusOK, 100, 100},
		{"abc", http.StatusBadRequest, 0, 20},
		{"1e3", http.StatusBadRequest, 0, 20},
	}
	for _, tt := range tests {
		t.Run(tt.size, func(t *testing.T) {
			b := signedIn(t, srv, sandbox.KeyASecretTest)
			r := page(t, b, "/policies?size="+tt.size, tt.wantStatus)
			if got := rows(r.Doc).Length(); got != tt.wantRows {
				t.Errorf("rows = %d, want %d", got, tt.wantRows)
			}
			if tt.wantStatus != http.StatusOK {
				checkErrorPage(t, r, tt.wantStatus, "The page size must be a number: 10, 20, 50 or 100.")
			} else if got := textOf(r.Doc.Find(`[data-testid="sizes"] [aria-current="true"]`)); got != strconv.Itoa(tt.wantRows) {
				t.Errorf("current size = %q, want %d", got, tt.wantRows)
			}
			later := page(t, b, "/policies", http.StatusOK)
			if got := rows(later.Doc).Length(); got != tt.wantLater {
				t.Errorf("next plain /policies rows = %d, want %d (remembered)", got, tt.wantLater)
			}
		})
	}
	// The preference is the browser's: another one keeps the default.
	other := signedIn(t, srv, sandbox.KeyASecretTest)
	if got := rows(page(t, other, "/policies", http.StatusOK).Doc).Length(); got != 20 {
		t.Errorf("another browser sees %d rows, want the default 20", got)
	}
}

// 4. Bad parameters.

func TestPolicyListBadParameters(t *testing.T) {
	t.Parallel()
	srv := newPolicyServer(t, 100)
	b := signedIn(t, srv, sandbox.KeyASecretTest)
	const (
		sortMsg = "The list cannot be sorted that way. Choose a column header to sort by."
		pageMsg = "The page number must be a whole number from 1 up."
		endMsg  = "This page is past the end of the list. Go back to the first page."
		sizeMsg = "The page size must be a number: 10, 20, 50 or 100."
	)
	tests := []struct {
		query         string
		wantStatus    int
		wantMessage   string
		wantUpstreams int // list calls the dashboard makes
	}{
		{"sort=premium", http.StatusBadRequest, sortMsg, 0},
		{"sort=-nope", http.StatusBadRequest, sortMsg, 0},
		{"sort=last_name,email", http.StatusBadRequest, sortMsg, 0},
		{"sort=--created_at", http.StatusBadRequest, sortMsg, 0},
		{"sort=-", http.StatusBadRequest, sortMsg, 0},
		{"sort=product", http.StatusBadRequest, sortMsg, 0},
		{"page=0", http.StatusBadRequest, pageMsg, 0},
		{"page=-1", http.StatusBadRequest, pageMsg, 0},
		{"page=abc", http.StatusBadRequest, pageMsg, 0},
		{"page=1.5", http.StatusBadRequest, pageMsg, 0},
		{"page=99999999999999999999", http.StatusBadRequest, pageMsg, 0},
		{"page=5", http.StatusOK, "", 1}, // 85 policies: page 5 is the last
		{"page=6", http.StatusNotFound, endMsg, 1},
		{"page=1000000", http.StatusNotFound, endMsg, 1},
		{"page=10&size=10&after=TEST-HOME-NOSUCHID", http.StatusNotFound, endMsg, 2},
		{"size=ten", http.StatusBadRequest, sizeMsg, 0},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			before := srv.Upstream.Sandbox.Calls(sandbox.RouteListPolicies)
			r := page(t, b, "/policies?"+tt.query, tt.wantStatus)
			if tt.wantStatus == http.StatusOK {
				if got := textOf(r.Doc.Find(`[data-testid="range"]`)); got != "81–85 of 85" {
					t.Errorf("last page range = %q", got)
				}
			} else {
				checkErrorPage(t, r, tt.wantStatus, tt.wantMessage)
			}
			if r.Doc.Find(`[data-testid="retry"]`).Length() != 0 {
				t.Error("a refused request offers to try again")
			}
			if n := srv.Upstream.Sandbox.Calls(sandbox.RouteListPolicies) - before; n != tt.wantUpstreams {
				t.Errorf("upstream list calls = %d, want %d", n, tt.wantUpstreams)
			}
		})
	}
}

// 5. htmx: one URL, page or fragment.

func TestPolicyListHTMXFragment(t *testing.T) {
	t.Parallel()
	srv := newPolicyServer(t, 100)
	b := signedIn(t, srv, sandbox.KeyASecretTest)
	const path = "/policies?sort=last_name&size=10&page=2"
	full := page(t, b, path, http.StatusOK)
	frag := page(t, b, path, http.StatusOK, "HX-Request", "true", "HX-Target", "policy-table", "HX-Current-URL", srv.URL+"/policies")
	tests := []struct {
		name     string
		r        webtest.Response
		wantFull bool
	}{
		{"plain", full, true},
		{"htmx", frag, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := tt.r.Doc
			if got := doc.Find("html").AttrOr("lang", "") == "en"; got != tt.wantFull {
				t.Errorf("<html lang> from the server = %v, want %v", got, tt.wantFull)
			}
			for _, sel := range []string{"head title", "header.site-header", "main#main", "#flash", `[data-testid="find-form"]`, `[data-testid="policy-table"]`, "footer"} {
				if got := doc.Find(sel).Length() == 1; got != tt.wantFull {
					t.Errorf("%s present = %v, want %v", sel, got, tt.wantFull)
				}
			}
			// Both carry the same table state.
			if got := rows(doc).Length(); got != 10 {
				t.Errorf("rows = %d, want 10", got)
			}
			if got := textOf(doc.Find(`[data-testid="range"]`)); got != "11–20 of 85" {
				t.Errorf("range = %q, want 11–20 of 85", got)
			}
			if got := pagerWindow(doc); got != "1 [2] 3 4 … 9" {
				t.Errorf("pager = %q", got)
			}
			if got := doc.Find(`input[type="hidden"][name="sort"][form="find-form"]`).AttrOr("value", ""); got != "last_name" {
				t.Errorf("find form's sort = %q, want last_name", got)
			}
			if !slices.Contains(tt.r.Header.Values("Vary"), "HX-Request") {
				t.Errorf("Vary = %q, want HX-Request", tt.r.Header.Values("Vary"))
			}
		})
	}
	if !slices.Equal(rowIDs(full.Doc), rowIDs(frag.Doc)) {
		t.Error("the fragment's rows differ from the page's")
	}
	// htmx aimed at another region, and a boosted navigation, get the page.
	for _, h := range [][]string{{"HX-Request", "true", "HX-Target", "flash"}, {"HX-Request", "true", "HX-Boosted", "true", "HX-Target", "policy-table"}} {
		r := page(t, b, path, http.StatusOK, h...)
		if r.Doc.Find("header.site-header").Length() != 1 {
			t.Errorf("%v: want the full page", h)
		}
	}
}

// 6. Find.

func TestPolicyFind(t *testing.T) {
	t.Parallel()
	srv := newPolicyServer(t, 100)
	b := signedIn(t, srv, sandbox.KeyASecretTest)
	long := "TEST-" + strings.Repeat("X", 96)
	tests := []struct {
		name           string
		q              string
		hx             bool
		wantStatus     int
		wantLocation   string // 303
		wantHXRedirect string // htmx
		wantAlert      string // the alert above the list
		wantBox        string // the find box afterwards
	}{
		{"insurer id", sandbox.FixtureInsurerPolicyID, false, http.StatusSeeOther, fixturePath, "", "", ""},
		{"kasko id", sandbox.FixturePolicyID, false, http.StatusSeeOther, fixturePath, "", "", ""},
		{"padded", "  " + sandbox.FixtureInsurerPolicyID + "\t", false, http.StatusSeeOther, fixturePath, "", "", ""},
		{"cancelled fixture", sandbox.FixtureCancelledInsurerID, false, http.StatusSeeOther, "/policies/" + sandbox.FixtureCancelledID, "", "", ""},
		{"htmx", sandbox.FixtureInsurerPolicyID, true, http.StatusNoContent, "", fixturePath, "", ""},
		{"miss", "TEST-HOME-NOSUCHID", false, http.StatusNotFound, "", "", "No policy “TEST-HOME-NOSUCHID” is visible to your key. Check the id; the list below is unchanged.", "TEST-HOME-NOSUCHID"},
		{"other distributor", sandbox.FixtureOtherDistributorID, false, http.StatusNotFound, "", "", "No policy “" + sandbox.FixtureOtherDistributorID + "” is visible to your key. Check the id; the list below is unchanged.", sandbox.FixtureOtherDistributorID},
		{"live policy with a test key", sandbox.FixtureLiveInsurerID, false, http.StatusNotFound, "", "", "No policy “" + sandbox.FixtureLiveInsurerID + "” is visible to your key. Check the id; the list below is unchanged.", sandbox.FixtureLiveInsurerID},
		{"empty", "", false, http.StatusBadRequest, "", "", "Enter a KASKO id (tpol_…) or an insurer policy id.", ""},
		{"blank", "   ", false, http.StatusBadRequest, "", "", "Enter a KASKO id (tpol_…) or an insurer policy id.", ""},
		{"slash", "tpol_1/../x", false, http.StatusBadRequest, "", "", "“tpol_1/../x” cannot be a policy id.", "tpol_1/../x"},
		{"question mark", "abc?def", false, http.StatusBadRequest, "", "", "“abc?def” cannot be a policy id.", "abc?def"},
		{"too long", long, false, http.StatusBadRequest, "", "", "“" + long + "” cannot be a policy id.", long},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h []string
			if tt.hx {
				h = []string{"HX-Request", "true"}
			}
			r := b.Get("/policies/find?q="+url.QueryEscape(tt.q), h...)
			if r.Status != tt.wantStatus {
				t.Fatalf("status = %d, want %d\n%.500s", r.Status, tt.wantStatus, r.Body)
			}
			if got := r.Header.Get("Location"); got != tt.wantLocation {
				t.Errorf("Location = %q, want %q", got, tt.wantLocation)
			}
			if got := r.Header.Get("HX-Redirect"); got != tt.wantHXRedirect {
				t.Errorf("HX-Redirect = %q, want %q", got, tt.wantHXRedirect)
			}
			if tt.wantAlert == "" {
				return
			}
			if r.Doc == nil {
				t.Fatal("a miss is not an HTML page")
			}
			alert := r.Doc.Find(`[data-testid="alert"]`)
			if alert.Length() != 1 || textOf(alert) != tt.wantAlert {
				t.Errorf("alert = %q (%d), want %q", textOf(alert), alert.Length(), tt.wantAlert)
			}
			if alert.AttrOr("role", "") != "alert" {
				t.Errorf("alert role = %q", alert.AttrOr("role", ""))
			}
			if got := r.Doc.Find("#find-q").AttrOr("value", ""); got != tt.wantBox {
				t.Errorf("find box = %q, want %q", got, tt.wantBox)
			}
			if got := rows(r.Doc).Length(); got != 20 {
				t.Errorf("the list under the alert has %d rows, want 20", got)
			}
		})
	}
	// Following the redirect opens the policy.
	r := page(t, b, fixturePath, http.StatusOK)
	if got := textOf(r.Doc.Find(`[data-testid="policy-id"]`)); got != sandbox.FixtureInsurerPolicyID {
		t.Errorf("after find the page shows %q", got)
	}
}

// 7. Detail.

// section finds a detail section by the id of its heading.
func section(t *testing.T, doc *goquery.Document, id string) *goquery.Selection {
	t.Helper()
	s := doc.Find(`section[aria-labelledby="` + id + `"]`)
	if s.Length() != 1 {
		t.Fatalf("section %s: %d found, want 1", id, s.Length())
	}
	return s
}

// field returns the <dd> labelled label within sel.
func field(t *testing.T, sel *goquery.Selection, label string) *goquery.Selection {
	t.Helper()
	var dd *goquery.Selection
	sel.Find("dl.fields > dt").Each(func(_ int, dt *goquery.Selection) {
		if textOf(dt) == label {
			dd = dt.Next()
		}
	})
	if dd == nil || !dd.Is("dd") {
		t.Fatalf("no field %q", label)
	}
	return dd
}

func TestPolicyDetail(t *testing.T) {
	t.Parallel()
	srv := newPolicyServer(t, 100)
	b := signedIn(t, srv, sandbox.KeyASecretTest)
	up := upstreamPolicy(t, srv, sandbox.KeyASecretTest, sandbox.FixturePolicyID)
	r := page(t, b, fixturePath, http.StatusOK)
	doc := r.Doc

	// Header.
	if got := textOf(doc.Find(`[data-testid="policy-id"]`)); got != sandbox.FixtureInsurerPolicyID {
		t.Errorf("heading = %q", got)
	}
	if got := textOf(doc.Find(".policy-head .subtitle")); got != "Jānis Bērziņš · Home Contents Insurance" {
		t.Errorf("subtitle = %q", got)
	}
	status := doc.Find(`[data-testid="status"]`)
	if textOf(status) != "paid" || !status.HasClass("status-paid") {
		t.Errorf("status badge = %q class %q", textOf(status), status.AttrOr("class", ""))
	}
	if got := textOf(doc.Find(".policy-head .badge.test")); got != "TEST" {
		t.Errorf("TEST badge = %q", got)
	}
	for _, sel := range []string{".badge.live", ".badge.expired", ".badge.locked"} {
		if doc.Find(".policy-head "+sel).Length() != 0 {
			t.Errorf("the fixture shows %s", sel)
		}
	}
	if got := doc.Find("head title").Text(); !strings.HasPrefix(got, sandbox.FixtureInsurerPolicyID) {
		t.Errorf("title = %q", got)
	}
	if got := doc.Find(`[data-testid="nav-policies"]`).AttrOr("aria-current", ""); got != "page" {
		t.Errorf("nav aria-current = %q", got)
	}

	// Sections, in order, with their headings.
	wantSections := []struct{ id, title string }{
		{"sec-holder", "Policyholder"},
		{"sec-cover", "Cover"},
		{"sec-premium", "Premium"},
		{"sec-data", "Product details"},
		{"sec-quote", "Quote input"},
		{"sec-metadata", "Metadata"},
		{"sec-documents", "Documents"},
		{"sec-ids", "Identifiers"},
		{"sec-timeline", "History"},
	}
	var gotIDs []string
	doc.Find(".detail-grid > section").Each(func(_ int, s *goquery.Selection) {
		gotIDs = append(gotIDs, s.AttrOr("aria-labelledby", ""))
	})
	var wantIDs []string
	for _, s := range wantSections {
		wantIDs = append(wantIDs, s.id)
		if got := textOf(section(t, doc, s.id).Find("h2#" + s.id)); got != s.title {
			t.Errorf("section %s heading = %q, want %q", s.id, got, s.title)
		}
	}
	if !slices.Equal(gotIDs, wantIDs) {
		t.Errorf("sections = %v, want %v (no cancellation for a paid policy)", gotIDs, wantIDs)
	}

	// Holder.
	holder := section(t, doc, "sec-holder")
	for _, f := range []struct{ label, want string }{
		{"First name", "Jānis"}, {"Last name", "Bērziņš"}, {"Email", "janis.berzins@example.com"}, {"Language", "lv"},
	} {
		if got := textOf(field(t, holder, f.label)); got != f.want {
			t.Errorf("%s = %q, want %q", f.label, got, f.want)
		}
	}

	// Cover: the dates are in the policy's zone, and say which.
	if got := textOf(doc.Find(`[data-testid="cover"] [data-testid="zone"]`)); !strings.Contains(got, "Europe/Riga") {
		t.Errorf("zone line = %q, want Europe/Riga", got)
	}

	// Product details come from the upstream's data.
	data := section(t, doc, "sec-data")
	for key, label := range map[string]string{"city": "City", "street": "Street", "postcode": "Postcode"} {
		if got := textOf(field(t, data, label)); got != up.Data[key] {
			t.Errorf("product detail %s = %q, want %q", label, got, up.Data[key])
		}
	}
	if data.Find(`[data-testid="restricted"]`).Length() != 0 {
		t.Error("a secret key sees restricted product details")
	}

	// Identifiers, each with a copy button holding exactly the value.
	ids := section(t, doc, "sec-ids")
	for _, f := range []struct{ label, want string }{
		{"KASKO id", sandbox.FixturePolicyID},
		{"Version", sandbox.FixtureVersionID},
		{"Insurer policy id", sandbox.FixtureInsurerPolicyID},
		{"Product id", up.ProductID},
		{"Distributor id", sandbox.DistributorAID},
		{"Customer id", up.CustomerID},
	} {
		dd := field(t, ids, f.label)
		if got := textOf(dd.Find("span.mono")); got != f.want {
			t.Errorf("%s = %q, want %q", f.label, got, f.want)
		}
		btn := dd.Find("button.copy")
		if btn.Length() != 1 || btn.AttrOr("data-copy", "") != f.want || btn.AttrOr("type", "") != "button" {
			t.Errorf("%s copy button: %d, data-copy %q", f.label, btn.Length(), btn.AttrOr("data-copy", ""))
		}
	}
	if productName(t, srv, up.ProductID) != "Home Contents Insurance" {
		t.Error("the fixture's product id is not the Home product")
	}

	// Raw JSON parses and is this policy.
	var raw map[string]any
	if err := json.Unmarshal([]byte(doc.Find(`pre[data-testid="raw-json"]`).Text()), &raw); err != nil {
		t.Fatalf("raw JSON does not parse: %v", err)
	}
	if raw["id"] != sandbox.FixturePolicyID || raw["insurer_policy_id"] != sandbox.FixtureInsurerPolicyID || raw["email"] != "janis.berzins@example.com" {
		t.Errorf("raw JSON is another policy: id %v, insurer id %v", raw["id"], raw["insurer_policy_id"])
	}

	// Documents: three assets and one scan, each through the dashboard.
	wantDocs := []struct{ name, kind, url string }{
		{"Policydoc.pdf", "policy_document", fixturePath + "/documents/asset/0"},
		{"Invoice.pdf", "invoice", fixturePath + "/documents/asset/1"},
		{"Terms.pdf", "terms_and_conditions", fixturePath + "/documents/asset/2"},
		{"Scan 1", "id_scan", fixturePath + "/documents/media/0"},
	}
	links := doc.Find(`[data-testid="documents"] a[data-testid="document-link"]`)
	if links.Length() != len(wantDocs) {
		t.Fatalf("document links = %d, want %d", links.Length(), len(wantDocs))
	}
	for i, w := range wantDocs {
		a := links.Eq(i)
		if got := a.AttrOr("href", ""); got != w.url {
			t.Errorf("document %d → %q, want %q", i, got, w.url)
		}
		if got := textOf(a); got != w.name {
			t.Errorf("document %d name = %q, want %q", i, got, w.name)
		}
		if got := textOf(a.Next()); got != w.kind {
			t.Errorf("document %d kind = %q, want %q", i, got, w.kind)
		}
		if _, ok := a.Attr("download"); !ok {
			t.Errorf("document %d link has no download attribute", i)
		}
	}

	// Back goes to the plain list, or to the list the user came from.
	if got := doc.Find(`[data-testid="back"]`).AttrOr("href", ""); got != "/policies" {
		t.Errorf("back = %q, want /policies", got)
	}
	from := page(t, b, fixturePath, http.StatusOK, "Referer", srv.URL+"/policies?sort=last_name&page=3")
	if got := from.Doc.Find(`[data-testid="back"]`).AttrOr("href", ""); got != "/policies?sort=last_name&page=3" {
		t.Errorf("back from a list page = %q", got)
	}
	foreign := page(t, b, fixturePath, http.StatusOK, "Referer", "https://evil.example/policies?x=1")
	if got := foreign.Doc.Find(`[data-testid="back"]`).AttrOr("href", ""); got != "/policies" {
		t.Errorf("back with a foreign referrer = %q", got)
	}

	// The detail is reachable by the insurer policy id too.
	alias := page(t, b, "/policies/"+sandbox.FixtureInsurerPolicyID, http.StatusOK)
	if got := textOf(section(t, alias.Doc, "sec-ids").Find("span.mono").First()); got != sandbox.FixturePolicyID {
		t.Errorf("detail by insurer id shows %q", got)
	}

	// A live policy, read with a live key, says LIVE instead.
	live := page(t, signedIn(t, srv, sandbox.KeyASecretLive), "/policies/"+sandbox.FixtureLiveID, http.StatusOK)
	if got, test := textOf(live.Doc.Find(".policy-head .badge.live")), live.Doc.Find(".policy-head .badge.test").Length(); got != "LIVE" || test != 0 {
		t.Errorf("live policy badges: LIVE %q, TEST %d", got, test)
	}
}

func TestPolicyDetailCancelled(t *testing.T) {
	t.Parallel()
	srv := newPolicyServer(t, 100)
	b := signedIn(t, srv, sandbox.KeyASecretTest)
	r := page(t, b, "/policies/"+sandbox.FixtureCancelledID, http.StatusOK)
	if got := textOf(r.Doc.Find(`[data-testid="status"]`)); got != "cancelled" {
		t.Errorf("status = %q", got)
	}
	c := section(t, r.Doc, "sec-cancellation")
	if got := textOf(c.Find("h2")); got != "Cancellation" {
		t.Errorf("heading = %q", got)
	}
	if got := textOf(field(t, c, "Reason")); got != "Customer request" {
		t.Errorf("reason = %q", got)
	}
	if got := textOf(field(t, c, "Cancelled by")); got != sandbox.DistributorAID {
		t.Errorf("cancelled by = %q", got)
	}
	if got := textOf(field(t, c, "Cancelled at")); got == "" || got == "—" {
		t.Errorf("cancelled at = %q", got)
	}
	// Bike theft (Berlin) carries 19 % premium tax.
	if got := textOf(field(t, section(t, r.Doc, "sec-premium"), "Tax rate")); got != "19%" {
		t.Errorf("tax rate = %q, want 19%%", got)
	}
	if got := textOf(r.Doc.Find(`[data-testid="zone"]`)); !strings.Contains(got, "Europe/Berlin") {
		t.Errorf("zone = %q", got)
	}
}

func TestPolicyDetailMoneyPerLanguage(t *testing.T) {
	t.Parallel()
	srv := newPolicyServer(t, 100)
	const nbsp = "\u00a0"
	// The fixture: net 2,500.00 EUR, 10 % tax 250.00, gross 2,750.00,
	// commission 15 % of net 375.00.
	tests := []struct {
		name       string
		choose     func(t *testing.T, b *webtest.Browser)
		wantLang   string
		wantTitle  string // the premium section's heading
		wantLabels []string
		wantValues []string
	}{
		{"english by default", func(*testing.T, *webtest.Browser) {}, "en", "Premium",
			[]string{"Gross premium", "Premium tax", "Net premium", "Commission", "Tax rate", "Amount paid"},
			[]string{"€2,750.00", "€250.00", "€2,500.00", "€375.00", "10%", "€2,750.00"}},
		{"german by preference", func(t *testing.T, b *webtest.Browser) {
			t.Helper()
			r := b.Post("/preferences/language", url.Values{"lang": {"de"}, "return": {fixturePath}})
			if r.Status != http.StatusSeeOther || r.Header.Get("Location") != fixturePath {
				t.Fatalf("language switch = %d → %q", r.Status, r.Header.Get("Location"))
			}
		}, "de", "Prämie",
			nil,
			[]string{"2.750,00" + nbsp + "€", "250,00" + nbsp + "€", "2.500,00" + nbsp + "€", "375,00" + nbsp + "€", "10" + nbsp + "%", "2.750,00" + nbsp + "€"}},
		// CLDR's Romanian symbol for the euro is "EUR".
		{"romanian by Accept-Language", func(_ *testing.T, b *webtest.Browser) { b.Header.Set("Accept-Language", "ro-RO,ro;q=0.9") }, "ro", "",
			nil,
			[]string{"2.750,00" + nbsp + "EUR", "250,00" + nbsp + "EUR", "2.500,00" + nbsp + "EUR", "375,00" + nbsp + "EUR", "10" + nbsp + "%", "2.750,00" + nbsp + "EUR"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := signedIn(t, srv, sandbox.KeyASecretTest)
			tt.choose(t, b)
			r := page(t, b, fixturePath, http.StatusOK)
			if got := r.Doc.Find("html").AttrOr("lang", ""); got != tt.wantLang {
				t.Errorf("lang = %q, want %q", got, tt.wantLang)
			}
			sec := section(t, r.Doc, "sec-premium")
			if tt.wantTitle != "" {
				if got := textOf(sec.Find("h2")); got != tt.wantTitle {
					t.Errorf("heading = %q, want %q", got, tt.wantTitle)
				}
			}
			dts, dds := sec.Find("dl.fields > dt"), sec.Find("dl.fields > dd")
			if dds.Length() != len(tt.wantValues) {
				t.Fatalf("premium fields = %d, want %d", dds.Length(), len(tt.wantValues))
			}
			for i, want := range tt.wantValues {
				if got := strings.TrimSpace(dds.Eq(i).Text()); got != want {
					t.Errorf("premium field %d (%s) = %q, want %q", i, textOf(dts.Eq(i)), got, want)
				}
				if tt.wantLabels != nil && textOf(dts.Eq(i)) != tt.wantLabels[i] {
					t.Errorf("premium label %d = %q, want %q", i, textOf(dts.Eq(i)), tt.wantLabels[i])
				}
			}
		})
	}
}

// 8. Documents.

func TestPolicyDocuments(t *testing.T) {
	t.Parallel()
	srv := newPolicyServer(t, 100)
	b := signedIn(t, srv, sandbox.KeyASecretTest)
	other := upstreamList(t, srv, sandbox.KeyBSecretTest, kasko.ListParams{Limit: 1}).Policies[0].ID
	tests := []struct {
		path         string
		wantStatus   int
		wantFileName string // ASCII filename= of Content-Disposition
	}{
		{fixturePath + "/documents/asset/0", http.StatusOK, "Policydoc.pdf"},
		{fixturePath + "/documents/asset/1", http.StatusOK, "Invoice.pdf"},
		{fixturePath + "/documents/asset/2", http.StatusOK, "Terms.pdf"},
		{fixturePath + "/documents/media/0", http.StatusOK, "Scan 1.pdf"},
		{"/policies/" + sandbox.FixtureInsurerPolicyID + "/documents/asset/0", http.StatusOK, "Policydoc.pdf"},
		{fixturePath + "/documents/asset/3", http.StatusNotFound, ""},
		{fixturePath + "/documents/asset/99999999999999999999", http.StatusNotFound, ""},
		{fixturePath + "/documents/asset/-1", http.StatusNotFound, ""},
		{fixturePath + "/documents/asset/x", http.StatusNotFound, ""},
		{fixturePath + "/documents/media/1", http.StatusNotFound, ""},
		{fixturePath + "/documents/assets/0", http.StatusNotFound, ""},
		{fixturePath + "/documents/invoice/0", http.StatusNotFound, ""},
		{fixturePath + "/documents/asset/0/x", http.StatusNotFound, ""},
		{"/policies/tpol_00000000000000000000000000000/documents/asset/0", http.StatusNotFound, ""},
		{"/policies/" + other + "/documents/asset/0", http.StatusNotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			r := b.Get(tt.path)
			if r.Status != tt.wantStatus {
				t.Fatalf("status = %d, want %d\n%.300s", r.Status, tt.wantStatus, r.Body)
			}
			for name, vals := range r.Header {
				for _, v := range vals {
					for _, secret := range []string{sandbox.KeyASecretTest, "signature=", "expires=", srv.Upstream.URL} {
						if strings.Contains(v, secret) {
							t.Errorf("header %s = %q carries %q", name, v, secret)
						}
					}
				}
			}
			if strings.Contains(r.Body, sandbox.KeyASecretTest) || strings.Contains(r.Body, "signature=") {
				t.Error("the body carries the key or a signed link")
			}
			if tt.wantStatus != http.StatusOK {
				checkErrorPage(t, r, tt.wantStatus, "There is nothing at this address. It may have been removed, or the link is wrong.")
				return
			}
			if got := r.Header.Get("Content-Type"); got != "application/pdf" {
				t.Errorf("Content-Type = %q", got)
			}
			disp := r.Header.Get("Content-Disposition")
			if kind, params, err := mime.ParseMediaType(disp); err != nil || kind != "attachment" || params["filename"] != tt.wantFileName {
				t.Errorf("Content-Disposition = %q, want attachment with filename %q", disp, tt.wantFileName)
			}
			if !strings.HasPrefix(r.Body, "%PDF-") {
				t.Errorf("body starts %q, want %%PDF-", r.Body[:min(len(r.Body), 10)])
			}
			if got := r.Header.Get("Cache-Control"); got != "private, no-store" {
				t.Errorf("Cache-Control = %q", got)
			}
			if got := r.Header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options = %q", got)
			}
			if n, err := strconv.Atoi(r.Header.Get("Content-Length")); err == nil && n != len(r.Body) {
				t.Errorf("Content-Length %d, body %d bytes", n, len(r.Body))
			}
		})
	}
}

// expiringClock is a sandbox clock that jumps far ahead once the first
// document download starts, so that the signed link the dashboard got
// just before has expired.
type expiringClock struct {
	start time.Time
	sb    atomic.Pointer[sandbox.Sandbox]
	// always: every answer is an hour later than the one before, so no
	// signed link ever survives until it is used.
	always bool
	ticks  atomic.Int64
}

func (c *expiringClock) now() time.Time {
	if c.always {
		return c.start.Add(time.Duration(c.ticks.Add(1)) * time.Hour)
	}
	if sb := c.sb.Load(); sb != nil && sb.Calls(sandbox.RoutePolicyAsset) > 0 {
		return c.start.Add(time.Hour)
	}
	return c.start
}

func TestPolicyDocumentExpiredLinkIsRenewed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		always      bool
		wantStatus  int
		wantGets    int // upstream GET /policies/{id}
		wantAssets  int // requests to the signed link
		wantMessage string
	}{
		{"renewed once", false, http.StatusOK, 2, 2, ""},
		{"still expired after renewal", true, http.StatusBadGateway, 2, 2, "The insurance service did not answer properly. Nothing was changed by this page; try again in a moment."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := &expiringClock{start: time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC), always: tt.always}
			srv := webtest.NewServer(t, webtest.Options{Sandbox: sandbox.Options{Policies: 100, AssetURLTTL: 2 * time.Second, Now: clk.now}})
			clk.sb.Store(srv.Upstream.Sandbox)
			b := signedIn(t, srv, sandbox.KeyASecretTest)
			r := b.Get(fixturePath + "/documents/asset/0")
			if r.Status != tt.wantStatus {
				t.Fatalf("status = %d, want %d\n%.300s", r.Status, tt.wantStatus, r.Body)
			}
			if n := srv.Upstream.Sandbox.Calls(sandbox.RouteGetPolicy); n != tt.wantGets {
				t.Errorf("policy reads = %d, want %d", n, tt.wantGets)
			}
			if n := srv.Upstream.Sandbox.Calls(sandbox.RoutePolicyAsset); n != tt.wantAssets {
				t.Errorf("downloads = %d, want %d", n, tt.wantAssets)
			}
			if tt.wantStatus == http.StatusOK {
				if !strings.HasPrefix(r.Body, "%PDF-") || r.Header.Get("Content-Type") != "application/pdf" {
					t.Errorf("renewed download is not the PDF (%q)", r.Header.Get("Content-Type"))
				}
				return
			}
			checkErrorPage(t, r, tt.wantStatus, tt.wantMessage)
		})
	}
}

// 9. Policies the key may not see.

func TestPolicyDetailNotFound(t *testing.T) {
	t.Parallel()
	srv := newPolicyServer(t, 100)
	// A policy of distributor B, found with B's key.
	bb := signedIn(t, srv, sandbox.KeyBSecretTest)
	list := page(t, bb, "/policies", http.StatusOK)
	otherPath := href(t, rows(list.Doc).First().Find("td a"), "B's first row")
	if !strings.HasPrefix(otherPath, "/policies/tpol_") {
		t.Fatalf("B's row links to %q", otherPath)
	}
	page(t, bb, otherPath, http.StatusOK)

	a := signedIn(t, srv, sandbox.KeyASecretTest)
	const msg = "There is nothing at this address. It may have been removed, or the link is wrong."
	tests := []struct {
		name         string
		path         string
		wantUpstream bool // the upstream was asked (its request id is shown)
	}{
		{"unknown id", "/policies/tpol_00000000000000000000000000000", true},
		{"unknown insurer id", "/policies/TEST-HOME-NOSUCHID", true},
		{"another distributor's policy", otherPath, true},
		{"another distributor's fixture", "/policies/" + sandbox.FixtureOtherDistributorID, true},
		{"a live policy with a test key", "/policies/" + sandbox.FixtureLiveID, true},
		{"absurdly long id", "/policies/tpol_" + strings.Repeat("0", 200), false},
		{"unknown page under a policy", fixturePath + "/nothing", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := srv.Upstream.Sandbox.Calls(sandbox.RouteGetPolicy)
			r := page(t, a, tt.path, http.StatusNotFound)
			checkErrorPage(t, r, http.StatusNotFound, msg)
			if got := srv.Upstream.Sandbox.Calls(sandbox.RouteGetPolicy) > before; got != tt.wantUpstream {
				t.Errorf("upstream asked = %v, want %v", got, tt.wantUpstream)
			}
			id := textOf(r.Doc.Find(`[data-testid="request-id"]`))
			if got := strings.Contains(id, "req_"); got != tt.wantUpstream {
				t.Errorf("request id %q: upstream's = %v, want %v", id, got, tt.wantUpstream)
			}
			if r.Doc.Find(`[data-testid="retry"]`).Length() != 0 {
				t.Error("a missing policy offers to try again")
			}
		})
	}
}

// 10. Upstream faults.

func TestPolicyPagesUpstreamFaults(t *testing.T) {
	t.Parallel()
	srv := webtest.NewServer(t, webtest.Options{Sandbox: sandbox.Options{Policies: 100}, UpstreamTimeout: 250 * time.Millisecond})
	b := signedIn(t, srv, sandbox.KeyASecretTest)
	const (
		unavailable = "The insurance service did not answer properly. Nothing was changed by this page; try again in a moment."
		timeout     = "The insurance service took too long to answer. The outcome is unknown: check the current state before you try again."
	)
	failing := sandbox.Faults{ErrorRate: 1}
	broken := sandbox.Faults{MalformedRate: 1}
	slow := sandbox.Faults{Latency: 2 * time.Second}
	tests := []struct {
		name           string
		path           string
		faults         sandbox.Faults
		hx             bool
		wantStatus     int
		wantMessage    string
		wantUpstreamID bool // the id shown is the upstream's, else the dashboard's own
		wantRetry      bool
	}{
		{"list down", "/policies?sort=last_name&page=2", failing, false, http.StatusBadGateway, unavailable, true, true},
		{"detail down", fixturePath, failing, false, http.StatusBadGateway, unavailable, true, true},
		{"document down", fixturePath + "/documents/asset/0", failing, false, http.StatusBadGateway, unavailable, true, true},
		{"find down", "/policies/find?q=" + sandbox.FixtureInsurerPolicyID, failing, false, http.StatusBadGateway, unavailable, true, true},
		{"list malformed", "/policies?sort=-created_at", broken, false, http.StatusBadGateway, unavailable, true, true},
		{"detail malformed", fixturePath, broken, false, http.StatusBadGateway, unavailable, true, true},
		{"list slow", "/policies?page=2", slow, false, http.StatusGatewayTimeout, timeout, false, true},
		{"detail slow", fixturePath, slow, false, http.StatusGatewayTimeout, timeout, false, true},
		{"htmx list down", "/policies?page=2", failing, true, http.StatusBadGateway, unavailable, true, false},
		{"htmx list malformed", "/policies?page=2", broken, true, http.StatusBadGateway, unavailable, true, false},
		{"htmx list slow", "/policies?page=2", slow, true, http.StatusGatewayTimeout, timeout, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv.Upstream.Sandbox.SetFaults(tt.faults)
			defer srv.Upstream.Sandbox.SetFaults(sandbox.Faults{})
			var h []string
			if tt.hx {
				h = []string{"HX-Request", "true", "HX-Target", "policy-table", "HX-Current-URL", srv.URL + tt.path}
			}
			start := time.Now()
			r := page(t, b, tt.path, tt.wantStatus, h...)
			if took := time.Since(start); took > 1500*time.Millisecond {
				t.Errorf("the answer took %v: the upstream timeout did not hold", took)
			}
			ownID := r.Header.Get("X-Request-Id")
			var msg, shownID *goquery.Selection
			if tt.hx {
				if r.Header.Get("HX-Retarget") != "#flash" || r.Header.Get("HX-Reswap") != "innerHTML" {
					t.Errorf("HX-Retarget %q HX-Reswap %q, want #flash innerHTML", r.Header.Get("HX-Retarget"), r.Header.Get("HX-Reswap"))
				}
				for _, sel := range []string{"head title", "header.site-header", `[data-testid="error-status"]`, `[data-testid="policy-row"]`} {
					if r.Doc.Find(sel).Length() != 0 {
						t.Errorf("the htmx answer contains %s", sel)
					}
				}
				alert := r.Doc.Find(`[data-testid="alert"]`)
				if alert.Length() != 1 || alert.AttrOr("role", "") != "alert" {
					t.Fatalf("htmx answer has %d alerts", alert.Length())
				}
				shownID = alert.Find(".request-id")
				msg = alert.Clone()
				msg.Find(".request-id").Remove()
			} else {
				checkErrorPage(t, r, tt.wantStatus, tt.wantMessage)
				msg = r.Doc.Find(`[data-testid="error-message"]`)
				shownID = r.Doc.Find(`[data-testid="request-id"]`)
				if r.Header.Get("HX-Retarget") != "" {
					t.Error("a plain request got HX-Retarget")
				}
			}
			checkNoLeak(t, r.Doc.Selection)
			if got := textOf(msg); got != tt.wantMessage {
				t.Errorf("message = %q, want %q", got, tt.wantMessage)
			}
			id := strings.TrimPrefix(textOf(shownID), "Request id: ")
			if tt.wantUpstreamID {
				if !strings.HasPrefix(id, "req_") || id == ownID {
					t.Errorf("request id shown = %q, want the upstream's req_…", id)
				}
			} else if id != ownID || ownID == "" {
				t.Errorf("request id shown = %q, want the dashboard's %q", id, ownID)
			}
			retry := r.Doc.Find(`[data-testid="retry"]`)
			if got := retry.Length() == 1; got != tt.wantRetry {
				t.Fatalf("retry link = %v, want %v", got, tt.wantRetry)
			}
			if tt.wantRetry && retry.AttrOr("href", "") != tt.path {
				t.Errorf("retry → %q, want the same URL %q", retry.AttrOr("href", ""), tt.path)
			}
		})
	}
	// The retry link works once the upstream is back.
	srv.Upstream.Sandbox.SetFaults(sandbox.Faults{})
	if r := page(t, b, "/policies?sort=last_name&page=2", http.StatusOK); rows(r.Doc).Length() != 20 {
		t.Error("the retried list is not the list")
	}
}

// 11. Session.

func TestPolicyPagesNeedSignIn(t *testing.T) {
	t.Parallel()
	srv := newPolicyServer(t, 100)
	const path = "/policies?sort=last_name&page=2"
	tests := []struct {
		name           string
		path           string
		header         []string
		wantStatus     int
		wantLocation   string
		wantHXRedirect string
	}{
		{"list", path, nil, http.StatusSeeOther, "/signin?next=" + url.QueryEscape(path), ""},
		{"detail", fixturePath, nil, http.StatusSeeOther, "/signin?next=" + url.QueryEscape(fixturePath), ""},
		{"document", fixturePath + "/documents/asset/0", nil, http.StatusSeeOther, "/signin?next=" + url.QueryEscape(fixturePath+"/documents/asset/0"), ""},
		{"find", "/policies/find?q=x", nil, http.StatusSeeOther, "/signin?next=" + url.QueryEscape("/policies/find?q=x"), ""},
		{"htmx list", "/policies?page=3&size=10", []string{"HX-Request", "true", "HX-Target", "policy-table", "HX-Current-URL", srv.URL + path}, http.StatusUnauthorized, "", "/signin?next=" + url.QueryEscape(path)},
		{"htmx without current URL", "/policies?page=3", []string{"HX-Request", "true"}, http.StatusUnauthorized, "", "/signin?next=" + url.QueryEscape("/policies?page=3")},
		{"htmx with a foreign current URL keeps only its path", "/policies?page=3", []string{"HX-Request", "true", "HX-Current-URL", "//evil.example/x?y=1"}, http.StatusUnauthorized, "", "/signin?next=" + url.QueryEscape("/x?y=1")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := srv.Upstream.Sandbox.Calls(sandbox.RouteListPolicies) + srv.Upstream.Sandbox.Calls(sandbox.RouteGetPolicy)
			r := srv.NewBrowser(t).Get(tt.path, tt.header...)
			if r.Status != tt.wantStatus {
				t.Fatalf("status = %d, want %d", r.Status, tt.wantStatus)
			}
			if got := r.Header.Get("Location"); got != tt.wantLocation {
				t.Errorf("Location = %q, want %q", got, tt.wantLocation)
			}
			if got := r.Header.Get("HX-Redirect"); got != tt.wantHXRedirect {
				t.Errorf("HX-Redirect = %q, want %q", got, tt.wantHXRedirect)
			}
			if n := srv.Upstream.Sandbox.Calls(sandbox.RouteListPolicies) + srv.Upstream.Sandbox.Calls(sandbox.RouteGetPolicy) - before; n != 0 {
				t.Errorf("%d upstream calls without a sign-in", n)
			}
		})
	}

	// The whole round trip: redirected, sign in from that page, back.
	b := srv.NewBrowser(t)
	b.Header.Set("Accept-Language", "en")
	loc := b.Get(path).Header.Get("Location")
	signin := page(t, b, loc, http.StatusOK)
	next := signin.Doc.Find(`#key-form input[type="hidden"][name="next"]`)
	if next.AttrOr("value", "") != path {
		t.Fatalf("sign-in form next = %q, want %q", next.AttrOr("value", ""), path)
	}
	r := b.Post("/signin", url.Values{"key": {sandbox.KeyASecretTest}, "next": {next.AttrOr("value", "")}})
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != path {
		t.Fatalf("sign-in = %d → %q, want 303 → %q", r.Status, r.Header.Get("Location"), path)
	}
	back := page(t, b, r.Header.Get("Location"), http.StatusOK)
	if got := headerColumn(t, back.Doc, "Holder").AttrOr("aria-sort", ""); got != "ascending" {
		t.Errorf("back on the list, sorted %q", got)
	}
	if got := textOf(back.Doc.Find(`[data-testid="range"]`)); got != "21–40 of 85" {
		t.Errorf("back on the list, range %q", got)
	}
}

// 12. Escaping.

func TestPolicyPagesEscapeUpstreamText(t *testing.T) {
	t.Parallel()
	srv := newPolicyServer(t, 100)
	pc, err := push.New(srv.Upstream.PushURL)
	if err != nil {
		t.Fatal(err)
	}
	const (
		first = `<script>alert(1)</script>`
		last  = `<img src=x onerror=alert(2)>`
		note  = `</dd><script>alert(3)</script>`
		tag   = `"><b onmouseover=alert(4)>x</b>`
	)
	_, err = pc.WithKey(sandbox.KeyASecretTest).CreatePolicy(context.Background(), push.CreateRequest{
		VariantID: sandbox.ARAGVariantID,
		Input: push.Input{
			FirstName: first, LastName: last, Email: "xss@example.com",
			Data:     push.InputData{StartDate: "2026-12-01", VIN: "WVWZZZ1KZ8W123456", Extra: map[string]any{"note": note}},
			Metadata: map[string]string{"campaign": tag},
		},
	})
	if err != nil {
		t.Fatalf("push: %v", err)
	}
	b := signedIn(t, srv, sandbox.KeyASecretTest)

	// '<' sorts before every letter: the pushed policy leads by last name.
	list := page(t, b, "/policies?sort=last_name", http.StatusOK)
	row := rows(list.Doc).First()
	if got := textOf(row.Find("td").Eq(1)); got != first+" "+last {
		t.Fatalf("first row holder = %q, want the literal %q", got, first+" "+last)
	}
	checkNoMarkup(t, list.Doc)
	detailPath := href(t, row.Find("td a"), "pushed policy")

	d := page(t, b, detailPath, http.StatusOK)
	checkNoMarkup(t, d.Doc)
	if got := textOf(d.Doc.Find(".policy-head .subtitle")); got != first+" "+last+" · ARAG AS24" {
		t.Errorf("subtitle = %q", got)
	}
	holder := section(t, d.Doc, "sec-holder")
	if got := textOf(field(t, holder, "First name")); got != first {
		t.Errorf("first name = %q", got)
	}
	if got := textOf(field(t, holder, "Last name")); got != last {
		t.Errorf("last name = %q", got)
	}
	if got := textOf(field(t, section(t, d.Doc, "sec-data"), "Note")); got != note {
		t.Errorf("note = %q", got)
	}
	if got := textOf(field(t, section(t, d.Doc, "sec-metadata"), "Campaign")); got != tag {
		t.Errorf("campaign = %q", got)
	}
	var raw map[string]any
	if err := json.Unmarshal([]byte(d.Doc.Find(`pre[data-testid="raw-json"]`).Text()), &raw); err != nil || raw["first_name"] != first {
		t.Errorf("raw JSON: %v, first_name %v", err, raw["first_name"])
	}
	// Escaping check on the bytes: the markup arrives as text.
	if strings.Contains(d.Body, first) || !strings.Contains(d.Body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Error("the holder's name is not escaped in the HTML")
	}

	// The find box echoes what was typed, as text.
	for _, q := range []string{first, last, tag} {
		// A query that cannot be an id (it has a slash) is refused unasked.
		want := http.StatusNotFound
		if strings.ContainsAny(q, "/?#\\") {
			want = http.StatusBadRequest
		}
		r := page(t, b, "/policies/find?q="+url.QueryEscape(q), want)
		checkNoMarkup(t, r.Doc)
		if got := textOf(r.Doc.Find(`[data-testid="alert"]`)); !strings.Contains(got, "“"+q+"”") {
			t.Errorf("alert = %q, want the query %q literally", got, q)
		}
		if got := r.Doc.Find("#find-q").AttrOr("value", ""); got != q {
			t.Errorf("find box = %q, want %q", got, q)
		}
	}
}

// checkNoMarkup fails when the page holds an element or attribute that
// only injected text could have produced.
func checkNoMarkup(t *testing.T, doc *goquery.Document) {
	t.Helper()
	if n := doc.Find("script:not([src]), body script, img, b").Length(); n != 0 {
		t.Errorf("%d injected elements in the page", n)
	}
	doc.Find("*").Each(func(_ int, s *goquery.Selection) {
		for _, a := range s.Nodes[0].Attr {
			if strings.HasPrefix(a.Key, "on") {
				t.Errorf("<%s> has an event handler %s=%q", goquery.NodeName(s), a.Key, a.Val)
			}
		}
	})
}

// 13. Read-only role.

func TestPolicyPagesReadOnlyRole(t *testing.T) {
	t.Parallel()
	srv := newPolicyServer(t, 100)
	tests := []struct {
		key            string
		wantRole       string
		wantRestricted bool
	}{
		{sandbox.KeyAPublicTest, "Read-only", true},
		{sandbox.KeyASecretTest, "Staff", false},
	}
	for _, tt := range tests {
		t.Run(tt.wantRole, func(t *testing.T) {
			b := signedIn(t, srv, tt.key)
			list := page(t, b, "/policies", http.StatusOK)
			detail := page(t, b, fixturePath, http.StatusOK)
			for name, doc := range map[string]*goquery.Document{"list": list.Doc, "detail": detail.Doc} {
				if got := textOf(doc.Find(`[data-testid="user-role"]`)); got != tt.wantRole {
					t.Errorf("%s: role = %q, want %q", name, got, tt.wantRole)
				}
				if strings.Contains(doc.Text(), tt.key) {
					t.Errorf("%s shows the whole key", name)
				}
			}
			if got := rows(list.Doc).Length(); got != 20 {
				t.Errorf("rows = %d, want 20", got)
			}
			// The sandbox withholds email, data, metadata and the quote's
			// customer input from public keys.
			rows(list.Doc).Each(func(i int, tr *goquery.Selection) {
				email := tr.Find("td").Eq(2)
				restricted := email.Find("span.restricted").Length() == 1 && textOf(email) == "restricted for your key"
				if restricted != tt.wantRestricted {
					t.Errorf("row %d email = %q, restricted %v, want %v", i, textOf(email), restricted, tt.wantRestricted)
				}
			})
			email := field(t, section(t, detail.Doc, "sec-holder"), "Email")
			if got := email.Find("span.restricted").Length() == 1; got != tt.wantRestricted {
				t.Errorf("detail email %q restricted = %v, want %v", textOf(email), got, tt.wantRestricted)
			}
			if !tt.wantRestricted && textOf(email) != "janis.berzins@example.com" {
				t.Errorf("detail email = %q", textOf(email))
			}
			for _, id := range []string{"sec-data", "sec-quote", "sec-metadata"} {
				r := section(t, detail.Doc, id).Find(`[data-testid="restricted"]`)
				if got := r.Length() == 1 && textOf(r) == "restricted for your key"; got != tt.wantRestricted {
					t.Errorf("%s restricted = %v, want %v", id, got, tt.wantRestricted)
				}
			}
			var raw map[string]any
			if err := json.Unmarshal([]byte(detail.Doc.Find(`pre[data-testid="raw-json"]`).Text()), &raw); err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"email", "data", "metadata"} {
				if _, has := raw[k]; has == tt.wantRestricted {
					t.Errorf("raw JSON has %s = %v, want %v", k, has, !tt.wantRestricted)
				}
			}
			// Reading documents is reading: allowed.
			if r := b.Get(fixturePath + "/documents/asset/0"); r.Status != http.StatusOK || !strings.HasPrefix(r.Body, "%PDF-") {
				t.Errorf("document = %d", r.Status)
			}
		})
	}
}

// TestPolicyDetailKeepsSignedLinks: a signed document link works for
// whoever holds it, so the raw view shows the documents without theirs.
func TestPolicyDetailKeepsSignedLinks(t *testing.T) {
	t.Parallel()
	srv := newPolicyServer(t, 20)
	b := signedIn(t, srv, sandbox.KeyASecretTest)
	r := page(t, b, fixturePath, http.StatusOK)
	// The HAL links (_links) name the API host, which is no secret.
	for _, leak := range []string{"signature=", "expires="} {
		if strings.Contains(r.Body, leak) {
			t.Errorf("the detail page carries %q", leak)
		}
	}
	var raw struct {
		Assets []map[string]any `json:"assets"`
		Media  []map[string]any `json:"media"`
	}
	if err := json.Unmarshal([]byte(r.Doc.Find(`pre[data-testid="raw-json"]`).Text()), &raw); err != nil {
		t.Fatal(err)
	}
	if len(raw.Assets) != 3 || len(raw.Media) != 1 {
		t.Fatalf("raw view lists %d assets and %d media, want 3 and 1", len(raw.Assets), len(raw.Media))
	}
	for _, a := range raw.Assets {
		if a["url"] != nil || a["href"] != nil || a["name"] == "" {
			t.Errorf("raw asset = %v, want its name without a link", a)
		}
	}
	if u := raw.Media[0]["url"]; u != "" {
		t.Errorf("raw media url = %v, want empty", u)
	}
}
