package kasko

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"backoffice/handlers"
	"backoffice/internal/audit"
	"backoffice/internal/i18n"
	auditviews "backoffice/views/audit"
)

// internalTenant is the tenant the timeline tests' user and entries
// share.
var internalTenant = audit.KaskoTenant("zDKx5dRWea8wv2Yr1pq3LbBGNM9rAPXZ", "test")

// TestPolicyTimeline checks the timeline the policy detail page shows:
// only the policy's entries, newest first, at most timelineSize, with a
// link to the rest, rendered with user text escaped.
func TestPolicyTimeline(t *testing.T) {
	catalog, err := i18n.New()
	if err != nil {
		t.Fatal(err)
	}
	ctx := i18n.WithPrinter(context.Background(), catalog.Printer("en"))
	ctx = withUser(ctx, &User{Key: "sk_test_OhbVrpoiVgRV5IfLBcbfnoGMbJmTPSIA", Tenant: internalTenant})
	at := time.Date(2026, 7, 1, 22, 5, 0, 0, time.UTC)
	seed := func(t *testing.T, n int, other bool) *audit.Memory {
		t.Helper()
		m := audit.NewMemory()
		for i := range n {
			e := audit.Entry{Action: audit.ActionCancel, PolicyID: "tpol_a", InsurerPolicyID: "INS-A", Actor: "sk_test_…aaaa",
				ActorName: "Ana", Outcome: audit.OutcomeRejected, UpstreamStatus: 409, UpstreamRequestID: fmt.Sprintf("req_%d", i+1),
				Reason: fmt.Sprintf(`<b>reason %d</b>`, i+1), TerminationDate: "2026-07-31", At: at.Add(time.Duration(i) * time.Minute),
				Tenant: internalTenant}
			if _, err := m.Append(ctx, e); err != nil {
				t.Fatal(err)
			}
			if other {
				if _, err := m.Append(ctx, audit.Entry{Action: audit.ActionCancel, PolicyID: "tpol_b", Actor: "sk_test_…bbbb", Outcome: audit.OutcomeAccepted,
					Tenant: internalTenant}); err != nil {
					t.Fatal(err)
				}
			}
		}
		return m
	}
	tests := []struct {
		name      string
		log       func(t *testing.T) *audit.Memory
		wantIDs   []string
		wantTotal int
		wantMore  string
	}{
		{"none", func(t *testing.T) *audit.Memory { return seed(t, 0, false) }, nil, 0, ""},
		{"only this policy's, newest first", func(t *testing.T) *audit.Memory { return seed(t, 3, true) }, []string{"5", "3", "1"}, 3, ""},
		{"capped, with a link to the rest", func(t *testing.T) *audit.Memory { return seed(t, timelineSize+2, false) }, nil, timelineSize + 2, "/audit?policy=tpol_a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := New(handlers.New(handlers.Config{}), Deps{Audit: tt.log(t)})
			v, err := h.policyTimeline(ctx, "tpol_a")
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, it := range v.Items {
				ids = append(ids, it.ID)
			}
			wantIDs := tt.wantIDs
			if wantIDs == nil && tt.wantTotal > 0 {
				for id := tt.wantTotal; id > tt.wantTotal-timelineSize; id-- {
					wantIDs = append(wantIDs, fmt.Sprint(id))
				}
			}
			if !slices.Equal(ids, wantIDs) {
				t.Errorf("ids = %v, want %v", ids, wantIDs)
			}
			if v.Total != tt.wantTotal || v.MoreURL != tt.wantMore {
				t.Errorf("Total, MoreURL = %d, %q; want %d, %q", v.Total, v.MoreURL, tt.wantTotal, tt.wantMore)
			}

			var buf bytes.Buffer
			if err := auditviews.Timeline(v).Render(ctx, &buf); err != nil {
				t.Fatal(err)
			}
			doc, err := goquery.NewDocumentFromReader(&buf)
			if err != nil {
				t.Fatal(err)
			}
			items := doc.Find(`[data-testid="audit-timeline"] ol > li[data-testid="audit-entry"]`)
			if items.Length() != len(wantIDs) {
				t.Errorf("%d items rendered, want %d", items.Length(), len(wantIDs))
			}
			if got := doc.Find(`[data-testid="audit-timeline-empty"]`).Length(); (got == 1) != (len(wantIDs) == 0) {
				t.Errorf("empty note shown %d times with %d entries", got, len(wantIDs))
			}
			if got := doc.Find(`[data-testid="audit-timeline-more"]`).AttrOr("href", ""); got != tt.wantMore {
				t.Errorf("more link = %q, want %q", got, tt.wantMore)
			}
			if len(wantIDs) == 0 {
				return
			}
			first := items.First()
			text := strings.Join(strings.Fields(first.Text()), " ")
			for _, want := range []string{"Jul 1, 2026", "UTC", "Rejected", "Cancellation", "sk_test_…aaaa", "Ana", "409", "req_"} {
				if !strings.Contains(text, want) {
					t.Errorf("first item %q lacks %q", text, want)
				}
			}
			if n := doc.Find("b").Length(); n != 0 {
				t.Errorf("a reason became %d <b> elements", n)
			}
			if got := first.Find(`[data-testid="audit-reason"]`).Text(); !strings.HasPrefix(got, "<b>reason ") {
				t.Errorf("reason = %q, want the text as stored", got)
			}
		})
	}
}

// TestPolicyTimelineCreation checks that a policy's timeline shows its
// creation, with the variant and the push reference, under its
// cancellation, and that a creation naming another policy stays out.
func TestPolicyTimelineCreation(t *testing.T) {
	catalog, err := i18n.New()
	if err != nil {
		t.Fatal(err)
	}
	ctx := i18n.WithPrinter(context.Background(), catalog.Printer("en"))
	ctx = withUser(ctx, &User{Key: "sk_test_OhbVrpoiVgRV5IfLBcbfnoGMbJmTPSIA", Tenant: internalTenant})
	at := time.Date(2026, 7, 1, 22, 5, 0, 0, time.UTC)
	m := audit.NewMemory()
	for _, e := range []audit.Entry{
		{Action: audit.ActionCreate, PolicyID: "tpol_a", InsurerPolicyID: "INS-A", VariantID: "var_kasko_plus", Holder: "Jonas Weber",
			Reference: "16fd2706-8baf-433b-82eb-8c7fada847da", Actor: "sk_test_…aaaa", Outcome: audit.OutcomeCompleted, UpstreamStatus: 200, At: at, Tenant: internalTenant},
		{Action: audit.ActionCreate, PolicyID: "tpol_b", VariantID: "var_kasko_plus", Reference: "7c9e6679-7425-40de-944b-e07fc1f90ae7",
			Actor: "sk_test_…aaaa", Outcome: audit.OutcomeCompleted, At: at.Add(time.Minute), Tenant: internalTenant},
		{Action: audit.ActionCancel, PolicyID: "tpol_a", InsurerPolicyID: "INS-A", Actor: "sk_test_…aaaa", Outcome: audit.OutcomeAccepted,
			TerminationDate: "2026-07-31", At: at.Add(2 * time.Minute), Tenant: internalTenant},
	} {
		if _, err := m.Append(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	v, err := New(handlers.New(handlers.Config{}), Deps{Audit: m}).policyTimeline(ctx, "tpol_a")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := auditviews.Timeline(v).Render(ctx, &buf); err != nil {
		t.Fatal(err)
	}
	doc, err := goquery.NewDocumentFromReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	items := doc.Find(`li[data-testid="audit-entry"]`)
	var ids []string
	items.Each(func(_ int, s *goquery.Selection) { ids = append(ids, s.AttrOr("data-id", "?")) })
	if want := []string{"3", "1"}; !slices.Equal(ids, want) {
		t.Fatalf("items = %v, want %v", ids, want)
	}
	creation := items.Last()
	if got := strings.TrimSpace(creation.Find(".action").Text()); got != "Policy creation" {
		t.Errorf("action = %q, want Policy creation", got)
	}
	if got := creation.Find(`[data-testid="audit-variant"] code`).Text(); got != "var_kasko_plus" {
		t.Errorf("variant = %q, want var_kasko_plus", got)
	}
	if got := creation.Find(`[data-testid="audit-reference"]`).Text(); got != "16fd2706-8baf-433b-82eb-8c7fada847da" {
		t.Errorf("reference = %q, want the push reference", got)
	}
	cancellation := items.First()
	if n := cancellation.Find(`[data-testid="audit-variant"], [data-testid="audit-reference"]`).Length(); n != 0 {
		t.Errorf("the cancellation shows %d variant or reference elements, want none", n)
	}
}
