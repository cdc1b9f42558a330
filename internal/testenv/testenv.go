// Package testenv decides what a test does when something it needs (a
// browser, a Redis server) is missing: skip with a loud reason on a
// developer's machine, fail under CI, where .ci/run installs everything.
package testenv

import (
	"fmt"
	"os"
	"testing"
	"time"
)

// InCI reports whether the tests run under CI (CI=true), where nothing may
// be skipped for want of a tool.
func InCI() bool { return os.Getenv("CI") == "true" }

// Require stops the test when a prerequisite is missing: t.Fatal in CI,
// t.Skip elsewhere. The skip is also appended to the file named by
// BACKOFFICE_SKIP_LOG, which `make test` prints at the end, because go test
// hides skip reasons of passing packages.
func Require(t testing.TB, ok bool, what, howToFix string) {
	t.Helper()
	if ok {
		return
	}
	msg := fmt.Sprintf("%s is not available: %s", what, howToFix)
	if InCI() {
		t.Fatalf("CI=true and %s", msg)
	}
	if path := os.Getenv("BACKOFFICE_SKIP_LOG"); path != "" {
		if f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600); err == nil {
			fmt.Fprintf(f, "%s  SKIPPED %s: %s\n", time.Now().Format(time.TimeOnly), t.Name(), msg)
			f.Close()
		}
	}
	t.Skipf("SKIPPED LOUDLY: %s", msg)
}
