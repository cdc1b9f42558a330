package push_test

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"backoffice/apiclient"
	"backoffice/apiclient/kasko"
	"backoffice/apiclient/push"
	"backoffice/internal/sandbox"
	"backoffice/internal/sandbox/sandboxtest"
)

// uuidV1 matches a time-based UUID: version nibble 1, RFC 4122 variant.
var uuidV1 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-1[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func startSandbox(t *testing.T) *sandboxtest.Server {
	t.Helper()
	now := time.Date(2026, 9, 3, 9, 0, 0, 0, time.UTC)
	return sandboxtest.Start(t, sandbox.Options{Policies: 40, Now: func() time.Time { return now }})
}

func TestSandboxPushThenList(t *testing.T) {
	srv := startSandbox(t)
	ctx := context.Background()
	c := mustClient(t, srv.PushURL)
	c = c.WithKey(sandbox.KeyASecretTest)
	req := sampleRequest()
	req.Input.Data.StartDate = "2026-09-10"
	req.Input.Data.Extra = map[string]any{"mileage": 12000}
	created, err := c.CreatePolicy(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if !uuidV1.MatchString(created.Reference) || created.RequestID == "" {
		t.Errorf("created: got %+v, want a UUID v1 reference and a request id", created)
	}
	if got := srv.Sandbox.Calls(sandbox.RoutePush); got != 1 {
		t.Errorf("push calls: got %d, want 1", got)
	}

	kc, err := kasko.New(srv.KaskoURL)
	if err != nil {
		t.Fatal(err)
	}
	page, err := kc.WithKey(sandbox.KeyASecretTest).ListPolicies(ctx, kasko.ListParams{Limit: 100, Sort: "-created_at"})
	if err != nil {
		t.Fatal(err)
	}
	var found *kasko.Policy
	for i := range page.Policies {
		if page.Policies[i].Metadata["push_reference"] == created.Reference {
			found = &page.Policies[i]
		}
	}
	if found == nil {
		t.Fatalf("no policy with metadata.push_reference %s among %d", created.Reference, len(page.Policies))
	}
	if found.FirstName != "Test" || found.LastName != "Person" || found.Email != "test@person.com" ||
		found.Data["vin"] != "WVWZZZ1KZ8W006165" || found.Metadata["source"] != "backoffice" {
		t.Errorf("pushed policy: got name %s %s, email %s, data %v, metadata %v",
			found.FirstName, found.LastName, found.Email, found.Data, found.Metadata)
	}
}

func TestSandboxPushErrors(t *testing.T) {
	srv := startSandbox(t)
	ctx := context.Background()
	without := func(edit func(*push.CreateRequest)) push.CreateRequest {
		r := sampleRequest()
		edit(&r)
		return r
	}
	cases := []struct {
		name    string
		key     string
		req     push.CreateRequest
		kind    error
		status  int
		message string
		field   string
	}{
		{"missing vin", sandbox.KeyASecretTest, without(func(r *push.CreateRequest) { r.Input.Data.VIN = "" }),
			apiclient.ErrBadRequest, 400, "Bad Request: The 'vin' field is required.", "vin"},
		{"missing start date", sandbox.KeyASecretTest, without(func(r *push.CreateRequest) { r.Input.Data.StartDate = "" }),
			apiclient.ErrBadRequest, 400, "Bad Request: The 'start_date' field is required.", "start_date"},
		{"bad start date", sandbox.KeyASecretTest, without(func(r *push.CreateRequest) { r.Input.Data.StartDate = "13.02.2017" }),
			apiclient.ErrBadRequest, 400, "start_date", "start_date"},
		{"bad email", sandbox.KeyASecretTest, without(func(r *push.CreateRequest) { r.Input.Email = "nobody" }),
			apiclient.ErrBadRequest, 400, "email", "email"},
		{"unknown key", "sk_test_" + strings.Repeat("Q", 32), sampleRequest(), apiclient.ErrUnauthorized, 401, "Unauthorized", ""},
		{"public key", sandbox.KeyAPublicTest, sampleRequest(), apiclient.ErrForbidden, 403, "Forbidden", ""},
		{"unknown variant", sandbox.KeyASecretTest, without(func(r *push.CreateRequest) { r.VariantID = strings.Repeat("x", 32) }),
			apiclient.ErrNotFound, 404, "Not Found: Unknown variant_id.", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := push.New(srv.PushURL)
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.WithKey(tc.key).CreatePolicy(ctx, tc.req)
			if !errors.Is(err, tc.kind) {
				t.Fatalf("got %v, want %v", err, tc.kind)
			}
			e := mustAPIError(t, err)
			if e.StatusCode != tc.status || !strings.Contains(e.Message, tc.message) || e.RequestID == "" || e.Upstream != "push" {
				t.Errorf("error: got %+v", e)
			}
			if tc.field == "" && len(e.Fields) != 0 {
				t.Errorf("fields: got %v, want none", e.Fields)
			}
			if tc.field != "" && len(e.Fields[tc.field]) != 1 {
				t.Errorf("fields: got %v, want one message for %q", e.Fields, tc.field)
			}
			if strings.Contains(e.Error(), strings.Repeat("Q", 32)) {
				t.Errorf("key in error: %s", e)
			}
		})
	}
	if got := srv.Sandbox.Calls(sandbox.RoutePush); got != len(cases) {
		t.Errorf("push calls: got %d, want %d", got, len(cases))
	}
}

func TestSandboxPushFaults(t *testing.T) {
	srv := startSandbox(t)
	c, err := push.New(srv.PushURL, push.WithTimeout(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	c = c.WithKey(sandbox.KeyASecretTest)
	srv.Sandbox.SetFaults(sandbox.Faults{Latency: 500 * time.Millisecond})
	_, err = c.CreatePolicy(context.Background(), sampleRequest())
	if !errors.Is(err, apiclient.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("latency: got %v, want ErrUnavailable and DeadlineExceeded", err)
	}
	srv.Sandbox.SetFaults(sandbox.Faults{ErrorRate: 1})
	_, err = c.CreatePolicy(context.Background(), sampleRequest())
	if e := mustAPIError(t, err); !errors.Is(err, apiclient.ErrUnavailable) || e.StatusCode < 500 || !strings.Contains(e.Message, "Injected fault") {
		t.Errorf("error rate: got %v", err)
	}
	srv.Sandbox.SetFaults(sandbox.Faults{MalformedRate: 1})
	for range 4 {
		_, err = c.CreatePolicy(context.Background(), sampleRequest())
		if !errors.Is(err, apiclient.ErrInvalidResponse) {
			t.Errorf("malformed: got %v, want ErrInvalidResponse", err)
		}
	}
}
