// Package sandboxtest serves a sandbox on a loopback test server, the way
// pkgsite's proxytest serves a module proxy: tests point real clients at it.
package sandboxtest

import (
	"net/http/httptest"
	"testing"

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

// Start serves a new sandbox on a loopback httptest server; t.Cleanup
// closes both. Links and signed URLs use the server's own address.
func Start(t testing.TB, opts sandbox.Options) *Server {
	t.Helper()
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
