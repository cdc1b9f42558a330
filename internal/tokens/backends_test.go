package tokens_test

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/redis/go-redis/v9"
	_ "modernc.org/sqlite"

	"backoffice/internal/audit"
	"backoffice/internal/tokens"
)

// testBoundAtScale: a client opening forms in a loop leaves its owner
// with perOwner records, not one per form.
func testBoundAtScale(t *testing.T, s tokens.Store, creates int) {
	exp := time.Now().Add(time.Hour)
	for i := range creates {
		if err := s.Create(ctx, record(fmt.Sprintf("tok-%05d", i), "looping-session", "cancel", "P", exp), 20); err != nil {
			t.Fatalf("Create %d: %v", i, err)
		}
	}
	records, listed, err := tokens.Stored(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if records != 20 {
		t.Errorf("%d records stored, want 20", records)
	}
	if _, ok := s.(*tokens.Memory); ok && listed != 20 {
		t.Errorf("%d entries in the owner lists, want 20", listed)
	}
	wantFind(t, s, "looping-session", "cancel", "P", fmt.Sprintf("tok-%05d", creates-1))
	mustGet(t, s, fmt.Sprintf("tok-%05d", creates-20))
}

// TestPrune: expired records of owners that never come back go at the
// next prune, and a prune runs at most once a minute.
func TestPrune(t *testing.T) {
	t.Parallel()
	for name, open := range map[string]func(t *testing.T) tokens.Store{
		"memory": func(*testing.T) tokens.Store { return tokens.NewMemory() },
		"sqlite": func(t *testing.T) tokens.Store {
			return mustOpen(t, tokens.Config{Path: filepath.Join(t.TempDir(), "tokens.db")})
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(open(t))
			stored := func(want int) {
				t.Helper()
				n, _, err := tokens.Stored(ctx, e.s)
				if err != nil || n != want {
					t.Errorf("%d records stored (%v), want %d", n, err, want)
				}
			}
			for i := range 10 {
				mustCreate(t, e.s, record(fmt.Sprintf("gone-%d", i), fmt.Sprintf("sess-%d", i), "cancel", "P", e.now().Add(30*time.Second)), 10)
			}
			if won, err := e.s.ClaimNew(ctx, record("renewal", "", "casco-renewal", "", e.now().Add(30*time.Second))); err != nil || !won {
				t.Fatalf("ClaimNew = %v, %v", won, err)
			}
			e.advance(45 * time.Second)
			mustCreate(t, e.s, record("early", "sess-x", "cancel", "P", e.now().Add(time.Hour)), 10)
			stored(12) // the last prune ran 45s ago, at the first Create
			e.advance(30 * time.Second)
			mustCreate(t, e.s, record("kept", "sess-y", "cancel", "P", e.now().Add(time.Hour)), 10)
			stored(2)
			if _, listed, _ := tokens.Stored(ctx, e.s); name == "memory" && listed != 2 {
				t.Errorf("%d owner list entries, want 2", listed)
			}
		})
	}
}

// TestSQLiteFiles: the database and the files beside it are the
// user's alone, as DATA_DIR's other stores are.
func TestSQLiteFiles(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	path := filepath.Join(dir, "tokens.db")
	s := mustOpen(t, tokens.Config{Path: path})
	mustCreate(t, s, record("form", "sess-1", "cancel", "P", time.Now().Add(time.Hour)), 10)
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("data folder: %v, %v; want 0700", fi.Mode(), err)
	}
	for _, name := range []string{"tokens.db", "tokens.db-wal", "tokens.db-shm"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", name, fi.Mode().Perm())
		}
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got := names(t, db, `SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'tokens_records' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
	if want := []string{"tokens_records_expires", "tokens_records_find", "tokens_records_owner"}; !slices.Equal(got, want) {
		t.Errorf("indexes %v, want %v", got, want)
	}
	plan := strings.Join(names(t, db, `EXPLAIN QUERY PLAN SELECT key FROM tokens_records WHERE owner = 'o' AND kind = 'k' AND subject = 's'
		AND claimed_at IS NULL AND expires_at > '2026' ORDER BY created_at DESC LIMIT 1`, 3), " ")
	if !strings.Contains(plan, "tokens_records_find") {
		t.Errorf("Find's query does not use its index: %s", plan)
	}
}

// TestSQLiteFilesLeftReadable: a database whose -wal and -shm an older
// build left readable by others (they outlive the open that made them
// while any connection holds the file) is made private by Open.
func TestSQLiteFilesLeftReadable(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "tokens.db")
	old, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	if _, err := old.Exec(`CREATE TABLE older (x INTEGER)`); err != nil {
		t.Fatal(err)
	}
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Chmod(path+suffix, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mustOpen(t, tokens.Config{Path: path})
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if fi, err := os.Stat(path + suffix); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("tokens.db%s: %v, %v; want mode 0600", suffix, fi.Mode(), err)
		}
	}
}

// names reads the column col (0-based) of every row of q as text.
func names(t *testing.T, db *sql.DB, q string, col ...int) []string {
	t.Helper()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		c := 0
		if len(col) > 0 {
			c = col[0]
		}
		out = append(out, fmt.Sprint(vals[c]))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// testBesideAudit: the tokens table migrates in the audit log's
// database with its own version table, and both stores work there.
func testBesideAudit(t *testing.T, url string) {
	log, err := audit.Open(ctx, audit.Config{DatabaseURL: url})
	if err != nil {
		t.Fatalf("audit.Open: %v", err)
	}
	defer log.Close()
	s := mustOpen(t, tokens.Config{DatabaseURL: url})
	mustCreate(t, s, record("form", "sess-1", "cancel", "P", time.Now().Add(time.Hour)), 10)
	if _, err := log.Append(ctx, audit.Entry{At: time.Now(), Action: audit.ActionCancel, Actor: "sk_test_…4f2a", Mode: "test", PolicyID: "P1", Outcome: audit.OutcomeAccepted}); err != nil {
		t.Errorf("audit Append beside the tokens table: %v", err)
	}
	// A second Open finds the schema current.
	mustOpen(t, tokens.Config{DatabaseURL: url})

	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	db := stdlib.OpenDB(*cfg)
	defer db.Close()
	if got := names(t, db, `SELECT version FROM tokens_schema_migrations`); !slices.Equal(got, []string{"1"}) {
		t.Errorf("tokens versions %v, want [1]", got)
	}
	if got := names(t, db, `SELECT COUNT(*) FROM audit_schema_migrations`); len(got) != 1 || got[0] == "0" {
		t.Errorf("audit versions: %v", got)
	}
	got := names(t, db, `SELECT indexname FROM pg_indexes WHERE tablename = 'tokens_records' AND indexname <> 'tokens_records_pkey' ORDER BY indexname`)
	if want := []string{"tokens_records_expires", "tokens_records_find", "tokens_records_owner"}; !slices.Equal(got, want) {
		t.Errorf("indexes %v, want %v", got, want)
	}
}

// testRedisKeys: every key is under the namespace and expires.
func testRedisKeys(t *testing.T, url string) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opts)
	defer c.Close()

	ns := newNamespace()
	s := tokens.NewRedis(c, ns)
	mustCreate(t, s, record("form", "sess-1", "cancel", "P", time.Now().Add(time.Hour)), 10)
	if won, err := s.ClaimNew(ctx, record("hash", "", "casco-renewal", "", time.Now().Add(time.Hour))); err != nil || !won {
		t.Fatalf("ClaimNew = %v, %v", won, err)
	}
	keys, err := c.Keys(ctx, ns+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(keys)
	want := []string{ns + "o:", ns + "o:sess-1", ns + "r:form", ns + "r:hash", ns + "x:", ns + "x:sess-1"}
	if !slices.Equal(keys, want) {
		t.Errorf("keys %q, want %q", keys, want)
	}
	ttls := func(max time.Duration) {
		t.Helper()
		for _, k := range keys {
			ttl, err := c.PTTL(ctx, k).Result()
			if err != nil || ttl <= max-2*time.Minute || ttl > max+time.Second {
				t.Errorf("%s: TTL %v (%v), want about %v", k, ttl, err, max)
			}
		}
	}
	ttls(time.Hour)
	mustClaim(t, s, "form", true)
	if err := s.Finish(ctx, "form", []byte("answer"), time.Now().Add(3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	// Claimed, the form left its owner's bound (o:, now empty and gone).
	keys = []string{ns + "r:form", ns + "x:sess-1"}
	ttls(3 * time.Hour)
	if n, err := c.Exists(ctx, ns+"o:sess-1").Result(); err != nil || n != 0 {
		t.Errorf("the owner's bound still lists the claimed form (%d, %v)", n, err)
	}

	// Another namespace is another store.
	other := tokens.NewRedis(c, newNamespace())
	if _, err := other.Get(ctx, "form"); err == nil {
		t.Error("a store in another namespace reads the record")
	}
	// Close leaves a client it was given open.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Ping(ctx).Err(); err != nil {
		t.Errorf("the client after the store's Close: %v", err)
	}

	d := mustOpen(t, tokens.Config{RedisURL: url})
	mustCreate(t, d, record("default-ns", "sess-1", "cancel", "P", time.Now().Add(time.Hour)), 10)
	if n, err := c.Exists(ctx, tokens.DefaultNamespace+"r:default-ns").Result(); err != nil || n != 1 {
		t.Errorf("the default namespace's record key: %v, %v", n, err)
	}
}

func TestBackend(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		cfg  tokens.Config
		want string
	}{
		{tokens.Config{Path: "var/tokens.db"}, "sqlite"},
		{tokens.Config{}, "sqlite"},
		{tokens.Config{Path: "var/tokens.db", RedisURL: "redis://:secret@r:6379/0"}, "redis"},
		{tokens.Config{Path: "var/tokens.db", DatabaseURL: "postgres://u:secret@db/x", RedisURL: "redis://r"}, "postgresql"},
	} {
		if got := tc.cfg.Backend(); got != tc.want {
			t.Errorf("Backend of %+v = %q, want %q", tc.cfg, got, tc.want)
		}
	}
}

// TestOpenFails: a store that cannot be reached fails Open, and the
// error repeats no password.
func TestOpenFails(t *testing.T) {
	t.Parallel()
	for _, cfg := range []tokens.Config{
		{},
		{RedisURL: "redis://user:hunter2@127.0.0.1:1/0"},
		{RedisURL: "redis://user:hunter2@127.0.0.1:1/notanumber"},
		{RedisURL: "redis://user:hunter2@[::1/0"},
		{DatabaseURL: "postgres://user:hunter2@127.0.0.1:1/db?sslmode=disable&connect_timeout=5"},
	} {
		s, err := tokens.Open(ctx, cfg)
		if err == nil {
			s.Close()
			t.Errorf("Open(%s) succeeded", cfg.Backend())
			continue
		}
		if strings.Contains(err.Error(), "hunter2") || !strings.HasPrefix(err.Error(), "tokens: ") {
			t.Errorf("Open(%s): %v", cfg.Backend(), err)
		}
	}
}
