package exports

import (
	"context"
	"runtime/debug"
	"sync"
	"time"
)

// runs are the exports this process runs, detached from the requests
// that started them.
type runs struct {
	mu   sync.Mutex
	n    int
	idle chan struct{} // closed when n drops to 0; nil while n is 0
	// stop cancels every run's context: Drain gave up waiting.
	stop     chan struct{}
	stopOnce sync.Once
	// slots holds a token per run writing now (Limits.RunningPerInstance);
	// nil: no bound.
	slots chan struct{}
}

func (r *runs) start() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.n == 0 {
		r.idle = make(chan struct{})
	}
	r.n++
}

func (r *runs) end() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.n--
	if r.n == 0 {
		close(r.idle)
		r.idle = nil
	}
}

func (r *runs) wait() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.idle
}

// CrashedKey is the catalogue key of a job whose run panicked.
const CrashedKey = "exports.error.crashed"

// StoppedKey is the catalogue key of a job whose process stopped before
// it could write it (the owner tries again).
const StoppedKey = "exports.error.stale"

// takeSlot waits for a free run slot, beating job id's heartbeat while
// it waits; false when ctx ended first.
func (s *Store) takeSlot(ctx context.Context, id string) bool {
	if s.runs.slots == nil {
		return true
	}
	select {
	case s.runs.slots <- struct{}{}:
		return true
	default:
	}
	t := time.NewTicker(HeartbeatEvery)
	defer t.Stop()
	for {
		select {
		case s.runs.slots <- struct{}{}:
			select {
			case <-s.runs.stop:
				// Freed by a run that Drain stopped: stop too.
				<-s.runs.slots
				return false
			default:
			}
			return true
		case <-t.C:
			_ = s.Progress(ctx, id, 0)
		case <-s.runs.stop:
			return false
		case <-ctx.Done():
			return false
		}
	}
}

// Go runs fn, the run of job id, detached from the request that started
// it: counted, so that Drain waits for it at shutdown, at most
// Limits.RunningPerInstance at once (the others wait), and with a panic
// recovered, so that a bug in an encoder fails one export instead of
// ending the process. On a panic the job is failed (CrashedKey) and
// report (if not nil) hears the value and the stack, to log and record
// it. fn's context ends when Drain gives up waiting.
func (s *Store) Go(ctx context.Context, id string, fn func(ctx context.Context), report func(p any, stack []byte)) {
	s.runs.start()
	go func() {
		defer s.runs.end()
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		go func() {
			select {
			case <-s.runs.stop:
				cancel()
			case <-ctx.Done():
			}
		}()
		defer func() {
			p := recover()
			if p == nil {
				return
			}
			stack := debug.Stack()
			done, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			_ = s.Fail(done, id, CrashedKey)
			if report != nil {
				report(p, stack)
			}
		}()
		if !s.takeSlot(ctx, id) {
			done, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			_ = s.Fail(done, id, StoppedKey)
			return
		}
		if s.runs.slots != nil {
			defer func() { <-s.runs.slots }()
		}
		fn(ctx)
	}()
}

// drainGrace is how long Drain, once its context ends, gives the runs
// it cancels to record their failure before the store closes.
const drainGrace = 5 * time.Second

// Drain waits, until ctx ends, for the exports this process runs (Go)
// to finish and record their outcome; it reports whether they all did.
// When ctx ends first, the runs still going are cancelled (they fail,
// and their owners get a retry) and given a few seconds to say so.
func (s *Store) Drain(ctx context.Context) bool {
	for {
		idle := s.runs.wait()
		if idle == nil {
			return true
		}
		select {
		case <-idle:
			// A run may have started meanwhile: look again.
			continue
		case <-ctx.Done():
		}
		s.runs.stopOnce.Do(func() { close(s.runs.stop) })
		if idle := s.runs.wait(); idle != nil {
			select {
			case <-idle:
			case <-time.After(drainGrace):
			}
		}
		return false
	}
}
