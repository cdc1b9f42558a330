package exports_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"backoffice/internal/audit"
	"backoffice/internal/audit/pgtest"
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

// backend gives each test an empty database of one kind.
type backend func(t *testing.T) exports.Config

// storeTests are the contract every backend keeps.
var storeTests = []struct {
	name string
	run  func(t *testing.T, open opener)
}{
	{"job lifecycle", testStoreJobLifecycle},
	{"stale jobs", testStoreStaleJobs},
	{"limits", testStoreLimits},
	{"file size bound", testStoreFileSizeBound},
	{"tenant byte bound", testStoreTenantBytes},
	{"failed jobs drop their file", testStoreFailDropsFile},
	{"expired files are pruned on their own", testStorePrunesOnItsOwn},
	{"the tenant's job bound holds under concurrent creates", testStoreConcurrentCreates},
}

func TestSQLite(t *testing.T) {
	t.Parallel()
	contract(t, func(t *testing.T) exports.Config {
		return exports.Config{Path: filepath.Join(t.TempDir(), "exports.db")}
	})
}

// TestPostgres runs the same contract against a real server: a
// throwaway one started here, or AUDIT_TEST_DATABASE_URL's.
func TestPostgres(t *testing.T) {
	t.Parallel()
	srv := pgtest.Start(t)
	contract(t, func(t *testing.T) exports.Config {
		return exports.Config{DatabaseURL: srv.NewDatabase(t)}
	})
	t.Run("beside the audit log", func(t *testing.T) {
		t.Parallel()
		testBesideAudit(t, srv.NewDatabase(t))
	})
}

// testBesideAudit: the store lives in the audit log's database
// (AUDIT_DATABASE_URL); each migrates on its own, neither disturbs the
// other, and reopening finds both at their versions.
func testBesideAudit(t *testing.T, dbURL string) {
	ctx := context.Background()
	log, err := audit.Open(ctx, audit.Config{DatabaseURL: dbURL})
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	s, _ := mustOpen(t, exports.Config{DatabaseURL: dbURL})
	// Both reopen over the other's tables.
	for range 2 {
		l, err := audit.Open(ctx, audit.Config{DatabaseURL: dbURL})
		if err != nil {
			t.Fatal(err)
		}
		l.Close()
		mustOpen(t, exports.Config{DatabaseURL: dbURL})
	}
	if _, err := log.Append(ctx, audit.Entry{Action: audit.ActionExport, Actor: "sk_test_…4f2a", Outcome: audit.OutcomeCompleted}); err != nil {
		t.Fatal(err)
	}
	j, err := s.Create(ctx, job("t1", "alice"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "t1", "alice", j.ID); err != nil {
		t.Fatal(err)
	}
}

func contract(t *testing.T, b backend) {
	for _, tt := range storeTests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.run(t, func(t *testing.T, limits exports.Limits) (*exports.Store, *clock) {
				t.Helper()
				cfg := b(t)
				cfg.Limits = limits
				return mustOpen(t, cfg)
			})
		})
	}
	t.Run("two instances", func(t *testing.T) {
		t.Parallel()
		testStoreTwoInstances(t, b(t))
	})
	t.Run("a download holds no connection", func(t *testing.T) {
		t.Parallel()
		testStoreDownloadHoldsNoConnection(t, b(t))
	})
}

// stallingWriter is a slow client: each Write waits until the test
// lets it go on.
type stallingWriter struct {
	wrote chan int
	next  chan struct{}
	got   bytes.Buffer
}

func (w *stallingWriter) Write(p []byte) (int, error) {
	w.got.Write(p)
	w.wrote <- len(p)
	<-w.next
	return len(p), nil
}

// testStoreDownloadHoldsNoConnection: with a pool of one connection, a
// download stalled between chunks (a slow client) leaves the store
// free for every other call, and then completes.
func testStoreDownloadHoldsNoConnection(t *testing.T, cfg exports.Config) {
	ctx := context.Background()
	cfg.MaxOpenConns = 1
	s, _ := mustOpen(t, cfg)
	want := bytes.Repeat([]byte("0123456789abcdef"), exports.ChunkSize/16*3+7)
	j := finishedFile(t, s, "alice", want)
	w := &stallingWriter{wrote: make(chan int), next: make(chan struct{})}
	done := make(chan error, 1)
	go func() { done <- s.WriteFile(ctx, j.ID, w) }()
	for chunk := 0; ; chunk++ {
		select {
		case <-w.wrote:
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(w.got.Bytes(), want) {
				t.Fatalf("downloaded %d bytes, want %d", w.got.Len(), len(want))
			}
			if chunk != 4 {
				t.Errorf("%d writes, want 4 (one per chunk)", chunk)
			}
			return
		case <-time.After(10 * time.Second):
			t.Fatal("the download stalled")
		}
		// The client is slow: meanwhile the store answers others.
		callCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
		if _, err := s.Get(callCtx, "t1", "alice", j.ID); err != nil {
			t.Fatalf("during chunk %d of a download, Get: %v (the download holds the only connection)", chunk, err)
		}
		if _, err := s.Create(callCtx, job("t1", "bob")); err != nil && !errors.Is(err, exports.ErrBusy) {
			t.Fatalf("during chunk %d of a download, Create: %v", chunk, err)
		}
		cancel()
		w.next <- struct{}{}
	}
}

// opener opens an empty store of the backend under test, with limits
// (zero: the defaults) and a clock of the test's.
type opener func(t *testing.T, limits exports.Limits) (*exports.Store, *clock)

func mustOpen(t *testing.T, cfg exports.Config) (*exports.Store, *clock) {
	t.Helper()
	c := &clock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	cfg.Now = c.now
	s, err := exports.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, c
}

func job(tenant, owner string) exports.Job {
	return exports.Job{Tenant: tenant, Owner: owner, Format: exports.CSV, View: "status=paid", Params: "format=csv", Filename: "p.csv", Total: 3}
}

func testStoreJobLifecycle(t *testing.T, openStore opener) {
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

func testStoreStaleJobs(t *testing.T, openStore opener) {
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
	// A late chunk from the dead instance is refused, and not kept.
	fw := s.NewFileWriter(ctx, j.ID)
	if _, err := fw.Write([]byte("late")); err != nil {
		t.Fatal(err)
	}
	if err := fw.Close(); !errors.Is(err, exports.ErrNotRunning) {
		t.Errorf("a chunk of a failed job: %v, want ErrNotRunning", err)
	}
	var file bytes.Buffer
	if err := s.WriteFile(ctx, j.ID, &file); err != nil || file.Len() != 0 {
		t.Errorf("a failed job's file holds %q (%v), want nothing", file.String(), err)
	}
	// A late Finish from the dead instance does not revive it, and says
	// so: the run must not record a completed export.
	if err := s.Finish(ctx, j.ID, 5, 0); !errors.Is(err, exports.ErrNotRunning) {
		t.Fatalf("Finish of a job failed as stale: %v, want ErrNotRunning", err)
	}
	if got, _ = s.Get(ctx, "t1", "alice", j.ID); got.State != exports.StateFailed {
		t.Errorf("a failed job became %s", got.State)
	}
}

func testStoreLimits(t *testing.T, openStore opener) {
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

// testStoreFileSizeBound: a file may reach Limits.BytesPerJob exactly,
// across chunks, and not one byte more; the refused write stores
// nothing of itself.
func testStoreFileSizeBound(t *testing.T, openStore opener) {
	ctx := context.Background()
	bound := int64(exports.ChunkSize + 10)
	s, _ := openStore(t, exports.Limits{JobsPerTenant: 5, BytesPerTenant: 1 << 30, BytesPerJob: bound, TTL: time.Hour})
	j, err := s.Create(ctx, job("t1", "alice"))
	if err != nil {
		t.Fatal(err)
	}
	w := s.NewFileWriter(ctx, j.ID)
	// A whole chunk (flushed to the store), then up to the bound.
	if _, err := w.Write(bytes.Repeat([]byte("a"), exports.ChunkSize)); err != nil {
		t.Fatalf("a chunk within the bound: %v", err)
	}
	if got := w.Size(); got != exports.ChunkSize {
		t.Errorf("after a whole chunk the store holds %d bytes, want %d", got, exports.ChunkSize)
	}
	if _, err := w.Write(bytes.Repeat([]byte("b"), 10)); err != nil {
		t.Fatalf("a write up to the bound: %v", err)
	}
	if n, err := w.Write([]byte("c")); !errors.Is(err, exports.ErrTooLarge) || n != 0 {
		t.Errorf("one byte past the bound: %d, %v; want 0, ErrTooLarge", n, err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got := w.Size(); got != bound {
		t.Errorf("file size %d, want the bound %d", got, bound)
	}
	var buf bytes.Buffer
	if err := s.WriteFile(ctx, j.ID, &buf); err != nil || int64(buf.Len()) != bound || bytes.Contains(buf.Bytes(), []byte("c")) {
		t.Errorf("stored file: %d bytes (%v), want %d without the refused write", buf.Len(), err, bound)
	}
	if got, err := s.Find(ctx, j.ID); err != nil || got.Bytes != bound {
		t.Errorf("job bytes = %d (%v), want %d", got.Bytes, err, bound)
	}
	// A larger write that crosses the bound in its middle is refused
	// whole, even when it starts below it.
	j2, err := s.Create(ctx, job("t1", "bob"))
	if err != nil {
		t.Fatal(err)
	}
	w2 := s.NewFileWriter(ctx, j2.ID)
	if _, err := w2.Write(bytes.Repeat([]byte("x"), int(bound)+1)); !errors.Is(err, exports.ErrTooLarge) {
		t.Errorf("a write crossing the bound: %v, want ErrTooLarge", err)
	}
	if err := w2.Close(); err != nil || w2.Size() != 0 {
		t.Errorf("after a refused write the store holds %d bytes (%v), want 0", w2.Size(), err)
	}
}

// testStoreTenantBytes: finished files count against the tenant's byte
// bound; the oldest finished go first to make room.
func testStoreTenantBytes(t *testing.T, openStore opener) {
	ctx := context.Background()
	s, c := openStore(t, exports.Limits{JobsPerTenant: 100, BytesPerTenant: 100, BytesPerJob: 1000, TTL: time.Hour})
	a, err := s.Create(ctx, job("t1", "alice"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Finish(ctx, a.ID, 1, 60); err != nil {
		t.Fatal(err)
	}
	c.add(time.Second)
	b, err := s.Create(ctx, job("t1", "bob"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Finish(ctx, b.ID, 1, 60); err != nil {
		t.Fatal(err)
	}
	c.add(time.Second)
	// 120 bytes kept: the next job drops alice's (the oldest), not bob's.
	if _, err := s.Create(ctx, job("t1", "carol")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Find(ctx, a.ID); !errors.Is(err, exports.ErrNotFound) {
		t.Errorf("the oldest finished job was kept: %v", err)
	}
	if _, err := s.Find(ctx, b.ID); err != nil {
		t.Errorf("a newer finished job went: %v", err)
	}
}

// testStoreFailDropsFile: a failed job keeps no file and no size.
func testStoreFailDropsFile(t *testing.T, openStore opener) {
	ctx := context.Background()
	s, _ := openStore(t, exports.Limits{})
	j, err := s.Create(ctx, job("t1", "alice"))
	if err != nil {
		t.Fatal(err)
	}
	w := s.NewFileWriter(ctx, j.ID)
	if _, err := w.Write(bytes.Repeat([]byte("z"), exports.ChunkSize+5)); err != nil {
		t.Fatal(err)
	}
	if err := s.Fail(ctx, j.ID, "exports.error.too_large"); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, "t1", "alice", j.ID)
	if err != nil || got.State != exports.StateFailed || got.Error != "exports.error.too_large" || got.Bytes != 0 {
		t.Errorf("failed job = %+v, %v", got, err)
	}
	var buf bytes.Buffer
	if err := s.WriteFile(ctx, j.ID, &buf); err != nil || buf.Len() != 0 {
		t.Errorf("a failed job's file has %d bytes (%v)", buf.Len(), err)
	}
	// Its owner may start again.
	if _, err := s.Create(ctx, job("t1", "alice")); err != nil {
		t.Errorf("create after a failure: %v", err)
	}
}

// testStoreTwoInstances: instances sharing one database see each
// other's jobs and files, and of simultaneous clicks of one user only
// one starts an export (the database decides).
func testStoreTwoInstances(t *testing.T, cfg exports.Config) {
	ctx := context.Background()
	a, _ := mustOpen(t, cfg)
	b, _ := mustOpen(t, cfg)
	const clicks = 8
	var wg sync.WaitGroup
	results := make([]exports.Job, clicks)
	errs := make([]error, clicks)
	for i := range clicks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := a
			if i%2 == 1 {
				s = b
			}
			results[i], errs[i] = s.Create(ctx, job("t1", "alice"))
		}()
	}
	wg.Wait()
	var started string
	for i, err := range errs {
		switch {
		case err == nil:
			if started != "" {
				t.Errorf("two exports started for one user: %s and %s", started, results[i].ID)
			}
			started = results[i].ID
		case !errors.Is(err, exports.ErrBusy):
			t.Errorf("click %d: %v, want ErrBusy", i, err)
		}
	}
	if started == "" {
		t.Fatal("no click started an export")
	}
	for i, err := range errs {
		if errors.Is(err, exports.ErrBusy) && results[i].ID != started {
			t.Errorf("click %d points at %q, want the running %q", i, results[i].ID, started)
		}
	}
	// Written on one, read on the other.
	w := a.NewFileWriter(ctx, started)
	want := bytes.Repeat([]byte("0123456789"), exports.ChunkSize/10+7)
	if _, err := w.Write(want); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Finish(ctx, started, 4, w.Size()); err != nil {
		t.Fatal(err)
	}
	got, err := b.Get(ctx, "t1", "alice", started)
	if err != nil || got.State != exports.StateDone || got.Bytes != int64(len(want)) {
		t.Fatalf("the other instance reads %+v, %v", got, err)
	}
	var buf bytes.Buffer
	if err := b.WriteFile(ctx, started, &buf); err != nil || !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("the other instance's file: %d bytes, want %d (%v)", buf.Len(), len(want), err)
	}
}

// finishedFile makes a done job of tenant t1 whose file is data.
func finishedFile(t *testing.T, s *exports.Store, owner string, data []byte) exports.Job {
	t.Helper()
	ctx := context.Background()
	j, err := s.Create(ctx, job("t1", owner))
	if err != nil {
		t.Fatal(err)
	}
	w := s.NewFileWriter(ctx, j.ID)
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Finish(ctx, j.ID, 1, w.Size()); err != nil {
		t.Fatal(err)
	}
	return j
}

// testStorePrunesOnItsOwn: a finished file past its expiry is deleted,
// chunks and all, by the store's own pruner, with no export made since.
func testStorePrunesOnItsOwn(t *testing.T, openStore opener) {
	ctx := context.Background()
	s, c := openStore(t, exports.Limits{})
	j := finishedFile(t, s, "alice", []byte("ana@example.com,+40 700 000 000\r\n"))
	s.PruneEvery(10*time.Millisecond, func(err error) { t.Errorf("prune: %v", err) })
	time.Sleep(50 * time.Millisecond)
	if _, err := s.Find(ctx, j.ID); err != nil {
		t.Fatalf("a file not yet expired was pruned: %v", err)
	}
	c.add(exports.DefaultLimits.TTL + time.Minute)
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := s.Find(ctx, j.ID)
		if errors.Is(err, exports.ErrNotFound) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("expired job still there 10s on: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	var buf bytes.Buffer
	if err := s.WriteFile(ctx, j.ID, &buf); err != nil || buf.Len() != 0 {
		t.Errorf("pruned file still has %d bytes (%v)", buf.Len(), err)
	}
}

// TestSQLitePruneOverwrites: on SQLite, an expired file's bytes are gone
// from the database's files (the database and its WAL) after a prune:
// secure_delete overwrites the freed pages and the WAL is emptied.
func TestSQLitePruneOverwrites(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "exports.db")
	s, c := mustOpen(t, exports.Config{Path: path})
	marker := []byte("holder-ana-popescu@example.com;+40712345678;")
	data := bytes.Repeat(marker, 3*exports.ChunkSize/len(marker)) // several chunks: overflow pages
	onDisk := func() bool {
		t.Helper()
		for _, p := range []string{path, path + "-wal"} {
			b, err := os.ReadFile(p)
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				t.Fatal(err)
			}
			if bytes.Contains(b, marker) {
				return true
			}
		}
		return false
	}
	j := finishedFile(t, s, "alice", data)
	if !onDisk() {
		t.Fatal("the file's bytes are not in the database before the prune: the test proves nothing")
	}
	c.add(exports.DefaultLimits.TTL + time.Minute)
	if err := s.Prune(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Find(ctx, j.ID); !errors.Is(err, exports.ErrNotFound) {
		t.Fatalf("expired job still there: %v", err)
	}
	if onDisk() {
		t.Error("the expired file's bytes are still in the database's files after the prune")
	}
}

// testStoreConcurrentCreates: many users of one tenant starting exports
// at once (on one instance or several sharing the database) never make
// the tenant hold more jobs than JobsPerTenant: the rest are ErrFull.
func testStoreConcurrentCreates(t *testing.T, openStore opener) {
	ctx := context.Background()
	const bound, users = 3, 16
	s, _ := openStore(t, exports.Limits{JobsPerTenant: bound, BytesPerTenant: 1 << 30, BytesPerJob: 1 << 20, TTL: time.Hour})
	var wg sync.WaitGroup
	errs := make(chan error, users)
	start := make(chan struct{})
	for i := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, err := s.Create(ctx, job("t1", fmt.Sprintf("user%d", i)))
			errs <- err
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	created := 0
	for err := range errs {
		switch {
		case err == nil:
			created++
		case errors.Is(err, exports.ErrFull):
		default:
			t.Errorf("create: %v", err)
		}
	}
	if created != bound {
		t.Errorf("%d jobs created by %d users at once, want the bound %d", created, users, bound)
	}
}
