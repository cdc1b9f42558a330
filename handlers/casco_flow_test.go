package handlers_test

import (
	"context"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"sync"
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
	p := page(t, b, stepPath(id, step), http.StatusOK)
	r := b.Post(stepPath(id, step), form(version(t, p.Doc)))
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != stepPath(id, next) {
		msgs := ""
		if r.Doc != nil {
			msgs = textOf(r.Doc.Find(`.error, [data-testid="alert"]`))
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
	return id
}

// askOffers asks for offers and returns the offers page.
func askOffers(t *testing.T, b *webtest.Browser, id string) webtest.Response {
	t.Helper()
	r := b.Post(stepPath(id, "offers"), url.Values{})
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != stepPath(id, "offers") {
		t.Fatalf("asking for offers = %d to %q\n%.800s", r.Status, r.Header.Get("Location"), r.Body)
	}
	return page(t, b, stepPath(id, "offers"), http.StatusOK)
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
		out[s.AttrOr("data-provider", "")] = textOf(s)
	})
	return out
}

func TestCascoQuoteToPolicy(t *testing.T) {
	t.Parallel()
	srv := newCascoServer(t, sandbox.Options{})
	b := demoPartner(t, srv)
	f := format.New("en")

	home := page(t, b, "/casco", http.StatusOK)
	if home.Doc.Find(`[data-testid="history-empty"]`).Length() != 1 || home.Doc.Find(`[data-testid="new-quote"]`).Length() != 1 {
		t.Fatal("an empty history with a New quote button was expected")
	}
	id := newDraft(t, b)

	// Step 1: the navigation says where we are; later steps are not
	// links yet.
	v := page(t, b, stepPath(id, "vehicle"), http.StatusOK)
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
	if got := textOf(idn.Doc.Find(`[data-testid="vehicle-code"]`)); !strings.Contains(got, "TOY-COROLLA-2020-1800-P") {
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
	again := page(t, b, stepPath(id, "vehicle"), http.StatusOK)
	if got := again.Doc.Find(`#f-vin`).AttrOr("value", ""); got != "WVWZZZ1KZ8W006165" {
		t.Errorf("VIN after reload = %q", got)
	}
	if !strings.Contains(textOf(again.Doc.Find(`[data-testid="vehicle-code"]`)), "TOY-COROLLA") {
		t.Error("the vehicle code was not kept")
	}

	saveStep(t, b, id, "vehicle", vehicleForm, "owner")
	o := page(t, b, stepPath(id, "owner"), http.StatusOK)
	if o.Doc.Find(`[data-testid="nav-step-vehicle"] a`).AttrOr("href", "") != stepPath(id, "vehicle") {
		t.Error("step 1 is not a link once done")
	}
	if got := o.Doc.Find(`#f-country option[selected]`).AttrOr("value", ""); got != "RO" {
		t.Errorf("default country = %q", got)
	}
	saveStep(t, b, id, "owner", ownerForm, "cover")
	c := page(t, b, stepPath(id, "cover"), http.StatusOK)
	if n := c.Doc.Find(`input[name="providers"][checked]`).Length(); n != 4 {
		t.Errorf("%d insurers checked by default, want 4", n)
	}
	saveStep(t, b, id, "cover", coverForm, "offers")

	// Step 4: all four insurers, priced by the formula.
	offers := askOffers(t, b, id)
	if n := srv.Upstream.Sandbox.Calls(sandbox.RouteCascoOffer); n != 4 {
		t.Errorf("quote requests = %d, want 4 (one per insurer)", n)
	}
	rates := map[string][2]int64{"generali": {420, 12}, "groupama": {450, 12}, "allianz": {400, 10}, "eazy_insure": {380, 15}}
	premiums, nets := offerCells(offers.Doc, "premium"), offerCells(offers.Doc, "net")
	for p, rc := range rates {
		gross := premium(rc[0])
		net := gross - commission(gross, rc[1])
		if !strings.HasPrefix(premiums[p], squash(f.Money(gross, "RON"))) {
			t.Errorf("%s premium = %q, want %s", p, premiums[p], squash(f.Money(gross, "RON")))
		}
		if !strings.HasPrefix(nets[p], squash(f.Money(net, "RON"))) {
			t.Errorf("%s net premium = %q, want %s", p, nets[p], squash(f.Money(net, "RON")))
		}
	}
	if premium(450) != 512325 {
		t.Fatalf("the formula as written here gives %d for groupama, the README says 5123.25", premium(450))
	}
	if got := offerCells(offers.Doc, "installments")["groupama"]; !strings.Contains(got, squash(f.Money(512325, "RON"))) {
		t.Errorf("groupama installments = %q", got)
	}
	if got := offerCells(offers.Doc, "partial")["groupama"]; got != squash(f.Money(50000, "RON")) {
		t.Errorf("groupama partial deductible = %q", got)
	}
	if got := offerCells(offers.Doc, "total")["groupama"]; got != "20 %" {
		t.Errorf("groupama total deductible = %q", got)
	}
	if got := offerCells(offers.Doc, "expiry")["groupama"]; got == "" {
		t.Error("no offer expiry")
	}
	headers := offers.Doc.Find(`[data-testid="offer-provider"]`).Map(func(_ int, s *goquery.Selection) string { return textOf(s) })
	if strings.Join(headers, ",") != "Generali,Groupama,Allianz,Eazy Insure" {
		t.Errorf("columns = %v", headers)
	}

	// The offer PDF.
	pdfLink := offers.Doc.Find(`td[data-provider="groupama"] [data-testid="offer-pdf"]`).AttrOr("href", "")
	pdf := b.Get(pdfLink)
	checkPDF(t, pdf, "casco-offer-groupama-")

	// Step 5: choose groupama, pay, convert.
	choose := offers.Doc.Find(`td[data-provider="groupama"] [data-testid="choose-offer"]`).AttrOr("href", "")
	form5 := page(t, b, choose, http.StatusOK)
	if got := form5.Doc.Find(`#f-amount`).AttrOr("value", ""); got != "5123.25" {
		t.Errorf("amount filled in = %q, want 5123.25", got)
	}
	if got := textOf(form5.Doc.Find(`[data-testid="chosen-provider"]`)); got != "Groupama" {
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
	pol := page(t, b, stepPath(id, "policy"), http.StatusOK)
	series, number := textOf(pol.Doc.Find(`[data-testid="policy-series"]`)), textOf(pol.Doc.Find(`[data-testid="policy-number"]`))
	if series != "GRP/CL" || len(number) != 9 {
		t.Errorf("policy = %q %q", series, number)
	}
	if got := textOf(pol.Doc.Find(`[data-testid="policy-premium"]`)); got != squash(f.Money(512325, "RON")) {
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
	home = page(t, b, "/casco", http.StatusOK)
	row := home.Doc.Find(`[data-testid="history-row"]`)
	if row.Length() != 1 || !strings.Contains(textOf(row), "Toyota Corolla · CJ12ABC · Țurcanu") || textOf(row.Find(`[data-testid="history-step"]`)) != "Policy issued" {
		t.Errorf("history row = %q", textOf(row))
	}
	if row.Find(`[data-testid="history-policy-pdf"]`).AttrOr("href", "") != policyPDF {
		t.Error("the history does not link the policy PDF")
	}
	entries := auditEntries(t, srv.Audit)
	if len(entries) != 1 || entries[0].Action != audit.ActionConvert || entries[0].Outcome != audit.OutcomeCompleted ||
		entries[0].Actor != sandbox.CascoDemoAccount || entries[0].Message != "GRP/CL "+number || entries[0].Reference != pay.Get("offer") {
		t.Errorf("audit = %+v", entries)
	}
	// The finished quote cannot change any more.
	locked := b.Post(stepPath(id, "vehicle"), vehicleForm(version(t, page(t, b, stepPath(id, "vehicle"), http.StatusOK).Doc)))
	if locked.Status != http.StatusConflict {
		t.Errorf("changing an issued quote = %d, want 409", locked.Status)
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

// fieldCase is one validation rule of a step: the form as changed by
// edit answers 422 with message on field, the control marked invalid and
// described by the message, and the input kept.
type fieldCase struct {
	name    string
	edit    func(url.Values)
	field   string
	message string
}

// checkFieldCases posts each case's form (from form, filled with the
// current version) to the step and checks the answer.
func checkFieldCases(t *testing.T, b *webtest.Browser, id, step string, form func(string) url.Values, cases []fieldCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			p := page(t, b, stepPath(id, step), http.StatusOK)
			in := form(version(t, p.Doc))
			tt.edit(in)
			r := b.Post(stepPath(id, step), in)
			if r.Status != http.StatusUnprocessableEntity || r.Doc == nil {
				t.Fatalf("status = %d, want 422 (Location %q)", r.Status, r.Header.Get("Location"))
			}
			if got := textOf(r.Doc.Find(`[data-testid="error-` + tt.field + `"]`)); got != tt.message {
				t.Errorf("error on %s = %q, want %q (all: %q)", tt.field, got, tt.message, textOf(r.Doc.Find(`p.error`)))
			}
			if n := r.Doc.Find(`p.error`).Length(); n != 1 {
				t.Errorf("%d errors shown, want 1: %q", n, textOf(r.Doc.Find(`p.error`)))
			}
			ctl := r.Doc.Find(`#f-` + tt.field)
			if tt.field == "providers" || tt.field == "kind" {
				ctl = r.Doc.Find(`[data-testid="field-` + tt.field + `"]`)
			} else if ctl.AttrOr("aria-invalid", "") != "true" {
				t.Errorf("#f-%s is not aria-invalid", tt.field)
			}
			if !strings.Contains(ctl.AttrOr("aria-describedby", ""), "e-"+tt.field) {
				t.Errorf("%s is not described by its error (aria-describedby %q)", tt.field, ctl.AttrOr("aria-describedby", ""))
			}
			// What was typed comes back.
			for name, vals := range in {
				if name == "version" || name == "step" || name == "providers" || name == "kind" {
					continue
				}
				el := r.Doc.Find(`[name="` + name + `"]`)
				if el.Length() == 0 {
					continue // not shown for this kind or country
				}
				got := el.AttrOr("value", "")
				if goquery.NodeName(el) == "select" {
					got = el.Find("option[selected]").AttrOr("value", "")
					if el.Find(`option[value="`+vals[0]+`"]`).Length() == 0 {
						continue // not a choice of the list: nothing to keep
					}
				}
				if want := normalizeTyped(name, vals[0]); got != want {
					t.Errorf("%s came back as %q, want %q", name, got, want)
				}
			}
		})
	}
}

// normalizeTyped is what a form shows back of what was typed.
func normalizeTyped(name, v string) string {
	switch name {
	case "plate", "vin", "id_number", "cui":
		return strings.ToUpper(strings.Join(strings.Fields(v), ""))
	case "phone":
		return strings.NewReplacer(" ", "", "-", "", ".", "", "(", "", ")", "").Replace(v)
	case "cnp":
		return strings.Join(strings.Fields(v), "")
	}
	return strings.TrimSpace(v)
}

func TestCascoVehicleValidation(t *testing.T) {
	t.Parallel()
	srv := newCascoServer(t, sandbox.Options{})
	b := demoPartner(t, srv)
	id := newDraft(t, b)
	set := func(kv ...string) func(url.Values) {
		return func(f url.Values) {
			for i := 0; i+1 < len(kv); i += 2 {
				f.Set(kv[i], kv[i+1])
			}
		}
	}
	next := time.Now().Year() + 2
	checkFieldCases(t, b, id, "vehicle", vehicleForm, []fieldCase{
		{"no VIN", set("vin", ""), "vin", "This field is required."},
		{"short VIN", set("vin", "WVWZZZ1KZ8W00616"), "vin", "A VIN has 17 characters; this one has 16."},
		{"VIN with O", set("vin", "WVWZZZ1KZ8WO06165"), "vin", "A VIN has only digits and capital letters, never I, O or Q."},
		{"VIN check digit", set("vin", "1M8GDM9AXKP042789"), "vin", "The check digit (9th character) does not match: there is a typo in this VIN."},
		{"no make", set("make", ""), "make", "Choose one of the options."},
		{"unknown make", set("make", "Trabant"), "make", "Choose one of the options."},
		{"model of another make", set("model", "Logan"), "model", "Choose a model of Toyota."},
		{"no vehicle type", set("vehicle_type", ""), "vehicle_type", "Choose one of the options."},
		{"unknown vehicle type", set("vehicle_type", "M9"), "vehicle_type", "Choose one of the options."},
		{"unknown fuel", set("fuel", "coal"), "fuel", "Choose one of the options."},
		{"year not a number", set("year", "20x0"), "year", "Enter a whole number."},
		{"year too old", set("year", "1899"), "year", "Enter a number from 1900 to " + itoa(next-1) + "."},
		{"year in the future", set("year", itoa(next)), "year", "Enter a number from 1900 to " + itoa(next-1) + "."},
		{"no power", set("power", ""), "power", "This field is required."},
		{"power too high", set("power", "2001"), "power", "Enter a number from 1 to 2000."},
		{"no displacement", set("displacement", ""), "displacement", "This field is required."},
		{"displacement for electric", set("fuel", "electric"), "displacement", "Leave this empty for an electric vehicle."},
		{"seats for a trailer", set("vehicle_type", "O2", "power", "", "displacement", ""), "seats", "Leave this empty for a trailer."},
		{"no seats", set("seats", ""), "seats", "This field is required."},
		{"negative mileage", set("mileage", "-5"), "mileage", "Enter a number from 0 to 5000000."},
		{"unknown colour", set("color", "pink"), "color", "Choose one of the options."},
		{"no market value", set("market_value", ""), "market_value", "This field is required."},
		{"market value not an amount", set("market_value", "12,34,5"), "market_value", "Enter an amount like 12500 or 12500.50 (at most two decimals)."},
		{"market value three decimals", set("market_value", "100.123"), "market_value", "Enter an amount like 12500 or 12500.50 (at most two decimals)."},
		{"market value too small", set("market_value", "0.50"), "market_value", "Enter an amount from 1.00 to 1000000000.00."},
		{"no registration", set("registration", ""), "registration", "Choose one of the options."},
		{"registered without plate", set("plate", ""), "plate", "A registered vehicle has a plate: enter it."},
		{"plate with symbols", set("plate", "CJ#12"), "plate", "A plate has 2 to 12 letters and digits, like CJ12ABC."},
	})

	// Valid variants save: an electric car without displacement, a
	// recorded vehicle without plate, an amount typed the Romanian way.
	p := page(t, b, stepPath(id, "vehicle"), http.StatusOK)
	ok := vehicleForm(version(t, p.Doc))
	ok.Set("fuel", "electric")
	ok.Set("displacement", "")
	ok.Set("registration", "recorded")
	ok.Set("plate", "")
	ok.Set("market_value", "100.000,00")
	if r := b.Post(stepPath(id, "vehicle"), ok); r.Status != http.StatusSeeOther {
		t.Fatalf("valid variant = %d: %q", r.Status, textOf(r.Doc.Find(`p.error`)))
	}
}

func itoa(n int) string { return big.NewInt(int64(n)).String() }

func TestCascoOwnerValidation(t *testing.T) {
	t.Parallel()
	srv := newCascoServer(t, sandbox.Options{})
	b := demoPartner(t, srv)
	id := newDraft(t, b)
	saveStep(t, b, id, "vehicle", vehicleForm, "owner")
	set := func(kv ...string) func(url.Values) {
		return func(f url.Values) {
			for i := 0; i+1 < len(kv); i += 2 {
				f.Set(kv[i], kv[i+1])
			}
		}
	}
	young := time.Now().AddDate(-17, 0, 0)
	youngCNP := cnp("5" + young.Format("060102") + "12345")
	company := func(kv ...string) func(url.Values) {
		return func(f url.Values) {
			for _, k := range []string{"cnp", "first_name", "last_name", "birth_date", "licence_date", "id_type", "id_number"} {
				f.Del(k)
			}
			f.Set("kind", "company")
			f.Set("cui", "RO18547290")
			f.Set("company_name", "Transporturi Someș SRL")
			f.Set("registry_number", "J12/345/2010")
			set(kv...)(f)
		}
	}
	checkFieldCases(t, b, id, "owner", ownerForm, []fieldCase{
		{"no CNP", set("cnp", ""), "cnp", "This field is required."},
		{"CNP too short", set("cnp", "190051512345"), "cnp", "A CNP has 13 digits, starting with 1 to 9."},
		{"CNP date", set("cnp", cnp("190023012345")), "cnp", "The birth date in this CNP (digits 2 to 7) is not a real date."},
		{"CNP county", set("cnp", cnp("190051599345")), "cnp", "The county code in this CNP (digits 8 and 9) does not exist."},
		{"CNP check digit", set("cnp", "190051512345"+string(rune('0'+(holderCNP[12]-'0'+1)%10))), "cnp", "The check digit of this CNP does not match: there is a typo."},
		{"no first name", set("first_name", ""), "first_name", "This field is required."},
		{"long last name", set("last_name", strings.Repeat("a", 65)), "last_name", "Keep it under 64 characters."},
		{"birth date not the CNP's", set("birth_date", "1990-05-16"), "birth_date", "The CNP says the policyholder was born on May 15, 1990."},
		{"no birth date", set("birth_date", ""), "birth_date", "This field is required."},
		{"not a date", set("birth_date", "1990-02-30"), "birth_date", "Enter a real date (YYYY-MM-DD)."},
		{"under 18", set("cnp", youngCNP, "birth_date", young.Format(time.DateOnly)), "birth_date", "The policyholder must be at least 18 years old."},
		{"licence in the future", set("licence_date", bucharestDay(3)), "licence_date", "This date cannot be in the future."},
		{"licence as a child", set("licence_date", "2000-01-01"), "licence_date", "A driving licence is issued at 16 at the earliest."},
		{"no identity document", set("id_type", ""), "id_type", "Choose one of the options."},
		{"identity number", set("id_number", "C#"), "id_number", "An identity document number has 4 to 20 letters and digits."},
		{"email", set("email", "stefan@"), "email", "Enter a valid email address, like name@example.com."},
		{"no email", set("email", ""), "email", "This field is required."},
		{"phone", set("phone", "07-ab"), "phone", "Enter a phone number of 9 to 15 digits, like 0712345678 or +40712345678."},
		{"unknown country", set("country", "XX"), "country", "Choose one of the options."},
		{"no county", set("county", ""), "county", "Choose one of the options."},
		{"locality of another county", set("locality", "TIMIȘOARA"), "locality", "Choose a locality of the chosen county."},
		{"postcode", set("postcode", "4000"), "postcode", "A Romanian postcode has 6 digits."},
		{"abroad without city", set("country", "DE", "city", ""), "city", "This field is required."},
		{"company CUI check digit", company("cui", "18547291"), "cui", "The check digit of this CUI does not match: there is a typo."},
		{"company CUI letters", company("cui", "AB12"), "cui", "A CUI has 2 to 10 digits, optionally after RO."},
		{"company without name", company("company_name", ""), "company_name", "This field is required."},
		{"company without registry number", company("registry_number", ""), "registry_number", "This field is required."},
	})
	// A company saves; so does a holder abroad.
	p := page(t, b, stepPath(id, "owner"), http.StatusOK)
	f := ownerForm(version(t, p.Doc))
	company()(f)
	if r := b.Post(stepPath(id, "owner"), f); r.Status != http.StatusSeeOther {
		t.Fatalf("company = %d: %q", r.Status, textOf(r.Doc.Find(`p.error`)))
	}
	p = page(t, b, stepPath(id, "owner"), http.StatusOK)
	if got := p.Doc.Find(`input[name="kind"][checked]`).AttrOr("value", ""); got != "company" {
		t.Errorf("kind after reload = %q", got)
	}
	if p.Doc.Find(`#f-cnp`).Length() != 0 || p.Doc.Find(`#f-cui`).AttrOr("value", "") != "RO18547290" {
		t.Error("the company form is not shown for a company")
	}
	f = ownerForm(version(t, p.Doc))
	set("country", "DE", "city", "München", "county", "", "locality", "", "postcode", "80331")(f)
	if r := b.Post(stepPath(id, "owner"), f); r.Status != http.StatusSeeOther {
		t.Fatalf("abroad = %d: %q", r.Status, textOf(r.Doc.Find(`p.error`)))
	}
	p = page(t, b, stepPath(id, "owner"), http.StatusOK)
	if p.Doc.Find(`#f-county`).Length() != 0 || p.Doc.Find(`#f-city`).AttrOr("value", "") != "München" {
		t.Error("an address abroad shows county and locality lists instead of a city")
	}
}

func TestCascoCoverValidation(t *testing.T) {
	t.Parallel()
	srv := newCascoServer(t, sandbox.Options{})
	b := demoPartner(t, srv)
	id := newDraft(t, b)
	saveStep(t, b, id, "vehicle", vehicleForm, "owner")
	saveStep(t, b, id, "owner", ownerForm, "cover")
	set := func(kv ...string) func(url.Values) {
		return func(f url.Values) {
			for i := 0; i+1 < len(kv); i += 2 {
				f.Set(kv[i], kv[i+1])
			}
		}
	}
	f := format.New("en")
	loc, _ := time.LoadLocation("Europe/Bucharest")
	now := time.Now().In(loc)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	window := "Cover can start from " + f.Date(today) + " to " + f.Date(today.AddDate(0, 0, 60)) + "."
	checkFieldCases(t, b, id, "cover", coverForm, []fieldCase{
		{"no start", set("start_date", ""), "start_date", "This field is required."},
		{"start yesterday", set("start_date", bucharestDay(-1)), "start_date", window},
		{"start too late", set("start_date", bucharestDay(61)), "start_date", window},
		{"start not a date", set("start_date", "2026-02-30"), "start_date", "Enter a real date (YYYY-MM-DD)."},
		{"term too long", set("term", "13"), "term", "Enter a number from 1 to 12."},
		{"installments not dividing", set("term", "6", "installments", "4"), "installments", "The installments must divide the term of 6 months evenly."},
		{"installments not offered", set("installments", "3"), "installments", "Choose one of the options."},
		{"partial deductible not offered", set("partial", "250"), "partial", "Choose one of the options."},
		{"total deductible not offered", set("total", "30"), "total", "Choose one of the options."},
		{"insured sum over the market value", set("insured_sum", "100000.01"), "insured_sum", "The insured sum cannot exceed the vehicle's market value."},
		{"insured sum not an amount", set("insured_sum", "lots"), "insured_sum", "Enter an amount like 12500 or 12500.50 (at most two decimals)."},
		{"no insurer", func(v url.Values) { v.Del("providers") }, "providers", "Choose at least one insurer."},
		{"unknown insurer", func(v url.Values) { v["providers"] = []string{"axa"} }, "providers", "Choose at least one insurer."},
	})
}

func TestCascoPaymentValidation(t *testing.T) {
	t.Parallel()
	srv := newCascoServer(t, sandbox.Options{})
	b := demoPartner(t, srv)
	id := quoteUpTo(t, b)
	offers := askOffers(t, b, id)
	choose := offers.Doc.Find(`td[data-provider="allianz"] [data-testid="choose-offer"]`).AttrOr("href", "")
	form := page(t, b, choose, http.StatusOK)
	valid := func() url.Values {
		return url.Values{
			"token": {form.Doc.Find(`input[name="token"]`).AttrOr("value", "")}, "offer": {form.Doc.Find(`input[name="offer"]`).AttrOr("value", "")},
			"method": {"pos"}, "amount": {"4554.00"}, "date": {bucharestDay(0)}, "document_number": {"POS-1"},
		}
	}
	tests := []struct {
		name, field, value, message string
	}{
		{"no method", "method", "", "Choose one of the options."},
		{"unknown method", "method", "cash", "Choose one of the options."},
		{"no amount", "amount", "", "This field is required."},
		{"amount not the premium", "amount", "4553.99", "The amount must be the offer's premium (or its first installment)."},
		{"amount not a number", "amount", "4554 lei", "Enter an amount like 12500 or 12500.50 (at most two decimals)."},
		{"payment in the future", "date", bucharestDay(1), "This date cannot be in the future."},
		{"payment not a date", "date", "yesterday", "Enter a real date (YYYY-MM-DD)."},
		{"no document number", "document_number", "", "This field is required."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := valid()
			in.Set(tt.field, tt.value)
			r := b.Post(stepPath(id, "policy"), in)
			if r.Status != http.StatusUnprocessableEntity {
				t.Fatalf("status = %d, want 422", r.Status)
			}
			if got := textOf(r.Doc.Find(`[data-testid="error-` + tt.field + `"]`)); got != tt.message {
				t.Errorf("error = %q, want %q", got, tt.message)
			}
			if got := r.Doc.Find(`#f-`+tt.field).AttrOr("aria-invalid", ""); got != "true" {
				t.Errorf("aria-invalid = %q", got)
			}
			if tt.field != "method" {
				if got := r.Doc.Find(`#f-`+tt.field).AttrOr("value", ""); got != tt.value {
					t.Errorf("%s came back as %q, want %q", tt.field, got, tt.value)
				}
			}
		})
	}
	if n := srv.Upstream.Sandbox.Calls(sandbox.RouteCascoPolicy); n != 0 {
		t.Errorf("invalid payments reached the upstream %d times", n)
	}
	// The same form, corrected, converts.
	if r := b.Post(stepPath(id, "policy"), valid()); r.Status != http.StatusSeeOther {
		t.Fatalf("corrected payment = %d\n%.600s", r.Status, r.Body)
	}
}

func TestCascoProviderUnavailable(t *testing.T) {
	t.Parallel()
	srv := newCascoServer(t, sandbox.Options{Faults: sandbox.Faults{CascoUnavailable: []string{"allianz"}}})
	b := demoPartner(t, srv)
	id := quoteUpTo(t, b)
	offers := askOffers(t, b, id)
	failed := offers.Doc.Find(`[data-testid="offer-error"]`)
	if failed.Length() != 1 || failed.AttrOr("data-provider", "") != "allianz" {
		t.Fatalf("failed columns: %d (%q)", failed.Length(), failed.AttrOr("data-provider", ""))
	}
	if got := textOf(failed); got != "No offer: Product unavailable" {
		t.Errorf("allianz column = %q", got)
	}
	if got := failed.AttrOr("rowspan", ""); got != "8" {
		t.Errorf("the error spans %q rows, want the whole column (8)", got)
	}
	premiums := offerCells(offers.Doc, "premium")
	for _, p := range []string{"generali", "groupama", "eazy_insure"} {
		if !strings.HasPrefix(premiums[p], "RON ") {
			t.Errorf("%s premium = %q, want an amount", p, premiums[p])
		}
	}
	if _, ok := premiums["allianz"]; ok {
		t.Error("allianz has a premium")
	}
	if n := offers.Doc.Find(`[data-testid="choose-offer"]`).Length(); n != 3 {
		t.Errorf("%d offers can be chosen, want 3", n)
	}
	// Stored with its error, the failure survives a reload and another
	// partner page.
	stored, err := srv.Quotes.Offers(context.Background(), sandbox.CascoDemoAccount, id)
	if err != nil {
		t.Fatal(err)
	}
	var errs []string
	for _, o := range stored {
		if o.Error != "" {
			errs = append(errs, o.Provider+": "+o.Error)
		}
	}
	if strings.Join(errs, ";") != "allianz: Product unavailable" {
		t.Errorf("stored errors = %q", errs)
	}
	// In Romanian, the insurer's own message comes in Romanian.
	b.Header.Set("Accept-Language", "ro")
	ro := askOffers(t, b, id)
	if got := textOf(ro.Doc.Find(`[data-testid="offer-error"]`)); got != "Nicio ofertă: Produs indisponibil" {
		t.Errorf("Romanian allianz column = %q", got)
	}
}

func TestCascoConvertsOnce(t *testing.T) {
	t.Parallel()
	srv := newCascoServer(t, sandbox.Options{Faults: sandbox.Faults{Latency: 50 * time.Millisecond}})
	b := demoPartner(t, srv)
	id := quoteUpTo(t, b)
	offers := askOffers(t, b, id)
	choose := offers.Doc.Find(`td[data-provider="generali"] [data-testid="choose-offer"]`).AttrOr("href", "")
	// Two tabs, each with its own form.
	tab1, tab2 := page(t, b, choose, http.StatusOK), page(t, b, choose, http.StatusOK)
	pay := func(doc *goquery.Document) url.Values {
		return url.Values{
			"token": {doc.Find(`input[name="token"]`).AttrOr("value", "")}, "offer": {doc.Find(`input[name="offer"]`).AttrOr("value", "")},
			"method": {"receipt"}, "amount": {"4781.70"}, "date": {bucharestDay(0)}, "document_number": {"R-7"},
		}
	}
	if pay(tab1.Doc).Get("token") == pay(tab2.Doc).Get("token") {
		t.Fatal("two forms share a token")
	}
	// A double click in each tab, all at once.
	forms := []url.Values{pay(tab1.Doc), pay(tab1.Doc), pay(tab1.Doc), pay(tab2.Doc), pay(tab2.Doc)}
	results := make([]webtest.Response, len(forms))
	var wg sync.WaitGroup
	for i, f := range forms {
		wg.Go(func() { results[i] = b.Post(stepPath(id, "policy"), f) })
	}
	wg.Wait()
	for i, r := range results {
		if r.Status != http.StatusSeeOther || r.Header.Get("Location") != stepPath(id, "policy") {
			t.Errorf("submission %d = %d to %q", i, r.Status, r.Header.Get("Location"))
		}
	}
	if n := srv.Upstream.Sandbox.Calls(sandbox.RouteCascoPolicy); n != 1 {
		t.Errorf("upstream conversions = %d, want 1", n)
	}
	policies, err := srv.Quotes.Policies(context.Background(), sandbox.CascoDemoAccount, id)
	if err != nil || len(policies) != 1 {
		t.Fatalf("policies recorded = %d (%v), want 1", len(policies), err)
	}
	var converts int
	for _, e := range auditEntries(t, srv.Audit) {
		if e.Action == audit.ActionConvert {
			converts++
		}
	}
	if converts != 1 {
		t.Errorf("audit conversions = %d, want 1", converts)
	}
	// A resubmission later (Back, then send again) shows the same policy.
	again := b.Post(stepPath(id, "policy"), pay(tab2.Doc))
	if again.Status != http.StatusSeeOther || again.Header.Get("Location") != stepPath(id, "policy") {
		t.Errorf("resubmission = %d to %q", again.Status, again.Header.Get("Location"))
	}
	pol := page(t, b, stepPath(id, "policy"), http.StatusOK)
	if got := textOf(pol.Doc.Find(`[data-testid="policy-number"]`)); got != policies[0].Number {
		t.Errorf("policy shown = %q, want %q", got, policies[0].Number)
	}
	if n := srv.Upstream.Sandbox.Calls(sandbox.RouteCascoPolicy); n != 1 {
		t.Errorf("upstream conversions after the resubmission = %d, want 1", n)
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
	form := page(t, demo, choose, http.StatusOK)
	r := demo.Post(stepPath(id, "policy"), url.Values{
		"token": {form.Doc.Find(`input[name="token"]`).AttrOr("value", "")}, "offer": {form.Doc.Find(`input[name="offer"]`).AttrOr("value", "")},
		"method": {"pos"}, "amount": {"5123.25"}, "date": {bucharestDay(0)}, "document_number": {"P-1"},
	})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("convert = %d", r.Status)
	}
	policyPDF := page(t, demo, stepPath(id, "policy"), http.StatusOK).Doc.Find(`[data-testid="policy-pdf"]`).AttrOr("href", "")

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
	if page(t, other, "/casco", http.StatusOK).Doc.Find(`[data-testid="history-row"]`).Length() != 0 {
		t.Error("another account's history lists the quote")
	}
	// Without a partner sign-in, the pages send to it and back.
	anon := srv.NewBrowser(t)
	if got := anon.Get(stepPath(id, "vehicle")); got.Status != http.StatusSeeOther || got.Header.Get("Location") != "/signin?tab=casco&next="+url.QueryEscape(stepPath(id, "vehicle")) {
		t.Errorf("anonymous = %d to %q", got.Status, got.Header.Get("Location"))
	}
}

func TestCascoStaleSaveKeepsInput(t *testing.T) {
	t.Parallel()
	srv := newCascoServer(t, sandbox.Options{})
	b := demoPartner(t, srv)
	id := newDraft(t, b)
	tab1 := page(t, b, stepPath(id, "vehicle"), http.StatusOK)
	tab2 := page(t, b, stepPath(id, "vehicle"), http.StatusOK)
	first := vehicleForm(version(t, tab1.Doc))
	if r := b.Post(stepPath(id, "vehicle"), first); r.Status != http.StatusSeeOther {
		t.Fatalf("first tab = %d", r.Status)
	}
	second := vehicleForm(version(t, tab2.Doc))
	second.Set("plate", "B 123 XYZ")
	second.Set("mileage", "98000")
	r := b.Post(stepPath(id, "vehicle"), second)
	if r.Status != http.StatusConflict {
		t.Fatalf("stale save = %d, want 409", r.Status)
	}
	if got := textOf(r.Doc.Find(`[data-testid="alert"]`)); !strings.Contains(got, "changed in another tab or window") {
		t.Errorf("alert = %q", got)
	}
	if got := r.Doc.Find(`#f-plate`).AttrOr("value", ""); got != "B123XYZ" {
		t.Errorf("plate shown = %q, want the second tab's input", got)
	}
	if got := r.Doc.Find(`#f-mileage`).AttrOr("value", ""); got != "98000" {
		t.Errorf("mileage shown = %q", got)
	}
	fresh := version(t, r.Doc)
	if fresh == version(t, tab2.Doc) {
		t.Error("the form still carries the stale version")
	}
	// Nothing was overwritten: the stored plate is the first tab's.
	d, err := srv.Quotes.GetDraft(context.Background(), sandbox.CascoDemoAccount, id)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(d.Vehicle), `"plate":"CJ12ABC"`) {
		t.Errorf("stored vehicle = %s", d.Vehicle)
	}
	// Sent again from the reloaded form, it saves.
	second.Set("version", fresh)
	if r := b.Post(stepPath(id, "vehicle"), second); r.Status != http.StatusSeeOther {
		t.Fatalf("second save = %d", r.Status)
	}
	if got := page(t, b, stepPath(id, "vehicle"), http.StatusOK).Doc.Find(`#f-plate`).AttrOr("value", ""); got != "B123XYZ" {
		t.Errorf("plate after saving again = %q", got)
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
	form := page(t, b, choose, http.StatusOK)
	r := b.Post(stepPath(id, "policy"), url.Values{
		"token": {form.Doc.Find(`input[name="token"]`).AttrOr("value", "")}, "offer": {form.Doc.Find(`input[name="offer"]`).AttrOr("value", "")},
		"method": {"payment order"}, "amount": {"4326.30"}, "date": {bucharestDay(0)}, "document_number": {"OP-9"},
	})
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != stepPath(id, "policy") {
		t.Fatalf("convert after expiry = %d to %q", r.Status, r.Header.Get("Location"))
	}
	srv.Upstream.Sandbox.ExpireCascoTokens()
	pdf := b.Get(page(t, b, stepPath(id, "policy"), http.StatusOK).Doc.Find(`[data-testid="policy-pdf"]`).AttrOr("href", ""))
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
	time.Sleep(1300 * time.Millisecond)
	r := b.Post(stepPath(id, "offers"), url.Values{})
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
	if got := page(t, b, stepPath(id, "owner"), http.StatusOK).Doc.Find(`#f-cnp`).AttrOr("value", ""); got != holderCNP {
		t.Errorf("CNP after signing in again = %q", got)
	}
}

func TestCascoUpstreamFieldMessages(t *testing.T) {
	t.Parallel()
	srv := newCascoServer(t, sandbox.Options{})
	b := demoPartner(t, srv)
	id := quoteUpTo(t, b)
	tests := []struct {
		field, step, formField, message string
	}{
		{"product.vehicle.licensePlate", "vehicle", "plate", "The CASCO service says: The product.vehicle.licensePlate field is required."},
		{"product.policyholder.mobileNumber", "owner", "phone", "The CASCO service says: The product.policyholder.mobileNumber field is required."},
		{"product.motor.startDate", "cover", "start_date", "The CASCO service says: The product.motor.startDate field is required."},
		// A field the forms do not have: above the step it belongs to.
		{"product.policyholder.address.floor", "owner", "", "The CASCO service says: The product.policyholder.address.floor field is required."},
	}
	for _, tt := range tests {
		t.Run(tt.field, func(t *testing.T) {
			srv.Upstream.Sandbox.SetFaults(sandbox.Faults{CascoValidationField: tt.field})
			r := b.Post(stepPath(id, "offers"), url.Values{})
			if r.Status != http.StatusSeeOther || r.Header.Get("Location") != stepPath(id, tt.step) {
				t.Fatalf("offers = %d to %q, want the %s step", r.Status, r.Header.Get("Location"), tt.step)
			}
			p := page(t, b, stepPath(id, tt.step), http.StatusOK)
			if tt.formField == "" {
				if got := textOf(p.Doc.Find(`[data-testid="alert"]`)); got != tt.message {
					t.Errorf("alert = %q, want %q", got, tt.message)
				}
			} else {
				if got := textOf(p.Doc.Find(`[data-testid="error-` + tt.formField + `"]`)); got != tt.message {
					t.Errorf("error on %s = %q, want %q", tt.formField, got, tt.message)
				}
				if p.Doc.Find(`#f-`+tt.formField).AttrOr("aria-invalid", "") != "true" {
					t.Errorf("#f-%s is not marked invalid", tt.formField)
				}
			}
			if p.Doc.Find(`[data-testid="nav-step-offers"] a`).Length() != 0 {
				t.Error("the offers stay open while the step has the upstream's message")
			}
			// Saving the step again clears it; the offers can be asked.
			srv.Upstream.Sandbox.SetFaults(sandbox.Faults{})
			form := map[string]func(string) url.Values{"vehicle": vehicleForm, "owner": ownerForm, "cover": coverForm}[tt.step]
			r = b.Post(stepPath(id, tt.step), form(version(t, p.Doc)))
			if r.Status != http.StatusSeeOther {
				t.Fatalf("saving %s again = %d", tt.step, r.Status)
			}
			if p := page(t, b, stepPath(id, tt.step), http.StatusOK); p.Doc.Find(`p.error, [data-testid="alert"]`).Length() != 0 {
				t.Errorf("the message stayed: %q", textOf(p.Doc.Find(`p.error, [data-testid="alert"]`)))
			}
			askOffers(t, b, id)
		})
	}
}

func TestCascoDependentListsWithoutJavaScript(t *testing.T) {
	t.Parallel()
	srv := newCascoServer(t, sandbox.Options{})
	b := demoPartner(t, srv)
	id := newDraft(t, b)
	p := page(t, b, stepPath(id, "vehicle"), http.StatusOK)
	if p.Doc.Find(`#f-model option`).Length() != 1 {
		t.Errorf("models listed before a make is chosen: %d", p.Doc.Find(`#f-model option`).Length())
	}
	f := url.Values{"version": {version(t, p.Doc)}, "step": {"refresh"}, "make": {"Dacia"}, "vin": {"UU1ABC"}}
	r := b.Post(stepPath(id, "vehicle"), f)
	if r.Status != http.StatusOK {
		t.Fatalf("refresh = %d", r.Status)
	}
	models := r.Doc.Find(`#f-model option`).Map(func(_ int, s *goquery.Selection) string { return s.AttrOr("value", "") })
	if !strings.Contains(strings.Join(models, ","), "Logan") {
		t.Errorf("models of Dacia = %v", models)
	}
	if r.Doc.Find(`p.error`).Length() != 0 || r.Doc.Find(`#f-vin`).AttrOr("value", "") != "UU1ABC" {
		t.Error("refreshing the lists checked the form or lost input")
	}
	if got := r.Doc.Find(`#f-make`).AttrOr("hx-vals", ""); got != `{"selected":""}` {
		t.Errorf("models request values = %q", got)
	}

	saveStep(t, b, id, "vehicle", vehicleForm, "owner")
	o := page(t, b, stepPath(id, "owner"), http.StatusOK)
	f = ownerForm(version(t, o.Doc))
	f.Set("step", "refresh")
	f.Set("county", "TM")
	f.Set("locality", "")
	r = b.Post(stepPath(id, "owner"), f)
	if r.Status != http.StatusOK || !strings.Contains(textOf(r.Doc.Find(`#f-locality`)), "TIMIȘOARA") {
		t.Errorf("localities of Timiș after refresh: %d %.200q", r.Status, textOf(r.Doc.Find(`#f-locality`)))
	}
	if got := r.Doc.Find(`#f-county`).AttrOr("hx-get", ""); got != "/casco/options/localities" {
		t.Errorf("county hx-get = %q", got)
	}
	f.Set("country", "DE")
	r = b.Post(stepPath(id, "owner"), f)
	if r.Doc.Find(`#address-local #f-city`).Length() != 1 || r.Doc.Find(`#f-county`).Length() != 0 {
		t.Error("an address abroad asks for a city, not a county")
	}
	f.Set("country", "RO")
	f.Set("kind", "company")
	r = b.Post(stepPath(id, "owner"), f)
	if r.Doc.Find(`#holder-fields #f-cui`).Length() != 1 || r.Doc.Find(`#f-cnp`).Length() != 0 {
		t.Error("a company asks for a CUI, not a CNP")
	}
	if got := r.Doc.Find(`#f-email`).AttrOr("value", ""); got != "stefan.turcanu@example.com" {
		t.Errorf("email after refresh = %q", got)
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

	home := page(t, b, "/casco", http.StatusOK)
	rows := home.Doc.Find(`[data-testid="history-row"]`)
	if rows.Length() != 2 {
		t.Fatalf("%d quotes listed, want 2", rows.Length())
	}
	if rows.First().AttrOr("data-draft", "") != second || rows.Last().AttrOr("data-draft", "") != first {
		t.Error("the history is not newest first")
	}
	if got := textOf(rows.First().Find(`[data-testid="history-open"]`)); got != "New quote (no vehicle yet)" {
		t.Errorf("untitled quote = %q", got)
	}
	if got := textOf(rows.Last().Find(`[data-testid="history-step"]`)); got != "2 · Policyholder" {
		t.Errorf("step of the first quote = %q", got)
	}
	open := rows.Last().Find(`[data-testid="history-open"]`).AttrOr("href", "")
	if r := b.Get(open); r.Status != http.StatusSeeOther || r.Header.Get("Location") != stepPath(first, "owner") {
		t.Errorf("reopening = %d to %q", r.Status, r.Header.Get("Location"))
	}
	// Changing the first quote moves it to the top.
	saveStep(t, b, first, "owner", ownerForm, "cover")
	rows = page(t, b, "/casco", http.StatusOK).Doc.Find(`[data-testid="history-row"]`)
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
		p := page(t, b, path, http.StatusOK)
		if strings.Contains(p.Body, evil) {
			t.Errorf("%s: the input came back unescaped", path)
		}
		if p.Doc.Find("script:not([src])").Length() != 0 {
			t.Errorf("%s: an inline script is on the page", path)
		}
	}
	if got := page(t, b, stepPath(id, "owner"), http.StatusOK).Doc.Find(`#f-last_name`).AttrOr("value", ""); got != evil {
		t.Errorf("last name shown = %q", got)
	}
	if got := textOf(page(t, b, "/casco", http.StatusOK).Doc.Find(`[data-testid="history-open"]`)); !strings.HasSuffix(got, evil) {
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

func TestCascoChangingAStepDropsTheOffers(t *testing.T) {
	t.Parallel()
	srv := newCascoServer(t, sandbox.Options{})
	b := demoPartner(t, srv)
	id := quoteUpTo(t, b)
	askOffers(t, b, id)
	// Saved unchanged: the offers stay.
	saveStep(t, b, id, "cover", coverForm, "offers")
	if n := page(t, b, stepPath(id, "offers"), http.StatusOK).Doc.Find(`[data-testid="choose-offer"]`).Length(); n != 4 {
		t.Fatalf("%d offers after saving the same cover", n)
	}
	// A different term: the offers were for the old one.
	saveStep(t, b, id, "cover", func(v string) url.Values {
		f := coverForm(v)
		f.Set("term", "6")
		return f
	}, "offers")
	p := page(t, b, stepPath(id, "offers"), http.StatusOK)
	if p.Doc.Find(`[data-testid="offers"]`).Length() != 0 || p.Doc.Find(`[data-testid="offers-none"]`).Length() != 1 {
		t.Error("offers for the old cover are still shown")
	}
	if p.Doc.Find(`[data-testid="nav-step-policy"] a`).Length() != 0 {
		t.Error("the policy step is open without offers")
	}
	stored, _ := srv.Quotes.Offers(context.Background(), sandbox.CascoDemoAccount, id)
	if len(stored) != 0 {
		t.Errorf("%d offers stored", len(stored))
	}
}

// TestCascoPaymentUpstreamFields: a VALIDATION_ERROR from the policy
// issue lands on the payment field it names, or above the form for a
// field the form lacks; the form stays, with a token that works.
func TestCascoPaymentUpstreamFields(t *testing.T) {
	t.Parallel()
	tests := []struct {
		field, formField, message string
	}{
		{"payment.documentNumber", "document_number", "The CASCO service says: The payment.documentNumber field is required."},
		{"payment.bankAccount", "", "The CASCO service says: The payment.bankAccount field is required."},
	}
	for _, tt := range tests {
		t.Run(tt.field, func(t *testing.T) {
			t.Parallel()
			srv := newCascoServer(t, sandbox.Options{})
			b := demoPartner(t, srv)
			id := quoteUpTo(t, b)
			offers := askOffers(t, b, id)
			form := page(t, b, offers.Doc.Find(`td[data-provider="allianz"] [data-testid="choose-offer"]`).AttrOr("href", ""), http.StatusOK)
			in := url.Values{
				"token": {form.Doc.Find(`input[name="token"]`).AttrOr("value", "")}, "offer": {form.Doc.Find(`input[name="offer"]`).AttrOr("value", "")},
				"method": {"pos"}, "amount": {"4554.00"}, "date": {bucharestDay(0)}, "document_number": {"POS-1"},
			}
			srv.Upstream.Sandbox.SetFaults(sandbox.Faults{CascoValidationField: tt.field})
			r := b.Post(stepPath(id, "policy"), in)
			if r.Status != http.StatusUnprocessableEntity {
				t.Fatalf("status = %d, want 422\n%.600s", r.Status, r.Body)
			}
			if tt.formField != "" {
				if got := textOf(r.Doc.Find(`[data-testid="error-` + tt.formField + `"]`)); got != tt.message {
					t.Errorf("error on %s = %q, want %q", tt.formField, got, tt.message)
				}
			} else if got := textOf(r.Doc.Find(`[data-testid="alert"]`)); !strings.Contains(got, tt.message) {
				t.Errorf("alert = %q, want it to say %q", got, tt.message)
			}
			if got := r.Doc.Find(`#f-document_number`).AttrOr("value", ""); got != "POS-1" {
				t.Errorf("typed document number came back as %q", got)
			}
			// Once the upstream accepts, the new token converts.
			srv.Upstream.Sandbox.SetFaults(sandbox.Faults{})
			in.Set("token", r.Doc.Find(`input[name="token"]`).AttrOr("value", ""))
			if again := b.Post(stepPath(id, "policy"), in); again.Status != http.StatusSeeOther {
				t.Errorf("converting again = %d, want 303", again.Status)
			}
		})
	}
}
