package cluster

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"sync"
	"syscall"
	"time"
)

// maxLines bounds the output kept in memory per process: `make cluster`
// may run for days, and the access log grows with every request. The
// whole output stays in the process's log file.
const maxLines = 100_000

// process is one program the cluster started, with its output.
type process struct {
	name string
	cmd  *exec.Cmd
	out  *output
	// exited is closed when the program has ended and its output is read.
	exited  chan struct{}
	waitErr error
	// stopSignal asks the program to shut down (PostgreSQL's fast
	// shutdown is SIGINT; SIGTERM would wait for every client).
	stopSignal os.Signal
}

// spawn starts a program whose output goes to logPath, to the in-memory
// lines and to echo (nil: nowhere). The program is killed with this
// process when it dies (see sysProcAttr), so that a test killed by its
// deadline leaves no server behind.
func spawn(name, logPath string, echo io.Writer, dir string, env []string, cred *syscall.Credential, path string, args ...string) (*process, error) {
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	out := &output{name: name, file: f, echo: echo}
	cmd := exec.Command(path, args...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.SysProcAttr = sysProcAttr(cred)
	// Children of the program (PostgreSQL's backends) may hold the pipe
	// after it ended; do not wait for them.
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, out: out, exited: make(chan struct{}), stopSignal: syscall.SIGTERM}
	go func() {
		p.waitErr = cmd.Wait()
		out.flush()
		f.Close()
		close(p.exited)
	}()
	return p, nil
}

// running reports whether the program has not ended yet.
func (p *process) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// kill ends the program at once (SIGKILL) and waits for it.
func (p *process) kill() error {
	if !p.running() {
		return nil
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("%s: %w", p.name, err)
	}
	select {
	case <-p.exited:
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("%s (pid %d) did not end within 10s of SIGKILL", p.name, p.cmd.Process.Pid)
	}
}

// stop asks the program to shut down and kills it after grace.
func (p *process) stop(grace time.Duration) error {
	if !p.running() {
		return nil
	}
	if err := p.cmd.Process.Signal(p.stopSignal); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("%s: %w", p.name, err)
	}
	select {
	case <-p.exited:
		return nil
	case <-time.After(grace):
	}
	if err := p.kill(); err != nil {
		return err
	}
	return fmt.Errorf("%s did not stop within %s and was killed", p.name, grace)
}

// waitLine waits until the program printed a line matching re and
// returns its submatches; it gives up when the program ends or timeout
// passes.
func (p *process) waitLine(re *regexp.Regexp, timeout time.Duration) ([]string, error) {
	deadline := time.Now().Add(timeout)
	seen := 0
	for {
		lines, next := p.out.since(seen)
		seen = next
		for _, l := range lines {
			if m := re.FindStringSubmatch(l); m != nil {
				return m, nil
			}
		}
		if !p.running() {
			return nil, fmt.Errorf("%s ended (%v) before printing %q:\n%s", p.name, p.waitErr, re, p.out.tail(30))
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%s did not print %q within %s:\n%s", p.name, re, timeout, p.out.tail(30))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// output splits a program's output into lines, keeps the newest maxLines
// of them, and copies everything to a file and an optional echo.
type output struct {
	name string
	file *os.File
	echo io.Writer

	mu      sync.Mutex
	partial []byte
	lines   []string
	// dropped counts the lines no longer kept, so that a position taken
	// before stays meaningful.
	dropped int
}

func (o *output) Write(b []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	_, _ = o.file.Write(b)
	o.partial = append(o.partial, b...)
	for {
		i := bytes.IndexByte(o.partial, '\n')
		if i < 0 {
			break
		}
		o.addLocked(string(o.partial[:i]))
		o.partial = o.partial[i+1:]
	}
	return len(b), nil
}

func (o *output) addLocked(line string) {
	o.lines = append(o.lines, line)
	if len(o.lines) > maxLines {
		n := len(o.lines) - maxLines
		o.lines = append([]string(nil), o.lines[n:]...)
		o.dropped += n
	}
	if o.echo != nil {
		fmt.Fprintf(o.echo, "[%s] %s\n", o.name, line)
	}
}

// flush keeps a last line that had no newline.
func (o *output) flush() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.partial) > 0 {
		o.addLocked(string(o.partial))
		o.partial = nil
	}
}

// mark is the position after the last line so far.
func (o *output) mark() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.dropped + len(o.lines)
}

// since returns the lines from position pos on (those still kept) and
// the position after them.
func (o *output) since(pos int) ([]string, int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	i := max(pos-o.dropped, 0)
	if i > len(o.lines) {
		i = len(o.lines)
	}
	return append([]string(nil), o.lines[i:]...), o.dropped + len(o.lines)
}

// tail is the last n lines, for error messages.
func (o *output) tail(n int) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	var b bytes.Buffer
	for _, l := range o.lines[max(len(o.lines)-n, 0):] {
		b.WriteString("    ")
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return b.String()
}
