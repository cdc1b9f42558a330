package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"backoffice/internal/sandbox"
)

func TestRun(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	env := map[string]string{"SANDBOX_ADDR": "127.0.0.1:0", "SANDBOX_POLICIES": "100"}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, nil, func(k string) string { return env[k] }, pw)
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	var lines []string
	for len(lines) < 4 && sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) < 4 {
		t.Fatalf("output: %q %v", lines, sc.Err())
	}
	base, ok := strings.CutPrefix(lines[0], "sandbox listening on ")
	if !ok || !strings.HasPrefix(base, "http://127.0.0.1:") {
		t.Fatalf("first line: %q", lines[0])
	}
	if want := "  CascoApi:       " + base + "/casco (accounts demo, transilvania)"; lines[3] != want {
		t.Errorf("casco line: got %q, want %q", lines[3], want)
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	res, err := http.Get(base + "/_sandbox")
	if err != nil {
		t.Fatalf("GET /_sandbox: %v", err)
	}
	var info struct {
		KaskoAPIURL string            `json:"kasko_api_url"`
		PushURL     string            `json:"kasko_push_url"`
		CascoURL    string            `json:"casco_api_url"`
		Accounts    []json.RawMessage `json:"casco_accounts"`
		Credentials []json.RawMessage `json:"credentials"`
		CancelDelay string            `json:"cancel_delay"`
	}
	err = json.NewDecoder(res.Body).Decode(&info)
	res.Body.Close()
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("info: %d %v", res.StatusCode, err)
	}
	if info.KaskoAPIURL != base+"/kasko" || info.PushURL != base+"/push" || info.CascoURL != base+"/casco" || len(info.Accounts) != 2 ||
		len(info.Credentials) != 6 || info.CancelDelay != "2s" {
		t.Errorf("info: %+v", info)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not stop after cancel")
	}
}

func TestRunBadEnv(t *testing.T) {
	err := run(context.Background(), nil, func(k string) string {
		if k == "SANDBOX_LATENCY" {
			return "soon"
		}
		return ""
	}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "SANDBOX_LATENCY") {
		t.Errorf("got %v, want an error naming SANDBOX_LATENCY", err)
	}
}

// TestRunWebhooks registers an endpoint through SANDBOX_WEBHOOKS and
// checks that a push reaches it signed, and that shutdown still returns.
func TestRunWebhooks(t *testing.T) {
	got := make(chan *http.Request, 4)
	bodies := make(chan []byte, 4)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- r
		bodies <- b
		w.WriteHeader(http.StatusNoContent)
	}))
	defer recv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	env := map[string]string{"SANDBOX_ADDR": "127.0.0.1:0", "SANDBOX_POLICIES": "100",
		"SANDBOX_WEBHOOKS": sandbox.KeyASecretTest + "=" + recv.URL + "/hook"}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, nil, func(k string) string { return env[k] }, pw)
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	var lines []string
	for len(lines) < 6 && sc.Scan() {
		lines = append(lines, sc.Text())
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	if len(lines) < 6 || !strings.HasPrefix(lines[5], "  webhooks: 1 endpoint(s)") {
		t.Fatalf("output: %q", lines)
	}
	base := strings.TrimPrefix(lines[0], "sandbox listening on ")
	body := `{"variant_id":"` + sandbox.ARAGVariantID + `","input":{"first_name":"Uwe","last_name":"Jäger","email":"uwe@example.com","data":{"start_date":"2026-12-01","vin":"WVWZZZ1KZ8W006165"}}}`
	req, _ := http.NewRequest("POST", base+"/push/", strings.NewReader(body))
	req.SetBasicAuth(sandbox.KeyASecretTest, "")
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("push: %d", res.StatusCode)
	}
	select {
	case r := <-got:
		b := <-bodies
		if r.Header.Get("X-KASKO-Event") != sandbox.EventPolicyCreated || r.Header.Get("X-KASKO-Signature") != sandbox.WebhookSignature(sandbox.WebhookSecretATest, b) ||
			!strings.Contains(string(b), `"_links":{"self":{"href":"`+base+`/kasko/policies/tpol_`) {
			t.Errorf("webhook: %v %s", r.Header, b)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no webhook")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not stop after cancel")
	}
}

// TestRunReferenceDate pins the seeded history with SANDBOX_REFERENCE_DATE:
// the banner and GET /_sandbox show the pinned day, and a bad date is an
// error naming the variable.
func TestRunReferenceDate(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	env := map[string]string{"SANDBOX_ADDR": "127.0.0.1:0", "SANDBOX_POLICIES": "100", "SANDBOX_REFERENCE_DATE": "2026-06-15"}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, nil, func(k string) string { return env[k] }, pw)
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	var lines []string
	for len(lines) < 7 && sc.Scan() {
		lines = append(lines, sc.Text())
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	if len(lines) < 7 {
		t.Fatalf("output: %q %v", lines, sc.Err())
	}
	if want := "  seeded history up to 2026-06-15 (SANDBOX_REFERENCE_DATE=YYYY-MM-DD pins it; default today)"; lines[6] != want {
		t.Errorf("reference line: got %q, want %q", lines[6], want)
	}
	base := strings.TrimPrefix(lines[0], "sandbox listening on ")
	res, err := http.Get(base + "/_sandbox")
	if err != nil {
		t.Fatalf("GET /_sandbox: %v", err)
	}
	var info struct {
		ReferenceDate string `json:"reference_date"`
	}
	err = json.NewDecoder(res.Body).Decode(&info)
	res.Body.Close()
	if err != nil || info.ReferenceDate != "2026-06-15T00:00:00Z" {
		t.Errorf("reference_date: got %q (%v), want 2026-06-15T00:00:00Z", info.ReferenceDate, err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not stop after cancel")
	}

	err = run(context.Background(), nil, func(k string) string {
		if k == "SANDBOX_REFERENCE_DATE" {
			return "15.06.2026"
		}
		return ""
	}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "SANDBOX_REFERENCE_DATE") {
		t.Errorf("got %v, want an error naming SANDBOX_REFERENCE_DATE", err)
	}
}
