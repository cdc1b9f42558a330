package kasko_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"backoffice/apiclient"
	"backoffice/internal/audit"
	"backoffice/internal/sandbox"
	"backoffice/web/webtest"
)

// demoTenants is the tenant each demo key's session must see: its
// distributor (as the upstream's policies name it) and its mode.
var demoTenants = []struct {
	name, key, tenant string
}{
	{"A secret test", sandbox.KeyASecretTest, audit.KaskoTenant(sandbox.DistributorAID, "test")},
	{"A public test", sandbox.KeyAPublicTest, audit.KaskoTenant(sandbox.DistributorAID, "test")},
	{"A secret live", sandbox.KeyASecretLive, audit.KaskoTenant(sandbox.DistributorAID, "live")},
	{"A public live", sandbox.KeyAPublicLive, audit.KaskoTenant(sandbox.DistributorAID, "live")},
	{"B secret test", sandbox.KeyBSecretTest, audit.KaskoTenant(sandbox.DistributorBID, "test")},
	{"B public test", sandbox.KeyBPublicTest, audit.KaskoTenant(sandbox.DistributorBID, "test")},
}

// mustAppendEntry writes e straight into the server's log (an entry of
// a partner, or one an older build left).
func mustAppendEntry(t *testing.T, srv *webtest.Server, e audit.Entry) audit.Entry {
	t.Helper()
	got, err := srv.Audit.Append(context.Background(), e)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// cancelAs cancels the policy at path with b's staff key, through the
// form, and fails unless the upstream accepted it.
func cancelAs(t *testing.T, b *webtest.Browser, path, confirmID string) {
	t.Helper()
	form := cancelForm(openCancelForm(t, b, path), "confirm")
	form.Set("termination_date", time.Now().AddDate(0, 1, 0).Format(time.DateOnly))
	if confirmID != "" {
		form.Set("confirm_id", confirmID)
	}
	if r := b.Post(path+"/cancel", form); r.Status != http.StatusSeeOther {
		t.Fatalf("cancel %s = %d, want 303\n%.500s", path, r.Status, r.Body)
	}
}

// TestAuditTenantsSeeOnlyTheirOwn: after every demo key, a partner and
// an older build have acted, each key's session lists exactly its
// tenant's entries (its distributor, in its mode) on /audit, filtered
// or not; nobody sees a partner's conversion or an unattributed entry.
func TestAuditTenantsSeeOnlyTheirOwn(t *testing.T) {
	t.Parallel()
	srv := newCancelServer(t, sandbox.Options{CancelDelay: time.Minute})
	// Actions by every tenant.
	cancelAs(t, srv.SignedIn(t, sandbox.KeyASecretTest), fixturePath, "")
	cancelAs(t, srv.SignedIn(t, sandbox.KeyBSecretTest), "/policies/"+sandbox.FixtureOtherDistributorID, "")
	cancelAs(t, srv.SignedIn(t, sandbox.KeyASecretLive), "/policies/"+sandbox.FixtureLiveID, sandbox.FixtureLiveInsurerID)
	for _, c := range []struct{ key, policy string }{
		{sandbox.KeyAPublicTest, sandbox.FixturePolicyID},
		{sandbox.KeyAPublicLive, sandbox.FixtureLiveID},
		{sandbox.KeyBPublicTest, sandbox.FixtureOtherDistributorID},
	} {
		r := srv.SignedIn(t, c.key).Post("/policies/"+c.policy+"/cancel", url.Values{"token": {"x"}, "step": {"confirm"}})
		if r.Status != http.StatusForbidden {
			t.Fatalf("read-only cancel = %d, want 403", r.Status)
		}
	}
	conversion := mustAppendEntry(t, srv, audit.Entry{Action: audit.ActionConvert, Actor: sandbox.CascoDemoAccount, Reference: "794318",
		Holder: "Ion Popescu-Secret", Outcome: audit.OutcomeCompleted, Message: "GRP/CL 123456789", Tenant: audit.PartnerTenant(sandbox.CascoDemoAccount)})
	legacy := mustAppendEntry(t, srv, audit.Entry{Action: audit.ActionCancel, Actor: apiclient.MaskKey(sandbox.KeyASecretTest), Mode: "test",
		PolicyID: sandbox.FixturePolicyID, Outcome: audit.OutcomeAccepted, Reason: "left by an older build"})

	all := srv.AuditEntries(t)
	byTenant := map[string][]string{}
	for _, e := range all {
		byTenant[e.Tenant] = append(byTenant[e.Tenant], idOf(e))
	}
	for _, d := range demoTenants {
		if len(byTenant[d.tenant]) != 2 {
			t.Fatalf("tenant %s has entries %v, want 2 (a cancellation and a refusal); all: %+v", d.tenant, byTenant[d.tenant], all)
		}
	}
	for _, d := range demoTenants {
		t.Run(d.name, func(t *testing.T) {
			b := srv.SignedIn(t, d.key)
			doc := b.Page(t, "/audit", http.StatusOK).Doc
			checkAuditIDs(t, doc, byTenant[d.tenant]...)
			if strings.Contains(doc.Text(), "Ion Popescu-Secret") || strings.Contains(doc.Text(), "left by an older build") {
				t.Error("a partner's conversion or an unattributed entry is listed")
			}
			// Filters cannot reach past the tenant either.
			for _, q := range []string{
				"/audit?policy=794318",
				"/audit?actor=" + url.QueryEscape(sandbox.CascoDemoAccount),
				"/audit?outcome=completed",
			} {
				if ids := auditIDs(b.Page(t, q, http.StatusOK).Doc); slices.Contains(ids, idOf(conversion)) || slices.Contains(ids, idOf(legacy)) {
					t.Errorf("%s lists %v, with another tenant's entry", q, ids)
				}
			}
			for _, other := range demoTenants {
				if other.tenant == d.tenant {
					continue
				}
				for _, id := range byTenant[other.tenant] {
					q := "/audit?actor=" + url.QueryEscape(apiclient.MaskKey(other.key))
					if slices.Contains(auditIDs(b.Page(t, q, http.StatusOK).Doc), id) {
						t.Errorf("%s lists entry %s of tenant %s", q, id, other.tenant)
					}
				}
			}
		})
	}
}

func idOf(e audit.Entry) string { return strconv.FormatInt(e.ID, 10) }

// TestPolicyHistoryIsScoped: a policy page's history lists the viewing
// tenant's entries about the policy only, even when another tenant's
// key tried something with the same policy id.
func TestPolicyHistoryIsScoped(t *testing.T) {
	t.Parallel()
	srv := newCancelServer(t, sandbox.Options{CancelDelay: time.Minute})
	// Distributor B's read-only key tries to cancel A's policy by its id.
	if r := srv.SignedIn(t, sandbox.KeyBPublicTest).Post(cancelPath, url.Values{"token": {"x"}, "step": {"confirm"}}); r.Status != http.StatusForbidden {
		t.Fatalf("B's read-only cancel = %d, want 403", r.Status)
	}
	mustAppendEntry(t, srv, audit.Entry{Action: audit.ActionCancel, Actor: "sk_test_…olde", PolicyID: sandbox.FixturePolicyID,
		Outcome: audit.OutcomeRejected, Reason: "left by an older build"})
	a := srv.SignedIn(t, sandbox.KeyASecretTest)
	if n := a.Page(t, fixturePath, http.StatusOK).Doc.Find(`[data-testid="audit-entry"]`).Length(); n != 0 {
		t.Errorf("A's policy page lists %d entries of others, want none", n)
	}
	cancelAs(t, a, fixturePath, "")
	doc := a.Page(t, fixturePath, http.StatusOK).Doc
	entries := doc.Find(`[data-testid="audit-entry"]`)
	if entries.Length() != 1 || !strings.Contains(webtest.Text(entries), "sk_test_") {
		t.Errorf("A's policy history = %q, want its own cancellation alone", webtest.Text(entries))
	}
	if got := auditIDs(a.Page(t, "/audit?policy="+sandbox.FixturePolicyID, http.StatusOK).Doc); len(got) != 1 {
		t.Errorf("A's /audit?policy= lists %v, want its one entry", got)
	}
	// B sees its refusal, not A's cancellation.
	bdoc := srv.SignedIn(t, sandbox.KeyBPublicTest).Page(t, "/audit?policy="+sandbox.FixturePolicyID, http.StatusOK).Doc
	if rows := auditRows(bdoc); rows.Length() != 1 || webtest.Text(rows.Find(`[data-testid="audit-outcome-badge"]`)) != "Refused (read-only)" {
		t.Errorf("B's entries about A's policy = %q, want its refusal alone", webtest.Text(rows))
	}
}

// TestPendingBadgeIsScoped: the header's pending count is the tenant's:
// a cancellation in progress shows for its key, not for another
// distributor's, and an accepted entry an older build left without a
// tenant (same masked key or not) shows for no one.
func TestPendingBadgeIsScoped(t *testing.T) {
	t.Parallel()
	srv := newCancelServer(t, sandbox.Options{CancelDelay: time.Minute})
	mustAppendEntry(t, srv, audit.Entry{Action: audit.ActionCancel, Actor: apiclient.MaskKey(sandbox.KeyBSecretTest), Mode: "test",
		PolicyID: sandbox.FixtureOtherDistributorID, VersionID: "tpv_old", NewVersionID: "tpv_pending_old", Outcome: audit.OutcomeAccepted})
	// The same masked key in another tenant (a key of the same shape
	// elsewhere) must not count either.
	mustAppendEntry(t, srv, audit.Entry{Action: audit.ActionCancel, Actor: apiclient.MaskKey(sandbox.KeyBSecretTest), Mode: "test",
		PolicyID: sandbox.FixturePolicyID, VersionID: "tpv_x", NewVersionID: "tpv_pending_x", Outcome: audit.OutcomeAccepted,
		Tenant: audit.KaskoTenant(sandbox.DistributorAID, "live")})
	a := srv.SignedIn(t, sandbox.KeyASecretTest)
	cancelAs(t, a, fixturePath, "")
	badge := func(b *webtest.Browser) string {
		return webtest.Text(b.Page(t, "/policies?size=10", http.StatusOK).Doc.Find(`a[data-testid="ops-badge"]`))
	}
	if got := badge(a); !strings.HasPrefix(got, "1 ") {
		t.Errorf("A's badge = %q, want its one cancellation", got)
	}
	if got := badge(srv.SignedIn(t, sandbox.KeyBSecretTest)); got != "" {
		t.Errorf("B's badge = %q, want none", got)
	}
	if got := badge(srv.SignedIn(t, sandbox.KeyASecretLive)); got != "" {
		t.Errorf("A live's badge = %q, want none", got)
	}
	if r := srv.SignedIn(t, sandbox.KeyBSecretTest).Page(t, "/operations", http.StatusOK); r.Doc.Find(`a[href*="`+sandbox.FixtureOtherDistributorID+`"]`).Length() != 0 {
		t.Error("B's operations page lists the unattributed cancellation")
	}
}

// TestRefusedWriteFloodIsOneEntry: 500 refused cancellations of one
// read-only session make one entry counting 500 (two when the run
// straddles a minute), not 500 rows; another policy is an entry of its
// own; a failed sign-in is no entry at all.
func TestRefusedWriteFloodIsOneEntry(t *testing.T) {
	t.Parallel()
	srv := newCancelServer(t, sandbox.Options{})
	bad := srv.NewBrowser(t)
	if r := bad.Post("/signin", url.Values{"key": {"sk_test_" + strings.Repeat("x", 32)}}); r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("sign-in with an unknown key = %d, want 422", r.Status)
	}
	if e := srv.AuditEntries(t); len(e) != 0 {
		t.Fatalf("a failed sign-in made audit entries: %+v", e)
	}
	reader := srv.SignedIn(t, sandbox.KeyAPublicTest)
	start := time.Now().UTC().Truncate(time.Minute)
	const n = 500
	for range n {
		if r := reader.Post(cancelPath, url.Values{"token": {"x"}, "step": {"confirm"}}); r.Status != http.StatusForbidden {
			t.Fatalf("refused cancel = %d, want 403", r.Status)
		}
	}
	end := time.Now().UTC().Truncate(time.Minute)
	reader.Post("/policies/"+sandbox.FixtureExpiredID+"/cancel", url.Values{"token": {"x"}})
	var flood, other []audit.Entry
	for _, e := range srv.AuditEntries(t) {
		switch e.PolicyID {
		case sandbox.FixturePolicyID:
			flood = append(flood, e)
		case sandbox.FixtureExpiredID:
			other = append(other, e)
		}
	}
	sum := 0
	for _, e := range flood {
		sum += e.Count
		if e.Outcome != audit.OutcomeRefused || e.Tenant != audit.KaskoTenant(sandbox.DistributorAID, "test") {
			t.Errorf("flood entry = %+v", e)
		}
	}
	wantRows := 1
	if !end.Equal(start) {
		wantRows = 2
	}
	if len(flood) != wantRows || sum != n {
		t.Errorf("%d refused cancellations made %d rows counting %d, want %d counting %d", n, len(flood), sum, wantRows, n)
	}
	if len(other) != 1 || other[0].Count != 1 {
		t.Errorf("another policy's refusal = %+v, want one entry of its own", other)
	}
	if wantRows == 1 {
		row := auditRows(reader.Page(t, "/audit?outcome=refused", http.StatusOK).Doc).Last()
		if got := webtest.Text(row.Find(`[data-testid="audit-count"]`)); got != "500 times" {
			t.Errorf("count shown = %q, want 500 times", got)
		}
	}
	// Another session of the same key is counted apart.
	if r := srv.SignedIn(t, sandbox.KeyAPublicTest).Post(cancelPath, url.Values{"token": {"x"}}); r.Status != http.StatusForbidden {
		t.Fatalf("refused cancel = %d", r.Status)
	}
	var rows int
	for _, e := range srv.AuditEntries(t) {
		if e.PolicyID == sandbox.FixturePolicyID {
			rows++
		}
	}
	if rows != wantRows+1 {
		t.Errorf("after another session's refusal: %d rows, want %d", rows, wantRows+1)
	}
}
