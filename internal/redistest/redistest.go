// Package redistest gives tests a throwaway redis-server: started for
// the test on a free loopback port, persisting nothing, killed when the
// test ends.
//
// Without redis-server installed the test is skipped loudly, and fails
// under CI=true (.ci/run installs Debian's redis-server package).
package redistest

import (
	"bufio"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"backoffice/internal/testenv"
)

// startTimeout bounds the wait for the server to answer.
const startTimeout = 10 * time.Second

// Start runs a private redis-server and returns its URL
// (redis://127.0.0.1:PORT/0).
func Start(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath("redis-server")
	testenv.Require(t, err == nil, "redis-server", "install Debian's redis-server package (.ci/run does)")
	// The free port is found by listening and closing, so another
	// process may take it before redis-server binds it; redis-server
	// then exits, and another port is tried.
	var last error
	for range 3 {
		addr, err := start(t, path)
		if err == nil {
			return "redis://" + addr + "/0"
		}
		last = err
	}
	t.Fatalf("redistest: %v", last)
	return ""
}

// start runs one server and waits until it answers PING.
func start(t testing.TB, path string) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	var out strings.Builder
	cmd := exec.Command(path, "--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", t.TempDir())
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return "", err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		// Only the process started here, by its handle.
		_ = cmd.Process.Kill()
		<-exited
	}
	deadline := time.Now().Add(startTimeout)
	for {
		select {
		case err := <-exited:
			return "", fmt.Errorf("redis-server on %s exited (%v): %s", addr, err, out.String())
		default:
		}
		if ping(addr) {
			t.Cleanup(stop)
			return addr, nil
		}
		if time.Now().After(deadline) {
			stop()
			return "", fmt.Errorf("redis-server did not answer on %s within %s: %s", addr, startTimeout, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ping reports whether a Redis server answers on addr: a bare TCP
// connect could reach whatever took the port instead.
func ping(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && strings.HasPrefix(line, "+PONG")
}
