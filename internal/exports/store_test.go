package exports_test

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"backoffice/internal/exports"
)

// clock is a settable clock for the store.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func openStore(t *testing.T, limits exports.Limits) (*exports.Store, *clock) {
	t.Helper()
	c := &clock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	s, err := exports.Open(context.Background(), exports.Config{Path: filepath.Join(t.TempDir(), "exports.db"), Limits: limits, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, c
}

func job(tenant, owner string) exports.Job {
	return exports.Job{Tenant: tenant, Owner: owner, Format: exports.CSV, View: "status=paid", Params: "format=csv", Filename: "p.csv", Total: 3}
}

func TestStoreJobLifecycle(t *testing.T) {
	ctx := context.Background()
	s, c := openStore(t, exports.Limits{})
	j, err := s.Create(ctx, job("t1", "alice"))
	if err != nil {
		t.Fatal(err)
	}
	if j.State != exports.StateRunning || j.ID == "" {
		t.Fatalf("created %+v", j)
	}
	// One running export per user; others may start theirs.
	if got, err := s.Create(ctx, job("t1", "alice")); !errors.Is(err, exports.ErrBusy) || got.ID != j.ID {
		t.Errorf("second create = %v, %v; want ErrBusy and the running job", got.ID, err)
	}
	if _, err := s.Create(ctx, job("t1", "bob")); err != nil {
		t.Errorf("bob's create: %v", err)
	}
	// The file, in chunks larger than one.
	w := s.NewFileWriter(ctx, j.ID)
	want := bytes.Repeat([]byte("0123456789abcdef"), exports.ChunkSize/16*2+100)
	for chunk := range slices(want, 1000) {
		if _, err := w.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Progress(ctx, j.ID, 2); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, "t1", "alice", j.ID)
	if err != nil || got.Rows != 2 || got.Percent() != 66 || got.State != exports.StateRunning {
		t.Fatalf("after progress: %+v, %v", got, err)
	}
	if err := s.Finish(ctx, j.ID, 3, w.Size()); err != nil {
		t.Fatal(err)
	}
	got, err = s.Get(ctx, "t1", "alice", j.ID)
	if err != nil || got.State != exports.StateDone || got.Rows != 3 || got.Bytes != int64(len(want)) || got.Percent() != 100 {
		t.Fatalf("after finish: %+v, %v", got, err)
	}
	var buf bytes.Buffer
	if err := s.WriteFile(ctx, j.ID, &buf); err != nil || !bytes.Equal(buf.Bytes(), want) {
		t.Fatalf("file read back: %d bytes, want %d (%v)", buf.Len(), len(want), err)
	}
	// Another user or tenant finds nothing.
	for _, o := range [][2]string{{"t1", "bob"}, {"t2", "alice"}} {
		if _, err := s.Get(ctx, o[0], o[1], j.ID); !errors.Is(err, exports.ErrNotFound) {
			t.Errorf("%v reads alice's job: %v", o, err)
		}
	}
	// Now alice may start another.
	if _, err := s.Create(ctx, job("t1", "alice")); err != nil {
		t.Errorf("create after finish: %v", err)
	}
	// Files expire: past the TTL the job is gone, and pruned with its
	// chunks.
	c.add(exports.DefaultLimits.TTL + time.Minute)
	if _, err := s.Get(ctx, "t1", "alice", j.ID); !errors.Is(err, exports.ErrNotFound) {
		t.Errorf("expired job: %v", err)
	}
	if err := s.Prune(ctx); err != nil {
		t.Fatal(err)
	}
	buf.Reset()
	if err := s.WriteFile(ctx, j.ID, &buf); err != nil || buf.Len() != 0 {
		t.Errorf("pruned file still has %d bytes (%v)", buf.Len(), err)
	}
	if _, err := s.Find(ctx, j.ID); !errors.Is(err, exports.ErrNotFound) {
		t.Errorf("pruned job still found: %v", err)
	}
}

func slices(b []byte, n int) func(func([]byte) bool) {
	return func(yield func([]byte) bool) {
		for len(b) > 0 {
			k := min(n, len(b))
			if !yield(b[:k]) {
				return
			}
			b = b[k:]
		}
	}
}

func TestStoreStaleJobs(t *testing.T) {
	ctx := context.Background()
	s, c := openStore(t, exports.Limits{})
	j, err := s.Create(ctx, job("t1", "alice"))
	if err != nil {
		t.Fatal(err)
	}
	// Beating keeps it alive past StaleAfter.
	c.add(exports.StaleAfter - time.Second)
	if err := s.Progress(ctx, j.ID, 1); err != nil {
		t.Fatal(err)
	}
	c.add(exports.StaleAfter - time.Second)
	if got, _ := s.Get(ctx, "t1", "alice", j.ID); got.Stale(c.now()) {
		t.Errorf("a beating job is stale")
	}
	// Its instance dies: no beat for longer than StaleAfter.
	c.add(2 * time.Second)
	got, _ := s.Get(ctx, "t1", "alice", j.ID)
	if !got.Stale(c.now()) {
		t.Errorf("a silent job is not stale")
	}
	if _, running, _ := s.Running(ctx, "t1", "alice"); running {
		t.Errorf("a stale job counts as running")
	}
	// The owner may start again; the dead job is failed.
	if _, err := s.Create(ctx, job("t1", "alice")); err != nil {
		t.Fatalf("create after a dead job: %v", err)
	}
	got, _ = s.Get(ctx, "t1", "alice", j.ID)
	if got.State != exports.StateFailed || got.Error != "exports.error.stale" {
		t.Errorf("dead job = %s %q", got.State, got.Error)
	}
	// A late Finish from the dead instance does not revive it.
	if err := s.Finish(ctx, j.ID, 5, 0); err != nil {
		t.Fatal(err)
	}
	if got, _ = s.Get(ctx, "t1", "alice", j.ID); got.State != exports.StateFailed {
		t.Errorf("a failed job became %s", got.State)
	}
}

func TestStoreLimits(t *testing.T) {
	ctx := context.Background()
	s, _ := openStore(t, exports.Limits{JobsPerTenant: 3, BytesPerTenant: 1 << 30, BytesPerJob: 1000, TTL: time.Hour})
	var ids []string
	for i := range 3 {
		j, err := s.Create(ctx, job("t1", "user"+string(rune('a'+i))))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, j.ID)
	}
	// Three running: a fourth user is refused.
	if _, err := s.Create(ctx, job("t1", "dave")); !errors.Is(err, exports.ErrFull) {
		t.Errorf("fourth running job: %v, want ErrFull", err)
	}
	// Another tenant is not.
	if _, err := s.Create(ctx, job("t2", "dave")); err != nil {
		t.Errorf("another tenant: %v", err)
	}
	// A finished job makes room: the oldest finished one goes.
	if err := s.Finish(ctx, ids[0], 1, 10); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(ctx, job("t1", "dave")); err != nil {
		t.Errorf("create with a finished job to drop: %v", err)
	}
	if _, err := s.Find(ctx, ids[0]); !errors.Is(err, exports.ErrNotFound) {
		t.Errorf("the oldest finished job was kept: %v", err)
	}
	// One file past BytesPerJob fails.
	w := s.NewFileWriter(ctx, ids[1])
	if _, err := w.Write([]byte(strings.Repeat("x", 1001))); !errors.Is(err, exports.ErrTooLarge) {
		t.Errorf("a write past the bound: %v", err)
	}
}
