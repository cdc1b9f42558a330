package index_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"backoffice/internal/exports"
	"backoffice/internal/index"
)

// exportBenchRows is the size of the view BenchmarkExport exports.
const exportBenchRows = 200_000

// BenchmarkExport exports a 200,000-row view (every row of a tenant,
// sorted by premium) as CSV and XLSX, straight from the SQLite index,
// to a file discarded as written ("discard") and into the export job
// store in chunks ("store"), as a job does. It reports rows/s and the
// peak growth of the process's resident memory and of the Go heap over
// the run:
//
//	go test -run '^$' -bench BenchmarkExport -benchtime 1x ./internal/index/
func BenchmarkExport(b *testing.B) {
	bctx := context.Background()
	s := mustOpen(b, index.Config{Path: filepath.Join(b.TempDir(), "index.db")})
	tenant := "kasko:export:live"
	batches := func(yield func([]index.Row) bool) {
		rows := make([]index.Row, 0, benchBatch)
		for i := range exportBenchRows {
			rows = append(rows, benchRow(tenant, i))
			if len(rows) == benchBatch || i == exportBenchRows-1 {
				if !yield(rows) {
					return
				}
				rows = rows[:0]
			}
		}
	}
	if err := index.BulkLoad(bctx, s, batches); err != nil {
		b.Fatal(err)
	}
	exporter := s.(index.Exporter)
	q := index.Query{Tenant: tenant, Sort: "-" + index.SortPremium}
	cols, _ := exports.ParseColumns("", false)
	o := exports.Options{Columns: cols, Headers: exports.IDs(cols)}
	jobs, err := exports.Open(bctx, exports.Config{Path: filepath.Join(b.TempDir(), "exports.db"),
		Limits: exports.Limits{JobsPerTenant: 1000, BytesPerTenant: 1 << 40, BytesPerJob: 1 << 32, TTL: time.Hour}})
	if err != nil {
		b.Fatal(err)
	}
	defer jobs.Close()
	for _, f := range []exports.Format{exports.CSV, exports.XLSX} {
		for _, sink := range []string{"discard", "store"} {
			b.Run(fmt.Sprintf("%s/%s", f, sink), func(b *testing.B) {
				var peak memPeak
				peak.start()
				began := time.Now()
				var n, size int64
				for i := 0; b.Loop(); i++ {
					var w io.Writer
					var fw *exports.FileWriter
					var id string
					var cw countingWriter
					if sink == "store" {
						j, err := jobs.Create(bctx, exports.Job{Tenant: "t", Owner: fmt.Sprintf("bench-%s-%d", f, i), Format: f, Filename: "x"})
						if err != nil {
							b.Fatal(err)
						}
						fw, id = jobs.NewFileWriter(bctx, j.ID), j.ID
						w = fw
					} else {
						w = &cw
					}
					enc, err := exports.NewEncoder(f, w, o)
					if err != nil {
						b.Fatal(err)
					}
					rows := 0
					if err := exporter.Export(bctx, q, func(r index.Row) error { rows++; return enc.Row(&r) }); err != nil {
						b.Fatal(err)
					}
					if err := enc.Close(); err != nil {
						b.Fatal(err)
					}
					if fw != nil {
						if err := fw.Close(); err != nil {
							b.Fatal(err)
						}
						size = fw.Size()
						if err := jobs.Finish(bctx, id, rows, size); err != nil {
							b.Fatal(err)
						}
					} else {
						size = cw.n
					}
					if rows != exportBenchRows {
						b.Fatalf("exported %d rows, want %d", rows, exportBenchRows)
					}
					n += int64(rows)
				}
				elapsed := time.Since(began)
				rss, heap := peak.stop()
				b.ReportMetric(float64(n)/elapsed.Seconds(), "rows/s")
				b.ReportMetric(float64(rss)/(1<<20), "peak-rss-growth-MB")
				b.ReportMetric(float64(heap)/(1<<20), "peak-heap-growth-MB")
				b.ReportMetric(float64(size)/(1<<20), "file-MB")
			})
		}
	}
}

type countingWriter struct{ n int64 }

func (w *countingWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

// memPeak samples the resident set size and the live heap every 10 ms
// and keeps their highest growth over the values at start.
type memPeak struct {
	stopCh                chan struct{}
	wg                    sync.WaitGroup
	rss0, heap0           int64
	rssPeak, heapPeak     int64
	mu                    sync.Mutex
	samples               []metrics.Sample
	sampleRSS, sampleHeap func() int64
}

func (m *memPeak) start() {
	runtime.GC()
	m.samples = []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	m.sampleHeap = func() int64 {
		metrics.Read(m.samples)
		return int64(m.samples[0].Value.Uint64())
	}
	m.sampleRSS = rss
	m.rss0, m.heap0 = m.sampleRSS(), m.sampleHeap()
	m.stopCh = make(chan struct{})
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			m.mu.Lock()
			m.rssPeak = max(m.rssPeak, m.sampleRSS()-m.rss0)
			m.heapPeak = max(m.heapPeak, m.sampleHeap()-m.heap0)
			m.mu.Unlock()
			select {
			case <-m.stopCh:
				return
			case <-t.C:
			}
		}
	}()
}

func (m *memPeak) stop() (rss, heap int64) {
	close(m.stopCh)
	m.wg.Wait()
	return m.rssPeak, m.heapPeak
}

// rss is the process's resident set size (Linux; 0 elsewhere).
func rss() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}
