package audit_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"backoffice/internal/audit"
	"backoffice/internal/audit/pgtest"
)

// backend is one Log implementation under the shared conformance test.
type backend struct {
	name string
	// fresh makes an empty store for t.
	fresh func(t *testing.T) store
}

// store is one empty log's storage, which may be opened again: in memory
// (mem) or SQL (cfg, and raw to reach the same storage with plain SQL).
type store struct {
	mem *audit.Memory
	cfg audit.Config
	raw func(t *testing.T) *sql.DB
	// truncate is the store's statement that would empty the table in
	// one go, when it has one.
	truncate string
	// indexes lists the names of the table's secondary indexes, sorted.
	indexes string
}

// open opens the store (again) and closes it when t ends.
func (st store) open(t *testing.T) audit.Log {
	t.Helper()
	if st.mem != nil {
		return st.mem
	}
	return mustOpen(t, st.cfg)
}

// openErr opens the store without failing the test, for callers off the
// test goroutine and for expected failures.
func (st store) openErr(ctx context.Context) (audit.Log, error) {
	return audit.Open(ctx, st.cfg)
}

func memoryBackend() backend {
	return backend{name: "memory", fresh: func(*testing.T) store { return store{mem: audit.NewMemory()} }}
}

func sqliteBackend() backend {
	return backend{name: "sqlite", fresh: func(t *testing.T) store {
		path := filepath.Join(t.TempDir(), "audit.db")
		return store{
			cfg: audit.Config{Path: path},
			raw: func(t *testing.T) *sql.DB {
				t.Helper()
				db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { db.Close() })
				return db
			},
			indexes: `SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'audit_entries' ORDER BY name`,
		}
	}}
}

func postgresBackend(srv *pgtest.Server) backend {
	return backend{name: "postgres", fresh: func(t *testing.T) store {
		dbURL := srv.NewDatabase(t)
		return store{
			cfg: audit.Config{DatabaseURL: dbURL},
			raw: func(t *testing.T) *sql.DB {
				t.Helper()
				cfg, err := pgx.ParseConfig(dbURL)
				if err != nil {
					t.Fatal(err)
				}
				db := stdlib.OpenDB(*cfg)
				t.Cleanup(func() { db.Close() })
				return db
			},
			truncate: "TRUNCATE audit_entries",
			indexes:  `SELECT indexname FROM pg_indexes WHERE tablename = 'audit_entries' AND indexname <> 'audit_entries_pkey' ORDER BY indexname`,
		}
	}}
}

// mustOpen opens a log and closes it when t ends.
func mustOpen(t *testing.T, cfg audit.Config) audit.Log {
	t.Helper()
	l, err := audit.Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l
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
}

// conformance is what every Log must do; Memory is the reference.
func conformance(t *testing.T, b backend) {
	t.Run("append and list", func(t *testing.T) {
		t.Parallel()
		testAppendAndList(t, b.fresh(t))
	})
	t.Run("filters", func(t *testing.T) {
		t.Parallel()
		testFilters(t, b.fresh(t))
	})
	t.Run("pagination", func(t *testing.T) {
		t.Parallel()
		testPagination(t, b.fresh(t))
	})
	t.Run("cancellation filters", func(t *testing.T) {
		t.Parallel()
		testCancellationFilters(t, b.fresh(t))
	})
	t.Run("invalid", func(t *testing.T) {
		t.Parallel()
		testInvalid(t, b.fresh(t))
	})
	t.Run("concurrent appends", func(t *testing.T) {
		t.Parallel()
		testConcurrentAppends(t, b.fresh(t))
	})
	if b.fresh(t).mem != nil {
		return // the rest is about storage that outlives the Log value
	}
	t.Run("reopen", func(t *testing.T) {
		t.Parallel()
		testReopen(t, b.fresh(t))
	})
	t.Run("append only", func(t *testing.T) {
		t.Parallel()
		testAppendOnly(t, b.fresh(t))
	})
	t.Run("concurrent opens", func(t *testing.T) {
		t.Parallel()
		testConcurrentOpens(t, b.fresh(t))
	})
	t.Run("newer schema refused", func(t *testing.T) {
		t.Parallel()
		testNewerSchema(t, b.fresh(t))
	})
	t.Run("upgrade from version 1", func(t *testing.T) {
		t.Parallel()
		testUpgradeFromV1(t, b.fresh(t))
	})
}

// full is an entry with every field set, with text that tests quoting
// and non-ASCII storage.
func full(policy string) audit.Entry {
	return audit.Entry{
		Action:            audit.ActionCancel,
		Actor:             "sk_test_…4f2a",
		ActorName:         "Jānis Bērziņš",
		Mode:              "test",
		PolicyID:          policy,
		InsurerPolicyID:   "TEST-" + policy,
		VersionID:         "ver_1",
		NewVersionID:      "ver_2",
		Reason:            `Kündigung „sofort“; it's "quoted" -- ș ț <script>alert(1)</script>`,
		TerminationDate:   "2026-04-30",
		Outcome:           audit.OutcomeAccepted,
		UpstreamStatus:    202,
		UpstreamRequestID: "req_0123456789",
		Message:           "accepted\nnew line",
		Tenant:            tenantA,
		Count:             1,
	}
}

// created is a policy creation with every field it uses set: no policy
// id (the insurer has not made the policy yet) and a push reference.
func created(reference string) audit.Entry {
	return audit.Entry{
		Action:            audit.ActionCreate,
		Actor:             "sk_test_…4f2a",
		ActorName:         "Jānis Bērziņš",
		Mode:              "test",
		VariantID:         "var_kasko_comfort",
		Holder:            `Ștefan "Ștefi" O'Brien-Müller`,
		Reference:         reference,
		Outcome:           audit.OutcomeCompleted,
		UpstreamStatus:    200,
		UpstreamRequestID: "req_push_42",
		Message:           "pushed",
		Tenant:            tenantA,
		Count:             1,
	}
}

// mustAppend appends e and fails the test on error.
func mustAppend(t *testing.T, l audit.Log, e audit.Entry) audit.Entry {
	t.Helper()
	got, err := l.Append(context.Background(), e)
	if err != nil {
		t.Fatalf("Append(%s): %v", e.PolicyID, err)
	}
	return got
}

func mustList(t *testing.T, l audit.Log, f audit.Filter) audit.Page {
	t.Helper()
	p, err := l.List(context.Background(), f)
	if err != nil {
		t.Fatalf("List(%+v): %v", f, err)
	}
	return p
}

// checkSame compares entries field by field, the time as an instant in
// UTC.
func checkSame(t *testing.T, what string, got, want audit.Entry) {
	t.Helper()
	if !got.At.Equal(want.At) || got.At.Location() != time.UTC {
		t.Errorf("%s: At = %v (%v), want %v in UTC", what, got.At, got.At.Location(), want.At)
	}
	got.At, want.At = time.Time{}, time.Time{}
	if got != want {
		t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

func ids(es []audit.Entry) []int64 {
	out := make([]int64, len(es))
	for i, e := range es {
		out[i] = e.ID
	}
	return out
}

func testAppendAndList(t *testing.T, st store) {
	l := st.open(t)
	before := time.Now().Truncate(time.Microsecond)
	first := mustAppend(t, l, full("tpol_1"))
	after := time.Now()
	if first.ID <= 0 {
		t.Errorf("first ID = %d, want > 0", first.ID)
	}
	if first.At.Before(before) || first.At.After(after) || first.At.Location() != time.UTC || !first.At.Equal(first.At.Truncate(time.Microsecond)) {
		t.Errorf("defaulted At = %v, want now (%v..%v) in UTC, whole microseconds", first.At, before, after)
	}

	riga, err := time.LoadLocation("Europe/Riga")
	if err != nil {
		t.Fatal(err)
	}
	e := full("tpol_2")
	e.At = time.Date(2026, 7, 1, 3, 30, 15, 123456789, riga) // UTC+3 in summer
	e.Outcome, e.UpstreamStatus, e.ActorName, e.Message = audit.OutcomeRejected, 409, "", ""
	second := mustAppend(t, l, e)
	if second.ID <= first.ID {
		t.Errorf("IDs %d then %d, want increasing", first.ID, second.ID)
	}
	if want := time.Date(2026, 7, 1, 0, 30, 15, 123456000, time.UTC); !second.At.Equal(want) || second.At.Location() != time.UTC {
		t.Errorf("given At = %v, want %v (UTC, microseconds)", second.At, want)
	}

	// A creation: no policy id, the variant, holder and reference set.
	third := mustAppend(t, l, created("5b0e7c1a-3f42-4d8e-9a61-0c2f4e8b9d17"))
	if third.ID <= second.ID {
		t.Errorf("IDs %d then %d, want increasing", second.ID, third.ID)
	}

	p := mustList(t, l, audit.Filter{Limit: 100})
	if p.Total != 3 || len(p.Entries) != 3 {
		t.Fatalf("List: total %d, %d entries, want 3 and 3", p.Total, len(p.Entries))
	}
	checkSame(t, "creation", p.Entries[0], third)
	checkSame(t, "second", p.Entries[1], second)
	checkSame(t, "first", p.Entries[2], first)
	if got := p.Entries[0]; got.VariantID != "var_kasko_comfort" || got.Holder != `Ștefan "Ștefi" O'Brien-Müller` || got.Reference != "5b0e7c1a-3f42-4d8e-9a61-0c2f4e8b9d17" || got.PolicyID != "" {
		t.Errorf("creation read back as variant %q, holder %q, reference %q, policy %q", got.VariantID, got.Holder, got.Reference, got.PolicyID)
	}
	if got := p.Entries[1]; got.VariantID != "" || got.Holder != "" || got.Reference != "" {
		t.Errorf("cancellation read back with variant %q, holder %q, reference %q, want none", got.VariantID, got.Holder, got.Reference)
	}
}

func testFilters(t *testing.T, st store) {
	l := st.open(t)
	seed := []audit.Entry{
		{PolicyID: "tpol_a", InsurerPolicyID: "INS-A", Actor: "sk_test_…aaaa", ActorName: "Ana", Outcome: audit.OutcomeAccepted},
		{PolicyID: "tpol_b", InsurerPolicyID: "INS-B", Actor: "sk_test_…bbbb", Outcome: audit.OutcomeRejected},
		{PolicyID: "tpol_a", InsurerPolicyID: "INS-A", Actor: "sk_test_…bbbb", ActorName: "Ben", Outcome: audit.OutcomeCompleted},
		{PolicyID: "tpol_c", Actor: "pk_test_…cccc", ActorName: "Ana", Outcome: audit.OutcomeRefused},
		// A KASKO id that is also another policy's insurer id: the filter
		// matches either column, as Memory does.
		{PolicyID: "INS-B", Actor: "sk_test_…aaaa", Outcome: audit.OutcomeUnknown},
		// Creations: one known only by its push reference, one whose
		// policy the insurer made at once, one refused before any push.
		{Action: audit.ActionCreate, VariantID: "var_1", Holder: "Dan Pop", Reference: "9f1c2d3e-0000-4000-8000-000000000001",
			Actor: "sk_test_…dddd", Outcome: audit.OutcomeCompleted},
		{Action: audit.ActionCreate, VariantID: "var_1", Holder: "Eva Ene", Reference: "9f1c2d3e-0000-4000-8000-000000000002",
			PolicyID: "tpol_e", InsurerPolicyID: "INS-E", Actor: "sk_test_…dddd", Outcome: audit.OutcomeCompleted},
		{Action: audit.ActionCreate, VariantID: "var_2", Holder: "Ana Ionescu", Actor: "pk_test_…cccc", Outcome: audit.OutcomeRefused},
	}
	var added []int64
	for _, e := range seed {
		if e.Action == "" {
			e.Action = audit.ActionCancel
		}
		added = append(added, mustAppend(t, l, e).ID)
	}
	id := func(i int) int64 { return added[i] }
	tests := []struct {
		name   string
		filter audit.Filter
		want   []int64
	}{
		{"everything", audit.Filter{}, []int64{id(7), id(6), id(5), id(4), id(3), id(2), id(1), id(0)}},
		{"policy by KASKO id", audit.Filter{Policy: "tpol_a"}, []int64{id(2), id(0)}},
		{"policy by insurer id", audit.Filter{Policy: "INS-A"}, []int64{id(2), id(0)}},
		{"policy by either column", audit.Filter{Policy: "INS-B"}, []int64{id(4), id(1)}},
		{"policy unknown", audit.Filter{Policy: "tpol_zzz"}, nil},
		{"policy is exact, not a prefix", audit.Filter{Policy: "tpol_"}, nil},
		{"creation by push reference", audit.Filter{Policy: "9f1c2d3e-0000-4000-8000-000000000001"}, []int64{id(5)}},
		{"created policy by push reference", audit.Filter{Policy: "9f1c2d3e-0000-4000-8000-000000000002"}, []int64{id(6)}},
		{"created policy by KASKO id", audit.Filter{Policy: "tpol_e"}, []int64{id(6)}},
		{"created policy by insurer id", audit.Filter{Policy: "INS-E"}, []int64{id(6)}},
		{"reference is exact, not a prefix", audit.Filter{Policy: "9f1c2d3e-0000-4000-8000"}, nil},
		{"reference is case-sensitive", audit.Filter{Policy: "9F1C2D3E-0000-4000-8000-000000000001"}, nil},
		{"creations by actor", audit.Filter{Actor: "sk_test_…dddd"}, []int64{id(6), id(5)}},
		{"refused creation and cancellation", audit.Filter{Actor: "pk_test_…cccc", Outcome: audit.OutcomeRefused}, []int64{id(7), id(3)}},
		{"reference and outcome", audit.Filter{Policy: "9f1c2d3e-0000-4000-8000-000000000001", Outcome: audit.OutcomeCompleted}, []int64{id(5)}},
		{"reference and another outcome", audit.Filter{Policy: "9f1c2d3e-0000-4000-8000-000000000001", Outcome: audit.OutcomeAccepted}, nil},
		{"actor by masked key", audit.Filter{Actor: "sk_test_…bbbb"}, []int64{id(2), id(1)}},
		{"actor by display name", audit.Filter{Actor: "Ana"}, []int64{id(3), id(0)}},
		{"actor name is case-sensitive", audit.Filter{Actor: "ana"}, nil},
		{"outcome", audit.Filter{Outcome: audit.OutcomeRejected}, []int64{id(1)}},
		{"outcome across actions", audit.Filter{Outcome: audit.OutcomeCompleted}, []int64{id(6), id(5), id(2)}},
		{"outcome with no entries", audit.Filter{Outcome: audit.OutcomeFailed}, nil},
		{"policy and actor", audit.Filter{Policy: "tpol_a", Actor: "Ben"}, []int64{id(2)}},
		{"all three", audit.Filter{Policy: "INS-B", Actor: "sk_test_…aaaa", Outcome: audit.OutcomeUnknown}, []int64{id(4)}},
		{"all three, one off", audit.Filter{Policy: "INS-B", Actor: "sk_test_…aaaa", Outcome: audit.OutcomeAccepted}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.filter
			f.Limit = 100
			p := mustList(t, l, f)
			if got := ids(p.Entries); !slices.Equal(got, tt.want) {
				t.Errorf("ids = %v, want %v", got, tt.want)
			}
			if p.Total != len(tt.want) {
				t.Errorf("Total = %d, want %d", p.Total, len(tt.want))
			}
		})
	}
}

// testCancellationFilters checks the action, reason and time filters,
// and that they select exactly the entries CancelReasons counts: the
// overview links each count to the log filtered this way.
func testCancellationFilters(t *testing.T, st store) {
	l := st.open(t)
	from := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	to := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	const sold = "Insured item sold or no longer owned: an Opel, \"Ștefan's\""
	cancel := func(at time.Time, reason, outcome string) audit.Entry {
		return audit.Entry{Action: audit.ActionCancel, At: at, Actor: "sk_test_…aaaa", PolicyID: "tpol_a",
			Reason: reason, Outcome: outcome, Tenant: tenantA}
	}
	seed := []audit.Entry{
		0: cancel(from.Add(-time.Microsecond), "Duplicate policy", audit.OutcomeAccepted), // just before
		1: cancel(from, "Duplicate policy", audit.OutcomeAccepted),                        // the first instant
		2: cancel(from.Add(time.Hour), "", audit.OutcomeAccepted),
		3: cancel(from.Add(2*time.Hour), "Duplicate policy", audit.OutcomeCompleted), // the same one completing
		4: cancel(from.Add(3*time.Hour), "Duplicate policy", audit.OutcomeRejected),
		5: cancel(from.Add(4*time.Hour), sold, audit.OutcomeAccepted),
		6: cancel(from.Add(5*time.Hour), "duplicate policy", audit.OutcomeAccepted),  // another case
		7: cancel(from.Add(6*time.Hour), "Duplicate policy ", audit.OutcomeAccepted), // a trailing space
		8: cancel(to.Add(-time.Microsecond), "", audit.OutcomeAccepted),              // the last instant
		9: cancel(to, "Duplicate policy", audit.OutcomeAccepted),                     // the end, excluded
		// Another tenant, and another action.
		10: func() audit.Entry {
			e := cancel(from.Add(time.Hour), "Duplicate policy", audit.OutcomeAccepted)
			e.Tenant = tenantB
			return e
		}(),
		11: {Action: audit.ActionCreate, At: from.Add(time.Hour), Actor: "sk_test_…aaaa", VariantID: "var_1", Outcome: audit.OutcomeAccepted, Tenant: tenantA},
	}
	var added []int64
	for _, e := range seed {
		added = append(added, mustAppend(t, l, e).ID)
	}
	id := func(i int) int64 { return added[i] }
	accepted := audit.Filter{Tenant: tenantA, Action: audit.ActionCancel, Outcome: audit.OutcomeAccepted, From: from, To: to}
	with := func(f audit.Filter, change func(*audit.Filter)) audit.Filter {
		change(&f)
		return f
	}
	tests := []struct {
		name   string
		filter audit.Filter
		want   []int64
	}{
		{"action", audit.Filter{Tenant: tenantA, Action: audit.ActionCreate}, []int64{id(11)}},
		{"action unknown", audit.Filter{Action: "teleport"}, nil},
		{"reason is exact", audit.Filter{Reason: "Duplicate policy"}, []int64{id(10), id(9), id(4), id(3), id(1), id(0)}},
		{"reason with quotes and non-ASCII", audit.Filter{Reason: sold}, []int64{id(5)}},
		{"reason is case-sensitive", audit.Filter{Reason: "duplicate policy"}, []int64{id(6)}},
		{"reason keeps its spaces", audit.Filter{Reason: "Duplicate policy "}, []int64{id(7)}},
		{"reason is not a prefix", audit.Filter{Reason: "Duplicate"}, nil},
		{"no reason", audit.Filter{NoReason: true}, []int64{id(11), id(8), id(2)}},
		{"from is included", audit.Filter{Tenant: tenantA, From: from, To: from.Add(time.Microsecond)}, []int64{id(1)}},
		{"to is excluded", audit.Filter{Tenant: tenantA, From: to.Add(-time.Microsecond), To: to.Add(time.Microsecond)}, []int64{id(9), id(8)}},
		{"from alone", audit.Filter{Tenant: tenantA, From: to.Add(-time.Microsecond)}, []int64{id(9), id(8)}},
		{"to alone", audit.Filter{Tenant: tenantA, To: from}, []int64{id(0)}},
		{"bounds in another zone are the same instants", audit.Filter{Tenant: tenantA, From: from.In(time.FixedZone("EET", 2*3600)), To: from.Add(time.Microsecond).In(time.FixedZone("EET", 2*3600))}, []int64{id(1)}},
		{"empty range", audit.Filter{From: from, To: from}, nil},
		{"accepted cancellations in the period", accepted, []int64{id(8), id(7), id(6), id(5), id(2), id(1)}},
		{"and a reason", with(accepted, func(f *audit.Filter) { f.Reason = "Duplicate policy" }), []int64{id(1)}},
		{"and no reason", with(accepted, func(f *audit.Filter) { f.NoReason = true }), []int64{id(8), id(2)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.filter
			f.Limit = 100
			p := mustList(t, l, f)
			if got := ids(p.Entries); !slices.Equal(got, tt.want) {
				t.Errorf("ids = %v, want %v", got, tt.want)
			}
			if p.Total != len(tt.want) {
				t.Errorf("Total = %d, want %d", p.Total, len(tt.want))
			}
		})
	}

	// Each reason CancelReasons counts lists exactly that many entries,
	// in pages too small to hold them all.
	rc, ok := l.(audit.ReasonCounter)
	if !ok {
		t.Fatalf("%T counts no reasons", l)
	}
	counts, err := rc.CancelReasons(context.Background(), tenantA, from, to)
	if err != nil {
		t.Fatal(err)
	}
	if len(counts) != 5 {
		t.Errorf("CancelReasons = %v, want 5 reasons", counts)
	}
	for reason, n := range counts {
		f := with(accepted, func(f *audit.Filter) { f.Reason, f.NoReason, f.Limit = reason, reason == "", 1 })
		if p := mustList(t, l, f); p.Total != n || len(p.Entries) != 1 {
			t.Errorf("reason %q: counted %d, listed %d (%d on the page)", reason, n, p.Total, len(p.Entries))
		}
	}

	for _, f := range []audit.Filter{
		{Limit: 10, Reason: "Duplicate policy", NoReason: true},
		{Limit: 10, From: to, To: from},
	} {
		if _, err := l.List(context.Background(), f); !errors.Is(err, audit.ErrInvalid) {
			t.Errorf("List(%+v) = %v, want ErrInvalid", f, err)
		}
	}
}

func testPagination(t *testing.T, st store) {
	l := st.open(t)
	var all []int64 // newest first
	for i := range 7 {
		e := full(fmt.Sprintf("tpol_%d", i%2))
		all = append([]int64{mustAppend(t, l, e).ID}, all...)
	}
	tests := []struct {
		name      string
		filter    audit.Filter
		want      []int64
		wantTotal int
	}{
		{"first page", audit.Filter{Limit: 3}, all[0:3], 7},
		{"middle page", audit.Filter{Limit: 3, Offset: 3}, all[3:6], 7},
		{"last, short page", audit.Filter{Limit: 3, Offset: 6}, all[6:7], 7},
		{"past the end keeps the total", audit.Filter{Limit: 3, Offset: 9}, nil, 7},
		{"limit 1", audit.Filter{Limit: 1, Offset: 1}, all[1:2], 7},
		{"limit 100 covers all", audit.Filter{Limit: 100}, all, 7},
		// tpol_0 holds entries 0, 2, 4, 6: newest first all[0], all[2], …
		{"filtered page", audit.Filter{Policy: "tpol_0", Limit: 2, Offset: 2}, []int64{all[4], all[6]}, 4},
		{"filtered, past the end", audit.Filter{Policy: "tpol_1", Limit: 2, Offset: 4}, nil, 3},
		{"filtered, nothing", audit.Filter{Policy: "none", Limit: 2, Offset: 2}, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := mustList(t, l, tt.filter)
			if got := ids(p.Entries); !slices.Equal(got, tt.want) {
				t.Errorf("ids = %v, want %v", got, tt.want)
			}
			if p.Total != tt.wantTotal {
				t.Errorf("Total = %d, want %d", p.Total, tt.wantTotal)
			}
		})
	}
}

func testInvalid(t *testing.T, st store) {
	l := st.open(t)
	cancel := func() audit.Entry { return full("tpol_x") }
	create := func() audit.Entry { return created("5b0e7c1a-3f42-4d8e-9a61-0c2f4e8b9d17") }
	entries := []struct {
		name  string
		base  func() audit.Entry
		entry func(*audit.Entry)
	}{
		{"no action", cancel, func(e *audit.Entry) { e.Action = "" }},
		{"no outcome", cancel, func(e *audit.Entry) { e.Outcome = "" }},
		{"no policy", cancel, func(e *audit.Entry) { e.PolicyID = "" }},
		{"no actor", cancel, func(e *audit.Entry) { e.Actor = "" }},
		{"cancellation with a variant but no policy", cancel, func(e *audit.Entry) { e.PolicyID, e.VariantID = "", "var_1" }},
		{"creation without a variant", create, func(e *audit.Entry) { e.VariantID = "" }},
		{"creation without a variant, with a policy", create, func(e *audit.Entry) { e.VariantID, e.PolicyID = "", "tpol_x" }},
		{"creation without an actor", create, func(e *audit.Entry) { e.Actor = "" }},
		{"creation without an outcome", create, func(e *audit.Entry) { e.Outcome = "" }},
		{"conversion without an offer or a policy", func() audit.Entry {
			return audit.Entry{Action: audit.ActionConvert, Actor: "demo", Outcome: audit.OutcomeCompleted, Message: "GRP/CL 123456789"}
		}, func(*audit.Entry) {}},
	}
	for _, tt := range entries {
		t.Run(tt.name, func(t *testing.T) {
			e := tt.base()
			tt.entry(&e)
			if err := e.Check(); !errors.Is(err, audit.ErrInvalid) {
				t.Errorf("Check() = %v, want ErrInvalid", err)
			}
			if _, err := l.Append(context.Background(), e); !errors.Is(err, audit.ErrInvalid) {
				t.Errorf("Append = %v, want ErrInvalid", err)
			}
		})
	}
	if p := mustList(t, l, audit.Filter{Limit: 10}); p.Total != 0 {
		t.Errorf("invalid entries were stored: Total = %d", p.Total)
	}
	// What each action names its subject by is all it needs besides the
	// action, actor and outcome.
	valid := []struct {
		name  string
		entry audit.Entry
	}{
		{"creation without a policy", created("5b0e7c1a-3f42-4d8e-9a61-0c2f4e8b9d17")},
		{"creation refused before any push", audit.Entry{Action: audit.ActionCreate, Actor: "pk_test_…cccc", VariantID: "var_1", Outcome: audit.OutcomeRefused}},
		{"cancellation without a variant", audit.Entry{Action: audit.ActionCancel, Actor: "sk_test_…aaaa", PolicyID: "tpol_x", Outcome: audit.OutcomeAccepted}},
		{"conversion of an offer", audit.Entry{Action: audit.ActionConvert, Actor: "demo", Reference: "794318", Outcome: audit.OutcomeCompleted, Message: "GRP/CL 123456789"}},
	}
	for i, tt := range valid {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.entry.Check(); err != nil {
				t.Errorf("Check() = %v, want nil", err)
			}
			got := mustAppend(t, l, tt.entry)
			if p := mustList(t, l, audit.Filter{Limit: 10}); p.Total != i+1 || len(p.Entries) == 0 || p.Entries[0].ID != got.ID {
				t.Errorf("after appending: Total %d, want %d with entry %d newest", p.Total, i+1, got.ID)
			}
		})
	}
	filters := []struct {
		name   string
		filter audit.Filter
	}{
		{"limit 0", audit.Filter{Limit: 0}},
		{"limit 101", audit.Filter{Limit: 101}},
		{"negative offset", audit.Filter{Limit: 10, Offset: -1}},
	}
	for _, tt := range filters {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.filter.Check(); !errors.Is(err, audit.ErrInvalid) {
				t.Errorf("Check() = %v, want ErrInvalid", err)
			}
			if _, err := l.List(context.Background(), tt.filter); !errors.Is(err, audit.ErrInvalid) {
				t.Errorf("List = %v, want ErrInvalid", err)
			}
		})
	}
}

func testConcurrentAppends(t *testing.T, st store) {
	l := st.open(t)
	const workers, each = 8, 10
	var wg sync.WaitGroup
	got := make(chan int64, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				e := full(fmt.Sprintf("tpol_w%d", w))
				e.Reason = fmt.Sprintf("worker %d, entry %d", w, i)
				a, err := l.Append(context.Background(), e)
				if err != nil {
					t.Errorf("worker %d: %v", w, err)
					return
				}
				got <- a.ID
			}
		})
	}
	wg.Wait()
	close(got)
	var appended []int64
	for id := range got {
		appended = append(appended, id)
	}
	slices.Sort(appended)
	if n := len(slices.Compact(slices.Clone(appended))); n != workers*each || len(appended) != workers*each {
		t.Fatalf("%d appends gave %d distinct ids, want %d", len(appended), n, workers*each)
	}
	p := mustList(t, l, audit.Filter{Limit: 100})
	listed := ids(p.Entries)
	slices.Reverse(listed)
	if p.Total != workers*each || !slices.Equal(listed, appended) {
		t.Errorf("listed %d (Total %d), want the %d appended ids", len(listed), p.Total, workers*each)
	}
	for w := range workers {
		if p := mustList(t, l, audit.Filter{Policy: fmt.Sprintf("tpol_w%d", w), Limit: 100}); p.Total != each {
			t.Errorf("worker %d: %d entries, want %d", w, p.Total, each)
		}
	}
}

func testReopen(t *testing.T, st store) {
	l := st.open(t)
	first := mustAppend(t, l, full("tpol_1"))
	second := mustAppend(t, l, full("tpol_2"))
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	again := st.open(t)
	p := mustList(t, again, audit.Filter{Limit: 10})
	if p.Total != 2 || len(p.Entries) != 2 {
		t.Fatalf("after reopening: Total %d, %d entries, want 2", p.Total, len(p.Entries))
	}
	checkSame(t, "newest after reopening", p.Entries[0], second)
	checkSame(t, "oldest after reopening", p.Entries[1], first)
	if third := mustAppend(t, again, full("tpol_3")); third.ID <= second.ID {
		t.Errorf("ID after reopening = %d, want > %d", third.ID, second.ID)
	}
	// A third open finds nothing to migrate and records nothing more.
	st.open(t)
	checkVersions(t, st.raw(t), []int{1, 2, 3})
}

// checkVersions reads the applied migrations.
func checkVersions(t *testing.T, db *sql.DB, want []int) {
	t.Helper()
	rows, err := db.Query(`SELECT version FROM audit_schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		got = append(got, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("schema versions = %v, want %v", got, want)
	}
}

func testAppendOnly(t *testing.T, st store) {
	l := st.open(t)
	kept := mustAppend(t, l, full("tpol_1"))
	checkAppendOnly(t, st, st.raw(t))
	p := mustList(t, l, audit.Filter{Limit: 10})
	if p.Total != 1 || len(p.Entries) != 1 {
		t.Fatalf("after the refused statements: Total %d, want 1", p.Total)
	}
	checkSame(t, "entry after refused changes", p.Entries[0], kept)
}

// checkAppendOnly runs every statement that would change or remove
// entries and checks that the store refuses each.
func checkAppendOnly(t *testing.T, st store, db *sql.DB) {
	t.Helper()
	statements := []string{
		`UPDATE audit_entries SET reason = 'rewritten'`,
		`UPDATE audit_entries SET outcome = 'completed' WHERE id = 1`,
		`DELETE FROM audit_entries`,
		`DELETE FROM audit_entries WHERE id = 1`,
	}
	if st.truncate != "" {
		statements = append(statements, st.truncate)
	}
	for _, stmt := range statements {
		_, err := db.Exec(stmt)
		if err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: err = %v, want the append-only refusal", stmt, err)
		}
	}
}

func testConcurrentOpens(t *testing.T, st store) {
	const n = 4
	logs := make([]audit.Log, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			// Not st.open: its t.Fatal must not run off the test
			// goroutine.
			logs[i], errs[i] = st.openErr(ctx)
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("open %d: %v", i, errs[i])
		}
		t.Cleanup(func() { logs[i].Close() })
	}
	for i, l := range logs {
		mustAppend(t, l, full(fmt.Sprintf("tpol_%d", i)))
	}
	if p := mustList(t, logs[0], audit.Filter{Limit: 10}); p.Total != n {
		t.Errorf("Total = %d, want %d (one entry through each opened log)", p.Total, n)
	}
	checkVersions(t, st.raw(t), []int{1, 2, 3})
}

func testNewerSchema(t *testing.T, st store) {
	l := st.open(t)
	l.Close()
	db := st.raw(t)
	if _, err := db.Exec(`INSERT INTO audit_schema_migrations (version, applied_at) VALUES (99, '2030-01-01T00:00:00.000000Z')`); err != nil {
		t.Fatal(err)
	}
	_, err := st.openErr(context.Background())
	if err == nil || !strings.Contains(err.Error(), "newer") {
		t.Errorf("open after a newer migration: err = %v, want a refusal naming the newer schema", err)
	}
}

// v1Columns are the columns version 1 of the schema has, in the order
// insertV1 binds them.
const v1Columns = `at, action, actor, actor_name, mode, policy_id, insurer_policy_id, version_id, new_version_id,
	reason, termination_date, outcome, upstream_status, upstream_request_id, message`

// insertV1 writes e as a build that knew only version 1 did, and returns
// its id. The time is bound as text, which both stores read as an
// instant.
func insertV1(t *testing.T, db *sql.DB, e audit.Entry) int64 {
	t.Helper()
	var id int64
	err := db.QueryRow(`INSERT INTO audit_entries (`+v1Columns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING id`,
		e.At.UTC().Format("2006-01-02T15:04:05.000000Z"), e.Action, e.Actor, e.ActorName, e.Mode, e.PolicyID, e.InsurerPolicyID,
		e.VersionID, e.NewVersionID, e.Reason, e.TerminationDate, e.Outcome, e.UpstreamStatus, e.UpstreamRequestID, e.Message,
	).Scan(&id)
	if err != nil {
		t.Fatalf("inserting a version 1 entry: %v", err)
	}
	return id
}

// openV1 leaves the store at schema version 1, as the build before
// policy creations did.
func openV1(t *testing.T, st store) {
	t.Helper()
	v1, err := audit.OpenUpTo(context.Background(), st.cfg, 1)
	if err != nil {
		t.Fatalf("opening at version 1: %v", err)
	}
	if err := v1.Close(); err != nil {
		t.Fatal(err)
	}
	checkVersions(t, st.raw(t), []int{1})
}

// testUpgradeFromV1 opens a log an older build wrote and checks that
// its entries survive the upgrade as they were, and that the upgraded
// log takes creations and is still append-only.
func testUpgradeFromV1(t *testing.T, st store) {
	openV1(t, st)
	db := st.raw(t)
	old := full("tpol_old")
	old.At = time.Date(2026, 3, 1, 9, 15, 30, 123456000, time.UTC)
	old.ID = insertV1(t, db, old)
	older := audit.Entry{Action: audit.ActionCancel, Actor: "pk_test_…cccc", PolicyID: "tpol_ro", Outcome: audit.OutcomeRefused,
		At: old.At.Add(time.Minute)}
	older.ID = insertV1(t, db, older)

	l := st.open(t)
	checkVersions(t, db, []int{1, 2, 3})
	p := mustList(t, l, audit.Filter{Limit: 10})
	if p.Total != 2 || len(p.Entries) != 2 {
		t.Fatalf("after the upgrade: Total %d, %d entries, want 2", p.Total, len(p.Entries))
	}
	// checkSame compares every field: the ids are the ones version 1
	// gave, and the new fields are empty (a count of one). Neither has a
	// tenant any more: only the unfiltered, operators' list shows them.
	old.Tenant, older.Tenant, old.Count, older.Count = "", "", 1, 1
	checkSame(t, "second version 1 entry", p.Entries[0], older)
	checkSame(t, "first version 1 entry", p.Entries[1], old)

	// Version 1 refused an empty policy id; a creation has none.
	c := mustAppend(t, l, created("5b0e7c1a-3f42-4d8e-9a61-0c2f4e8b9d17"))
	if c.ID <= older.ID {
		t.Errorf("first id after the upgrade = %d, want > %d", c.ID, older.ID)
	}
	next := mustAppend(t, l, full("tpol_new"))
	if next.ID <= c.ID {
		t.Errorf("ids %d then %d, want increasing", c.ID, next.ID)
	}
	if p := mustList(t, l, audit.Filter{Policy: "5b0e7c1a-3f42-4d8e-9a61-0c2f4e8b9d17", Limit: 10}); len(p.Entries) != 1 {
		t.Errorf("by push reference after the upgrade: %d entries, want 1", len(p.Entries))
	} else {
		checkSame(t, "creation after the upgrade", p.Entries[0], c)
	}
	if p := mustList(t, l, audit.Filter{Policy: "tpol_old", Limit: 10}); len(p.Entries) != 1 || p.Entries[0].ID != old.ID {
		t.Errorf("by policy after the upgrade: ids %v, want [%d]", ids(p.Entries), old.ID)
	}
	if p := mustList(t, l, audit.Filter{Tenant: tenantA, Policy: "tpol_old", Limit: 10}); len(p.Entries) != 0 {
		t.Errorf("a version 1 entry is listed to tenant A: ids %v, want none", ids(p.Entries))
	}

	checkAppendOnly(t, st, db)
	// The other CHECKs survive the upgrade.
	if _, err := db.Exec(`INSERT INTO audit_entries (at, action, actor, outcome) VALUES ('2026-03-01T00:00:00.000000Z', '', 'sk_test_…4f2a', 'accepted')`); err == nil {
		t.Error("an entry with an empty action was stored after the upgrade")
	}
	if got, want := queryStrings(t, db, st.indexes), []string{
		"audit_entries_actor", "audit_entries_actor_name", "audit_entries_coalesce", "audit_entries_insurer_policy_id",
		"audit_entries_outcome", "audit_entries_policy_id", "audit_entries_reference", "audit_entries_tenant",
	}; !slices.Equal(got, want) {
		t.Errorf("indexes after the upgrade = %v, want %v", got, want)
	}
	if p := mustList(t, l, audit.Filter{Limit: 10}); p.Total != 4 {
		t.Errorf("Total = %d after the refused statements, want 4", p.Total)
	}

	// The build that knows only version 1 now refuses the log.
	if v1, err := audit.OpenUpTo(context.Background(), st.cfg, 1); err == nil {
		v1.Close()
		t.Error("a build knowing only version 1 opened the upgraded log")
	} else if !strings.Contains(err.Error(), "newer") {
		t.Errorf("opening with version 1 only: err = %v, want the newer-schema refusal", err)
	}
}

// queryStrings runs q and returns its single text column.
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

// TestSQLiteUpgradeKeepsTheIDCounter: SQLite's upgrade rebuilds the
// table, and the new table must go on from the old AUTOINCREMENT
// counter, not from the highest id left, so that the id of an entry
// removed outside the triggers is not handed out again.
func TestSQLiteUpgradeKeepsTheIDCounter(t *testing.T) {
	t.Parallel()
	st := sqliteBackend().fresh(t)
	openV1(t, st)
	db := st.raw(t)
	e := full("tpol_1")
	e.At = time.Date(2026, 3, 1, 9, 15, 30, 0, time.UTC)
	for range 3 {
		insertV1(t, db, e)
	}
	// Tampering the triggers exist to stop, done the only way it can be.
	for _, stmt := range []string{`DROP TRIGGER audit_entries_no_delete`, `DELETE FROM audit_entries WHERE id = 3`} {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}

	l := st.open(t)
	if got := mustAppend(t, l, full("tpol_2")); got.ID != 4 {
		t.Errorf("first id after the upgrade = %d, want 4 (3 was handed out before)", got.ID)
	}
	if got := queryStrings(t, db, `SELECT name || '=' || seq FROM sqlite_sequence ORDER BY name`); !slices.Equal(got, []string{"audit_entries=4"}) {
		t.Errorf("sqlite_sequence = %v, want [audit_entries=4]", got)
	}
	if got := queryStrings(t, db, `SELECT name FROM sqlite_master WHERE name LIKE '%v2%'`); len(got) != 0 {
		t.Errorf("the rebuild left %v behind", got)
	}
	if got := ids(mustList(t, l, audit.Filter{Limit: 10}).Entries); !slices.Equal(got, []int64{4, 2, 1}) {
		t.Errorf("ids = %v, want [4 2 1]", got)
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
		cfg     audit.Config
		wantErr string
	}{
		{"nothing configured", audit.Config{}, "neither"},
		{"unparsable URL", audit.Config{DatabaseURL: "postgres://u:s3cr3t@host:notaport/db"}, "AUDIT_DATABASE_URL"},
		{"unreachable server", audit.Config{DatabaseURL: "postgres://u:s3cr3t@/db?host=" + filepath.Join(dir, "no-socket") + "&connect_timeout=2"}, "connecting to PostgreSQL"},
		{"folder is a file", audit.Config{Path: filepath.Join(blocker, "audit.db")}, "audit:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := audit.Open(context.Background(), tt.cfg)
			if err == nil {
				l.Close()
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
	path := filepath.Join(t.TempDir(), "sub", "audit.db")
	log := mustOpen(t, audit.Config{Path: path})
	// A write makes the -wal and -shm files, which hold the same entries
	// until a checkpoint.
	if _, err := log.Append(context.Background(), audit.Entry{Action: audit.ActionCancel, Actor: "sk_test_…abcd", PolicyID: "tpol_1", Outcome: audit.OutcomeAccepted}); err != nil {
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
