package web_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"backoffice/internal/sandbox"
	"backoffice/internal/testenv"
	"backoffice/web/webtest"
)

// vnuJar is the W3C HTML checker, installed by `make test` (npm ci, from
// package.json) into node_modules at the repository's root.
func vnuJar(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		jar := filepath.Join(dir, "node_modules", "vnu-jar", "build", "dist", "vnu.jar")
		if _, err := os.Stat(jar); err == nil {
			return jar
		}
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return ""
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// TestHTMLValidates renders the pages and states people use, as every
// role, and has the W3C checker (vnu) read them all: an error fails the
// test with the page it is on. htmx's hx-* attributes are not HTML's and
// are the one thing left out.
func TestHTMLValidates(t *testing.T) {
	t.Parallel()
	jar := vnuJar(t)
	testenv.Require(t, jar != "", "the W3C HTML checker (node_modules/vnu-jar)", "run `npm ci` at the repository's root (make test does)")
	_, javaErr := exec.LookPath("java")
	testenv.Require(t, javaErr == nil, "java (for the W3C HTML checker)", "install a Java runtime, e.g. apt-get install default-jre-headless (.ci/run does)")

	srv := webtest.NewServer(t, webtest.Options{Sandbox: sandbox.Options{Policies: 300}, Index: true,
		IndexKeys: []string{sandbox.KeyASecretTest}, IndexPoll: time.Hour})
	srv.WaitIndexed(t)
	dir := t.TempDir()
	pages := map[string]string{} // file → what it is
	save := func(what string, r webtest.Response) {
		t.Helper()
		if !strings.Contains(r.Body, "<html") {
			t.Fatalf("%s: not a page (status %d)", what, r.Status)
		}
		name := filepath.Join(dir, fmt.Sprintf("p%03d.html", len(pages)))
		if err := os.WriteFile(name, []byte(r.Body), 0o600); err != nil {
			t.Fatal(err)
		}
		pages[name] = what
	}
	get := func(b *webtest.Browser, who, path string, status int) {
		t.Helper()
		save(who+" GET "+path, b.Page(t, path, status))
	}

	anon := srv.NewBrowser(t)
	get(anon, "anonymous", "/signin", http.StatusOK)
	get(anon, "anonymous", "/signin?tab=casco", http.StatusOK)
	save("anonymous POST /signin (a bad key)", anon.Post("/signin", url.Values{"key": {"sk_test_nonsense"}}))
	save("anonymous POST /signin/partner (a bad password)", anon.Post("/signin/partner", url.Values{"account": {sandbox.CascoDemoAccount}, "password": {"wrong"}}))
	get(anon, "anonymous", "/no/such/page", http.StatusNotFound)

	staff := srv.SignedIn(t, sandbox.KeyASecretTest)
	for _, p := range []struct {
		path   string
		status int
	}{
		{"/policies", http.StatusOK},
		{"/policies?q=berz", http.StatusOK},
		{"/policies?q=zzzzzz", http.StatusOK},
		{"/policies?status=cancelled&sort=-gross_premium&size=10", http.StatusOK},
		{"/policies?status=nonsense&created_from=2026-02-01&created_to=2026-01-01", http.StatusBadRequest},
		{"/policies/" + sandbox.FixturePolicyID, http.StatusOK},
		{"/policies/" + sandbox.FixturePolicyID + "/cancel", http.StatusOK},
		{"/policies/new", http.StatusOK},
		{"/policies/tpol_doesnotexist000000000000000", http.StatusNotFound},
		{"/audit", http.StatusOK},
		{"/audit?action=cancel&outcome=accepted&no_reason=1&from=2026-01-01&to=2026-12-31", http.StatusOK},
		{"/audit?action=cancel&from=2026-03-01&to=2026-01-01", http.StatusBadRequest},
		{"/review", http.StatusOK},
		{"/review?period=custom&from=2026-03-01&to=2026-01-01", http.StatusBadRequest},
		{"/review/expiring?days=90", http.StatusOK},
		{"/operations", http.StatusOK},
	} {
		get(staff, "staff", p.path, p.status)
	}
	manager := srv.SignedIn(t, sandbox.KeyAPublicTest)
	for _, path := range []string{"/policies", "/policies/" + sandbox.FixturePolicyID, "/review", "/audit"} {
		get(manager, "public key", path, http.StatusOK)
	}
	partner := srv.NewBrowser(t)
	partner.Post("/signin/partner", url.Values{"account": {sandbox.CascoDemoAccount}, "password": {sandbox.CascoDemoPassword}})
	get(partner, "partner", "/casco", http.StatusOK)
	get(partner, "partner", "/casco/audit", http.StatusOK)

	files := make([]string, 0, len(pages))
	for f := range pages {
		files = append(files, f)
	}
	sort.Strings(files)
	args := append([]string{"-jar", jar, "--errors-only", "--format", "json", "--exit-zero-always",
		"--filterpattern", `.*Attribute .hx-[a-z:-]+. not allowed.*`}, files...)
	out, err := exec.Command("java", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("vnu: %v\n%s", err, out)
	}
	var report struct {
		Messages []struct {
			Type, SubType, Message, Extract, URL string
			LastLine                             int
		}
	}
	if err := json.Unmarshal(out, &report); err != nil {
		t.Fatalf("vnu's report: %v\n%.2000s", err, out)
	}
	errors := 0
	for _, m := range report.Messages {
		if m.Type != "error" && m.SubType != "fatal" {
			continue
		}
		errors++
		file := strings.TrimPrefix(m.URL, "file:")
		t.Errorf("%s, line %d: %s\n    %s", pages[file], m.LastLine, m.Message, strings.TrimSpace(m.Extract))
	}
	t.Logf("vnu read %d pages: %d errors", len(files), errors)
}
