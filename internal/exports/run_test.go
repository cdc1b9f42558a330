package exports_test

import (
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"backoffice/internal/exports"
	"backoffice/internal/index"
)

// TestGoRecoversAPanickingEncoder: a run whose encoder panics (a
// product name lookup that panics, through Options.Product) fails its
// job with CrashedKey and reports the panic with its stack; the process
// goes on and Drain finds nothing left running.
func TestGoRecoversAPanickingEncoder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := mustOpen(t, exports.Config{Path: filepath.Join(t.TempDir(), "exports.db")})
	j, err := s.Create(ctx, job("t1", "alice"))
	if err != nil {
		t.Fatal(err)
	}
	cols, _ := exports.ParseColumns("id,product", false)
	reported := make(chan string, 1)
	s.Go(ctx, j.ID, func(ctx context.Context) {
		enc, err := exports.NewEncoder(exports.CSV, s.NewFileWriter(ctx, j.ID), exports.Options{Columns: cols, Headers: []string{"id", "product"},
			Product: func(string) string { panic("encoder bug") }})
		if err != nil {
			t.Error(err)
			return
		}
		_ = enc.Row(&index.Row{ID: "tpol_1", ProductID: "p"})
		t.Error("the encoder did not panic")
	}, func(p any, stack []byte) {
		reported <- strings.Join([]string{p.(string), string(stack)}, "\n")
	})
	select {
	case r := <-reported:
		if !strings.HasPrefix(r, "encoder bug\n") || !strings.Contains(r, "exports.(*Options).value") {
			t.Errorf("report = %.300s, want the panic and a stack through the encoder", r)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the panic was not reported")
	}
	drainCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if !s.Drain(drainCtx) {
		t.Fatal("Drain: a panicked run is still counted")
	}
	got, err := s.Find(ctx, j.ID)
	if err != nil || got.State != exports.StateFailed || got.Error != exports.CrashedKey {
		t.Errorf("job after a panic = %s %q (%v), want failed %q", got.State, got.Error, err, exports.CrashedKey)
	}
}

// TestDrain: Drain waits for a run to finish; a run that outlasts
// Drain's context is cancelled, and Drain says it gave up.
func TestDrain(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, _ := mustOpen(t, exports.Config{Path: filepath.Join(t.TempDir(), "exports.db")})
	finished := make(chan struct{})
	s.Go(ctx, "a", func(context.Context) {
		time.Sleep(200 * time.Millisecond)
		close(finished)
	}, nil)
	if !s.Drain(ctx) {
		t.Fatal("Drain gave up on a run that ends")
	}
	select {
	case <-finished:
	default:
		t.Fatal("Drain returned before the run ended")
	}
	cancelled := make(chan error, 1)
	s.Go(ctx, "b", func(ctx context.Context) {
		<-ctx.Done()
		cancelled <- ctx.Err()
	}, nil)
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if s.Drain(short) {
		t.Fatal("Drain reports a run that never ends as finished")
	}
	select {
	case err := <-cancelled:
		if err == nil {
			t.Error("the run's context ended without an error")
		}
	case <-time.After(time.Second):
		t.Fatal("the run was not cancelled when Drain gave up")
	}
}

var _ io.Writer = (*exports.FileWriter)(nil)

// TestGoBoundsTheRunsOfAnInstance: with one run at a time, a second
// export waits for the first, beating meanwhile so that it is not taken
// for dead, then runs; one that waits past Drain fails as stopped.
func TestGoBoundsTheRunsOfAnInstance(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	limits := exports.DefaultLimits
	limits.RunningPerInstance = 1
	s, c := mustOpen(t, exports.Config{Path: filepath.Join(t.TempDir(), "exports.db"), Limits: limits})
	first, err := s.Create(ctx, job("t1", "alice"))
	if err != nil {
		t.Fatal(err)
	}
	second, err := s.Create(ctx, job("t1", "bob"))
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	firstRuns := make(chan struct{})
	s.Go(ctx, first.ID, func(context.Context) {
		close(firstRuns)
		<-release
	}, nil)
	<-firstRuns
	secondRuns := make(chan struct{})
	s.Go(ctx, second.ID, func(context.Context) { close(secondRuns) }, nil)
	// Longer than a stale job's silence, on the store's clock: the
	// waiting job's beats keep it alive.
	c.add(exports.StaleAfter + time.Second)
	deadline := time.Now().Add(10 * time.Second)
	for {
		j, err := s.Find(ctx, second.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !j.Stale(c.now()) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the waiting export does not beat: another instance would fail it as stale")
		}
		time.Sleep(50 * time.Millisecond)
	}
	select {
	case <-secondRuns:
		t.Fatal("a second export ran beside the first with one slot")
	default:
	}
	close(release)
	select {
	case <-secondRuns:
	case <-time.After(10 * time.Second):
		t.Fatal("the waiting export did not run once the first ended")
	}

	// A run still waiting when Drain gives up fails as stopped.
	third, err := s.Create(ctx, job("t1", "carol"))
	if err != nil {
		t.Fatal(err)
	}
	block, blocking := make(chan struct{}), make(chan struct{})
	defer close(block)
	s.Go(ctx, "blocker", func(ctx context.Context) {
		close(blocking)
		select {
		case <-block:
		case <-ctx.Done():
		}
	}, nil)
	<-blocking
	s.Go(ctx, third.ID, func(context.Context) { t.Error("the third export ran") }, nil)
	drainCtx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	s.Drain(drainCtx)
	deadline = time.Now().Add(10 * time.Second)
	for {
		j, err := s.Find(ctx, third.ID)
		if err != nil {
			t.Fatal(err)
		}
		if j.State == exports.StateFailed {
			if j.Error != exports.StoppedKey {
				t.Errorf("the waiting export failed with %q, want %q", j.Error, exports.StoppedKey)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the waiting export is %s after Drain gave up, want failed", j.State)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
