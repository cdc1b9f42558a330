//go:build unix

package main

import (
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestRunRefusesWorldWritableDataDir: a DATA_DIR every user may write to
// stops the start, with a message naming DATA_DIR.
func TestRunRefusesWorldWritableDataDir(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"ADDR": "127.0.0.1:0", "DATA_DIR": dir, "SHUTDOWN_DELAY": "0s"}
	err := run(context.Background(), nil, func(k string) string { return env[k] }, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "DATA_DIR") || !strings.Contains(err.Error(), dir) {
		t.Fatalf("got %v, want an error naming DATA_DIR %s", err, dir)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Errorf("run wrote %d files into the refused DATA_DIR", len(entries))
	}
}

// TestRunKeepsDataDirPrivate: DATA_DIR is created 0700 and every file the
// dashboard writes there (secret, SQLite databases and their journals)
// is 0600, whatever the umask it was started with.
func TestRunKeepsDataDirPrivate(t *testing.T) {
	// A usual login umask, which leaves new files readable by all.
	old := syscall.Umask(0o022)
	t.Cleanup(func() { syscall.Umask(old) })
	dir := filepath.Join(t.TempDir(), "data")
	s := startDashboard(t, map[string]string{"DATA_DIR": dir})
	// While it runs (the SQLite journals exist), and after it stopped.
	checkPrivate(t, dir)
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	checkPrivate(t, dir)
	// Whatever else the process creates from now on is private too.
	probe := filepath.Join(t.TempDir(), "probe")
	if err := os.WriteFile(probe, nil, 0o666); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(probe); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("a file created 0666 after start: got %v (%v), want 0600", fi.Mode().Perm(), err)
	}
}

func checkPrivate(t *testing.T, dir string) {
	t.Helper()
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o700 {
		t.Errorf("DATA_DIR mode: got %04o, want 0700", got)
	}
	n := 0
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if path == dir {
			return nil
		}
		want := fs.FileMode(0o600)
		if d.IsDir() {
			want = 0o700
		}
		if info.Mode().Perm()&^want != 0 {
			t.Errorf("%s: mode %04o, want %04o", path, info.Mode().Perm(), want)
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Error("the dashboard wrote nothing into DATA_DIR")
	}
}
