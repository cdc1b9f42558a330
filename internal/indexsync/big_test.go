package indexsync

import (
	"bufio"
	"net/http"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"backoffice/internal/sandbox"
)

// TestSync200k syncs a 200,000-policy sandbox and reports the time, the
// upstream requests and how much the heap and RSS grew while it ran. It
// is slow, so it runs only when asked for:
//
//	INDEXSYNC_BIG=1 go test -run TestSync200k -v ./internal/indexsync/
//
// The store drops the rows (a memory store holding 200,000 rows would
// measure itself): what is measured is the syncer, the client and the
// in-process sandbox serving it.
func TestSync200k(t *testing.T) {
	if os.Getenv("INDEXSYNC_BIG") != "1" {
		t.Skip("set INDEXSYNC_BIG=1 to sync a 200,000-policy sandbox")
	}
	const n = 200_000
	began := time.Now()
	// The sandbox's own clock: a ticking one would defeat its encoding cache.
	e := newEnvWith(t, sandbox.Options{Policies: n})
	e.store.discard = true
	t.Logf("sandbox of %d policies built in %v", n, time.Since(began).Round(time.Millisecond))

	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	baseHeap, baseLive, baseRSS := ms.HeapAlloc, liveHeap(), rssBytes()
	var (
		mu                          sync.Mutex
		peakHeap, peakLive, peakRSS uint64
		// liveAt is the live heap when a quarter, half, … of the rows
		// were synced: flat once the sandbox's cache is full means
		// nothing grows with the upstream.
		liveAt [4]uint64
	)
	tenants := []string{tenantATest, tenantALive, tenantBTest}
	done := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			rss, live := rssBytes(), liveHeap()
			done := 0
			for _, tenant := range tenants {
				done += e.store.state(tenant).Done
			}
			mu.Lock()
			if q := done * 4 / n; q >= 1 && q <= 4 && liveAt[q-1] == 0 {
				liveAt[q-1] = live
			}
			peakHeap, peakLive, peakRSS = max(peakHeap, ms.HeapAlloc), max(peakLive, live), max(peakRSS, rss)
			mu.Unlock()
		}
	}()

	rt := &countingRT{base: http.DefaultTransport}
	cfg := e.fastConfig(t, rt, sandbox.KeyASecretTest, sandbox.KeyASecretLive, sandbox.KeyBSecretTest)
	cfg.Rate = 1e6
	began = time.Now()
	start(t, cfg)
	for _, tenant := range tenants {
		e.waitSyncedWithin(t, 15*time.Minute, tenant)
	}
	took := time.Since(began)
	close(done)
	<-sampled

	total := 0
	for _, tenant := range tenants {
		total += e.store.state(tenant).Done
	}
	if total != n {
		t.Errorf("synced %d rows, the sandbox has %d", total, n)
	}
	mu.Lock()
	defer mu.Unlock()
	t.Logf("synced %d rows in %v (%.0f rows/s)", total, took.Round(time.Millisecond), float64(total)/took.Seconds())
	t.Logf("upstream requests: %d full-sync pages, %d resolve, %d head polls", rt.count("created_at"), rt.count(""), rt.count("-created_at"))
	t.Logf("peak growth over the base: live heap %.1f MiB (base %.1f), heap incl. garbage %.1f MiB (base %.1f), RSS %.1f MiB (base %.1f)",
		mib(peakLive-min(peakLive, baseLive)), mib(baseLive), mib(peakHeap-min(peakHeap, baseHeap)), mib(baseHeap),
		mib(peakRSS-min(peakRSS, baseRSS)), mib(baseRSS))
	t.Logf("live heap at 25/50/75/100%% of the rows: %.1f / %.1f / %.1f / %.1f MiB",
		mib(liveAt[0]), mib(liveAt[1]), mib(liveAt[2]), mib(liveAt[3]))
	runtime.GC()
	runtime.ReadMemStats(&ms)
	t.Logf("heap after the sync and a GC: %.1f MiB (%+.1f MiB over the base; the sandbox keeps its last %d encodings)",
		mib(ms.HeapAlloc), mib(ms.HeapAlloc)-mib(baseHeap), 16384)
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

// liveHeap is the heap the last GC found live: unlike HeapAlloc it does
// not count garbage waiting for the next GC.
func liveHeap() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

// rssBytes is the process's resident set (Linux), 0 elsewhere.
func rssBytes() uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
