// Package cluster runs the dashboard the way it runs in production, on
// one machine: several instances of cmd/dashboard behind HAProxy (round
// robin, no stickiness), sharing sessions in Redis and the audit log,
// quote history and form tokens in PostgreSQL, in front of cmd/sandbox
// as their upstream. Everything listens on 127.0.0.1 (PostgreSQL on a
// Unix socket) and dies with the process that started it.
//
// It serves `make cluster` (cmd/cluster) and the multi-instance test,
// which drives a real browser through the balancer and checks that no
// upstream write is lost or doubled when consecutive requests land on
// different instances, or when an instance dies.
package cluster

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"backoffice/internal/sandbox"
)

// Options configure a cluster. The zero value starts everything.
type Options struct {
	// Dir holds what the cluster writes: binaries, each instance's
	// DATA_DIR, logs, HAProxy's configuration. "" is a temporary folder
	// that Stop removes.
	Dir string
	// Binaries is a folder holding the dashboard and sandbox programs;
	// "" builds them from this module into Dir (go build).
	Binaries string
	// Race builds the programs with the race detector.
	Race bool
	// Instances is the number of dashboards; 0 means 2.
	Instances int
	// Port is the balancer's port on 127.0.0.1; 0 picks a free one.
	Port int
	// DatabaseURL is the PostgreSQL the instances share
	// (AUDIT_DATABASE_URL); "" starts a throwaway server.
	DatabaseURL string
	// RedisURL is the session store the instances share; "" starts a
	// redis-server.
	RedisURL string
	// SessionSecret is shared by the instances; "" generates one.
	SessionSecret string
	// UpstreamTimeout is the instances' UPSTREAM_TIMEOUT; 0 means 5s.
	UpstreamTimeout time.Duration
	// CheckInterval is how often the balancer asks each instance's
	// /readyz; 0 means 500ms.
	CheckInterval time.Duration
	// SandboxEnv adds SANDBOX_* variables to the sandbox's defaults
	// (300 policies, cancellations completing after 1s).
	SandboxEnv map[string]string
	// Env adds variables to every instance's environment.
	Env map[string]string
	// Output receives every program's output, each line prefixed with
	// the program's name; nil keeps it in the log files alone.
	Output io.Writer
}

// Instance is one dashboard.
type Instance struct {
	// Name is how the balancer calls it (dash1, dash2…): in its log and
	// in the ServedBy header.
	Name    string
	URL     string // its own address, bypassing the balancer
	DataDir string
	LogPath string
}

// Cluster is a running cluster.
type Cluster struct {
	// URL is the balancer, where browsers go.
	URL string
	// SandboxURL is the sandbox's base URL; its description and call
	// counts are at SandboxURL + sandbox.AdminPath.
	SandboxURL  string
	DatabaseURL string
	RedisURL    string
	// Dir holds the binaries, data folders and logs.
	Dir       string
	Instances []Instance
	// BalancerLog is HAProxy's log: one line per request.
	BalancerLog string

	opts        Options
	logDir      string
	procs       []*process // in start order
	dashboards  []*process
	balancer    *process
	statsSocket string
	cleanups    []func()
	client      *http.Client

	stopOnce sync.Once
	stopErr  error
}

// Start starts PostgreSQL and Redis (unless given), the sandbox, the
// instances one after the other (each migrates the shared schemas at
// start-up) and the balancer, and returns once the balancer has every
// instance up. ctx bounds the start, the build included; the cluster
// runs until Stop.
func Start(ctx context.Context, opts Options) (c *Cluster, err error) {
	if opts.Instances == 0 {
		opts.Instances = 2
	}
	if opts.UpstreamTimeout == 0 {
		opts.UpstreamTimeout = 5 * time.Second
	}
	if opts.CheckInterval == 0 {
		opts.CheckInterval = 500 * time.Millisecond
	}
	if opts.SessionSecret == "" {
		b := make([]byte, 24)
		_, _ = rand.Read(b)
		opts.SessionSecret = hex.EncodeToString(b)
	}
	c = &Cluster{opts: opts, client: &http.Client{Timeout: 10 * time.Second}}
	defer func() {
		if err != nil {
			_ = c.Stop()
			c = nil
		}
	}()
	c.Dir = opts.Dir
	if c.Dir == "" {
		if c.Dir, err = os.MkdirTemp("", "cluster-"); err != nil {
			return c, err
		}
		dir := c.Dir
		c.cleanups = append(c.cleanups, func() { os.RemoveAll(dir) })
	}
	c.logDir = filepath.Join(c.Dir, "logs")
	if err := os.MkdirAll(c.logDir, 0o700); err != nil {
		return c, err
	}

	bin := opts.Binaries
	if bin == "" {
		bin = filepath.Join(c.Dir, "bin")
		if err := Build(ctx, bin, opts.Race); err != nil {
			return c, err
		}
	}
	haproxy, err := exec.LookPath("haproxy")
	if err != nil {
		return c, errors.New("haproxy is not installed: install Debian's haproxy package")
	}

	c.DatabaseURL = opts.DatabaseURL
	if c.DatabaseURL == "" {
		if c.DatabaseURL, err = c.startPostgres(ctx); err != nil {
			return c, err
		}
	}
	c.RedisURL = opts.RedisURL
	if c.RedisURL == "" {
		if c.RedisURL, err = c.startRedis(); err != nil {
			return c, err
		}
	}
	if err := c.startSandbox(filepath.Join(bin, "sandbox")); err != nil {
		return c, err
	}
	for i := range opts.Instances {
		if err := c.startDashboard(ctx, filepath.Join(bin, "dashboard"), i); err != nil {
			return c, err
		}
	}
	if err := c.startBalancer(haproxy); err != nil {
		return c, err
	}
	if err := c.registerWebhooks(ctx); err != nil {
		return c, err
	}
	return c, nil
}

// indexKeys are the demo secret keys every instance indexes with, and
// their tenants' webhook secrets (distributor_id:mode=whsec_…), as an
// operator would configure INDEX_KEYS and KASKO_WEBHOOK_SECRETS.
var indexKeys = []struct{ key, distributor, mode, secret string }{
	{sandbox.KeyASecretTest, sandbox.DistributorAID, "test", sandbox.WebhookSecretATest},
	{sandbox.KeyASecretLive, sandbox.DistributorAID, "live", sandbox.WebhookSecretALive},
	{sandbox.KeyBSecretTest, sandbox.DistributorBID, "test", sandbox.WebhookSecretBTest},
}

// registerWebhooks points the sandbox's webhooks at the balancer, one
// per tenant: any instance may receive a delivery.
func (c *Cluster) registerWebhooks(ctx context.Context) error {
	for _, k := range indexKeys {
		target := c.URL + "/webhooks/kasko?tenant=" + url.QueryEscape("kasko:"+k.distributor+":"+k.mode)
		body, _ := json.Marshal(map[string]string{"url": target})
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.SandboxURL+sandbox.AdminPath+"/webhooks", bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+k.key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.client.Do(req)
		if err != nil {
			return fmt.Errorf("register webhook: %w", err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			return fmt.Errorf("register webhook: sandbox answered %d", resp.StatusCode)
		}
	}
	return nil
}

// Build compiles cmd/dashboard and cmd/sandbox of the module the current
// folder is in into dir.
func Build(ctx context.Context, dir string, race bool) error {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return errors.New("not inside the module: run from the repository")
	}
	args := []string{"build", "-o", dir + string(filepath.Separator)}
	if race {
		args = append(args, "-race")
	}
	args = append(args, "./cmd/dashboard", "./cmd/sandbox")
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = filepath.Dir(gomod)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// spawnAs starts a program of the cluster with its log in the logs folder.
func (c *Cluster) spawnAs(name string, cred *syscall.Credential, dir, path string, args ...string) (*process, error) {
	return c.spawnEnv(name, cred, dir, os.Environ(), path, args...)
}

func (c *Cluster) spawnEnv(name string, cred *syscall.Credential, dir string, env []string, path string, args ...string) (*process, error) {
	p, err := spawn(name, filepath.Join(c.logDir, name+".log"), c.opts.Output, dir, env, cred, path, args...)
	if err != nil {
		return nil, err
	}
	c.procs = append(c.procs, p)
	return p, nil
}

func (c *Cluster) startRedis() (string, error) {
	path, err := exec.LookPath("redis-server")
	if err != nil {
		return "", errors.New("redis-server is not installed: install Debian's redis-server package")
	}
	dir := filepath.Join(c.Dir, "redis")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	port, err := freePort()
	if err != nil {
		return "", err
	}
	p, err := c.spawnAs("redis", nil, dir, path, "--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir)
	if err != nil {
		return "", err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	if err := waitTCP(p, addr, 15*time.Second); err != nil {
		return "", err
	}
	return "redis://" + addr + "/0", nil
}

var sandboxListening = regexp.MustCompile(`sandbox listening on (http://\S+)`)

func (c *Cluster) startSandbox(path string) error {
	env := map[string]string{
		"SANDBOX_ADDR":         "127.0.0.1:0",
		"SANDBOX_POLICIES":     "300",
		"SANDBOX_CANCEL_DELAY": "1s",
	}
	for k, v := range c.opts.SandboxEnv {
		env[k] = v
	}
	p, err := c.spawnEnv("sandbox", nil, c.Dir, environ(env), path)
	if err != nil {
		return err
	}
	m, err := p.waitLine(sandboxListening, 30*time.Second)
	if err != nil {
		return err
	}
	c.SandboxURL = m[1]
	return nil
}

var dashboardListening = regexp.MustCompile(`"msg":"dashboard listening","url":"(http://[^"]+)"`)

func (c *Cluster) startDashboard(ctx context.Context, path string, i int) error {
	name := fmt.Sprintf("dash%d", i+1)
	dataDir := filepath.Join(c.Dir, name)
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return err
	}
	// Nothing from this process's environment: a developer's own
	// KASKO_API_URL must not point an instance elsewhere.
	env := map[string]string{
		"ADDR":               "127.0.0.1:0",
		"DATA_DIR":           dataDir,
		"SESSION_SECRET":     c.opts.SessionSecret,
		"SESSION_STORE":      "redis",
		"REDIS_URL":          c.RedisURL,
		"AUDIT_DATABASE_URL": c.DatabaseURL,
		"KASKO_API_URL":      c.SandboxURL + sandbox.KaskoPrefix,
		"KASKO_PUSH_URL":     c.SandboxURL + sandbox.PushPrefix,
		"CASCO_API_URL":      c.SandboxURL + sandbox.CascoPrefix,
		"UPSTREAM_TIMEOUT":   c.opts.UpstreamTimeout.String(),
		"TRUSTED_PROXIES":    "127.0.0.1/32",
		"LOG_FORMAT":         "json",
		"PATH":               os.Getenv("PATH"),
		"INDEX_POLL":         "2s",
	}
	var keys, secrets []string
	for _, k := range indexKeys {
		keys = append(keys, k.key)
		secrets = append(secrets, k.distributor+":"+k.mode+"="+k.secret)
	}
	env["INDEX_KEYS"], env["KASKO_WEBHOOK_SECRETS"] = strings.Join(keys, ","), strings.Join(secrets, ",")
	for k, v := range c.opts.Env {
		env[k] = v
	}
	p, err := c.spawnEnv(name, nil, dataDir, environ(env), path)
	if err != nil {
		return err
	}
	c.dashboards = append(c.dashboards, p)
	m, err := p.waitLine(dashboardListening, 60*time.Second)
	if err != nil {
		return err
	}
	inst := Instance{Name: name, URL: m[1], DataDir: dataDir, LogPath: filepath.Join(c.logDir, name+".log")}
	c.Instances = append(c.Instances, inst)
	deadline := time.Now().Add(30 * time.Second)
	for {
		status, body, err := c.get(ctx, inst.URL+"/readyz")
		if err == nil && status == http.StatusOK {
			return nil
		}
		if !p.running() || time.Now().After(deadline) {
			return fmt.Errorf("%s: /readyz = %d %s %v\n%s", name, status, body, err, p.out.tail(30))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (c *Cluster) startBalancer(path string) error {
	dir := filepath.Join(c.Dir, "haproxy")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	c.statsSocket = filepath.Join(dir, "stats.sock")
	cfgPath := filepath.Join(dir, "haproxy.cfg")
	port := c.opts.Port
	// A free port found here may be taken before HAProxy binds it: try
	// a few times when the port was ours to pick.
	attempts := 1
	if port == 0 {
		attempts = 3
	}
	var lastErr error
	for range attempts {
		if c.opts.Port == 0 {
			var err error
			if port, err = freePort(); err != nil {
				return err
			}
		}
		cfg := haproxyConfig(port, c.statsSocket, c.Instances, c.opts.CheckInterval)
		if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
			return err
		}
		if out, err := exec.Command(path, "-c", "-q", "-f", cfgPath).CombinedOutput(); err != nil {
			return fmt.Errorf("haproxy refuses its configuration: %w\n%s\n%s", err, out, cfg)
		}
		_ = os.Remove(c.statsSocket)
		// UTC: the log's request dates carry no zone.
		p, err := c.spawnEnv("haproxy", nil, dir, append(os.Environ(), "TZ=UTC"), path, "-db", "-f", cfgPath)
		if err != nil {
			return err
		}
		c.BalancerLog = filepath.Join(c.logDir, "haproxy.log")
		// HAProxy binds its stats socket and its frontend together, and
		// ends at once when either fails: a socket that answers means
		// the port is HAProxy's, where a mere TCP connection could reach
		// whoever took the port first.
		if lastErr = waitStats(p, c.statsSocket, 10*time.Second); lastErr != nil {
			_ = p.kill()
			continue
		}
		c.balancer = p
		c.URL = fmt.Sprintf("http://127.0.0.1:%d", port)
		break
	}
	if c.balancer == nil {
		return lastErr
	}
	// Up means the balancer has checked each instance's /readyz.
	deadline := time.Now().Add(20 * time.Second)
	for {
		states, err := c.ServerStates()
		up := 0
		for _, s := range states {
			if s.Status == "UP" {
				up++
			}
		}
		if err == nil && up == len(c.Instances) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the balancer does not have every instance up after 20s: %v %v\n%s", states, err, c.balancer.out.tail(20))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Kill ends instance i with SIGKILL, the way a crashed machine goes:
// no graceful shutdown, nothing drained. The balancer notices through
// its health checks.
func (c *Cluster) Kill(i int) error {
	if i < 0 || i >= len(c.dashboards) {
		return fmt.Errorf("no instance %d", i)
	}
	return c.dashboards[i].kill()
}

// Alive reports whether instance i is running.
func (c *Cluster) Alive(i int) bool {
	return i >= 0 && i < len(c.dashboards) && c.dashboards[i].running()
}

// Stop shuts everything down, the balancer first and the stores last,
// and removes what Start created in temporary folders. It may be called
// more than once.
func (c *Cluster) Stop() error {
	c.stopOnce.Do(func() {
		var errs []error
		for i := len(c.procs) - 1; i >= 0; i-- {
			if err := c.procs[i].stop(15 * time.Second); err != nil {
				errs = append(errs, err)
			}
		}
		for i := len(c.cleanups) - 1; i >= 0; i-- {
			c.cleanups[i]()
		}
		c.stopErr = errors.Join(errs...)
	})
	return c.stopErr
}

// ServerStates is the instances as the balancer sees them now.
func (c *Cluster) ServerStates() ([]ServerState, error) {
	if c.statsSocket == "" {
		return nil, errors.New("no balancer")
	}
	return serverStates(c.statsSocket)
}

// Mark is a position in the cluster's logs: what happened after it can
// be read with Since.
type Mark struct {
	balancer  int
	instances []int
}

// Mark is the position now.
func (c *Cluster) Mark() Mark {
	m := Mark{}
	if c.balancer != nil {
		m.balancer = c.balancer.out.mark()
	}
	for _, p := range c.dashboards {
		m.instances = append(m.instances, p.out.mark())
	}
	return m
}

// Requests is every request the balancer logged since m, in the order
// they came in (the log has them in the order they ended).
func (c *Cluster) Requests(m Mark) []Request {
	if c.balancer == nil {
		return nil
	}
	lines, _ := c.balancer.out.since(m.balancer)
	var out []Request
	for _, l := range lines {
		if r, ok := parseRequest(l); ok {
			out = append(out, r)
		}
	}
	slices.SortStableFunc(out, func(a, b Request) int { return a.Start.Compare(b.Start) })
	return out
}

// AccessLine is one line of an instance's own access log.
type AccessLine struct {
	Method string `json:"method"`
	Path   string `json:"path"`
	Status int    `json:"status"`
}

// Access is instance i's access log since m.
func (c *Cluster) Access(m Mark, i int) []AccessLine {
	pos := 0
	if i < len(m.instances) {
		pos = m.instances[i]
	}
	lines, _ := c.dashboards[i].out.since(pos)
	var out []AccessLine
	for _, l := range lines {
		var e struct {
			Msg string `json:"msg"`
			AccessLine
		}
		if json.Unmarshal([]byte(l), &e) == nil && e.Msg == "request" {
			out = append(out, e.AccessLine)
		}
	}
	return out
}

// Output is everything instance i printed since m (the race detector's
// reports, panics).
func (c *Cluster) Output(m Mark, i int) []string {
	pos := 0
	if i < len(m.instances) {
		pos = m.instances[i]
	}
	lines, _ := c.dashboards[i].out.since(pos)
	return lines
}

// Calls is the sandbox's count of requests per route (sandbox.Route…
// constants).
func (c *Cluster) Calls(ctx context.Context) (map[string]int, error) {
	status, body, err := c.get(ctx, c.SandboxURL+sandbox.AdminPath)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("GET %s = %d", sandbox.AdminPath, status)
	}
	var info struct {
		Calls map[string]int `json:"calls"`
	}
	if err := json.Unmarshal(body, &info); err != nil {
		return nil, err
	}
	return info.Calls, nil
}

// SetFaults changes the sandbox's faults at run time, e.g.
// {"latency": "1500ms"}; the fields left out keep their value.
func (c *Cluster) SetFaults(ctx context.Context, faults map[string]any) error {
	b, err := json.Marshal(faults)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, c.SandboxURL+sandbox.AdminPath+"/faults", bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("PUT %s/faults = %d %s", sandbox.AdminPath, resp.StatusCode, body)
	}
	return nil
}

func (c *Cluster) get(ctx context.Context, url string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, body, err
}

func environ(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	return out
}

// freePort asks the kernel for a free loopback port. Programs that take
// no ":0" (redis-server, HAProxy) get it, with a short window in which
// another program could take it first.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// waitStats waits until HAProxy's stats socket answers while p runs.
func waitStats(p *process, socket string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		_, err := serverStates(socket)
		if err == nil {
			return nil
		}
		if !p.running() {
			return fmt.Errorf("%s ended (%v):\n%s", p.name, p.waitErr, p.out.tail(30))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not answer on %s within %s: %v\n%s", p.name, socket, timeout, err, p.out.tail(30))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitTCP waits until addr accepts connections while p runs.
func waitTCP(p *process, addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		conn, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			conn.Close()
			return nil
		}
		if !p.running() {
			return fmt.Errorf("%s ended (%v) before listening on %s:\n%s", p.name, p.waitErr, addr, p.out.tail(30))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not listen on %s within %s:\n%s", p.name, addr, timeout, p.out.tail(30))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
