package casco_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"backoffice/apiclient"
	"backoffice/apiclient/casco"
)

// sampleQuote is the contract's C4 request, in Go.
func sampleQuote() casco.QuoteRequest {
	sum := casco.MustParseDecimal("10000.5")
	market := casco.MustParseDecimal("100000.00")
	partial, total := casco.MustParseDecimal("500"), casco.MustParseDecimal("20")
	return casco.QuoteRequest{
		Provider: casco.Provider{Organization: casco.Organization{BusinessName: casco.ProviderGroupama}},
		Product: casco.Product{
			Name: casco.ProductCasco,
			Motor: casco.Motor{StartDate: "2026-09-15", TermTime: 12, InstallmentCount: 1, Currency: "RON",
				Deductibles: &casco.Deductibles{PartialDamage: &partial, TotalDamage: &total}},
			Coverages: []casco.Coverage{{IsIncluded: true, Code: "vehicle", InsuredSum: &sum}},
			Policyholder: casco.Policyholder{LastName: "Doe", FirstName: "John", TaxID: "1900101123456", Nationality: "RO",
				Citizenship: "RO", Gender: "m", Birthdate: "1990-01-01", Email: "john.doe@example.com", MobileNumber: "0712345678",
				DrivingLicense: &casco.DrivingLicense{IssueDate: "2010-05-15"},
				Identification: &casco.Identification{IDType: "CI", IDNumber: "CJ123456", IssueAuthority: "SPCLEP Cluj", IssueDate: "2022-11-24"},
				Address: &casco.Address{Country: "RO", County: "CJ", City: "Cluj-Napoca", CityCode: 54984, Street: "Principala",
					HouseNumber: "19-21", Floor: "2", Apartment: "12", Postcode: "400000"}},
			Vehicle: casco.Vehicle{LicensePlate: "CJ12ABC", RegistrationType: "registered", VIN: "WVWZZZ1KZ8W006165",
				VehicleType: "M1", Brand: "Toyota", Model: "Corolla", YearOfConstruction: 2020, EngineDisplacement: 1798,
				EnginePower: 103, TotalWeight: 1500, Seats: 5, FuelType: "petrol", CurrentMileage: 120000, Color: "white",
				MarketValue: &market},
		},
	}
}

const quoteAnswer = `{"error": false, "status": 200, "data": {
  "provider": {"organization": {"businessName": "groupama"}},
  "offers": [{"offerId": 794318, "providerOfferCode": "GRP-CASCO-2211", "premiumAmount": 2211.49,
    "premiumAmountNet": 1946.11, "currency": "RON", "startDate": "2026-09-15", "endDate": "2027-09-14",
    "offerExpiryDate": "2026-09-05", "commissionPercent": 12, "commissionValue": 265.38,
    "coverages": [{"code": "vehicle", "isIncluded": true, "insuredSum": 10000.5, "premiumAmount": 2211.49}],
    "deductibles": {"partialDamage": 500, "totalDamage": 20},
    "installments": [{"id": 1, "amount": 2211.49, "dueDate": "2026-09-15"}]}]}}`

const issueAnswer = `{"error": false, "status": 200, "data": {"policies": [{
  "provider": {"organization": {"businessName": "groupama"}},
  "policyId": 55123, "series": "RO/05/M3", "number": 123456789,
  "startDate": "2026-09-15", "endDate": "2027-09-14", "premiumAmount": 2211.49, "currency": "RON",
  "payment": {"method": "broker receipt", "currency": "RON", "amount": 2211.49},
  "installments": [{"id": 1, "amount": 2211.49, "dueDate": "2026-09-15"}]}]}}`

// record answers with body and keeps the request and its body.
func record(last *atomic.Pointer[http.Request], lastBody *atomic.Pointer[[]byte], body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		lastBody.Store(&b)
		last.Store(r.Clone(context.Background()))
		raw(200, "application/json", body)(w, r)
	}
}

// TestEndpointsRequestsAndDecoding checks the method, path, query, body
// and Token header of every endpoint, and what it decodes.
func TestEndpointsRequestsAndDecoding(t *testing.T) {
	clk := newClock()
	f, srv := newFake(t, clk)
	c := mustNew(t, srv.URL+"/", casco.WithClock(clk.Now))
	s := mustLogin(t, c)
	tok := s.Tokens().Token
	ctx := context.Background()
	var last atomic.Pointer[http.Request]
	var lastBody atomic.Pointer[[]byte]
	f.routes["POST /offer"] = record(&last, &lastBody, quoteAnswer)
	f.routes["POST /policy"] = record(&last, &lastBody, issueAnswer)
	f.routes["GET /nomenclature/country"] = record(&last, &lastBody, `{"error":false,"status":200,"data":[{"id":642,"iso2":"RO","iso3":"ROU","nameRO":"România","nameEN":"Romania"}]}`)
	f.routes["GET /nomenclature/county"] = record(&last, &lastBody, `{"error":"false","status":"200","data":[{"id":12,"siruta":120,"code":"CJ","name":"CLUJ","country":"RO"}]}`)
	f.routes["GET /nomenclature/locality/B"] = record(&last, &lastBody, `{"error":false,"status":200,"data":[{"id":717,"rang":2,"name":"ARAD","countyCode":"AR","siruta":9271},{"nume":"VINGA","cod_judet":"AR","cod_siruta":9999}]}`)
	f.routes["GET /nomenclature/vehicle-make"] = record(&last, &lastBody, `{"data":[{"id":1,"name":"Toyota"}]}`)
	f.routes["GET /nomenclature/vehicle-model/Land Rover"] = record(&last, &lastBody, `{"error":false,"status":200,"data":[]}`)
	f.routes["POST /helper/vehicle-identification"] = record(&last, &lastBody, `{"error":false,"status":200,"data":{"vehicleCode":"TOY-COROLLA-2020-1800-P","brand":"Toyota","model":"Corolla","yearOfConstruction":2020,"confidence":"exact"}}`)

	check := func(method, escapedPath, query string, wantBody string) {
		t.Helper()
		r := last.Load()
		if r == nil {
			t.Fatalf("%s %s: no request", method, escapedPath)
		}
		if r.Method != method || r.URL.EscapedPath() != escapedPath || r.URL.RawQuery != query {
			t.Errorf("request: got %s %s?%s, want %s %s?%s", r.Method, r.URL.EscapedPath(), r.URL.RawQuery, method, escapedPath, query)
		}
		if r.Header.Get("Token") != tok {
			t.Errorf("%s %s: Token header %q, want the JWT", method, escapedPath, r.Header.Get("Token"))
		}
		body := *lastBody.Load()
		if wantBody == "" {
			if len(body) != 0 || r.Header.Get("Content-Type") != "" {
				t.Errorf("%s %s: got body %q, want none", method, escapedPath, body)
			}
		} else {
			if r.Header.Get("Content-Type") != "application/json" {
				t.Errorf("%s %s: Content-Type %q", method, escapedPath, r.Header.Get("Content-Type"))
			}
			var got, want any
			json.Unmarshal(body, &got)
			json.Unmarshal([]byte(wantBody), &want)
			gb, _ := json.Marshal(got)
			wb, _ := json.Marshal(want)
			if !bytes.Equal(gb, wb) {
				t.Errorf("%s %s body:\n got %s\nwant %s", method, escapedPath, gb, wb)
			}
		}
		last.Store(nil)
	}

	q, err := s.Quote(ctx, sampleQuote())
	if err != nil {
		t.Fatal(err)
	}
	check("POST", "/offer", "", `{"provider":{"organization":{"businessName":"groupama"}},"product":{"name":"casco",
		"motor":{"startDate":"2026-09-15","termTime":12,"installmentCount":1,"currency":"RON","withoutTax":false,
		  "deductibles":{"partialDamage":500,"totalDamage":20}},
		"coverages":[{"isIncluded":true,"code":"vehicle","insuredSum":10000.5}],
		"policyholder":{"isLegalEntity":false,"lastName":"Doe","firstName":"John","isForeignPerson":false,"taxId":"1900101123456",
		  "nationality":"RO","citizenship":"RO","gender":"m","birthdate":"1990-01-01","email":"john.doe@example.com",
		  "mobileNumber":"0712345678","drivingLicense":{"issueDate":"2010-05-15"},
		  "identification":{"idType":"CI","idNumber":"CJ123456","issueAuthority":"SPCLEP Cluj","issueDate":"2022-11-24"},
		  "address":{"country":"RO","county":"CJ","city":"Cluj-Napoca","cityCode":54984,"street":"Principala",
		    "houseNumber":"19-21","floor":"2","apartment":"12","postcode":"400000"}},
		"vehicle":{"licensePlate":"CJ12ABC","registrationType":"registered","vin":"WVWZZZ1KZ8W006165","vehicleType":"M1",
		  "brand":"Toyota","model":"Corolla","yearOfConstruction":2020,"engineDisplacement":1798,"enginePower":103,
		  "totalWeight":1500,"seats":5,"fuelType":"petrol","currentMileage":120000,"color":"white","marketValue":100000.00}}}`)
	if len(q.Offers) != 1 || q.RequestID != "req-raw" || q.Provider.Organization.BusinessName != "groupama" {
		t.Fatalf("quote: got %+v", q)
	}
	o := q.Offers[0]
	if o.OfferID != 794318 || o.PremiumAmount.String() != "2211.49" || o.PremiumAmountNet.String() != "1946.11" ||
		o.CommissionPercent.String() != "12" || o.CommissionValue.String() != "265.38" || o.Currency != "RON" ||
		o.OfferExpiryDate != "2026-09-05" || o.Coverages[0].InsuredSum.String() != "10000.5" ||
		o.Installments[0].Amount.String() != "2211.49" || o.Deductibles.PartialDamage.String() != "500" {
		t.Errorf("offer: got %+v", o)
	}

	issued, err := s.IssuePolicy(ctx, casco.PolicyRequest{OfferID: o.OfferID,
		Payment: casco.Payment{Method: casco.PaymentBrokerReceipt, Currency: "RON", Amount: o.PremiumAmount, Date: "2026-09-10", DocumentNumber: "RCA-000042"}})
	if err != nil {
		t.Fatal(err)
	}
	check("POST", "/policy", "", `{"offerId":794318,"payment":{"method":"broker receipt","currency":"RON","amount":2211.49,"date":"2026-09-10","documentNumber":"RCA-000042"}}`)
	p := issued.Policies[0]
	if p.PolicyID != 55123 || p.Series != "RO/05/M3" || p.Number != 123456789 || p.PremiumAmount.String() != "2211.49" ||
		p.Payment.Method != casco.PaymentBrokerReceipt || issued.RequestID != "req-raw" {
		t.Errorf("policy: got %+v", issued)
	}

	countries, err := s.Countries(ctx)
	check("GET", "/nomenclature/country", "", "")
	if err != nil || len(countries) != 1 || countries[0] != (casco.Country{ID: 642, ISO2: "RO", ISO3: "ROU", NameRO: "România", NameEN: "Romania"}) {
		t.Errorf("countries: got %+v, %v", countries, err)
	}
	cs, err := s.Counties(ctx)
	check("GET", "/nomenclature/county", "", "")
	if err != nil || len(cs) != 1 || cs[0] != (casco.County{ID: 12, Siruta: 120, Code: "CJ", Name: "CLUJ", Country: "RO"}) {
		t.Errorf("counties: got %+v, %v", cs, err)
	}
	ls, err := s.Localities(ctx, "B")
	check("GET", "/nomenclature/locality/B", "", "")
	if err != nil || len(ls) != 2 || ls[0] != (casco.Locality{ID: 717, Rang: 2, Name: "ARAD", CountyCode: "AR", Siruta: 9271}) ||
		ls[1] != (casco.Locality{Name: "VINGA", CountyCode: "AR", Siruta: 9999}) {
		t.Errorf("localities: got %+v, %v", ls, err)
	}
	makes, err := s.VehicleMakes(ctx)
	check("GET", "/nomenclature/vehicle-make", "", "")
	if err != nil || len(makes) != 1 || makes[0] != (casco.VehicleMake{ID: 1, Name: "Toyota"}) {
		t.Errorf("makes: got %+v, %v", makes, err)
	}
	models, err := s.VehicleModels(ctx, "Land Rover")
	check("GET", "/nomenclature/vehicle-model/Land%20Rover", "", "")
	if err != nil || models == nil || len(models) != 0 {
		t.Errorf("models: got %#v, %v; want an empty, non-nil list", models, err)
	}
	market := casco.MustParseDecimal("100000.00")
	id, err := s.IdentifyVehicle(ctx, casco.VehicleIdentificationRequest{VIN: "1HGCM82633A123456", MotorSeries: "e2007",
		VehicleType: "M1", Brand: "Toyota", Model: "Corolla", YearOfConstruction: 2020, EngineDisplacement: 1800,
		EnginePower: 140, TotalWeight: 1500, Seats: 5, FuelType: "petrol", CurrentMileage: 120000, Color: "white", MarketValue: &market})
	check("POST", "/helper/vehicle-identification", "", `{"vin":"1HGCM82633A123456","motorSeries":"e2007","vehicleType":"M1",
		"brand":"Toyota","model":"Corolla","yearOfConstruction":2020,"engineDisplacement":1800,"enginePower":140,
		"totalWeight":1500,"seats":5,"fuelType":"petrol","currentMileage":120000,"color":"white","marketValue":100000.00}`)
	if err != nil || id.VehicleCode != "TOY-COROLLA-2020-1800-P" || id.Confidence != "exact" || id.YearOfConstruction != 2020 || id.RequestID != "req-raw" {
		t.Errorf("identification: got %+v, %v", id, err)
	}
}

func TestInvalidArgumentsMakeNoRequest(t *testing.T) {
	clk := newClock()
	f, srv := newFake(t, clk)
	s := mustLogin(t, mustNew(t, srv.URL, casco.WithClock(clk.Now)))
	before := len(f.calls(""))
	ctx := context.Background()
	cases := map[string]func() error{
		"offer id 0":        func() error { _, err := s.OfferDocument(ctx, 0); return err },
		"issue offer id -1": func() error { _, err := s.IssuePolicy(ctx, casco.PolicyRequest{OfferID: -1}); return err },
		"empty series":      func() error { _, err := s.PolicyDocument(ctx, "", 1); return err },
		"number 0":          func() error { _, err := s.PolicyDocument(ctx, "RO/05/M3", 0); return err },
		"empty county":      func() error { _, err := s.Localities(ctx, " "); return err },
		"dot-dot county":    func() error { _, err := s.Localities(ctx, ".."); return err },
		"control make":      func() error { _, err := s.VehicleModels(ctx, "a\nb"); return err },
	}
	for name, call := range cases {
		err := call()
		if !errors.Is(err, apiclient.ErrBadRequest) {
			t.Errorf("%s: got %v, want ErrBadRequest", name, err)
			continue
		}
		if e := mustAPIError(t, err); e.StatusCode != 0 || e.Upstream != "casco" {
			t.Errorf("%s: got %+v", name, e)
		}
	}
	if after := len(f.calls("")); after != before {
		t.Errorf("upstream calls: got %d, want 0", after-before)
	}
}

// TestErrorEnvelopes feeds the contract's error shapes through Quote.
func TestErrorEnvelopes(t *testing.T) {
	huge := `{"error":true,"status":400,"message":"` + strings.Repeat("x", 300<<10) + `"}`
	cases := []struct {
		name       string
		h          http.HandlerFunc
		kind       error
		provider   bool
		status     int
		message    string
		requestID  string
		wantFields map[string][]string
	}{
		{"validation", raw(400, "application/json", `{"error":true,"status":400,"message":"VALIDATION_ERROR",
			"data":{"product.policyholder.address.floor":["Câmpul etaj adresă asigurat este obligatoriu."],
			"product.vehicle.vin":["too short","bad check digit"]},"correlation_id":"c-1"}`),
			apiclient.ErrBadRequest, false, 400, "VALIDATION_ERROR", "req-raw",
			map[string][]string{"product.policyholder.address.floor": {"Câmpul etaj adresă asigurat este obligatoriu."},
				"product.vehicle.vin": {"too short", "bad check digit"}}},
		{"validation single strings", raw(400, "application/json", `{"error":true,"status":400,"message":"VALIDATION_ERROR","data":{"a.b":"required"}}`),
			apiclient.ErrBadRequest, false, 400, "VALIDATION_ERROR", "req-raw", map[string][]string{"a.b": {"required"}}},
		{"provider refusal", raw(400, "application/json", `{"error":true,"status":400,"message":"Produs indisponibil"}`),
			apiclient.ErrBadRequest, true, 400, "Produs indisponibil", "req-raw", nil},
		{"provider down", raw(503, "application/json", `{"error":true,"status":503,"message":"Provider groupama unavailable"}`),
			apiclient.ErrUnavailable, true, 503, "Provider groupama unavailable", "req-raw", nil},
		{"correlation id without header", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(404)
			io.WriteString(w, `{"error":true,"status":404,"message":"Offer not found","correlation_id":"6f1c-corr"}`)
		}, apiclient.ErrNotFound, false, 404, "Offer not found", "6f1c-corr", nil},
		{"road-style errors list", raw(422, "application/json", `{"errors":["first","second"],"correlation_id":"x"}`),
			apiclient.ErrUnprocessable, true, 422, "first; second", "req-raw", nil},
		{"error flagged in a 200", raw(200, "application/json", `{"error":"true","status":"400","message":"Produs indisponibil"}`),
			apiclient.ErrBadRequest, true, 400, "Produs indisponibil", "req-raw", nil},
		{"html 502", raw(502, "text/html", "<h1>Bad gateway</h1>"), apiclient.ErrUnavailable, false, 502, "Bad Gateway (no error message from upstream)", "req-raw", nil},
		{"huge error body", raw(400, "application/json", huge), apiclient.ErrBadRequest, false, 400, "Bad Request (no error message from upstream)", "req-raw", nil},
		{"garbage 200", raw(200, "application/json", `{"data": {"offers": [`), apiclient.ErrInvalidResponse, false, 200, "answer could not be decoded", "req-raw", nil},
		{"wrong type 200", raw(200, "application/json", `{"data": {"offers": [{"offerId": "x"}]}}`), apiclient.ErrInvalidResponse, false, 200, "answer could not be decoded", "req-raw", nil},
		{"float premium is fine, text is not", raw(200, "application/json", `{"data": {"offers": [{"premiumAmount": "12,5"}]}}`), apiclient.ErrInvalidResponse, false, 200, "answer could not be decoded", "req-raw", nil},
		{"no data", raw(200, "application/json", `{"error":false,"status":200}`), apiclient.ErrInvalidResponse, false, 200, "answer has no data", "req-raw", nil},
		{"html 200", raw(200, "text/html", "<html></html>"), apiclient.ErrInvalidResponse, false, 200, "answer is not JSON", "req-raw", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock()
			f, srv := newFake(t, clk)
			f.routes["POST /offer"] = tc.h
			s := mustLogin(t, mustNew(t, srv.URL, casco.WithClock(clk.Now)))
			_, err := s.Quote(context.Background(), sampleQuote())
			if !errors.Is(err, tc.kind) {
				t.Errorf("kind: got %v, want %v", err, tc.kind)
			}
			if errors.Is(err, casco.ErrProvider) != tc.provider {
				t.Errorf("ErrProvider: got %v, want %v", errors.Is(err, casco.ErrProvider), tc.provider)
			}
			e := mustAPIError(t, err)
			if e.Upstream != "casco" || e.Op != "POST /offer" || e.StatusCode != tc.status || e.Message != tc.message || e.RequestID != tc.requestID {
				t.Errorf("error: got upstream %q op %q status %d message %q request id %q", e.Upstream, e.Op, e.StatusCode, truncate(e.Message), e.RequestID)
			}
			if len(e.Fields) != len(tc.wantFields) {
				t.Errorf("fields: got %v, want %v", e.Fields, tc.wantFields)
			}
			for field, msgs := range tc.wantFields {
				if strings.Join(e.Fields[field], "|") != strings.Join(msgs, "|") {
					t.Errorf("fields[%s]: got %v, want %v", field, e.Fields[field], msgs)
				}
			}
		})
	}
}

func truncate(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

func TestTransportFailures(t *testing.T) {
	clk := newClock()
	f, srv := newFake(t, clk)
	release := make(chan struct{})
	f.routes["GET /nomenclature/county"] = func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}
	defer close(release)
	c := mustNew(t, srv.URL, casco.WithClock(clk.Now), casco.WithTimeout(100*time.Millisecond))
	s := mustLogin(t, c)
	_, err := s.Counties(context.Background())
	if !errors.Is(err, apiclient.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("timeout: got %v, want ErrUnavailable and DeadlineExceeded", err)
	}

	closed := httptest.NewServer(http.NotFoundHandler())
	addr := closed.URL
	closed.Close()
	_, err = mustNew(t, addr).Login(context.Background(), testAccount, testPassword)
	if !errors.Is(err, apiclient.ErrUnavailable) {
		t.Errorf("refused: got %v, want ErrUnavailable", err)
	}
	if e := mustAPIError(t, err); e.Cause == nil || e.StatusCode != 0 || strings.Contains(err.Error(), "password") {
		t.Errorf("refused: got %+v (%v)", e, err)
	}
}

// TestNoRedirects: a redirect is not followed, so the Token header never
// reaches another host.
func TestNoRedirects(t *testing.T) {
	var leaked atomic.Int32
	elsewhere := httptestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Token") != "" {
			leaked.Add(1)
		}
		counties(w, r)
	}))
	clk := newClock()
	f, srv := newFake(t, clk)
	f.routes["GET /nomenclature/county"] = func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere+"/nomenclature/county", http.StatusFound)
	}
	hc := &http.Client{}
	s := mustLogin(t, mustNew(t, srv.URL, casco.WithClock(clk.Now), casco.WithHTTPClient(hc)))
	_, err := s.Counties(context.Background())
	if !errors.Is(err, apiclient.ErrInvalidResponse) || mustAPIError(t, err).StatusCode != http.StatusFound {
		t.Errorf("got %v, want ErrInvalidResponse with status 302", err)
	}
	if leaked.Load() != 0 {
		t.Error("the Token header reached the redirect target")
	}
	if hc.CheckRedirect != nil {
		t.Error("the caller's http.Client was changed")
	}
}

// TestSecretsNeverLeak forces failures with an upstream that echoes the
// password, the tokens and the insurer password back in every place an
// error or a log line could pick them up.
func TestSecretsNeverLeak(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	const insurerPassword = "insurer-Secret-99"
	clk := newClock()
	f, srv := newFake(t, clk)
	echo := func(status int) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			secret := r.Header.Get("Token") + " " + string(b)
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("X-Request-Id", "id-"+r.Header.Get("Token"))
			w.WriteHeader(status)
			json.NewEncoder(w).Encode(map[string]any{"error": true, "status": status, "message": "bad " + secret,
				"data": map[string][]string{r.Header.Get("Token"): {secret}}})
		}
	}
	c := mustNew(t, srv.URL, casco.WithClock(clk.Now), casco.WithLogger(logger))
	s := mustLogin(t, c)
	first := s.Tokens()
	ctx := context.Background()
	var errs []error

	for _, status := range []int{400, 403, 404, 500} {
		f.routes["POST /offer"] = echo(status)
		q := sampleQuote()
		q.Provider.Authentication = &casco.ProviderAuthentication{Account: "acct", Password: insurerPassword, Code: "AUTH456"}
		_, err := s.Quote(ctx, q)
		errs = append(errs, err)
	}
	// A 401 that survives the renewal: both token pairs are in play.
	f.routes["GET /nomenclature/county"] = echo(401)
	_, err := s.Counties(ctx)
	errs = append(errs, err)
	second := s.Tokens()

	// Login: the upstream echoes the password it got in the query.
	mux := http.NewServeMux()
	mux.HandleFunc("POST /auth", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Request-Id", r.URL.RawQuery)
		w.WriteHeader(401)
		io.WriteString(w, `{"error":true,"status":401,"message":"no account for `+r.URL.RawQuery+` / `+r.URL.Query().Get("password")+`"}`)
	})
	_, err = mustNew(t, httptestServer(t, mux), casco.WithLogger(logger)).Login(ctx, testAccount, testPassword)
	errs = append(errs, err)
	// Refresh refused, echoing the refresh token.
	mux.HandleFunc("PATCH /auth", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Request-Id", r.Header.Get("Token"))
		w.WriteHeader(401)
		io.WriteString(w, `{"error":true,"status":401,"message":"refused `+r.Header.Get("Token")+`"}`)
	})
	rs, err := mustNew(t, httptestServer(t, mux), casco.WithLogger(logger)).Resume(casco.Tokens{Token: "opaque-access-tok", RefreshToken: "opaque-refresh-tok"})
	if err != nil {
		t.Fatal(err)
	}
	errs = append(errs, rs.Renew(ctx))
	// Transport failure of a login: the URL carries the password.
	_, err = mustNew(t, "http://127.0.0.1:1", casco.WithLogger(logger)).Login(ctx, testAccount, testPassword)
	errs = append(errs, err)

	secrets := []string{testPassword, insurerPassword, first.Token, first.RefreshToken, second.Token, second.RefreshToken,
		"opaque-refresh-tok"}
	for i, err := range errs {
		if err == nil {
			t.Errorf("case %d: got nil error", i)
			continue
		}
		e := mustAPIError(t, err)
		text := err.Error() + " " + e.Message + " " + e.RequestID
		for f, msgs := range e.Fields {
			text += " " + f + " " + strings.Join(msgs, " ")
		}
		for _, sec := range secrets {
			if strings.Contains(text, sec) {
				t.Errorf("case %d: secret %.12s… in error: %s", i, sec, text)
			}
		}
	}
	if logs.Len() == 0 {
		t.Fatal("no log lines captured")
	}
	for _, sec := range secrets {
		if strings.Contains(logs.String(), sec) {
			t.Errorf("secret %.12s… in logs:\n%s", sec, logs.String())
		}
	}
}
