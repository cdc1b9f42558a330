// Command cluster runs two dashboard instances behind HAProxy, sharing
// Redis sessions and a PostgreSQL database, in front of the sandbox, all
// on this machine's loopback, until Ctrl-C (`make cluster`). It is the
// multi-instance deployment in miniature: every request of a browser
// goes to the next instance in turn.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"backoffice/internal/cluster"
	"backoffice/internal/sandbox"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "cluster:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	flags := flag.NewFlagSet("cluster", flag.ContinueOnError)
	flags.SetOutput(stdout)
	instances := flags.Int("instances", 2, "number of dashboard instances")
	port := flags.Int("port", 8080, "the balancer's port on 127.0.0.1 (0: any free port)")
	dir := flags.String("dir", "", "keep the binaries, the instances' DATA_DIRs and the logs in this folder (default: a temporary folder, removed at exit; PostgreSQL's data goes either way)")
	bin := flags.String("bin", "", "a folder with prebuilt dashboard and sandbox programs (default: build them)")
	verbose := flags.Bool("v", false, "print every program's output, prefixed with its name")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if flags.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", flags.Args())
	}
	if *dir != "" {
		if err := os.MkdirAll(*dir, 0o700); err != nil {
			return err
		}
	}
	opts := cluster.Options{Dir: *dir, Binaries: *bin, Instances: *instances, Port: *port}
	if *verbose {
		opts.Output = stdout
	}
	fmt.Fprintln(stdout, "cluster: building and starting PostgreSQL, Redis, the sandbox, the instances and HAProxy…")
	startCtx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	c, err := cluster.Start(startCtx, opts)
	if err != nil {
		return err
	}
	defer c.Stop()

	fmt.Fprintf(stdout, "\ndashboard (HAProxy, round robin, no stickiness): %s\n", c.URL)
	for _, in := range c.Instances {
		fmt.Fprintf(stdout, "  instance %s: %s (DATA_DIR %s, log %s)\n", in.Name, in.URL, in.DataDir, in.LogPath)
	}
	fmt.Fprintf(stdout, "  balancer log (one line per request, srv= names the instance): %s\n", c.BalancerLog)
	fmt.Fprintf(stdout, "sandbox: %s (call counts and faults: %s%s)\n", c.SandboxURL, c.SandboxURL, sandbox.AdminPath)
	fmt.Fprintf(stdout, "sessions: %s; audit log, quotes, form tokens: PostgreSQL on a Unix socket\n", c.RedisURL)
	fmt.Fprintf(stdout, "\nsign in with a KASKO key (the sign-in page lists none outside sandbox mode):\n")
	fmt.Fprintf(stdout, "  staff, test:      %s\n", sandbox.KeyASecretTest)
	fmt.Fprintf(stdout, "  read-only, test:  %s\n", sandbox.KeyAPublicTest)
	fmt.Fprintf(stdout, "  staff, live:      %s\n", sandbox.KeyASecretLive)
	fmt.Fprintf(stdout, "or as a CASCO partner (second tab): %s / %s\n", sandbox.CascoDemoAccount, sandbox.CascoDemoPassword)
	fmt.Fprintf(stdout, "slow the upstreams: curl -X PUT -d '{\"latency\":\"1500ms\"}' %s%s/faults\n", c.SandboxURL, sandbox.AdminPath)
	fmt.Fprintln(stdout, "\nCtrl-C stops everything.")

	<-ctx.Done()
	fmt.Fprintln(stdout, "cluster: stopping")
	return c.Stop()
}
