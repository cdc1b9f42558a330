// Package pgtest gives tests a real PostgreSQL server: a throwaway one
// started for the test (initdb + pg_ctl, listening only on a Unix socket
// in a temporary folder), or the one AUDIT_TEST_DATABASE_URL names. Each
// test then takes a fresh, empty database of its own from it.
//
// Without PostgreSQL installed the test is skipped loudly, and fails
// under CI=true (.ci/run installs Debian's postgresql package).
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"backoffice/internal/testenv"
)

// EnvURL names an existing server to use instead of starting one; its
// user must be allowed to create databases.
const EnvURL = "AUDIT_TEST_DATABASE_URL"

// startTimeout bounds initdb and the server's start, so that a broken
// installation fails the test instead of hanging it.
const startTimeout = 30 * time.Second

// Server is a PostgreSQL server a test may create databases on.
type Server struct {
	// URL connects to the server's maintenance database "postgres".
	URL   string
	admin *sql.DB
	// external marks a server the test did not start: its databases are
	// dropped afterwards, where a throwaway server just goes away.
	external bool
}

// Start returns a running server; it stops (when the test started it)
// when t ends.
func Start(t testing.TB) *Server {
	t.Helper()
	if u := os.Getenv(EnvURL); u != "" {
		s := &Server{URL: u, external: true}
		s.connect(t)
		return s
	}
	bin := findBinaries()
	testenv.Require(t, bin != "", "PostgreSQL (initdb and pg_ctl)",
		"install Debian's postgresql package (.ci/run does), or set "+EnvURL+" to a server where the tests may create databases")
	run := runner{}
	if os.Geteuid() == 0 {
		// PostgreSQL refuses to run as root: run it as the postgres user.
		u, err := user.Lookup("postgres")
		testenv.Require(t, err == nil, "the postgres system user (PostgreSQL will not run as root)", "install Debian's postgresql package, or run the tests as another user")
		run.uid, _ = strconv.Atoi(u.Uid)
		run.gid, _ = strconv.Atoi(u.Gid)
		run.asPostgres = true
	}

	// Not t.TempDir: its parents are private to the test's user, and the
	// postgres user must reach the folder. The socket lives here too, so
	// that parallel test binaries never compete for a TCP port.
	dir, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if run.asPostgres {
		if err := os.Chown(dir, run.uid, run.gid); err != nil {
			t.Fatalf("pgtest: %v", err)
		}
	}
	data := filepath.Join(dir, "data")
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	// No fsync anywhere: the data dies with the test.
	if out, err := run.cmd(ctx, dir, filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "--auth=trust",
		"-E", "UTF8", "--locale=C", "--no-sync").CombinedOutput(); err != nil {
		t.Fatalf("pgtest: initdb: %v\n%s", err, out)
	}
	conf := fmt.Sprintf("\n# pgtest: a throwaway server on a Unix socket only\nlisten_addresses = ''\nunix_socket_directories = '%s'\nport = 5432\nfsync = off\nsynchronous_commit = off\nfull_page_writes = off\n", dir)
	if err := appendFile(filepath.Join(data, "postgresql.conf"), conf); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	logFile := filepath.Join(dir, "server.log")
	start := run.cmd(ctx, dir, filepath.Join(bin, "pg_ctl"), "-D", data, "-l", logFile, "-w", "-t", strconv.Itoa(int(startTimeout/time.Second)), "start")
	if out, err := start.CombinedOutput(); err != nil {
		serverLog, _ := os.ReadFile(logFile)
		t.Fatalf("pgtest: pg_ctl start: %v\n%s\n%s", err, out, serverLog)
	}
	t.Cleanup(func() {
		// Stops exactly the server of this data folder, nothing else.
		stopCtx, cancel := context.WithTimeout(context.Background(), startTimeout)
		defer cancel()
		if out, err := run.cmd(stopCtx, dir, filepath.Join(bin, "pg_ctl"), "-D", data, "-m", "fast", "-w", "stop").CombinedOutput(); err != nil {
			t.Errorf("pgtest: pg_ctl stop: %v\n%s", err, out)
		}
	})
	s := &Server{URL: "postgres://postgres@/postgres?sslmode=disable&port=5432&host=" + url.QueryEscape(dir)}
	s.connect(t)
	return s
}

// connect opens the maintenance connection that creates databases.
func (s *Server) connect(t testing.TB) {
	t.Helper()
	cfg, err := pgx.ParseConfig(s.URL)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	s.admin = stdlib.OpenDB(*cfg)
	t.Cleanup(func() { s.admin.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.admin.PingContext(ctx); err != nil {
		t.Fatalf("pgtest: connecting to %s: %v", cfg.Host, err)
	}
}

// NewDatabase creates an empty database for t and returns its URL.
func (s *Server) NewDatabase(t testing.TB) string {
	t.Helper()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	name := "pgtest_" + hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The name is ours (hex), so building the statement is safe; CREATE
	// DATABASE takes no bind parameters.
	if _, err := s.admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("pgtest: creating a database: %v", err)
	}
	if s.external {
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if _, err := s.admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
				t.Errorf("pgtest: dropping %s: %v", name, err)
			}
		})
	}
	u, err := url.Parse(s.URL)
	if err != nil {
		t.Fatalf("pgtest: %s must be a postgres:// URL: %v", EnvURL, err)
	}
	u.Path = "/" + name
	return u.String()
}

// runner runs the PostgreSQL programs, as the postgres user when the
// tests run as root.
type runner struct {
	asPostgres bool
	uid, gid   int
}

func (r runner) cmd(ctx context.Context, dir, name string, args ...string) *exec.Cmd {
	var c *exec.Cmd
	switch {
	case !r.asPostgres:
		c = exec.CommandContext(ctx, name, args...)
	case lookPath("runuser") != "":
		c = exec.CommandContext(ctx, lookPath("runuser"), append([]string{"-u", "postgres", "--", name}, args...)...)
	default:
		// su takes one shell command; passing the words as "$0" "$@"
		// spares quoting them.
		c = exec.CommandContext(ctx, "su", append([]string{"postgres", "-s", "/bin/sh", "-c", `exec "$0" "$@"`, name}, args...)...)
	}
	// The postgres user may not read the test's working folder.
	c.Dir = dir
	c.Env = append(os.Environ(), "LC_ALL=C")
	// pg_ctl leaves the server running with our pipes possibly inherited;
	// do not wait on them for long once pg_ctl itself has exited.
	c.WaitDelay = 5 * time.Second
	return c
}

// findBinaries returns the folder holding initdb and pg_ctl: the one on
// PATH (following symbolic links), else the newest Debian installation
// (/usr/lib/postgresql/N/bin, not on PATH there); "" when there is none.
func findBinaries() string {
	var dirs []string
	if p := lookPath("pg_ctl"); p != "" {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			dirs = append(dirs, filepath.Dir(real))
		}
		dirs = append(dirs, filepath.Dir(p))
	}
	debian, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(debian, func(a, b string) int { return versionOf(b) - versionOf(a) })
	dirs = append(dirs, debian...)
	for _, d := range dirs {
		if isFile(filepath.Join(d, "initdb")) && isFile(filepath.Join(d, "pg_ctl")) {
			return d
		}
	}
	return ""
}

func versionOf(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir()
}

func lookPath(name string) string {
	p, err := exec.LookPath(name)
	if err != nil {
		return ""
	}
	return p
}

func appendFile(path, text string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, werr := f.WriteString(text)
	return errors.Join(werr, f.Close())
}
