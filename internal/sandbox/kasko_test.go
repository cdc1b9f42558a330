package sandbox_test

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"backoffice/internal/sandbox"
)

func TestAuth(t *testing.T) {
	srv, _ := start(t, sandbox.Options{})
	one := srv.KaskoURL + "/policies/" + sandbox.FixturePolicyID
	cases := []struct {
		name       string
		url        string
		opts       []reqOpt
		wantStatus int
	}{
		{"basic secret", one, []reqOpt{basic(sandbox.KeyASecretTest)}, 200},
		{"basic with password ignored", one, []reqOpt{func(r *http.Request) { r.SetBasicAuth(sandbox.KeyASecretTest, "whatever") }}, 200},
		{"bearer secret", one, []reqOpt{bearer(sandbox.KeyASecretTest)}, 200},
		{"bearer with colon", one, []reqOpt{header("Authorization", "Bearer: "+sandbox.KeyASecretTest)}, 200},
		{"public key reads", one, []reqOpt{bearer(sandbox.KeyAPublicTest)}, 200},
		{"missing", one, nil, 401},
		{"unknown key", one, []reqOpt{basic("sk_test_unknownunknownunknownunknown00")}, 401},
		{"garbage basic", one, []reqOpt{header("Authorization", "Basic !!!")}, 401},
		{"other scheme", one, []reqOpt{header("Authorization", "Token "+sandbox.KeyASecretTest)}, 401},
		{"other distributor 404", one, []reqOpt{basic(sandbox.KeyBSecretTest)}, 404},
		{"live object with test key 404", srv.KaskoURL + "/policies/" + sandbox.FixtureLiveID, []reqOpt{basic(sandbox.KeyASecretTest)}, 404},
		{"test object with live key 404", one, []reqOpt{basic(sandbox.KeyASecretLive)}, 404},
		{"live object with live key", srv.KaskoURL + "/policies/" + sandbox.FixtureLiveID, []reqOpt{basic(sandbox.KeyASecretLive)}, 200},
		{"B sees its own", srv.KaskoURL + "/policies/" + sandbox.FixtureOtherDistributorID, []reqOpt{basic(sandbox.KeyBSecretTest)}, 200},
		{"list unauthenticated", srv.KaskoURL + "/policies", nil, 401},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, "GET", tc.url, "", append(tc.opts, acceptV2())...)
			switch tc.wantStatus {
			case 401:
				wantError(t, r, 401, "No valid API key provided.")
			case 404:
				id := tc.url[strings.LastIndexByte(tc.url, '/')+1:]
				wantError(t, r, 404, `Policy of id: "`+id+`" not found.`)
			default:
				if r.status != tc.wantStatus {
					t.Fatalf("got %d, want %d: %s", r.status, tc.wantStatus, r.body)
				}
			}
		})
	}
	t.Run("public key cancel 403", func(t *testing.T) {
		r := do(t, "POST", one+"/cancel", `{"cancellation_reason":"x","termination_date":"2026-12-01"}`,
			basic(sandbox.KeyAPublicTest), acceptV2(), header("If-Match", sandbox.FixtureVersionID))
		wantError(t, r, 403, "The API key doesn't have permissions to perform the request.")
	})
	t.Run("live list scope", func(t *testing.T) {
		p := list(t, srv, "?limit=100", basic(sandbox.KeyASecretLive), acceptV2())
		if p.Meta.Total != 8 || len(p.Data) != 8 {
			t.Fatalf("live total: got %d/%d, want 8", p.Meta.Total, len(p.Data))
		}
		for _, d := range p.Data {
			if !strings.HasPrefix(str(d, "id"), "lpol_") || str(d, "quote", "livemode") != "true" {
				t.Errorf("live list holds %s (livemode %s)", str(d, "id"), str(d, "quote", "livemode"))
			}
		}
	})
}

func TestListDefaultsAndParams(t *testing.T) {
	srv, _ := start(t, sandbox.Options{})
	key := basic(sandbox.KeyASecretTest)
	def := list(t, srv, "", key, acceptV2())
	if def.Meta.Count != 20 || def.Meta.Limit != 20 || def.Meta.Sort != "-created_at" || len(def.Data) != 20 {
		t.Errorf("defaults: got %+v with %d rows", def.Meta, len(def.Data))
	}
	all := list(t, srv, "?limit=100&offset=0", key, acceptV2())
	if def.Meta.Total != all.Meta.Total || def.Meta.Total < 200 {
		t.Errorf("total: got %d and %d", def.Meta.Total, all.Meta.Total)
	}
	for i := 1; i < len(def.Data); i++ {
		if str(def.Data[i-1], "created_at") < str(def.Data[i], "created_at") {
			t.Fatalf("default order not -created_at at %d", i)
		}
	}
	cases := []struct {
		name      string
		query     string
		wantMsg   string // error message; empty = 200
		wantLimit int
		wantSort  string
	}{
		{"clamp", "?limit=500", "", 100, "-created_at"},
		{"alias", "?sort=created_date", "", 20, "created_at"},
		{"alias desc", "?sort=-created_date", "", 20, "-created_at"},
		{"multi", "?sort=status,-gross_premium", "", 20, "status,-gross_premium"},
		{"limit zero", "?limit=0", "The limit parameter must be a positive integer.", 0, ""},
		{"limit text", "?limit=ten", "The limit parameter must be a positive integer.", 0, ""},
		{"offset negative", "?offset=-1", "The offset parameter must be a non-negative integer.", 0, ""},
		{"offset text", "?offset=x", "The offset parameter must be a non-negative integer.", 0, ""},
		{"unknown sort", "?sort=x", "Invalid sort field: x", 0, ""},
		{"unknown desc sort", "?sort=created_at,-foo", "Invalid sort field: foo", 0, ""},
		{"unknown cursor", "?offset_policy_id=NOPE", "Unknown offset_policy_id", 0, ""},
		{"foreign cursor", "?offset_policy_id=" + sandbox.FixtureLiveInsurerID, "Unknown offset_policy_id", 0, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.wantMsg != "" {
				wantError(t, do(t, "GET", srv.KaskoURL+"/policies"+tc.query, "", key, acceptV2()), 400, tc.wantMsg)
				return
			}
			p := list(t, srv, tc.query, key, acceptV2())
			if p.Meta.Limit != tc.wantLimit || p.Meta.Sort != tc.wantSort || p.Meta.Count != len(p.Data) || p.Meta.Count != tc.wantLimit {
				t.Errorf("meta: got %+v (rows %d), want limit %d sort %s", p.Meta, len(p.Data), tc.wantLimit, tc.wantSort)
			}
		})
	}
	t.Run("offset past end", func(t *testing.T) {
		p := list(t, srv, "?offset=100000", key)
		if p.Meta.Count != 0 || len(p.Data) != 0 || p.Meta.Total != def.Meta.Total {
			t.Errorf("got %+v", p.Meta)
		}
	})
}

func TestListSortFields(t *testing.T) {
	srv, _ := start(t, sandbox.Options{})
	key := basic(sandbox.KeyASecretTest)
	// value extracts a comparable rendering of a field from a v2 item.
	value := map[string]func(m map[string]any) string{
		"created_at":        func(m map[string]any) string { return str(m, "created_at") },
		"insurer_policy_id": func(m map[string]any) string { return str(m, "insurer_policy_id") },
		"last_name":         func(m map[string]any) string { return str(m, "last_name") },
		"email":             func(m map[string]any) string { return str(m, "email") },
		"status":            func(m map[string]any) string { return str(m, "status") },
		"start_date":        func(m map[string]any) string { return str(m, "start_date") },
		"end_date": func(m map[string]any) string {
			if v := str(m, "end_date"); v != "" {
				return v
			}
			return "\uffff" // null sorts last ascending
		},
		"gross_premium": func(m map[string]any) string {
			n, _ := strconv.Atoi(str(m, "quote", "gross_payment_amount"))
			return strconv.Itoa(100000000 + n)
		},
	}
	for _, f := range sandbox.SortableFields() {
		for _, desc := range []bool{false, true} {
			sort := f
			if desc {
				sort = "-" + f
			}
			t.Run(sort, func(t *testing.T) {
				p := list(t, srv, "?limit=100&sort="+sort, key, acceptV2())
				if p.Meta.Sort != sort || len(p.Data) != 100 {
					t.Fatalf("meta: got %+v", p.Meta)
				}
				for i := 1; i < len(p.Data); i++ {
					a, b := value[f](p.Data[i-1]), value[f](p.Data[i])
					ia, ib := str(p.Data[i-1], "id"), str(p.Data[i], "id")
					if desc {
						a, b = b, a
					}
					if a > b || (a == b && ia > ib) {
						t.Fatalf("row %d out of order: %q then %q", i, value[f](p.Data[i-1]), value[f](p.Data[i]))
					}
				}
			})
		}
	}
	t.Run("multi field", func(t *testing.T) {
		p := list(t, srv, "?limit=100&sort=status,-created_at", key, acceptV2())
		for i := 1; i < len(p.Data); i++ {
			sa, sb := str(p.Data[i-1], "status"), str(p.Data[i], "status")
			if sa > sb || (sa == sb && str(p.Data[i-1], "created_at") < str(p.Data[i], "created_at")) {
				t.Fatalf("row %d out of order", i)
			}
		}
	})
}

func TestListCursor(t *testing.T) {
	srv, _ := start(t, sandbox.Options{})
	key := basic(sandbox.KeyASecretTest)
	for _, sort := range []string{"-created_at", "last_name,email"} {
		ten := list(t, srv, "?limit=10&sort="+sort, key)
		cur := str(ten.Data[4], "insurer_policy_id")
		next := list(t, srv, "?limit=5&sort="+sort+"&offset_policy_id="+url.QueryEscape(cur), key)
		if len(next.Data) != 5 || next.Meta.Total != ten.Meta.Total {
			t.Fatalf("%s: got %d rows, total %d", sort, len(next.Data), next.Meta.Total)
		}
		for i := range 5 {
			if got, want := str(next.Data[i], "insurer_policy_id"), str(ten.Data[5+i], "insurer_policy_id"); got != want {
				t.Errorf("%s row %d: got %s, want %s", sort, i, got, want)
			}
		}
		withOffset := list(t, srv, "?limit=2&offset=3&sort="+sort+"&offset_policy_id="+url.QueryEscape(cur), key)
		if got, want := str(withOffset.Data[0], "insurer_policy_id"), str(ten.Data[8], "insurer_policy_id"); got != want {
			t.Errorf("%s cursor+offset: got %s, want %s", sort, got, want)
		}
	}
}

var v1Keys = []string{"object", "insurer_policy_id", "insurer_product_name", "insurer_variant_id", "kasko_product_id",
	"kasko_variant_id", "first_name", "last_name", "email", "created_date", "cover_duration_days", "cover_start_date",
	"cover_end_date", "currency", "price", "gross_premium"}

var v2Keys = []string{"id", "version_id", "distributor_id", "insurer_id", "touchpoint_id", "item_id", "product_id",
	"product_version_id", "integration_version_id", "subscription_plan_id", "customer_id", "insurer_policy_id",
	"insurer_external_policy_id", "distributor_key", "first_name", "last_name", "email", "expired", "currency",
	"language", "flow", "status", "policy_created_date", "start_date", "end_date", "termination_date", "created_at",
	"accepted_at", "data", "quote", "metadata", "cancellation_reason", "cancelled_by", "cancelled_at", "referrer_url",
	"whitelisted_referrer_url", "distributor_traffic_source", "payment_token", "linked_policy_id", "sales_lead_id",
	"assets", "media", "is_locked", "contains_sensitive_data", "is_version_assembled", "localized_dates", "_links"}

var withheld = []string{"email", "data", "metadata", "payment_token", "distributor_key", "referrer_url",
	"whitelisted_referrer_url", "distributor_traffic_source"}

func keysOf(m map[string]any) []string {
	var k []string
	for key := range m {
		k = append(k, key)
	}
	slices.Sort(k)
	return k
}

func TestShapes(t *testing.T) {
	srv, _ := start(t, sandbox.Options{})
	sorted := func(s []string) []string { s = slices.Clone(s); slices.Sort(s); return s }
	t.Run("v1 list and get", func(t *testing.T) {
		p := list(t, srv, "?limit=5", basic(sandbox.KeyASecretTest))
		for _, d := range p.Data {
			if got := keysOf(d); !slices.Equal(got, sorted(v1Keys)) {
				t.Fatalf("v1 keys: got %v", got)
			}
		}
		r := do(t, "GET", srv.KaskoURL+"/policies/"+sandbox.FixturePolicyID, "", basic(sandbox.KeyASecretTest))
		m := r.json(t)
		if got := keysOf(m); !slices.Equal(got, sorted(v1Keys)) || m["currency"] != "EUR" || m["object"] != "policy" {
			t.Fatalf("v1 get: %s", r.body)
		}
		if _, err := time.Parse("2006-01-02 15:04:05-07:00", str(m, "created_date")); err != nil {
			t.Errorf("v1 date: %v", err)
		}
	})
	t.Run("v2 secret", func(t *testing.T) {
		r := do(t, "GET", srv.KaskoURL+"/policies/"+sandbox.FixturePolicyID, "", basic(sandbox.KeyASecretTest), acceptV2())
		m := r.json(t)
		if got := keysOf(m); !slices.Equal(got, sorted(v2Keys)) {
			t.Fatalf("v2 keys: got %v", got)
		}
		checks := map[string]string{
			"id": sandbox.FixturePolicyID, "version_id": sandbox.FixtureVersionID, "insurer_policy_id": sandbox.FixtureInsurerPolicyID,
			"first_name": "Jānis", "last_name": "Bērziņš", "status": "paid", "cancelled_by": "", "expired": "false",
			"localized_dates.time_zone": "Europe/Riga", "quote.payment_data.gross_premium": "275000",
			"quote.payment_data.net_premium": "250000", "quote.payment_data.premium_tax": "25000", "is_locked": "false",
		}
		for path, want := range checks {
			if got := str(m, strings.Split(path, ".")...); got != want {
				t.Errorf("%s: got %q, want %q", path, got, want)
			}
		}
		if m["cancelled_by"] != "" || m["end_date"] != nil || m["insurer_external_policy_id"] != nil {
			t.Errorf("null/empty fields wrong: cancelled_by=%v end_date=%v", m["cancelled_by"], m["end_date"])
		}
		links := m["_links"].(map[string]any)
		for _, l := range []string{"_self", "distributor", "item", "touchpoint", "insurer"} {
			if !strings.HasPrefix(str(links, l, "href"), srv.URL+"/kasko/") {
				t.Errorf("link %s: %v", l, links[l])
			}
		}
		assets := m["assets"].([]any)
		if len(assets) != 3 {
			t.Fatalf("assets: got %d", len(assets))
		}
		a := assets[0].(map[string]any)
		if got := keysOf(a); !slices.Equal(got, []string{"attachment_date", "designation", "extension", "href", "name", "url", "version"}) || a["url"] != a["href"] {
			t.Errorf("asset element: %v", a)
		}
		med := m["media"].([]any)[0].(map[string]any)
		if got := keysOf(med); !slices.Equal(got, []string{"created_at", "designation", "file_size", "id", "mime_type", "name", "url"}) || len(str(med, "id")) != 32 {
			t.Errorf("media element: %v", med)
		}
		if ls, _ := time.Parse(time.RFC3339, str(m, "localized_dates", "start_date")); !ls.Equal(mustTime(t, str(m, "start_date"))) || ls.Hour() != 0 {
			t.Errorf("localized start %s vs %s", str(m, "localized_dates", "start_date"), str(m, "start_date"))
		}
	})
	t.Run("public withholds", func(t *testing.T) {
		for _, path := range []string{"/policies/" + sandbox.FixturePolicyID, "/policies?limit=3"} {
			r := do(t, "GET", srv.KaskoURL+path, "", bearer(sandbox.KeyAPublicTest), acceptV2())
			m := r.json(t)
			items := []map[string]any{m}
			if d, ok := m["data"].([]any); ok && strings.Contains(path, "?") {
				items = nil
				for _, x := range d {
					items = append(items, x.(map[string]any))
				}
			}
			for _, it := range items {
				for _, f := range withheld {
					if _, present := it[f]; present {
						t.Errorf("%s: %s present for public key", path, f)
					}
				}
				q := it["quote"].(map[string]any)
				for _, f := range []string{"customer_input", "insurer_private_data"} {
					if _, present := q[f]; present {
						t.Errorf("%s: quote.%s present for public key", path, f)
					}
				}
				if it["first_name"] == nil || it["id"] == nil {
					t.Errorf("public item lost visible fields")
				}
			}
		}
		p := list(t, srv, "?limit=3", bearer(sandbox.KeyAPublicTest))
		if _, present := p.Data[0]["email"]; present {
			t.Errorf("v1 public item carries email")
		}
	})
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatalf("time %q: %v", s, err)
	}
	return v
}

func TestGetPolicy(t *testing.T) {
	srv, _ := start(t, sandbox.Options{})
	key := basic(sandbox.KeyASecretTest)
	byID := do(t, "GET", srv.KaskoURL+"/policies/"+sandbox.FixturePolicyID, "", key, acceptV2())
	byIns := do(t, "GET", srv.KaskoURL+"/policies/"+sandbox.FixtureInsurerPolicyID, "", key, acceptV2())
	if byID.status != 200 || string(byID.body) != string(byIns.body) {
		t.Fatalf("by id and insurer id differ: %d %d", byID.status, byIns.status)
	}
	if got := byID.header.Get("ETag"); got != `"`+sandbox.FixtureVersionID+`"` {
		t.Errorf("ETag: got %s", got)
	}
	lm, err := http.ParseTime(byID.header.Get("Last-Modified"))
	if err != nil || !lm.Equal(mustTime(t, str(byID.json(t), "accepted_at"))) {
		t.Errorf("Last-Modified: %q %v", byID.header.Get("Last-Modified"), err)
	}
	for _, inm := range []string{`"` + sandbox.FixtureVersionID + `"`, sandbox.FixtureVersionID, `W/"` + sandbox.FixtureVersionID + `"`, `"x", "` + sandbox.FixtureVersionID + `"`} {
		r := do(t, "GET", srv.KaskoURL+"/policies/"+sandbox.FixturePolicyID, "", key, acceptV2(), header("If-None-Match", inm))
		if r.status != http.StatusNotModified || len(r.body) != 0 || r.header.Get("ETag") == "" {
			t.Errorf("If-None-Match %s: got %d", inm, r.status)
		}
	}
	r := do(t, "GET", srv.KaskoURL+"/policies/"+sandbox.FixturePolicyID, "", key, acceptV2(), header("If-None-Match", `"tpv_other"`))
	if r.status != 200 {
		t.Errorf("stale If-None-Match: got %d", r.status)
	}
	wantError(t, do(t, "GET", srv.KaskoURL+"/policies/tpol_nope", "", key, acceptV2()), 404, `Policy of id: "tpol_nope" not found.`)
	exp := do(t, "GET", srv.KaskoURL+"/policies/"+sandbox.FixtureExpiredID, "", key, acceptV2()).json(t)
	if exp["expired"] != true {
		t.Errorf("expired fixture: expired=%v", exp["expired"])
	}
	can := do(t, "GET", srv.KaskoURL+"/policies/"+sandbox.FixtureCancelledID, "", key, acceptV2()).json(t)
	if can["status"] != "cancelled" || can["cancelled_by"] != sandbox.DistributorAID || can["cancellation_reason"] == nil || can["termination_date"] == nil {
		t.Errorf("cancelled fixture: %v %v %v", can["status"], can["cancelled_by"], can["cancellation_reason"])
	}
}
