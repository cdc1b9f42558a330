package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"sync"
	"time"

	"modernc.org/sqlite"
)

// SQLite's own checkpoints (wal_autocheckpoint, PASSIVE, after a commit)
// copy the WAL back into the database but never restart it while a
// reader still holds a snapshot in it, and the writer only wraps around
// to the WAL's start once no reader does. Under sustained writes with
// overlapping reads that moment never comes: a flood of refused POSTs
// grew audit.db-wal to 218 MB beside a 0.9 MB audit.db. So every SQLite
// store runs a checkpointer of its own (walKeeper) that, once the WAL
// passes walCheckpointAbove, asks for a TRUNCATE checkpoint: it holds
// off new writers until the readers in the WAL are done, which takes the
// few milliseconds a read takes, and then empties the file.
const (
	// walCheckEvery is how often the WAL's size is looked at: a stat, so
	// cheap enough to do often, and often enough that even the flood
	// above (about 14 MB/s) stays far below 64 MB between two looks.
	walCheckEvery = 100 * time.Millisecond
	// walCheckpointAbove leaves a small WAL to SQLite's own checkpoints,
	// so that an ordinary day's writes never wait for this one.
	walCheckpointAbove = 4 << 20
	// walCheckpointBusy is the checkpointer's busy_timeout: how long one
	// checkpoint may wait for the write lock and for readers. A store
	// never waits on it for longer; a checkpoint that gives up is logged
	// and tried again at the next look.
	walCheckpointBusy = 2 * time.Second
	// walSizeLimit is journal_size_limit: when SQLite restarts the WAL on
	// its own, it cuts the file back to this size rather than keeping the
	// largest it ever grew to.
	walSizeLimit = 16 << 20
	// walLogEvery bounds the checkpointer's failure reports: a store that
	// stays too busy to checkpoint reports once a minute, not per look.
	walLogEvery = time.Minute
)

// sqliteOptions are what tests may change in how a SQLite store opens.
type sqliteOptions struct {
	// noWALKeeper opens the store as builds before walKeeper did (no
	// checkpointer, no journal_size_limit), to measure what it changes.
	noWALKeeper bool
	// fastSync is synchronous(NORMAL): the load tests drive thousands of
	// commits, which at one fsync each would measure the disk instead.
	fastSync bool
	// pragmas are the store's own (Schema.SQLitePragmas).
	pragmas []string
}

// sqliteDSN is the DSN of the store's connections; busy is their
// busy_timeout.
func sqliteDSN(path string, busy time.Duration, o sqliteOptions) string {
	sync := "FULL"
	if o.fastSync {
		sync = "NORMAL"
	}
	dsn := "file:" + path + "?_pragma=busy_timeout(" + fmt.Sprint(busy.Milliseconds()) + ")" +
		"&_pragma=journal_mode(WAL)&_pragma=synchronous(" + sync + ")&_pragma=foreign_keys(1)&_txlock=immediate"
	if !o.noWALKeeper {
		dsn += "&_pragma=journal_size_limit(" + fmt.Sprint(walSizeLimit) + ")"
	}
	for _, p := range o.pragmas {
		dsn += "&_pragma=" + url.QueryEscape(p)
	}
	return dsn
}

// closingConnector is the store's connector: sql.DB.Close closes it, and
// with it the store's checkpointer, so that the stores' Close (a plain
// db.Close) stops the goroutine without any change to their APIs.
type closingConnector struct {
	driver.Connector
	close func() error
}

// Close implements io.Closer; database/sql calls it from DB.Close.
func (c closingConnector) Close() error { return c.close() }

// walKeeper is a SQLite store's checkpointer (see walCheckEvery). It has
// its own connection, with its own short busy_timeout, so that it never
// takes one of the store's and never waits as long as they may.
type walKeeper struct {
	name string // the store's, for the log
	wal  string // the -wal file
	// above is the WAL size that calls for a checkpoint.
	above int64
	db    *sql.DB
	log   *slog.Logger

	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once

	// failures counts the checkpoints that did not complete since the
	// last report, lastReport is when that was.
	failures   int
	lastReport time.Time
}

// startWALKeeper starts the checkpointer of the SQLite file at path.
func startWALKeeper(name, path string, above int64, o sqliteOptions) (*walKeeper, error) {
	c, err := sqlite.NewConnector(sqliteDSN(path, walCheckpointBusy, o))
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(c)
	db.SetMaxOpenConns(1)
	k := &walKeeper{name: name, wal: path + "-wal", above: above, db: db, log: slog.Default(),
		stop: make(chan struct{}), done: make(chan struct{})}
	go k.run()
	return k, nil
}

// run checkpoints until close; it is the goroutine the store owns.
func (k *walKeeper) run() {
	defer close(k.done)
	tick := time.NewTicker(walCheckEvery)
	defer tick.Stop()
	for {
		select {
		case <-k.stop:
			return
		case <-tick.C:
		}
		if fi, err := os.Stat(k.wal); err != nil || fi.Size() <= k.above {
			continue
		}
		k.report(k.checkpoint())
	}
}

// errCheckpointBusy: the checkpoint gave up waiting for the write lock
// or for readers within walCheckpointBusy.
var errCheckpointBusy = errors.New("readers or a writer held the WAL past the busy timeout")

// checkpoint runs a TRUNCATE checkpoint, trying again for up to
// walCheckpointBusy while it is refused. SQLite answers busy at once,
// without its busy handler, while another connection checkpoints, and
// under the load this is for, every commit runs an automatic (PASSIVE)
// checkpoint that holds that lock for a moment.
func (k *walKeeper) checkpoint() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*walCheckpointBusy)
	defer cancel()
	go func() {
		// Close must not wait out a checkpoint that is waiting for readers.
		select {
		case <-k.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	deadline := time.Now().Add(walCheckpointBusy)
	for wait := 100 * time.Microsecond; ; wait = min(2*wait, 500*time.Microsecond) {
		var busy, logFrames, checkpointed int
		if err := k.db.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logFrames, &checkpointed); err != nil {
			return err
		}
		if busy == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return errCheckpointBusy
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

// report logs failed checkpoints, at most once per walLogEvery.
func (k *walKeeper) report(err error) {
	if err == nil {
		return
	}
	k.failures++
	if now := time.Now(); now.Sub(k.lastReport) >= walLogEvery {
		size := int64(-1)
		if fi, statErr := os.Stat(k.wal); statErr == nil {
			size = fi.Size()
		}
		k.log.Warn("SQLite WAL checkpoint did not complete", "store", k.name, "wal_bytes", size,
			"failures", k.failures, "err", err)
		k.failures, k.lastReport = 0, now
	}
}

// close stops the goroutine and closes the checkpointer's connection;
// it may be called more than once.
func (k *walKeeper) close() error {
	var err error
	k.stopOnce.Do(func() {
		close(k.stop)
		<-k.done
		err = k.db.Close()
	})
	return err
}
