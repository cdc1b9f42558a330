package kasko_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
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

// newPolicyServer starts a dashboard over a sandbox of n policies.
func newPolicyServer(t *testing.T, n int) *webtest.Server {
	t.Helper()
	return webtest.NewServer(t, webtest.Options{Sandbox: sandbox.Options{Policies: n}})
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
		ids = append(ids, webtest.Text(row.Find("td").First()))
	})
	return ids
}

// cells lists the text of column col (0-based) of every row.
func cells(doc *goquery.Document, col int) []string {
	var out []string
	rows(doc).Each(func(_ int, row *goquery.Selection) {
		out = append(out, webtest.Text(row.Find("td").Eq(col)))
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
	return strings.TrimSpace(strings.TrimSuffix(webtest.Text(th), webtest.Text(th.Find(".sort-mark"))))
}

// checkErrorPage checks a full error page: its status, its message and
// that nothing of the list or of a stack trace leaks into it.
func checkErrorPage(t *testing.T, r webtest.Response, wantStatus int, wantMessage string) {
	t.Helper()
	if got := webtest.Text(r.Doc.Find(`[data-testid="error-status"]`)); got != strconv.Itoa(wantStatus) {
		t.Errorf("error status shown = %q, want %d", got, wantStatus)
	}
	if got := webtest.Text(r.Doc.Find(`[data-testid="error-message"]`)); got != wantMessage {
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
			t.Errorf("page text contains %q:\n%.600s", bad, webtest.Squash(text))
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

func TestPolicyPagesUpstreamFaults(t *testing.T) {
	t.Parallel()
	srv := webtest.NewServer(t, webtest.Options{Sandbox: sandbox.Options{Policies: 100}, UpstreamTimeout: 250 * time.Millisecond})
	b := srv.SignedIn(t, sandbox.KeyASecretTest)
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
			r := b.Page(t, tt.path, tt.wantStatus, h...)
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
			if got := webtest.Text(msg); got != tt.wantMessage {
				t.Errorf("message = %q, want %q", got, tt.wantMessage)
			}
			id := strings.TrimPrefix(webtest.Text(shownID), "Request id: ")
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
	if r := b.Page(t, "/policies?sort=last_name&page=2", http.StatusOK); rows(r.Doc).Length() != 20 {
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
	signin := b.Page(t, loc, http.StatusOK)
	next := signin.Doc.Find(`#key-form input[type="hidden"][name="next"]`)
	if next.AttrOr("value", "") != path {
		t.Fatalf("sign-in form next = %q, want %q", next.AttrOr("value", ""), path)
	}
	r := b.Post("/signin", url.Values{"key": {sandbox.KeyASecretTest}, "next": {next.AttrOr("value", "")}})
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != path {
		t.Fatalf("sign-in = %d → %q, want 303 → %q", r.Status, r.Header.Get("Location"), path)
	}
	back := b.Page(t, r.Header.Get("Location"), http.StatusOK)
	if got := headerColumn(t, back.Doc, "Holder").AttrOr("aria-sort", ""); got != "ascending" {
		t.Errorf("back on the list, sorted %q", got)
	}
	if got := webtest.Text(back.Doc.Find(`[data-testid="range"]`)); got != "21–40 of 85" {
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
	b := srv.SignedIn(t, sandbox.KeyASecretTest)

	// '<' sorts before every letter: the pushed policy leads by last name.
	list := b.Page(t, "/policies?sort=last_name", http.StatusOK)
	row := rows(list.Doc).First()
	if got := webtest.Text(row.Find("td").Eq(1)); got != first+" "+last {
		t.Fatalf("first row holder = %q, want the literal %q", got, first+" "+last)
	}
	checkNoMarkup(t, list.Doc)
	detailPath := href(t, row.Find("td a"), "pushed policy")

	d := b.Page(t, detailPath, http.StatusOK)
	checkNoMarkup(t, d.Doc)
	if got := webtest.Text(d.Doc.Find(".policy-head .subtitle")); got != first+" "+last+" · ARAG AS24" {
		t.Errorf("subtitle = %q", got)
	}
	holder := section(t, d.Doc, "sec-holder")
	if got := webtest.Text(field(t, holder, "First name")); got != first {
		t.Errorf("first name = %q", got)
	}
	if got := webtest.Text(field(t, holder, "Last name")); got != last {
		t.Errorf("last name = %q", got)
	}
	if got := webtest.Text(field(t, section(t, d.Doc, "sec-data"), "Note")); got != note {
		t.Errorf("note = %q", got)
	}
	if got := webtest.Text(field(t, section(t, d.Doc, "sec-metadata"), "Campaign")); got != tag {
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
		r := b.Page(t, "/policies/find?q="+url.QueryEscape(q), want)
		checkNoMarkup(t, r.Doc)
		if got := webtest.Text(r.Doc.Find(`[data-testid="alert"]`)); !strings.Contains(got, "“"+q+"”") {
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
			b := srv.SignedIn(t, tt.key)
			list := b.Page(t, "/policies", http.StatusOK)
			detail := b.Page(t, fixturePath, http.StatusOK)
			for name, doc := range map[string]*goquery.Document{"list": list.Doc, "detail": detail.Doc} {
				if got := webtest.Text(doc.Find(`[data-testid="user-role"]`)); got != tt.wantRole {
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
				restricted := email.Find("span.restricted").Length() == 1 && webtest.Text(email) == "restricted for your key"
				if restricted != tt.wantRestricted {
					t.Errorf("row %d email = %q, restricted %v, want %v", i, webtest.Text(email), restricted, tt.wantRestricted)
				}
			})
			email := field(t, section(t, detail.Doc, "sec-holder"), "Email")
			if got := email.Find("span.restricted").Length() == 1; got != tt.wantRestricted {
				t.Errorf("detail email %q restricted = %v, want %v", webtest.Text(email), got, tt.wantRestricted)
			}
			if !tt.wantRestricted && webtest.Text(email) != "janis.berzins@example.com" {
				t.Errorf("detail email = %q", webtest.Text(email))
			}
			for _, id := range []string{"sec-data", "sec-quote", "sec-metadata"} {
				r := section(t, detail.Doc, id).Find(`[data-testid="restricted"]`)
				if got := r.Length() == 1 && webtest.Text(r) == "restricted for your key"; got != tt.wantRestricted {
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
