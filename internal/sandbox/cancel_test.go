package sandbox_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"backoffice/internal/sandbox"
)

const cancelBody = `{"cancellation_reason":"Customer request","termination_date":"2026-12-01"}`

func cancelURL(base, id string) string { return base + "/policies/" + id + "/cancel" }

func TestCancelCheckOrder(t *testing.T) {
	srv, clk := start(t, sandbox.Options{CancelDelay: time.Minute})
	key := basic(sandbox.KeyASecretTest)
	im := header("If-Match", sandbox.FixtureVersionID)
	u := cancelURL(srv.KaskoURL, sandbox.FixturePolicyID)
	cases := []struct {
		name       string
		url        string
		body       string
		opts       []reqOpt
		wantStatus int
		wantMsg    string
	}{
		{"no key", u, cancelBody, []reqOpt{acceptV2(), im}, 401, "No valid API key provided."},
		{"public key", u, cancelBody, []reqOpt{basic(sandbox.KeyAPublicTest), acceptV2(), im}, 403, "The API key doesn't have permissions to perform the request."},
		{"unknown policy before Accept", cancelURL(srv.KaskoURL, "tpol_x"), cancelBody, []reqOpt{key}, 404, `Policy of id: "tpol_x" not found.`},
		{"foreign policy", cancelURL(srv.KaskoURL, sandbox.FixtureOtherDistributorID), cancelBody, []reqOpt{key, acceptV2(), im}, 404, `Policy of id: "` + sandbox.FixtureOtherDistributorID + `" not found.`},
		{"no v2 Accept", u, cancelBody, []reqOpt{key, im}, 400, "Unsupported API version"},
		{"malformed JSON", u, `{"cancellation_reason":`, []reqOpt{key, acceptV2(), im}, 400, "The request body is not valid JSON."},
		{"reason missing before If-Match", u, `{"termination_date":"2026-12-01"}`, []reqOpt{key, acceptV2()}, 400, "The cancellation_reason field is required."},
		{"reason empty", u, `{"cancellation_reason":"","termination_date":"2026-12-01"}`, []reqOpt{key, acceptV2(), im}, 400, "The cancellation_reason field is required."},
		{"reason not string", u, `{"cancellation_reason":5,"termination_date":"2026-12-01"}`, []reqOpt{key, acceptV2(), im}, 400, "The cancellation_reason field must be a string."},
		{"date missing", u, `{"cancellation_reason":"x"}`, []reqOpt{key, acceptV2(), im}, 400, "The termination_date field is required."},
		{"date bad", u, `{"cancellation_reason":"x","termination_date":"01.12.2026"}`, []reqOpt{key, acceptV2(), im}, 400, "The termination_date field must be a date in ISO format."},
		{"If-Match missing", u, cancelBody, []reqOpt{key, acceptV2()}, 428, "If-Match header is required."},
		{"If-Match stale", u, cancelBody, []reqOpt{key, acceptV2(), header("If-Match", `W/"tpv_old"`)}, 412, `Resource has been changed: "tpv_old" is not an active version.`},
		{"If-Unmodified-Since older", u, cancelBody, []reqOpt{key, acceptV2(), im, header("If-Unmodified-Since", "Mon, 01 Jan 2024 00:00:00 GMT")}, 412, "Resource has been changed since Mon, 01 Jan 2024 00:00:00 GMT."},
		{"already cancelled", cancelURL(srv.KaskoURL, sandbox.FixtureCancelledID), cancelBody, []reqOpt{key, acceptV2(), header("If-Match", "")}, 428, "If-Match header is required."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, do(t, "POST", tc.url, tc.body, tc.opts...), tc.wantStatus, tc.wantMsg)
		})
	}
	t.Run("422 cancelled and expired", func(t *testing.T) {
		for id, msg := range map[string]string{
			sandbox.FixtureCancelledID: "Policy already cancelled.",
			sandbox.FixtureExpiredID:   "Policy is expired. Can't cancel expired policy.",
		} {
			etag := strings.Trim(do(t, "GET", srv.KaskoURL+"/policies/"+id, "", key, acceptV2()).header.Get("ETag"), `"`)
			wantError(t, do(t, "POST", cancelURL(srv.KaskoURL, id), cancelBody, key, acceptV2(), header("If-Match", etag)), 422, msg)
		}
	})
	t.Run("202 then 409", func(t *testing.T) {
		r := do(t, "POST", u, cancelBody, key, acceptV2(), header("If-Match", `"`+sandbox.FixtureVersionID+`"`), header("Content-Type", "application/json"))
		if r.status != http.StatusAccepted {
			t.Fatalf("got %d: %s", r.status, r.body)
		}
		at := clk.Now().UTC().Format("2006-01-02T15:04:05-07:00")
		wantError(t, do(t, "POST", u, cancelBody, key, acceptV2(), im), 409, "Resource modification already initialized at "+at+".")
	})
}

func TestCancelLifecycle(t *testing.T) {
	srv, clk := start(t, sandbox.Options{CancelDelay: 10 * time.Second})
	key := basic(sandbox.KeyASecretTest)
	get := func() result {
		return do(t, "GET", srv.KaskoURL+"/policies/"+sandbox.FixturePolicyID, "", key, acceptV2())
	}
	before := get()
	r := do(t, "POST", cancelURL(srv.KaskoURL, sandbox.FixtureInsurerPolicyID), `{"cancellation_reason":"Vehicle sold","termination_date":"2026-12-01T15:30:00+02:00"}`,
		key, acceptV2(), header("If-Match", sandbox.FixtureVersionID))
	if r.status != http.StatusAccepted {
		t.Fatalf("cancel: %d %s", r.status, r.body)
	}
	acc := r.json(t)
	href := str(acc, "_links", "status", "href")
	if acc["policy_id"] != sandbox.FixturePolicyID || r.header.Get("Location") != href ||
		!strings.HasPrefix(href, srv.KaskoURL+"/policies/"+sandbox.FixturePolicyID+"/versions/tpv_") || len(acc) != 2 {
		t.Fatalf("202 body: %s, Location %s", r.body, r.header.Get("Location"))
	}
	newVersion := strings.TrimSuffix(href[strings.Index(href, "/versions/")+len("/versions/"):], "/status")
	if len(newVersion) != 33 {
		t.Errorf("new version id %q: want 33 chars", newVersion)
	}
	status := func() map[string]any {
		return do(t, "GET", href, "", key, acceptV2()).json(t)
	}
	st := status()
	if st["status"] != "pending" || st["completed_at"] != nil || st["error"] != nil || st["action"] != "cancel" || st["version_id"] != newVersion ||
		str(st, "_links", "_self", "href") != href || str(st, "_links", "policy", "href") != srv.KaskoURL+"/policies/"+sandbox.FixturePolicyID {
		t.Errorf("pending status: %v", st)
	}
	during := get()
	dm := during.json(t)
	if dm["is_locked"] != true || during.header.Get("ETag") != before.header.Get("ETag") || dm["status"] != "paid" {
		t.Errorf("during: locked=%v etag=%s status=%v", dm["is_locked"], during.header.Get("ETag"), dm["status"])
	}
	clk.Add(6 * time.Second)
	if got := status()["status"]; got != "processing" {
		t.Errorf("status at 6s: %v", got)
	}
	clk.Add(5 * time.Second)
	st = status()
	if st["status"] != "completed" || st["completed_at"] == nil {
		t.Errorf("completed status: %v", st)
	}
	after := get()
	am := after.json(t)
	want := map[string]string{
		"version_id": newVersion, "status": "cancelled", "cancellation_reason": "Vehicle sold",
		"cancelled_by": sandbox.DistributorAID, "is_locked": "false",
		"termination_date":                 "2026-11-30T22:00:00+00:00",
		"localized_dates.termination_date": "2026-12-01T00:00:00+02:00",
		"cancelled_at":                     clk.Now().Add(-time.Second).UTC().Format("2006-01-02T15:04:05-07:00"),
		"end_date":                         "",
	}
	for path, w := range want {
		if got := str(am, strings.Split(path, ".")...); got != w {
			t.Errorf("%s: got %q, want %q", path, got, w)
		}
	}
	if after.header.Get("ETag") != `"`+newVersion+`"` {
		t.Errorf("ETag after: %s", after.header.Get("ETag"))
	}
	if lm, _ := http.ParseTime(after.header.Get("Last-Modified")); !lm.Equal(mustTime(t, str(am, "cancelled_at"))) {
		t.Errorf("Last-Modified after: %s", after.header.Get("Last-Modified"))
	}
	wantError(t, do(t, "POST", cancelURL(srv.KaskoURL, sandbox.FixturePolicyID), cancelBody, key, acceptV2(), header("If-Match", sandbox.FixtureVersionID)),
		412, `Resource has been changed: "`+sandbox.FixtureVersionID+`" is not an active version.`)
	wantError(t, do(t, "POST", cancelURL(srv.KaskoURL, sandbox.FixturePolicyID), cancelBody, key, acceptV2(), header("If-Match", newVersion)),
		422, "Policy already cancelled.")
	wantError(t, do(t, "GET", href, "", key), 400, "Unsupported API version")
	wantError(t, do(t, "GET", srv.KaskoURL+"/policies/"+sandbox.FixturePolicyID+"/versions/tpv_nope/status", "", key, acceptV2()),
		404, `Version "tpv_nope" of policy "`+sandbox.FixturePolicyID+`" not found.`)
	r = do(t, "GET", href, "", basic(sandbox.KeyBSecretTest), acceptV2())
	if r.status != 404 {
		t.Errorf("status with other distributor: got %d", r.status)
	}
}

func TestCancelFailure(t *testing.T) {
	srv, _ := start(t, sandbox.Options{Faults: sandbox.Faults{FailCancellations: true}})
	key := basic(sandbox.KeyASecretTest)
	r := do(t, "POST", cancelURL(srv.KaskoURL, sandbox.FixturePolicyID), cancelBody, key, acceptV2(), header("If-Match", sandbox.FixtureVersionID))
	if r.status != 202 {
		t.Fatalf("got %d", r.status)
	}
	st := do(t, "GET", str(r.json(t), "_links", "status", "href"), "", key, acceptV2()).json(t)
	if st["status"] != "failed" || str(st, "error", "message") == "" || st["completed_at"] == nil {
		t.Errorf("failed status: %v", st)
	}
	p := do(t, "GET", srv.KaskoURL+"/policies/"+sandbox.FixturePolicyID, "", key, acceptV2())
	pm := p.json(t)
	if pm["status"] != "paid" || pm["is_locked"] != false || pm["version_id"] != sandbox.FixtureVersionID || pm["cancelled_at"] != nil {
		t.Errorf("policy after failure: %v %v %v", pm["status"], pm["is_locked"], pm["version_id"])
	}
	srv.Sandbox.SetFaults(sandbox.Faults{})
	if r := do(t, "POST", cancelURL(srv.KaskoURL, sandbox.FixturePolicyID), cancelBody, key, acceptV2(), header("If-Match", sandbox.FixtureVersionID)); r.status != 202 {
		t.Errorf("retry after failure: got %d", r.status)
	}
}

func TestConcurrentCancel(t *testing.T) {
	srv, _ := start(t, sandbox.Options{CancelDelay: time.Hour})
	const n = 24
	var wg sync.WaitGroup
	codes := make(chan int, n)
	for range n {
		wg.Go(func() {
			req, _ := http.NewRequest("POST", cancelURL(srv.KaskoURL, sandbox.FixturePolicyID), strings.NewReader(cancelBody))
			req.SetBasicAuth(sandbox.KeyASecretTest, "")
			req.Header.Set("Accept", v2)
			req.Header.Set("If-Match", sandbox.FixtureVersionID)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				codes <- -1
				return
			}
			res.Body.Close()
			codes <- res.StatusCode
		})
	}
	wg.Wait()
	close(codes)
	count := map[int]int{}
	for c := range codes {
		count[c]++
	}
	if count[202] != 1 || count[409] != n-1 {
		t.Errorf("got %v, want one 202 and %d 409", count, n-1)
	}
	if got := srv.Sandbox.Calls(sandbox.RouteCancelPolicy); got != n {
		t.Errorf("Calls: got %d, want %d", got, n)
	}
}

func TestRejectCancellations(t *testing.T) {
	srv, _ := start(t, sandbox.Options{})
	key := basic(sandbox.KeyASecretTest)
	tests := []struct {
		status      int
		wantMessage string // prefix
	}{
		{400, "The termination_date field must be a date in ISO format."},
		{409, "Resource modification already initialized at "},
		{412, `Resource has been changed: "` + sandbox.FixtureVersionID + `" is not an active version.`},
		{422, "Policy is expired. Can't cancel expired policy."},
	}
	for _, tt := range tests {
		srv.Sandbox.SetFaults(sandbox.Faults{RejectCancellations: tt.status})
		r := do(t, "POST", cancelURL(srv.KaskoURL, sandbox.FixturePolicyID), cancelBody, key, acceptV2(), header("If-Match", sandbox.FixtureVersionID))
		if r.status != tt.status || !strings.HasPrefix(str(r.json(t), "message"), tt.wantMessage) {
			t.Errorf("reject %d: got %d %v", tt.status, r.status, r.json(t))
		}
		// An unknown policy is still a 404: the fault acts on visible policies only.
		if r := do(t, "POST", cancelURL(srv.KaskoURL, "tpol_nosuchpolicy"), cancelBody, key, acceptV2(), header("If-Match", "x")); r.status != 404 {
			t.Errorf("reject %d on an unknown policy: got %d", tt.status, r.status)
		}
	}
	srv.Sandbox.SetFaults(sandbox.Faults{})
	if r := do(t, "POST", cancelURL(srv.KaskoURL, sandbox.FixturePolicyID), cancelBody, key, acceptV2(), header("If-Match", sandbox.FixtureVersionID)); r.status != 202 {
		t.Errorf("without the fault: got %d", r.status)
	}
	if r := do(t, "PUT", srv.URL+"/_sandbox/faults", `{"reject_cancellations": 500}`, header("Content-Type", "application/json")); r.status != 400 {
		t.Errorf("reject_cancellations 500: got %d, want 400", r.status)
	}
}
