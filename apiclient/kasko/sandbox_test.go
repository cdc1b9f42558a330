package kasko

// Round trips against the sandbox over real HTTP. This file is in package
// kasko (not kasko_test) so that it can reuse jsonDiff to check that what
// the sandbox sends decodes without loss.

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"backoffice/apiclient"
	"backoffice/internal/sandbox"
	"backoffice/internal/sandbox/sandboxtest"
)

// fakeClock drives the sandbox's cancellations and link expiry.
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

func startSandbox(t *testing.T, opts sandbox.Options) (*sandboxtest.Server, *fakeClock) {
	t.Helper()
	clk := &fakeClock{t: time.Date(2026, 9, 3, 9, 0, 0, 0, time.UTC)}
	if opts.Policies == 0 {
		opts.Policies = 60
	}
	opts.Now = clk.Now
	return sandboxtest.Start(t, opts), clk
}

func sandboxClient(t *testing.T, srv *sandboxtest.Server, key string, opts ...Option) *Client {
	t.Helper()
	c, err := New(srv.KaskoURL, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c.WithKey(key)
}

// wantAPIError checks an error's kind, status (-1: any) and message.
func wantAPIError(t *testing.T, err error, kind error, status int, msgPart string) *apiclient.Error {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("got %v, want %v", err, kind)
	}
	var e *apiclient.Error
	if !errors.As(err, &e) {
		t.Fatalf("%T is not *apiclient.Error", err)
	}
	if status >= 0 && e.StatusCode != status {
		t.Errorf("status: got %d, want %d (%v)", e.StatusCode, status, err)
	}
	if !strings.Contains(e.Message, msgPart) {
		t.Errorf("message: got %q, want it to contain %q", e.Message, msgPart)
	}
	if status != 0 && e.RequestID == "" {
		// Only errors found before a request lack an upstream request id.
		t.Errorf("request id: got empty (%v)", err)
	}
	if e.Upstream != "kasko" {
		t.Errorf("upstream: got %q, want kasko", e.Upstream)
	}
	return e
}

// rawGet fetches what the client decoded, straight from the sandbox, to
// compare the two.
func rawGet(t *testing.T, rawURL, key, accept string) []byte {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(key, "")
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("raw GET: %d %s", resp.StatusCode, b)
	}
	return b
}

// mustLossless decodes orig into v, encodes v again and compares.
func mustLossless(t *testing.T, orig []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(orig, v); err != nil {
		t.Fatalf("decode: %v", err)
	}
	again, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if diffs := jsonDiff(mustGeneric(t, orig), mustGeneric(t, again)); len(diffs) > 0 {
		t.Errorf("sandbox answer lost in decoding:\n%s", strings.Join(diffs, "\n"))
	}
}

func TestSandboxList(t *testing.T) {
	srv, _ := startSandbox(t, sandbox.Options{})
	c := sandboxClient(t, srv, sandbox.KeyASecretTest)
	ctx := context.Background()

	page, err := c.ListPolicies(ctx, ListParams{})
	if err != nil {
		t.Fatal(err)
	}
	if page.Meta.Count != 20 || page.Meta.Limit != 20 || page.Meta.Sort != "-created_at" || page.Meta.Total < 20 || len(page.Policies) != 20 {
		t.Errorf("default page: got meta %+v, %d policies", page.Meta, len(page.Policies))
	}
	if page.RequestID == "" {
		t.Error("request id: got empty")
	}
	for i := 1; i < len(page.Policies); i++ {
		if page.Policies[i].CreatedAt.After(page.Policies[i-1].CreatedAt) {
			t.Errorf("order: policy %d created after policy %d", i, i-1)
		}
	}
	mustLossless(t, rawGet(t, srv.KaskoURL+"/policies?limit=100", sandbox.KeyASecretTest, MediaTypeV2), new(listWire))

	// Params go through: limit, offset, sort; the cursor continues a page.
	byID, err := c.ListPolicies(ctx, ListParams{Limit: 6, Sort: "insurer_policy_id"})
	if err != nil {
		t.Fatal(err)
	}
	first, err := c.ListPolicies(ctx, ListParams{Limit: 3, Sort: "insurer_policy_id"})
	if err != nil {
		t.Fatal(err)
	}
	next, err := c.ListPolicies(ctx, ListParams{Limit: 3, Sort: "insurer_policy_id", OffsetPolicyID: first.Policies[2].InsurerPolicyID})
	if err != nil {
		t.Fatal(err)
	}
	skipped, err := c.ListPolicies(ctx, ListParams{Offset: 3, Limit: 3, Sort: "insurer_policy_id"})
	if err != nil {
		t.Fatal(err)
	}
	ids := func(ps []Policy) []string {
		var out []string
		for _, p := range ps {
			out = append(out, p.InsurerPolicyID)
		}
		return out
	}
	all := ids(byID.Policies)
	if !sort.StringsAreSorted(all) {
		t.Errorf("sort=insurer_policy_id: got %q", all)
	}
	if got, want := ids(next.Policies), all[3:]; !slices.Equal(got, want) {
		t.Errorf("offset_policy_id page: got %q, want %q", got, want)
	}
	if got, want := ids(skipped.Policies), all[3:]; !slices.Equal(got, want) {
		t.Errorf("offset page: got %q, want %q", got, want)
	}
	if got := next.Meta; got.Limit != 3 || got.Count != 3 || got.Sort != "insurer_policy_id" || got.Total != page.Meta.Total {
		t.Errorf("meta: got %+v", got)
	}

	_, err = c.ListPolicies(ctx, ListParams{Sort: "x"})
	wantAPIError(t, err, apiclient.ErrBadRequest, 400, "Invalid sort field: x")

	// v1: flat items, uppercase currency, space-separated instants.
	v1, err := c.ListPoliciesV1(ctx, ListParams{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(v1.Policies) != 10 || v1.Meta.Count != 10 || v1.RequestID == "" {
		t.Fatalf("v1 page: got %d items, meta %+v", len(v1.Policies), v1.Meta)
	}
	for _, it := range v1.Policies {
		if it.Object != "policy" || it.InsurerPolicyID == "" || it.CreatedDate.IsZero() || it.Currency != strings.ToUpper(it.Currency) || it.GrossPremium <= 0 {
			t.Errorf("v1 item: got %+v", it)
		}
	}
	mustLossless(t, rawGet(t, srv.KaskoURL+"/policies?limit=100", sandbox.KeyASecretTest, ""), new(listWireV1))
}

func TestSandboxGet(t *testing.T) {
	srv, _ := startSandbox(t, sandbox.Options{})
	ctx := context.Background()
	c := sandboxClient(t, srv, sandbox.KeyASecretTest)

	for _, id := range []string{sandbox.FixturePolicyID, sandbox.FixtureInsurerPolicyID} {
		p, err := c.GetPolicy(ctx, id)
		if err != nil {
			t.Fatalf("GetPolicy(%s): %v", id, err)
		}
		if p.ID != sandbox.FixturePolicyID || p.InsurerPolicyID != sandbox.FixtureInsurerPolicyID ||
			p.ETag != sandbox.FixtureVersionID || p.VersionID != sandbox.FixtureVersionID ||
			p.LastModified.IsZero() || p.RequestID == "" || len(p.Withheld) != 0 {
			t.Errorf("GetPolicy(%s): got id %s/%s etag %q version %q modified %v rid %q withheld %q",
				id, p.ID, p.InsurerPolicyID, p.ETag, p.VersionID, p.LastModified, p.RequestID, p.Withheld)
		}
		if p.LocalizedDates == nil || p.LocalizedDates.TimeZone != "Europe/Riga" {
			t.Fatalf("localized dates: got %+v", p.LocalizedDates)
		}
		if _, off := p.LocalizedDates.StartDate.Zone(); off != 3*3600 && off != 2*3600 {
			t.Errorf("localized start offset: got %d, want Riga's", off)
		}
		if !p.LocalizedDates.StartDate.Equal(p.StartDate) {
			t.Errorf("localized start %v is not start %v", p.LocalizedDates.StartDate, p.StartDate)
		}
	}
	_, err := c.GetPolicy(ctx, sandbox.FixturePolicyID)
	if err != nil {
		t.Fatal(err)
	}
	mustLossless(t, rawGet(t, srv.KaskoURL+"/policies/"+sandbox.FixturePolicyID, sandbox.KeyASecretTest, MediaTypeV2), new(Policy))

	// A public key reads the same policy with fields withheld.
	pub := sandboxClient(t, srv, sandbox.KeyAPublicTest)
	pp, err := pub.GetPolicy(ctx, sandbox.FixturePolicyID)
	if err != nil {
		t.Fatal(err)
	}
	got, want := slices.Clone(pp.Withheld), slices.Clone(WithholdableFields)
	sort.Strings(got)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("public key withheld: got %q, want %q", got, want)
	}
	if pp.Email != "" || pp.Data != nil || pp.FirstName == "" {
		t.Errorf("public view: got email %q data %v name %q", pp.Email, pp.Data, pp.FirstName)
	}
	mustLossless(t, rawGet(t, srv.KaskoURL+"/policies/"+sandbox.FixturePolicyID, sandbox.KeyAPublicTest, MediaTypeV2), new(Policy))
	mustLossless(t, rawGet(t, srv.KaskoURL+"/policies?limit=100", sandbox.KeyAPublicTest, MediaTypeV2), new(listWire))
	pubPage, err := pub.ListPolicies(ctx, ListParams{Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	if len(pubPage.Policies) == 0 || !pubPage.Policies[0].IsWithheld("email") {
		t.Errorf("public list: got %d policies, first withheld %q", len(pubPage.Policies), pubPage.Policies[0].Withheld)
	}

	_, err = c.GetPolicy(ctx, "tpol_00000000000000000000000000000")
	wantAPIError(t, err, apiclient.ErrNotFound, 404, "not found")
	_, err = c.GetPolicy(ctx, sandbox.FixtureOtherDistributorID)
	wantAPIError(t, err, apiclient.ErrNotFound, 404, "not found")
	_, err = c.GetPolicy(ctx, sandbox.FixtureLiveID)
	wantAPIError(t, err, apiclient.ErrNotFound, 404, "not found")
	unknown := "sk_test_" + strings.Repeat("Z", 32)
	_, err = sandboxClient(t, srv, unknown).GetPolicy(ctx, sandbox.FixturePolicyID)
	e := wantAPIError(t, err, apiclient.ErrUnauthorized, 401, "No valid API key")
	if strings.Contains(e.Error(), strings.Repeat("Z", 32)) {
		t.Errorf("key in error: %s", e)
	}
}

func TestSandboxCancel(t *testing.T) {
	srv, clk := startSandbox(t, sandbox.Options{CancelDelay: 2 * time.Second})
	ctx := context.Background()
	c := sandboxClient(t, srv, sandbox.KeyASecretTest)
	req := CancelRequest{Reason: "Customer request", TerminationDate: "2026-09-30"}

	// Refused before any request: the client never lets a 428 happen.
	before := srv.Sandbox.Calls(sandbox.RouteCancelPolicy)
	_, err := c.CancelPolicy(ctx, sandbox.FixturePolicyID, "", req)
	wantAPIError(t, err, apiclient.ErrPreconditionFailed, 0, "If-Match")
	if got := srv.Sandbox.Calls(sandbox.RouteCancelPolicy); got != before {
		t.Errorf("cancel calls: got %d, want %d", got, before)
	}

	_, err = sandboxClient(t, srv, sandbox.KeyAPublicTest).CancelPolicy(ctx, sandbox.FixturePolicyID, sandbox.FixtureVersionID, req)
	wantAPIError(t, err, apiclient.ErrForbidden, 403, "permissions")
	_, err = c.CancelPolicy(ctx, "tpol_00000000000000000000000000000", sandbox.FixtureVersionID, req)
	wantAPIError(t, err, apiclient.ErrNotFound, 404, "not found")
	_, err = c.CancelPolicy(ctx, sandbox.FixturePolicyID, sandbox.FixtureVersionID, CancelRequest{TerminationDate: "2026-09-30"})
	wantAPIError(t, err, apiclient.ErrBadRequest, 400, "cancellation_reason")
	_, err = c.CancelPolicy(ctx, sandbox.FixturePolicyID, sandbox.FixtureVersionID, CancelRequest{Reason: "r", TerminationDate: "30.09.2026"})
	wantAPIError(t, err, apiclient.ErrBadRequest, 400, "termination_date")
	_, err = c.CancelPolicy(ctx, sandbox.FixturePolicyID, "tpv_00000000000000000000000000000", req)
	wantAPIError(t, err, apiclient.ErrPreconditionFailed, 412, "is not an active version")
	_, err = c.CancelPolicy(ctx, sandbox.FixtureCancelledID, mustGet(t, c, sandbox.FixtureCancelledID).ETag, req)
	wantAPIError(t, err, apiclient.ErrUnprocessable, 422, "Policy already cancelled.")
	_, err = c.CancelPolicy(ctx, sandbox.FixtureExpiredID, mustGet(t, c, sandbox.FixtureExpiredID).ETag, req)
	wantAPIError(t, err, apiclient.ErrUnprocessable, 422, "expired")

	before = srv.Sandbox.Calls(sandbox.RouteVersionStatus)
	acc, err := c.CancelPolicy(ctx, sandbox.FixturePolicyID, sandbox.FixtureVersionID, req)
	if err != nil {
		t.Fatal(err)
	}
	if acc.PolicyID != sandbox.FixturePolicyID || !strings.HasPrefix(acc.StatusURL, srv.KaskoURL+"/policies/") || acc.RequestID == "" {
		t.Errorf("accepted: got %+v", acc)
	}
	st, err := c.FollowStatus(ctx, acc.StatusURL)
	if err != nil {
		t.Fatal(err)
	}
	if st.Done() || st.Action != "cancel" || st.PolicyID != sandbox.FixturePolicyID || st.CompletedAt != nil || st.RequestID == "" {
		t.Errorf("status while running: got %+v", st)
	}
	if got := srv.Sandbox.Calls(sandbox.RouteVersionStatus); got != before+1 {
		t.Errorf("status calls: got %d, want %d", got, before+1)
	}
	_, err = c.CancelPolicy(ctx, sandbox.FixturePolicyID, sandbox.FixtureVersionID, req)
	wantAPIError(t, err, apiclient.ErrConflict, 409, "already initialized")

	clk.Advance(3 * time.Second)
	st, err = c.FollowStatus(ctx, acc.StatusURL)
	if err != nil {
		t.Fatal(err)
	}
	if st.Status != StatusCompleted || st.CompletedAt == nil || st.Error != nil {
		t.Errorf("status after delay: got %+v", st)
	}
	st2, err := c.VersionStatus(ctx, st.PolicyID, st.VersionID)
	if err != nil {
		t.Fatal(err)
	}
	if st2.Status != StatusCompleted || st2.VersionID != st.VersionID {
		t.Errorf("VersionStatus: got %+v", st2)
	}
	p := mustGet(t, c, sandbox.FixturePolicyID)
	if p.Status != "cancelled" || p.ETag != st.VersionID || p.CancelledAt == nil || p.CancellationReason == nil ||
		*p.CancellationReason != req.Reason || p.CancelledBy == "" || p.TerminationDate == nil {
		t.Errorf("cancelled policy: got status %q etag %q cancelled_at %v reason %v by %q termination %v",
			p.Status, p.ETag, p.CancelledAt, p.CancellationReason, p.CancelledBy, p.TerminationDate)
	}
	_, err = c.CancelPolicy(ctx, sandbox.FixturePolicyID, sandbox.FixtureVersionID, req)
	wantAPIError(t, err, apiclient.ErrPreconditionFailed, 412, sandbox.FixtureVersionID)
	_, err = c.CancelPolicy(ctx, sandbox.FixturePolicyID, p.ETag, req)
	wantAPIError(t, err, apiclient.ErrUnprocessable, 422, "Policy already cancelled.")

	_, err = c.VersionStatus(ctx, sandbox.FixturePolicyID, "tpv_00000000000000000000000000000")
	wantAPIError(t, err, apiclient.ErrNotFound, 404, "not found")
}

func TestSandboxCancelFails(t *testing.T) {
	srv, clk := startSandbox(t, sandbox.Options{CancelDelay: time.Second, Faults: sandbox.Faults{FailCancellations: true}})
	c := sandboxClient(t, srv, sandbox.KeyASecretTest)
	acc, err := c.CancelPolicy(context.Background(), sandbox.FixturePolicyID, sandbox.FixtureVersionID,
		CancelRequest{Reason: "r", TerminationDate: "2026-09-30T00:00:00+03:00"})
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(2 * time.Second)
	st, err := c.FollowStatus(context.Background(), acc.StatusURL)
	if err != nil {
		t.Fatal(err)
	}
	if st.Status != StatusFailed || !st.Done() || st.Error == nil || st.Error.Message == "" {
		t.Errorf("failed cancellation: got %+v", st)
	}
	if p := mustGet(t, c, sandbox.FixturePolicyID); p.Status == "cancelled" || p.ETag != sandbox.FixtureVersionID {
		t.Errorf("policy after failed cancel: got status %q etag %q", p.Status, p.ETag)
	}
}

func TestSandboxFaults(t *testing.T) {
	srv, _ := startSandbox(t, sandbox.Options{})
	ctx := context.Background()

	srv.Sandbox.SetFaults(sandbox.Faults{Latency: 500 * time.Millisecond})
	_, err := sandboxClient(t, srv, sandbox.KeyASecretTest, WithTimeout(50*time.Millisecond)).GetPolicy(ctx, sandbox.FixturePolicyID)
	if !errors.Is(err, apiclient.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("latency: got %v, want ErrUnavailable and DeadlineExceeded", err)
	}

	c := sandboxClient(t, srv, sandbox.KeyASecretTest)
	srv.Sandbox.SetFaults(sandbox.Faults{ErrorRate: 1})
	for range 5 {
		_, err := c.ListPolicies(ctx, ListParams{})
		e := wantAPIError(t, err, apiclient.ErrUnavailable, -1, "Injected fault")
		if e.StatusCode < 500 {
			t.Errorf("error rate: got status %d, want 5xx", e.StatusCode)
		}
	}

	srv.Sandbox.SetFaults(sandbox.Faults{MalformedRate: 1})
	for range 6 {
		_, err := c.GetPolicy(ctx, sandbox.FixturePolicyID)
		wantAPIError(t, err, apiclient.ErrInvalidResponse, 200, "answer")
	}
	srv.Sandbox.SetFaults(sandbox.Faults{})
	if _, err := c.GetPolicy(ctx, sandbox.FixturePolicyID); err != nil {
		t.Errorf("after faults: %v", err)
	}
}

func TestSandboxAssets(t *testing.T) {
	srv, clk := startSandbox(t, sandbox.Options{AssetURLTTL: 10 * time.Minute})
	ctx := context.Background()
	c := sandboxClient(t, srv, sandbox.KeyASecretTest)
	p := mustGet(t, c, sandbox.FixturePolicyID)
	if len(p.Assets) == 0 {
		t.Fatal("fixture policy has no assets")
	}
	var links []string
	for _, a := range p.Assets {
		if a.URL == "" || a.Href != a.URL || a.Extension != "pdf" || a.Designation == "" || a.AttachmentDate == nil {
			t.Errorf("asset: got %+v", a)
		}
		links = append(links, a.DownloadURL())
	}
	for _, m := range p.Media {
		if !strings.HasPrefix(m.ID, "med_") || m.URL == "" || m.MimeType != "application/pdf" {
			t.Errorf("media: got %+v", m)
		}
		links = append(links, m.URL)
	}
	for _, link := range links {
		d, err := c.DownloadAsset(ctx, link)
		if err != nil {
			t.Fatalf("DownloadAsset: %v", err)
		}
		body, err := io.ReadAll(d.Body)
		d.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(link)
		if !strings.HasPrefix(string(body), "%PDF-") || d.ContentType != "application/pdf" ||
			d.FileName != path.Base(u.Path) || d.RequestID == "" || d.ContentLength != int64(len(body)) {
			t.Errorf("download %s: got %d bytes %q, type %q, name %q, rid %q, length %d",
				path.Base(u.Path), len(body), body[:min(8, len(body))], d.ContentType, d.FileName, d.RequestID, d.ContentLength)
		}
	}

	tampered := strings.Replace(links[0], "signature=", "signature=0", 1)
	_, err := c.DownloadAsset(ctx, tampered)
	wantAPIError(t, err, apiclient.ErrForbidden, 403, "Signature")

	clk.Advance(time.Hour)
	_, err = c.DownloadAsset(ctx, links[0])
	e := wantAPIError(t, err, apiclient.ErrForbidden, 403, "expired")
	if strings.Contains(e.Error(), "signature=") && !strings.Contains(e.Error(), "REDACTED") {
		t.Errorf("signature in error: %s", e)
	}
}

func mustGet(t *testing.T, c *Client, id string) *Policy {
	t.Helper()
	p, err := c.GetPolicy(context.Background(), id)
	if err != nil {
		t.Fatalf("GetPolicy(%s): %v", id, err)
	}
	return p
}
