package kasko_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"backoffice/apiclient"
	"backoffice/apiclient/kasko"
)

const testKey = "sk_test_OhbVrpoiVgRV5IfLBcbfnoGMbJmTPSIA"

// recorder is an upstream stand-in that records the last request and
// answers with the handler the test gives it.
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

func mustClient(t *testing.T, base string, opts ...kasko.Option) *kasko.Client {
	t.Helper()
	c, err := kasko.New(base, opts...)
	if err != nil {
		t.Fatalf("New(%q): %v", base, err)
	}
	return c.WithKey(testKey)
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func answer(status int, contentType string, body []byte, headers ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		if contentType != "" {
			w.Header().Set("Content-Type", contentType)
		}
		w.Header().Set("X-Request-Id", "req-123")
		w.WriteHeader(status)
		w.Write(body)
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

func TestNewRejectsBadBaseURL(t *testing.T) {
	for _, base := range []string{"", "ftp://h", "http://", "http://h/?q=1", "http://u:p@h/", "::"} {
		if _, err := kasko.New(base); err == nil {
			t.Errorf("New(%q): got nil error, want one", base)
		}
	}
	if _, err := kasko.New("http://h", kasko.WithTimeout(0)); err == nil {
		t.Error("WithTimeout(0): got nil error, want one")
	}
	if _, err := kasko.New("http://h", kasko.WithHTTPClient(nil)); err == nil {
		t.Error("WithHTTPClient(nil): got nil error, want one")
	}
}

func TestGetPolicyRequestAndHeaders(t *testing.T) {
	rec, srv := startUpstream(t, answer(200, "application/json", fixture(t, "v2-policy-object.json"),
		"ETag", `W/"tpv_f9e793a24197f7bf8284d9b061a89"`, "Last-Modified", "Wed, 02 Aug 2023 05:56:26 GMT"))
	c := mustClient(t, srv.URL+"/kasko/", kasko.WithUserAgent("ua-test/1"))

	p, err := c.GetPolicy(context.Background(), "TEST/ä b?")
	if err != nil {
		t.Fatalf("GetPolicy: %v", err)
	}
	r := rec.last.Load()
	if got, want := r.URL.EscapedPath(), "/kasko/policies/TEST%2F%C3%A4%20b%3F"; got != want {
		t.Errorf("path: got %q, want %q", got, want)
	}
	if r.URL.RawQuery != "" {
		t.Errorf("query: got %q, want none", r.URL.RawQuery)
	}
	user, pass, ok := r.BasicAuth()
	if !ok || user != testKey || pass != "" {
		t.Errorf("basic auth: got %q/%q/%v, want key and empty password", user, pass, ok)
	}
	for h, want := range map[string]string{"Accept": kasko.MediaTypeV2, "User-Agent": "ua-test/1", "If-Match": ""} {
		if got := r.Header.Get(h); got != want {
			t.Errorf("%s: got %q, want %q", h, got, want)
		}
	}
	if got, want := p.ETag, "tpv_f9e793a24197f7bf8284d9b061a89"; got != want {
		t.Errorf("ETag: got %q, want %q", got, want)
	}
	if want := time.Date(2023, 8, 2, 5, 56, 26, 0, time.UTC); !p.LastModified.Equal(want) {
		t.Errorf("LastModified: got %v, want %v", p.LastModified, want)
	}
	if p.RequestID != "req-123" {
		t.Errorf("RequestID: got %q, want req-123", p.RequestID)
	}
	if p.ID != "tpol_3a1d4c1e1d58fd04ad6b0de1b50c" {
		t.Errorf("ID: got %q", p.ID)
	}
}

func TestInvalidArgumentsMakeNoRequest(t *testing.T) {
	rec, srv := startUpstream(t, answer(200, "application/json", []byte(`{}`)))
	c := mustClient(t, srv.URL)
	ctx := context.Background()
	cases := []struct {
		name     string
		call     func() error
		wantKind error
	}{
		{"empty id", func() error { _, err := c.GetPolicy(ctx, ""); return err }, apiclient.ErrBadRequest},
		{"dot-dot id", func() error { _, err := c.GetPolicy(ctx, ".."); return err }, apiclient.ErrBadRequest},
		{"control char id", func() error { _, err := c.GetPolicy(ctx, "a\nb"); return err }, apiclient.ErrBadRequest},
		{"negative limit", func() error { _, err := c.ListPolicies(ctx, kasko.ListParams{Limit: -1}); return err }, apiclient.ErrBadRequest},
		{"empty version", func() error {
			_, err := c.CancelPolicy(ctx, "tpol_x", "", kasko.CancelRequest{Reason: "r", TerminationDate: "2023-08-06"})
			return err
		}, apiclient.ErrPreconditionFailed},
		{"blank version", func() error {
			_, err := c.CancelPolicy(ctx, "tpol_x", "  ", kasko.CancelRequest{Reason: "r", TerminationDate: "2023-08-06"})
			return err
		}, apiclient.ErrPreconditionFailed},
		{"empty status version", func() error { _, err := c.VersionStatus(ctx, "tpol_x", ""); return err }, apiclient.ErrBadRequest},
		{"status on other host", func() error {
			_, err := c.FollowStatus(ctx, "http://evil.example/policies/tpol_x/versions/tpv_y/status")
			return err
		}, apiclient.ErrBadRequest},
		{"status on other scheme", func() error {
			_, err := c.FollowStatus(ctx, strings.Replace(srv.URL, "http:", "https:", 1)+"/policies/p/versions/v/status")
			return err
		}, apiclient.ErrBadRequest},
		{"asset not absolute", func() error { _, err := c.DownloadAsset(ctx, "/assets/x.pdf"); return err }, apiclient.ErrBadRequest},
		{"no key", func() error {
			k, err := kasko.New(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			_, err = k.GetPolicy(ctx, "tpol_x")
			return err
		}, apiclient.ErrUnauthorized},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if !errors.Is(err, tc.wantKind) {
				t.Errorf("got %v, want %v", err, tc.wantKind)
			}
			if e := mustAPIError(t, err); e.StatusCode != 0 {
				t.Errorf("StatusCode: got %d, want 0", e.StatusCode)
			}
		})
	}
	if n := rec.calls.Load(); n != 0 {
		t.Errorf("upstream calls: got %d, want 0", n)
	}
}

func TestListQueryAndDecode(t *testing.T) {
	v1 := fixture(t, "v1-list.json")
	rec, srv := startUpstream(t, answer(200, "application/json", v1))
	c := mustClient(t, srv.URL)
	cases := []struct {
		name  string
		p     kasko.ListParams
		query string
	}{
		{"zero values omitted", kasko.ListParams{}, ""},
		{"all set", kasko.ListParams{Offset: 20, Limit: 10, Sort: "-created_at,last_name", OffsetPolicyID: "TEST-A&B"},
			"limit=10&offset=20&offset_policy_id=TEST-A%26B&sort=-created_at%2Clast_name"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			page, err := c.ListPoliciesV1(context.Background(), tc.p)
			if err != nil {
				t.Fatal(err)
			}
			r := rec.last.Load()
			if got := r.URL.RawQuery; got != tc.query {
				t.Errorf("query: got %q, want %q", got, tc.query)
			}
			if got := r.Header.Get("Accept"); got == kasko.MediaTypeV2 {
				t.Errorf("Accept: v1 list sent %q", got)
			}
			if got, want := page.Meta, (kasko.ListMeta{Total: 2, Count: 2, Limit: 20, Sort: "-created_date"}); got != want {
				t.Errorf("meta: got %+v, want %+v", got, want)
			}
			if len(page.Policies) != 2 || page.Policies[1].InsurerPolicyID != "abc456" || page.Policies[1].Price != 1185 {
				t.Errorf("items: got %+v", page.Policies)
			}
			if page.RequestID != "req-123" {
				t.Errorf("RequestID: got %q", page.RequestID)
			}
		})
	}
}

func TestCancelRequest(t *testing.T) {
	rec, srv := startUpstream(t, answer(202, "application/json", fixture(t, "cancel-202.json")))
	c := mustClient(t, srv.URL)
	acc, err := c.CancelPolicy(context.Background(), "tpol_3a1d4c1e1d58fd04ad6b0de1b50c", "tpv_b564b57cfa170e42dc9ce29047994",
		kasko.CancelRequest{Reason: "Not valid", TerminationDate: "2023-08-06"})
	if err != nil {
		t.Fatal(err)
	}
	r := rec.last.Load()
	if r.Method != http.MethodPost || r.URL.Path != "/policies/tpol_3a1d4c1e1d58fd04ad6b0de1b50c/cancel" {
		t.Errorf("request: got %s %s", r.Method, r.URL.Path)
	}
	for h, want := range map[string]string{"If-Match": "tpv_b564b57cfa170e42dc9ce29047994", "Accept": kasko.MediaTypeV2, "Content-Type": "application/json"} {
		if got := r.Header.Get(h); got != want {
			t.Errorf("%s: got %q, want %q", h, got, want)
		}
	}
	var body map[string]string
	if err := json.Unmarshal(*rec.body.Load(), &body); err != nil {
		t.Fatal(err)
	}
	if body["cancellation_reason"] != "Not valid" || body["termination_date"] != "2023-08-06" || len(body) != 2 {
		t.Errorf("body: got %v", body)
	}
	want := kasko.CancelAccepted{
		PolicyID:  "tpol_3a1d4c1e1d58fd04ad6b0de1b50c",
		StatusURL: "https://api.eu1.kaskocloud.com/policies/tpol_3a1d4c1e1d58fd04ad6b0de1b50c/versions/tpv_df8688809866c91f7938a8d586c16/status",
		RequestID: "req-123",
	}
	if *acc != want {
		t.Errorf("accepted: got %+v, want %+v", *acc, want)
	}
}

// TestErrorStatuses feeds every documented error body through the client.
func TestErrorStatuses(t *testing.T) {
	cases := []struct {
		file       string
		status     int
		kind       error
		message    string
		wantFields map[string][]string
	}{
		{"error-400.json", 400, apiclient.ErrBadRequest, "Brief description", nil},
		{"error-404-view.json", 404, apiclient.ErrNotFound, `Policy of id: "lpol_33_char_offer_id____________" not found.`, nil},
		{"error-409.json", 409, apiclient.ErrConflict, "Resource modification already initialized at 1989-02-04T05:34:12+00:00.", nil},
		{"error-412.json", 412, apiclient.ErrPreconditionFailed, `Resource has been changed: "lpv_33_char_policy_version_id____" is not an active version.`, nil},
		{"error-422-cancelled.json", 422, apiclient.ErrUnprocessable, "Policy already cancelled.", nil},
		{"error-422-expired.json", 422, apiclient.ErrUnprocessable, "Policy is expired. Can't cancel expired policy.", nil},
		{"contract-error-400-validation.json", 400, apiclient.ErrBadRequest, "Data validation failed.",
			map[string][]string{"invalid_field_name": {"invalid_value"}}},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			_, srv := startUpstream(t, answer(tc.status, "application/json", fixture(t, tc.file)))
			_, err := mustClient(t, srv.URL).CancelPolicy(context.Background(), "tpol_x", "tpv_y", kasko.CancelRequest{})
			if !errors.Is(err, tc.kind) {
				t.Errorf("kind: got %v, want %v", err, tc.kind)
			}
			e := mustAPIError(t, err)
			if e.Upstream != "kasko" || e.Op != "POST /policies/{id}/cancel" || e.StatusCode != tc.status ||
				e.Message != tc.message || e.RequestID != "req-123" {
				t.Errorf("error: got %+v", e)
			}
			if len(e.Fields) != len(tc.wantFields) {
				t.Errorf("fields: got %v, want %v", e.Fields, tc.wantFields)
			}
			for f, msgs := range tc.wantFields {
				if strings.Join(e.Fields[f], "|") != strings.Join(msgs, "|") {
					t.Errorf("fields[%s]: got %v, want %v", f, e.Fields[f], msgs)
				}
			}
		})
	}
}

func TestUnusableAnswers(t *testing.T) {
	huge := bytes.Repeat([]byte("x"), 200<<10)
	cases := []struct {
		name    string
		h       http.HandlerFunc
		kind    error
		status  int
		message string
	}{
		{"html 502", answer(502, "text/html", []byte("<h1>Bad gateway</h1>")), apiclient.ErrUnavailable, 502, "Bad Gateway (no error message from upstream)"},
		{"500 envelope", answer(500, "application/json", []byte(`{"status":"Internal Server Error","message":"boom"}`)), apiclient.ErrUnavailable, 500, "boom"},
		{"huge error body", answer(400, "application/json", huge), apiclient.ErrBadRequest, 400, "Bad Request (no error message from upstream)"},
		{"garbage 200", answer(200, "application/json", []byte(`{"id": tpol_`)), apiclient.ErrInvalidResponse, 200, "answer could not be decoded"},
		{"wrong type 200", answer(200, "application/json", []byte(`{"id": 12}`)), apiclient.ErrInvalidResponse, 200, "answer could not be decoded"},
		{"html 200", answer(200, "text/html", []byte(`<html></html>`)), apiclient.ErrInvalidResponse, 200, "answer is not JSON"},
		{"body over 32 MiB", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"id":"`))
			chunk := bytes.Repeat([]byte("a"), 1<<20)
			for range 33 {
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
			w.Write([]byte(`"}`))
		}, apiclient.ErrInvalidResponse, 200, "answer too large"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, srv := startUpstream(t, tc.h)
			_, err := mustClient(t, srv.URL).GetPolicy(context.Background(), "tpol_x")
			if !errors.Is(err, tc.kind) {
				t.Errorf("kind: got %v, want %v", err, tc.kind)
			}
			e := mustAPIError(t, err)
			if e.StatusCode != tc.status || e.Message != tc.message {
				t.Errorf("got status %d message %q, want %d %q", e.StatusCode, e.Message, tc.status, tc.message)
			}
		})
	}
}

func TestTransportFailures(t *testing.T) {
	release := make(chan struct{})
	_, slow := startUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	c := mustClient(t, slow.URL, kasko.WithTimeout(50*time.Millisecond))
	_, err := c.GetPolicy(context.Background(), "tpol_x")
	if !errors.Is(err, apiclient.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("timeout: got %v, want ErrUnavailable and DeadlineExceeded", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = mustClient(t, slow.URL).GetPolicy(ctx, "tpol_x")
	if !errors.Is(err, apiclient.ErrUnavailable) || !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: got %v, want ErrUnavailable and Canceled", err)
	}

	closed := httptest.NewServer(http.NotFoundHandler())
	addr := closed.URL
	closed.Close()
	_, err = mustClient(t, addr).GetPolicy(context.Background(), "tpol_x")
	if !errors.Is(err, apiclient.ErrUnavailable) {
		t.Errorf("refused: got %v, want ErrUnavailable", err)
	}
	if e := mustAPIError(t, err); e.Cause == nil || e.StatusCode != 0 {
		t.Errorf("refused: got cause %v status %d, want a cause and status 0", e.Cause, e.StatusCode)
	}
}

// TestKeyNeverLeaks forces every kind of failure with an upstream that
// echoes the credential back, and checks errors and logs.
func TestKeyNeverLeaks(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	echo := func(status int) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("X-Request-Id", "id-"+r.Header.Get("Authorization"))
			w.WriteHeader(status)
			user, _, _ := r.BasicAuth()
			json.NewEncoder(w).Encode(map[string]any{"status": "x", "message": "bad key " + user,
				"errors": []map[string]string{{"code": user, "field": user}}})
		}
	}
	ctx := context.Background()
	var errs []error
	for _, status := range []int{401, 403, 404, 500} {
		_, srv := startUpstream(t, echo(status))
		_, err := mustClient(t, srv.URL, kasko.WithLogger(logger)).GetPolicy(ctx, testKey)
		errs = append(errs, err)
	}
	_, srv := startUpstream(t, answer(200, "application/json", []byte(`{"id": `+testKey+`}`)))
	c := mustClient(t, srv.URL, kasko.WithLogger(logger), kasko.WithTimeout(time.Second))
	_, err := c.ListPolicies(ctx, kasko.ListParams{Sort: testKey})
	errs = append(errs, err)
	_, err = c.FollowStatus(ctx, "http://other.example/?key="+testKey)
	errs = append(errs, err)
	_, err = c.DownloadAsset(ctx, "http://127.0.0.1:1/a.pdf?signature=abc&key="+testKey)
	errs = append(errs, err)

	secret := strings.TrimPrefix(testKey, "sk_test_")
	for i, err := range errs {
		if err == nil {
			t.Errorf("case %d: got nil error", i)
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("case %d: key in error: %s", i, err)
		}
		e := mustAPIError(t, err)
		for f, msgs := range e.Fields {
			if strings.Contains(f+strings.Join(msgs, ""), secret) {
				t.Errorf("case %d: key in fields: %v", i, e.Fields)
			}
		}
	}
	if logs.Len() == 0 {
		t.Fatal("no log lines captured")
	}
	if strings.Contains(logs.String(), secret) {
		t.Errorf("key in logs:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), "signature=abc") {
		t.Errorf("signature in logs:\n%s", logs.String())
	}
}

func TestFollowStatusSameHost(t *testing.T) {
	body := []byte(`{"policy_id":"tpol_a","version_id":"tpv_b","status":"completed","action":"cancel",
		"initiated_at":"2024-05-01T10:00:00+00:00","completed_at":"2024-05-01T10:00:02+00:00","error":null,
		"_links":{"policy":{"href":"x"}}}`)
	rec, srv := startUpstream(t, answer(200, "application/json", body))
	c := mustClient(t, srv.URL+"/kasko")
	for _, link := range []string{srv.URL + "/kasko/policies/tpol_a/versions/tpv_b/status", "/kasko/policies/tpol_a/versions/tpv_b/status"} {
		s, err := c.FollowStatus(context.Background(), link)
		if err != nil {
			t.Fatalf("FollowStatus(%q): %v", link, err)
		}
		if got := rec.last.Load().URL.Path; got != "/kasko/policies/tpol_a/versions/tpv_b/status" {
			t.Errorf("path: got %q", got)
		}
		if user, _, _ := rec.last.Load().BasicAuth(); user != testKey {
			t.Errorf("auth: got user %q", user)
		}
		if s.Status != kasko.StatusCompleted || !s.Done() || s.CompletedAt == nil || s.Error != nil || s.RequestID != "req-123" || s.Links.Href("policy") != "x" {
			t.Errorf("status: got %+v", s)
		}
	}
}

func TestDownloadAssetSendsNoKey(t *testing.T) {
	pdf := []byte("%PDF-1.4 test")
	rec, srv := startUpstream(t, answer(200, "application/pdf", pdf, "Content-Disposition", `attachment; filename="Policy ../doc.pdf"`))
	c := mustClient(t, "http://api.invalid")
	d, err := c.DownloadAsset(context.Background(), srv.URL+"/assets/x/y.pdf?expires=1&signature=s")
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(d.Body)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Body.Close(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, pdf) || d.ContentType != "application/pdf" || d.FileName != "doc.pdf" ||
		d.ContentLength != int64(len(pdf)) || d.RequestID != "req-123" {
		t.Errorf("download: got %q %+v", got, d)
	}
	if h := rec.last.Load().Header.Get("Authorization"); h != "" {
		t.Errorf("Authorization sent to asset host: %q", h)
	}

	_, expired := startUpstream(t, answer(403, "application/json", []byte(`{"status":"Forbidden","message":"Link expired."}`)))
	_, err = c.DownloadAsset(context.Background(), expired.URL+"/assets/x.pdf?expires=1&signature=s")
	if !errors.Is(err, apiclient.ErrForbidden) {
		t.Errorf("expired: got %v, want ErrForbidden", err)
	}
	if e := mustAPIError(t, err); e.Message != "Link expired." || e.StatusCode != 403 {
		t.Errorf("expired: got %+v", e)
	}
}

func TestWithKeySharesTransportOnly(t *testing.T) {
	rec, srv := startUpstream(t, answer(200, "application/json", fixture(t, "v2-policy-object.json")))
	base, err := kasko.New(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	a := base.WithKey("sk_test_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
	b := base.WithKey("pk_test_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb")
	for _, tc := range []struct {
		c    *kasko.Client
		want string
	}{{a, "sk_test_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}, {b, "pk_test_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"}, {a, "sk_test_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}} {
		if _, err := tc.c.GetPolicy(context.Background(), "tpol_x"); err != nil {
			t.Fatal(err)
		}
		if user, _, _ := rec.last.Load().BasicAuth(); user != tc.want {
			t.Errorf("key: got %q, want %q", user, tc.want)
		}
	}
	if _, err := base.GetPolicy(context.Background(), "tpol_x"); !errors.Is(err, apiclient.ErrUnauthorized) {
		t.Errorf("base client after WithKey: got %v, want ErrUnauthorized (no key)", err)
	}
}
