package throttle_test

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"backoffice/internal/audit/pgtest"
	"backoffice/internal/redistest"
	"backoffice/internal/sqlstore"
	"backoffice/internal/throttle"
)

func TestRedis(t *testing.T) {
	url := redistest.Start(t)
	n := 0
	testContract(t, func(t *testing.T, clk *clock) (throttle.Limiter, throttle.Limiter) {
		// A prefix per subtest: they share the server.
		n++
		cfg := throttle.RedisConfig{URL: url, Prefix: "test" + strings.Repeat("x", n)}
		return openRedis(t, cfg, clk), openRedis(t, cfg, clk)
	})
}

func openRedis(t *testing.T, cfg throttle.RedisConfig, clk *clock) *throttle.Counting {
	t.Helper()
	l, err := throttle.OpenRedis(context.Background(), cfg, throttle.DefaultLimits, throttle.WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func TestPostgres(t *testing.T) {
	srv := pgtest.Start(t)
	testContract(t, func(t *testing.T, clk *clock) (throttle.Limiter, throttle.Limiter) {
		cfg := sqlstore.Config{DatabaseURL: srv.NewDatabase(t), URLSetting: "AUDIT_DATABASE_URL"}
		// The second instance finds the table the first one made.
		return openSQL(t, cfg, clk), openSQL(t, cfg, clk)
	})
}

// TestSQLite runs the same queries on SQLite, as a check of the SQL
// counter that needs no server.
func TestSQLite(t *testing.T) {
	testContract(t, func(t *testing.T, clk *clock) (throttle.Limiter, throttle.Limiter) {
		cfg := sqlstore.Config{Path: filepath.Join(t.TempDir(), "throttle.db")}
		return openSQL(t, cfg, clk), openSQL(t, cfg, clk)
	})
}

func openSQL(t *testing.T, cfg sqlstore.Config, clk *clock) *throttle.Counting {
	t.Helper()
	l, err := throttle.OpenSQL(context.Background(), cfg, throttle.DefaultLimits, throttle.WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// TestStoreFailureFailsOpen: a database gone lets every attempt through,
// and says so in the log, instead of locking everyone out.
func TestStoreFailureFailsOpen(t *testing.T) {
	clk := newClock()
	l := openSQL(t, sqlstore.Config{Path: filepath.Join(t.TempDir(), "throttle.db")}, clk)
	key := throttle.AccountKey(throttle.Kasko, "k")
	fail(t, l, 5, key)
	l.Close()
	ok, _, err := l.Allowed(ctx, key)
	if !ok || err == nil {
		t.Fatalf("Allowed on a closed store = %v, %v; want true with the error", ok, err)
	}

	var logs bytes.Buffer
	g := throttle.NewGuard(throttle.GuardConfig{Limiter: l, Log: slog.New(slog.NewTextHandler(&logs, nil))})
	a, err := g.Begin(newRequest("203.0.113.1:1"), throttle.Kasko, "k")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Done()
	if ok, _ := a.Allowed(); !ok {
		t.Error("the guard refused on a store failure, want the attempt let through")
	}
	a.Rejected()
	if !strings.Contains(logs.String(), "level=ERROR") || strings.Count(logs.String(), "sign-in throttle unavailable") != 2 {
		t.Errorf("log = %q, want two errors", logs.String())
	}
}

// TestRedisDownFallsBack: with Redis gone, counting goes on in the
// instance's memory (httprate-redis's fallback), so the throttle still
// holds on one instance.
func TestRedisDownFallsBack(t *testing.T) {
	url := redistest.Start(t)
	clk := newClock()
	var logs bytes.Buffer
	l := openRedis(t, throttle.RedisConfig{URL: url, Log: slog.New(slog.NewTextHandler(&logs, nil))}, clk)
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	admin := redis.NewClient(opts)
	defer admin.Close()
	// SHUTDOWN stops the server the test started; its connection drops.
	_ = admin.Shutdown(context.Background()).Err()
	time.Sleep(50 * time.Millisecond)
	key := throttle.AccountKey(throttle.Casco, "someone")
	fail(t, l, 5, key)
	if ok, _ := allowed(t, l, key); ok {
		t.Error("allowed after 5 failures counted in the fallback, want refused")
	}
	if !strings.Contains(logs.String(), "counting in this instance's memory") {
		t.Errorf("log = %q, want the fallback reported", logs.String())
	}
}
