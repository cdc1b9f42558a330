package tokens_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"backoffice/internal/audit/pgtest"
	"backoffice/internal/redistest"
	"backoffice/internal/tokens"
)

// fakeClock is a settable "now" for the stores that take one.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is a store under test and its clock: a fake one where the store
// takes it, else the real one with expiries short enough to wait out.
type env struct {
	s       tokens.Store
	now     func() time.Time
	advance func(time.Duration)
	// short is an expiry that advance(2*short) outlives.
	short time.Duration
}

func newEnv(s tokens.Store) env {
	c := &fakeClock{t: time.Date(2026, 7, 1, 9, 30, 0, 123456789, time.FixedZone("EEST", 3*3600))}
	if tokens.SetClock(s, c.Now) {
		return env{s: s, now: c.Now, advance: c.Advance, short: time.Minute}
	}
	return env{s: s, now: time.Now, advance: time.Sleep, short: 400 * time.Millisecond}
}

var ctx = context.Background()

func record(key, owner, kind, subject string, expires time.Time) tokens.Record {
	return tokens.Record{Key: key, Owner: owner, Kind: kind, Subject: subject, State: []byte("state of " + key), Expires: expires}
}

func mustCreate(t *testing.T, s tokens.Store, r tokens.Record, perOwner int) {
	t.Helper()
	if err := s.Create(ctx, r, perOwner); err != nil {
		t.Fatalf("Create(%s): %v", r.Key, err)
	}
}

func mustGet(t *testing.T, s tokens.Store, key string) tokens.Record {
	t.Helper()
	r, err := s.Get(ctx, key)
	if err != nil {
		t.Fatalf("Get(%s): %v", key, err)
	}
	return r
}

func mustClaim(t *testing.T, s tokens.Store, key string, want bool) {
	t.Helper()
	won, err := s.Claim(ctx, key)
	if err != nil || won != want {
		t.Fatalf("Claim(%s) = %v, %v; want %v", key, won, err, want)
	}
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: got error %v, want %v", what, err, want)
	}
}

// wantFind checks that Find returns the record key ("" for none).
func wantFind(t *testing.T, s tokens.Store, owner, kind, subject, key string) {
	t.Helper()
	r, ok, err := s.Find(ctx, owner, kind, subject)
	switch {
	case err != nil:
		t.Errorf("Find(%q, %q, %q): %v", owner, kind, subject, err)
	case key == "" && ok:
		t.Errorf("Find(%q, %q, %q) = %s, want none", owner, kind, subject, r.Key)
	case key != "" && (!ok || r.Key != key):
		t.Errorf("Find(%q, %q, %q) = %q, %v; want %s", owner, kind, subject, r.Key, ok, key)
	}
}

// sameRecord compares what a caller gave Create with what Get returned.
func sameRecord(t *testing.T, got, want tokens.Record) {
	t.Helper()
	wantExp := want.Expires.UTC().Truncate(time.Microsecond)
	if got.Key != want.Key || got.Owner != want.Owner || got.Kind != want.Kind || got.Subject != want.Subject ||
		!bytes.Equal(got.State, want.State) || !got.Expires.Equal(wantExp) {
		t.Errorf("got %+v\nwant %+v (expires %v)", got, want, wantExp)
	}
	for name, tm := range map[string]time.Time{"Created": got.Created, "Expires": got.Expires, "Claimed": got.Claimed} {
		if !tm.IsZero() && tm.Location() != time.UTC {
			t.Errorf("%s is in %v, want UTC", name, tm.Location())
		}
	}
}

// testStore is what every Store must do; Memory is the reference. open
// returns a new, empty store, closed when t ends.
func testStore(t *testing.T, open func(t *testing.T) tokens.Store) {
	run := func(name string, f func(t *testing.T, e env)) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f(t, newEnv(open(t)))
		})
	}
	run("create, get and find", testCreateGetFind)
	run("per-owner bound", testPerOwner)
	run("expiry", testExpiry)
	run("set state", testSetState)
	run("claim", testClaim)
	run("claim new", testClaimNew)
	run("claim new over an expired record", testClaimNewExpired)
	run("finish", testFinish)
	run("finish extends the expiry", testFinishExtends)
	run("release", testRelease)
	run("invalid records", testInvalidRecords)
	run("invalid calls", testInvalidCalls)
	run("limits", testLimits)
}

func testCreateGetFind(t *testing.T, e env) {
	s := e.s
	exp := e.now().Add(time.Hour)
	before := e.now()
	older := record("tok-older", "sess-1", "cancel", "P1@3", exp)
	mustCreate(t, s, older, 10)
	newer := record("tok-newer", "sess-1", "cancel", "P1@3", exp)
	newer.State = nil
	mustCreate(t, s, newer, 10)
	mustCreate(t, s, record("tok-push", "sess-1", "push", "P1@3", exp), 10)
	mustCreate(t, s, record("tok-p2", "sess-1", "cancel", "P2@1", exp), 10)
	mustCreate(t, s, record("tok-other", "sess-2", "cancel", "P1@3", exp), 10)
	after := e.now()

	got := mustGet(t, s, "tok-older")
	sameRecord(t, got, older)
	if !got.Claimed.IsZero() || got.Result != nil {
		t.Errorf("a new record has Claimed %v, Result %q; want neither", got.Claimed, got.Result)
	}
	if got.Created.Before(before.Add(-time.Second)) || got.Created.After(after.Add(time.Second)) {
		t.Errorf("Created = %v, want between %v and %v", got.Created, before, after)
	}
	sameRecord(t, mustGet(t, s, "tok-newer"), newer)
	if n := mustGet(t, s, "tok-newer"); !n.Created.After(got.Created) {
		t.Errorf("the newer record's Created %v is not after the older's %v", n.Created, got.Created)
	}

	// A caller changing what it got changes nothing stored.
	got.State[0] = 'X'
	if again := mustGet(t, s, "tok-older"); !bytes.Equal(again.State, older.State) {
		t.Errorf("state after the caller changed its copy: %q", again.State)
	}

	wantFind(t, s, "sess-1", "cancel", "P1@3", "tok-newer")
	wantFind(t, s, "sess-1", "push", "P1@3", "tok-push")
	wantFind(t, s, "sess-1", "cancel", "P2@1", "tok-p2")
	wantFind(t, s, "sess-2", "cancel", "P1@3", "tok-other")
	wantFind(t, s, "sess-3", "cancel", "P1@3", "")
	wantFind(t, s, "sess-1", "offers", "P1@3", "")
	wantFind(t, s, "sess-1", "cancel", "P9@1", "")
	wantFind(t, s, "", "cancel", "P1@3", "")
	// Claimed records are not offered again: the older one is next.
	mustClaim(t, s, "tok-newer", true)
	wantFind(t, s, "sess-1", "cancel", "P1@3", "tok-older")
	mustClaim(t, s, "tok-older", true)
	wantFind(t, s, "sess-1", "cancel", "P1@3", "")
	r, ok, err := s.Find(ctx, "sess-2", "cancel", "P1@3")
	if err != nil || !ok {
		t.Fatalf("Find: %v, %v", ok, err)
	}
	sameRecord(t, r, record("tok-other", "sess-2", "cancel", "P1@3", exp))

	// A key in use cannot be created again, and the record stays.
	dup := record("tok-older", "sess-9", "push", "X", exp)
	wantErr(t, "Create of an existing key", s.Create(ctx, dup, 10), tokens.ErrInvalid)
	if g := mustGet(t, s, "tok-older"); g.Owner != "sess-1" || g.Claimed.IsZero() {
		t.Errorf("after a duplicate Create: owner %q, claimed %v", g.Owner, g.Claimed)
	}
	wantErr(t, "Get of a missing key", func() error { _, err := s.Get(ctx, "tok-missing"); return err }(), tokens.ErrNotFound)
}

func testPerOwner(t *testing.T, e env) {
	s := e.s
	exp := e.now().Add(time.Hour)
	mustCreate(t, s, record("neighbour", "sess-2", "cancel", "P", exp), 10)
	for i := range 30 {
		r := record(fmt.Sprintf("k%02d", i), "sess-1", "cancel", "P", exp)
		if i%3 == 0 {
			r.Kind = "push"
		}
		mustCreate(t, s, r, 10)
	}
	for i := range 30 {
		key := fmt.Sprintf("k%02d", i)
		_, err := s.Get(ctx, key)
		switch {
		case i < 20 && !errors.Is(err, tokens.ErrNotFound):
			t.Errorf("Get(%s) = %v; want ErrNotFound (one of the 20 oldest)", key, err)
		case i >= 20 && err != nil:
			t.Errorf("Get(%s) = %v; want it kept (one of the 10 newest)", key, err)
		}
	}
	mustGet(t, s, "neighbour")
	wantFind(t, s, "sess-1", "cancel", "P", "k29")
	wantFind(t, s, "sess-1", "push", "P", "k27")
	// A claimed record is a write under way, or its kept answer: the
	// bound neither counts nor evicts it (writes are bounded by the
	// forms that were open), or a session opening pages while its write
	// runs would lose the write's answer.
	mustClaim(t, s, "k29", true)
	mustCreate(t, s, record("k30", "sess-1", "cancel", "P", exp), 10)
	mustGet(t, s, "k20") // 10 open forms: k20…k28 and k30
	mustCreate(t, s, record("k31", "sess-1", "cancel", "P", exp), 10)
	wantErr(t, "Get(k20) after an 11th open form", func() error { _, err := s.Get(ctx, "k20"); return err }(), tokens.ErrNotFound)
	for i := range 20 {
		mustCreate(t, s, record(fmt.Sprintf("m%02d", i), "sess-1", "cancel", "P", exp), 10)
	}
	mustGet(t, s, "k29")
}

func testExpiry(t *testing.T, e env) {
	s := e.s
	short := e.now().Add(e.short)
	mustCreate(t, s, record("soon", "sess-1", "cancel", "P", short), 10)
	if won, err := s.ClaimNew(ctx, record("renewal-soon", "", "casco-renewal", "", short)); err != nil || !won {
		t.Fatalf("ClaimNew = %v, %v", won, err)
	}
	mustCreate(t, s, record("later", "sess-1", "push", "P", e.now().Add(time.Hour)), 10)
	wantFind(t, s, "sess-1", "cancel", "P", "soon")

	e.advance(2 * e.short)
	for _, key := range []string{"soon", "renewal-soon"} {
		_, err := s.Get(ctx, key)
		wantErr(t, "Get of an expired record", err, tokens.ErrNotFound)
		_, err = s.Claim(ctx, key)
		wantErr(t, "Claim of an expired record", err, tokens.ErrNotFound)
		wantErr(t, "SetState of an expired record", s.SetState(ctx, key, []byte("x")), tokens.ErrNotFound)
		wantErr(t, "Finish of an expired record", s.Finish(ctx, key, []byte("r"), time.Time{}), tokens.ErrNotFound)
		wantErr(t, "Release of an expired record", s.Release(ctx, key), tokens.ErrNotFound)
	}
	wantFind(t, s, "sess-1", "cancel", "P", "")
	wantFind(t, s, "sess-1", "push", "P", "later")
	// An expired key is free again.
	again := record("soon", "sess-3", "offers", "D", e.now().Add(time.Hour))
	mustCreate(t, s, again, 10)
	got := mustGet(t, s, "soon")
	sameRecord(t, got, again)
	if !got.Claimed.IsZero() || got.Result != nil {
		t.Errorf("a record created over an expired one inherits Claimed %v, Result %q", got.Claimed, got.Result)
	}
	wantFind(t, s, "sess-3", "offers", "D", "soon")
}

func testSetState(t *testing.T, e env) {
	s := e.s
	r := record("form", "sess-1", "push", "D1", e.now().Add(time.Hour))
	mustCreate(t, s, r, 10)
	if err := s.SetState(ctx, "form", []byte(`{"push":"42"}`)); err != nil {
		t.Fatal(err)
	}
	r.State = []byte(`{"push":"42"}`)
	sameRecord(t, mustGet(t, s, "form"), r)
	// The state changes while the form is being sent, claimed.
	mustClaim(t, s, "form", true)
	if err := s.SetState(ctx, "form", nil); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, s, "form"); got.State != nil || got.Claimed.IsZero() {
		t.Errorf("after SetState(nil) of a claimed record: state %q, claimed %v", got.State, got.Claimed)
	}
	wantErr(t, "SetState of a missing record", s.SetState(ctx, "nope", []byte("x")), tokens.ErrNotFound)
	wantErr(t, "Get after SetState of a missing record", func() error { _, err := s.Get(ctx, "nope"); return err }(), tokens.ErrNotFound)
}

func testClaim(t *testing.T, e env) {
	s := e.s
	mustCreate(t, s, record("form", "sess-1", "cancel", "P", e.now().Add(time.Hour)), 10)
	mustClaim(t, s, "form", true)
	mustClaim(t, s, "form", false)
	got := mustGet(t, s, "form")
	if got.Claimed.IsZero() || got.Claimed.Before(got.Created) || got.Claimed.Location() != time.UTC {
		t.Errorf("Claimed = %v, want in UTC, not before Created %v", got.Claimed, got.Created)
	}
	if got.Result != nil {
		t.Errorf("a claimed record has Result %q before Finish", got.Result)
	}
	won, err := s.Claim(ctx, "missing")
	if won || !errors.Is(err, tokens.ErrNotFound) {
		t.Errorf("Claim of a missing key = %v, %v; want ErrNotFound", won, err)
	}
	// Claim must not have created it.
	wantErr(t, "Get after Claim of a missing key", func() error { _, err := s.Get(ctx, "missing"); return err }(), tokens.ErrNotFound)
}

func testClaimNew(t *testing.T, e env) {
	s := e.s
	r := record("hash-of-refresh-1", "", "casco-renewal", "", e.now().Add(time.Hour))
	won, err := s.ClaimNew(ctx, r)
	if err != nil || !won {
		t.Fatalf("first ClaimNew = %v, %v", won, err)
	}
	other := r
	other.State = []byte("another instance's")
	won, err = s.ClaimNew(ctx, other)
	if err != nil || won {
		t.Fatalf("second ClaimNew = %v, %v; want false", won, err)
	}
	got := mustGet(t, s, r.Key)
	sameRecord(t, got, r)
	if got.Claimed.IsZero() || got.Created.IsZero() || got.Result != nil {
		t.Errorf("ClaimNew's record: Claimed %v, Created %v, Result %q", got.Claimed, got.Created, got.Result)
	}
	mustClaim(t, s, r.Key, false)
	wantFind(t, s, "", "casco-renewal", "", "")

	// A failed attempt's Release lets the next ClaimNew of the same
	// work win, with the new record.
	if err := s.Release(ctx, r.Key); err != nil {
		t.Fatal(err)
	}
	retry := record(r.Key, "", "casco-renewal", "", e.now().Add(2*time.Hour))
	retry.State = []byte("retry")
	if won, err = s.ClaimNew(ctx, retry); err != nil || !won {
		t.Fatalf("ClaimNew after Release = %v, %v; want true", won, err)
	}
	got = mustGet(t, s, r.Key)
	sameRecord(t, got, retry)
	if got.Claimed.IsZero() {
		t.Error("ClaimNew after Release left the record unclaimed")
	}
	if won, err = s.ClaimNew(ctx, retry); err != nil || won {
		t.Errorf("ClaimNew of a claimed retry = %v, %v; want false", won, err)
	}
	if err := s.Finish(ctx, r.Key, []byte("tokens"), time.Time{}); err != nil {
		t.Fatal(err)
	}
	if won, err = s.ClaimNew(ctx, retry); err != nil || won {
		t.Errorf("ClaimNew of a finished record = %v, %v; want false", won, err)
	}

	// An unclaimed record of another owner is replaced too, and leaves
	// that owner: its Find and bound no longer see it.
	mustCreate(t, s, record("form", "sess-1", "cancel", "P", e.now().Add(time.Hour)), 10)
	if won, err = s.ClaimNew(ctx, record("form", "sess-2", "push", "D", e.now().Add(time.Hour))); err != nil || !won {
		t.Errorf("ClaimNew over an unclaimed form = %v, %v; want true", won, err)
	}
	if got := mustGet(t, s, "form"); got.Owner != "sess-2" || got.Claimed.IsZero() {
		t.Errorf("after ClaimNew over an unclaimed form: owner %q, claimed %v", got.Owner, got.Claimed)
	}
	wantFind(t, s, "sess-1", "cancel", "P", "")
	for i := range 3 {
		mustCreate(t, s, record(fmt.Sprintf("sess-1-%d", i), "sess-1", "cancel", "P", e.now().Add(time.Hour)), 3)
	}
	mustGet(t, s, "sess-1-0")
	mustGet(t, s, "form")
}

func testClaimNewExpired(t *testing.T, e env) {
	s := e.s
	first := record("hash-1", "", "casco-renewal", "", e.now().Add(e.short))
	if won, err := s.ClaimNew(ctx, first); err != nil || !won {
		t.Fatalf("ClaimNew = %v, %v", won, err)
	}
	if err := s.Finish(ctx, "hash-1", []byte("old result"), time.Time{}); err != nil {
		t.Fatal(err)
	}
	e.advance(2 * e.short)
	second := record("hash-1", "", "casco-renewal", "", e.now().Add(time.Hour))
	second.State = []byte("second")
	if won, err := s.ClaimNew(ctx, second); err != nil || !won {
		t.Fatalf("ClaimNew over an expired record = %v, %v; want true", won, err)
	}
	got := mustGet(t, s, "hash-1")
	sameRecord(t, got, second)
	if got.Result != nil || got.Claimed.IsZero() {
		t.Errorf("the replacing record has Result %q, Claimed %v; want no result, claimed", got.Result, got.Claimed)
	}
	if won, err := s.ClaimNew(ctx, second); err != nil || won {
		t.Errorf("ClaimNew again = %v, %v; want false", won, err)
	}
}

func testFinish(t *testing.T, e env) {
	s := e.s
	r := record("form", "sess-1", "cancel", "P", e.now().Add(time.Hour))
	mustCreate(t, s, r, 10)
	mustClaim(t, s, "form", true)
	if err := s.Finish(ctx, "form", []byte(`{"status":303}`), time.Time{}); err != nil {
		t.Fatal(err)
	}
	got := mustGet(t, s, "form")
	sameRecord(t, got, r) // Expires unchanged by a zero expiry
	if string(got.Result) != `{"status":303}` || got.Claimed.IsZero() {
		t.Errorf("after Finish: Result %q, Claimed %v", got.Result, got.Claimed)
	}
	mustClaim(t, s, "form", false)

	// An empty result still marks the record finished.
	mustCreate(t, s, record("empty", "sess-1", "push", "D", e.now().Add(time.Hour)), 10)
	mustClaim(t, s, "empty", true)
	if err := s.Finish(ctx, "empty", nil, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, s, "empty"); got.Result == nil || len(got.Result) != 0 {
		t.Errorf("after Finish(nil): Result %#v, want empty and not nil", got.Result)
	}
	wantErr(t, "Release of a finished record", s.Release(ctx, "empty"), tokens.ErrInvalid)
}

func testFinishExtends(t *testing.T, e env) {
	s := e.s
	mustCreate(t, s, record("form", "sess-1", "cancel", "P", e.now().Add(e.short)), 10)
	mustClaim(t, s, "form", true)
	longer := e.now().Add(time.Hour)
	if err := s.Finish(ctx, "form", []byte("answer"), longer); err != nil {
		t.Fatal(err)
	}
	e.advance(2 * e.short)
	got := mustGet(t, s, "form")
	if !got.Expires.Equal(longer.Truncate(time.Microsecond)) || string(got.Result) != "answer" {
		t.Errorf("after Finish with a later expiry and the old one passed: Expires %v, Result %q; want %v, answer", got.Expires, got.Result, longer)
	}
	// A shorter one replaces it too.
	shorter := e.now().Add(e.short)
	if err := s.Finish(ctx, "form", []byte("answer"), shorter); err != nil {
		t.Fatal(err)
	}
	e.advance(2 * e.short)
	wantErr(t, "Get after Finish shortened the expiry", func() error { _, err := s.Get(ctx, "form"); return err }(), tokens.ErrNotFound)
}

func testRelease(t *testing.T, e env) {
	s := e.s
	mustCreate(t, s, record("form", "sess-1", "cancel", "P", e.now().Add(time.Hour)), 10)
	if err := s.Release(ctx, "form"); err != nil {
		t.Errorf("Release of an unclaimed record: %v", err)
	}
	mustClaim(t, s, "form", true)
	if err := s.Release(ctx, "form"); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, s, "form"); !got.Claimed.IsZero() {
		t.Errorf("after Release: Claimed %v", got.Claimed)
	}
	wantFind(t, s, "sess-1", "cancel", "P", "form")
	mustClaim(t, s, "form", true)
	mustClaim(t, s, "form", false)
	if err := s.Finish(ctx, "form", []byte("done"), time.Time{}); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "Release of a finished record", s.Release(ctx, "form"), tokens.ErrInvalid)
	if got := mustGet(t, s, "form"); got.Claimed.IsZero() || string(got.Result) != "done" {
		t.Errorf("a refused Release changed the record: Claimed %v, Result %q", got.Claimed, got.Result)
	}
	wantErr(t, "Release of a missing record", s.Release(ctx, "missing"), tokens.ErrNotFound)
}

func testInvalidRecords(t *testing.T, e env) {
	s := e.s
	long := strings.Repeat("x", tokens.MaxKey+1)
	for _, tc := range []struct {
		name string
		edit func(r *tokens.Record)
		want error
	}{
		{"empty key", func(r *tokens.Record) { r.Key = "" }, tokens.ErrInvalid},
		{"empty kind", func(r *tokens.Record) { r.Kind = "" }, tokens.ErrInvalid},
		{"long key", func(r *tokens.Record) { r.Key = long }, tokens.ErrInvalid},
		{"long owner", func(r *tokens.Record) { r.Owner = long }, tokens.ErrInvalid},
		{"long kind", func(r *tokens.Record) { r.Kind = long }, tokens.ErrInvalid},
		{"long subject", func(r *tokens.Record) { r.Subject = long }, tokens.ErrInvalid},
		{"key not UTF-8", func(r *tokens.Record) { r.Key = "tok\xff" }, tokens.ErrInvalid},
		{"owner not UTF-8", func(r *tokens.Record) { r.Owner = "\xc3" }, tokens.ErrInvalid},
		{"kind not UTF-8", func(r *tokens.Record) { r.Kind = "can\xffcel" }, tokens.ErrInvalid},
		{"subject not UTF-8", func(r *tokens.Record) { r.Subject = "P\xfe" }, tokens.ErrInvalid},
		{"NUL in subject", func(r *tokens.Record) { r.Subject = "P\x001" }, tokens.ErrInvalid},
		{"no expiry", func(r *tokens.Record) { r.Expires = time.Time{} }, tokens.ErrInvalid},
		{"expired", func(r *tokens.Record) { r.Expires = e.now().Add(-time.Second) }, tokens.ErrInvalid},
		{"expires now", func(r *tokens.Record) { r.Expires = e.now() }, tokens.ErrInvalid},
		{"state too large", func(r *tokens.Record) { r.State = make([]byte, tokens.MaxState+1) }, tokens.ErrTooLarge},
	} {
		r := record("tok", "sess-1", "cancel", "P", e.now().Add(time.Hour))
		tc.edit(&r)
		wantErr(t, "Create with "+tc.name, s.Create(ctx, r, 10), tc.want)
		won, err := s.ClaimNew(ctx, r)
		wantErr(t, "ClaimNew with "+tc.name, err, tc.want)
		if won {
			t.Errorf("ClaimNew with %s won", tc.name)
		}
		if r.Key == "tok" {
			_, err := s.Get(ctx, "tok")
			wantErr(t, "Get after a refused record with "+tc.name, err, tokens.ErrNotFound)
		}
	}
	for _, n := range []int{0, -1} {
		wantErr(t, fmt.Sprintf("Create with perOwner %d", n), s.Create(ctx, record("tok", "sess-1", "cancel", "P", e.now().Add(time.Hour)), n), tokens.ErrInvalid)
	}
	_, err := s.Get(ctx, "tok")
	wantErr(t, "Get after refused Creates", err, tokens.ErrNotFound)
}

func testInvalidCalls(t *testing.T, e env) {
	s := e.s
	mustCreate(t, s, record("form", "sess-1", "cancel", "P", e.now().Add(time.Hour)), 10)
	for _, key := range []string{"", strings.Repeat("k", tokens.MaxKey+1), "k\xff"} {
		_, err := s.Get(ctx, key)
		wantErr(t, fmt.Sprintf("Get(%q)", key), err, tokens.ErrInvalid)
		wantErr(t, "SetState of a bad key", s.SetState(ctx, key, nil), tokens.ErrInvalid)
		_, err = s.Claim(ctx, key)
		wantErr(t, "Claim of a bad key", err, tokens.ErrInvalid)
		wantErr(t, "Finish of a bad key", s.Finish(ctx, key, nil, time.Time{}), tokens.ErrInvalid)
		wantErr(t, "Release of a bad key", s.Release(ctx, key), tokens.ErrInvalid)
	}
	for _, args := range [][3]string{{"sess-1", "", "P"}, {strings.Repeat("o", tokens.MaxKey+1), "cancel", "P"}, {"sess-1", "cancel", "P\xff"}} {
		_, ok, err := s.Find(ctx, args[0], args[1], args[2])
		wantErr(t, fmt.Sprintf("Find%q", args), err, tokens.ErrInvalid)
		if ok {
			t.Errorf("Find%q found a record", args)
		}
	}

	wantErr(t, "SetState too large", s.SetState(ctx, "form", make([]byte, tokens.MaxState+1)), tokens.ErrTooLarge)
	if got := mustGet(t, s, "form"); string(got.State) != "state of form" {
		t.Errorf("a refused SetState changed the state to %d bytes", len(got.State))
	}
	wantErr(t, "Finish of an unclaimed record", s.Finish(ctx, "form", []byte("r"), time.Time{}), tokens.ErrInvalid)
	if got := mustGet(t, s, "form"); got.Result != nil || !got.Claimed.IsZero() {
		t.Errorf("a refused Finish left Result %q, Claimed %v", got.Result, got.Claimed)
	}
	wantErr(t, "Finish of a missing record", s.Finish(ctx, "missing", []byte("r"), time.Time{}), tokens.ErrNotFound)
	mustClaim(t, s, "form", true)
	wantErr(t, "Finish too large", s.Finish(ctx, "form", make([]byte, tokens.MaxResult+1), time.Time{}), tokens.ErrTooLarge)
	wantErr(t, "Finish with a past expiry", s.Finish(ctx, "form", []byte("r"), e.now().Add(-time.Minute)), tokens.ErrInvalid)
	if got := mustGet(t, s, "form"); got.Result != nil {
		t.Errorf("a refused Finish stored Result %q", got.Result)
	}
}

func testLimits(t *testing.T, e env) {
	s := e.s
	// Multi-byte letters: the bound is in bytes.
	atMax := strings.Repeat("ș", tokens.MaxKey/2)
	r := tokens.Record{Key: atMax, Owner: atMax, Kind: atMax, Subject: atMax, State: bytes.Repeat([]byte{0, 0xff}, tokens.MaxState/2), Expires: e.now().Add(time.Hour)}
	mustCreate(t, s, r, 1)
	sameRecord(t, mustGet(t, s, atMax), r)
	wantFind(t, s, atMax, atMax, atMax, atMax)
	mustClaim(t, s, atMax, true)
	result := bytes.Repeat([]byte{0xfe, 0}, tokens.MaxResult/2)
	if err := s.Finish(ctx, atMax, result, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, s, atMax); !bytes.Equal(got.Result, result) {
		t.Errorf("a result of MaxResult bytes read back as %d bytes", len(got.Result))
	}
}

// testInstances runs two Store values on one database, as two
// dashboard instances would.
func testInstances(t *testing.T, open func(t *testing.T) (tokens.Store, tokens.Store)) {
	const callers = 50
	race := func(t *testing.T, try func(s tokens.Store) (bool, error)) {
		t.Helper()
		one, two := open(t)
		var won atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		stores := [2]tokens.Store{one, two}
		for i := range callers {
			wg.Go(func() {
				<-start
				ok, err := try(stores[i%2])
				if err != nil {
					t.Errorf("caller %d: %v", i, err)
				}
				if ok {
					won.Add(1)
				}
			})
		}
		close(start)
		wg.Wait()
		if n := won.Load(); n != 1 {
			t.Errorf("%d of %d callers won, want exactly 1", n, callers)
		}
	}
	t.Run("claim", func(t *testing.T) {
		t.Parallel()
		var made sync.Once
		race(t, func(s tokens.Store) (bool, error) {
			var err error
			made.Do(func() { err = s.Create(ctx, record("form", "sess-1", "cancel", "P", time.Now().Add(time.Hour)), 10) })
			if err != nil {
				return false, err
			}
			return s.Claim(ctx, "form")
		})
	})
	t.Run("claim new", func(t *testing.T) {
		t.Parallel()
		race(t, func(s tokens.Store) (bool, error) {
			return s.ClaimNew(ctx, record("hash", "", "casco-renewal", "", time.Now().Add(time.Hour)))
		})
	})
	t.Run("claim new over an expired record", func(t *testing.T) {
		t.Parallel()
		var made sync.Once
		race(t, func(s tokens.Store) (bool, error) {
			var err error
			made.Do(func() {
				if _, err = s.ClaimNew(ctx, record("hash", "", "casco-renewal", "", time.Now().Add(100*time.Millisecond))); err == nil {
					time.Sleep(250 * time.Millisecond)
				}
			})
			if err != nil {
				return false, err
			}
			return s.ClaimNew(ctx, record("hash", "", "casco-renewal", "", time.Now().Add(time.Hour)))
		})
	})
	t.Run("claim new over a released record", func(t *testing.T) {
		t.Parallel()
		var made sync.Once
		race(t, func(s tokens.Store) (bool, error) {
			var err error
			made.Do(func() {
				if _, err = s.ClaimNew(ctx, record("hash", "", "casco-renewal", "", time.Now().Add(time.Hour))); err == nil {
					err = s.Release(ctx, "hash")
				}
			})
			if err != nil {
				return false, err
			}
			return s.ClaimNew(ctx, record("hash", "", "casco-renewal", "", time.Now().Add(time.Hour)))
		})
	})
	t.Run("one sees the other's records", func(t *testing.T) {
		t.Parallel()
		one, two := open(t)
		mustCreate(t, one, record("form", "sess-1", "cancel", "P", time.Now().Add(time.Hour)), 10)
		wantFind(t, two, "sess-1", "cancel", "P", "form")
		mustClaim(t, two, "form", true)
		mustClaim(t, one, "form", false)
		if err := two.Finish(ctx, "form", []byte("answer"), time.Time{}); err != nil {
			t.Fatal(err)
		}
		if got := mustGet(t, one, "form"); string(got.Result) != "answer" {
			t.Errorf("the other instance reads Result %q", got.Result)
		}
	})
}

// mustOpen opens a store and closes it when t ends.
func mustOpen(t testing.TB, cfg tokens.Config) tokens.Store {
	t.Helper()
	s, err := tokens.Open(ctx, cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestMemory(t *testing.T) {
	t.Parallel()
	testStore(t, func(*testing.T) tokens.Store { return tokens.NewMemory() })
	t.Run("instances", func(t *testing.T) {
		t.Parallel()
		// One process: both "instances" are the one Memory.
		testInstances(t, func(*testing.T) (tokens.Store, tokens.Store) { m := tokens.NewMemory(); return m, m })
	})
	t.Run("bound at scale", func(t *testing.T) {
		t.Parallel()
		testBoundAtScale(t, tokens.NewMemory(), 30000)
	})
}

func TestSQLite(t *testing.T) {
	t.Parallel()
	testStore(t, func(t *testing.T) tokens.Store {
		return mustOpen(t, tokens.Config{Path: filepath.Join(t.TempDir(), "tokens.db")})
	})
	t.Run("instances", func(t *testing.T) {
		t.Parallel()
		testInstances(t, func(t *testing.T) (tokens.Store, tokens.Store) {
			cfg := tokens.Config{Path: filepath.Join(t.TempDir(), "tokens.db")}
			return mustOpen(t, cfg), mustOpen(t, cfg)
		})
	})
	t.Run("bound at scale", func(t *testing.T) {
		t.Parallel()
		// Each Create is a durable commit (sqlstore's synchronous=FULL:
		// an fsync) through SQLite compiled from C: 30,000 took 10 s
		// here, 74 s under -race. Each Create trims the owner, so the
		// bound after 3,000 is the bound after 30,000.
		testBoundAtScale(t, mustOpen(t, tokens.Config{Path: filepath.Join(t.TempDir(), "tokens.db")}), 3000)
	})
}

// TestPostgres runs against a real server: a throwaway one started here,
// or AUDIT_TEST_DATABASE_URL's.
func TestPostgres(t *testing.T) {
	t.Parallel()
	srv := pgtest.Start(t)
	testStore(t, func(t *testing.T) tokens.Store {
		return mustOpen(t, tokens.Config{DatabaseURL: srv.NewDatabase(t)})
	})
	t.Run("instances", func(t *testing.T) {
		t.Parallel()
		testInstances(t, func(t *testing.T) (tokens.Store, tokens.Store) {
			cfg := tokens.Config{DatabaseURL: srv.NewDatabase(t)}
			return mustOpen(t, cfg), mustOpen(t, cfg)
		})
	})
	t.Run("beside the audit log", func(t *testing.T) {
		t.Parallel()
		testBesideAudit(t, srv.NewDatabase(t))
	})
	t.Run("bound at scale", func(t *testing.T) {
		t.Parallel()
		testBoundAtScale(t, mustOpen(t, tokens.Config{DatabaseURL: srv.NewDatabase(t)}), 1000)
	})
}

// namespaces gives each Redis test its own keys on the shared server.
var namespaces atomic.Int64

func newNamespace() string { return fmt.Sprintf("test%d:tokens:", namespaces.Add(1)) }

// TestRedis runs against a throwaway redis-server.
func TestRedis(t *testing.T) {
	t.Parallel()
	url := redistest.Start(t)
	testStore(t, func(t *testing.T) tokens.Store {
		return mustOpen(t, tokens.Config{RedisURL: url, RedisNamespace: newNamespace()})
	})
	t.Run("instances", func(t *testing.T) {
		t.Parallel()
		testInstances(t, func(t *testing.T) (tokens.Store, tokens.Store) {
			cfg := tokens.Config{RedisURL: url, RedisNamespace: newNamespace()}
			return mustOpen(t, cfg), mustOpen(t, cfg)
		})
	})
	t.Run("keys", func(t *testing.T) {
		t.Parallel()
		testRedisKeys(t, url)
	})
	t.Run("bound at scale", func(t *testing.T) {
		t.Parallel()
		testBoundAtScale(t, mustOpen(t, tokens.Config{RedisURL: url, RedisNamespace: newNamespace()}), 30000)
	})
}
