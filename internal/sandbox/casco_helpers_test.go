package sandbox_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"backoffice/internal/sandbox"
	"backoffice/internal/sandbox/sandboxtest"
)

// cascoEnvelope is CascoApi's answer with data kept raw.
type cascoEnvelope struct {
	Error         *bool           `json:"error"`
	Status        *int            `json:"status"`
	Message       string          `json:"message"`
	Data          json.RawMessage `json:"data"`
	CorrelationID string          `json:"correlation_id"`
}

func cascoEnv(t *testing.T, r result) cascoEnvelope {
	t.Helper()
	var e cascoEnvelope
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.UseNumber()
	if err := dec.Decode(&e); err != nil {
		t.Fatalf("not a CascoApi envelope: %v: %s", err, r.body)
	}
	if e.Error == nil || e.Status == nil {
		t.Fatalf("envelope lacks error/status: %s", r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("content type: got %q, want application/json", ct)
	}
	return e
}

// mustCascoOK asserts a 200 envelope with real bool/int types and decodes
// data into out (nil: skip).
func mustCascoOK(t *testing.T, r result, out any) {
	t.Helper()
	if r.status != 200 {
		t.Fatalf("status: got %d, want 200: %s", r.status, r.body)
	}
	if !bytes.HasPrefix(r.body, []byte(`{"error":false,"status":200,"data":`)) {
		t.Fatalf("envelope: got %.80s, want {\"error\":false,\"status\":200,\"data\":…", r.body)
	}
	e := cascoEnv(t, r)
	if out != nil {
		dec := json.NewDecoder(bytes.NewReader(e.Data))
		dec.UseNumber()
		if err := dec.Decode(out); err != nil {
			t.Fatalf("data: %v: %s", err, e.Data)
		}
	}
}

// wantCascoError asserts an error envelope: status, message and a
// correlation id; it returns the field map of a VALIDATION_ERROR.
func wantCascoError(t *testing.T, r result, status int, msg string) map[string][]string {
	t.Helper()
	if r.status != status {
		t.Fatalf("status: got %d, want %d: %s", r.status, status, r.body)
	}
	e := cascoEnv(t, r)
	if !*e.Error || *e.Status != status || e.Message != msg {
		t.Errorf("envelope: got error=%v status=%d message=%q, want true %d %q", *e.Error, *e.Status, e.Message, status, msg)
	}
	if len(e.CorrelationID) != 36 {
		t.Errorf("correlation_id: got %q", e.CorrelationID)
	}
	var fields map[string][]string
	if len(e.Data) > 0 {
		if err := json.Unmarshal(e.Data, &fields); err != nil {
			t.Fatalf("validation data: %v: %s", err, e.Data)
		}
	}
	if msg == "VALIDATION_ERROR" && len(fields) == 0 {
		t.Errorf("VALIDATION_ERROR without a field map: %s", r.body)
	}
	return fields
}

// wantFields asserts the exact set of fields of a VALIDATION_ERROR and,
// where given, the first message of each.
func wantFields(t *testing.T, got map[string][]string, want map[string]string) {
	t.Helper()
	for f, msg := range want {
		if len(got[f]) == 0 {
			t.Errorf("field %s: no message, want %q", f, msg)
			continue
		}
		if msg != "" && got[f][0] != msg {
			t.Errorf("field %s: got %q, want %q", f, got[f][0], msg)
		}
	}
	for f, m := range got {
		if _, ok := want[f]; !ok {
			t.Errorf("unexpected field %s: %v", f, m)
		}
	}
}

type tokens struct {
	Token        string `json:"token"`
	ExpiresAt    string `json:"expires_at"`
	RefreshToken string `json:"refresh_token"`
}

func startCasco(t *testing.T, opts sandbox.Options) (*sandboxtest.Server, *clock) {
	t.Helper()
	opts.Policies = sandbox.MinPolicies
	return start(t, opts)
}

func login(t *testing.T, srv *sandboxtest.Server, account, password string) tokens {
	t.Helper()
	var tk tokens
	mustCascoOK(t, do(t, "POST", srv.CascoURL+"/auth?account="+url.QueryEscape(account)+"&password="+url.QueryEscape(password), ""), &tk)
	return tk
}

func demoLogin(t *testing.T, srv *sandboxtest.Server) tokens {
	t.Helper()
	return login(t, srv, sandbox.CascoDemoAccount, sandbox.CascoDemoPassword)
}

func token(tk string) reqOpt    { return header("Token", tk) }
func jsonBody() reqOpt          { return header("Content-Type", "application/json") }
func romanian() reqOpt          { return header("Content-Language", "ro") }
func bucharest() *time.Location { loc, _ := time.LoadLocation("Europe/Bucharest"); return loc }
func itoa(n int64) string       { return strconv.FormatInt(n, 10) }

// quote is a valid POST /offer body (the contract's sample, made
// consistent) as a tree the tests change with set.
type quote map[string]any

func sampleQuote(provider, startDate string) quote {
	var q quote
	_ = json.Unmarshal([]byte(`{
 "provider": {"organization": {"businessName": "`+provider+`"},
              "authentication": {"account": "user123", "password": "securePassword123", "code": "AUTH456"}},
 "product": {"name": "casco",
   "motor": {"startDate": "`+startDate+`", "termTime": 12, "installmentCount": 1, "currency": "RON",
             "mentions": "Fără mențiuni", "withoutTax": "false", "deductibles": {"partialDamage": 500, "totalDamage": 20}},
   "policyholder": {"isLegalEntity": "false", "lastName": "Țurcanu", "firstName": "Ștefan", "isForeignPerson": false,
     "taxId": "1900101123456", "nationality": "RO", "citizenship": "RO", "gender": "m", "birthdate": "1990-01-01",
     "email": "stefan.turcanu@example.com", "mobileNumber": "0712345678", "drivingLicense": {"issueDate": "2010-05-15"},
     "identification": {"idType": "CI", "idNumber": "CJ123456", "issueAuthority": "SPCLEP Cluj", "issueDate": "2022-11-24"},
     "address": {"country": "RO", "county": "CJ", "city": "Cluj-Napoca", "cityCode": 54984, "street": "Principală",
                 "houseNumber": "19-21", "building": "A1", "staircase": "1", "floor": "2", "apartment": "12", "postcode": "400000"}},
   "vehicle": {"licensePlate": "CJ12ABC", "registrationType": "registered", "vin": "WVWZZZ1KZ8W006165",
     "vehicleType": "M1", "brand": "Toyota", "model": "Corolla", "yearOfConstruction": 2020,
     "engineDisplacement": 1800, "enginePower": 103, "totalWeight": 1500, "seats": 5,
     "fuelType": "petrol", "currentMileage": 120000, "color": "white", "marketValue": 100000.00}}}`), &q)
	return q
}

// set changes a dotted path ("product.motor.termTime"); a nil value
// deletes it.
func (q quote) set(path string, v any) quote {
	parts := strings.Split(path, ".")
	m := map[string]any(q)
	for _, p := range parts[:len(parts)-1] {
		next, ok := m[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[p] = next
		}
		m = next
	}
	if v == nil {
		delete(m, parts[len(parts)-1])
	} else {
		m[parts[len(parts)-1]] = v
	}
	return q
}

func (q quote) String() string {
	b, _ := json.Marshal(q)
	return string(b)
}

type offerOut struct {
	OfferID           int64          `json:"offerId"`
	ProviderOfferCode string         `json:"providerOfferCode"`
	PremiumAmount     json.Number    `json:"premiumAmount"`
	PremiumAmountNet  json.Number    `json:"premiumAmountNet"`
	Currency          string         `json:"currency"`
	StartDate         string         `json:"startDate"`
	EndDate           string         `json:"endDate"`
	OfferExpiryDate   string         `json:"offerExpiryDate"`
	CommissionPercent json.Number    `json:"commissionPercent"`
	CommissionValue   json.Number    `json:"commissionValue"`
	Coverages         []coverageOut  `json:"coverages"`
	Deductibles       map[string]any `json:"deductibles"`
	Installments      []installOut   `json:"installments"`
}

type coverageOut struct {
	Code          string       `json:"code"`
	IsIncluded    bool         `json:"isIncluded"`
	InsuredSum    *json.Number `json:"insuredSum"`
	PremiumAmount json.Number  `json:"premiumAmount"`
}

type installOut struct {
	ID      int         `json:"id"`
	Amount  json.Number `json:"amount"`
	DueDate string      `json:"dueDate"`
}

func offer(t *testing.T, srv *sandboxtest.Server, tk string, q quote) offerOut {
	t.Helper()
	r := do(t, "POST", srv.CascoURL+"/offer", q.String(), token(tk), jsonBody())
	var d struct {
		Provider struct {
			Organization struct {
				BusinessName string `json:"businessName"`
			} `json:"organization"`
		} `json:"provider"`
		Offers []offerOut `json:"offers"`
	}
	mustCascoOK(t, r, &d)
	if len(d.Offers) != 1 {
		t.Fatalf("offers: got %d, want 1", len(d.Offers))
	}
	prov := q["provider"].(map[string]any)["organization"].(map[string]any)["businessName"]
	if d.Provider.Organization.BusinessName != prov {
		t.Errorf("provider: got %q, want %q", d.Provider.Organization.BusinessName, prov)
	}
	return d.Offers[0]
}

type policyOut struct {
	Provider struct {
		Organization struct {
			BusinessName string `json:"businessName"`
		} `json:"organization"`
	} `json:"provider"`
	PolicyID      int64       `json:"policyId"`
	Series        string      `json:"series"`
	Number        int64       `json:"number"`
	OfferID       int64       `json:"offerId"`
	StartDate     string      `json:"startDate"`
	EndDate       string      `json:"endDate"`
	PremiumAmount json.Number `json:"premiumAmount"`
	Currency      string      `json:"currency"`
	Payment       struct {
		Method         string      `json:"method"`
		Currency       string      `json:"currency"`
		Amount         json.Number `json:"amount"`
		Date           string      `json:"date"`
		DocumentNumber string      `json:"documentNumber"`
	} `json:"payment"`
	Installments []installOut `json:"installments"`
}

func paymentBody(offerID int64, amount, date string) string {
	return `{"offerId": ` + itoa(offerID) + `, "payment": {"method": "broker receipt", "currency": "RON", "amount": ` + amount + `, "date": "` + date + `", "documentNumber": "CH-000042"}}`
}

func issue(t *testing.T, srv *sandboxtest.Server, tk, body string) policyOut {
	t.Helper()
	var d struct {
		Policies []policyOut `json:"policies"`
	}
	mustCascoOK(t, do(t, "POST", srv.CascoURL+"/policy", body, token(tk), jsonBody()), &d)
	if len(d.Policies) != 1 {
		t.Fatalf("policies: got %d, want 1", len(d.Policies))
	}
	return d.Policies[0]
}

// mustFile decodes a files envelope with one PDF and returns its bytes.
func mustFile(t *testing.T, r result, typ, name string) []byte {
	t.Helper()
	var d struct {
		Files []struct {
			Type    string `json:"type"`
			Name    string `json:"name"`
			Content string `json:"content"`
		} `json:"files"`
	}
	mustCascoOK(t, r, &d)
	if len(d.Files) != 1 || d.Files[0].Type != typ || d.Files[0].Name != name {
		t.Fatalf("files: got %+v, want one %s %s", d.Files, typ, name)
	}
	b, err := base64.StdEncoding.DecodeString(d.Files[0].Content)
	if err != nil || !bytes.HasPrefix(b, []byte("%PDF-")) {
		t.Fatalf("content is not a base64 PDF: %v", err)
	}
	return b
}
