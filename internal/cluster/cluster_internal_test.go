package cluster

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"backoffice/internal/testenv"
)

// TestHAProxyConfigIsValid: HAProxy itself accepts the configuration, and
// its log line format is what parseRequest reads.
func TestHAProxyConfigIsValid(t *testing.T) {
	path, err := exec.LookPath("haproxy")
	testenv.Require(t, err == nil, "haproxy", "install Debian's haproxy package (.ci/run does)")
	dir := t.TempDir()
	cfg := haproxyConfig(18080, filepath.Join(dir, "stats.sock"), []Instance{{Name: "dash1", URL: "http://127.0.0.1:18081"}, {Name: "dash2", URL: "http://127.0.0.1:18082"}}, 500*time.Millisecond)
	file := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(path, "-c", "-f", file).CombinedOutput(); err != nil {
		t.Fatalf("haproxy -c: %v\n%s\n%s", err, out, cfg)
	}
	for _, want := range []string{"balance roundrobin", "option httpchk GET /readyz", "server dash1 127.0.0.1:18081", "server dash2 127.0.0.1:18082", "inter 500ms"} {
		if !strings.Contains(cfg, want) {
			t.Errorf("the configuration lacks %q:\n%s", want, cfg)
		}
	}
	// Stickiness would hide exactly what the cluster is for.
	for _, never := range []string{"cookie", "stick", "balance source", "prefer-last-server"} {
		if strings.Contains(cfg, never) {
			t.Errorf("the configuration has %q, which makes sessions sticky:\n%s", never, cfg)
		}
	}
}

func TestParseRequest(t *testing.T) {
	r, ok := parseRequest("request start=04/Dec/2026:23:16:17.042 srv=dash2 status=400 method=POST path=/policies/new term=CH-- retries=+1 ms=183")
	want := Request{Start: time.Date(2026, 12, 4, 23, 16, 17, 42e6, time.UTC), Server: "dash2", Status: 400, Method: "POST", Path: "/policies/new", Term: "CH--", Retries: "+1", Millis: 183}
	if !ok || r != want {
		t.Errorf("parseRequest = %+v, %v; want %+v", r, ok, want)
	}
	if _, ok := parseRequest("[WARNING]  (1) : Server dashboards/dash1 is DOWN"); ok {
		t.Error("parseRequest read a line that is no request")
	}
}

// TestOutputKeepsPositions: a position taken before older lines are
// dropped still reads what came after it.
func TestOutputKeepsPositions(t *testing.T) {
	o := &output{file: devNull(t)}
	fmt.Fprint(o, "one\ntw")
	if lines, next := o.since(0); len(lines) != 1 || lines[0] != "one" || next != 1 {
		t.Fatalf("since(0) = %q, %d", lines, next)
	}
	fmt.Fprint(o, "o\n")
	mark := o.mark()
	for i := range maxLines {
		fmt.Fprintf(o, "line %d\n", i)
	}
	lines, next := o.since(mark)
	if len(lines) != maxLines || lines[0] != "line 0" || next != mark+maxLines {
		t.Errorf("since(mark) = %d lines from %q, next %d; want %d from \"line 0\", next %d", len(lines), lines[0], next, maxLines, mark+maxLines)
	}
	if lines, _ := o.since(0); len(lines) != maxLines {
		t.Errorf("since(0) after the drop = %d lines, want the %d kept", len(lines), maxLines)
	}
}

func devNull(t *testing.T) *os.File {
	f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}
