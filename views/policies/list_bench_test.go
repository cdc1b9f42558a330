package policies_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/a-h/templ"

	"backoffice/internal/format"
	"backoffice/internal/i18n"
	"backoffice/views/layout"
	"backoffice/views/policies"
)

// BenchmarkListPage100 renders the whole policy list page with 100 rows,
// the largest page size offered. html-bytes is the size of one page.
func BenchmarkListPage100(b *testing.B) {
	ctx := englishContext(b)
	v := listView100()
	benchRender(b, ctx, policies.ListPage(v))
}

// BenchmarkTable100 renders only the table region, the fragment htmx
// swaps when sorting and paging.
func BenchmarkTable100(b *testing.B) {
	ctx := englishContext(b)
	v := listView100()
	benchRender(b, ctx, policies.Table(v.Table))
}

func benchRender(b *testing.B, ctx context.Context, c templ.Component) {
	var buf bytes.Buffer
	// One render outside the timer checks that the printer is wired (no
	// raw catalogue keys) and sizes the buffer.
	if err := c.Render(ctx, &buf); err != nil {
		b.Fatal(err)
	}
	html := buf.String()
	if n := strings.Count(html, `data-testid="policy-row"`); n != 100 {
		b.Fatalf("rendered %d rows, want 100", n)
	}
	for _, key := range []string{"policies.col.id", "policy.status.paid", "policies.range"} {
		if strings.Contains(html, key) {
			b.Fatalf("untranslated key %q in the output: the context has no printer", key)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if err := c.Render(ctx, &buf); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Len()), "html-bytes")
}

// englishContext carries the printer the i18n middleware puts into every
// request context.
func englishContext(b *testing.B) context.Context {
	b.Helper()
	catalog, err := i18n.New()
	if err != nil {
		b.Fatal(err)
	}
	return i18n.WithPrinter(context.Background(), catalog.Printer("en"))
}

// listURL builds a list URL the way the handler does (url.Values sorts
// the keys); after is the keyset cursor of a "next" link.
func listURL(sort string, page, size int, after ...string) string {
	q := url.Values{}
	q.Set("sort", sort)
	q.Set("size", strconv.Itoa(size))
	if page > 1 {
		q.Set("page", strconv.Itoa(page))
	}
	for _, a := range after {
		q.Set("after", a)
	}
	return "/policies?" + q.Encode()
}

// listView100 is page 5 of 22 at 100 rows per page, sorted newest first,
// built the way handlers.Policies.load builds it, from deterministic data.
func listView100() policies.ListView {
	const (
		sortBy = "-created_at"
		size   = 100
		page   = 5
		total  = 2125
	)
	count := (total + size - 1) / size
	rng := rand.New(rand.NewPCG(1, 2))
	f := format.New("en")

	v := policies.ListView{Meta: layout.PageMeta{
		Title: "Policies",
		Assets: layout.Assets{
			CSS:     "/static/3f9a1c0d2b7e/css/app.css",
			HTMX:    "/static/8c41e2a9f0b3/js/htmx.min.js",
			App:     "/static/b27d04e91c6a/js/app.js",
			Favicon: "/static/5e0f3a7c9d21/img/favicon.svg",
		},
		Sandbox:   true,
		RequestID: "req_01JQ8Z4W7K3M5N9P2R6T8V0X1Y",
		User:      &layout.UserBadge{DisplayName: "Ana-Maria Ștefănescu", MaskedKey: "sk_test_…PSIA", Role: layout.RoleStaff, Mode: layout.ModeTest},
		Nav:       layout.SectionPolicies,
		Path:      listURL(sortBy, page, size),
		Languages: []string{"en", "de", "ro"},
	}}
	t := &v.Table
	t.Total, t.Sort, t.Size = total, sortBy, size
	t.From = (page-1)*size + 1
	t.To = t.From + size - 1

	for _, c := range []struct {
		labelKey, field string
		numeric         bool
	}{
		{"policies.col.id", "insurer_policy_id", false},
		{"policies.col.holder", "last_name", false},
		{"policies.col.email", "email", false},
		{"policies.col.product", "", false},
		{"policies.col.status", "status", false},
		{"policies.col.start", "start_date", false},
		{"policies.col.end", "end_date", false},
		{"policies.col.premium", "gross_premium", true},
		{"policies.col.created", "created_at", false},
	} {
		col := policies.Column{LabelKey: c.labelKey, Numeric: c.numeric}
		if c.field != "" {
			next, aria := c.field, policies.SortNone
			switch sortBy {
			case c.field:
				aria, next = policies.SortAscending, "-"+c.field
			case "-" + c.field:
				aria = policies.SortDescending
			}
			col.AriaSort, col.SortURL = aria, listURL(next, 1, size)
		}
		t.Columns = append(t.Columns, col)
	}

	type product struct{ name, zone, currency string }
	products := []product{
		{"Home Contents Insurance", "Europe/Riga", "eur"},
		{"Bike Theft Protection", "Europe/Berlin", "eur"},
		{"Cyber Insurance SME", "Europe/Zurich", "chf"},
		{"Travel Medical Insurance", "Europe/Bucharest", "ron"},
		{"ARAG AS24", "Europe/Berlin", "eur"},
	}
	first := []string{"Jürgen", "Zoë", "Ștefan", "Līga", "François", "Małgorzata", "Ioana", "Björn", "Ana-Maria", "Renée", "Søren", "Chloé"}
	last := []string{"Müller", "Păunescu", "Bērziņa", "Lefèvre", "Wójcik", "Brâncoveanu", "Öztürk", "Šimková", "Großmann", "Dvořák", "Ćosić", "Núñez"}
	ascii := strings.NewReplacer("ü", "ue", "ö", "oe", "ë", "e", "ș", "s", "Ș", "S", "ă", "a", "â", "a", "ī", "i", "Ī", "I", "ē", "e",
		"ņ", "n", "ç", "c", "è", "e", "é", "e", "ł", "l", "ó", "o", "ø", "o", "Ö", "O", "ß", "ss", "š", "s", "Š", "S", "í", "i",
		"ř", "r", "ć", "c", "Ć", "C", "ú", "u", "á", "a", "ñ", "n", "Ñ", "N", "-", "")
	statuses := []string{"paid", "paid", "paid", "accepted", "pending", "cancelled", "ready"}
	const letters = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	const hex = "0123456789abcdef"
	pick := func(alphabet string, n int) string {
		var sb strings.Builder
		for range n {
			sb.WriteByte(alphabet[rng.IntN(len(alphabet))])
		}
		return sb.String()
	}
	created := time.Date(2026, 3, 14, 9, 30, 0, 0, time.UTC)
	for range size {
		p := products[rng.IntN(len(products))]
		fn, ln := first[rng.IntN(len(first))], last[rng.IntN(len(last))]
		status := statuses[rng.IntN(len(statuses))]
		created = created.Add(-time.Duration(rng.IntN(180)) * time.Minute)
		start := created.AddDate(0, 0, rng.IntN(30))
		end := start.AddDate(1, 0, 0)
		t.Rows = append(t.Rows, policies.Row{
			URL:             "/policies/tpol_" + pick(hex, 28),
			InsurerPolicyID: "TEST-" + pick(letters, 8),
			Holder:          fn + " " + ln,
			Email:           strings.ToLower(fmt.Sprintf("%s.%s%d@example.com", ascii.Replace(fn), ascii.Replace(ln), rng.IntN(100))),
			Product:         p.name,
			StatusKey:       "policy.status." + status,
			Status:          status,
			Expired:         rng.IntN(10) == 0,
			Start:           f.Date(start),
			End:             f.Date(end),
			Premium:         f.Money(int64(1_000+rng.IntN(250_000)), p.currency),
			Created:         f.Date(created),
			Zone:            p.zone,
		})
	}
	for _, s := range []int{10, 20, 50, 100} {
		t.Sizes = append(t.Sizes, policies.SizeOption{Size: s, Current: s == size, URL: listURL(sortBy, 1, s)})
	}

	// The handler's pager: first/prev/next/last and a window of two pages
	// either side, with gaps.
	pg := policies.Pager{Page: page, Count: count,
		First: listURL(sortBy, 1, size), Prev: listURL(sortBy, page-1, size),
		Next: listURL(sortBy, page+1, size, t.Rows[size-1].InsurerPolicyID), Last: listURL(sortBy, count, size)}
	window := []int{1}
	for n := page - 2; n <= page+2; n++ {
		if n > 1 && n < count {
			window = append(window, n)
		}
	}
	window = append(window, count)
	for i, n := range window {
		if i > 0 && n > window[i-1]+1 {
			pg.Pages = append(pg.Pages, policies.PageLink{Gap: true})
		}
		pg.Pages = append(pg.Pages, policies.PageLink{Number: n, URL: listURL(sortBy, n, size), Current: n == page})
	}
	t.Pager = pg
	return v
}
