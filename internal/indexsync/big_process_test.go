package indexsync

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"backoffice/apiclient"
	kasko "backoffice/apiclient/kasko"
	"backoffice/internal/index"
	"backoffice/internal/sandbox"
)

// TestSync200kSeparateProcess is the realistic measurement of a full
// sync: the sandbox runs as its own process (cmd/sandbox), so that the
// memory measured here is the syncing process's alone, and the rows go
// into a real SQLite index, as in production. It reports the time, the
// upstream requests, this process's RSS (start, peak, growth) and the
// index file size. Slow, so it runs only when asked for:
//
//	INDEXSYNC_BIG=1 go test -run TestSync200kSeparateProcess -v -timeout 30m ./internal/indexsync/
//
// INDEXSYNC_BIG_RATE sets Config.Rate (requests per second; default: the
// production default, DefaultRate; "max" for no limit to speak of);
// INDEXSYNC_BIG_POLICIES the sandbox size (default 200000);
// INDEXSYNC_BIG_HEAPPROFILE a file for a heap profile taken at the
// highest Go heap seen during the sync (go tool pprof -sample_index=inuse_space).
func TestSync200kSeparateProcess(t *testing.T) {
	if os.Getenv("INDEXSYNC_BIG") != "1" {
		t.Skip("set INDEXSYNC_BIG=1 to sync a 200,000-policy sandbox running in another process")
	}
	if runtime.GOOS != "linux" {
		t.Skip("RSS is read from /proc/self/status")
	}
	n := 200_000
	if v := os.Getenv("INDEXSYNC_BIG_POLICIES"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			t.Fatalf("INDEXSYNC_BIG_POLICIES: %v", err)
		}
	}
	rate := 0.0 // New applies DefaultRate
	switch v := os.Getenv("INDEXSYNC_BIG_RATE"); v {
	case "":
	case "max":
		rate = 1e6
	default:
		var err error
		if rate, err = strconv.ParseFloat(v, 64); err != nil {
			t.Fatalf("INDEXSYNC_BIG_RATE: %v", err)
		}
	}

	kaskoURL := startSandboxProcess(t, n)
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "index.db")
	ctx := context.Background()
	store, err := index.Open(ctx, index.Config{Path: dbPath})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })

	rt := &countingRT{base: apiclient.NewTransport()}
	client, err := kasko.New(kaskoURL, kasko.WithHTTPClient(&http.Client{Transport: rt}))
	if err != nil {
		t.Fatal(err)
	}
	tenants := []string{tenantATest, tenantALive, tenantBTest}
	cfg := Config{
		Store: store, Client: client, Rate: rate,
		Keys: []string{sandbox.KeyASecretTest, sandbox.KeyASecretLive, sandbox.KeyBSecretTest},
		Log:  testLogger(t),
	}

	runtime.GC()
	base := readMem()
	var (
		mu       sync.Mutex
		peak     = base
		peakHeap uint64
		samples  int
	)
	profile := os.Getenv("INDEXSYNC_BIG_HEAPPROFILE")
	done := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			m := readMem()
			mu.Lock()
			samples++
			peak = peak.max(m)
			newHeapPeak := m.goHeap > peakHeap
			peakHeap = max(peakHeap, m.goHeap)
			mu.Unlock()
			if newHeapPeak && profile != "" {
				writeHeapProfile(t, profile)
			}
		}
	}()

	began := time.Now()
	_, stop := start(t, cfg)
	for _, tenant := range tenants {
		waitFor(t, 30*time.Minute, "full sync of "+tenant, func() bool {
			st, err := store.SyncState(ctx, tenant)
			return err == nil && !st.FullDone.IsZero() && !st.Full
		})
	}
	took := time.Since(began)
	close(done)
	<-sampled
	stop()

	total := 0
	for _, tenant := range tenants {
		st, err := store.SyncState(ctx, tenant)
		if err != nil {
			t.Fatal(err)
		}
		total += st.Done
		if st.Error != "" {
			t.Errorf("%s: last sync error %q", tenant, st.Error)
		}
	}
	if total != n {
		t.Errorf("synced %d rows, the sandbox has %d", total, n)
	}
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())

	mu.Lock()
	defer mu.Unlock()
	rateText := "default " + strconv.FormatFloat(DefaultRate, 'f', -1, 64) + "/s"
	if rate > 0 {
		rateText = strconv.FormatFloat(rate, 'g', -1, 64) + "/s"
	}
	t.Logf("synced %d rows in %v (%.0f rows/s, rate %s, CPU %v, GOMAXPROCS %d)",
		total, took.Round(time.Millisecond), float64(total)/took.Seconds(), rateText, cpu.Round(time.Millisecond), runtime.GOMAXPROCS(0))
	t.Logf("upstream requests: %d full-sync pages, %d resolve, %d head polls",
		rt.count("created_at"), rt.count(""), rt.count("-created_at"))
	t.Logf("RSS: start %.1f MiB, peak %.1f MiB (kernel high-water mark %.1f MiB), growth %.1f MiB; %d samples every 100 ms",
		mib(base.rss), mib(peak.rss), mib(uint64(ru.Maxrss)<<10), mib(peak.rss-min(peak.rss, base.rss)), samples)
	t.Logf("  peak anonymous %.1f MiB (start %.1f), peak file-backed %.1f MiB (start %.1f; the index's memory map counts here)",
		mib(peak.anon), mib(base.anon), mib(peak.file), mib(base.file))
	t.Logf("  Go runtime: peak heap in use %.1f MiB (start %.1f), peak memory mapped by Go %.1f MiB (start %.1f), GOGC %s, memory limit %s",
		mib(peak.goHeap), mib(base.goHeap), mib(peak.goTotal), mib(base.goTotal), envOr("GOGC", "100"), envOr("GOMEMLIMIT", "none"))
	t.Logf("index files: %s", indexFileSizes(dbPath))
}

// startSandboxProcess builds cmd/sandbox and runs it on a loopback port
// of its choosing with n policies; it returns the KASKO base URL. The
// process is ended (by its pid) when the test ends.
func startSandboxProcess(t *testing.T, n int) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "sandbox")
	build := exec.Command("go", "build", "-o", bin, "backoffice/cmd/sandbox")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		t.Fatalf("build cmd/sandbox: %v", err)
	}
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "SANDBOX_ADDR=127.0.0.1:0", "SANDBOX_POLICIES="+strconv.Itoa(n))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	t.Cleanup(func() {
		// SIGINT is the sandbox's graceful shutdown; SIGKILL if it hangs.
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	lines := make(chan string, 1)
	go func() {
		defer close(exited)
		sc := bufio.NewScanner(out)
		first := true
		for sc.Scan() {
			if first {
				lines <- sc.Text()
				first = false
			}
		}
		close(lines)
		_ = cmd.Wait()
	}()
	var line string
	select {
	case l, ok := <-lines:
		if !ok {
			t.Fatal("the sandbox exited before it listened")
		}
		line = l
	case <-time.After(5 * time.Minute):
		t.Fatal("the sandbox did not listen within 5 minutes")
	}
	// "sandbox listening on http://127.0.0.1:port": the line comes once
	// the socket listens and the policies are generated.
	base, ok := strings.CutPrefix(line, "sandbox listening on ")
	if !ok {
		t.Fatalf("unexpected first line from the sandbox: %q", line)
	}
	t.Logf("sandbox (pid %d) with %d policies listening on %s after %v", cmd.Process.Pid, n, base, time.Since(began).Round(time.Millisecond))
	return base + sandbox.KaskoPrefix
}

// memSample is one reading of this process's memory.
type memSample struct {
	rss, anon, file uint64 // VmRSS, RssAnon, RssFile
	goHeap, goTotal uint64 // heap objects and spans in use; all memory the Go runtime mapped
}

func (a memSample) max(b memSample) memSample {
	return memSample{max(a.rss, b.rss), max(a.anon, b.anon), max(a.file, b.file), max(a.goHeap, b.goHeap), max(a.goTotal, b.goTotal)}
}

func readMem() memSample {
	var m memSample
	if f, err := os.Open("/proc/self/status"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			name, rest, ok := strings.Cut(sc.Text(), ":")
			if !ok {
				continue
			}
			kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			switch name {
			case "VmRSS":
				m.rss = kb << 10
			case "RssAnon":
				m.anon = kb << 10
			case "RssFile":
				m.file = kb << 10
			}
		}
		f.Close()
	}
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/total:bytes"}}
	metrics.Read(s)
	m.goHeap, m.goTotal = s[0].Value.Uint64(), s[1].Value.Uint64()
	return m
}

func writeHeapProfile(t *testing.T, path string) {
	f, err := os.Create(path)
	if err != nil {
		t.Error(err)
		return
	}
	defer f.Close()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		t.Error(err)
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func indexFileSizes(db string) string {
	var parts []string
	var sum int64
	for _, suffix := range []string{"", "-wal", "-shm"} {
		fi, err := os.Stat(db + suffix)
		if err != nil {
			continue
		}
		sum += fi.Size()
		parts = append(parts, fmt.Sprintf("%s %.1f MiB", filepath.Base(db+suffix), float64(fi.Size())/(1<<20)))
	}
	return fmt.Sprintf("%s (total %.1f MiB)", strings.Join(parts, ", "), float64(sum)/(1<<20))
}
