package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"backoffice/internal/index"
)

// TestIndexPurgeCommand: `dashboard index purge TENANT` deletes that
// tenant's rows and nothing of another's; `index status` lists what is
// kept; a malformed command is refused with its usage.
func TestIndexPurgeCommand(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	store, err := index.Open(ctx, index.Config{Path: filepath.Join(dir, "index.db")})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	var rows []index.Row
	for i, tenant := range []string{"kasko:distA:test", "kasko:distA:test", "kasko:distB:test"} {
		rows = append(rows, index.Row{Tenant: tenant, ID: "tpol_" + strings.Repeat(string(rune('a'+i)), 28), InsurerID: "TEST-" + string(rune('A'+i)),
			FirstName: "Jānis", LastName: "Bērziņš", Email: "janis@example.com", Status: "paid", Currency: "eur",
			CreatedAt: now, StartDate: now, CreatedDay: now.Format(time.DateOnly), StartDay: now.Format(time.DateOnly), SeenAt: now})
	}
	if err := store.Upsert(ctx, rows); err != nil {
		t.Fatal(err)
	}
	for _, tenant := range []string{"kasko:distA:test", "kasko:distB:test"} {
		if err := store.SaveSyncState(ctx, index.SyncState{Tenant: tenant, FullStarted: now, FullDone: now}); err != nil {
			t.Fatal(err)
		}
	}
	store.Close()
	if fi, err := os.Stat(filepath.Join(dir, "index.db")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("index file mode = %v (%v), want 0600", fi.Mode().Perm(), err)
	}

	env := map[string]string{"DATA_DIR": dir, "INDEX_KEYS": "none"}
	getenv := func(k string) string { return env[k] }
	cmd := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(ctx, args, getenv, &out)
		return out.String(), err
	}
	out, err := cmd("index", "status")
	if err != nil || !strings.Contains(out, "kasko:distA:test\t2 rows") || !strings.Contains(out, "kasko:distB:test\t1 rows") {
		t.Errorf("status = %q, %v", out, err)
	}
	out, err = cmd("index", "purge", "kasko:distA:test")
	if err != nil || !strings.Contains(out, "purged kasko:distA:test: 2 rows") {
		t.Errorf("purge = %q, %v", out, err)
	}
	out, err = cmd("index", "status")
	if err != nil || strings.Contains(out, "distA") || !strings.Contains(out, "kasko:distB:test\t1 rows") {
		t.Errorf("status after purge = %q, %v", out, err)
	}
	for _, bad := range [][]string{{"index"}, {"index", "purge"}, {"index", "purge", "distA"}, {"index", "drop", "kasko:distB:test"}, {"reindex"}} {
		if _, err := cmd(bad...); err == nil || !strings.Contains(err.Error(), "usage") {
			t.Errorf("%q: %v, want the usage", bad, err)
		}
	}
	// The purged rows are gone from the file, not hidden: their text is
	// not in it any more (secure delete; the WAL is checkpointed on close).
	raw, err := os.ReadFile(filepath.Join(dir, "index.db"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte("TEST-A")) || bytes.Contains(raw, []byte("TEST-B")) {
		t.Error("the purged tenant's ids are still in the index file")
	}
	// The check can fail: the other tenant's row is readable there.
	if !bytes.Contains(raw, []byte("TEST-C")) {
		t.Error("the kept tenant's id is not in the index file: the check above proves nothing")
	}
}
