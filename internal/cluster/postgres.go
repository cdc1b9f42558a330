package cluster

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// startPostgres runs a throwaway PostgreSQL in a folder of its own,
// listening on a Unix socket there only (nothing to collide with), the
// way internal/audit/pgtest does for tests. It runs in the foreground as
// a child of this process, not daemonised by pg_ctl, so that it dies
// with the cluster. Tests use pgtest instead and pass its URL.
func (c *Cluster) startPostgres(ctx context.Context) (string, error) {
	bin := postgresBinaries()
	if bin == "" {
		return "", errors.New("PostgreSQL (initdb, postgres) is not installed: install Debian's postgresql package, or pass a database URL")
	}
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		// PostgreSQL refuses to run as root.
		u, err := user.Lookup("postgres")
		if err != nil {
			return "", fmt.Errorf("PostgreSQL will not run as root and there is no postgres user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	// Not under the cluster's folder: the postgres user must traverse
	// every parent, and a test's temporary folders are private.
	dir, err := os.MkdirTemp("", "cluster-pg-")
	if err != nil {
		return "", err
	}
	c.cleanups = append(c.cleanups, func() { os.RemoveAll(dir) })
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return "", err
		}
	}
	data := filepath.Join(dir, "data")
	initCtx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	initdb := exec.CommandContext(initCtx, filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync")
	initdb.Dir = dir
	initdb.Env = append(os.Environ(), "LC_ALL=C")
	initdb.SysProcAttr = sysProcAttr(cred)
	if out, err := initdb.CombinedOutput(); err != nil {
		return "", fmt.Errorf("initdb: %w\n%s", err, out)
	}
	// No fsync: the data dies with the cluster.
	p, err := c.spawnAs("postgres", cred, dir, filepath.Join(bin, "postgres"), "-D", data,
		"-c", "listen_addresses=", "-c", "unix_socket_directories="+dir, "-p", "5432",
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	if err != nil {
		return "", err
	}
	p.stopSignal = syscall.SIGINT
	if _, err := p.waitLine(regexp.MustCompile(`database system is ready to accept connections`), 60*time.Second); err != nil {
		return "", err
	}
	u := "postgres://postgres@/postgres?sslmode=disable&port=5432&host=" + url.QueryEscape(dir)
	// The log line comes a moment before the socket accepts: connect once.
	if err := pingPostgres(ctx, u, 15*time.Second); err != nil {
		return "", err
	}
	return u, nil
}

func pingPostgres(ctx context.Context, u string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		conn, err := pgx.Connect(pctx, u)
		if err == nil {
			err = conn.Ping(pctx)
			conn.Close(pctx)
		}
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("PostgreSQL did not accept connections within %s: %w", timeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// postgresBinaries is the folder holding initdb and postgres: the one on
// PATH, else the newest Debian installation (off PATH there).
func postgresBinaries() string {
	var dirs []string
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			dirs = append(dirs, filepath.Dir(real))
		}
		dirs = append(dirs, filepath.Dir(p))
	}
	debian, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	version := func(binDir string) int {
		n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
		return n
	}
	slices.SortFunc(debian, func(a, b string) int { return version(b) - version(a) })
	dirs = append(dirs, debian...)
	for _, d := range dirs {
		if isFile(filepath.Join(d, "initdb")) && isFile(filepath.Join(d, "postgres")) {
			return d
		}
	}
	return ""
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir()
}
