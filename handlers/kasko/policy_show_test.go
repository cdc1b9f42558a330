package kasko_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"backoffice/apiclient/kasko"
	"backoffice/internal/paths"
	"backoffice/internal/sandbox"
	"backoffice/web/webtest"
)

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
		if webtest.Text(dt) == label {
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
	b := srv.SignedIn(t, sandbox.KeyASecretTest)
	up := upstreamPolicy(t, srv, sandbox.KeyASecretTest, sandbox.FixturePolicyID)
	r := b.Page(t, fixturePath, http.StatusOK)
	doc := r.Doc

	// Header.
	if got := webtest.Text(doc.Find(`[data-testid="policy-id"]`)); got != sandbox.FixtureInsurerPolicyID {
		t.Errorf("heading = %q", got)
	}
	if got := webtest.Text(doc.Find(".policy-head .subtitle")); got != "Jānis Bērziņš · Home Contents Insurance" {
		t.Errorf("subtitle = %q", got)
	}
	status := doc.Find(`[data-testid="status"]`)
	if webtest.Text(status) != "paid" || !status.HasClass("status-paid") {
		t.Errorf("status badge = %q class %q", webtest.Text(status), status.AttrOr("class", ""))
	}
	if got := webtest.Text(doc.Find(".policy-head .badge.test")); got != "TEST" {
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
		if got := webtest.Text(section(t, doc, s.id).Find("h2#" + s.id)); got != s.title {
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
		if got := webtest.Text(field(t, holder, f.label)); got != f.want {
			t.Errorf("%s = %q, want %q", f.label, got, f.want)
		}
	}

	// Cover: the dates are in the policy's zone, and say which.
	if got := webtest.Text(doc.Find(`[data-testid="cover"] [data-testid="zone"]`)); !strings.Contains(got, "Europe/Riga") {
		t.Errorf("zone line = %q, want Europe/Riga", got)
	}

	// Product details come from the upstream's data.
	data := section(t, doc, "sec-data")
	for key, label := range map[string]string{"city": "City", "street": "Street", "postcode": "Postcode"} {
		if got := webtest.Text(field(t, data, label)); got != up.Data[key] {
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
		if got := webtest.Text(dd.Find("span.mono")); got != f.want {
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
		if got := webtest.Text(a); got != w.name {
			t.Errorf("document %d name = %q, want %q", i, got, w.name)
		}
		if got := webtest.Text(a.Next()); got != w.kind {
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
	from := b.Page(t, fixturePath, http.StatusOK, "Referer", srv.URL+"/policies?sort=last_name&page=3")
	if got := from.Doc.Find(`[data-testid="back"]`).AttrOr("href", ""); got != "/policies?sort=last_name&page=3" {
		t.Errorf("back from a list page = %q", got)
	}
	foreign := b.Page(t, fixturePath, http.StatusOK, "Referer", "https://evil.example/policies?x=1")
	if got := foreign.Doc.Find(`[data-testid="back"]`).AttrOr("href", ""); got != "/policies" {
		t.Errorf("back with a foreign referrer = %q", got)
	}

	// The detail is reachable by the insurer policy id too.
	alias := b.Page(t, "/policies/"+sandbox.FixtureInsurerPolicyID, http.StatusOK)
	if got := webtest.Text(section(t, alias.Doc, "sec-ids").Find("span.mono").First()); got != sandbox.FixturePolicyID {
		t.Errorf("detail by insurer id shows %q", got)
	}

	// A live policy, read with a live key, says LIVE instead.
	live := srv.SignedIn(t, sandbox.KeyASecretLive).Page(t, "/policies/"+sandbox.FixtureLiveID, http.StatusOK)
	if got, test := webtest.Text(live.Doc.Find(".policy-head .badge.live")), live.Doc.Find(".policy-head .badge.test").Length(); got != "LIVE" || test != 0 {
		t.Errorf("live policy badges: LIVE %q, TEST %d", got, test)
	}
}

func TestPolicyDetailCancelled(t *testing.T) {
	t.Parallel()
	srv := newPolicyServer(t, 100)
	b := srv.SignedIn(t, sandbox.KeyASecretTest)
	r := b.Page(t, "/policies/"+sandbox.FixtureCancelledID, http.StatusOK)
	if got := webtest.Text(r.Doc.Find(`[data-testid="status"]`)); got != "cancelled" {
		t.Errorf("status = %q", got)
	}
	c := section(t, r.Doc, "sec-cancellation")
	if got := webtest.Text(c.Find("h2")); got != "Cancellation" {
		t.Errorf("heading = %q", got)
	}
	if got := webtest.Text(field(t, c, "Reason")); got != "Customer request" {
		t.Errorf("reason = %q", got)
	}
	if got := webtest.Text(field(t, c, "Cancelled by")); got != sandbox.DistributorAID {
		t.Errorf("cancelled by = %q", got)
	}
	if got := webtest.Text(field(t, c, "Cancelled at")); got == "" || got == "—" {
		t.Errorf("cancelled at = %q", got)
	}
	// Bike theft (Berlin) carries 19 % premium tax.
	if got := webtest.Text(field(t, section(t, r.Doc, "sec-premium"), "Tax rate")); got != "19%" {
		t.Errorf("tax rate = %q, want 19%%", got)
	}
	if got := webtest.Text(r.Doc.Find(`[data-testid="zone"]`)); !strings.Contains(got, "Europe/Berlin") {
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
			b := srv.SignedIn(t, sandbox.KeyASecretTest)
			tt.choose(t, b)
			r := b.Page(t, fixturePath, http.StatusOK)
			if got := r.Doc.Find("html").AttrOr("lang", ""); got != tt.wantLang {
				t.Errorf("lang = %q, want %q", got, tt.wantLang)
			}
			sec := section(t, r.Doc, "sec-premium")
			if tt.wantTitle != "" {
				if got := webtest.Text(sec.Find("h2")); got != tt.wantTitle {
					t.Errorf("heading = %q, want %q", got, tt.wantTitle)
				}
			}
			dts, dds := sec.Find("dl.fields > dt"), sec.Find("dl.fields > dd")
			if dds.Length() != len(tt.wantValues) {
				t.Fatalf("premium fields = %d, want %d", dds.Length(), len(tt.wantValues))
			}
			for i, want := range tt.wantValues {
				if got := strings.TrimSpace(dds.Eq(i).Text()); got != want {
					t.Errorf("premium field %d (%s) = %q, want %q", i, webtest.Text(dts.Eq(i)), got, want)
				}
				if tt.wantLabels != nil && webtest.Text(dts.Eq(i)) != tt.wantLabels[i] {
					t.Errorf("premium label %d = %q, want %q", i, webtest.Text(dts.Eq(i)), tt.wantLabels[i])
				}
			}
		})
	}
}

// 8. Documents.

func TestPolicyDetailNotFound(t *testing.T) {
	t.Parallel()
	srv := newPolicyServer(t, 100)
	// A policy of distributor B, found with B's key.
	bb := srv.SignedIn(t, sandbox.KeyBSecretTest)
	list := bb.Page(t, "/policies", http.StatusOK)
	otherPath := href(t, rows(list.Doc).First().Find("td a"), "B's first row")
	if !strings.HasPrefix(otherPath, "/policies/tpol_") {
		t.Fatalf("B's row links to %q", otherPath)
	}
	bb.Page(t, otherPath, http.StatusOK)

	a := srv.SignedIn(t, sandbox.KeyASecretTest)
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
			r := a.Page(t, tt.path, http.StatusNotFound)
			checkErrorPage(t, r, http.StatusNotFound, msg)
			if got := srv.Upstream.Sandbox.Calls(sandbox.RouteGetPolicy) > before; got != tt.wantUpstream {
				t.Errorf("upstream asked = %v, want %v", got, tt.wantUpstream)
			}
			id := webtest.Text(r.Doc.Find(`[data-testid="request-id"]`))
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

// TestPolicyDetailKeepsSignedLinks: a signed document link works for
// whoever holds it, so the raw view shows the documents without theirs.
func TestPolicyDetailKeepsSignedLinks(t *testing.T) {
	t.Parallel()
	srv := newPolicyServer(t, 20)
	b := srv.SignedIn(t, sandbox.KeyASecretTest)
	r := b.Page(t, fixturePath, http.StatusOK)
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

// fullKey is a whole KASKO key anywhere in a page.
var fullKey = regexp.MustCompile(`[sp]k_(test|live)_[A-Za-z0-9]{32}`)

// TestPolicyPagesShowNoKey: the upstream puts the distributor's public
// key into every policy (distributor_key), and free-form metadata can
// carry a key or a token someone pasted; no page of a policy shows one
// whole, neither in the fields nor in the raw JSON view.
func TestPolicyPagesShowNoKey(t *testing.T) {
	t.Parallel()
	srv := newPolicyServer(t, 30)
	staff := srv.SignedIn(t, sandbox.KeyASecretTest)
	header := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	jwt := header + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"partner"}`)) + ".c2lnbmF0dXJlLXNpZ25hdHVyZQ"

	// A policy whose metadata carries a secret key and a token.
	form := pushValues(newPushForm(t, staff))
	form["meta_key"] = []string{"crm_id", "pasted_key", "pasted_token"}
	form["meta_value"] = []string{"CRM-42", sandbox.KeyASecretTest, jwt}
	created := staff.Post("/policies/new", form)
	if created.Status != http.StatusSeeOther {
		t.Fatalf("push: status %d\n%.600s", created.Status, created.Body)
	}
	link := staff.Page(t, created.Header.Get("Location"), http.StatusOK).Doc.Find(`[data-testid="push-policy-link"]`).AttrOr("href", "")
	if link == "" {
		t.Fatal("no link to the created policy")
	}

	secrets := []string{jwt}
	for _, c := range srv.Upstream.Sandbox.Credentials() {
		secrets = append(secrets, c.Key)
	}
	check := func(t *testing.T, path, body string) {
		t.Helper()
		if m := fullKey.FindString(body); m != "" {
			t.Errorf("%s shows the key %s", path, m)
		}
		for _, s := range secrets {
			if strings.Contains(body, s) {
				t.Errorf("%s shows the secret %.12s…", path, s)
			}
		}
	}
	d := staff.Page(t, link, http.StatusOK)
	check(t, link, d.Body)
	if got := webtest.Text(field(t, section(t, d.Doc, "sec-metadata"), "Pasted key")); got != "sk_test_…"+sandbox.KeyASecretTest[len(sandbox.KeyASecretTest)-4:] {
		t.Errorf("pasted key shown as %q, want it masked", got)
	}
	if got := webtest.Text(field(t, section(t, d.Doc, "sec-metadata"), "Crm id")); got != "CRM-42" {
		t.Errorf("crm id shown as %q, want it untouched", got)
	}
	raw := d.Doc.Find(`[data-testid="raw-json"]`).Text()
	var parsed map[string]any
	if err := json.Unmarshal([]byte(raw), &parsed); err != nil {
		t.Fatalf("the raw view is no longer JSON: %v", err)
	}
	if got, _ := parsed["distributor_key"].(string); !strings.HasPrefix(got, "pk_test_…") || len(got) > len("pk_test_…")+4 {
		t.Errorf("raw distributor_key = %q, want it masked", got)
	}

	// Every seeded policy, for a staff key and a public one: the page and,
	// where there is one, the cancel form.
	reader := srv.SignedIn(t, sandbox.KeyAPublicTest)
	for _, key := range []string{sandbox.KeyASecretTest, sandbox.KeyAPublicTest} {
		b := staff
		if key == sandbox.KeyAPublicTest {
			b = reader
		}
		pg := upstreamList(t, srv, key, kasko.ListParams{Limit: 100})
		if len(pg.Policies) == 0 {
			t.Fatal("the sandbox lists no policy")
		}
		for _, p := range pg.Policies {
			path := paths.Policy(p.ID)
			check(t, path, b.Page(t, path, http.StatusOK).Body)
			check(t, path+"/cancel", b.Get(path+"/cancel").Body)
		}
	}
}
