package quotes_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"backoffice/internal/audit"
	"backoffice/internal/audit/pgtest"
	"backoffice/internal/quotes"
)

// backend is one Store implementation under the shared conformance test.
type backend struct {
	name string
	// fresh makes an empty store for t.
	fresh func(t *testing.T) store
}

// store is one empty store's storage, which may be opened again: in
// memory (mem) or SQL (cfg, and raw to reach it with plain SQL).
type store struct {
	mem *quotes.Memory
	cfg quotes.Config
	raw func(t *testing.T) *sql.DB
}

// open opens the store (again) and closes it when t ends.
func (st store) open(t *testing.T) quotes.Store {
	t.Helper()
	if st.mem != nil {
		return st.mem
	}
	s, err := quotes.Open(context.Background(), st.cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func memoryBackend() backend {
	return backend{name: "memory", fresh: func(*testing.T) store { return store{mem: quotes.NewMemory()} }}
}

func sqliteBackend() backend {
	return backend{name: "sqlite", fresh: func(t *testing.T) store {
		path := filepath.Join(t.TempDir(), "quotes.db")
		return store{
			cfg: quotes.Config{Path: path},
			raw: func(t *testing.T) *sql.DB {
				t.Helper()
				db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { db.Close() })
				return db
			},
		}
	}}
}

func postgresBackend(srv *pgtest.Server) backend {
	return backend{name: "postgres", fresh: func(t *testing.T) store {
		dbURL := srv.NewDatabase(t)
		return store{cfg: quotes.Config{DatabaseURL: dbURL}, raw: func(t *testing.T) *sql.DB { return rawPostgres(t, dbURL) }}
	}}
}

func rawPostgres(t *testing.T, dbURL string) *sql.DB {
	t.Helper()
	cfg, err := pgx.ParseConfig(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	db := stdlib.OpenDB(*cfg)
	t.Cleanup(func() { db.Close() })
	return db
}

func TestMemory(t *testing.T) {
	t.Parallel()
	conformance(t, memoryBackend())
}

func TestSQLite(t *testing.T) {
	t.Parallel()
	conformance(t, sqliteBackend())
}

// TestPostgres runs against a real server: a throwaway one started here,
// or AUDIT_TEST_DATABASE_URL's.
func TestPostgres(t *testing.T) {
	t.Parallel()
	srv := pgtest.Start(t)
	conformance(t, postgresBackend(srv))
	t.Run("beside the audit log", func(t *testing.T) {
		t.Parallel()
		testBesideAudit(t, srv.NewDatabase(t))
	})
}

// conformance is what every Store must do; Memory is the reference.
func conformance(t *testing.T, b backend) {
	tests := []struct {
		name string
		run  func(t *testing.T, st store)
		// sql: about storage that outlives the Store value.
		sql bool
	}{
		{"create, get and save", testCreateGetSave, false},
		{"concurrent saves", testConcurrentSaves, false},
		{"accounts are isolated", testIsolation, false},
		{"list order and paging", testList, false},
		{"offers", testOffers, false},
		{"asks", testAsks, false},
		{"concurrent answers", testConcurrentAnswers, false},
		{"concurrent offer replaces", testConcurrentReplaces, false},
		{"policies", testPolicies, false},
		{"concurrent policies", testConcurrentPolicies, false},
		{"limits", testLimits, false},
		{"fresh drafts", testFreshDraft, false},
		{"concurrent fresh drafts", testConcurrentFreshDrafts, false},
		{"list counts insurers", testListInsurers, false},
		{"reopen", testReopen, true},
		{"migrations", testMigrations, true},
	}
	for _, tt := range tests {
		if tt.sql && b.name == "memory" {
			continue
		}
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.run(t, b.fresh(t))
		})
	}
}

const (
	broker = "broker-ro-001"
	other  = "broker-ro-002"
)

var ctx = context.Background()

func mustCreate(t *testing.T, s quotes.Store, account string) quotes.Draft {
	t.Helper()
	d, err := s.CreateDraft(ctx, account)
	if err != nil {
		t.Fatalf("CreateDraft(%q): %v", account, err)
	}
	return d
}

func mustGet(t *testing.T, s quotes.Store, account, id string) quotes.Draft {
	t.Helper()
	d, err := s.GetDraft(ctx, account, id)
	if err != nil {
		t.Fatalf("GetDraft(%q, %q): %v", account, id, err)
	}
	return d
}

func mustSave(t *testing.T, s quotes.Store, d quotes.Draft) quotes.Draft {
	t.Helper()
	got, err := s.SaveDraft(ctx, d)
	if err != nil {
		t.Fatalf("SaveDraft(%s v%d): %v", d.ID, d.Version, err)
	}
	return got
}

func mustList(t *testing.T, s quotes.Store, account string, f quotes.Filter) quotes.Page {
	t.Helper()
	p, err := s.ListDrafts(ctx, account, f)
	if err != nil {
		t.Fatalf("ListDrafts(%q, %+v): %v", account, f, err)
	}
	return p
}

func mustOffers(t *testing.T, s quotes.Store, account, draftID string) []quotes.Offer {
	t.Helper()
	o, err := s.Offers(ctx, account, draftID)
	if err != nil {
		t.Fatalf("Offers(%q, %q): %v", account, draftID, err)
	}
	return o
}

func mustReplace(t *testing.T, s quotes.Store, account, draftID string, offers []quotes.Offer) {
	t.Helper()
	if err := s.ReplaceOffers(ctx, account, draftID, offers); err != nil {
		t.Fatalf("ReplaceOffers(%q, %q, %d offers): %v", account, draftID, len(offers), err)
	}
}

func mustRecord(t *testing.T, s quotes.Store, account string, p quotes.Policy) quotes.Policy {
	t.Helper()
	got, err := s.RecordPolicy(ctx, account, p)
	if err != nil {
		t.Fatalf("RecordPolicy(%q, %s): %v", account, p.OfferID, err)
	}
	return got
}

// checkTime checks that an instant is set, in UTC, whole microseconds.
func checkTime(t *testing.T, what string, got time.Time) {
	t.Helper()
	if got.IsZero() || got.Location() != time.UTC || !got.Equal(got.Truncate(time.Microsecond)) {
		t.Errorf("%s = %v (%v), want a set instant in UTC, whole microseconds", what, got, got.Location())
	}
}

// same compares two values field by field (times as instants, which
// must be UTC when set), reporting both in JSON on a difference.
func same[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(flat(got), flat(want)) {
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		t.Errorf("%s:\n got %s\nwant %s", what, g, w)
	}
}

// flat turns the times in a Draft, Offer, Policy or slice of them
// into their text in UTC, so that DeepEqual compares instants, not
// monotonic readings or location pointers.
func flat(v any) any {
	switch v := v.(type) {
	case quotes.Draft:
		return []any{v.ID, v.Account, v.Step, string(v.Vehicle), string(v.Owner), string(v.Cover), v.Version, ts(v.CreatedAt), ts(v.UpdatedAt), v.Title,
			v.Vehicle == nil, v.Owner == nil, v.Cover == nil}
	case quotes.Offer:
		return []any{v.DraftID, v.OfferID, v.Provider, string(v.Body), v.Body == nil, v.Error, ts(v.ExpiresAt), ts(v.CreatedAt)}
	case quotes.Policy:
		return []any{v.DraftID, v.OfferID, v.Provider, v.Series, v.Number, string(v.Body), v.Body == nil, ts(v.IssuedAt)}
	case []quotes.Draft:
		return mapAll(v)
	case []quotes.Offer:
		return mapAll(v)
	case []quotes.Policy:
		return mapAll(v)
	}
	panic(fmt.Sprintf("flat(%T)", v))
}

func mapAll[T any](vs []T) []any {
	out := []any{len(vs)}
	for _, v := range vs {
		out = append(out, flat(v))
	}
	return out
}

func ts(t time.Time) string {
	if t.IsZero() {
		return "zero"
	}
	return t.Format(time.RFC3339Nano) + " " + t.Location().String()
}

// vehicle is a step form's JSON with text that tests quoting and
// non-ASCII storage, spaced and ordered as no re-encoding would keep.
var vehicle = json.RawMessage(`{"vin": "UU1DJF00164816823",  "make":"Dacia","model":"Logan",
	"plate":"B-123-ABC", "note":"it's \"quoted\" -- ș ț <script>", "z":1, "a":[1,2,{"b":null}]}`)

func testCreateGetSave(t *testing.T, st store) {
	s := st.open(t)
	before := time.Now().Add(-time.Millisecond)
	d := mustCreate(t, s, broker)
	after := time.Now().Add(time.Millisecond)
	if len(d.ID) < 16 || strings.Trim(d.ID, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
		t.Errorf("ID = %q, want 16+ URL-safe characters", d.ID)
	}
	if d.Account != broker || d.Step != quotes.StepVehicle || d.Version != 1 || d.Title != "" ||
		d.Vehicle != nil || d.Owner != nil || d.Cover != nil {
		t.Errorf("new draft = %+v, want %s's empty draft at step vehicle, version 1", d, broker)
	}
	checkTime(t, "CreatedAt", d.CreatedAt)
	if d.CreatedAt.Before(before) || d.CreatedAt.After(after) || !d.UpdatedAt.Equal(d.CreatedAt) {
		t.Errorf("times %v, %v, want now and equal", d.CreatedAt, d.UpdatedAt)
	}
	same(t, "read back new", mustGet(t, s, broker, d.ID), d)
	if another := mustCreate(t, s, broker); another.ID == d.ID {
		t.Errorf("two drafts share the id %q", d.ID)
	}

	edit := d
	edit.Step, edit.Title = quotes.StepOwner, "Dacia Logan · B-123-ABC · Popescu"
	edit.Vehicle = append(json.RawMessage(nil), vehicle...) // changed below

	edit.CreatedAt = time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC) // not the caller's to change
	saved := mustSave(t, s, edit)
	if saved.Version != 2 || !saved.UpdatedAt.After(d.UpdatedAt) || !saved.CreatedAt.Equal(d.CreatedAt) {
		t.Errorf("saved: version %d, updated %v, created %v; want 2, after %v, %v", saved.Version, saved.UpdatedAt, saved.CreatedAt, d.UpdatedAt, d.CreatedAt)
	}
	checkTime(t, "UpdatedAt", saved.UpdatedAt)
	if string(saved.Vehicle) != string(vehicle) {
		t.Errorf("saved vehicle = %s, want the bytes given", saved.Vehicle)
	}
	same(t, "read back saved", mustGet(t, s, broker, d.ID), saved)

	// The caller's bytes are the caller's: changing them later changes
	// nothing stored.
	edit.Vehicle[2] = 'X'
	if got := mustGet(t, s, broker, d.ID); string(got.Vehicle) != string(vehicle) {
		t.Errorf("stored vehicle changed with the caller's slice: %s", got.Vehicle)
	}

	// A stale version: the draft is left as saved.
	stale := d
	stale.Step, stale.Title = quotes.StepCover, "stale"
	if _, err := s.SaveDraft(ctx, stale); !errors.Is(err, quotes.ErrConflict) {
		t.Errorf("saving version 1 again: err = %v, want ErrConflict", err)
	}
	future := saved
	future.Version = 7
	if _, err := s.SaveDraft(ctx, future); !errors.Is(err, quotes.ErrConflict) {
		t.Errorf("saving a version never read: err = %v, want ErrConflict", err)
	}
	same(t, "after refused saves", mustGet(t, s, broker, d.ID), saved)

	// Every field, then clearing them again.
	all := saved
	all.Step, all.Owner, all.Cover = quotes.StepDone, json.RawMessage(`{"cnp":"1800101221144","name":"Ștefan O'Brien"}`), json.RawMessage(`[]`)
	all = mustSave(t, s, all)
	same(t, "every field", mustGet(t, s, broker, d.ID), all)
	cleared := all
	cleared.Vehicle, cleared.Owner, cleared.Cover, cleared.Title = nil, json.RawMessage{}, nil, ""
	cleared = mustSave(t, s, cleared)
	if cleared.Version != 4 || cleared.Owner != nil {
		t.Errorf("cleared: version %d, owner %q, want 4 and nil", cleared.Version, cleared.Owner)
	}
	same(t, "cleared", mustGet(t, s, broker, d.ID), cleared)

	if _, err := s.GetDraft(ctx, broker, "AAAAAAAAAAAAAAAAAAAAAA"); !errors.Is(err, quotes.ErrNotFound) {
		t.Errorf("GetDraft(unknown) = %v, want ErrNotFound", err)
	}
	unknown := cleared
	unknown.ID = "AAAAAAAAAAAAAAAAAAAAAA"
	if _, err := s.SaveDraft(ctx, unknown); !errors.Is(err, quotes.ErrNotFound) {
		t.Errorf("SaveDraft(unknown) = %v, want ErrNotFound", err)
	}
}

// testConcurrentSaves: of N saves of one version, exactly one wins.
func testConcurrentSaves(t *testing.T, st store) {
	s := st.open(t)
	d := mustCreate(t, s, broker)
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	saved := make([]quotes.Draft, n)
	for i := range n {
		wg.Go(func() {
			edit := d
			edit.Title = fmt.Sprintf("writer %d", i)
			edit.Vehicle = json.RawMessage(fmt.Sprintf(`{"writer":%d}`, i))
			saved[i], errs[i] = s.SaveDraft(ctx, edit)
		})
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Errorf("writers %d and %d both saved version 1", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, quotes.ErrConflict):
			t.Errorf("writer %d: err = %v, want nil or ErrConflict", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no writer saved")
	}
	got := mustGet(t, s, broker, d.ID)
	if got.Version != 2 || got.Title != fmt.Sprintf("writer %d", winner) {
		t.Errorf("stored version %d by %q, want 2 by writer %d", got.Version, got.Title, winner)
	}
	same(t, "winner read back", got, saved[winner])
}

// testIsolation: nothing of one account is visible or writable through
// another, and a foreign id looks exactly like an unknown one.
func testIsolation(t *testing.T, st store) {
	s := st.open(t)
	d := mustCreate(t, s, broker)
	d.Vehicle, d.Title = vehicle, "mine"
	d = mustSave(t, s, d)
	mustReplace(t, s, broker, d.ID, []quotes.Offer{{OfferID: "off-1", Provider: "Allianz"}})
	p := mustRecord(t, s, broker, quotes.Policy{DraftID: d.ID, OfferID: "off-1", Provider: "Allianz", Series: "RO", Number: "0001"})

	theirs := mustCreate(t, s, other)
	if _, err := s.GetDraft(ctx, other, d.ID); !errors.Is(err, quotes.ErrNotFound) {
		t.Errorf("GetDraft by another account = %v, want ErrNotFound", err)
	}
	steal := d
	steal.Account, steal.Title = other, "stolen"
	if _, err := s.SaveDraft(ctx, steal); !errors.Is(err, quotes.ErrNotFound) {
		t.Errorf("SaveDraft by another account = %v, want ErrNotFound", err)
	}
	if err := s.ReplaceOffers(ctx, other, d.ID, nil); !errors.Is(err, quotes.ErrNotFound) {
		t.Errorf("ReplaceOffers by another account = %v, want ErrNotFound", err)
	}
	if _, err := s.Offers(ctx, other, d.ID); !errors.Is(err, quotes.ErrNotFound) {
		t.Errorf("Offers by another account = %v, want ErrNotFound", err)
	}
	if _, err := s.Policies(ctx, other, d.ID); !errors.Is(err, quotes.ErrNotFound) {
		t.Errorf("Policies by another account = %v, want ErrNotFound", err)
	}
	if _, err := s.PolicyByNumber(ctx, other, "RO", "0001"); !errors.Is(err, quotes.ErrNotFound) {
		t.Errorf("PolicyByNumber by another account = %v, want ErrNotFound", err)
	}
	// Recording a policy on someone else's draft is refused …
	if _, err := s.RecordPolicy(ctx, other, quotes.Policy{DraftID: d.ID, OfferID: "off-2", Provider: "Allianz", Number: "0002"}); !errors.Is(err, quotes.ErrNotFound) {
		t.Errorf("RecordPolicy on another account's draft = %v, want ErrNotFound", err)
	}
	// … and the same upstream offer id in another account's own draft
	// neither clashes with nor reveals this account's policy.
	mine := quotes.Policy{DraftID: theirs.ID, OfferID: "off-1", Provider: "Groupama", Number: "9999"}
	if got, err := s.RecordPolicy(ctx, other, mine); err != nil || got.Number != "9999" {
		t.Errorf("RecordPolicy of the same offer id by another account = %+v, %v; want its own policy", got, err)
	}
	if page := mustList(t, s, other, quotes.Filter{Limit: 10}); page.Total != 1 || len(page.Drafts) != 1 || page.Drafts[0].ID != theirs.ID {
		t.Errorf("other's list: total %d, %d drafts, want only its own", page.Total, len(page.Drafts))
	}
	if page := mustList(t, s, "broker-nobody", quotes.Filter{Limit: 10}); page.Total != 0 || len(page.Drafts) != 0 {
		t.Errorf("a new account's list: total %d, want 0", page.Total)
	}

	// Nothing of the owner's changed.
	same(t, "owner's draft", mustGet(t, s, broker, d.ID), d)
	if got, err := s.PolicyByNumber(ctx, broker, "RO", "0001"); err != nil {
		t.Errorf("owner's PolicyByNumber: %v", err)
	} else {
		same(t, "owner's policy", got, p)
	}
	if o := mustOffers(t, s, broker, d.ID); len(o) != 1 {
		t.Errorf("owner's offers: %d, want 1", len(o))
	}
}

func testList(t *testing.T, st store) {
	s := st.open(t)
	var ds []quotes.Draft
	for i := range 4 {
		d := mustCreate(t, s, broker)
		d.Title = fmt.Sprintf("draft %d", i)
		d.Vehicle = vehicle
		ds = append(ds, mustSave(t, s, d))
	}
	mustCreate(t, s, other)
	// Saving the oldest makes it the newest.
	ds[1].Step = quotes.StepCover
	ds[1] = mustSave(t, s, ds[1])
	// Offers and policies leave the order alone.
	mustReplace(t, s, broker, ds[0].ID, []quotes.Offer{{OfferID: "o", Provider: "p"}})

	summary := func(d quotes.Draft) quotes.Draft {
		d.Vehicle, d.Owner, d.Cover = nil, nil, nil
		return d
	}
	order := []quotes.Draft{summary(ds[1]), summary(ds[3]), summary(ds[2]), summary(ds[0])}
	tests := []struct {
		name      string
		filter    quotes.Filter
		want      []quotes.Draft
		wantTotal int
	}{
		{"all", quotes.Filter{Limit: 100}, order, 4},
		{"first page", quotes.Filter{Limit: 2}, order[0:2], 4},
		{"second page", quotes.Filter{Limit: 2, Offset: 2}, order[2:4], 4},
		{"short last page", quotes.Filter{Limit: 3, Offset: 3}, order[3:4], 4},
		{"one", quotes.Filter{Limit: 1, Offset: 1}, order[1:2], 4},
		{"past the end keeps the total", quotes.Filter{Limit: 2, Offset: 4}, nil, 4},
		{"far past the end", quotes.Filter{Limit: 2, Offset: 40}, nil, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustList(t, s, broker, tt.filter)
			same(t, "drafts", p.Drafts, tt.want)
			if p.Total != tt.wantTotal {
				t.Errorf("Total = %d, want %d", p.Total, tt.wantTotal)
			}
		})
	}
}

func testOffers(t *testing.T, st store) {
	s := st.open(t)
	d := mustCreate(t, s, broker)
	if o := mustOffers(t, s, broker, d.ID); len(o) != 0 {
		t.Errorf("a new draft has %d offers", len(o))
	}
	expires := time.Date(2026, 5, 1, 23, 59, 59, 999999999, time.FixedZone("EEST", 3*3600))
	given := time.Date(2026, 4, 1, 8, 0, 0, 0, time.UTC)
	long := strings.Repeat("€", 2000) // 6000 bytes
	first := []quotes.Offer{
		{OfferID: "off-allianz-1", Provider: "Allianz-Țiriac", Body: json.RawMessage(`{"premium": 1234.50, "currency":"RON"}`), ExpiresAt: expires},
		// A provider that failed: no offer, its message (with bytes no
		// store could keep) shown in its column.
		{Provider: "Groupama", Error: "timeout \xff\x00after 30s"},
		{OfferID: "off-omniasig-7", Provider: "Omniasig", DraftID: d.ID, CreatedAt: given, Error: long},
	}
	before := time.Now().Add(-time.Millisecond)
	mustReplace(t, s, broker, d.ID, first)
	got := mustOffers(t, s, broker, d.ID)
	if len(got) != 3 {
		t.Fatalf("%d offers, want 3", len(got))
	}
	for i, o := range got {
		checkTime(t, fmt.Sprintf("offer %d CreatedAt", i), o.CreatedAt)
	}
	if got[0].CreatedAt.Before(before) || !got[1].CreatedAt.Equal(got[0].CreatedAt) {
		t.Errorf("defaulted CreatedAt %v, %v: want now, equal", got[0].CreatedAt, got[1].CreatedAt)
	}
	want := []quotes.Offer{
		{DraftID: d.ID, OfferID: "off-allianz-1", Provider: "Allianz-Țiriac", Body: first[0].Body,
			ExpiresAt: time.Date(2026, 5, 1, 20, 59, 59, 999999000, time.UTC), CreatedAt: got[0].CreatedAt},
		{DraftID: d.ID, Provider: "Groupama", Error: "timeout \uFFFDafter 30s", CreatedAt: got[0].CreatedAt},
		{DraftID: d.ID, OfferID: "off-omniasig-7", Provider: "Omniasig", CreatedAt: given, Error: long[:4095]},
	}
	same(t, "offers", got, want)
	if !utf8.ValidString(got[2].Error) || len(got[2].Error) > 4096 {
		t.Errorf("long error kept as %d bytes (valid UTF-8: %v), want at most 4096", len(got[2].Error), utf8.ValidString(got[2].Error))
	}

	// Asking again replaces the set, order and all.
	second := []quotes.Offer{{OfferID: "off-omniasig-8", Provider: "Omniasig"}, {OfferID: "off-allianz-1", Provider: "Allianz-Țiriac"}}
	mustReplace(t, s, broker, d.ID, second)
	got = mustOffers(t, s, broker, d.ID)
	if ids := offerIDs(got); !slices.Equal(ids, []string{"off-omniasig-8", "off-allianz-1"}) {
		t.Errorf("after the second request: offers %v", ids)
	}
	// The draft itself is untouched.
	same(t, "draft after offers", mustGet(t, s, broker, d.ID), d)

	mustReplace(t, s, broker, d.ID, nil)
	if got := mustOffers(t, s, broker, d.ID); len(got) != 0 {
		t.Errorf("after an empty set: %d offers", len(got))
	}
	if err := s.ReplaceOffers(ctx, broker, "AAAAAAAAAAAAAAAAAAAAAA", second); !errors.Is(err, quotes.ErrNotFound) {
		t.Errorf("ReplaceOffers(unknown draft) = %v, want ErrNotFound", err)
	}
	if _, err := s.Offers(ctx, broker, "AAAAAAAAAAAAAAAAAAAAAA"); !errors.Is(err, quotes.ErrNotFound) {
		t.Errorf("Offers(unknown draft) = %v, want ErrNotFound", err)
	}
}

func offerIDs(os []quotes.Offer) []string {
	var out []string
	for _, o := range os {
		out = append(out, o.OfferID)
	}
	return out
}

// testConcurrentReplaces: concurrent requests for quotes leave one set
// whole, never a mix.
func testConcurrentReplaces(t *testing.T, st store) {
	s := st.open(t)
	d := mustCreate(t, s, broker)
	const n, each = 6, 4
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			var set []quotes.Offer
			for j := range each {
				set = append(set, quotes.Offer{OfferID: fmt.Sprintf("w%d-o%d", i, j), Provider: fmt.Sprintf("p%d", j)})
			}
			if err := s.ReplaceOffers(ctx, broker, d.ID, set); err != nil {
				t.Errorf("writer %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	got := offerIDs(mustOffers(t, s, broker, d.ID))
	if len(got) != each {
		t.Fatalf("offers %v, want one writer's %d", got, each)
	}
	writer := strings.SplitN(got[0], "-", 2)[0]
	for j, id := range got {
		if id != fmt.Sprintf("%s-o%d", writer, j) {
			t.Errorf("offers %v mix writers or order", got)
			break
		}
	}
}

func testPolicies(t *testing.T, st store) {
	s := st.open(t)
	d := mustCreate(t, s, broker)
	before := time.Now().Add(-time.Millisecond)
	first := mustRecord(t, s, broker, quotes.Policy{DraftID: d.ID, OfferID: "off-1", Provider: "Allianz", Series: "RO/25", Number: "000123",
		Body: json.RawMessage(`{"pdf":"/policies/000123.pdf"}`)})
	checkTime(t, "IssuedAt", first.IssuedAt)
	if first.IssuedAt.Before(before) {
		t.Errorf("IssuedAt %v, want now", first.IssuedAt)
	}
	issued := time.Date(2026, 4, 2, 10, 0, 0, 1500, time.UTC)
	second := mustRecord(t, s, broker, quotes.Policy{DraftID: d.ID, OfferID: "off-2", Provider: "Groupama", Number: "777", IssuedAt: issued})
	if !second.IssuedAt.Equal(issued.Truncate(time.Microsecond)) || second.Series != "" || second.Body != nil {
		t.Errorf("second = %+v, want the given time in microseconds, no series, no body", second)
	}

	// The same offer again: the first policy, whatever this one says.
	again, err := s.RecordPolicy(ctx, broker, quotes.Policy{DraftID: d.ID, OfferID: "off-1", Provider: "Allianz", Series: "RO/25", Number: "000999"})
	if !errors.Is(err, quotes.ErrExists) {
		t.Errorf("recording off-1 again: err = %v, want ErrExists", err)
	}
	same(t, "existing policy", again, first)
	// Even from another of the account's drafts.
	d2 := mustCreate(t, s, broker)
	if again, err := s.RecordPolicy(ctx, broker, quotes.Policy{DraftID: d2.ID, OfferID: "off-1", Provider: "Allianz", Number: "1"}); !errors.Is(err, quotes.ErrExists) {
		t.Errorf("recording off-1 from another draft: err = %v, want ErrExists", err)
	} else {
		same(t, "existing policy from another draft", again, first)
	}

	got, err := s.Policies(ctx, broker, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "policies, oldest first", got, []quotes.Policy{second, first})
	if got, err := s.Policies(ctx, broker, d2.ID); err != nil || len(got) != 0 {
		t.Errorf("Policies(draft without any) = %d, %v; want none", len(got), err)
	}

	byNumber := []struct {
		series, number string
		want           quotes.Policy
		wantErr        error
	}{
		{"RO/25", "000123", first, nil},
		{"", "777", second, nil},
		{"RO/25", "000999", quotes.Policy{}, quotes.ErrNotFound}, // the refused duplicate
		{"RO/26", "000123", quotes.Policy{}, quotes.ErrNotFound},
		{"", "000123", quotes.Policy{}, quotes.ErrNotFound},
		{"ro/25", "000123", quotes.Policy{}, quotes.ErrNotFound},
	}
	for _, tt := range byNumber {
		got, err := s.PolicyByNumber(ctx, broker, tt.series, tt.number)
		if !errors.Is(err, tt.wantErr) {
			t.Errorf("PolicyByNumber(%q, %q): err = %v, want %v", tt.series, tt.number, err, tt.wantErr)
		}
		same(t, fmt.Sprintf("PolicyByNumber(%q, %q)", tt.series, tt.number), got, tt.want)
	}
	// Two providers with one number: the latest issued answers.
	later := mustRecord(t, s, broker, quotes.Policy{DraftID: d2.ID, OfferID: "off-3", Provider: "Omniasig", Number: "777", IssuedAt: issued.Add(time.Hour)})
	if got, err := s.PolicyByNumber(ctx, broker, "", "777"); err != nil {
		t.Error(err)
	} else {
		same(t, "shared number", got, later)
	}
	if _, err := s.RecordPolicy(ctx, broker, quotes.Policy{DraftID: "AAAAAAAAAAAAAAAAAAAAAA", OfferID: "off-9", Provider: "x", Number: "9"}); !errors.Is(err, quotes.ErrNotFound) {
		t.Errorf("RecordPolicy(unknown draft) = %v, want ErrNotFound", err)
	}
}

// testConcurrentPolicies: of N conversions of one offer, exactly one
// records its policy; every other one gets ErrExists and that policy.
func testConcurrentPolicies(t *testing.T, st store) {
	s := st.open(t)
	d := mustCreate(t, s, broker)
	const n = 8
	var wg sync.WaitGroup
	got := make([]quotes.Policy, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			got[i], errs[i] = s.RecordPolicy(ctx, broker, quotes.Policy{DraftID: d.ID, OfferID: "off-1", Provider: "Allianz",
				Series: "RO", Number: fmt.Sprintf("N-%d", i), Body: json.RawMessage(fmt.Sprintf(`{"try":%d}`, i))})
		})
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Errorf("conversions %d and %d both recorded a policy", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, quotes.ErrExists):
			t.Errorf("conversion %d: err = %v, want nil or ErrExists", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no conversion recorded its policy")
	}
	if got[winner].Number != fmt.Sprintf("N-%d", winner) {
		t.Errorf("winner %d recorded %q", winner, got[winner].Number)
	}
	for i := range n {
		same(t, fmt.Sprintf("conversion %d's policy", i), got[i], got[winner])
	}
	stored, err := s.Policies(ctx, broker, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "stored", stored, []quotes.Policy{got[winner]})
}

func testLimits(t *testing.T, st store) {
	s := st.open(t)
	d := mustCreate(t, s, broker)
	// Exactly at the bound: stored and read back byte for byte.
	atBound := json.RawMessage(`"` + strings.Repeat("ș", (quotes.MaxBlob-2)/2) + `"`)
	if len(atBound) != quotes.MaxBlob {
		t.Fatalf("test blob is %d bytes", len(atBound))
	}
	full := d
	full.Vehicle, full.Owner, full.Cover, full.Title = atBound, atBound, atBound, strings.Repeat("t", quotes.MaxTitle)
	full = mustSave(t, s, full)
	same(t, "blobs at the bound", mustGet(t, s, broker, d.ID), full)

	deep := strings.Repeat("[", 65) + strings.Repeat("]", 65)
	drafts := []struct {
		name string
		edit func(d *quotes.Draft)
		want error
	}{
		{"vehicle over 64 KiB", func(d *quotes.Draft) { d.Vehicle = append(json.RawMessage(` `), atBound...) }, quotes.ErrTooLarge},
		{"owner over 64 KiB", func(d *quotes.Draft) { d.Owner = append(json.RawMessage(` `), atBound...) }, quotes.ErrTooLarge},
		{"cover over 64 KiB", func(d *quotes.Draft) { d.Cover = append(json.RawMessage(` `), atBound...) }, quotes.ErrTooLarge},
		{"title over 1 KiB", func(d *quotes.Draft) { d.Title += "x" }, quotes.ErrTooLarge},
		{"vehicle not JSON", func(d *quotes.Draft) { d.Vehicle = json.RawMessage(`{"vin":`) }, quotes.ErrInvalid},
		{"owner not UTF-8", func(d *quotes.Draft) { d.Owner = json.RawMessage("\"\xff\"") }, quotes.ErrInvalid},
		{"cover nested too deep", func(d *quotes.Draft) { d.Cover = json.RawMessage(deep) }, quotes.ErrInvalid},
		{"unknown step", func(d *quotes.Draft) { d.Step = "payment" }, quotes.ErrInvalid},
		{"empty step", func(d *quotes.Draft) { d.Step = "" }, quotes.ErrInvalid},
		{"title on two lines", func(d *quotes.Draft) { d.Title = "a\nb" }, quotes.ErrInvalid},
		{"version 0", func(d *quotes.Draft) { d.Version = 0 }, quotes.ErrInvalid},
		{"malformed id", func(d *quotes.Draft) { d.ID = "../../etc/passwd_0123456789" }, quotes.ErrInvalid},
		{"short id", func(d *quotes.Draft) { d.ID = "abc" }, quotes.ErrInvalid},
		{"no account", func(d *quotes.Draft) { d.Account = "" }, quotes.ErrInvalid},
	}
	for _, tt := range drafts {
		e := full
		tt.edit(&e)
		if _, err := s.SaveDraft(ctx, e); !errors.Is(err, tt.want) {
			t.Errorf("SaveDraft with %s: err = %v, want %v", tt.name, err, tt.want)
		}
	}
	nested := full
	nested.Cover = json.RawMessage(strings.Repeat("[", 64) + strings.Repeat("]", 64))
	full = mustSave(t, s, nested)
	same(t, "after refused saves", mustGet(t, s, broker, d.ID), full)

	accounts := []string{"", "broker\x00", "broker\n", "\xff", strings.Repeat("a", 257)}
	for _, a := range accounts {
		if _, err := s.CreateDraft(ctx, a); !errors.Is(err, quotes.ErrInvalid) {
			t.Errorf("CreateDraft(%q): err = %v, want ErrInvalid", a, err)
		}
		if _, err := s.GetDraft(ctx, a, d.ID); !errors.Is(err, quotes.ErrInvalid) {
			t.Errorf("GetDraft(%q): err = %v, want ErrInvalid", a, err)
		}
		if _, err := s.ListDrafts(ctx, a, quotes.Filter{Limit: 10}); !errors.Is(err, quotes.ErrInvalid) {
			t.Errorf("ListDrafts(%q): err = %v, want ErrInvalid", a, err)
		}
	}
	for _, id := range []string{"", "short", "has space in the middle!", strings.Repeat("a", 65), "ÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄÄ"} {
		if _, err := s.GetDraft(ctx, broker, id); !errors.Is(err, quotes.ErrInvalid) {
			t.Errorf("GetDraft(%q): err = %v, want ErrInvalid", id, err)
		}
		if _, err := s.Offers(ctx, broker, id); !errors.Is(err, quotes.ErrInvalid) {
			t.Errorf("Offers(%q): err = %v, want ErrInvalid", id, err)
		}
	}
	for _, f := range []quotes.Filter{{Limit: 0}, {Limit: 101}, {Limit: 10, Offset: -1}} {
		if _, err := s.ListDrafts(ctx, broker, f); !errors.Is(err, quotes.ErrInvalid) {
			t.Errorf("ListDrafts(%+v): err = %v, want ErrInvalid", f, err)
		}
	}

	mustReplace(t, s, broker, d.ID, []quotes.Offer{{OfferID: "kept", Provider: "p"}})
	many := make([]quotes.Offer, quotes.MaxOffers+1)
	for i := range many {
		many[i] = quotes.Offer{OfferID: fmt.Sprint(i), Provider: "p"}
	}
	bigBody := json.RawMessage(`"` + strings.Repeat("x", quotes.MaxBody-1) + `"`)
	offers := []struct {
		name   string
		offers []quotes.Offer
		want   error
	}{
		{"too many offers", many, quotes.ErrTooLarge},
		{"body over 1 MiB", []quotes.Offer{{OfferID: "o", Provider: "p", Body: bigBody}}, quotes.ErrTooLarge},
		{"body not JSON", []quotes.Offer{{OfferID: "o", Provider: "p", Body: json.RawMessage(`nope`)}}, quotes.ErrInvalid},
		{"no provider", []quotes.Offer{{OfferID: "o"}}, quotes.ErrInvalid},
		{"no offer id and no error", []quotes.Offer{{Provider: "p"}}, quotes.ErrInvalid},
		{"an offer id twice", []quotes.Offer{{OfferID: "o", Provider: "p"}, {OfferID: "o", Provider: "q"}}, quotes.ErrInvalid},
		{"another draft's offer", []quotes.Offer{{DraftID: "BBBBBBBBBBBBBBBBBBBBBB", OfferID: "o", Provider: "p"}}, quotes.ErrInvalid},
		{"offer id with a NUL", []quotes.Offer{{OfferID: "o\x00", Provider: "p"}}, quotes.ErrInvalid},
	}
	for _, tt := range offers {
		if err := s.ReplaceOffers(ctx, broker, d.ID, tt.offers); !errors.Is(err, tt.want) {
			t.Errorf("ReplaceOffers with %s: err = %v, want %v", tt.name, err, tt.want)
		}
	}
	if got := offerIDs(mustOffers(t, s, broker, d.ID)); !slices.Equal(got, []string{"kept"}) {
		t.Errorf("after refused sets: offers %v, want [kept]", got)
	}
	mustReplace(t, s, broker, d.ID, many[:quotes.MaxOffers])
	if got := mustOffers(t, s, broker, d.ID); len(got) != quotes.MaxOffers {
		t.Errorf("%d offers stored, want %d", len(got), quotes.MaxOffers)
	}

	valid := quotes.Policy{DraftID: d.ID, OfferID: "o", Provider: "p", Series: "S", Number: "1"}
	policies := []struct {
		name string
		edit func(p *quotes.Policy)
		want error
	}{
		{"no offer id", func(p *quotes.Policy) { p.OfferID = "" }, quotes.ErrInvalid},
		{"no provider", func(p *quotes.Policy) { p.Provider = "" }, quotes.ErrInvalid},
		{"no number", func(p *quotes.Policy) { p.Number = "" }, quotes.ErrInvalid},
		{"malformed draft id", func(p *quotes.Policy) { p.DraftID = "nope" }, quotes.ErrInvalid},
		{"series with a tab", func(p *quotes.Policy) { p.Series = "S\t1" }, quotes.ErrInvalid},
		{"body over 1 MiB", func(p *quotes.Policy) { p.Body = bigBody }, quotes.ErrTooLarge},
		{"body not JSON", func(p *quotes.Policy) { p.Body = json.RawMessage(`{`) }, quotes.ErrInvalid},
	}
	for _, tt := range policies {
		p := valid
		tt.edit(&p)
		if _, err := s.RecordPolicy(ctx, broker, p); !errors.Is(err, tt.want) {
			t.Errorf("RecordPolicy with %s: err = %v, want %v", tt.name, err, tt.want)
		}
	}
	if got, err := s.Policies(ctx, broker, d.ID); err != nil || len(got) != 0 {
		t.Errorf("after refused policies: %d policies, %v", len(got), err)
	}
	if _, err := s.PolicyByNumber(ctx, broker, "S", ""); !errors.Is(err, quotes.ErrInvalid) {
		t.Errorf("PolicyByNumber without a number: err = %v, want ErrInvalid", err)
	}
	// At the body bound, a policy is kept whole.
	p := valid
	p.Body = json.RawMessage(`"` + strings.Repeat("x", quotes.MaxBody-2) + `"`)
	got := mustRecord(t, s, broker, p)
	if back, err := s.PolicyByNumber(ctx, broker, "S", "1"); err != nil || string(back.Body) != string(p.Body) {
		t.Errorf("1 MiB body read back as %d bytes, %v", len(back.Body), err)
	} else {
		same(t, "policy at the bound", back, got)
	}
}

func testReopen(t *testing.T, st store) {
	s := st.open(t)
	d := mustCreate(t, s, broker)
	d.Vehicle, d.Title, d.Step = vehicle, "Dacia Logan · B-123-ABC · Popescu", quotes.StepOffers
	d = mustSave(t, s, d)
	mustReplace(t, s, broker, d.ID, []quotes.Offer{{OfferID: "off-1", Provider: "Allianz", Body: json.RawMessage(`{"a":1}`),
		ExpiresAt: time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)}})
	offers := mustOffers(t, s, broker, d.ID)
	p := mustRecord(t, s, broker, quotes.Policy{DraftID: d.ID, OfferID: "off-1", Provider: "Allianz", Series: "RO", Number: "1"})
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	again := st.open(t)
	same(t, "draft after reopening", mustGet(t, again, broker, d.ID), d)
	same(t, "offers after reopening", mustOffers(t, again, broker, d.ID), offers)
	if got, err := again.PolicyByNumber(ctx, broker, "RO", "1"); err != nil {
		t.Error(err)
	} else {
		same(t, "policy after reopening", got, p)
	}
	if _, err := again.RecordPolicy(ctx, broker, quotes.Policy{DraftID: d.ID, OfferID: "off-1", Provider: "Allianz", Number: "2"}); !errors.Is(err, quotes.ErrExists) {
		t.Errorf("recording off-1 after reopening: err = %v, want ErrExists", err)
	}
	// The version survives too: a save of the old version is stale.
	stale := d
	stale.Version = 1
	if _, err := again.SaveDraft(ctx, stale); !errors.Is(err, quotes.ErrConflict) {
		t.Errorf("stale save after reopening: err = %v, want ErrConflict", err)
	}
	mustSave(t, again, d)
}

// testMigrations: opening again, or several at once, applies nothing
// twice; a schema from a newer build is refused.
func testMigrations(t *testing.T, st store) {
	const n = 4
	stores := make([]quotes.Store, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			c, cancel := context.WithTimeout(ctx, 20*time.Second)
			defer cancel()
			stores[i], errs[i] = quotes.Open(c, st.cfg)
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("open %d: %v", i, errs[i])
		}
		t.Cleanup(func() { stores[i].Close() })
	}
	for i, s := range stores {
		mustCreate(t, s, fmt.Sprintf("broker-%d", i))
	}
	st.open(t)
	db := st.raw(t)
	checkVersions(t, db, []int{1, 2})
	if got := queryStrings(t, db, `SELECT COUNT(*) FROM quotes_drafts`); !slices.Equal(got, []string{"4"}) {
		t.Errorf("drafts after the opens: %v, want 4", got)
	}

	if _, err := db.Exec(`INSERT INTO quotes_schema_migrations (version, applied_at) VALUES (99, '2030-01-01T00:00:00.000000Z')`); err != nil {
		t.Fatal(err)
	}
	if s, err := quotes.Open(ctx, st.cfg); err == nil {
		s.Close()
		t.Error("a schema from a newer build was opened")
	} else if !strings.Contains(err.Error(), "newer") || !strings.HasPrefix(err.Error(), "quotes:") {
		t.Errorf("open after a newer migration: err = %v, want a quotes: refusal naming the newer schema", err)
	}
}

// checkVersions reads the applied migrations.
func checkVersions(t *testing.T, db *sql.DB, want []int) {
	t.Helper()
	var got []int
	for _, v := range queryStrings(t, db, `SELECT version FROM quotes_schema_migrations ORDER BY version`) {
		var n int
		fmt.Sscan(v, &n)
		got = append(got, n)
	}
	if !slices.Equal(got, want) {
		t.Errorf("schema versions = %v, want %v", got, want)
	}
}

// queryStrings runs q and returns its single column as text.
func queryStrings(t *testing.T, db *sql.DB, q string) []string {
	t.Helper()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// testBesideAudit: the quotes live in the audit log's PostgreSQL
// database (AUDIT_DATABASE_URL) with tables and migrations of their own.
func testBesideAudit(t *testing.T, dbURL string) {
	log, err := audit.Open(ctx, audit.Config{DatabaseURL: dbURL})
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	s, err := quotes.Open(ctx, quotes.Config{DatabaseURL: dbURL})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// Opening the audit log again finds its own version, untouched.
	log2, err := audit.Open(ctx, audit.Config{DatabaseURL: dbURL})
	if err != nil {
		t.Fatal(err)
	}
	log2.Close()
	if _, err := log.Append(ctx, audit.Entry{Action: audit.ActionCancel, Actor: "sk_test_…4f2a", PolicyID: "tpol_1", Outcome: audit.OutcomeAccepted}); err != nil {
		t.Fatal(err)
	}
	d := mustCreate(t, s, broker)
	mustGet(t, s, broker, d.ID)
	db := rawPostgres(t, dbURL)
	checkVersions(t, db, []int{1, 2})
	if got := queryStrings(t, db, `SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename`); !slices.Equal(got, []string{
		"audit_entries", "audit_schema_migrations", "quotes_asks", "quotes_drafts", "quotes_offers", "quotes_policies", "quotes_schema_migrations",
	}) {
		t.Errorf("tables = %v", got)
	}
}

func TestOpenRefuses(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		cfg     quotes.Config
		wantErr string
	}{
		{"nothing configured", quotes.Config{}, "quotes: neither"},
		{"unparsable URL", quotes.Config{DatabaseURL: "postgres://u:s3cr3t@host:notaport/db"}, "AUDIT_DATABASE_URL"},
		{"unreachable server", quotes.Config{DatabaseURL: "postgres://u:s3cr3t@/db?host=" + filepath.Join(dir, "no-socket") + "&connect_timeout=2"}, "connecting to PostgreSQL"},
		{"folder is a file", quotes.Config{Path: filepath.Join(blocker, "quotes.db")}, "quotes:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := quotes.Open(ctx, tt.cfg)
			if err == nil {
				s.Close()
				t.Fatalf("Open(%+v) succeeded, want an error", tt.cfg)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err = %v, want it to mention %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("err = %v: it shows the password", err)
			}
		})
	}
}

func TestSQLiteFileIsPrivate(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "sub", "quotes.db")
	s, err := quotes.Open(ctx, quotes.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// A write makes the -wal and -shm files, which hold the same personal
	// data (CNPs in the forms) until a checkpoint.
	if _, err := s.CreateDraft(ctx, "private-account"); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if mode := fi.Mode().Perm(); mode != 0o600 {
			t.Errorf("%s: mode = %v, want 0600", filepath.Base(p), mode)
		}
	}
}
