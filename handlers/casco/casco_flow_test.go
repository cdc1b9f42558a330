package casco_test

import (
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"backoffice/internal/audit"
	"backoffice/internal/format"
	"backoffice/internal/sandbox"
	"backoffice/web/webtest"
)

// newCascoServer is a dashboard over a small sandbox, for the quote flow.
func newCascoServer(t *testing.T, opts sandbox.Options) *webtest.Server {
	t.Helper()
	if opts.Policies == 0 {
		opts.Policies = 20
	}
	return webtest.NewServer(t, webtest.Options{Sandbox: opts})
}

// partner returns an English-speaking browser signed in with a CascoApi
// account.
func partner(t *testing.T, srv *webtest.Server, account, password string) *webtest.Browser {
	t.Helper()
	b := srv.NewBrowser(t)
	b.Header.Set("Accept-Language", "en")
	r := b.Post("/signin/partner", url.Values{"account": {account}, "password": {password}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("partner sign-in = %d, want 303\n%.500s", r.Status, r.Body)
	}
	return b
}

func demoPartner(t *testing.T, srv *webtest.Server) *webtest.Browser {
	t.Helper()
	return partner(t, srv, sandbox.CascoDemoAccount, sandbox.CascoDemoPassword)
}

// newDraft starts a quote and returns its id.
func newDraft(t *testing.T, b *webtest.Browser) string {
	t.Helper()
	r := b.Post("/casco/drafts", nil)
	loc := r.Header.Get("Location")
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(loc, "/casco/drafts/") || !strings.HasSuffix(loc, "/vehicle") {
		t.Fatalf("new quote = %d to %q", r.Status, loc)
	}
	return strings.TrimSuffix(strings.TrimPrefix(loc, "/casco/drafts/"), "/vehicle")
}

func stepPath(id, step string) string { return "/casco/drafts/" + id + "/" + step }

// cnp builds a valid CNP (check digit included) from its first twelve
// digits.
func cnp(first12 string) string {
	const key = "279146358279"
	sum := 0
	for i := range 12 {
		sum += int(first12[i]-'0') * int(key[i]-'0')
	}
	check := sum % 11
	if check == 10 {
		check = 1
	}
	return first12 + string(rune('0'+check))
}

// holderCNP: a man born on 15 May 1990, in Cluj (12).
var holderCNP = cnp("190051512345")

// bucharestDay is today + days in Bucharest, as YYYY-MM-DD.
func bucharestDay(days int) string {
	loc, _ := time.LoadLocation("Europe/Bucharest")
	return time.Now().In(loc).AddDate(0, 0, days).Format(time.DateOnly)
}

// The sample quote of the sandbox README: a 2020 Toyota Corolla of
// 103 kW worth 100000.00, a Cluj policyholder born in 1990, deductibles
// 500 / 20 %, one installment, twelve months.
func vehicleForm(version string) url.Values {
	return url.Values{
		"version": {version}, "step": {"save"},
		"vin": {"WVWZZZ1KZ8W006165"}, "make": {"Toyota"}, "model": {"Corolla"}, "vehicle_type": {"M1"}, "fuel": {"petrol"},
		"year": {"2020"}, "power": {"103"}, "displacement": {"1800"}, "seats": {"5"}, "mileage": {"120000"},
		"market_value": {"100000.00"}, "color": {"white"}, "registration": {"registered"}, "plate": {"CJ 12 ABC"},
	}
}

func ownerForm(version string) url.Values {
	return url.Values{
		"version": {version}, "step": {"save"}, "kind": {"person"},
		"cnp": {holderCNP}, "first_name": {"Ștefan"}, "last_name": {"Țurcanu"}, "birth_date": {"1990-05-15"},
		"licence_date": {"2010-06-01"}, "id_type": {"CI"}, "id_number": {"CJ123456"},
		"email": {"stefan.turcanu@example.com"}, "phone": {"0712 345 678"},
		"country": {"RO"}, "county": {"CJ"}, "locality": {"CLUJ-NAPOCA"}, "street": {"Principală"}, "house_number": {"19-21"}, "postcode": {"400000"},
	}
}

func coverForm(version string) url.Values {
	return url.Values{
		"version": {version}, "step": {"save"},
		"start_date": {bucharestDay(10)}, "term": {"12"}, "installments": {"1"}, "partial": {"500"}, "total": {"20"},
		"providers": {"generali", "groupama", "allianz", "eazy_insure"},
	}
}

// version reads the draft version a step page's form carries.
func version(t *testing.T, doc *goquery.Document) string {
	t.Helper()
	v, ok := doc.Find(`form input[name="version"]`).Attr("value")
	if !ok {
		t.Fatal("the step form carries no version")
	}
	return v
}

// saveStep posts a step form filled from the step page and wants a 303
// to next.
func saveStep(t *testing.T, b *webtest.Browser, id, step string, form func(version string) url.Values, next string) {
	t.Helper()
	p := b.Page(t, stepPath(id, step), http.StatusOK)
	r := b.Post(stepPath(id, step), form(version(t, p.Doc)))
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != stepPath(id, next) {
		msgs := ""
		if r.Doc != nil {
			msgs = webtest.Text(r.Doc.Find(`.error, [data-testid="alert"]`))
		}
		t.Fatalf("saving %s = %d to %q, want 303 to %s; %s", step, r.Status, r.Header.Get("Location"), next, msgs)
	}
}

// quoteUpTo fills the three forms of a new quote and returns its id.
func quoteUpTo(t *testing.T, b *webtest.Browser) string {
	t.Helper()
	id := newDraft(t, b)
	saveStep(t, b, id, "vehicle", vehicleForm, "owner")
	saveStep(t, b, id, "owner", ownerForm, "cover")
	saveStep(t, b, id, "cover", coverForm, "offers")
	waitAnswers(t, b, id)
	return id
}

// waitAnswers polls the offers table as the page does (htmx, HX-Target
// offers-table) until no insurer is being asked any more, and returns
// the last table.
func waitAnswers(t *testing.T, b *webtest.Browser, id string) webtest.Response {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		r := pollOffers(t, b, id)
		if r.Doc.Find(`#offers-table`).AttrOr("data-polling", "") == "false" {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("insurers still being asked after 15 s: %q", webtest.Text(r.Doc.Find(`#offers-table`)))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// pollOffers is one poll of the offers table: the region alone.
func pollOffers(t *testing.T, b *webtest.Browser, id string) webtest.Response {
	t.Helper()
	r := b.Get(stepPath(id, "offers"), "HX-Request", "true", "HX-Target", "offers-table")
	if r.Status != http.StatusOK || r.Doc.Find(`#offers-table`).Length() != 1 || r.Doc.Find(`[data-testid="offers-form"]`).Length() != 0 {
		t.Fatalf("offers poll = %d, want the table region alone\n%.500s", r.Status, r.Body)
	}
	return r
}

// offersForm is the form that asks for offers, as the offers page
// carries it (its one-time token).
func offersForm(t *testing.T, b *webtest.Browser, id string) url.Values {
	t.Helper()
	p := b.Page(t, stepPath(id, "offers"), http.StatusOK)
	token := p.Doc.Find(`[data-testid="offers-form"] input[name="token"]`).AttrOr("value", "")
	if token == "" {
		t.Fatal("the offers form has no token")
	}
	return url.Values{"token": {token}}
}

// askOffers asks for offers and returns the offers page.
func askOffers(t *testing.T, b *webtest.Browser, id string) webtest.Response {
	t.Helper()
	r := b.Post(stepPath(id, "offers"), offersForm(t, b, id))
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != stepPath(id, "offers") {
		t.Fatalf("asking for offers = %d to %q\n%.800s", r.Status, r.Header.Get("Location"), r.Body)
	}
	return b.Page(t, stepPath(id, "offers"), http.StatusOK)
}

// premium is the sandbox README's formula for the sample quote: S × rate
// × age 1.25 (6–9 years) × power 1.00 (103 kW) × county 1.10 (CJ) × driver
// 1.00 (30–64) × partial 0.92 (500) × total 0.90 (20 %) × inst 1.00 ×
// 12/12, rounded once, half up, to bani.
func premium(rateBP int64) int64 {
	r := new(big.Rat).SetInt64(100000_00) // S in bani
	for _, f := range []*big.Rat{big.NewRat(rateBP, 10000), big.NewRat(125, 100), big.NewRat(100, 100), big.NewRat(110, 100),
		big.NewRat(100, 100), big.NewRat(92, 100), big.NewRat(90, 100), big.NewRat(100, 100)} {
		r.Mul(r, f)
	}
	return roundHalfUp(r)
}

func roundHalfUp(r *big.Rat) int64 {
	n := new(big.Rat).Add(r, big.NewRat(1, 2))
	return new(big.Int).Quo(n.Num(), n.Denom()).Int64()
}

// commission is round(premium × percent / 100).
func commission(premium, percent int64) int64 {
	return roundHalfUp(big.NewRat(premium*percent, 100))
}

// offerCells maps provider → the text of the offers table's row.
func offerCells(doc *goquery.Document, row string) map[string]string {
	out := map[string]string{}
	doc.Find(`[data-testid="offer-row-` + row + `"] td[data-testid="offer-` + row + `"]`).Each(func(_ int, s *goquery.Selection) {
		out[s.AttrOr("data-provider", "")] = webtest.Text(s)
	})
	return out
}

func TestCascoQuoteToPolicy(t *testing.T) {
	t.Parallel()
	srv := newCascoServer(t, sandbox.Options{})
	b := demoPartner(t, srv)
	f := format.New("en")

	home := b.Page(t, "/casco", http.StatusOK)
	if home.Doc.Find(`[data-testid="history-empty"]`).Length() != 1 || home.Doc.Find(`[data-testid="new-quote"]`).Length() != 1 {
		t.Fatal("an empty history with a New quote button was expected")
	}
	id := newDraft(t, b)

	// Step 1: the navigation says where we are; later steps are not
	// links yet.
	v := b.Page(t, stepPath(id, "vehicle"), http.StatusOK)
	if got := v.Doc.Find(`[data-testid="nav-step-vehicle"] a`).AttrOr("aria-current", ""); got != "step" {
		t.Errorf("vehicle step aria-current = %q, want step", got)
	}
	for _, s := range []string{"owner", "cover", "offers", "policy"} {
		if v.Doc.Find(`[data-testid="nav-step-`+s+`"] a`).Length() != 0 {
			t.Errorf("step %s is a link before step 1 is done", s)
		}
	}
	if n := v.Doc.Find(`#f-make option`).Length(); n < 30 {
		t.Errorf("%d makes listed", n)
	}
	if got := v.Doc.Find(`#f-make`).AttrOr("hx-get", ""); got != "/casco/options/models" {
		t.Errorf("make select hx-get = %q", got)
	}
	if got := v.Doc.Find(`#f-make`).AttrOr("hx-target", ""); got != "#f-model" {
		t.Errorf("make select hx-target = %q", got)
	}

	// Identify: the helper fills in what it knows and the vehicle code.
	form := vehicleForm(version(t, v.Doc))
	form.Set("step", "identify")
	form.Set("make", "toyota")
	form.Set("model", "corolla")
	idn := b.Post(stepPath(id, "vehicle"), form)
	if idn.Status != http.StatusOK {
		t.Fatalf("identify = %d\n%.800s", idn.Status, idn.Body)
	}
	if got := webtest.Text(idn.Doc.Find(`[data-testid="vehicle-code"]`)); !strings.Contains(got, "TOY-COROLLA-2020-1800-P") {
		t.Errorf("vehicle code shown = %q", got)
	}
	if got := idn.Doc.Find(`#f-make option[selected]`).AttrOr("value", ""); got != "Toyota" {
		t.Errorf("make after identify = %q, want Toyota", got)
	}
	if got := idn.Doc.Find(`#f-model option[selected]`).AttrOr("value", ""); got != "Corolla" {
		t.Errorf("model after identify = %q, want Corolla (the models of the make rendered on the server)", got)
	}
	if n := srv.Upstream.Sandbox.Calls(sandbox.RouteCascoVehicleID); n != 1 {
		t.Errorf("identification calls = %d, want 1", n)
	}
	// Saved: a reload shows it.
	again := b.Page(t, stepPath(id, "vehicle"), http.StatusOK)
	if got := again.Doc.Find(`#f-vin`).AttrOr("value", ""); got != "WVWZZZ1KZ8W006165" {
		t.Errorf("VIN after reload = %q", got)
	}
	if !strings.Contains(webtest.Text(again.Doc.Find(`[data-testid="vehicle-code"]`)), "TOY-COROLLA") {
		t.Error("the vehicle code was not kept")
	}

	saveStep(t, b, id, "vehicle", vehicleForm, "owner")
	o := b.Page(t, stepPath(id, "owner"), http.StatusOK)
	if o.Doc.Find(`[data-testid="nav-step-vehicle"] a`).AttrOr("href", "") != stepPath(id, "vehicle") {
		t.Error("step 1 is not a link once done")
	}
	if got := o.Doc.Find(`#f-country option[selected]`).AttrOr("value", ""); got != "RO" {
		t.Errorf("default country = %q", got)
	}
	saveStep(t, b, id, "owner", ownerForm, "cover")
	c := b.Page(t, stepPath(id, "cover"), http.StatusOK)
	if n := c.Doc.Find(`input[name="providers"][checked]`).Length(); n != 4 {
		t.Errorf("%d insurers checked by default, want 4", n)
	}
	saveStep(t, b, id, "cover", coverForm, "offers")

	// Step 4: the cover saved asked all four insurers, priced by the
	// formula.
	waitAnswers(t, b, id)
	if n := srv.Upstream.Sandbox.Calls(sandbox.RouteCascoOffer); n != 4 {
		t.Errorf("quote requests after the cover = %d, want 4 (one per insurer)", n)
	}
	// Asking again asks each once more.
	offers := askOffers(t, b, id)
	if n := srv.Upstream.Sandbox.Calls(sandbox.RouteCascoOffer); n != 8 {
		t.Errorf("quote requests = %d, want 8 (one per insurer and ask)", n)
	}
	rates := map[string][2]int64{"generali": {420, 12}, "groupama": {450, 12}, "allianz": {400, 10}, "eazy_insure": {380, 15}}
	premiums, nets := offerCells(offers.Doc, "premium"), offerCells(offers.Doc, "net")
	for p, rc := range rates {
		gross := premium(rc[0])
		net := gross - commission(gross, rc[1])
		if !strings.HasPrefix(premiums[p], webtest.Squash(f.Money(gross, "RON"))) {
			t.Errorf("%s premium = %q, want %s", p, premiums[p], webtest.Squash(f.Money(gross, "RON")))
		}
		if !strings.HasPrefix(nets[p], webtest.Squash(f.Money(net, "RON"))) {
			t.Errorf("%s net premium = %q, want %s", p, nets[p], webtest.Squash(f.Money(net, "RON")))
		}
	}
	if premium(450) != 512325 {
		t.Fatalf("the formula as written here gives %d for groupama, the README says 5123.25", premium(450))
	}
	if got := offerCells(offers.Doc, "installments")["groupama"]; !strings.Contains(got, webtest.Squash(f.Money(512325, "RON"))) {
		t.Errorf("groupama installments = %q", got)
	}
	if got := offerCells(offers.Doc, "partial")["groupama"]; got != webtest.Squash(f.Money(50000, "RON")) {
		t.Errorf("groupama partial deductible = %q", got)
	}
	if got := offerCells(offers.Doc, "total")["groupama"]; got != "20 %" {
		t.Errorf("groupama total deductible = %q", got)
	}
	if got := offerCells(offers.Doc, "expiry")["groupama"]; got == "" {
		t.Error("no offer expiry")
	}
	headers := offers.Doc.Find(`[data-testid="offer-provider"]`).Map(func(_ int, s *goquery.Selection) string { return webtest.Text(s) })
	if strings.Join(headers, ",") != "Generali,Groupama,Allianz,Eazy Insure" {
		t.Errorf("columns = %v", headers)
	}

	// The offer PDF.
	pdfLink := offers.Doc.Find(`td[data-provider="groupama"] [data-testid="offer-pdf"]`).AttrOr("href", "")
	pdf := b.Get(pdfLink)
	checkPDF(t, pdf, "casco-offer-groupama-")

	// Step 5: choose groupama, pay, convert.
	choose := offers.Doc.Find(`td[data-provider="groupama"] [data-testid="choose-offer"]`).AttrOr("href", "")
	form5 := b.Page(t, choose, http.StatusOK)
	if got := form5.Doc.Find(`#f-amount`).AttrOr("value", ""); got != "5123.25" {
		t.Errorf("amount filled in = %q, want 5123.25", got)
	}
	if got := webtest.Text(form5.Doc.Find(`[data-testid="chosen-provider"]`)); got != "Groupama" {
		t.Errorf("chosen provider = %q", got)
	}
	if n := form5.Doc.Find(`#f-method option`).Length(); n != 6 {
		t.Errorf("%d payment method options, want the placeholder and 5", n)
	}
	pay := url.Values{
		"token": {form5.Doc.Find(`input[name="token"]`).AttrOr("value", "")}, "offer": {form5.Doc.Find(`input[name="offer"]`).AttrOr("value", "")},
		"method": {"broker receipt"}, "amount": {"5123.25"}, "date": {bucharestDay(0)}, "document_number": {"CH-000042"},
	}
	issued := b.Post(stepPath(id, "policy"), pay)
	if issued.Status != http.StatusSeeOther || issued.Header.Get("Location") != stepPath(id, "policy") {
		t.Fatalf("convert = %d to %q\n%.800s", issued.Status, issued.Header.Get("Location"), issued.Body)
	}
	pol := b.Page(t, stepPath(id, "policy"), http.StatusOK)
	series, number := webtest.Text(pol.Doc.Find(`[data-testid="policy-series"]`)), webtest.Text(pol.Doc.Find(`[data-testid="policy-number"]`))
	if series != "GRP/CL" || len(number) != 9 {
		t.Errorf("policy = %q %q", series, number)
	}
	if got := webtest.Text(pol.Doc.Find(`[data-testid="policy-premium"]`)); got != webtest.Squash(f.Money(512325, "RON")) {
		t.Errorf("policy premium = %q", got)
	}
	policyPDF := pol.Doc.Find(`[data-testid="policy-pdf"]`).AttrOr("href", "")
	if policyPDF != "/casco/policies/GRP%2FCL/"+number+"/pdf" {
		t.Errorf("policy PDF link = %q", policyPDF)
	}
	checkPDF(t, b.Get(policyPDF), "casco-policy-GRP-CL-"+number)
	for _, s := range []string{"vehicle", "owner", "cover", "offers", "policy"} {
		if pol.Doc.Find(`[data-testid="nav-step-`+s+`"].done`).Length() != 1 {
			t.Errorf("step %s is not marked done", s)
		}
	}

	// The history lists it, done, with the policy's PDF; the audit log
	// has the conversion.
	home = b.Page(t, "/casco", http.StatusOK)
	row := home.Doc.Find(`[data-testid="history-row"]`)
	if row.Length() != 1 || !strings.Contains(webtest.Text(row), "Toyota Corolla · CJ12ABC · Ștefan Țurcanu") || webtest.Text(row.Find(`[data-testid="history-step"]`)) != "Policy issued" {
		t.Errorf("history row = %q", webtest.Text(row))
	}
	if row.Find(`[data-testid="history-policy-pdf"]`).AttrOr("href", "") != policyPDF {
		t.Error("the history does not link the policy PDF")
	}
	entries := srv.AuditEntries(t)
	if len(entries) != 1 || entries[0].Action != audit.ActionConvert || entries[0].Outcome != audit.OutcomeCompleted ||
		entries[0].Actor != sandbox.CascoDemoAccount || entries[0].Message != "GRP/CL "+number || entries[0].Reference != pay.Get("offer") {
		t.Errorf("audit = %+v", entries)
	}
	// The finished quote cannot change any more.
	locked := b.Post(stepPath(id, "vehicle"), vehicleForm(version(t, b.Page(t, stepPath(id, "vehicle"), http.StatusOK).Doc)))
	if locked.Status != http.StatusConflict {
		t.Errorf("changing an issued quote = %d, want 409", locked.Status)
	}
	// Nor ask the insurers again, all or one: the sandbox is not called.
	asked := srv.Upstream.Sandbox.Calls(sandbox.RouteCascoOffer)
	for _, path := range []string{stepPath(id, "offers"), stepPath(id, "offers") + "/allianz/retry"} {
		r := b.Post(path, url.Values{"token": {"any"}})
		if r.Status != http.StatusConflict || r.Doc.Find(`[data-testid="offers"]`).Length() == 0 {
			t.Errorf("POST %s on an issued quote = %d, want 409 with the offers", path, r.Status)
		}
	}
	if n := srv.Upstream.Sandbox.Calls(sandbox.RouteCascoOffer); n != asked {
		t.Errorf("an issued quote asked the insurers %d times", n-asked)
	}
}

// checkPDF wants a PDF download named like namePrefix.
func checkPDF(t *testing.T, r webtest.Response, namePrefix string) {
	t.Helper()
	if r.Status != http.StatusOK || r.Header.Get("Content-Type") != "application/pdf" || !strings.HasPrefix(r.Body, "%PDF-") {
		t.Fatalf("PDF = %d %q, starts %q", r.Status, r.Header.Get("Content-Type"), r.Body[:min(len(r.Body), 40)])
	}
	if cd := r.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, `attachment; filename=`) || !strings.Contains(cd, namePrefix) || !strings.HasSuffix(strings.Trim(cd, `"`), ".pdf") {
		t.Errorf("Content-Disposition = %q, want an attachment named %s….pdf", cd, namePrefix)
	}
	if cc := r.Header.Get("Cache-Control"); cc != "private, no-store" {
		t.Errorf("Cache-Control = %q", cc)
	}
}

func TestCascoDraftsBelongToTheirAccount(t *testing.T) {
	t.Parallel()
	srv := newCascoServer(t, sandbox.Options{})
	demo := demoPartner(t, srv)
	id := quoteUpTo(t, demo)
	offers := askOffers(t, demo, id)
	offerPDF := offers.Doc.Find(`[data-testid="offer-pdf"]`).First().AttrOr("href", "")
	choose := offers.Doc.Find(`td[data-provider="groupama"] [data-testid="choose-offer"]`).AttrOr("href", "")
	form := demo.Page(t, choose, http.StatusOK)
	r := demo.Post(stepPath(id, "policy"), url.Values{
		"token": {form.Doc.Find(`input[name="token"]`).AttrOr("value", "")}, "offer": {form.Doc.Find(`input[name="offer"]`).AttrOr("value", "")},
		"method": {"pos"}, "amount": {"5123.25"}, "date": {bucharestDay(0)}, "document_number": {"P-1"},
	})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("convert = %d", r.Status)
	}
	policyPDF := demo.Page(t, stepPath(id, "policy"), http.StatusOK).Doc.Find(`[data-testid="policy-pdf"]`).AttrOr("href", "")

	other := partner(t, srv, sandbox.CascoPartnerAccount, sandbox.CascoPartnerPassword)
	for _, path := range []string{"/casco/drafts/" + id, stepPath(id, "vehicle"), stepPath(id, "owner"), stepPath(id, "cover"), stepPath(id, "offers"),
		stepPath(id, "policy"), offerPDF, policyPDF, "/casco/drafts/not-a-draft-id/vehicle"} {
		if got := other.Get(path); got.Status != http.StatusNotFound {
			t.Errorf("GET %s by another account = %d, want 404", path, got.Status)
		}
	}
	for _, step := range []string{"vehicle", "owner", "cover", "offers", "policy"} {
		if got := other.Post(stepPath(id, step), vehicleForm("1")); got.Status != http.StatusNotFound {
			t.Errorf("POST %s by another account = %d, want 404", step, got.Status)
		}
	}
	if other.Page(t, "/casco", http.StatusOK).Doc.Find(`[data-testid="history-row"]`).Length() != 0 {
		t.Error("another account's history lists the quote")
	}
	// Without a partner sign-in, the pages send to it and back.
	anon := srv.NewBrowser(t)
	if got := anon.Get(stepPath(id, "vehicle")); got.Status != http.StatusSeeOther || got.Header.Get("Location") != "/signin?tab=casco&next="+url.QueryEscape(stepPath(id, "vehicle")) {
		t.Errorf("anonymous = %d to %q", got.Status, got.Header.Get("Location"))
	}
}

func TestCascoTokenExpiryMidFlow(t *testing.T) {
	t.Parallel()
	srv := newCascoServer(t, sandbox.Options{})
	b := demoPartner(t, srv)
	id := newDraft(t, b)
	saveStep(t, b, id, "vehicle", vehicleForm, "owner")
	// Every access token issued so far is refused from now on; the
	// refresh token still works, and nobody notices.
	srv.Upstream.Sandbox.ExpireCascoTokens()
	saveStep(t, b, id, "owner", ownerForm, "cover")
	saveStep(t, b, id, "cover", coverForm, "offers")
	offers := askOffers(t, b, id)
	if n := offers.Doc.Find(`[data-testid="choose-offer"]`).Length(); n != 4 {
		t.Fatalf("%d offers after the token expired", n)
	}
	if n := srv.Upstream.Sandbox.Calls(sandbox.RouteCascoRenew); n < 1 {
		t.Errorf("renewals = %d, want the expired token renewed", n)
	}
	srv.Upstream.Sandbox.ExpireCascoTokens()
	choose := offers.Doc.Find(`td[data-provider="eazy_insure"] [data-testid="choose-offer"]`).AttrOr("href", "")
	form := b.Page(t, choose, http.StatusOK)
	r := b.Post(stepPath(id, "policy"), url.Values{
		"token": {form.Doc.Find(`input[name="token"]`).AttrOr("value", "")}, "offer": {form.Doc.Find(`input[name="offer"]`).AttrOr("value", "")},
		"method": {"payment order"}, "amount": {"4326.30"}, "date": {bucharestDay(0)}, "document_number": {"OP-9"},
	})
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != stepPath(id, "policy") {
		t.Fatalf("convert after expiry = %d to %q", r.Status, r.Header.Get("Location"))
	}
	srv.Upstream.Sandbox.ExpireCascoTokens()
	pdf := b.Get(b.Page(t, stepPath(id, "policy"), http.StatusOK).Doc.Find(`[data-testid="policy-pdf"]`).AttrOr("href", ""))
	checkPDF(t, pdf, "casco-policy-EZ-CS-")
}

func TestCascoSignInAgainMidFlow(t *testing.T) {
	t.Parallel()
	// Refresh tokens that die with the access token: the session cannot
	// be renewed, the partner signs in again and carries on.
	srv := newCascoServer(t, sandbox.Options{CascoTokenTTL: time.Second, CascoRefreshTTL: time.Second})
	b := demoPartner(t, srv)
	id := newDraft(t, b)
	saveStep(t, b, id, "vehicle", vehicleForm, "owner")
	saveStep(t, b, id, "owner", ownerForm, "cover")
	saveStep(t, b, id, "cover", coverForm, "offers")
	// The cover's own asks run in the background and may renew the
	// tokens: they end first, so that the session then surely dies.
	waitAnswers(t, b, id)
	form := offersForm(t, b, id)
	time.Sleep(1300 * time.Millisecond)
	r := b.Post(stepPath(id, "offers"), form)
	want := "/signin?tab=casco&next=" + url.QueryEscape(stepPath(id, "offers"))
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != want {
		t.Fatalf("offers with a dead session = %d to %q, want %q", r.Status, r.Header.Get("Location"), want)
	}
	in := b.Post("/signin/partner", url.Values{"account": {sandbox.CascoDemoAccount}, "password": {sandbox.CascoDemoPassword}, "next": {stepPath(id, "offers")}})
	if in.Header.Get("Location") != stepPath(id, "offers") {
		t.Fatalf("after signing in again: %q", in.Header.Get("Location"))
	}
	// Nothing typed was lost: the offers step is open and asks at once.
	offers := askOffers(t, b, id)
	if n := offers.Doc.Find(`[data-testid="choose-offer"]`).Length(); n != 4 {
		t.Errorf("%d offers after signing in again", n)
	}
	if got := b.Page(t, stepPath(id, "owner"), http.StatusOK).Doc.Find(`#f-cnp`).AttrOr("value", ""); got != holderCNP {
		t.Errorf("CNP after signing in again = %q", got)
	}
}

func TestCascoHistoryAndReopen(t *testing.T) {
	t.Parallel()
	srv := newCascoServer(t, sandbox.Options{})
	b := demoPartner(t, srv)
	first := newDraft(t, b)
	saveStep(t, b, first, "vehicle", vehicleForm, "owner")
	second := newDraft(t, b)

	// A step that cannot be opened yet sends to the step reached.
	if r := b.Get(stepPath(second, "cover")); r.Status != http.StatusSeeOther || r.Header.Get("Location") != stepPath(second, "vehicle") {
		t.Errorf("cover of a new quote = %d to %q", r.Status, r.Header.Get("Location"))
	}
	if r := b.Get(stepPath(first, "offers")); r.Status != http.StatusSeeOther || r.Header.Get("Location") != stepPath(first, "owner") {
		t.Errorf("offers of a quote at step 2 = %d to %q", r.Status, r.Header.Get("Location"))
	}

	home := b.Page(t, "/casco", http.StatusOK)
	rows := home.Doc.Find(`[data-testid="history-row"]`)
	if rows.Length() != 2 {
		t.Fatalf("%d quotes listed, want 2", rows.Length())
	}
	if rows.First().AttrOr("data-draft", "") != second || rows.Last().AttrOr("data-draft", "") != first {
		t.Error("the history is not newest first")
	}
	if got := webtest.Text(rows.First().Find(`[data-testid="history-open"]`)); got != "New quote (no vehicle yet)" {
		t.Errorf("untitled quote = %q", got)
	}
	if got := webtest.Text(rows.Last().Find(`[data-testid="history-step"]`)); got != "2 · Policyholder" {
		t.Errorf("step of the first quote = %q", got)
	}
	open := rows.Last().Find(`[data-testid="history-open"]`).AttrOr("href", "")
	if r := b.Get(open); r.Status != http.StatusSeeOther || r.Header.Get("Location") != stepPath(first, "owner") {
		t.Errorf("reopening = %d to %q", r.Status, r.Header.Get("Location"))
	}
	// Changing the first quote moves it to the top.
	saveStep(t, b, first, "owner", ownerForm, "cover")
	rows = b.Page(t, "/casco", http.StatusOK).Doc.Find(`[data-testid="history-row"]`)
	if rows.First().AttrOr("data-draft", "") != first {
		t.Error("the quote changed last is not first")
	}
	if r := b.Get("/casco?page=0"); r.Status != http.StatusBadRequest {
		t.Errorf("page 0 = %d", r.Status)
	}
}

func TestCascoInputIsEscaped(t *testing.T) {
	t.Parallel()
	srv := newCascoServer(t, sandbox.Options{})
	b := demoPartner(t, srv)
	id := newDraft(t, b)
	saveStep(t, b, id, "vehicle", vehicleForm, "owner")
	const evil = `<script>alert("x")</script>`
	saveStep(t, b, id, "owner", func(v string) url.Values {
		f := ownerForm(v)
		f.Set("last_name", evil)
		return f
	}, "cover")
	for _, path := range []string{"/casco", stepPath(id, "owner"), stepPath(id, "cover")} {
		p := b.Page(t, path, http.StatusOK)
		if strings.Contains(p.Body, evil) {
			t.Errorf("%s: the input came back unescaped", path)
		}
		if p.Doc.Find("script:not([src])").Length() != 0 {
			t.Errorf("%s: an inline script is on the page", path)
		}
	}
	if got := b.Page(t, stepPath(id, "owner"), http.StatusOK).Doc.Find(`#f-last_name`).AttrOr("value", ""); got != evil {
		t.Errorf("last name shown = %q", got)
	}
	if got := webtest.Text(b.Page(t, "/casco", http.StatusOK).Doc.Find(`[data-testid="history-title"]`)); !strings.HasSuffix(got, evil) {
		t.Errorf("history title = %q", got)
	}
	// A form posted from another site is refused.
	req, _ := http.NewRequest(http.MethodPost, srv.URL+stepPath(id, "cover"), strings.NewReader(coverForm("1").Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if r := b.Do(req); r.Status != http.StatusForbidden {
		t.Errorf("cross-site POST = %d, want 403", r.Status)
	}
}
