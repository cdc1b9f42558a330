package casco_test

// Round trips against the sandbox over real HTTP: every endpoint and every
// error the sandbox can be made to produce. The tests talk to the sandbox
// only through HTTP (its accounts come from GET /_sandbox, faults are set
// with PUT /_sandbox/faults), so they depend on the contract, not on the
// sandbox's Go API.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"backoffice/apiclient"
	"backoffice/apiclient/casco"
	"backoffice/internal/sandbox"
	"backoffice/internal/sandbox/sandboxtest"
)

type sandboxEnv struct {
	srv      *sandboxtest.Server
	clk      *clock
	base     string // CascoApi base URL
	accounts []struct {
		Account  string `json:"account"`
		Password string `json:"password"`
		Name     string `json:"name"`
	}
	tokenTTL time.Duration
}

func startSandbox(t *testing.T) *sandboxEnv {
	t.Helper()
	clk := newClock()
	srv := sandboxtest.Start(t, sandbox.Options{Policies: sandbox.MinPolicies, Now: clk.Now})
	env := &sandboxEnv{srv: srv, clk: clk, base: srv.URL + "/casco"}
	resp, err := http.Get(srv.URL + "/_sandbox")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var info struct {
		Accounts json.RawMessage `json:"casco_accounts"`
		TokenTTL string          `json:"casco_token_ttl"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&info); err != nil {
		t.Fatal(err)
	}
	if json.Unmarshal(info.Accounts, &env.accounts) != nil || len(env.accounts) < 2 {
		t.Skip("sandbox lacks casco_accounts in GET /_sandbox: CascoApi not served yet")
	}
	env.tokenTTL, _ = time.ParseDuration(info.TokenTTL)
	if env.tokenTTL <= 0 {
		env.tokenTTL = 5 * time.Minute
	}
	return env
}

func (e *sandboxEnv) client(t *testing.T, opts ...casco.Option) *casco.Client {
	t.Helper()
	return mustNew(t, e.base, append([]casco.Option{casco.WithClock(e.clk.Now)}, opts...)...)
}

// login signs in with demo account i.
func (e *sandboxEnv) login(t *testing.T, c *casco.Client, i int) *casco.Session {
	t.Helper()
	s, err := c.Login(context.Background(), e.accounts[i].Account, e.accounts[i].Password)
	if err != nil {
		skipIfMissing(t, err, "POST /auth")
		t.Fatalf("Login(%s): %v", e.accounts[i].Account, err)
	}
	return s
}

func (e *sandboxEnv) calls(route string) int { return e.srv.Sandbox.Calls(route) }

// faults sets sandbox faults through its admin endpoint.
func (e *sandboxEnv) faults(t *testing.T, body string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, e.srv.URL+"/_sandbox/faults", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Skipf("sandbox lacks fault %s: %d %s", body, resp.StatusCode, b)
	}
}

// skipIfMissing skips when the sandbox answers that it does not serve the
// endpoint yet (501, or a 404 outside the CascoApi envelope).
func skipIfMissing(t *testing.T, err error, what string) {
	t.Helper()
	var e *apiclient.Error
	if errors.As(err, &e) && (e.StatusCode == http.StatusNotImplemented ||
		e.StatusCode == http.StatusNotFound && strings.HasSuffix(e.Message, "(no error message from upstream)")) {
		t.Skipf("sandbox lacks %s: %v", what, err)
	}
}

// wantAPIError checks an error's kind, status and message.
func wantAPIError(t *testing.T, err error, kind error, status int, msgPart string) *apiclient.Error {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("got %v, want %v", err, kind)
	}
	e := mustAPIError(t, err)
	if e.StatusCode != status {
		t.Errorf("status: got %d, want %d (%v)", e.StatusCode, status, err)
	}
	if !strings.Contains(e.Message, msgPart) {
		t.Errorf("message: got %q, want it to contain %q", e.Message, msgPart)
	}
	if status != 0 && e.RequestID == "" {
		t.Errorf("request id: got empty (%v)", err)
	}
	if e.Upstream != "casco" {
		t.Errorf("upstream: got %q, want casco", e.Upstream)
	}
	return e
}

// readmeQuote is the README's worked price example: groupama, market
// value 100000.00, built 2020, start in 2026, 103 kW, Cluj, holder born
// 1990, deductibles 500 / 20 %, one installment, 12 months → 5123.25.
func readmeQuote() casco.QuoteRequest {
	q := sampleQuote()
	q.Product.Coverages = nil
	q.Product.Policyholder.TaxID = "1900101125804"
	q.Product.Vehicle.EnginePower = 103
	return q
}

func TestSandboxAuthLifecycle(t *testing.T) {
	env := startSandbox(t)
	var logs bytes.Buffer
	c := env.client(t, casco.WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	ctx := context.Background()

	_, err := c.Login(ctx, env.accounts[0].Account, "wrong-password-123")
	skipIfMissing(t, err, "POST /auth")
	wantAPIError(t, err, casco.ErrInvalidCredentials, 401, "Invalid credentials")
	if !errors.Is(err, apiclient.ErrUnauthorized) {
		t.Errorf("wrong password: %v does not match ErrUnauthorized", err)
	}

	s := env.login(t, c, 0)
	first := s.Tokens()
	if want := env.clk.Now().Add(env.tokenTTL); !first.ExpiresAt.Equal(want) {
		t.Errorf("ExpiresAt: got %v, want %v (JWT exp and Bucharest expires_at agree)", first.ExpiresAt, want)
	}
	if _, err := s.Counties(ctx); err != nil {
		t.Fatal(err)
	}
	var hooked []casco.Tokens
	s.OnRenew(func(tk casco.Tokens) { hooked = append(hooked, tk) })

	// Shortly before expiry, the next call renews first.
	env.clk.Advance(env.tokenTTL - 30*time.Second)
	if _, err := s.Counties(ctx); err != nil {
		t.Fatal(err)
	}
	if got := env.calls("PATCH /casco/auth"); got != 1 {
		t.Errorf("PATCH calls: got %d, want 1", got)
	}
	second := s.Tokens()
	if second.Token == first.Token || second.RefreshToken == first.RefreshToken || len(hooked) != 1 || hooked[0] != second {
		t.Errorf("renewal: tokens %+v, hooks %d", second, len(hooked))
	}

	// The rotated-away refresh token is dead upstream: a session resumed
	// from it by another process (its own client) cannot renew.
	other := env.client(t)
	stale, err := other.Resume(first)
	if err != nil {
		t.Fatal(err)
	}
	env.clk.Advance(time.Minute) // first token now expired
	_, err = stale.Counties(ctx)
	wantAPIError(t, err, casco.ErrSessionExpired, 401, "Invalid refresh token")

	// The same client remembers the rotation: resuming the old tokens
	// adopts the new ones without a PATCH.
	same, err := c.Resume(first)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := same.Counties(ctx); err != nil {
		t.Errorf("resume of rotated tokens on the same client: %v", err)
	}
	if same.Tokens() != s.Tokens() {
		t.Errorf("resumed session: got %+v, want %+v", same.Tokens(), s.Tokens())
	}

	if err := s.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	if got := env.calls("DELETE /casco/auth"); got != 1 {
		t.Errorf("DELETE calls: got %d, want 1", got)
	}
	// Revoked upstream: a session rebuilt from the tokens is over.
	fresh := env.client(t)
	revoked, err := fresh.Resume(second)
	if err != nil {
		t.Fatal(err)
	}
	_, err = revoked.Counties(ctx)
	wantAPIError(t, err, casco.ErrSessionExpired, 401, "")

	for _, secret := range []string{env.accounts[0].Password, "wrong-password-123", first.Token, first.RefreshToken, second.Token, second.RefreshToken} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("secret %.10s… in logs", secret)
		}
	}
}

// TestSandboxExpiredTokenForcesRenewal: the sandbox expires every access
// token; the next call gets a 401, renews once and is retried.
func TestSandboxExpiredTokenForcesRenewal(t *testing.T) {
	env := startSandbox(t)
	s := env.login(t, env.client(t), 0)
	before := s.Tokens()
	env.faults(t, `{"expire_casco_tokens": true}`)
	makes, err := s.VehicleMakes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(makes) == 0 || env.calls("PATCH /casco/auth") != 1 || s.Tokens().Token == before.Token {
		t.Errorf("got %d makes, %d PATCHes, token changed %v", len(makes), env.calls("PATCH /casco/auth"), s.Tokens().Token != before.Token)
	}
	if got := env.calls("GET /casco/nomenclature/vehicle-make"); got != 2 {
		t.Errorf("make calls: got %d, want 2 (the 401 and the retry)", got)
	}
}

// TestSandboxConcurrentRenewal: forty calls with an expired token share a
// single PATCH; the sandbox's rotation would fail a second one.
func TestSandboxConcurrentRenewal(t *testing.T) {
	env := startSandbox(t)
	c := env.client(t)
	s := env.login(t, c, 0)
	stored := s.Tokens()
	env.clk.Advance(env.tokenTTL + time.Second)
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() {
			sess := s
			if i%2 == 1 {
				// Half of them rebuild the session from the store, as
				// dashboard requests do.
				var err error
				if sess, err = c.Resume(stored); err != nil {
					t.Error(err)
					return
				}
			}
			if _, err := sess.Counties(context.Background()); err != nil {
				t.Errorf("call %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if got := env.calls("PATCH /casco/auth"); got != 1 {
		t.Errorf("PATCH calls: got %d, want 1", got)
	}
}

func TestSandboxNomenclature(t *testing.T) {
	env := startSandbox(t)
	s := env.login(t, env.client(t), 0)
	ctx := context.Background()

	countries, err := s.Countries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ro *casco.Country
	for i := range countries {
		if countries[i].ISO2 == "RO" {
			ro = &countries[i]
		}
	}
	if len(countries) < 200 || ro == nil || ro.ISO3 != "ROU" || ro.NameRO != "România" || ro.ID != 642 {
		t.Errorf("countries: got %d, RO %+v", len(countries), ro)
	}

	counties, err := s.Counties(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var cj *casco.County
	for i := range counties {
		if counties[i].Code == "CJ" {
			cj = &counties[i]
		}
	}
	if len(counties) != 42 || cj == nil || cj.Name != "CLUJ" || cj.Siruta == 0 || cj.Country != "RO" {
		t.Errorf("counties: got %d, CJ %+v", len(counties), cj)
	}

	locs, err := s.Localities(ctx, "CJ")
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for i, l := range locs {
		if l.CountyCode != "CJ" || l.Siruta == 0 || l.Name == "" {
			t.Errorf("locality %d: %+v", i, l)
			break
		}
		if i > 0 && l.Rang < locs[i-1].Rang {
			t.Errorf("localities not sorted by rang at %d", i)
			break
		}
		found = found || l.Name == "CLUJ-NAPOCA"
	}
	if len(locs) < 50 || !found {
		t.Errorf("localities of CJ: got %d, Cluj-Napoca found %v", len(locs), found)
	}
	for _, code := range []string{"ZZ", "12"} {
		if locs, err := s.Localities(ctx, code); err != nil || len(locs) != 0 {
			t.Errorf("localities of %s: got %d, %v; want an empty list", code, len(locs), err)
		}
	}

	makes, err := s.VehicleMakes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, m := range makes {
		names[m.Name] = true
	}
	if !names["Toyota"] || !names["Land Rover"] {
		t.Errorf("makes: got %d, want Toyota and Land Rover among them", len(makes))
	}
	for _, mk := range []string{"Land Rover", "skoda", "Toyota"} {
		models, err := s.VehicleModels(ctx, mk)
		if err != nil || len(models) == 0 {
			t.Errorf("models of %s: got %d, %v", mk, len(models), err)
			continue
		}
		if models[0].Name == "" || models[0].ID == 0 {
			t.Errorf("models of %s: got %+v", mk, models[0])
		}
	}
	if models, err := s.VehicleModels(ctx, "No Such Make"); err != nil || len(models) != 0 {
		t.Errorf("unknown make: got %d, %v; want an empty list", len(models), err)
	}
}

func TestSandboxIdentifyVehicle(t *testing.T) {
	env := startSandbox(t)
	s := env.login(t, env.client(t), 0)
	ctx := context.Background()
	market := casco.MustParseDecimal("100000.00")
	req := casco.VehicleIdentificationRequest{VIN: "1HGCM82633A123456", MotorSeries: "e2007", VehicleType: "M1",
		Brand: "Toyota", Model: "Corolla", YearOfConstruction: 2020, EngineDisplacement: 1800, EnginePower: 140,
		TotalWeight: 1500, Seats: 5, FuelType: "petrol", CurrentMileage: 120000, Color: "white", MarketValue: &market}
	id, err := s.IdentifyVehicle(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if id.VehicleCode != "TOY-COROLLA-2020-1800-P" || id.Confidence != "exact" || id.Brand != "Toyota" || id.RequestID == "" {
		t.Errorf("identification: got %+v", id)
	}

	unknown := req
	unknown.Brand, unknown.Model = "Trabant", "601"
	_, err = s.IdentifyVehicle(ctx, unknown)
	wantAPIError(t, err, apiclient.ErrNotFound, 404, "Vehicle could not be identified")

	future := req
	future.YearOfConstruction = 2099
	_, err = s.IdentifyVehicle(ctx, future)
	e := wantAPIError(t, err, apiclient.ErrBadRequest, 400, "VALIDATION_ERROR")
	if len(e.Fields["yearOfConstruction"]) == 0 || errors.Is(err, casco.ErrProvider) {
		t.Errorf("fields: got %v", e.Fields)
	}
}

// TestSandboxQuoteToPolicy runs the whole sale: quote, offer PDF, issue,
// policy PDF, and the errors of a second issue and of another account.
func TestSandboxQuoteToPolicy(t *testing.T) {
	env := startSandbox(t)
	c := env.client(t)
	s := env.login(t, c, 0)
	ctx := context.Background()

	q, err := s.Quote(ctx, readmeQuote())
	skipIfMissing(t, err, "POST /offer")
	if err != nil {
		t.Fatal(err)
	}
	if len(q.Offers) != 1 || q.Provider.Organization.BusinessName != "groupama" || q.RequestID == "" {
		t.Fatalf("quote: got %+v", q)
	}
	o := q.Offers[0]
	if o.PremiumAmount.String() != "5123.25" || o.CommissionValue.String() != "614.79" || o.PremiumAmountNet.String() != "4508.46" ||
		o.Currency != "RON" || o.StartDate != "2026-09-15" || o.EndDate != "2027-09-14" || len(o.Installments) != 1 ||
		!o.Installments[0].Amount.Equal(o.PremiumAmount) || o.OfferID <= 0 {
		t.Errorf("offer: got %+v (premium %s, commission %s, net %s)", o, o.PremiumAmount, o.CommissionValue, o.PremiumAmountNet)
	}

	doc, err := s.OfferDocument(ctx, o.OfferID)
	skipIfMissing(t, err, "GET /offer/{id}")
	if err != nil {
		t.Fatal(err)
	}
	pdf, err := io.ReadAll(doc)
	doc.Close()
	if err != nil || !bytes.HasPrefix(pdf, []byte("%PDF-")) || doc.Type != "Offer" || doc.Name == "" {
		t.Errorf("offer PDF: %d bytes, %v, type %q, name %q", len(pdf), err, doc.Type, doc.Name)
	}

	payment := casco.Payment{Method: casco.PaymentBrokerReceipt, Currency: "RON", Amount: o.PremiumAmount,
		Date: "2026-09-03", DocumentNumber: "CH-000042"}
	issued, err := s.IssuePolicy(ctx, casco.PolicyRequest{OfferID: o.OfferID, Payment: payment})
	skipIfMissing(t, err, "POST /policy")
	if err != nil {
		t.Fatal(err)
	}
	p := issued.Policies[0]
	if p.Series != "GRP/CL" || p.Number <= 0 || p.PolicyID <= 0 || p.PremiumAmount.String() != "5123.25" ||
		p.Payment == nil || p.Payment.Method != casco.PaymentBrokerReceipt || issued.RequestID == "" {
		t.Errorf("policy: got %+v", issued)
	}

	doc, err = s.PolicyDocument(ctx, p.Series, p.Number)
	skipIfMissing(t, err, "GET /policy")
	if err != nil {
		t.Fatal(err)
	}
	pdf, err = io.ReadAll(doc)
	doc.Close()
	if err != nil || !bytes.HasPrefix(pdf, []byte("%PDF-")) || doc.Type != "Policy" || !strings.HasPrefix(doc.Name, "policy-GRP-CL-") {
		t.Errorf("policy PDF: %d bytes, %v, type %q, name %q", len(pdf), err, doc.Type, doc.Name)
	}

	_, err = s.IssuePolicy(ctx, casco.PolicyRequest{OfferID: o.OfferID, Payment: payment})
	wantAPIError(t, err, casco.ErrProvider, 400, "Policy already issued for this offer")

	// Another account sees none of it.
	other := env.login(t, c, 1)
	_, err = other.OfferDocument(ctx, o.OfferID)
	wantAPIError(t, err, apiclient.ErrNotFound, 404, "Offer not found")
	_, err = other.PolicyDocument(ctx, p.Series, p.Number)
	wantAPIError(t, err, apiclient.ErrNotFound, 404, "Policy not found")
	_, err = other.IssuePolicy(ctx, casco.PolicyRequest{OfferID: o.OfferID, Payment: payment})
	wantAPIError(t, err, apiclient.ErrNotFound, 404, "Offer not found")
}

func TestSandboxQuoteErrors(t *testing.T) {
	env := startSandbox(t)
	c := env.client(t)
	s := env.login(t, c, 0)
	ctx := context.Background()
	if _, err := s.Quote(ctx, readmeQuote()); err != nil {
		skipIfMissing(t, err, "POST /offer")
		t.Fatal(err)
	}

	noVIN := readmeQuote()
	noVIN.Product.Vehicle.VIN = ""
	noVIN.Product.Policyholder.Birthdate = ""
	_, err := s.Quote(ctx, noVIN)
	e := wantAPIError(t, err, apiclient.ErrBadRequest, 400, "VALIDATION_ERROR")
	if len(e.Fields["product.vehicle.vin"]) == 0 || len(e.Fields["product.policyholder.birthdate"]) == 0 || errors.Is(err, casco.ErrProvider) {
		t.Errorf("fields: got %v", e.Fields)
	}

	env.faults(t, `{"casco_validation_field": "product.policyholder.address.floor"}`)
	_, err = s.Quote(ctx, readmeQuote())
	e = wantAPIError(t, err, apiclient.ErrBadRequest, 400, "VALIDATION_ERROR")
	if len(e.Fields["product.policyholder.address.floor"]) == 0 {
		t.Errorf("fault field: got %v", e.Fields)
	}
	env.faults(t, `{"casco_validation_field": ""}`)

	env.faults(t, `{"casco_unavailable": ["groupama"]}`)
	_, err = s.Quote(ctx, readmeQuote())
	wantAPIError(t, err, casco.ErrProvider, 400, "Product unavailable")
	if !errors.Is(err, apiclient.ErrBadRequest) {
		t.Errorf("unavailable: %v does not match ErrBadRequest", err)
	}
	if err := s.SetLanguage("ro"); err != nil {
		t.Fatal(err)
	}
	_, err = s.Quote(ctx, readmeQuote())
	wantAPIError(t, err, casco.ErrProvider, 400, "Produs indisponibil")
	// Another insurer still quotes.
	generali := readmeQuote()
	generali.Provider.Organization.BusinessName = casco.ProviderGenerali
	if q, err := s.Quote(ctx, generali); err != nil || len(q.Offers) != 1 {
		t.Errorf("generali while groupama is down: got %v", err)
	}
	env.faults(t, `{"casco_unavailable": []}`)
	if err := s.SetLanguage(""); err != nil {
		t.Fatal(err)
	}

	old := readmeQuote()
	old.Product.Vehicle.YearOfConstruction = 2010
	_, err = s.Quote(ctx, old)
	wantAPIError(t, err, casco.ErrProvider, 400, "Vehicle too old")
}

// TestSandboxQuoteAll asks every insurer at once with one of them
// switched off: its result carries ErrProvider, the others quote, and the
// expired token is renewed once for all of them.
func TestSandboxQuoteAll(t *testing.T) {
	env := startSandbox(t)
	s := env.login(t, env.client(t), 0)
	env.faults(t, `{"casco_unavailable": ["allianz"]}`)
	env.clk.Advance(env.tokenTTL)
	var reqs []casco.QuoteRequest
	for _, p := range []string{casco.ProviderGenerali, casco.ProviderGroupama, casco.ProviderAllianz, casco.ProviderEazyInsure} {
		q := readmeQuote()
		q.Provider.Organization.BusinessName = p
		reqs = append(reqs, q)
	}
	results := s.QuoteAll(context.Background(), reqs)
	if len(results) != 4 {
		t.Fatalf("results: got %d, want 4", len(results))
	}
	for i, r := range results {
		if r.Provider != reqs[i].Provider.Organization.BusinessName {
			t.Errorf("result %d: provider %q, want %q", i, r.Provider, reqs[i].Provider.Organization.BusinessName)
		}
		if r.Provider == casco.ProviderAllianz {
			if r.Quote != nil || !errors.Is(r.Err, casco.ErrProvider) {
				t.Errorf("allianz: got %+v, want ErrProvider", r)
			}
			continue
		}
		skipIfMissing(t, r.Err, "POST /offer")
		if r.Err != nil || len(r.Quote.Offers) != 1 || r.Quote.Provider.Organization.BusinessName != r.Provider {
			t.Errorf("%s: got %+v", r.Provider, r)
		}
	}
	if got := results[1].Quote.Offers[0].PremiumAmount.String(); got != "5123.25" {
		t.Errorf("groupama premium: got %s, want 5123.25", got)
	}
	if got := env.calls("PATCH /casco/auth"); got != 1 {
		t.Errorf("PATCH calls: got %d, want 1", got)
	}
}

func TestSandboxIssueErrors(t *testing.T) {
	env := startSandbox(t)
	c := env.client(t)
	s := env.login(t, c, 0)
	ctx := context.Background()
	q, err := s.Quote(ctx, readmeQuote())
	skipIfMissing(t, err, "POST /offer")
	if err != nil {
		t.Fatal(err)
	}
	o := q.Offers[0]
	pay := func(amount string) casco.PolicyRequest {
		return casco.PolicyRequest{OfferID: o.OfferID, Payment: casco.Payment{Method: casco.PaymentPOS, Currency: "RON",
			Amount: casco.MustParseDecimal(amount), Date: "2026-09-03"}}
	}

	_, err = s.IssuePolicy(ctx, pay("5123.24"))
	skipIfMissing(t, err, "POST /policy")
	e := wantAPIError(t, err, apiclient.ErrBadRequest, 400, "VALIDATION_ERROR")
	if len(e.Fields["payment.amount"]) == 0 {
		t.Errorf("fields: got %v", e.Fields)
	}

	unknown := pay("5123.25")
	unknown.OfferID = 1
	_, err = s.IssuePolicy(ctx, unknown)
	wantAPIError(t, err, apiclient.ErrNotFound, 404, "Offer not found")

	_, err = s.OfferDocument(ctx, 1)
	wantAPIError(t, err, apiclient.ErrNotFound, 404, "Offer not found")
	_, err = s.PolicyDocument(ctx, "GRP/CL", 1)
	wantAPIError(t, err, apiclient.ErrNotFound, 404, "Policy not found")

	// Past its expiry day the offer cannot be issued. The clock jump
	// outlives the refresh token too: sign in again.
	env.clk.Advance(13 * 24 * time.Hour)
	_, err = s.IssuePolicy(ctx, pay("5123.25"))
	wantAPIError(t, err, casco.ErrSessionExpired, 401, "")
	s = env.login(t, c, 0)
	_, err = s.IssuePolicy(ctx, pay("5123.25"))
	wantAPIError(t, err, casco.ErrProvider, 400, "Offer expired")
}
