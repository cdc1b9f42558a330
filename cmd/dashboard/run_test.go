package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"backoffice/internal/sandbox"
)

// started is a dashboard that run serves in the background.
type started struct {
	url     string
	dataDir string
	logs    *logBuffer
	stop    func() error
}

// logBuffer collects run's output while tests read it.
type logBuffer struct {
	mu    sync.Mutex
	lines []string
}

func (l *logBuffer) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, s)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

var listeningLine = regexp.MustCompile(`msg="dashboard listening" url=(http://\S+)`)

// startDashboard calls run with env on a free loopback port and waits
// until /healthz answers.
func startDashboard(t *testing.T, env map[string]string) *started {
	t.Helper()
	full := map[string]string{"ADDR": "127.0.0.1:0", "DATA_DIR": t.TempDir(), "SANDBOX_CANCEL_DELAY": "200ms", "SANDBOX_POLICIES": "300", "SHUTDOWN_DELAY": "0s"}
	for k, v := range env {
		full[k] = v
	}
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, nil, func(k string) string { return full[k] }, pw)
		pw.Close()
	}()
	logs := &logBuffer{}
	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			logs.add(sc.Text())
			if m := listeningLine.FindStringSubmatch(sc.Text()); m != nil {
				urlc <- m[1]
			}
		}
	}()
	s := &started{logs: logs, dataDir: full["DATA_DIR"]}
	var once sync.Once
	var runErr error
	s.stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case runErr = <-done:
			case <-time.After(15 * time.Second):
				runErr = context.DeadlineExceeded
			}
		})
		return runErr
	}
	t.Cleanup(func() { _ = s.stop() })
	select {
	case s.url = <-urlc:
	case err := <-done:
		t.Fatalf("run returned before listening: %v\n%s", err, logs)
	case <-time.After(30 * time.Second):
		t.Fatalf("run did not start within 30s\n%s", logs)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(s.url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("/healthz never answered 200: %v\n%s", err, logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func getBody(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestRunSandboxMode(t *testing.T) {
	d := startDashboard(t, nil)
	logs := d.logs.String()
	for _, want := range []string{"sandbox mode", "demo_credentials=http://127.0.0.1:", "/_sandbox", "kasko_api=http://127.0.0.1:", "/kasko", "kasko_push=http://127.0.0.1:"} {
		if !strings.Contains(logs, want) {
			t.Errorf("start-up log lacks %q:\n%s", want, logs)
		}
	}
	if status, body := getBody(t, d.url+"/readyz"); status != http.StatusOK || !strings.Contains(body, `"kasko":{"ok":true`) || !strings.Contains(body, `"push":{"ok":true`) || !strings.Contains(body, `"audit":{"ok":true`) {
		t.Errorf("/readyz = %d %s", status, body)
	}
	status, body := getBody(t, d.url+"/signin")
	if status != http.StatusOK || !strings.Contains(body, sandbox.KeyASecretTest) {
		t.Errorf("/signin = %d, demo keys missing", status)
	}
	// Sessions default to SQLite in DATA_DIR, with a generated secret.
	for _, name := range []string{"sessions.db", "session.secret"} {
		if _, err := os.Stat(filepath.Join(d.dataDir, name)); err != nil {
			t.Errorf("DATA_DIR lacks %s: %v", name, err)
		}
	}
	if !strings.Contains(logs, "store=sqlite") {
		t.Errorf("start-up log does not name the session store:\n%s", logs)
	}
	// The sandbox the log points to answers with the demo credentials.
	m := regexp.MustCompile(`demo_credentials=(\S+)`).FindStringSubmatch(logs)
	if m == nil {
		t.Fatal("no demo_credentials URL in the log")
	}
	if status, body := getBody(t, m[1]); status != http.StatusOK || !strings.Contains(body, "sk_test_") {
		t.Errorf("GET %s = %d %.200s", m[1], status, body)
	}
	if err := d.stop(); err != nil {
		t.Errorf("run returned %v after shutdown, want nil", err)
	}
}

func TestRunWithConfiguredUpstreams(t *testing.T) {
	d := startDashboard(t, map[string]string{"KASKO_API_URL": "http://127.0.0.1:9/kasko"})
	logs := d.logs.String()
	if strings.Contains(logs, "sandbox mode") {
		t.Errorf("sandbox started although KASKO_API_URL is set:\n%s", logs)
	}
	for _, want := range []string{"kasko_api=http://127.0.0.1:9/kasko", `kasko_push="off (not configured)"`, `casco_api="off (not configured)"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("start-up log lacks %q:\n%s", want, logs)
		}
	}
	// Port 9 (discard) is closed on loopback: the upstream is unreachable.
	if status, body := getBody(t, d.url+"/readyz"); status != http.StatusServiceUnavailable || !strings.Contains(body, `"kasko":{"ok":false`) {
		t.Errorf("/readyz = %d %s", status, body)
	}
	status, body := getBody(t, d.url+"/signin")
	if status != http.StatusOK || strings.Contains(body, "_sandbox") || strings.Contains(body, "SANDBOX") {
		t.Errorf("/signin = %d; sandbox traces in a configured deployment", status)
	}
}

func TestRunRejectsBadConfiguration(t *testing.T) {
	err := run(context.Background(), nil, func(k string) string {
		return map[string]string{"KASKO_API_URL": "not a url"}[k]
	}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "KASKO_API_URL") {
		t.Fatalf("run = %v, want an error naming KASKO_API_URL", err)
	}
}

func TestRunVersion(t *testing.T) {
	var out strings.Builder
	if err := run(context.Background(), []string{"-version"}, func(string) string { return "" }, &out); err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(out.String()) != version {
		t.Errorf("-version printed %q, want %q", out.String(), version)
	}
}

// TestRunMetricsAndDrainingReadiness: with METRICS_ADDR the Prometheus
// metrics are on their own listener (and not on the dashboard's port);
// told to stop, the instance first answers /readyz with 503 "draining"
// while it still serves, then exits cleanly.
func TestRunMetricsAndDrainingReadiness(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	metricsAddr := ln.Addr().String()
	ln.Close()
	d := startDashboard(t, map[string]string{"METRICS_ADDR": metricsAddr, "SHUTDOWN_DELAY": "1500ms"})
	if status, _ := getBody(t, d.url+"/healthz"); status != http.StatusOK {
		t.Fatalf("/healthz = %d", status)
	}
	status, body := getBody(t, "http://"+metricsAddr+"/metrics")
	if status != http.StatusOK || !strings.Contains(body, `backoffice_http_request_duration_seconds_count{code="2xx",method="GET",pattern="GET /healthz"}`) {
		t.Errorf("/metrics = %d, without the /healthz request:\n%.1500s", status, body)
	}
	if status, _ := getBody(t, d.url+"/metrics"); status != http.StatusNotFound {
		t.Errorf("the dashboard's own port serves /metrics: %d", status)
	}
	stopped := make(chan error, 1)
	go func() { stopped <- d.stop() }()
	deadline := time.Now().Add(time.Second)
	for {
		status, body := getBody(t, d.url+"/readyz")
		if status == http.StatusServiceUnavailable && strings.Contains(body, `"draining"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz while stopping = %d %s, want 503 draining", status, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := <-stopped; err != nil {
		t.Errorf("run returned %v after a graceful stop", err)
	}
}
