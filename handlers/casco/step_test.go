package casco_test

import (
	"context"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"backoffice/internal/format"
	"backoffice/internal/sandbox"
	"backoffice/web/webtest"
)

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
			p := b.Page(t, stepPath(id, step), http.StatusOK)
			in := form(version(t, p.Doc))
			tt.edit(in)
			r := b.Post(stepPath(id, step), in)
			if r.Status != http.StatusUnprocessableEntity || r.Doc == nil {
				t.Fatalf("status = %d, want 422 (Location %q)", r.Status, r.Header.Get("Location"))
			}
			if got := webtest.Text(r.Doc.Find(`[data-testid="error-` + tt.field + `"]`)); got != tt.message {
				t.Errorf("error on %s = %q, want %q (all: %q)", tt.field, got, tt.message, webtest.Text(r.Doc.Find(`p.error`)))
			}
			if n := r.Doc.Find(`p.error`).Length(); n != 1 {
				t.Errorf("%d errors shown, want 1: %q", n, webtest.Text(r.Doc.Find(`p.error`)))
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
	p := b.Page(t, stepPath(id, "vehicle"), http.StatusOK)
	ok := vehicleForm(version(t, p.Doc))
	ok.Set("fuel", "electric")
	ok.Set("displacement", "")
	ok.Set("registration", "recorded")
	ok.Set("plate", "")
	ok.Set("market_value", "100.000,00")
	if r := b.Post(stepPath(id, "vehicle"), ok); r.Status != http.StatusSeeOther {
		t.Fatalf("valid variant = %d: %q", r.Status, webtest.Text(r.Doc.Find(`p.error`)))
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
	p := b.Page(t, stepPath(id, "owner"), http.StatusOK)
	f := ownerForm(version(t, p.Doc))
	company()(f)
	if r := b.Post(stepPath(id, "owner"), f); r.Status != http.StatusSeeOther {
		t.Fatalf("company = %d: %q", r.Status, webtest.Text(r.Doc.Find(`p.error`)))
	}
	p = b.Page(t, stepPath(id, "owner"), http.StatusOK)
	if got := p.Doc.Find(`input[name="kind"][checked]`).AttrOr("value", ""); got != "company" {
		t.Errorf("kind after reload = %q", got)
	}
	if p.Doc.Find(`#f-cnp`).Length() != 0 || p.Doc.Find(`#f-cui`).AttrOr("value", "") != "RO18547290" {
		t.Error("the company form is not shown for a company")
	}
	f = ownerForm(version(t, p.Doc))
	set("country", "DE", "city", "München", "county", "", "locality", "", "postcode", "80331")(f)
	if r := b.Post(stepPath(id, "owner"), f); r.Status != http.StatusSeeOther {
		t.Fatalf("abroad = %d: %q", r.Status, webtest.Text(r.Doc.Find(`p.error`)))
	}
	p = b.Page(t, stepPath(id, "owner"), http.StatusOK)
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

func TestCascoStaleSaveKeepsInput(t *testing.T) {
	t.Parallel()
	srv := newCascoServer(t, sandbox.Options{})
	b := demoPartner(t, srv)
	id := newDraft(t, b)
	tab1 := b.Page(t, stepPath(id, "vehicle"), http.StatusOK)
	tab2 := b.Page(t, stepPath(id, "vehicle"), http.StatusOK)
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
	if got := webtest.Text(r.Doc.Find(`[data-testid="alert"]`)); !strings.Contains(got, "changed in another tab or window") {
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
	if got := b.Page(t, stepPath(id, "vehicle"), http.StatusOK).Doc.Find(`#f-plate`).AttrOr("value", ""); got != "B123XYZ" {
		t.Errorf("plate after saving again = %q", got)
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
			r := b.Post(stepPath(id, "offers"), offersForm(t, b, id))
			if r.Status != http.StatusSeeOther || r.Header.Get("Location") != stepPath(id, tt.step) {
				t.Fatalf("offers = %d to %q, want the %s step", r.Status, r.Header.Get("Location"), tt.step)
			}
			p := b.Page(t, stepPath(id, tt.step), http.StatusOK)
			if tt.formField == "" {
				if got := webtest.Text(p.Doc.Find(`[data-testid="alert"]`)); got != tt.message {
					t.Errorf("alert = %q, want %q", got, tt.message)
				}
			} else {
				if got := webtest.Text(p.Doc.Find(`[data-testid="error-` + tt.formField + `"]`)); got != tt.message {
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
			if p := b.Page(t, stepPath(id, tt.step), http.StatusOK); p.Doc.Find(`p.error, [data-testid="alert"]`).Length() != 0 {
				t.Errorf("the message stayed: %q", webtest.Text(p.Doc.Find(`p.error, [data-testid="alert"]`)))
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
	p := b.Page(t, stepPath(id, "vehicle"), http.StatusOK)
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
	o := b.Page(t, stepPath(id, "owner"), http.StatusOK)
	f = ownerForm(version(t, o.Doc))
	f.Set("step", "refresh")
	f.Set("county", "TM")
	f.Set("locality", "")
	r = b.Post(stepPath(id, "owner"), f)
	if r.Status != http.StatusOK || !strings.Contains(webtest.Text(r.Doc.Find(`#f-locality`)), "TIMIȘOARA") {
		t.Errorf("localities of Timiș after refresh: %d %.200q", r.Status, webtest.Text(r.Doc.Find(`#f-locality`)))
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

func TestCascoChangingAStepDropsTheOffers(t *testing.T) {
	t.Parallel()
	srv := newCascoServer(t, sandbox.Options{})
	b := demoPartner(t, srv)
	id := quoteUpTo(t, b)
	askOffers(t, b, id)
	// Saved unchanged: the offers stay.
	saveStep(t, b, id, "cover", coverForm, "offers")
	if n := b.Page(t, stepPath(id, "offers"), http.StatusOK).Doc.Find(`[data-testid="choose-offer"]`).Length(); n != 4 {
		t.Fatalf("%d offers after saving the same cover", n)
	}
	if n := srv.Upstream.Sandbox.Calls(sandbox.RouteCascoOffer); n != 8 {
		t.Errorf("quote requests = %d, want 8: the same cover saved again asks no one", n)
	}
	old, _ := srv.Quotes.Offers(context.Background(), sandbox.CascoDemoAccount, id)
	// A different term: the offers were for the old one; the insurers
	// (slow now, so that the page is seen before they answer) are asked
	// for the new one.
	srv.Upstream.Sandbox.SetFaults(sandbox.Faults{Latency: 800 * time.Millisecond})
	saveStep(t, b, id, "cover", func(v string) url.Values {
		f := coverForm(v)
		f.Set("term", "6")
		return f
	}, "offers")
	p := b.Page(t, stepPath(id, "offers"), http.StatusOK)
	if p.Doc.Find(`[data-testid="choose-offer"]`).Length() != 0 || p.Doc.Find(`[data-testid="offer-asking"]`).Length() != 4 {
		t.Errorf("offers for the old cover are still shown, or not every insurer is being asked: %q", webtest.Text(p.Doc.Find(`#offers-table`)))
	}
	if p.Doc.Find(`[data-testid="nav-step-policy"] a`).Length() != 0 {
		t.Error("the policy step is open without offers")
	}
	stored, _ := srv.Quotes.Offers(context.Background(), sandbox.CascoDemoAccount, id)
	if len(stored) != 0 {
		t.Errorf("%d offers stored", len(stored))
	}
	srv.Upstream.Sandbox.SetFaults(sandbox.Faults{})
	waitAnswers(t, b, id)
	if n := srv.Upstream.Sandbox.Calls(sandbox.RouteCascoOffer); n != 12 {
		t.Errorf("quote requests = %d, want 12: each insurer asked for the new term", n)
	}
	fresh, _ := srv.Quotes.Offers(context.Background(), sandbox.CascoDemoAccount, id)
	if len(fresh) != 4 {
		t.Fatalf("%d offers for the new term, want 4", len(fresh))
	}
	for _, o := range old {
		for _, f := range fresh {
			if o.OfferID == f.OfferID {
				t.Errorf("offer %s for the old term is still stored", o.OfferID)
			}
		}
	}
}
