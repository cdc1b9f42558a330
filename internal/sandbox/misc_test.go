package sandbox_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"backoffice/internal/sandbox"

	"github.com/ledongthuc/pdf"
)

func assetURLs(t *testing.T, r result) (assets, media []string) {
	t.Helper()
	var p struct {
		Assets []struct{ URL string } `json:"assets"`
		Media  []struct{ URL string } `json:"media"`
	}
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatalf("policy: %v", err)
	}
	for _, a := range p.Assets {
		assets = append(assets, a.URL)
	}
	for _, m := range p.Media {
		media = append(media, m.URL)
	}
	return assets, media
}

// pdfText extracts text with poppler when installed (it keeps diacritics),
// else with the pure-Go reader.
func pdfText(t *testing.T, b []byte) (string, bool) {
	t.Helper()
	if path, err := exec.LookPath("pdftotext"); err == nil {
		f := filepath.Join(t.TempDir(), "doc.pdf")
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(path, "-enc", "UTF-8", f, "-").Output()
		if err != nil {
			t.Fatalf("pdftotext: %v", err)
		}
		return string(out), true
	}
	r, err := pdf.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("pdf: %v", err)
	}
	rd, err := r.GetPlainText()
	if err != nil {
		t.Fatalf("pdf text: %v", err)
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(rd); err != nil {
		t.Fatal(err)
	}
	return buf.String(), false
}

func TestAssets(t *testing.T) {
	srv, clk := start(t, sandbox.Options{AssetURLTTL: 10 * time.Minute})
	pol := do(t, "GET", srv.KaskoURL+"/policies/"+sandbox.FixturePolicyID, "", basic(sandbox.KeyASecretTest), acceptV2())
	assets, media := assetURLs(t, pol)
	if len(assets) != 3 || len(media) != 1 {
		t.Fatalf("got %d assets, %d media", len(assets), len(media))
	}
	for _, u := range append(assets, media...) {
		r := do(t, "GET", u, "") // no API key: signed URLs authorise themselves
		if r.status != 200 || r.header.Get("Content-Type") != "application/pdf" || !bytes.HasPrefix(r.body, []byte("%PDF-")) {
			t.Fatalf("%s: %d %s", u, r.status, r.header.Get("Content-Type"))
		}
		if cd := r.header.Get("Content-Disposition"); !strings.HasPrefix(cd, `attachment; filename="`) || !strings.HasSuffix(cd, `.pdf"`) {
			t.Errorf("Content-Disposition: %q", cd)
		}
		text, full := pdfText(t, r.body)
		want := []string{sandbox.FixtureInsurerPolicyID, "Home Contents Insurance", "paid"}
		if full {
			want = append(want, "Jānis Bērziņš")
		}
		for _, w := range want {
			if !strings.Contains(text, w) {
				t.Errorf("%s: text lacks %q:\n%s", u, w, text)
			}
		}
	}
	t.Run("diacritics of every language", func(t *testing.T) {
		r := do(t, "GET", srv.KaskoURL+"/policies/"+sandbox.FixtureExpiredID, "", basic(sandbox.KeyASecretTest), acceptV2())
		a, _ := assetURLs(t, r)
		text, full := pdfText(t, do(t, "GET", a[0], "").body)
		if full && !strings.Contains(text, "Ștefan Țurcanu") {
			t.Errorf("Romanian name lost:\n%s", text)
		}
	})
	t.Run("tampered", func(t *testing.T) {
		u := assets[0]
		bad := u[:len(u)-1] + string("0123456789abcdef"[(strings.IndexByte("0123456789abcdef", u[len(u)-1])+1)%16])
		wantError(t, do(t, "GET", bad, ""), 403, "Signature does not match.")
		other := strings.Replace(u, "policy_document/Policydoc", "invoice/Invoice", 1)
		wantError(t, do(t, "GET", other, ""), 403, "Signature does not match.")
		wantError(t, do(t, "GET", u[:strings.Index(u, "&signature=")], ""), 403, "Signature does not match.")
		later := strings.Replace(u, "expires=", "expires=9", 1)
		wantError(t, do(t, "GET", later, ""), 403, "Signature does not match.")
	})
	t.Run("expired", func(t *testing.T) {
		clk.Add(5*time.Minute - time.Second)
		if r := do(t, "GET", assets[0], ""); r.status != 200 {
			t.Fatalf("link must live at least TTL/2: got %d", r.status)
		}
		clk.Add(10 * time.Minute)
		wantError(t, do(t, "GET", assets[0], ""), 403, "Request has expired.")
		fresh, _ := assetURLs(t, do(t, "GET", srv.KaskoURL+"/policies/"+sandbox.FixturePolicyID, "", basic(sandbox.KeyASecretTest), acceptV2()))
		if fresh[0] == assets[0] {
			t.Errorf("cached JSON kept an expired link")
		}
		if r := do(t, "GET", fresh[0], ""); r.status != 200 {
			t.Errorf("fresh link: %d", r.status)
		}
	})
}

func TestProtocolErrors(t *testing.T) {
	srv, _ := start(t, sandbox.Options{MaxBodyBytes: 64})
	key := basic(sandbox.KeyASecretTest)
	r := do(t, "DELETE", srv.KaskoURL+"/policies/"+sandbox.FixturePolicyID, "", key)
	wantError(t, r, 405, "Method DELETE is not allowed here; allowed: GET, HEAD.")
	if r.header.Get("Allow") != "GET, HEAD" {
		t.Errorf("Allow: %q", r.header.Get("Allow"))
	}
	r = do(t, "GET", cancelURL(srv.KaskoURL, sandbox.FixturePolicyID), "", key)
	wantError(t, r, 405, "Method GET is not allowed here; allowed: POST.")
	wantError(t, do(t, "GET", srv.URL+"/kasko/nothing", "", key), 404, "No route matches GET /kasko/nothing.")
	wantError(t, do(t, "GET", srv.URL+"/kasko/policies/", "", key), 404, "No route matches GET /kasko/policies/.")
	big := `{"cancellation_reason":"` + strings.Repeat("x", 100) + `","termination_date":"2026-12-01"}`
	wantError(t, do(t, "POST", cancelURL(srv.KaskoURL, sandbox.FixturePolicyID), big, key, acceptV2(), header("If-Match", sandbox.FixtureVersionID)),
		413, "Request body exceeds 64 bytes.")
	wantPushError(t, do(t, "POST", srv.PushURL+"/", big, key, header("Content-Type", "application/json")), 413, "Request Entity Too Large: Request body exceeds 64 bytes.")
	if r := do(t, "HEAD", srv.KaskoURL+"/policies/"+sandbox.FixturePolicyID, "", key); r.status != 200 {
		t.Errorf("HEAD: %d", r.status)
	}
	seen := map[string]bool{}
	for range 20 {
		id := do(t, "GET", srv.URL+"/nope", "").header.Get("X-Request-Id")
		if seen[id] {
			t.Fatalf("request id %s repeated", id)
		}
		seen[id] = true
	}
}

func TestFaults(t *testing.T) {
	srv, _ := start(t, sandbox.Options{})
	key := basic(sandbox.KeyASecretTest)
	one := srv.KaskoURL + "/policies/" + sandbox.FixturePolicyID
	srv.Sandbox.SetFaults(sandbox.Faults{Latency: 150 * time.Millisecond})
	t0 := time.Now()
	if r := do(t, "GET", one, "", key, acceptV2()); r.status != 200 {
		t.Errorf("latency answer: %d", r.status)
	}
	if d := time.Since(t0); d < 150*time.Millisecond {
		t.Errorf("latency: answered in %v", d)
	}
	t0 = time.Now()
	do(t, "GET", srv.URL+"/_sandbox", "")
	if d := time.Since(t0); d > 100*time.Millisecond {
		t.Errorf("/_sandbox must not be delayed: %v", d)
	}
	srv.Sandbox.SetFaults(sandbox.Faults{ErrorRate: 1})
	for range 10 {
		r := do(t, "GET", one, "", key, acceptV2())
		if r.status != 500 && r.status != 502 && r.status != 503 {
			t.Fatalf("error rate 1: got %d", r.status)
		}
		wantError(t, r, r.status, "Injected fault: the upstream failed to answer.")
	}
	r := do(t, "POST", srv.PushURL+"/", "{}", key, header("Content-Type", "application/json"))
	wantPushError(t, r, r.status, http.StatusText(r.status)+": Injected fault: the upstream failed to answer.")
	srv.Sandbox.SetFaults(sandbox.Faults{MalformedRate: 1})
	for range 10 {
		r := do(t, "GET", one, "", key, acceptV2())
		if r.status != 200 || json.Valid(r.body) {
			t.Fatalf("malformed: status %d, valid JSON %v", r.status, json.Valid(r.body))
		}
	}
	if r := do(t, "GET", one+"x", "", key, acceptV2()); r.status != 404 || !json.Valid(r.body) {
		t.Errorf("malformed must leave non-200 answers alone: %d", r.status)
	}
	t.Run("PUT /_sandbox/faults", func(t *testing.T) {
		r := do(t, "PUT", srv.URL+"/_sandbox/faults", `{"latency":"0s","malformed_rate":0,"error_rate":0.25,"fail_cancellations":true}`)
		if r.status != 200 {
			t.Fatalf("got %d: %s", r.status, r.body)
		}
		f := srv.Sandbox.Faults()
		if !reflect.DeepEqual(f, sandbox.Faults{ErrorRate: 0.25, FailCancellations: true}) {
			t.Errorf("faults: %+v", f)
		}
		wantError(t, do(t, "PUT", srv.URL+"/_sandbox/faults", `{"latency":"soon"}`), 400, `latency: "soon" is not a Go duration.`)
		wantError(t, do(t, "PUT", srv.URL+"/_sandbox/faults", `{"error_rate":2}`), 400, "error rate must be within 0..1.")
		if got := srv.Sandbox.Faults(); !reflect.DeepEqual(got, f) {
			t.Errorf("bad PUT changed faults: %+v", got)
		}
	})
}

func TestInfo(t *testing.T) {
	srv, _ := start(t, sandbox.Options{})
	var info struct {
		KaskoAPIURL    string                 `json:"kasko_api_url"`
		KaskoPushURL   string                 `json:"kasko_push_url"`
		CascoAPIURL    string                 `json:"casco_api_url"`
		CascoAccounts  []sandbox.CascoAccount `json:"casco_accounts"`
		CascoTokenTTL  string                 `json:"casco_token_ttl"`
		Credentials    []sandbox.Credential   `json:"credentials"`
		SortableFields []string               `json:"sortable_fields"`
		Faults         map[string]any         `json:"faults"`
		Calls          map[string]int         `json:"calls"`
	}
	do(t, "GET", srv.KaskoURL+"/policies/"+sandbox.FixturePolicyID, "", basic(sandbox.KeyASecretTest), acceptV2())
	r := do(t, "GET", srv.URL+"/_sandbox", "")
	if err := json.Unmarshal(r.body, &info); err != nil || r.status != 200 {
		t.Fatalf("info: %d %v", r.status, err)
	}
	if info.KaskoAPIURL != srv.KaskoURL || info.KaskoPushURL != srv.PushURL || info.CascoAPIURL != srv.CascoURL || info.CascoTokenTTL != "5m0s" ||
		len(info.Credentials) != 6 || len(info.SortableFields) != 8 || info.Faults["latency"] != "0s" ||
		info.Calls[sandbox.RouteGetPolicy] != 1 || info.Calls[sandbox.RouteInfo] != 1 {
		t.Errorf("info: %+v", info)
	}
	wantAccounts := []sandbox.CascoAccount{
		{Account: sandbox.CascoDemoAccount, Password: sandbox.CascoDemoPassword, Name: "Demo Broker SRL"},
		{Account: sandbox.CascoPartnerAccount, Password: sandbox.CascoPartnerPassword, Name: "Transilvania Asigurări Broker SRL"},
	}
	if !reflect.DeepEqual(info.CascoAccounts, wantAccounts) || !reflect.DeepEqual(srv.Sandbox.CascoAccounts(), wantAccounts) {
		t.Errorf("casco accounts: %+v", info.CascoAccounts)
	}
	if got := srv.Sandbox.Credentials(); len(got) != 6 || got[0] != info.Credentials[0] || got[0].Kind != "secret" || got[0].Mode != "test" || got[0].DistributorName != sandbox.DistributorAName {
		t.Errorf("credentials: %+v", got)
	}
}

func TestDeterminismAndCalls(t *testing.T) {
	clk := newClock()
	page := func(seed int64) []byte {
		sb, err := sandbox.New(sandbox.Options{Seed: seed, Policies: 500, Now: clk.Now, BaseURL: "http://sandbox.test"})
		if err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest("GET", "/kasko/policies?limit=50", nil)
		req.SetBasicAuth(sandbox.KeyASecretTest, "")
		req.Header.Set("Accept", v2)
		rec := httptest.NewRecorder()
		sb.ServeHTTP(rec, req)
		if rec.Code != 200 || sb.Calls(sandbox.RouteListPolicies) != 1 || sb.Calls(sandbox.RouteGetPolicy) != 0 {
			t.Fatalf("list: %d, calls %d", rec.Code, sb.Calls(sandbox.RouteListPolicies))
		}
		return rec.Body.Bytes()
	}
	a, b, c := page(7), page(7), page(8)
	if !bytes.Equal(a, b) {
		t.Errorf("same seed gave different pages")
	}
	if bytes.Equal(a, c) {
		t.Errorf("different seeds gave the same page")
	}
	if !bytes.Contains(a, []byte("http://sandbox.test/kasko/policies/")) {
		t.Errorf("BaseURL not used in links")
	}
}

func TestOptionsFromEnv(t *testing.T) {
	cases := []struct {
		name    string
		env     map[string]string
		want    sandbox.Options
		wantErr string
	}{
		{"defaults", nil, sandbox.Options{CancelDelay: sandbox.DefaultCancelDelay}, ""},
		{"all", map[string]string{"SANDBOX_SEED": "9", "SANDBOX_POLICIES": "200000", "SANDBOX_CANCEL_DELAY": "0s", "SANDBOX_ASSET_TTL": "1h",
			"SANDBOX_BASE_URL": "http://localhost:8090", "SANDBOX_LATENCY": "20ms", "SANDBOX_ERROR_RATE": "0.1", "SANDBOX_MALFORMED_RATE": "0.05",
			"SANDBOX_FAIL_CANCELLATIONS": "true"},
			sandbox.Options{Seed: 9, Policies: 200000, CancelDelay: 0, AssetURLTTL: time.Hour, BaseURL: "http://localhost:8090",
				Faults: sandbox.Faults{Latency: 20 * time.Millisecond, ErrorRate: 0.1, MalformedRate: 0.05, FailCancellations: true}}, ""},
		{"bad seed", map[string]string{"SANDBOX_SEED": "x"}, sandbox.Options{}, "SANDBOX_SEED"},
		{"few policies", map[string]string{"SANDBOX_POLICIES": "3"}, sandbox.Options{}, "SANDBOX_POLICIES"},
		{"bad delay", map[string]string{"SANDBOX_CANCEL_DELAY": "2"}, sandbox.Options{}, "SANDBOX_CANCEL_DELAY"},
		{"bad ttl", map[string]string{"SANDBOX_ASSET_TTL": "-1m"}, sandbox.Options{}, "SANDBOX_ASSET_TTL"},
		{"bad base", map[string]string{"SANDBOX_BASE_URL": "localhost:8090"}, sandbox.Options{}, "SANDBOX_BASE_URL"},
		{"bad latency", map[string]string{"SANDBOX_LATENCY": "fast"}, sandbox.Options{}, "SANDBOX_LATENCY"},
		{"bad error rate", map[string]string{"SANDBOX_ERROR_RATE": "1.5"}, sandbox.Options{}, "SANDBOX_ERROR_RATE"},
		{"bad malformed rate", map[string]string{"SANDBOX_MALFORMED_RATE": "x"}, sandbox.Options{}, "SANDBOX_MALFORMED_RATE"},
		{"bad bool", map[string]string{"SANDBOX_FAIL_CANCELLATIONS": "maybe"}, sandbox.Options{}, "SANDBOX_FAIL_CANCELLATIONS"},
		{"reference date", map[string]string{"SANDBOX_REFERENCE_DATE": "2026-03-17"},
			sandbox.Options{CancelDelay: sandbox.DefaultCancelDelay, ReferenceDate: time.Date(2026, 3, 17, 0, 0, 0, 0, time.UTC)}, ""},
		{"bad reference date", map[string]string{"SANDBOX_REFERENCE_DATE": "2026-3-17"}, sandbox.Options{}, "SANDBOX_REFERENCE_DATE"},
		{"early reference date", map[string]string{"SANDBOX_REFERENCE_DATE": "1999-12-31"}, sandbox.Options{}, "SANDBOX_REFERENCE_DATE"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := sandbox.OptionsFromEnv(func(k string) string { return tc.env[k] })
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want an error naming %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Seed != tc.want.Seed || got.Policies != tc.want.Policies || got.CancelDelay != tc.want.CancelDelay ||
				got.AssetURLTTL != tc.want.AssetURLTTL || got.BaseURL != tc.want.BaseURL || !reflect.DeepEqual(got.Faults, tc.want.Faults) ||
				!got.ReferenceDate.Equal(tc.want.ReferenceDate) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	for _, o := range []sandbox.Options{{Policies: 5}, {CancelDelay: -1}, {AssetURLTTL: time.Second}, {Faults: sandbox.Faults{ErrorRate: 2}},
		{ReferenceDate: time.Date(1999, 12, 31, 0, 0, 0, 0, time.UTC)}} {
		if _, err := sandbox.New(o); err == nil {
			t.Errorf("New(%+v): want an error", o)
		}
	}
}
