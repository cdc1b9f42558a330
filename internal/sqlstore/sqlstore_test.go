package sqlstore_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"backoffice/internal/sqlstore"
)

func TestDialects(t *testing.T) {
	t.Parallel()
	if got := sqlstore.SQLite.Placeholder(3) + sqlstore.Postgres.Placeholder(3); got != "?$3" {
		t.Errorf("placeholders = %q, want ?$3", got)
	}
	at := time.Date(2026, 7, 1, 3, 30, 15, 123456789, time.FixedZone("EEST", 3*3600))
	if got := sqlstore.SQLite.Time(at); got != "2026-07-01T00:30:15.123456Z" {
		t.Errorf("SQLite time = %v", got)
	}
	if got := sqlstore.SQLite.NullTime(time.Time{}); got != nil {
		t.Errorf("zero NullTime = %v, want NULL", got)
	}
	if sqlstore.SQLite.ForUpdate() != "" || sqlstore.Postgres.ForUpdate() != " FOR UPDATE" {
		t.Error("ForUpdate: want nothing for SQLite, FOR UPDATE for PostgreSQL")
	}
}

func TestTimeScan(t *testing.T) {
	t.Parallel()
	want := time.Date(2026, 7, 1, 0, 30, 15, 123456000, time.UTC)
	for _, src := range []any{"2026-07-01T00:30:15.123456Z", []byte("2026-07-01T03:30:15.123456+03:00"), want.In(time.FixedZone("x", 3600))} {
		var got sqlstore.Time
		if err := got.Scan(src); err != nil || !got.T.Equal(want) || got.T.Location() != time.UTC {
			t.Errorf("Scan(%v) = %v, %v; want %v in UTC", src, got.T, err, want)
		}
	}
	got := sqlstore.Time{T: want}
	if err := got.Scan(nil); err != nil || !got.T.IsZero() {
		t.Errorf("Scan(NULL) = %v, %v; want the zero time", got.T, err)
	}
	if err := got.Scan(42); err == nil {
		t.Error("Scan(42) succeeded")
	}
}

// TestSchemaChecked: the version table's name is written into SQL, so
// only a plain name is accepted.
func TestSchemaChecked(t *testing.T) {
	t.Parallel()
	m := []sqlstore.Migration{{Version: 1, Statements: []string{`CREATE TABLE t (x INTEGER)`}}}
	cfg := sqlstore.Config{Path: filepath.Join(t.TempDir(), "x.db")}
	for _, s := range []sqlstore.Schema{
		{Name: "x", VersionTable: "v; DROP TABLE t", SQLite: m, Postgres: m},
		{Name: "x", VersionTable: "v", SQLite: m},
		{VersionTable: "v", SQLite: m, Postgres: m},
	} {
		if db, _, err := sqlstore.Open(context.Background(), cfg, s); err == nil {
			db.Close()
			t.Errorf("Open with schema %+v succeeded", s)
		}
	}
	db, d, err := sqlstore.Open(context.Background(), cfg, sqlstore.Schema{Name: "x", VersionTable: "x_versions", SQLite: m, Postgres: m})
	if err != nil || d != sqlstore.SQLite {
		t.Fatalf("Open = %v, %v", d, err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM x_versions`).Scan(&n); err != nil || n != 1 {
		t.Errorf("versions recorded: %d, %v; want 1", n, err)
	}
	if _, _, err := sqlstore.Open(context.Background(), sqlstore.Config{}, sqlstore.Schema{Name: "x", VersionTable: "v", SQLite: m, Postgres: m}); err == nil ||
		!strings.HasPrefix(err.Error(), "x: neither") {
		t.Errorf("Open with nothing configured: %v", err)
	}
}

// TestConcurrentOpensOfANewFile: stores opening one new SQLite file at
// once all open it. Without pingSQLite's retry, about one round in
// fifty had an open fail with SQLITE_BUSY.
func TestConcurrentOpensOfANewFile(t *testing.T) {
	t.Parallel()
	m := []sqlstore.Migration{{Version: 1, Statements: []string{`CREATE TABLE t (x INTEGER)`}}}
	s := sqlstore.Schema{Name: "x", VersionTable: "x_versions", SQLite: m, Postgres: m}
	dir := t.TempDir()
	for round := range 50 {
		cfg := sqlstore.Config{Path: filepath.Join(dir, fmt.Sprint(round), "x.db")}
		var wg sync.WaitGroup
		for i := range 4 {
			wg.Go(func() {
				db, _, err := sqlstore.Open(context.Background(), cfg, s)
				if err != nil {
					t.Errorf("round %d, open %d: %v", round, i, err)
					return
				}
				db.Close()
			})
		}
		wg.Wait()
	}
}
