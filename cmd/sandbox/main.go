// Command sandbox serves the sandbox upstreams (KASKO REST, KASKO push,
// CascoApi) on their own, for demos, load tests and partner training.
// Configuration comes from SANDBOX_* variables (see sandbox.OptionsFromEnv)
// and SANDBOX_ADDR; SANDBOX_WEBHOOKS registers webhook endpoints, whose
// deliveries stop at shutdown. The seeded history leads up to today unless
// SANDBOX_REFERENCE_DATE pins its date.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	// Policy zones must resolve in minimal images.
	_ "time/tzdata"

	"backoffice/internal/sandbox"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "sandbox:", err)
		os.Exit(1)
	}
}

// run serves until ctx is done, then shuts down gracefully.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) > 0 {
		return fmt.Errorf("unexpected arguments %q; configure with SANDBOX_* variables", args)
	}
	opts, err := sandbox.OptionsFromEnv(getenv)
	if err != nil {
		return err
	}
	opts.Logger = slog.New(slog.NewTextHandler(stdout, &slog.HandlerOptions{Level: slog.LevelWarn}))
	addr := getenv("SANDBOX_ADDR")
	if addr == "" {
		addr = "127.0.0.1:8090"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", addr, err)
	}
	base := opts.BaseURL
	if base == "" {
		base = "http://" + ln.Addr().String()
	}
	sb, err := sandbox.New(opts)
	if err != nil {
		ln.Close()
		return err
	}
	// Last, after the server has drained: a request may still emit a
	// webhook while it shuts down.
	defer sb.Close()
	srv := &http.Server{
		Handler:           sb,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	fmt.Fprintf(stdout, "sandbox listening on %s\n", base)
	fmt.Fprintf(stdout, "  KASKO REST API: %s%s\n", base, sandbox.KaskoPrefix)
	fmt.Fprintf(stdout, "  KASKO push API: %s%s/\n", base, sandbox.PushPrefix)
	fmt.Fprintf(stdout, "  CascoApi:       %s%s (accounts %s, %s)\n", base, sandbox.CascoPrefix, sandbox.CascoDemoAccount, sandbox.CascoPartnerAccount)
	fmt.Fprintf(stdout, "  demo credentials and fixtures: GET %s%s\n", base, sandbox.AdminPath)
	fmt.Fprintf(stdout, "  webhooks: %d endpoint(s) from SANDBOX_WEBHOOKS; more with POST %s%s/webhooks\n", len(sb.Webhooks()), base, sandbox.AdminPath)
	fmt.Fprintf(stdout, "  seeded history up to %s (SANDBOX_REFERENCE_DATE=YYYY-MM-DD pins it; default today)\n", referenceLabel(sb.ReferenceDate()))

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// referenceLabel shows a reference date as its day when it is a whole UTC
// day (the default and SANDBOX_REFERENCE_DATE), else as the instant it is.
func referenceLabel(t time.Time) string {
	if t.Equal(t.Truncate(24 * time.Hour)) {
		return t.UTC().Format(time.DateOnly)
	}
	return t.UTC().Format(time.RFC3339)
}
