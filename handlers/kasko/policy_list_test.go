package kasko_test

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"backoffice/apiclient/kasko"
	"backoffice/internal/sandbox"
	"backoffice/web/webtest"
)

func TestPolicyListColumnsAndRows(t *testing.T) {
	t.Parallel()
	srv := newPolicyServer(t, 100)
	b := srv.SignedIn(t, sandbox.KeyASecretTest)
	r := b.Page(t, "/policies", http.StatusOK)

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
		if got := webtest.Text(link); got != p.InsurerPolicyID {
			t.Errorf("row %d id = %q, want %q", i, got, p.InsurerPolicyID)
		}
		if got := webtest.Text(td.Eq(1)); got != p.FirstName+" "+p.LastName {
			t.Errorf("row %d holder = %q, want %q", i, got, p.FirstName+" "+p.LastName)
		}
		if got := webtest.Text(td.Eq(2)); got != p.Email {
			t.Errorf("row %d email = %q, want %q", i, got, p.Email)
		}
		if got := webtest.Text(td.Eq(3)); got != productName(t, srv, p.ProductID) {
			t.Errorf("row %d product = %q, want %q", i, got, productName(t, srv, p.ProductID))
		}
		badge := td.Eq(4).Find("span.badge").First()
		if !badge.HasClass("status-"+p.Status) || webtest.Text(badge) != p.Status {
			t.Errorf("row %d status badge = %q class %q, want %q with status-%s", i, webtest.Text(badge), badge.AttrOr("class", ""), p.Status, p.Status)
		}
		if got := td.Eq(4).Find("span.badge.expired").Length() == 1; got != p.Expired {
			t.Errorf("row %d expired badge = %v, want %v", i, got, p.Expired)
		}
		premium := td.Eq(7)
		if !premium.HasClass("num") {
			t.Errorf("row %d premium cell has no class num", i)
		}
		if got, want := digits(webtest.Text(premium)), strconv.FormatInt(p.Quote.GrossPaymentAmount, 10); got != want {
			t.Errorf("row %d premium = %q, want the digits %s", i, webtest.Text(premium), want)
		}
	})

	// The fixture's row, with exact values: find its page first.
	all := upstreamList(t, srv, sandbox.KeyASecretTest, kasko.ListParams{Limit: 100, Sort: "-created_at"})
	at := slices.Index(insurerIDs(all.Policies), sandbox.FixtureInsurerPolicyID)
	if at < 0 {
		t.Fatal("the fixture is not in the upstream list")
	}
	fp := b.Page(t, "/policies?page="+strconv.Itoa(at/20+1), http.StatusOK)
	var fixture *goquery.Selection
	rows(fp.Doc).Each(func(_ int, tr *goquery.Selection) {
		if webtest.Text(tr.Find("td").First()) == sandbox.FixtureInsurerPolicyID {
			fixture = tr
		}
	})
	if fixture == nil {
		t.Fatalf("fixture not on page %d", at/20+1)
	}
	want := []string{sandbox.FixtureInsurerPolicyID, "Jānis Bērziņš", "janis.berzins@example.com", "Home Contents Insurance", "paid"}
	for i, w := range want {
		if got := webtest.Text(fixture.Find("td").Eq(i)); got != w {
			t.Errorf("fixture cell %d = %q, want %q", i, got, w)
		}
	}
	if got := webtest.Text(fixture.Find("td").Eq(7)); got != "€2,750.00" {
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
			b := srv.SignedIn(t, sandbox.KeyASecretTest) // size= is remembered: a fresh browser each
			r := b.Page(t, tt.path, http.StatusOK)
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
	b := srv.SignedIn(t, sandbox.KeyASecretTest)
	path := "/policies"
	// Clicking Holder three times: ascending, descending, ascending.
	for i, want := range []struct{ sort, aria string }{{"last_name", "ascending"}, {"-last_name", "descending"}, {"last_name", "ascending"}} {
		r := b.Page(t, path, http.StatusOK)
		path = href(t, headerColumn(t, r.Doc, "Holder").Find("a"), "Holder sort link")
		if got := localURL(t, path).Query().Get("sort"); got != want.sort {
			t.Fatalf("click %d goes to sort=%q, want %q", i+1, got, want.sort)
		}
		next := b.Page(t, path, http.StatusOK)
		if got := headerColumn(t, next.Doc, "Holder").AttrOr("aria-sort", ""); got != want.aria {
			t.Errorf("after click %d Holder aria-sort = %q, want %q", i+1, got, want.aria)
		}
		if got := headerColumn(t, next.Doc, "Created").AttrOr("aria-sort", ""); got != "none" {
			t.Errorf("after click %d Created aria-sort = %q, want none", i+1, got)
		}
		if got := webtest.Text(headerColumn(t, next.Doc, "Holder").Find(".sort-mark")); got != map[string]string{"ascending": "▲", "descending": "▼"}[want.aria] {
			t.Errorf("after click %d the sort mark is %q", i+1, got)
		}
	}
}

func TestPolicyListSortOrder(t *testing.T) {
	t.Parallel()
	srv := newPolicyServer(t, 100)
	b := srv.SignedIn(t, sandbox.KeyASecretTest)
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
			r := b.Page(t, "/policies?sort="+tt.sort, http.StatusOK)
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
	asc := rowIDs(b.Page(t, "/policies?sort=last_name", http.StatusOK).Doc)
	desc := rowIDs(b.Page(t, "/policies?sort=-last_name", http.StatusOK).Doc)
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
			parts = append(parts, "["+webtest.Text(s)+"]")
		case strings.HasPrefix(s.AttrOr("aria-label", ""), "Page "):
			parts = append(parts, webtest.Text(s))
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
		if webtest.Text(s) == label {
			disabled++
		}
	})
	switch {
	case link.Length() == 1 && disabled == 0 && webtest.Text(link) == label:
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
	b := srv.SignedIn(t, sandbox.KeyASecretTest)
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
			r := b.Page(t, "/policies?"+tt.query, http.StatusOK)
			q, _ := url.ParseQuery(tt.query)
			sort := q.Get("sort")
			if sort == "" {
				sort = "-created_at"
			}
			if got := webtest.Text(r.Doc.Find(`[data-testid="range"]`)); got != tt.wantRange {
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
			if webtest.Text(current) != strconv.Itoa(tt.wantSize) {
				t.Errorf("current size = %q, want %d", webtest.Text(current), tt.wantSize)
			}
			sizeLinks := r.Doc.Find(`[data-testid="sizes"] a.size`)
			if sizeLinks.Length() != 3 {
				t.Errorf("size links = %d, want the 3 other sizes", sizeLinks.Length())
			}
			sizeLinks.Each(func(_ int, a *goquery.Selection) {
				lq := localURL(t, a.AttrOr("href", "")).Query()
				if lq.Get("sort") != sort || lq.Get("size") != webtest.Text(a) || lq.Has("page") || lq.Has("after") {
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
			viaCursor := b.Page(t, next, http.StatusOK)
			nq.Del("after")
			viaOffset := b.Page(t, "/policies?"+nq.Encode(), http.StatusOK)
			if a, o := rowIDs(viaCursor.Doc), rowIDs(viaOffset.Doc); len(a) == 0 || !slices.Equal(a, o) {
				t.Errorf("next via cursor = %v\nvia offset = %v", a, o)
			}
			if a, o := webtest.Text(viaCursor.Doc.Find(`[data-testid="range"]`)), webtest.Text(viaOffset.Doc.Find(`[data-testid="range"]`)); a != o {
				t.Errorf("range via cursor %q, via offset %q", a, o)
			}
		})
	}
}

func TestPolicyListStaleCursorFallsBack(t *testing.T) {
	t.Parallel()
	srv := newPolicyServer(t, 100)
	b := srv.SignedIn(t, sandbox.KeyASecretTest)
	want := rowIDs(b.Page(t, "/policies?size=10&page=3", http.StatusOK).Doc)
	last := b.Page(t, "/policies?size=100", http.StatusOK).Doc.Find(`[data-testid="policy-row"] td:first-child`).Last()
	for _, after := range []string{
		webtest.Text(last),                // the very last row: an old bookmark, nothing after it
		"TEST-HOME-NOSUCHID",              // never existed
		"TEST-CYBER-5HT8W3ZN",             // another distributor's policy
		sandbox.FixtureLiveInsurerID,      // a live policy, not seen by a test key
		strings.Repeat("x", 90) + "/?#&=", // junk
	} {
		t.Run(after, func(t *testing.T) {
			before := srv.Upstream.Sandbox.Calls(sandbox.RouteListPolicies)
			r := b.Page(t, "/policies?size=10&page=3&after="+url.QueryEscape(after), http.StatusOK)
			if got := rowIDs(r.Doc); !slices.Equal(got, want) {
				t.Errorf("rows = %v\nwant the offset page %v", got, want)
			}
			if got := webtest.Text(r.Doc.Find(`[data-testid="range"]`)); !strings.HasPrefix(got, "21–30 of ") {
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
			b := srv.SignedIn(t, sandbox.KeyASecretTest)
			r := b.Page(t, "/policies?size="+tt.size, tt.wantStatus)
			if got := rows(r.Doc).Length(); got != tt.wantRows {
				t.Errorf("rows = %d, want %d", got, tt.wantRows)
			}
			if tt.wantStatus != http.StatusOK {
				checkErrorPage(t, r, tt.wantStatus, "The page size must be a number: 10, 20, 50 or 100.")
			} else if got := webtest.Text(r.Doc.Find(`[data-testid="sizes"] [aria-current="true"]`)); got != strconv.Itoa(tt.wantRows) {
				t.Errorf("current size = %q, want %d", got, tt.wantRows)
			}
			later := b.Page(t, "/policies", http.StatusOK)
			if got := rows(later.Doc).Length(); got != tt.wantLater {
				t.Errorf("next plain /policies rows = %d, want %d (remembered)", got, tt.wantLater)
			}
		})
	}
	// The preference is the browser's: another one keeps the default.
	other := srv.SignedIn(t, sandbox.KeyASecretTest)
	if got := rows(other.Page(t, "/policies", http.StatusOK).Doc).Length(); got != 20 {
		t.Errorf("another browser sees %d rows, want the default 20", got)
	}
}

// 4. Bad parameters.

func TestPolicyListBadParameters(t *testing.T) {
	t.Parallel()
	srv := newPolicyServer(t, 100)
	b := srv.SignedIn(t, sandbox.KeyASecretTest)
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
			r := b.Page(t, "/policies?"+tt.query, tt.wantStatus)
			if tt.wantStatus == http.StatusOK {
				if got := webtest.Text(r.Doc.Find(`[data-testid="range"]`)); got != "81–85 of 85" {
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
	b := srv.SignedIn(t, sandbox.KeyASecretTest)
	const path = "/policies?sort=last_name&size=10&page=2"
	full := b.Page(t, path, http.StatusOK)
	frag := b.Page(t, path, http.StatusOK, "HX-Request", "true", "HX-Target", "policy-table", "HX-Current-URL", srv.URL+"/policies")
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
			if got := webtest.Text(doc.Find(`[data-testid="range"]`)); got != "11–20 of 85" {
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
		r := b.Page(t, path, http.StatusOK, h...)
		if r.Doc.Find("header.site-header").Length() != 1 {
			t.Errorf("%v: want the full page", h)
		}
	}
}

// 6. Find.

func TestPolicyFind(t *testing.T) {
	t.Parallel()
	srv := newPolicyServer(t, 100)
	b := srv.SignedIn(t, sandbox.KeyASecretTest)
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
			if alert.Length() != 1 || webtest.Text(alert) != tt.wantAlert {
				t.Errorf("alert = %q (%d), want %q", webtest.Text(alert), alert.Length(), tt.wantAlert)
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
	r := b.Page(t, fixturePath, http.StatusOK)
	if got := webtest.Text(r.Doc.Find(`[data-testid="policy-id"]`)); got != sandbox.FixtureInsurerPolicyID {
		t.Errorf("after find the page shows %q", got)
	}
}

// 7. Detail.
