// Package sandboxtest serves a sandbox on a loopback test server, the way
// pkgsite's proxytest serves a module proxy: tests point real clients at it.
package sandboxtest

import (
	"net/http/httptest"
	"testing"
	"time"

	"backoffice/internal/sandbox"
)

// Server is a running sandbox.
type Server struct {
	URL      string // scheme://127.0.0.1:port
	KaskoURL string // KASKO REST base: URL + sandbox.KaskoPrefix
	PushURL  string // push API base: URL + sandbox.PushPrefix (POST PushURL + "/")
	CascoURL string // CascoApi base: URL + sandbox.CascoPrefix
	Sandbox  *sandbox.Sandbox
}

// ReferenceDate is the reference date Start pins for a seed: 2026-09-01
// 12:00 UTC plus seed%14 days (seed 0 meaning sandbox.DefaultSeed), the
// fixed anchor every sandbox seeded from before its history followed today.
// Tests' expected dates, "expired" flags and orders were written against it.
func ReferenceDate(seed int64) time.Time {
	if seed == 0 {
		seed = sandbox.DefaultSeed
	}
	d := seed % 14
	if d < 0 {
		d = -d
	}
	return time.Date(2026, 9, 1, 12, 0, 0, 0, time.UTC).AddDate(0, 0, int(d))
}

// Start serves a new sandbox on a loopback httptest server; t.Cleanup
// closes both. Links and signed URLs use the server's own address.
//
// A zero opts.ReferenceDate is pinned to ReferenceDate(opts.Seed), not left
// to mean today: a test sees the same data whatever day it runs. A test of
// the "always current" default builds its sandbox with sandbox.New, or sets
// ReferenceDate itself.
func Start(t testing.TB, opts sandbox.Options) *Server {
	t.Helper()
	if opts.ReferenceDate.IsZero() {
		opts.ReferenceDate = ReferenceDate(opts.Seed)
	}
	sb, err := sandbox.New(opts)
	if err != nil {
		t.Fatalf("sandboxtest: %v", err)
	}
	// Cleanups run last-in first-out: the server stops taking requests,
	// then the sandbox's webhook senders stop.
	t.Cleanup(func() { _ = sb.Close() })
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	return &Server{
		URL:      srv.URL,
		KaskoURL: srv.URL + sandbox.KaskoPrefix,
		PushURL:  srv.URL + sandbox.PushPrefix,
		CascoURL: srv.URL + sandbox.CascoPrefix,
		Sandbox:  sb,
	}
}
