package sandbox_test

import (
	"encoding/json"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"backoffice/internal/sandbox"
)

// The clock of these tests is 2026-11-01 12:00 in Bucharest; offers start
// on 2026-11-15, so the 2020 car is 6 years old and the 1990 holder 36.
const offerStart = "2026-11-15"

func TestCascoOfferPrices(t *testing.T) {
	t.Parallel()
	srv, _ := startCasco(t, sandbox.Options{})
	tk := demoLogin(t, srv).Token

	// The README's example for every provider: 100000.00 × rate × 1.25 ×
	// 1.00 × 1.10 (CJ) × 1.00 × 0.92 × 0.90 × 1.00.
	for _, tc := range []struct {
		provider, premium, commissionPct, commission, net, code string
	}{
		{"generali", "4781.70", "12", "573.80", "4207.90", "GNR-CASCO-"},
		{"groupama", "5123.25", "12", "614.79", "4508.46", "GRP-CASCO-"},
		{"allianz", "4554.00", "10", "455.40", "4098.60", "AZT-CASCO-"},
		{"eazy_insure", "4326.30", "15", "648.95", "3677.35", "EZI-CASCO-"}, // 648.945 rounds half up
	} {
		t.Run(tc.provider, func(t *testing.T) {
			r := do(t, "POST", srv.CascoURL+"/offer", sampleQuote(tc.provider, offerStart).String(), token(tk), jsonBody())
			// Exact decimals in the raw JSON, never float artefacts.
			for _, frag := range []string{`"premiumAmount":` + tc.premium + `,`, `"commissionValue":` + tc.commission + `,`, `"premiumAmountNet":` + tc.net + `,`,
				`"commissionPercent":` + tc.commissionPct + `,`, `"insuredSum":100000.00,`, `"currency":"RON"`} {
				if !strings.Contains(string(r.body), frag) {
					t.Errorf("body lacks %s: %s", frag, r.body)
				}
			}
			var d struct {
				Offers []offerOut `json:"offers"`
			}
			mustCascoOK(t, r, &d)
			o := d.Offers[0]
			if o.OfferID < 790000 || o.ProviderOfferCode != tc.code+itoa(o.OfferID) || o.StartDate != offerStart || o.EndDate != "2027-11-14" || o.OfferExpiryDate != "2026-11-08" {
				t.Errorf("offer: %+v", o)
			}
			wantCov := []coverageOut{{Code: "vehicle", IsIncluded: true, InsuredSum: num("100000.00"), PremiumAmount: jsonNum(tc.premium)}}
			if !reflect.DeepEqual(o.Coverages, wantCov) {
				t.Errorf("coverages: got %+v", o.Coverages)
			}
			if !reflect.DeepEqual(o.Deductibles, map[string]any{"partialDamage": jsonNum("500"), "totalDamage": jsonNum("20")}) {
				t.Errorf("deductibles: %v", o.Deductibles)
			}
			if !reflect.DeepEqual(o.Installments, []installOut{{1, jsonNum(tc.premium), offerStart}}) {
				t.Errorf("installments: %+v", o.Installments)
			}
		})
	}

	t.Run("legal entity in Bucharest, 4 installments, add-on, strings", func(t *testing.T) {
		q := sampleQuote("eazy_insure", offerStart)
		ph := map[string]any{"isLegalEntity": "true", "businessName": "Țesătura Română SRL", "companyRegistryNumber": "J40/1234/2020", "taxId": "RO12345678", "caenCode": 1392,
			"email": "office@tesatura.ro", "address": map[string]any{"country": "ro", "county": "b", "city": "București", "cityCode": 179150, "street": "Calea Victoriei", "houseNumber": "1"}}
		q["product"].(map[string]any)["policyholder"] = ph
		q.set("product.motor.installmentCount", "4").set("product.motor.deductibles", nil).
			set("product.vehicle.yearOfConstruction", 2025).set("product.vehicle.enginePower", 160).set("product.vehicle.marketValue", "80000.00").
			set("product.coverages", []any{
				map[string]any{"code": "vehicle", "isIncluded": "true", "insuredSum": "75000.50"},
				map[string]any{"code": "roadAssistance", "isIncluded": true},
				map[string]any{"code": "replacementCar", "isIncluded": false},
			})
		// 75000.50 × 0.038 × 1.00 × 1.25 × 1.20 × 1.05 × 1.10 × 1.00 × 1.05 = 5184.54 (5184.5408…), + 120.00
		o := offer(t, srv, tk, q)
		if o.PremiumAmount != "5304.54" || o.CommissionValue != "795.68" || o.PremiumAmountNet != "4508.86" {
			t.Errorf("amounts: %s %s %s", o.PremiumAmount, o.CommissionValue, o.PremiumAmountNet)
		}
		wantCov := []coverageOut{
			{"vehicle", true, num("75000.50"), "5184.54"},
			{"roadAssistance", true, nil, "120.00"},
			{"replacementCar", false, nil, "0.00"},
		}
		if !reflect.DeepEqual(o.Coverages, wantCov) {
			t.Errorf("coverages: got %+v", o.Coverages)
		}
		want := []installOut{{1, "1326.15", "2026-11-15"}, {2, "1326.13", "2027-02-15"}, {3, "1326.13", "2027-05-15"}, {4, "1326.13", "2027-08-15"}}
		if !reflect.DeepEqual(o.Installments, want) {
			t.Errorf("installments: got %+v", o.Installments)
		}
		if !reflect.DeepEqual(o.Deductibles, map[string]any{"partialDamage": jsonNum("0"), "totalDamage": jsonNum("0")}) {
			t.Errorf("deductibles: %v", o.Deductibles)
		}
	})

	t.Run("young driver, old car, six months", func(t *testing.T) {
		q := sampleQuote("generali", offerStart).
			set("product.policyholder.birthdate", "2004-06-01").
			set("product.policyholder.address.county", "IF").set("product.policyholder.address.cityCode", nil).set("product.policyholder.address.city", "Voluntari").
			set("product.vehicle.yearOfConstruction", 2014).set("product.vehicle.enginePower", 70).set("product.vehicle.marketValue", "30000.00").
			set("product.motor.termTime", 6).set("product.motor.installmentCount", 2).
			set("product.motor.deductibles", map[string]any{"partialDamage": 150, "totalDamage": "5"})
		// 30000.00 × 0.042 × 1.45 × 0.95 × 1.20 × 1.30 × 1.00 × 0.95 × 1.03 × 6/12 = 1324.70 (1324.700…)
		o := offer(t, srv, tk, q)
		if o.PremiumAmount != "1324.70" || o.CommissionValue != "158.96" || o.PremiumAmountNet != "1165.74" || o.EndDate != "2027-05-14" {
			t.Errorf("offer: %+v", o)
		}
		if !reflect.DeepEqual(o.Installments, []installOut{{1, "662.35", "2026-11-15"}, {2, "662.35", "2027-02-15"}}) {
			t.Errorf("installments: %+v", o.Installments)
		}
	})

	t.Run("deterministic", func(t *testing.T) {
		a := offer(t, srv, tk, sampleQuote("groupama", offerStart))
		b := offer(t, srv, tk, sampleQuote("groupama", offerStart))
		if a.OfferID >= b.OfferID || a.PremiumAmount != b.PremiumAmount {
			t.Errorf("ids %d, %d; premiums %s, %s", a.OfferID, b.OfferID, a.PremiumAmount, b.PremiumAmount)
		}
		ids := func(seed int64) []int64 {
			s, _ := startCasco(t, sandbox.Options{Seed: seed})
			k := demoLogin(t, s).Token
			var out []int64
			for range 3 {
				o := offer(t, s, k, sampleQuote("groupama", offerStart))
				if o.PremiumAmount != "5123.25" {
					t.Errorf("seed %d: premium %s", seed, o.PremiumAmount)
				}
				out = append(out, o.OfferID)
			}
			return out
		}
		if x, y, z := ids(7), ids(7), ids(8); !reflect.DeepEqual(x, y) || reflect.DeepEqual(x, z) {
			t.Errorf("offer ids: seed 7 %v and %v, seed 8 %v", x, y, z)
		}
	})

	t.Run("groupama accepts casco-leasing", func(t *testing.T) {
		o := offer(t, srv, tk, sampleQuote("groupama", offerStart).set("product.name", "casco-leasing"))
		if o.PremiumAmount != "5123.25" {
			t.Errorf("premium %s", o.PremiumAmount)
		}
	})
	if n := srv.Sandbox.Calls(sandbox.RouteCascoOffer); n != 9 {
		t.Errorf("offer calls: got %d, want 9", n)
	}
}

func num(s string) *json.Number    { n := json.Number(s); return &n }
func jsonNum(s string) json.Number { return json.Number(s) }

func TestCascoOfferValidation(t *testing.T) {
	t.Parallel()
	srv, _ := startCasco(t, sandbox.Options{})
	tk := demoLogin(t, srv).Token
	post := func(t *testing.T, body string, opts ...reqOpt) map[string][]string {
		t.Helper()
		return wantCascoError(t, do(t, "POST", srv.CascoURL+"/offer", body, append([]reqOpt{token(tk), jsonBody()}, opts...)...), 400, "VALIDATION_ERROR")
	}
	t.Run("empty", func(t *testing.T) {
		wantFields(t, post(t, `{}`), map[string]string{"provider": "The provider field is required.", "product": "The product field is required."})
		wantFields(t, post(t, `{}`, romanian()), map[string]string{"provider": "Câmpul provider este obligatoriu.", "product": "Câmpul product este obligatoriu."})
		wantFields(t, post(t, `{"provider":{},"product":{"name":"casco"}}`), map[string]string{
			"provider.organization": "", "product.motor": "", "product.vehicle": "", "product.policyholder": ""})
	})
	for _, tc := range []struct {
		name string
		q    quote
		want map[string]string
	}{
		{"provider and product", sampleQuote("axa", offerStart), map[string]string{"provider.organization.businessName": "The selected provider.organization.businessName is invalid."}},
		{"product of another provider", sampleQuote("generali", offerStart).set("product.name", "casco-leasing"), map[string]string{"product.name": "The selected product.name is invalid."}},
		{"start in the past", sampleQuote("allianz", "2026-10-31"), map[string]string{"product.motor.startDate": "The product.motor.startDate field must be a date between 2026-11-01 and 2026-12-31."}},
		{"start too late", sampleQuote("allianz", "2027-01-01"), map[string]string{"product.motor.startDate": ""}},
		{"bad date", sampleQuote("allianz", "15.11.2026"), map[string]string{"product.motor.startDate": "The product.motor.startDate field must be a date in the format YYYY-MM-DD."}},
		{"motor", sampleQuote("allianz", offerStart).set("product.motor.termTime", 13).set("product.motor.installmentCount", 3).set("product.motor.currency", "ron").
			set("product.motor.withoutTax", "maybe").set("product.motor.deductibles.totalDamage", 60),
			map[string]string{"product.motor.termTime": "The product.motor.termTime field must not be greater than 12.", "product.motor.installmentCount": "The selected product.motor.installmentCount is invalid.",
				"product.motor.currency": "The selected product.motor.currency is invalid.", "product.motor.withoutTax": "The product.motor.withoutTax field must be true or false.",
				"product.motor.deductibles.totalDamage": "The product.motor.deductibles.totalDamage field must not be greater than 50."}},
		{"installments must divide the term", sampleQuote("allianz", offerStart).set("product.motor.termTime", 6).set("product.motor.installmentCount", 4),
			map[string]string{"product.motor.installmentCount": "The product.motor.installmentCount field must divide product.motor.termTime (6 months) evenly."}},
		{"person", sampleQuote("allianz", offerStart).set("product.policyholder.firstName", "").set("product.policyholder.birthdate", "2010-01-01").
			set("product.policyholder.gender", "x").set("product.policyholder.email", "nobody").set("product.policyholder.nationality", "QQ").
			set("product.policyholder.identification.idType", "DL").set("product.policyholder.drivingLicense.issueDate", "2027-01-01"),
			map[string]string{"product.policyholder.firstName": "The product.policyholder.firstName field is required.",
				"product.policyholder.birthdate": "The product.policyholder.birthdate field must show a policyholder at least 18 years old on the start date.",
				"product.policyholder.gender":    "", "product.policyholder.email": "The product.policyholder.email field must be a valid email address.",
				"product.policyholder.nationality": "", "product.policyholder.identification.idType": "",
				"product.policyholder.drivingLicense.issueDate": "The product.policyholder.drivingLicense.issueDate field must not be after 2026-11-01."}},
		{"legal entity", sampleQuote("allianz", offerStart).set("product.policyholder.isLegalEntity", true).set("product.policyholder.taxId", nil),
			map[string]string{"product.policyholder.businessName": "", "product.policyholder.companyRegistryNumber": "", "product.policyholder.taxId": ""}},
		{"address", sampleQuote("allianz", offerStart).set("product.policyholder.address.county", "XX").set("product.policyholder.address.city", nil).set("product.policyholder.address.country", "ZZ"),
			map[string]string{"product.policyholder.address.country": "The selected product.policyholder.address.country is invalid.", "product.policyholder.address.city": ""}},
		{"county required in Romania", sampleQuote("allianz", offerStart).set("product.policyholder.address.county", nil).set("product.policyholder.address.cityCode", nil),
			map[string]string{"product.policyholder.address.county": "The product.policyholder.address.county field is required."}},
		{"locality of another county", sampleQuote("allianz", offerStart).set("product.policyholder.address.cityCode", 9271),
			map[string]string{"product.policyholder.address.cityCode": "The product.policyholder.address.cityCode field is not a locality of county CJ."}},
		{"vehicle", sampleQuote("allianz", offerStart).set("product.vehicle.vin", "WVWZZZ1KZ8W00616").set("product.vehicle.licensePlate", nil).
			set("product.vehicle.marketValue", "100000.005").set("product.vehicle.fuelType", nil).set("product.vehicle.yearOfConstruction", 2028),
			map[string]string{"product.vehicle.vin": "The product.vehicle.vin field must be 17 letters and digits without I, O or Q.",
				"product.vehicle.licensePlate": "The product.vehicle.licensePlate field is required.", "product.vehicle.marketValue": "The product.vehicle.marketValue field must have at most 2 decimals.",
				"product.vehicle.fuelType": "The product.vehicle.fuelType field is required.", "product.vehicle.yearOfConstruction": "The product.vehicle.yearOfConstruction field must not be greater than 2027."}},
		{"electric with displacement", sampleQuote("allianz", offerStart).set("product.vehicle.fuelType", "electric"),
			map[string]string{"product.vehicle.engineDisplacement": "The product.vehicle.engineDisplacement field must be empty for electric vehicles."}},
		{"coverages", sampleQuote("allianz", offerStart).set("product.coverages", []any{
			map[string]any{"code": "vehicle", "insuredSum": 100000.01}, map[string]any{"code": "vehicle"}, map[string]any{"code": "jetpack"}, "glass"}),
			map[string]string{"product.coverages.0.insuredSum": "The product.coverages.0.insuredSum field must not exceed product.vehicle.marketValue.",
				"product.coverages.1.code": "The product.coverages.1.code field has a duplicate value.", "product.coverages.2.code": "", "product.coverages.3": "The product.coverages.3 field must be an object."}},
		{"no vehicle coverage", sampleQuote("allianz", offerStart).set("product.coverages", []any{map[string]any{"code": "vehicle", "isIncluded": false}}),
			map[string]string{"product.coverages": "The product.coverages field must include the \"vehicle\" coverage."}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantFields(t, post(t, tc.q.String()), tc.want)
		})
	}
	t.Run("Romanian", func(t *testing.T) {
		wantFields(t, post(t, sampleQuote("allianz", offerStart).set("product.vehicle.seats", nil).set("product.motor.termTime", "x").String(), romanian()), map[string]string{
			"product.vehicle.seats": "Câmpul product.vehicle.seats este obligatoriu.", "product.motor.termTime": "Câmpul product.motor.termTime trebuie să fie un număr întreg."})
	})
	t.Run("bodies and token", func(t *testing.T) {
		body := sampleQuote("allianz", offerStart).String()
		wantCascoError(t, do(t, "POST", srv.CascoURL+"/offer", body, token(tk), header("Content-Type", "text/plain")), 415, "Content-Type must be application/json.")
		wantCascoError(t, do(t, "POST", srv.CascoURL+"/offer", body[:40], token(tk), jsonBody()), 400, "Malformed JSON body.")
		wantCascoError(t, do(t, "POST", srv.CascoURL+"/offer", body, jsonBody()), 401, "Unauthorized")
	})
}

func TestCascoOfferFaults(t *testing.T) {
	t.Parallel()
	srv, _ := startCasco(t, sandbox.Options{Faults: sandbox.Faults{CascoUnavailable: []string{"allianz"}}})
	tk := demoLogin(t, srv).Token
	post := func(q quote, opts ...reqOpt) result {
		return do(t, "POST", srv.CascoURL+"/offer", q.String(), append([]reqOpt{token(tk), jsonBody()}, opts...)...)
	}
	wantCascoError(t, post(sampleQuote("allianz", offerStart)), 400, "Product unavailable")
	wantCascoError(t, post(sampleQuote("allianz", offerStart), romanian()), 400, "Produs indisponibil")
	gen := offer(t, srv, tk, sampleQuote("generali", offerStart))

	r := do(t, "PUT", srv.URL+"/_sandbox/faults", `{"casco_unavailable":["generali","eazy_insure"]}`)
	if r.status != 200 || !strings.Contains(string(r.body), `"casco_unavailable":["generali","eazy_insure"]`) {
		t.Fatalf("PUT: %d %s", r.status, r.body)
	}
	mustCascoOK(t, post(sampleQuote("allianz", offerStart)), nil)
	wantCascoError(t, post(sampleQuote("eazy_insure", offerStart)), 400, "Product unavailable")
	// Issuing a policy asks the insurer too.
	wantCascoError(t, do(t, "POST", srv.CascoURL+"/policy", paymentBody(gen.OfferID, gen.PremiumAmount.String(), "2026-11-01"), token(tk), jsonBody()), 400, "Product unavailable")
	wantError(t, do(t, "PUT", srv.URL+"/_sandbox/faults", `{"casco_unavailable":["axa"]}`), 400, `casco_unavailable: unknown provider "axa" (want generali, groupama, allianz, eazy_insure).`)

	if r := do(t, "PUT", srv.URL+"/_sandbox/faults", `{"casco_unavailable":[],"casco_validation_field":"product.policyholder.address.floor"}`); r.status != 200 {
		t.Fatalf("PUT: %d %s", r.status, r.body)
	}
	f := wantCascoError(t, post(sampleQuote("generali", offerStart), romanian()), 400, "VALIDATION_ERROR")
	wantFields(t, f, map[string]string{"product.policyholder.address.floor": "Câmpul product.policyholder.address.floor este obligatoriu."})
	f = wantCascoError(t, post(sampleQuote("generali", offerStart).set("product.motor.termTime", 0)), 400, "VALIDATION_ERROR")
	wantFields(t, f, map[string]string{"product.policyholder.address.floor": "", "product.motor.termTime": ""})
	if got := srv.Sandbox.Faults(); got.CascoValidationField != "product.policyholder.address.floor" || len(got.CascoUnavailable) != 0 {
		t.Errorf("faults: %+v", got)
	}
	srv.Sandbox.SetFaults(sandbox.Faults{})
	mustCascoOK(t, post(sampleQuote("generali", offerStart)), nil)

	t.Run("vehicle too old", func(t *testing.T) {
		wantCascoError(t, post(sampleQuote("groupama", offerStart).set("product.vehicle.yearOfConstruction", 2015)), 400, "Vehicle too old for this product (at most 10 years)")
		wantCascoError(t, post(sampleQuote("generali", offerStart).set("product.vehicle.yearOfConstruction", 2013), romanian()), 400, "Vehicul prea vechi pentru acest produs (cel mult 12 ani)")
		mustCascoOK(t, post(sampleQuote("eazy_insure", offerStart).set("product.vehicle.yearOfConstruction", 2006)), nil)
	})
	t.Run("generic faults reach /casco", func(t *testing.T) {
		srv.Sandbox.SetFaults(sandbox.Faults{ErrorRate: 1})
		r := post(sampleQuote("generali", offerStart))
		if r.status < 500 {
			t.Fatalf("got %d", r.status)
		}
		wantCascoError(t, r, r.status, "Injected fault: the upstream failed to answer.")
		srv.Sandbox.SetFaults(sandbox.Faults{})
	})
}

func TestCascoPolicy(t *testing.T) {
	t.Parallel()
	srv, clk := startCasco(t, sandbox.Options{})
	tk := demoLogin(t, srv).Token
	partner := login(t, srv, sandbox.CascoPartnerAccount, sandbox.CascoPartnerPassword).Token
	today := "2026-11-01"

	o := offer(t, srv, tk, sampleQuote("groupama", offerStart))
	p := issue(t, srv, tk, paymentBody(o.OfferID, "5123.25", today))
	if p.Provider.Organization.BusinessName != "groupama" || p.Series != "GRP/CL" || p.Number < 100000000 || p.Number > 999999999 || p.PolicyID < 55000 ||
		p.OfferID != o.OfferID || p.StartDate != offerStart || p.EndDate != "2027-11-14" || p.PremiumAmount != "5123.25" || p.Currency != "RON" ||
		p.Payment.Method != "broker receipt" || p.Payment.Amount != "5123.25" || p.Payment.Currency != "RON" || p.Payment.Date != today || p.Payment.DocumentNumber != "CH-000042" ||
		!reflect.DeepEqual(p.Installments, []installOut{{1, "5123.25", offerStart}}) {
		t.Errorf("policy: %+v", p)
	}
	wantCascoError(t, do(t, "POST", srv.CascoURL+"/policy", paymentBody(o.OfferID, "5123.25", today), token(tk), jsonBody()), 400, "Policy already issued for this offer")
	wantCascoError(t, do(t, "POST", srv.CascoURL+"/policy", paymentBody(o.OfferID, "5123.25", today), token(tk), jsonBody(), romanian()), 400, "Polița a fost deja emisă pentru această ofertă")

	t.Run("policy document", func(t *testing.T) {
		q := url.Values{"series": {p.Series}, "number": {itoa(p.Number)}}
		b := mustFile(t, do(t, "GET", srv.CascoURL+"/policy?"+q.Encode(), "", token(tk)), "Policy", "policy-GRP-CL-"+itoa(p.Number)+".pdf")
		text, full := pdfText(t, b)
		want := []string{p.Series, itoa(p.Number), "WVWZZZ1KZ8W006165", "CJ12ABC", "Toyota Corolla", "5123.25 RON", "Demo Broker SRL", "CH-000042"}
		if full {
			want = append(want, "Poliță CASCO seria GRP/CL nr. "+itoa(p.Number), "Ștefan Țurcanu", "Groupama Asigurări S.A.", "Serie șasiu", "Str. Principală", "jud. CLUJ")
		}
		for _, w := range want {
			if !strings.Contains(text, w) {
				t.Errorf("policy PDF lacks %q:\n%s", w, text)
			}
		}
		wantCascoError(t, do(t, "GET", srv.CascoURL+"/policy?"+q.Encode(), "", token(partner)), 404, "Policy not found")
		wantCascoError(t, do(t, "GET", srv.CascoURL+"/policy?series=GRP/CL&number=1", "", token(tk), romanian()), 404, "Polița nu a fost găsită")
		wantFields(t, wantCascoError(t, do(t, "GET", srv.CascoURL+"/policy", "", token(tk)), 400, "VALIDATION_ERROR"),
			map[string]string{"series": "The series field is required.", "number": "The number field is required."})
		wantFields(t, wantCascoError(t, do(t, "GET", srv.CascoURL+"/policy?series=GRP%2FCL&number=12a", "", token(tk)), 400, "VALIDATION_ERROR"),
			map[string]string{"number": "The number field must be an integer."})
		wantCascoError(t, do(t, "GET", srv.CascoURL+"/policy?"+q.Encode(), ""), 401, "Unauthorized")
	})

	t.Run("offer document", func(t *testing.T) {
		b := mustFile(t, do(t, "GET", srv.CascoURL+"/offer/"+itoa(o.OfferID), "", token(tk)), "Offer", "offer-"+itoa(o.OfferID)+".pdf")
		text, full := pdfText(t, b)
		want := []string{itoa(o.OfferID), o.ProviderOfferCode, "WVWZZZ1KZ8W006165", "CJ12ABC", "5123.25 RON", "614.79 RON", "08.11.2026", "15.11.2026"}
		if full {
			want = append(want, "Ofertă CASCO nr. "+itoa(o.OfferID), "Ștefan Țurcanu", "Groupama Asigurări S.A.", "Fără mențiuni", "Primă totală", "Franciză daune parțiale", "500.00 RON")
		}
		for _, w := range want {
			if !strings.Contains(text, w) {
				t.Errorf("offer PDF lacks %q:\n%s", w, text)
			}
		}
		wantCascoError(t, do(t, "GET", srv.CascoURL+"/offer/"+itoa(o.OfferID), "", token(partner)), 404, "Offer not found")
		wantCascoError(t, do(t, "GET", srv.CascoURL+"/offer/1", "", token(tk), romanian()), 404, "Oferta nu a fost găsită")
		wantFields(t, wantCascoError(t, do(t, "GET", srv.CascoURL+"/offer/abc", "", token(tk)), 400, "VALIDATION_ERROR"), map[string]string{"id": "The id field must be an integer."})
		wantCascoError(t, do(t, "GET", srv.CascoURL+"/offer/"+itoa(o.OfferID), ""), 401, "Unauthorized")
	})

	t.Run("partner's legal entity policy", func(t *testing.T) {
		q := sampleQuote("allianz", offerStart).set("product.motor.installmentCount", 12)
		q["product"].(map[string]any)["policyholder"] = map[string]any{"isLegalEntity": true, "businessName": "Șantierul Naval Brăila SA", "companyRegistryNumber": "J09/1/1991", "taxId": "RO1234",
			"address": map[string]any{"country": "RO", "county": "BR", "city": "Brăila"}}
		po := offer(t, srv, partner, q)
		if len(po.Installments) != 12 || po.Installments[11].DueDate != "2027-10-15" {
			t.Fatalf("installments: %+v", po.Installments)
		}
		wantCascoError(t, do(t, "POST", srv.CascoURL+"/policy", paymentBody(po.OfferID, po.PremiumAmount.String(), today), token(tk), jsonBody()), 404, "Offer not found")
		// The first installment is enough.
		pp := issue(t, srv, partner, paymentBody(po.OfferID, po.Installments[0].Amount.String(), today))
		if pp.Series != "AZ/MC" || pp.Payment.Amount != po.Installments[0].Amount {
			t.Errorf("policy: %+v", pp)
		}
		b := mustFile(t, do(t, "GET", srv.CascoURL+"/policy?series=AZ%2FMC&number="+itoa(pp.Number), "", token(partner)), "Policy", "policy-AZ-MC-"+itoa(pp.Number)+".pdf")
		if text, full := pdfText(t, b); full && (!strings.Contains(text, "Șantierul Naval Brăila SA") || !strings.Contains(text, "Allianz-Țiriac") || !strings.Contains(text, "Transilvania Asigurări Broker SRL") || !strings.Contains(text, "Rata 12")) {
			t.Errorf("PDF:\n%s", text)
		}
	})

	t.Run("payment checks", func(t *testing.T) {
		o2 := offer(t, srv, tk, sampleQuote("groupama", offerStart).set("product.motor.installmentCount", 2))
		post := func(body string, opts ...reqOpt) map[string][]string {
			t.Helper()
			return wantCascoError(t, do(t, "POST", srv.CascoURL+"/policy", body, append([]reqOpt{token(tk), jsonBody()}, opts...)...), 400, "VALIDATION_ERROR")
		}
		wantFields(t, post(`{}`), map[string]string{"offerId": "The offerId field is required.", "payment": "The payment field is required."})
		wantFields(t, post(`{"offerId": 1.5, "payment": {"method": "cash", "currency": "USD", "amount": "x", "date": "2026-11-02"}}`), map[string]string{
			"offerId": "The offerId field must be an integer.", "payment.method": "The selected payment.method is invalid.", "payment.currency": "",
			"payment.amount": "The payment.amount field must be a number.", "payment.date": "The payment.date field must not be after 2026-11-01."})
		wantFields(t, post(paymentBody(o2.OfferID, "5000", today)), map[string]string{
			"payment.amount": "The payment.amount field must be " + o2.PremiumAmount.String() + " (the premium) or " + o2.Installments[0].Amount.String() + " (the first installment)."})
		wantFields(t, post(strings.Replace(paymentBody(o2.OfferID, o2.PremiumAmount.String(), today), `"RON"`, `"EUR"`, 1), romanian()), map[string]string{
			"payment.currency": "Câmpul payment.currency trebuie să fie RON."})
		wantCascoError(t, do(t, "POST", srv.CascoURL+"/policy", paymentBody(999, "1.00", today), token(tk), jsonBody()), 404, "Offer not found")
		// The whole premium works too, as a string.
		issue(t, srv, tk, paymentBody(o2.OfferID, `"`+o2.PremiumAmount.String()+`"`, today))
	})

	t.Run("offers expire", func(t *testing.T) {
		a := offer(t, srv, tk, sampleQuote("generali", offerStart))
		b := offer(t, srv, tk, sampleQuote("generali", offerStart))
		soon := offer(t, srv, tk, sampleQuote("generali", "2026-11-03"))
		if a.OfferExpiryDate != "2026-11-08" || soon.OfferExpiryDate != "2026-11-03" {
			t.Fatalf("expiry dates: %s, %s", a.OfferExpiryDate, soon.OfferExpiryDate)
		}
		// Valid through the end of 2026-11-08 in Bucharest (22:00 UTC).
		clk.Add(7*24*time.Hour + 11*time.Hour + 59*time.Minute + 59*time.Second)
		tk := demoLogin(t, srv).Token // the first one has long expired
		issue(t, srv, tk, paymentBody(a.OfferID, a.PremiumAmount.String(), "2026-11-08"))
		wantCascoError(t, do(t, "POST", srv.CascoURL+"/policy", paymentBody(soon.OfferID, soon.PremiumAmount.String(), "2026-11-08"), token(tk), jsonBody()), 400, "Offer expired")
		clk.Add(time.Second)
		wantCascoError(t, do(t, "POST", srv.CascoURL+"/policy", paymentBody(b.OfferID, b.PremiumAmount.String(), "2026-11-08"), token(tk), jsonBody(), romanian()), 400, "Oferta a expirat")
		wantCascoError(t, do(t, "POST", srv.CascoURL+"/policy", paymentBody(a.OfferID, a.PremiumAmount.String(), "2026-11-08"), token(tk), jsonBody()), 400, "Policy already issued for this offer")
		// An expired offer's document is still there.
		mustFile(t, do(t, "GET", srv.CascoURL+"/offer/"+itoa(b.OfferID), "", token(tk)), "Offer", "offer-"+itoa(b.OfferID)+".pdf")
	})

	t.Run("short offer TTL", func(t *testing.T) {
		s2, c2 := startCasco(t, sandbox.Options{CascoOfferTTL: time.Hour})
		k := demoLogin(t, s2).Token
		o := offer(t, s2, k, sampleQuote("groupama", offerStart))
		if o.OfferExpiryDate != "2026-11-01" {
			t.Errorf("offerExpiryDate: %s", o.OfferExpiryDate)
		}
		c2.Add(12 * time.Hour) // 2026-11-02 00:00 in Bucharest
		k = demoLogin(t, s2).Token
		wantCascoError(t, do(t, "POST", s2.CascoURL+"/policy", paymentBody(o.OfferID, o.PremiumAmount.String(), "2026-11-01"), token(k), jsonBody()), 400, "Offer expired")
	})

	for route, min := range map[string]int{sandbox.RouteCascoPolicy: 10, sandbox.RouteCascoPolicyPDF: 5, sandbox.RouteCascoOfferPDF: 5} {
		if n := srv.Sandbox.Calls(route); n < min {
			t.Errorf("%s: %d calls", route, n)
		}
	}
}
