package push_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"backoffice/apiclient"
	"backoffice/apiclient/push"
)

const (
	testKey   = "sk_test_OhbVrpoiVgRV5IfLBcbfnoGMbJmTPSIA"
	aragVarID = "d2va8Owp4WRnkbMpEWDAmVoN1JejB5GE"
)

type recorder struct {
	calls   atomic.Int32
	last    atomic.Pointer[http.Request]
	body    atomic.Pointer[[]byte]
	respond http.HandlerFunc
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec.calls.Add(1)
	b, _ := io.ReadAll(r.Body)
	rec.body.Store(&b)
	rec.last.Store(r.Clone(context.Background()))
	rec.respond(w, r)
}

func startUpstream(t *testing.T, h http.HandlerFunc) (*recorder, *httptest.Server) {
	t.Helper()
	rec := &recorder{respond: h}
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	return rec, srv
}

func answer(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Request-Id", "req-9")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

func mustClient(t *testing.T, base string, opts ...push.Option) *push.Client {
	t.Helper()
	c, err := push.New(base, opts...)
	if err != nil {
		t.Fatalf("New(%q): %v", base, err)
	}
	return c.WithKey(testKey)
}

func sampleRequest() push.CreateRequest {
	return push.CreateRequest{
		VariantID: aragVarID,
		Input: push.Input{
			FirstName: "Test", LastName: "Person", Email: "test@person.com",
			Data:     push.InputData{StartDate: "2017-02-13", VIN: "WVWZZZ1KZ8W006165"},
			Metadata: map[string]string{"source": "backoffice"},
		},
	}
}

func mustAPIError(t *testing.T, err error) *apiclient.Error {
	t.Helper()
	var e *apiclient.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *apiclient.Error", err, err)
	}
	return e
}

func TestEndpointIsBaseSlash(t *testing.T) {
	cases := []struct{ base, want string }{
		{"http://127.0.0.1:8080/push", "http://127.0.0.1:8080/push/"},
		{"http://127.0.0.1:8080/push/", "http://127.0.0.1:8080/push/"},
		{"https://push-api.kasko.io", "https://push-api.kasko.io/"},
		{"https://push-api.kasko.io/", "https://push-api.kasko.io/"},
	}
	for _, tc := range cases {
		c, err := push.New(tc.base)
		if err != nil {
			t.Fatalf("New(%q): %v", tc.base, err)
		}
		if got := c.Endpoint(); got != tc.want {
			t.Errorf("Endpoint(%q): got %q, want %q", tc.base, got, tc.want)
		}
	}
	for _, base := range []string{"", "push-api.kasko.io", "ftp://h/", "http://h/?a=b", "http://k:@h/"} {
		if _, err := push.New(base); err == nil {
			t.Errorf("New(%q): got nil error", base)
		}
	}
}

func TestCreatePolicyRequest(t *testing.T) {
	rec, srv := startUpstream(t, answer(200, `{"reference":"97c3b16c-f2d1-11e6-88ad-59f2b961d2ab"}`))
	c := mustClient(t, srv.URL+"/push", push.WithUserAgent("ua/2"))
	got, err := c.CreatePolicy(context.Background(), sampleRequest())
	if err != nil {
		t.Fatal(err)
	}
	if want := (push.Created{Reference: "97c3b16c-f2d1-11e6-88ad-59f2b961d2ab", RequestID: "req-9"}); *got != want {
		t.Errorf("created: got %+v, want %+v", *got, want)
	}
	r := rec.last.Load()
	if r.Method != http.MethodPost || r.URL.Path != "/push/" || r.URL.RawQuery != "" {
		t.Errorf("request: got %s %s?%s, want POST /push/", r.Method, r.URL.Path, r.URL.RawQuery)
	}
	user, pass, ok := r.BasicAuth()
	if !ok || user != testKey || pass != "" {
		t.Errorf("auth: got %q/%q/%v", user, pass, ok)
	}
	if got := r.Header.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type: got %q", got)
	}
	if got := r.Header.Get("User-Agent"); got != "ua/2" {
		t.Errorf("User-Agent: got %q", got)
	}
	want := `{"variant_id":"d2va8Owp4WRnkbMpEWDAmVoN1JejB5GE","input":{"first_name":"Test","last_name":"Person",` +
		`"email":"test@person.com","data":{"start_date":"2017-02-13","vin":"WVWZZZ1KZ8W006165"},"metadata":{"source":"backoffice"}}}`
	if got := string(*rec.body.Load()); got != want {
		t.Errorf("body:\n got %s\nwant %s", got, want)
	}
}

func TestCreatePolicyErrors(t *testing.T) {
	cases := []struct {
		name    string
		status  int
		body    string
		kind    error
		message string
		fields  map[string][]string
	}{
		{"seed missing vin", 400, `{"errorMessage": "Bad Request: Missing 'vin'."}`, apiclient.ErrBadRequest,
			"Bad Request: Missing 'vin'.", map[string][]string{"vin": {"Missing 'vin'."}}},
		{"revised required", 400, `{"errorMessage":"Bad Request: The 'vin' field is required."}`, apiclient.ErrBadRequest,
			"Bad Request: The 'vin' field is required.", map[string][]string{"vin": {"The 'vin' field is required."}}},
		{"start date format", 400, `{"errorMessage":"Bad Request: The 'start_date' field must be an ISO-8601 date."}`, apiclient.ErrBadRequest,
			"Bad Request: The 'start_date' field must be an ISO-8601 date.", map[string][]string{"start_date": {"The 'start_date' field must be an ISO-8601 date."}}},
		{"dotted field", 400, `{"errorMessage":"Bad Request: The 'input.first_name' field is required."}`, apiclient.ErrBadRequest,
			"Bad Request: The 'input.first_name' field is required.", map[string][]string{"first_name": {"The 'input.first_name' field is required."}}},
		{"invalid json", 400, `{"errorMessage":"Bad Request: Invalid JSON."}`, apiclient.ErrBadRequest, "Bad Request: Invalid JSON.", nil},
		{"unauthorized", 401, `{"errorMessage":"Unauthorized"}`, apiclient.ErrUnauthorized, "Unauthorized", nil},
		{"forbidden", 403, `{"errorMessage":"Forbidden"}`, apiclient.ErrForbidden, "Forbidden", nil},
		{"unknown variant", 404, `{"errorMessage":"Not Found: Unknown variant_id."}`, apiclient.ErrNotFound, "Not Found: Unknown variant_id.", nil},
		{"html 503", 503, `<html>down</html>`, apiclient.ErrUnavailable, "Service Unavailable (no error message from upstream)", nil},
		{"garbage 200", 200, `{"reference":`, apiclient.ErrInvalidResponse, "answer could not be decoded", nil},
		{"200 without reference", 200, `{}`, apiclient.ErrInvalidResponse, "answer has no reference", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, srv := startUpstream(t, answer(tc.status, tc.body))
			_, err := mustClient(t, srv.URL).CreatePolicy(context.Background(), sampleRequest())
			if !errors.Is(err, tc.kind) {
				t.Errorf("kind: got %v, want %v", err, tc.kind)
			}
			e := mustAPIError(t, err)
			if e.Upstream != "push" || e.Op != "POST /" || e.StatusCode != tc.status || e.Message != tc.message || e.RequestID != "req-9" {
				t.Errorf("error: got %+v", e)
			}
			if len(e.Fields) != len(tc.fields) {
				t.Errorf("fields: got %v, want %v", e.Fields, tc.fields)
			}
			for f, want := range tc.fields {
				if strings.Join(e.Fields[f], "|") != strings.Join(want, "|") {
					t.Errorf("fields[%s]: got %q, want %q", f, e.Fields[f], want)
				}
			}
		})
	}
}

func TestCreatePolicyTransport(t *testing.T) {
	release := make(chan struct{})
	_, srv := startUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	_, err := mustClient(t, srv.URL, push.WithTimeout(50*time.Millisecond)).CreatePolicy(context.Background(), sampleRequest())
	if !errors.Is(err, apiclient.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("timeout: got %v, want ErrUnavailable and DeadlineExceeded", err)
	}

	c, err := push.New(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreatePolicy(context.Background(), sampleRequest()); !errors.Is(err, apiclient.ErrUnauthorized) {
		t.Errorf("no key: got %v, want ErrUnauthorized", err)
	}
}

func TestKeyNeverLeaks(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx := context.Background()
	var errs []error
	for _, status := range []int{400, 401, 403, 500} {
		_, srv := startUpstream(t, func(w http.ResponseWriter, r *http.Request) {
			user, _, _ := r.BasicAuth()
			w.Header().Set("X-Request-Id", r.Header.Get("Authorization"))
			w.WriteHeader(status)
			json.NewEncoder(w).Encode(map[string]string{"errorMessage": "Bad Request: The '" + user + "' field is wrong for " + user})
		})
		_, err := mustClient(t, srv.URL, push.WithLogger(logger)).CreatePolicy(ctx, sampleRequest())
		errs = append(errs, err)
	}
	_, err := mustClient(t, "http://127.0.0.1:1", push.WithLogger(logger)).CreatePolicy(ctx, sampleRequest())
	errs = append(errs, err)

	secret := strings.TrimPrefix(testKey, "sk_test_")
	for i, err := range errs {
		if err == nil {
			t.Fatalf("case %d: got nil error", i)
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("case %d: key in error: %s", i, err)
		}
		for f, msgs := range mustAPIError(t, err).Fields {
			if strings.Contains(f+strings.Join(msgs, ""), secret) {
				t.Errorf("case %d: key in fields", i)
			}
		}
	}
	if logs.Len() == 0 {
		t.Fatal("no log lines captured")
	}
	if strings.Contains(logs.String(), secret) {
		t.Errorf("key in logs:\n%s", logs.String())
	}
}
