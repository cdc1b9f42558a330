package kasko_test

import (
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"backoffice/apiclient/kasko"
	"backoffice/internal/sandbox"
	"backoffice/web/webtest"
)

func TestPolicyDocuments(t *testing.T) {
	t.Parallel()
	srv := newPolicyServer(t, 100)
	b := srv.SignedIn(t, sandbox.KeyASecretTest)
	other := upstreamList(t, srv, sandbox.KeyBSecretTest, kasko.ListParams{Limit: 1}).Policies[0].ID
	tests := []struct {
		path         string
		wantStatus   int
		wantFileName string // ASCII filename= of Content-Disposition
	}{
		{fixturePath + "/documents/asset/0", http.StatusOK, "Policydoc.pdf"},
		{fixturePath + "/documents/asset/1", http.StatusOK, "Invoice.pdf"},
		{fixturePath + "/documents/asset/2", http.StatusOK, "Terms.pdf"},
		{fixturePath + "/documents/media/0", http.StatusOK, "Scan 1.pdf"},
		{"/policies/" + sandbox.FixtureInsurerPolicyID + "/documents/asset/0", http.StatusOK, "Policydoc.pdf"},
		{fixturePath + "/documents/asset/3", http.StatusNotFound, ""},
		{fixturePath + "/documents/asset/99999999999999999999", http.StatusNotFound, ""},
		{fixturePath + "/documents/asset/-1", http.StatusNotFound, ""},
		{fixturePath + "/documents/asset/x", http.StatusNotFound, ""},
		{fixturePath + "/documents/media/1", http.StatusNotFound, ""},
		{fixturePath + "/documents/assets/0", http.StatusNotFound, ""},
		{fixturePath + "/documents/invoice/0", http.StatusNotFound, ""},
		{fixturePath + "/documents/asset/0/x", http.StatusNotFound, ""},
		{"/policies/tpol_00000000000000000000000000000/documents/asset/0", http.StatusNotFound, ""},
		{"/policies/" + other + "/documents/asset/0", http.StatusNotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			r := b.Get(tt.path)
			if r.Status != tt.wantStatus {
				t.Fatalf("status = %d, want %d\n%.300s", r.Status, tt.wantStatus, r.Body)
			}
			for name, vals := range r.Header {
				for _, v := range vals {
					for _, secret := range []string{sandbox.KeyASecretTest, "signature=", "expires=", srv.Upstream.URL} {
						if strings.Contains(v, secret) {
							t.Errorf("header %s = %q carries %q", name, v, secret)
						}
					}
				}
			}
			if strings.Contains(r.Body, sandbox.KeyASecretTest) || strings.Contains(r.Body, "signature=") {
				t.Error("the body carries the key or a signed link")
			}
			if tt.wantStatus != http.StatusOK {
				checkErrorPage(t, r, tt.wantStatus, "There is nothing at this address. It may have been removed, or the link is wrong.")
				return
			}
			if got := r.Header.Get("Content-Type"); got != "application/pdf" {
				t.Errorf("Content-Type = %q", got)
			}
			disp := r.Header.Get("Content-Disposition")
			if kind, params, err := mime.ParseMediaType(disp); err != nil || kind != "attachment" || params["filename"] != tt.wantFileName {
				t.Errorf("Content-Disposition = %q, want attachment with filename %q", disp, tt.wantFileName)
			}
			if !strings.HasPrefix(r.Body, "%PDF-") {
				t.Errorf("body starts %q, want %%PDF-", r.Body[:min(len(r.Body), 10)])
			}
			if got := r.Header.Get("Cache-Control"); got != "private, no-store" {
				t.Errorf("Cache-Control = %q", got)
			}
			if got := r.Header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options = %q", got)
			}
			if n, err := strconv.Atoi(r.Header.Get("Content-Length")); err == nil && n != len(r.Body) {
				t.Errorf("Content-Length %d, body %d bytes", n, len(r.Body))
			}
		})
	}
}

// expiringClock is a sandbox clock that jumps far ahead once the first
// document download starts, so that the signed link the dashboard got
// just before has expired.
type expiringClock struct {
	start time.Time
	sb    atomic.Pointer[sandbox.Sandbox]
	// always: every answer is an hour later than the one before, so no
	// signed link ever survives until it is used.
	always bool
	ticks  atomic.Int64
}

func (c *expiringClock) now() time.Time {
	if c.always {
		return c.start.Add(time.Duration(c.ticks.Add(1)) * time.Hour)
	}
	if sb := c.sb.Load(); sb != nil && sb.Calls(sandbox.RoutePolicyAsset) > 0 {
		return c.start.Add(time.Hour)
	}
	return c.start
}

func TestPolicyDocumentExpiredLinkIsRenewed(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		always      bool
		wantStatus  int
		wantGets    int // upstream GET /policies/{id}
		wantAssets  int // requests to the signed link
		wantMessage string
	}{
		{"renewed once", false, http.StatusOK, 2, 2, ""},
		{"still expired after renewal", true, http.StatusBadGateway, 2, 2, "The insurance service did not answer properly. Nothing was changed by this page; try again in a moment."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := &expiringClock{start: time.Date(2026, 10, 1, 9, 0, 0, 0, time.UTC), always: tt.always}
			srv := webtest.NewServer(t, webtest.Options{Sandbox: sandbox.Options{Policies: 100, AssetURLTTL: 2 * time.Second, Now: clk.now}})
			clk.sb.Store(srv.Upstream.Sandbox)
			b := srv.SignedIn(t, sandbox.KeyASecretTest)
			r := b.Get(fixturePath + "/documents/asset/0")
			if r.Status != tt.wantStatus {
				t.Fatalf("status = %d, want %d\n%.300s", r.Status, tt.wantStatus, r.Body)
			}
			if n := srv.Upstream.Sandbox.Calls(sandbox.RouteGetPolicy); n != tt.wantGets {
				t.Errorf("policy reads = %d, want %d", n, tt.wantGets)
			}
			if n := srv.Upstream.Sandbox.Calls(sandbox.RoutePolicyAsset); n != tt.wantAssets {
				t.Errorf("downloads = %d, want %d", n, tt.wantAssets)
			}
			if tt.wantStatus == http.StatusOK {
				if !strings.HasPrefix(r.Body, "%PDF-") || r.Header.Get("Content-Type") != "application/pdf" {
					t.Errorf("renewed download is not the PDF (%q)", r.Header.Get("Content-Type"))
				}
				return
			}
			checkErrorPage(t, r, tt.wantStatus, tt.wantMessage)
		})
	}
}

// 9. Policies the key may not see.
