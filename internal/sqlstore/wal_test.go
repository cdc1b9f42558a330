package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"modernc.org/sqlite"
)

// walLimit is what the WAL must stay under however hard it is written.
const walLimit = 64 << 20

// BenchmarkWALFlood measures the -wal file under sustained writes: 20,000
// small inserts from several goroutines while others read without pause
// (several times the rate of the flood that grew audit.db-wal to
// 218 MB), with the checkpointer ("kept") and without it ("unkept"). It
// reports the peak size as wal-peak-MB; the target is under 64 MB. A
// measurement, not a test: the peak varies from run to run with how long
// the writers' own automatic checkpoints keep the checkpointer waiting.
//
//	go test -run '^$' -bench WALFlood -benchtime 1x ./internal/sqlstore/
func BenchmarkWALFlood(b *testing.B) {
	for _, c := range []struct {
		name string
		o    sqliteOptions
	}{{"kept", sqliteOptions{fastSync: true}}, {"unkept", sqliteOptions{noWALKeeper: true, fastSync: true}}} {
		b.Run(c.name, func(b *testing.B) {
			var peak int64
			for b.Loop() {
				peak = max(peak, walFlood(b, c.o))
			}
			b.ReportMetric(float64(peak)/(1<<20), "wal-peak-MB")
			b.ReportMetric(float64(walLimit)/(1<<20), "target-MB")
		})
	}
}

// walFlood drives the load against a new store opened with o and
// returns the largest size the -wal file was seen at.
func walFlood(t testing.TB, o sqliteOptions) int64 {
	t.Helper()
	const (
		inserts = 20_000
		writers = 4
		readers = 8
	)
	m := []Migration{{Version: 1, Statements: []string{
		// Like an audit entry: a few indexed columns and a short body.
		`CREATE TABLE entries (id INTEGER PRIMARY KEY, actor TEXT NOT NULL, at TEXT NOT NULL, body TEXT NOT NULL)`,
		`CREATE INDEX entries_actor ON entries (actor, at)`,
		`CREATE INDEX entries_at ON entries (at)`,
	}}}
	path := filepath.Join(t.TempDir(), "flood.db")
	db, err := openSQLite(context.Background(), path, Schema{Name: "flood", VersionTable: "flood_versions", SQLite: m, Postgres: m}, o)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(writers + readers)

	var peak atomic.Int64
	sample := func() {
		if fi, err := os.Stat(path + "-wal"); err == nil && fi.Size() > peak.Load() {
			peak.Store(fi.Size())
		}
	}
	stop := make(chan struct{})
	var watchers sync.WaitGroup
	watchers.Go(func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
				sample()
			}
		}
	})
	var reads atomic.Int64
	for r := range readers {
		watchers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				var n int
				err := db.QueryRow(`SELECT COUNT(*) FROM (SELECT id FROM entries WHERE actor = ? ORDER BY at DESC LIMIT 50)`,
					fmt.Sprint("actor-", r)).Scan(&n)
				if err != nil {
					t.Errorf("read: %v", err)
					return
				}
				reads.Add(1)
				runtime.Gosched()
			}
		})
	}

	start := time.Now()
	body := strings.Repeat("x", 200)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range inserts / writers {
				_, err := db.Exec(`INSERT INTO entries (actor, at, body) VALUES (?, ?, ?)`,
					fmt.Sprint("actor-", (w*inserts+i)%readers), SQLite.Time(time.Now()), body)
				if err != nil {
					t.Errorf("insert: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	watchers.Wait()
	sample()
	t.Logf("checkpointer %v: %d inserts and %d reads in %v", !o.noWALKeeper, inserts, reads.Load(), time.Since(start).Round(time.Millisecond))
	return peak.Load()
}

// TestWALKeeperStopsWithTheStore: closing the store's *sql.DB closes
// its connector, and closing the checkpointer ends its goroutine, so
// that a closed store leaves nothing running.
func TestWALKeeperStopsWithTheStore(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "x.db")
	k, err := startWALKeeper("x", path, walCheckpointAbove, sqliteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := sqlite.NewConnector(sqliteDSN(path, sqliteBusyWait, sqliteOptions{}))
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(closingConnector{Connector: c, close: k.close})
	if err := db.Ping(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-k.done:
	default:
		t.Error("the checkpointer still runs after the store's Close")
	}
	if err := k.close(); err != nil {
		t.Errorf("second close: %v", err)
	}
}
