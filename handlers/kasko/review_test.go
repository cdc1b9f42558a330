package kasko_test

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	kasko "backoffice/apiclient/kasko"
	"backoffice/internal/sandbox"
	"backoffice/web/webtest"
)

// listTotal reads "1–25 of 2,125" (or "of more than 1000") off a list.
func listTotal(t *testing.T, doc *goquery.Document) int {
	t.Helper()
	text := doc.Find(`[data-testid="range"]`).Text()
	m := regexp.MustCompile(`of (?:more than )?([\d,]+)`).FindStringSubmatch(text)
	if m == nil {
		if strings.Contains(text, "No polic") {
			return 0
		}
		t.Fatalf("no total in %q", text)
	}
	n, err := strconv.Atoi(strings.ReplaceAll(m[1], ",", ""))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func number(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(strings.NewReplacer(",", "", " ", "", "\u00a0", "", "\u202f", "").Replace(strings.TrimSpace(s)))
	if err != nil {
		t.Fatalf("%q is not a count", s)
	}
	return n
}

// TestReviewOverview: every figure and every bar of the overview links to
// the list filtered to the same number of rows, for a secret and a
// public key; the periods' bad input is refused on the form.
func TestReviewOverview(t *testing.T) {
	t.Parallel()
	srv := webtest.NewServer(t, webtest.Options{Sandbox: sandbox.Options{Policies: 400}, Index: true,
		IndexKeys: []string{sandbox.KeyASecretTest}, IndexPoll: time.Hour})
	srv.WaitIndexed(t)
	for _, key := range []string{sandbox.KeyASecretTest, sandbox.KeyAPublicTest} {
		b := srv.SignedIn(t, key)
		doc := b.Page(t, "/review?period=custom&from=2022-01-01&to=2026-12-31", http.StatusOK).Doc
		figures := doc.Find(`[data-testid^="figure-"]`)
		if figures.Length() == 0 {
			t.Fatalf("%s: no figures", key)
		}
		checked := 0
		figures.Each(func(_ int, f *goquery.Selection) {
			a := f.Find(`a[data-testid="value"]`)
			href, ok := a.Attr("href")
			if !ok {
				return
			}
			key, _ := f.Attr("data-testid")
			if strings.Contains(key, "premium") || strings.Contains(key, "tax") {
				return // amounts, not counts
			}
			want := number(t, a.Text())
			if got := listTotal(t, b.Page(t, href, http.StatusOK).Doc); got != want {
				t.Errorf("%s: %s shows %d, its list %s has %d", key, key, want, href, got)
			}
			checked++
		})
		if checked < 3 {
			t.Errorf("%s: only %d figures checked against the list", key, checked)
		}
		for _, chart := range []string{"activity", "status"} {
			c := doc.Find(`[data-testid="chart-` + chart + `"]`)
			if c.Find("svg").Length() != 1 || c.Find(`[data-testid="chart-data"] table`).Length() != 1 {
				t.Errorf("%s: chart %s lacks its SVG or its data table", key, chart)
			}
			links := c.Find(`a[data-testid="chart-link"]`)
			links.EachWithBreak(func(i int, a *goquery.Selection) bool {
				want := number(t, a.Text())
				if want == 0 {
					return true
				}
				href, _ := a.Attr("href")
				if got := listTotal(t, b.Page(t, href, http.StatusOK).Doc); got != want {
					t.Errorf("%s: a %s bar says %d, its list %s has %d", key, chart, want, href, got)
				}
				return i < 3
			})
		}
		if doc.Find(`[data-testid="nav-review"][aria-current="page"]`).Length() != 1 {
			t.Errorf("%s: the navigation does not mark the overview", key)
		}
	}

	b := srv.SignedIn(t, sandbox.KeyASecretTest)
	// A period still running is shown to date.
	if got := b.Page(t, "/review?period=year", http.StatusOK).Doc.Find(`[data-testid="review-range"]`).Text(); !strings.Contains(got, "(to date)") {
		t.Errorf("this year's range reads %q", got)
	}
	for _, bad := range []string{
		"/review?period=custom&from=2026-03-01&to=2026-01-01",
		"/review?period=custom&from=9999-01-01&to=9999-12-31",
		"/review?period=custom&from=nonsense&to=2026-01-01",
		"/review?period=fortnight",
	} {
		doc := b.Page(t, bad, http.StatusBadRequest).Doc
		// An unknown period is the select's error; a bad range the dates'.
		field := "#period-from"
		if strings.Contains(bad, "fortnight") {
			field = "#period"
		}
		if doc.Find(`[data-testid="period-error"][role="alert"]`).Length() != 1 || doc.Find(field+`[aria-invalid="true"][aria-describedby="period-error"]`).Length() != 1 {
			t.Errorf("%s: no message on %s", bad, field)
		}
		if doc.Find(`[data-testid^="figures-"]`).Length() != 0 {
			t.Errorf("%s: figures shown for a refused period", bad)
		}
	}
}

// TestReviewWithoutIndex: a tenant no index key covers gets the
// overview's reason, not an error.
func TestReviewWithoutIndex(t *testing.T) {
	t.Parallel()
	srv := webtest.NewServer(t, webtest.Options{Sandbox: sandbox.Options{Policies: 50}, Index: true,
		IndexKeys: []string{sandbox.KeyASecretTest}, IndexPoll: time.Hour})
	b := srv.SignedIn(t, sandbox.KeyBSecretTest)
	doc := b.Page(t, "/review", http.StatusOK).Doc
	if doc.Find(`[data-testid="review-unavailable"]`).Length() != 1 {
		t.Error("no word on why there is no overview")
	}
	if doc.Find(`[data-testid="nav-review"]`).Length() != 0 {
		t.Error("the navigation offers an overview that cannot work")
	}
}

// TestExpiringWorklist: the worklist holds policies in force ending
// within the horizon, grouped by week, the badge counts the next 30
// days, the list link counts the same, and a bad horizon is refused.
func TestExpiringWorklist(t *testing.T) {
	t.Parallel()
	// A book that leads up to today, so that policies expire soon.
	srv := webtest.NewServer(t, webtest.Options{Sandbox: sandbox.Options{Policies: 1500, ReferenceDate: time.Now().UTC().Truncate(24 * time.Hour)},
		Index: true, IndexKeys: []string{sandbox.KeyASecretTest}, IndexPoll: time.Hour})
	srv.WaitIndexed(t)
	b := srv.SignedIn(t, sandbox.KeyASecretTest)
	doc := b.Page(t, "/review/expiring?days=90", http.StatusOK).Doc
	if doc.Find(`[data-testid="expiring-row"]`).Length() == 0 {
		t.Fatal("a book leading up to today has no policy expiring within 90 days")
	}
	rows := doc.Find(`[data-testid="expiring-row"]`)
	rows.Each(func(_ int, r *goquery.Selection) {
		if n := number(t, r.Find(`[data-testid="days-left"]`).Text()); n < 0 || n > 91 {
			t.Errorf("a policy %d days from its end is on the 90-day worklist", n)
		}
	})
	if rows.Length() > 0 && doc.Find(`[data-testid="expiring-week"] h2`).Length() == 0 {
		t.Error("rows without week headings")
	}
	href, ok := doc.Find(`[data-testid="expiring-list"]`).Attr("href")
	if !ok {
		t.Fatal("no link to the same rows in the list")
	}
	total := 0
	if rows.Length() > 0 {
		total = number(t, regexp.MustCompile(`[\d,]+`).FindString(doc.Find(`[data-testid="expiring-total"]`).Text()))
	}
	if got := listTotal(t, b.Page(t, href, http.StatusOK).Doc); got != total {
		t.Errorf("the worklist counts %d, its list %d", total, got)
	}
	month := b.Page(t, "/review/expiring", http.StatusOK).Doc
	badge := month.Find(`[data-testid="expiring-badge"] [aria-hidden="true"]`).Text()
	n := 0
	if month.Find(`[data-testid="expiring-row"]`).Length() > 0 {
		n = number(t, regexp.MustCompile(`[\d,]+`).FindString(month.Find(`[data-testid="expiring-total"]`).Text()))
	}
	if (badge == "" && n != 0) || (badge != "" && number(t, badge) != n) {
		t.Errorf("badge %q, worklist of 30 days %d", badge, n)
	}
	b.Page(t, "/review/expiring?days=13", http.StatusBadRequest)
	b.Page(t, "/review/expiring?days=90&currency=euro", http.StatusBadRequest)
	b.Page(t, "/review/expiring?days=90&created_from=2026-02-01&created_to=2026-01-01", http.StatusBadRequest)

	// The list's filters narrow the worklist, and its list link keeps them.
	wide := b.Page(t, "/review/expiring?days=90", http.StatusOK).Doc
	filter, cur := "", ""
	for _, name := range []string{"currency", "product"} {
		opts := wide.Find(`[data-testid="expiring-filter-` + name + `"] input[type="checkbox"]`)
		if opts.Length() > 1 {
			filter, cur = name, opts.First().AttrOr("value", "")
			break
		}
	}
	if filter == "" {
		t.Fatal("the 90-day worklist offers no currency or product to narrow by")
	}
	narrow := b.Page(t, "/review/expiring?days=90&"+filter+"="+cur, http.StatusOK).Doc
	if narrow.Find(`[data-testid="expiring-filter-`+filter+`"] input[value="`+cur+`"][checked]`).Length() != 1 {
		t.Errorf("the chosen %s %s is not ticked", filter, cur)
	}
	n = 0
	if narrow.Find(`[data-testid="expiring-row"]`).Length() > 0 {
		n = number(t, regexp.MustCompile(`[\d,]+`).FindString(narrow.Find(`[data-testid="expiring-total"]`).Text()))
	}
	link, _ := narrow.Find(`[data-testid="expiring-list"]`).Attr("href")
	if !strings.Contains(link, filter+"="+cur) {
		t.Errorf("the list link %s drops the %s", link, filter)
	}
	if got := listTotal(t, b.Page(t, link, http.StatusOK).Doc); got != n {
		t.Errorf("the %s worklist counts %d, its list %d", cur, n, got)
	}
}

// TestReviewFiguresMatchTheUpstream counts, straight from the sandbox's
// list (every policy of tenant A, paged), the new policies, premium and
// cancellations of a period per currency, and compares them with the
// overview's figures.
func TestReviewFiguresMatchTheUpstream(t *testing.T) {
	t.Parallel()
	srv := webtest.NewServer(t, webtest.Options{Sandbox: sandbox.Options{Policies: 500}, Index: true,
		IndexKeys: []string{sandbox.KeyASecretTest}, IndexPoll: time.Hour})
	srv.WaitIndexed(t)
	const from, to = "2025-06-01", "2026-08-31"
	type figures struct{ created, cancelled int }
	want := map[string]*figures{}
	cursor := ""
	for {
		pg := upstreamList(t, srv, sandbox.KeyASecretTest, kasko.ListParams{Sort: "created_at", Limit: 100, OffsetPolicyID: cursor})
		for _, p := range pg.Policies {
			loc := time.UTC
			if p.LocalizedDates != nil {
				if l, err := time.LoadLocation(p.LocalizedDates.TimeZone); err == nil {
					loc = l
				}
			}
			cur := strings.ToUpper(p.Currency)
			if want[cur] == nil {
				want[cur] = &figures{}
			}
			created := p.PolicyCreatedDate
			if created.IsZero() {
				created = p.CreatedAt
			}
			if d := created.In(loc).Format(time.DateOnly); d >= from && d <= to {
				want[cur].created++
			}
			if p.Status == "cancelled" && p.TerminationDate != nil {
				if d := p.TerminationDate.In(loc).Format(time.DateOnly); d >= from && d <= to {
					want[cur].cancelled++
				}
			}
			cursor = p.InsurerPolicyID
		}
		if len(pg.Policies) < 100 {
			break
		}
	}
	doc := srv.SignedIn(t, sandbox.KeyASecretTest).Page(t, "/review?period=custom&from="+from+"&to="+to, http.StatusOK).Doc
	checked := 0
	for cur, w := range want {
		box := doc.Find(`[data-testid="figures-` + cur + `"]`)
		if w.created == 0 && w.cancelled == 0 {
			continue
		}
		got := func(key string) int {
			return number(t, box.Find(`[data-testid="figure-`+key+`"] [data-testid="value"]`).Text())
		}
		if n := got("review.fig.new"); n != w.created {
			t.Errorf("%s: %d new policies shown, the upstream has %d", cur, n, w.created)
		}
		if n := got("review.fig.cancelled"); n != w.cancelled {
			t.Errorf("%s: %d cancellations shown, the upstream has %d", cur, n, w.cancelled)
		}
		checked++
	}
	if checked == 0 {
		t.Fatal("the period holds no policy to compare")
	}
}
