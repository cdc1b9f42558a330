package sandbox_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"backoffice/internal/sandbox"
	"backoffice/internal/sandbox/sandboxtest"
)

// The tests in this file build their sandboxes with sandbox.New, not
// sandboxtest.Start, because Start pins the reference date and these test
// the default too.

// demoNow is "today" for the tests of the default reference date.
var demoNow = time.Date(2026, 12, 5, 15, 30, 0, 0, time.UTC)

func fixedClock(t time.Time) func() time.Time { return func() time.Time { return t } }

// seededPolicy is the part of a v2 policy these tests look at; null times
// stay zero.
type seededPolicy struct {
	ID              string    `json:"id"`
	VersionID       string    `json:"version_id"`
	InsurerPolicyID string    `json:"insurer_policy_id"`
	ProductID       string    `json:"product_id"`
	Currency        string    `json:"currency"`
	FirstName       string    `json:"first_name"`
	LastName        string    `json:"last_name"`
	Status          string    `json:"status"`
	Expired         bool      `json:"expired"`
	CreatedAt       time.Time `json:"created_at"`
	AcceptedAt      time.Time `json:"accepted_at"`
	StartDate       time.Time `json:"start_date"`
	EndDate         time.Time `json:"end_date"`
	CancelledAt     time.Time `json:"cancelled_at"`
	Termination     time.Time `json:"termination_date"`
	Localized       struct {
		TimeZone string `json:"time_zone"`
	} `json:"localized_dates"`
	Quote struct {
		PaymentData struct {
			GrossPremium int64 `json:"gross_premium"`
		} `json:"payment_data"`
	} `json:"quote"`
}

// utc puts every time in UTC, so that policies compare with ==.
func (p *seededPolicy) utc() {
	for _, t := range []*time.Time{&p.CreatedAt, &p.AcceptedAt, &p.StartDate, &p.EndDate, &p.CancelledAt, &p.Termination} {
		*t = t.UTC()
	}
}

// serve sends one request to the sandbox in process.
func serve(t *testing.T, sb *sandbox.Sandbox, method, path, key, body string, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	var req *http.Request
	if body != "" {
		req = httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
	} else {
		req = httptest.NewRequest(method, path, nil)
	}
	if key != "" {
		req.SetBasicAuth(key, "")
	}
	req.Header.Set("Accept", v2)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	sb.ServeHTTP(rec, req)
	return rec
}

// mustNew builds a sandbox or fails the test.
func mustNew(t *testing.T, opts sandbox.Options) *sandbox.Sandbox {
	t.Helper()
	sb, err := sandbox.New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = sb.Close() })
	return sb
}

// allPolicies lists every policy a key sees, newest first.
func allPolicies(t *testing.T, sb *sandbox.Sandbox, key string) []seededPolicy {
	t.Helper()
	var out []seededPolicy
	for {
		rec := serve(t, sb, "GET", "/kasko/policies?limit=100&offset="+strconv.Itoa(len(out)), key, "")
		if rec.Code != http.StatusOK {
			t.Fatalf("list at %d: got %d: %s", len(out), rec.Code, rec.Body)
		}
		var page struct {
			Data []seededPolicy `json:"data"`
			Meta struct {
				Total int `json:"total"`
			} `json:"meta"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &page); err != nil {
			t.Fatalf("list: %v", err)
		}
		for i := range page.Data {
			page.Data[i].utc()
		}
		out = append(out, page.Data...)
		if len(page.Data) == 0 || len(out) >= page.Meta.Total {
			return out
		}
	}
}

func mustGetPolicy(t *testing.T, sb *sandbox.Sandbox, key, id string) seededPolicy {
	t.Helper()
	rec := serve(t, sb, "GET", "/kasko/policies/"+id, key, "")
	if rec.Code != http.StatusOK {
		t.Fatalf("get %s: got %d: %s", id, rec.Code, rec.Body)
	}
	var p seededPolicy
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatalf("get %s: %v", id, err)
	}
	p.utc()
	return p
}

// TestReferenceDateDefaultIsToday: without a pinned date the history leads
// up to the start of the clock's day, so "created this month", "created last
// month" and "expiring in the next 7/30/60/90 days" all have policies, and
// cancellations are spread over the past.
func TestReferenceDateDefaultIsToday(t *testing.T) {
	sb := mustNew(t, sandbox.Options{Now: fixedClock(demoNow)})
	today := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	if got := sb.ReferenceDate(); !got.Equal(today) {
		t.Fatalf("ReferenceDate: got %v, want %v", got, today)
	}
	var info struct {
		ReferenceDate string `json:"reference_date"`
	}
	if err := json.Unmarshal(serve(t, sb, "GET", "/_sandbox", "", "").Body.Bytes(), &info); err != nil || info.ReferenceDate != "2026-12-05T00:00:00Z" {
		t.Errorf("GET /_sandbox reference_date: got %q (%v), want 2026-12-05T00:00:00Z", info.ReferenceDate, err)
	}

	ps := allPolicies(t, sb, sandbox.KeyASecretTest)
	if len(ps) < 2000 {
		t.Fatalf("got %d policies for distributor A (test), want the default book", len(ps))
	}
	var thisMonth, lastMonth int
	oldest := demoNow
	expiring := map[int]int{7: 0, 30: 0, 60: 0, 90: 0}
	cancelMonths := map[string]int{}
	var recentCancels int
	for _, p := range ps {
		if p.CreatedAt.After(demoNow) {
			t.Errorf("%s: created %v, after the clock's now %v", p.ID, p.CreatedAt, demoNow)
		}
		if p.CreatedAt.Before(oldest) {
			oldest = p.CreatedAt
		}
		switch c := p.CreatedAt.UTC(); {
		case c.Year() == 2026 && c.Month() == time.December:
			thisMonth++
		case c.Year() == 2026 && c.Month() == time.November:
			lastMonth++
		}
		if p.Status != "cancelled" && !p.Expired && !p.EndDate.IsZero() && p.EndDate.After(demoNow) {
			for days := range expiring {
				if p.EndDate.Before(demoNow.AddDate(0, 0, days)) {
					expiring[days]++
				}
			}
		}
		if p.Status == "cancelled" {
			if p.CancelledAt.IsZero() || p.CancelledAt.After(demoNow) {
				t.Errorf("%s: cancelled at %v, want a time before now", p.ID, p.CancelledAt)
			}
			cancelMonths[p.CancelledAt.UTC().Format("2006-01")]++
			if p.CancelledAt.After(demoNow.AddDate(0, 0, -30)) {
				recentCancels++
			}
		}
	}
	t.Logf("%d policies: %d created this month, %d last month; expiring within 7/30/60/90 days: %d/%d/%d/%d; cancellations in %d months, %d in the last 30 days",
		len(ps), thisMonth, lastMonth, expiring[7], expiring[30], expiring[60], expiring[90], len(cancelMonths), recentCancels)
	if thisMonth == 0 || lastMonth == 0 {
		t.Errorf("created in December 2026: %d, in November 2026: %d; want some in both", thisMonth, lastMonth)
	}
	if oldest.After(demoNow.AddDate(-2, 0, 0)) {
		t.Errorf("oldest policy created %v, want a history of years", oldest)
	}
	for days, n := range expiring {
		if n == 0 {
			t.Errorf("no active policy expires within %d days of %v", days, demoNow)
		}
	}
	if expiring[90] <= expiring[7] {
		t.Errorf("expiring within 90 days: %d, within 7: %d; want more over the longer horizon", expiring[90], expiring[7])
	}
	if len(cancelMonths) < 24 || recentCancels == 0 {
		t.Errorf("cancellations fall in %d months (%d in the last 30 days), want them spread over the past years up to now", len(cancelMonths), recentCancels)
	}
}

// TestReferenceDateDefaultRealClock: with no clock at all, the default is
// today by the machine's clock.
func TestReferenceDateDefaultRealClock(t *testing.T) {
	before := time.Now().UTC()
	sb := mustNew(t, sandbox.Options{})
	after := time.Now().UTC()
	got := sb.ReferenceDate()
	day := func(t time.Time) time.Time { return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC) }
	if !got.Equal(day(before)) && !got.Equal(day(after)) {
		t.Fatalf("ReferenceDate: got %v, want 00:00 UTC of today (%v)", got, day(after))
	}
	now := time.Now()
	var recent, expiring int
	for _, p := range allPolicies(t, sb, sandbox.KeyASecretTest) {
		if p.CreatedAt.After(now.AddDate(0, 0, -31)) {
			recent++
		}
		if p.Status != "cancelled" && !p.Expired && p.EndDate.After(now) && p.EndDate.Before(now.AddDate(0, 0, 30)) {
			expiring++
		}
	}
	if recent == 0 || expiring == 0 {
		t.Errorf("created in the last 31 days: %d, expiring within 30 days: %d; want some of both", recent, expiring)
	}
}

// TestReferenceDatePinnedIsDeterministic: same seed and pinned date give the
// same bytes; the clock does not change the seeded data; another date does.
func TestReferenceDatePinnedIsDeterministic(t *testing.T) {
	ref := time.Date(2026, 3, 17, 0, 0, 0, 0, time.UTC)
	clk := fixedClock(ref.Add(30 * time.Hour))
	page := func(opts sandbox.Options) []byte {
		rec := serve(t, mustNew(t, opts), "GET", "/kasko/policies?limit=100&sort=insurer_policy_id", sandbox.KeyASecretTest, "")
		if rec.Code != http.StatusOK {
			t.Fatalf("list: got %d: %s", rec.Code, rec.Body)
		}
		return rec.Body.Bytes()
	}
	base := sandbox.Options{Seed: 7, Policies: 500, Now: clk, BaseURL: "http://sandbox.test", ReferenceDate: ref}
	a, b := page(base), page(base)
	if !bytes.Equal(a, b) {
		t.Errorf("same seed and reference date gave different pages")
	}
	other := base
	other.ReferenceDate = ref.AddDate(0, 0, 1)
	if bytes.Equal(a, page(other)) {
		t.Errorf("another reference date gave the same page")
	}

	// A clock a year later changes "expired" flags and signed URLs, never
	// the seeded data.
	late := base
	late.Now = fixedClock(ref.AddDate(1, 0, 0))
	x := allPolicies(t, mustNew(t, base), sandbox.KeyASecretTest)
	y := allPolicies(t, mustNew(t, late), sandbox.KeyASecretTest)
	if len(x) != len(y) {
		t.Fatalf("got %d and %d policies", len(x), len(y))
	}
	for i := range x {
		p, q := x[i], y[i]
		p.Expired, q.Expired = false, false
		if p != q {
			t.Fatalf("policy %d differs with the clock:\n%+v\n%+v", i, p, q)
		}
	}
}

// TestReferenceDateShiftsHistory: moving the pinned date moves every seeded
// time by as much and changes nothing else (ids, names, statuses, products,
// premiums): the shape of the book does not depend on the date.
func TestReferenceDateShiftsHistory(t *testing.T) {
	const shiftDays = 37
	r1 := time.Date(2026, 9, 2, 12, 0, 0, 0, time.UTC)
	r2 := r1.AddDate(0, 0, shiftDays)
	shift := r2.Sub(r1)
	if shift != shiftDays*24*time.Hour {
		t.Fatalf("shift: %v", shift)
	}
	clk := fixedClock(r2.AddDate(0, 0, 1))
	for _, key := range []string{sandbox.KeyASecretTest, sandbox.KeyASecretLive, sandbox.KeyBSecretTest} {
		p1 := allPolicies(t, mustNew(t, sandbox.Options{Policies: 600, Now: clk, ReferenceDate: r1}), key)
		p2 := allPolicies(t, mustNew(t, sandbox.Options{Policies: 600, Now: clk, ReferenceDate: r2}), key)
		if len(p1) != len(p2) || len(p1) == 0 {
			t.Fatalf("%s: got %d and %d policies", key, len(p1), len(p2))
		}
		byID := make(map[string]seededPolicy, len(p2))
		for _, p := range p2 {
			byID[p.ID] = p
		}
		exact := func(id, field string, a, b time.Time) {
			if a.IsZero() != b.IsZero() || (!a.IsZero() && b.Sub(a) != shift) {
				t.Errorf("%s %s: %v then %v, want moved by %v", id, field, a, b, shift)
			}
		}
		// Start, end and termination dates are days in the policy's zone,
		// counted from its creation or cancellation: the count of days
		// stays, the instant may move by a day more or less when a daylight
		// saving change lies in between.
		days := func(id, field string, a0, a, b0, b time.Time, zone string) {
			if a.IsZero() != b.IsZero() {
				t.Errorf("%s %s: %v then %v", id, field, a, b)
				return
			}
			if a.IsZero() {
				return
			}
			loc, err := time.LoadLocation(zone)
			if err != nil {
				t.Fatalf("%s: zone %q: %v", id, zone, err)
			}
			count := func(from, to time.Time) int {
				f, e := from.In(loc), to.In(loc)
				return int(time.Date(e.Year(), e.Month(), e.Day(), 12, 0, 0, 0, time.UTC).Sub(time.Date(f.Year(), f.Month(), f.Day(), 12, 0, 0, 0, time.UTC)).Hours() / 24)
			}
			if ca, cb := count(a0, a), count(b0, b); ca != cb {
				t.Errorf("%s %s: %v then %v: %d then %d days after %v / %v", id, field, a, b, ca, cb, a0, b0)
			}
		}
		for _, a := range p1 {
			b, ok := byID[a.ID]
			if !ok {
				t.Fatalf("%s: policy %s missing after the shift", key, a.ID)
			}
			if a.InsurerPolicyID != b.InsurerPolicyID || a.VersionID != b.VersionID || a.Status != b.Status || a.ProductID != b.ProductID ||
				a.Currency != b.Currency || a.FirstName != b.FirstName || a.LastName != b.LastName || a.Quote != b.Quote {
				t.Errorf("%s: more than the dates changed:\n%+v\n%+v", a.ID, a, b)
			}
			exact(a.ID, "created_at", a.CreatedAt, b.CreatedAt)
			exact(a.ID, "accepted_at", a.AcceptedAt, b.AcceptedAt)
			exact(a.ID, "cancelled_at", a.CancelledAt, b.CancelledAt)
			z := a.Localized.TimeZone
			days(a.ID, "start_date", a.CreatedAt, a.StartDate, b.CreatedAt, b.StartDate, z)
			days(a.ID, "end_date", a.StartDate, a.EndDate, b.StartDate, b.EndDate, z)
			days(a.ID, "termination_date", a.CancelledAt, a.Termination, b.CancelledAt, b.Termination, z)
		}
	}
}

// TestReferenceDateFixtures: the well-known policies keep their ids and
// roles whatever the reference date; their dates follow it. Roles are as
// seen by a clock near the reference date: a year later, the cancelled bike
// policy's term has ended too, as it always had.
func TestReferenceDateFixtures(t *testing.T) {
	cases := []struct {
		name    string
		ref     time.Time // zero: the default
		now     time.Time
		wantRef time.Time
	}{
		{"default today", time.Time{}, demoNow, time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)},
		{"pinned in the past", time.Date(2025, 2, 28, 0, 0, 0, 0, time.UTC), time.Date(2025, 3, 10, 8, 0, 0, 0, time.UTC), time.Date(2025, 2, 28, 0, 0, 0, 0, time.UTC)},
		{"pinned, clock that day", time.Date(2031, 7, 14, 9, 0, 0, 0, time.UTC), time.Date(2031, 7, 14, 18, 0, 0, 0, time.UTC), time.Date(2031, 7, 14, 9, 0, 0, 0, time.UTC)},
		{"sandboxtest anchor", sandboxtest.ReferenceDate(0), time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC), time.Date(2026, 9, 2, 12, 0, 0, 0, time.UTC)},
	}
	type want struct {
		key, id, insurerID, status string
		expired, openEnded         bool
		createdDaysBefore          int
		cancel                     int    // status of a cancel with the right If-Match
		cancelMsg                  string // its error message, if any
	}
	fixtures := []want{
		{sandbox.KeyASecretTest, sandbox.FixturePolicyID, sandbox.FixtureInsurerPolicyID, "paid", false, true, 40, http.StatusAccepted, ""},
		{sandbox.KeyASecretTest, sandbox.FixtureCancelledID, sandbox.FixtureCancelledInsurerID, "cancelled", false, false, 41, http.StatusUnprocessableEntity, "Policy already cancelled."},
		{sandbox.KeyASecretTest, sandbox.FixtureExpiredID, sandbox.FixtureExpiredInsurerID, "paid", true, false, 400, http.StatusUnprocessableEntity, "Policy is expired. Can't cancel expired policy."},
		{sandbox.KeyASecretLive, sandbox.FixtureLiveID, sandbox.FixtureLiveInsurerID, "paid", false, true, 40, http.StatusAccepted, ""},
		{sandbox.KeyBSecretTest, sandbox.FixtureOtherDistributorID, "TEST-CYBER-5HT8W3ZN", "paid", false, true, 40, http.StatusAccepted, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sb := mustNew(t, sandbox.Options{Policies: sandbox.MinPolicies, Now: fixedClock(tc.now), ReferenceDate: tc.ref})
			if got := sb.ReferenceDate(); !got.Equal(tc.wantRef) {
				t.Fatalf("ReferenceDate: got %v, want %v", got, tc.wantRef)
			}
			for _, f := range fixtures {
				p := mustGetPolicy(t, sb, f.key, f.id)
				if p.InsurerPolicyID != f.insurerID || p.Status != f.status || p.Expired != f.expired || p.EndDate.IsZero() != f.openEnded {
					t.Errorf("%s: got insurer id %s, status %s, expired %v, end %v; want %s, %s, expired %v, open-ended %v",
						f.id, p.InsurerPolicyID, p.Status, p.Expired, p.EndDate, f.insurerID, f.status, f.expired, f.openEnded)
				}
				if want := tc.wantRef.AddDate(0, 0, -f.createdDaysBefore); !p.CreatedAt.Equal(want) {
					t.Errorf("%s created_at: got %v, want %v", f.id, p.CreatedAt, want)
				}
				if f.id == sandbox.FixturePolicyID && p.VersionID != sandbox.FixtureVersionID {
					t.Errorf("%s version: got %s, want %s", f.id, p.VersionID, sandbox.FixtureVersionID)
				}
				body := `{"cancellation_reason":"Customer request","termination_date":"` + tc.now.Format(time.DateOnly) + `"}`
				rec := serve(t, sb, "POST", "/kasko/policies/"+f.id+"/cancel", f.key, body, "If-Match", `"`+p.VersionID+`"`)
				if rec.Code != f.cancel || (f.cancelMsg != "" && !strings.Contains(rec.Body.String(), f.cancelMsg)) {
					t.Errorf("%s cancel: got %d %s, want %d %q", f.id, rec.Code, rec.Body, f.cancel, f.cancelMsg)
				}
			}
			if rec := serve(t, sb, "GET", "/kasko/policies/"+sandbox.FixtureOtherDistributorID, sandbox.KeyASecretTest, ""); rec.Code != http.StatusNotFound {
				t.Errorf("other distributor's fixture with key A: got %d, want 404", rec.Code)
			}
		})
	}
}

// TestSandboxtestPinsReferenceDate: test servers keep the fixed anchor the
// suite's expectations were written against, unless a test sets its own.
func TestSandboxtestPinsReferenceDate(t *testing.T) {
	cases := []struct {
		name string
		opts sandbox.Options
		want time.Time
	}{
		{"default seed", sandbox.Options{}, time.Date(2026, 9, 2, 12, 0, 0, 0, time.UTC)},
		{"seed 20", sandbox.Options{Seed: 20}, time.Date(2026, 9, 7, 12, 0, 0, 0, time.UTC)},
		{"set by the test", sandbox.Options{ReferenceDate: time.Date(2027, 1, 31, 0, 0, 0, 0, time.UTC)}, time.Date(2027, 1, 31, 0, 0, 0, 0, time.UTC)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts.Policies = sandbox.MinPolicies
			if got := sandboxtest.Start(t, tc.opts).Sandbox.ReferenceDate(); !got.Equal(tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}
