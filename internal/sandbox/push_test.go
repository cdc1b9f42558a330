package sandbox_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"backoffice/internal/sandbox"
)

var uuidV1 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-1[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestPushCreatesPolicy(t *testing.T) {
	srv, clk := start(t, sandbox.Options{})
	json := header("Content-Type", "application/json")
	for _, tc := range []struct {
		name, start, wantStart string
		key                    string
		wantPrefix             string
	}{
		{"date", "2026-12-01", "2026-11-30T23:00:00+00:00", sandbox.KeyASecretTest, "tpol_"},
		{"date-time", "2017-02-13T10:34:39+00:00", "2017-02-12T23:00:00+00:00", sandbox.KeyASecretTest, "tpol_"},
		{"live key", "2026-12-01", "2026-11-30T23:00:00+00:00", sandbox.KeyASecretLive, "lpol_"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk.Add(time.Second) // the new policy must be the newest
			body := `{"variant_id":"` + sandbox.ARAGVariantID + `","input":{"first_name":"Jörg","last_name":"Weiß","email":"joerg@example.com","data":{"start_date":"` + tc.start + `","vin":"WVWZZZ1KZ8W006165"},"metadata":{"crm":"42"}}}`
			r := do(t, "POST", srv.PushURL+"/", body, basic(tc.key), json)
			if r.status != 200 {
				t.Fatalf("got %d: %s", r.status, r.body)
			}
			m := r.json(t)
			ref := str(m, "reference")
			if !uuidV1.MatchString(ref) || len(m) != 1 {
				t.Fatalf("reference %q is not a UUID v1 (%s)", ref, r.body)
			}
			p := list(t, srv, "?limit=1", basic(tc.key), acceptV2())
			d := p.Data[0]
			want := map[string]string{
				"metadata.push_reference": ref, "metadata.crm": "42", "status": "paid", "language": "de", "currency": "eur",
				"localized_dates.time_zone": "Europe/Berlin", "data.vin": "WVWZZZ1KZ8W006165", "data.start_date": tc.start,
				"first_name": "Jörg", "last_name": "Weiß", "email": "joerg@example.com", "start_date": tc.wantStart,
			}
			for path, w := range want {
				if got := str(d, strings.Split(path, ".")...); got != w {
					t.Errorf("%s: got %q, want %q", path, got, w)
				}
			}
			if !strings.HasPrefix(str(d, "id"), tc.wantPrefix) {
				t.Errorf("id %s: want prefix %s", str(d, "id"), tc.wantPrefix)
			}
			got := do(t, "GET", srv.KaskoURL+"/policies/"+url.PathEscape(str(d, "insurer_policy_id")), "", basic(tc.key), acceptV2())
			if got.status != 200 {
				t.Errorf("GET new policy: %d", got.status)
			}
		})
	}
}

func TestPushErrors(t *testing.T) {
	srv, _ := start(t, sandbox.Options{})
	key := basic(sandbox.KeyASecretTest)
	json := header("Content-Type", "application/json")
	full := func(repl ...string) string {
		s := `{"variant_id":"` + sandbox.ARAGVariantID + `","input":{"first_name":"A","last_name":"B","email":"a@example.com","data":{"start_date":"2026-12-01","vin":"V1"}}}`
		for i := 0; i+1 < len(repl); i += 2 {
			s = strings.Replace(s, repl[i], repl[i+1], 1)
		}
		return s
	}
	cases := []struct {
		name       string
		body       string
		opts       []reqOpt
		wantStatus int
		wantMsg    string
	}{
		{"no key", full(), []reqOpt{json}, 401, "Unauthorized"},
		{"unknown key", full(), []reqOpt{basic("sk_test_nope"), json}, 401, "Unauthorized"},
		{"public key", full(), []reqOpt{basic(sandbox.KeyAPublicTest), json}, 403, "Forbidden"},
		{"bearer works", full(`"V1"`, `"V2"`), []reqOpt{bearer(sandbox.KeyASecretTest), json}, 200, ""},
		{"content type", full(), []reqOpt{key, header("Content-Type", "text/plain")}, 400, "Bad Request: Content-Type must be application/json."},
		{"no content type", full(), []reqOpt{key}, 400, "Bad Request: Content-Type must be application/json."},
		{"invalid JSON", `{"variant_id":`, []reqOpt{key, json}, 400, "Bad Request: Invalid JSON."},
		{"array body", `[]`, []reqOpt{key, json}, 400, "Bad Request: Invalid JSON."},
		{"variant_id", full(`"variant_id":"`+sandbox.ARAGVariantID+`",`, ``), []reqOpt{key, json}, 400, "Bad Request: The 'variant_id' field is required."},
		{"input", `{"variant_id":"x"}`, []reqOpt{key, json}, 400, "Bad Request: The 'input' field is required."},
		{"first_name", full(`"first_name":"A",`, ``), []reqOpt{key, json}, 400, "Bad Request: The 'first_name' field is required."},
		{"last_name", full(`"last_name":"B",`, ``), []reqOpt{key, json}, 400, "Bad Request: The 'last_name' field is required."},
		{"email", full(`"email":"a@example.com",`, ``), []reqOpt{key, json}, 400, "Bad Request: The 'email' field is required."},
		{"data", full(`,"data":{"start_date":"2026-12-01","vin":"V1"}`, ``), []reqOpt{key, json}, 400, "Bad Request: The 'data' field is required."},
		{"start_date", full(`"start_date":"2026-12-01",`, ``), []reqOpt{key, json}, 400, "Bad Request: The 'start_date' field is required."},
		{"vin", full(`,"vin":"V1"`, ``), []reqOpt{key, json}, 400, "Bad Request: The 'vin' field is required."},
		{"order: first missing wins", `{"input":{}}`, []reqOpt{key, json}, 400, "Bad Request: The 'variant_id' field is required."},
		{"bad email", full(`a@example.com`, `not-an-email`), []reqOpt{key, json}, 400, "Bad Request: The 'email' field must be a valid email address."},
		{"bad start_date", full(`2026-12-01`, `01.12.2026`), []reqOpt{key, json}, 400, "Bad Request: The 'start_date' field must be a date in ISO 8601 format."},
		{"unknown variant", full(sandbox.ARAGVariantID, "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"), []reqOpt{key, json}, 404, "Not Found: Unknown variant_id."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, "POST", srv.PushURL+"/", tc.body, tc.opts...)
			if tc.wantStatus == 200 {
				if r.status != 200 {
					t.Fatalf("got %d: %s", r.status, r.body)
				}
				return
			}
			wantPushError(t, r, tc.wantStatus, tc.wantMsg)
		})
	}
	t.Run("path without slash", func(t *testing.T) {
		wantPushError(t, do(t, "POST", srv.PushURL, full(), key, json), 404, "Not Found: No route matches POST /push.")
	})
	t.Run("GET not allowed", func(t *testing.T) {
		r := do(t, "GET", srv.PushURL+"/", "", key)
		if r.header.Get("Allow") != "POST" {
			t.Errorf("Allow: %q", r.header.Get("Allow"))
		}
		wantPushError(t, r, http.StatusMethodNotAllowed, "Method Not Allowed: Method GET is not allowed here; allowed: POST.")
	})
	if got := srv.Sandbox.Calls(sandbox.RoutePush); got != len(cases) {
		t.Errorf("Calls(push): got %d, want %d", got, len(cases))
	}
}

func TestRejectPushes(t *testing.T) {
	srv, _ := start(t, sandbox.Options{})
	body := `{"variant_id":"` + sandbox.ARAGVariantID + `","input":{"first_name":"A","last_name":"B","email":"a@example.com","data":{"start_date":"2026-12-01","vin":"WVWZZZ1KZ8W006165"}}}`
	tests := []struct {
		status  int
		message string
		want    string
	}{
		{400, "", "Bad Request: The 'vin' field is required."},
		{400, "Invalid JSON.", "Bad Request: Invalid JSON."},
		{401, "", "Unauthorized"},
		{404, "", "Not Found: Unknown variant_id."},
	}
	for _, tt := range tests {
		srv.Sandbox.SetFaults(sandbox.Faults{RejectPushes: tt.status, RejectPushMessage: tt.message})
		r := do(t, "POST", srv.PushURL+"/", body, basic(sandbox.KeyASecretTest), header("Content-Type", "application/json"))
		if r.status != tt.status || str(r.json(t), "errorMessage") != tt.want {
			t.Errorf("reject %d %q: got %d %s", tt.status, tt.message, r.status, r.body)
		}
	}
	srv.Sandbox.SetFaults(sandbox.Faults{})
	if r := do(t, "POST", srv.PushURL+"/", body, basic(sandbox.KeyASecretTest), header("Content-Type", "application/json")); r.status != 200 {
		t.Errorf("without the fault: %d", r.status)
	}
	if n := srv.Sandbox.Calls(sandbox.RoutePush); n != 5 {
		t.Errorf("push calls = %d, want 5", n)
	}
}
