package audit_test

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"backoffice/internal/audit"
	"backoffice/internal/audit/pgtest"
)

var (
	tenantA     = audit.KaskoTenant("zDKx5dRWea8wv2Yr1pq3LbBGNM9rAPXZ", "test")
	tenantALive = audit.KaskoTenant("zDKx5dRWea8wv2Yr1pq3LbBGNM9rAPXZ", "live")
	tenantB     = audit.KaskoTenant("8aRUhR4IWrXPvhsBkDa9U4UqGWlG6g3O", "test")
	partner     = audit.PartnerTenant("demo")
)

func TestTenantsMemory(t *testing.T) {
	t.Parallel()
	tenantConformance(t, memoryBackend())
}

func TestTenantsSQLite(t *testing.T) {
	t.Parallel()
	tenantConformance(t, sqliteBackend())
}

func TestTenantsPostgres(t *testing.T) {
	t.Parallel()
	tenantConformance(t, postgresBackend(pgtest.Start(t)))
}

func tenantConformance(t *testing.T, b backend) {
	t.Run("scoped lists", func(t *testing.T) {
		t.Parallel()
		testTenantScope(t, b.fresh(t))
	})
	t.Run("coalesced entries", func(t *testing.T) {
		t.Parallel()
		testCoalesce(t, b.fresh(t))
	})
	t.Run("concurrent coalesced appends", func(t *testing.T) {
		t.Parallel()
		testConcurrentCoalesce(t, b.fresh(t))
	})
	if b.fresh(t).mem != nil {
		return
	}
	t.Run("upgrade from version 2", func(t *testing.T) {
		t.Parallel()
		testUpgradeFromV2(t, b.fresh(t))
	})
	t.Run("only a coalesced count may grow", func(t *testing.T) {
		t.Parallel()
		testCountOnlyGrows(t, b.fresh(t))
	})
}

// testTenantScope: a tenant's list, its filters and its totals hold its
// own entries only, whatever the other filters say.
func testTenantScope(t *testing.T, st store) {
	l := st.open(t)
	add := func(tenant, policy, actor, outcome string) int64 {
		e := full(policy)
		e.Tenant, e.Actor, e.Outcome = tenant, actor, outcome
		return mustAppend(t, l, e).ID
	}
	a1 := add(tenantA, "tpol_shared", "sk_test_…aaaa", audit.OutcomeAccepted)
	b1 := add(tenantB, "tpol_shared", "sk_test_…aaaa", audit.OutcomeAccepted)
	al := add(tenantALive, "lpol_1", "sk_live_…aaaa", audit.OutcomeAccepted)
	a2 := add(tenantA, "tpol_2", "pk_test_…cccc", audit.OutcomeRefused)
	p1 := mustAppend(t, l, audit.Entry{Action: audit.ActionConvert, Actor: "demo", Reference: "794318", Outcome: audit.OutcomeCompleted,
		Holder: "Ion Popescu", Tenant: partner}).ID
	none := add("", "tpol_shared", "sk_test_…aaaa", audit.OutcomeAccepted)
	tests := []struct {
		name string
		f    audit.Filter
		want []int64
	}{
		{"tenant A", audit.Filter{Tenant: tenantA}, []int64{a2, a1}},
		{"tenant A live", audit.Filter{Tenant: tenantALive}, []int64{al}},
		{"tenant B", audit.Filter{Tenant: tenantB}, []int64{b1}},
		{"partner", audit.Filter{Tenant: partner}, []int64{p1}},
		{"another partner", audit.Filter{Tenant: audit.PartnerTenant("other")}, nil},
		{"A, by a policy B has too", audit.Filter{Tenant: tenantA, Policy: "tpol_shared"}, []int64{a1}},
		{"A, by an actor B has too", audit.Filter{Tenant: tenantA, Actor: "sk_test_…aaaa"}, []int64{a1}},
		{"B, by an outcome only A has", audit.Filter{Tenant: tenantB, Outcome: audit.OutcomeRefused}, nil},
		{"B, by the partner's offer", audit.Filter{Tenant: tenantB, Policy: "794318"}, nil},
		{"every tenant (operators)", audit.Filter{}, []int64{none, p1, a2, al, b1, a1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.f
			f.Limit = 100
			p := mustList(t, l, f)
			if got := ids(p.Entries); !slices.Equal(got, tt.want) || p.Total != len(tt.want) {
				t.Errorf("ids = %v (total %d), want %v", got, p.Total, tt.want)
			}
			for _, e := range p.Entries {
				if f.Tenant != "" && e.Tenant != f.Tenant {
					t.Errorf("entry %d has tenant %q, want %q", e.ID, e.Tenant, f.Tenant)
				}
			}
		})
	}
	// A page past the end counts the tenant's entries only.
	if p := mustList(t, l, audit.Filter{Tenant: tenantA, Limit: 1, Offset: 5}); p.Total != 2 {
		t.Errorf("past the end: Total = %d, want 2", p.Total)
	}
}

func refusal(tenant, key string) audit.Entry {
	return audit.Entry{Action: audit.ActionCancel, Actor: "pk_test_…cccc", Mode: "test", PolicyID: "tpol_x",
		Outcome: audit.OutcomeRefused, Message: "read-only session", Tenant: tenant, Coalesce: key}
}

// testCoalesce: repeats of a coalesced entry are one row whose count
// grows; another key, another tenant or no key make rows of their own.
func testCoalesce(t *testing.T, st store) {
	l := st.open(t)
	first := mustAppend(t, l, refusal(tenantA, "s1|cancel|tpol_x|2026-07-01T22:05"))
	if first.Count != 1 {
		t.Errorf("first count = %d, want 1", first.Count)
	}
	var last audit.Entry
	for range 499 {
		last = mustAppend(t, l, refusal(tenantA, "s1|cancel|tpol_x|2026-07-01T22:05"))
	}
	if last.ID != first.ID || last.Count != 500 || !last.At.Equal(first.At) {
		t.Errorf("500th append = id %d, count %d, at %v; want id %d, count 500, at %v", last.ID, last.Count, last.At, first.ID, first.At)
	}
	next := mustAppend(t, l, refusal(tenantA, "s1|cancel|tpol_x|2026-07-01T22:06"))
	other := mustAppend(t, l, refusal(tenantB, "s1|cancel|tpol_x|2026-07-01T22:05"))
	plain := mustAppend(t, l, refusal(tenantA, ""))
	plain2 := mustAppend(t, l, refusal(tenantA, ""))
	p := mustList(t, l, audit.Filter{Tenant: tenantA, Limit: 10})
	if got, want := ids(p.Entries), []int64{plain2.ID, plain.ID, next.ID, first.ID}; !slices.Equal(got, want) {
		t.Fatalf("ids = %v, want %v", got, want)
	}
	var counts []int
	for _, e := range p.Entries {
		counts = append(counts, e.Count)
	}
	if !slices.Equal(counts, []int{1, 1, 1, 500}) {
		t.Errorf("counts = %v, want [1 1 1 500]", counts)
	}
	if other.ID == first.ID || other.Count != 1 {
		t.Errorf("the same key in tenant B joined tenant A's entry (id %d, count %d)", other.ID, other.Count)
	}
	if _, err := l.Append(context.Background(), refusal("", "k")); err == nil {
		t.Error("a coalesced entry without a tenant was stored")
	}
}

// testConcurrentCoalesce: instances appending the same refusal at once
// (here: goroutines on one log) still make one row with every count.
func testConcurrentCoalesce(t *testing.T, st store) {
	l := st.open(t)
	const workers, each = 8, 25
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				if _, err := l.Append(context.Background(), refusal(tenantA, "k")); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	p := mustList(t, l, audit.Filter{Tenant: tenantA, Limit: 10})
	if len(p.Entries) != 1 || p.Entries[0].Count != workers*each {
		t.Errorf("%d rows, first count %v, want 1 row counting %d", len(p.Entries), p.Entries, workers*each)
	}
}

// v2Columns are the columns of schema version 2, bound by insertV2.
const v2Columns = v1Columns + `, variant_id, holder, reference`

func insertV2(t *testing.T, db *sql.DB, e audit.Entry) int64 {
	t.Helper()
	ph := make([]string, 18)
	for i := range ph {
		ph[i] = fmt.Sprintf("$%d", i+1)
	}
	var id int64
	err := db.QueryRow(`INSERT INTO audit_entries (`+v2Columns+`) VALUES (`+strings.Join(ph, ", ")+`) RETURNING id`,
		e.At.UTC().Format("2006-01-02T15:04:05.000000Z"), e.Action, e.Actor, e.ActorName, e.Mode, e.PolicyID, e.InsurerPolicyID,
		e.VersionID, e.NewVersionID, e.Reason, e.TerminationDate, e.Outcome, e.UpstreamStatus, e.UpstreamRequestID, e.Message,
		e.VariantID, e.Holder, e.Reference,
	).Scan(&id)
	if err != nil {
		t.Fatalf("inserting a version 2 entry: %v", err)
	}
	return id
}

// testUpgradeFromV2 migrates a log the build before tenants wrote: a
// conversion is attributed to its partner account (its actor), KASKO
// entries, which name no distributor, are kept without a tenant and
// listed to no tenant; the log stays append-only.
func testUpgradeFromV2(t *testing.T, st store) {
	v2, err := audit.OpenUpTo(context.Background(), st.cfg, 2)
	if err != nil {
		t.Fatalf("opening at version 2: %v", err)
	}
	v2.Close()
	db := st.raw(t)
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	cancel := full("tpol_old")
	cancel.At = at
	create := created("5b0e7c1a-3f42-4d8e-9a61-0c2f4e8b9d17")
	create.At = at.Add(time.Minute)
	convert := audit.Entry{Action: audit.ActionConvert, Actor: "demo", Reference: "794318", Holder: "Ion Popescu",
		Outcome: audit.OutcomeCompleted, Message: "GRP/CL 123456789", At: at.Add(2 * time.Minute)}
	otherConvert := convert
	otherConvert.Actor, otherConvert.Reference, otherConvert.At = "broker2", "794319", at.Add(3*time.Minute)
	idCancel := insertV2(t, db, cancel)
	idCreate := insertV2(t, db, create)
	idConvert := insertV2(t, db, convert)
	idOther := insertV2(t, db, otherConvert)

	l := st.open(t)
	checkVersions(t, db, []int{1, 2, 3})
	for _, tenant := range []string{tenantA, tenantALive, tenantB} {
		f := audit.Filter{Tenant: tenant, Limit: 10}
		if p := mustList(t, l, f); slices.ContainsFunc(p.Entries, func(e audit.Entry) bool { return e.ID == idCancel || e.ID == idCreate }) {
			t.Errorf("tenant %q sees an unattributed KASKO entry: %v", tenant, ids(p.Entries))
		}
	}
	if p := mustList(t, l, audit.Filter{Tenant: partner, Limit: 10}); !slices.Equal(ids(p.Entries), []int64{idConvert}) {
		t.Errorf("partner demo sees %v, want its conversion [%d]", ids(p.Entries), idConvert)
	} else if e := p.Entries[0]; e.Tenant != partner || e.Holder != "Ion Popescu" || e.Count != 1 {
		t.Errorf("backfilled conversion = %+v", e)
	}
	if p := mustList(t, l, audit.Filter{Tenant: audit.PartnerTenant("broker2"), Limit: 10}); !slices.Equal(ids(p.Entries), []int64{idOther}) {
		t.Errorf("partner broker2 sees %v, want [%d]", ids(p.Entries), idOther)
	}
	// What the README's migration note tells operators to run.
	var unattributed int
	if err := db.QueryRow(`SELECT COUNT(*) FROM audit_entries WHERE tenant = ''`).Scan(&unattributed); err != nil {
		t.Fatal(err)
	}
	if unattributed != 2 {
		t.Errorf("unattributed rows = %d, want 2 (the KASKO ones)", unattributed)
	}
	if p := mustList(t, l, audit.Filter{Limit: 10}); p.Total != 4 {
		t.Errorf("every tenant: Total %d, want the 4 rows kept", p.Total)
	}
	checkAppendOnly(t, st, db)
	// New entries carry their tenant.
	e := full("tpol_new")
	got := mustAppend(t, l, e)
	if p := mustList(t, l, audit.Filter{Tenant: tenantA, Limit: 10}); !slices.Equal(ids(p.Entries), []int64{got.ID}) {
		t.Errorf("tenant A after the upgrade sees %v, want [%d]", ids(p.Entries), got.ID)
	}
}

// testCountOnlyGrows: the triggers let a coalesced entry's count grow
// and nothing else; a plain entry's count is as fixed as the rest.
func testCountOnlyGrows(t *testing.T, st store) {
	l := st.open(t)
	plain := mustAppend(t, l, full("tpol_1"))
	c := mustAppend(t, l, refusal(tenantA, "k"))
	db := st.raw(t)
	for _, stmt := range []string{
		fmt.Sprintf(`UPDATE audit_entries SET count = count + 1 WHERE id = %d`, plain.ID),
		fmt.Sprintf(`UPDATE audit_entries SET count = count - 1 WHERE id = %d`, c.ID),
		fmt.Sprintf(`UPDATE audit_entries SET count = count + 1, outcome = 'completed' WHERE id = %d`, c.ID),
		fmt.Sprintf(`UPDATE audit_entries SET count = count + 1, tenant = '%s' WHERE id = %d`, tenantB, c.ID),
		fmt.Sprintf(`UPDATE audit_entries SET message = 'rewritten' WHERE id = %d`, c.ID),
		fmt.Sprintf(`DELETE FROM audit_entries WHERE id = %d`, c.ID),
	} {
		if _, err := db.Exec(stmt); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: err = %v, want the append-only refusal", stmt, err)
		}
	}
	p := mustList(t, l, audit.Filter{Limit: 10})
	if len(p.Entries) != 2 || p.Entries[0].Count != 1 || p.Entries[1].Count != 1 || p.Entries[0].Outcome != audit.OutcomeRefused {
		t.Errorf("after the refused statements: %+v", p.Entries)
	}
}
