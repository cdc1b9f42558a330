package session_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"backoffice/internal/redistest"
	"backoffice/internal/session"
)

const demoKey = "sk_test_OhbVrpoiVgRV5IfLBcbfnoGMbJmTPSIA"

var secret = []byte("0123456789abcdef0123456789abcdef")

func mustManager(t *testing.T, cfg session.Config) *session.Manager {
	t.Helper()
	if cfg.Secret == nil {
		cfg.Secret = secret
	}
	m, err := session.New(cfg)
	if err != nil {
		t.Fatalf("session.New: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// app is a tiny server over a manager: /in signs in, /who tells who is
// signed in, /out signs out, /prefs saves and shows preferences.
func app(m *session.Manager) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/in", func(w http.ResponseWriter, r *http.Request) {
		if err := m.SignInKasko(r.Context(), demoKey, "Ana"); err != nil {
			http.Error(w, err.Error(), 500)
		}
	})
	mux.HandleFunc("/who", func(w http.ResponseWriter, r *http.Request) {
		login, ok := m.Kasko(r.Context())
		if !ok {
			fmt.Fprint(w, "nobody")
			return
		}
		fmt.Fprintf(w, "%s|%s", login.Key, login.DisplayName)
	})
	mux.HandleFunc("/out", func(w http.ResponseWriter, r *http.Request) {
		if err := m.SignOut(r.Context()); err != nil {
			http.Error(w, err.Error(), 500)
		}
	})
	mux.HandleFunc("/prefs", func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			if err := m.SavePreferences(w, r, session.Prefs{Lang: "ro", PageSize: 50, Times: "viewer", ViewerZone: "Europe/Bucharest"}); err != nil {
				http.Error(w, err.Error(), 500)
			}
			return
		}
		p := m.Preferences(r)
		fmt.Fprintf(w, "%s|%d|%s|%s", p.Lang, p.PageSize, p.Times, p.ViewerZone)
	})
	return m.LoadAndSave(mux)
}

type browser struct {
	t      *testing.T
	client *http.Client
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, client: &http.Client{Jar: jar}}
}

func (b *browser) call(method, url string) string {
	b.t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		b.t.Fatalf("%s %s = %d %s", method, url, resp.StatusCode, body)
	}
	return string(body)
}

func TestSignInOutAndCookie(t *testing.T) {
	m := mustManager(t, session.Config{Store: "memory"})
	srv := httptest.NewServer(app(m))
	defer srv.Close()
	b := newBrowser(t)
	if got := b.call("GET", srv.URL+"/who"); got != "nobody" {
		t.Fatalf("before sign-in: %q", got)
	}
	resp, err := b.client.Get(srv.URL + "/in")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "session" {
			cookie = c
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode || cookie.Secure || cookie.Path != "/" {
		t.Fatalf("session cookie = %+v, want HttpOnly, SameSite=Lax, Path=/", cookie)
	}
	if strings.Contains(cookie.Value, "sk_") {
		t.Fatal("the key is in the cookie")
	}
	if got := b.call("GET", srv.URL+"/who"); got != demoKey+"|Ana" {
		t.Fatalf("after sign-in: %q", got)
	}
	b.call("GET", srv.URL+"/out")
	if got := b.call("GET", srv.URL+"/who"); got != "nobody" {
		t.Fatalf("after sign-out: %q", got)
	}
	// The old token is dead even if someone kept it.
	stale := newBrowser(t)
	u, _ := http.NewRequest("GET", srv.URL+"/who", nil)
	u.AddCookie(&http.Cookie{Name: "session", Value: cookie.Value})
	resp, err = stale.client.Do(u)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "nobody" {
		t.Fatalf("a signed-out token still works: %q", body)
	}
}

func TestSecureCookieUsesHostPrefix(t *testing.T) {
	m := mustManager(t, session.Config{Store: "memory", Secure: true})
	rec := httptest.NewRecorder()
	app(m).ServeHTTP(rec, httptest.NewRequest("GET", "https://dash.example/in", nil))
	var names []string
	for _, c := range rec.Result().Cookies() {
		names = append(names, c.Name)
		if c.Name == "__Host-session" && (!c.Secure || c.Path != "/" || c.Domain != "") {
			t.Errorf("__Host- cookie must be Secure, Path=/, no Domain: %+v", c)
		}
	}
	if strings.Join(names, ",") != "__Host-session" {
		t.Errorf("cookies = %v, want __Host-session", names)
	}
}

// TestSQLiteSurvivesRestart signs in, closes the manager (a restart), opens
// a new one on the same DATA_DIR and finds the session, key unsealed.
func TestSQLiteSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	first, err := session.New(session.Config{Store: "sqlite", DataDir: dir, Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(app(first))
	b := newBrowser(t)
	b.call("GET", srv.URL+"/in")
	srv.Close()
	first.Close()

	// The key is sealed at rest: the database file does not contain it.
	raw, err := os.ReadFile(filepath.Join(dir, "sessions.db"))
	if err != nil {
		t.Fatal(err)
	}
	wal, _ := os.ReadFile(filepath.Join(dir, "sessions.db-wal"))
	if bytes.Contains(append(raw, wal...), []byte(demoKey)) || bytes.Contains(append(raw, wal...), []byte("OhbVrpoiVgRV5IfLBcbfnoGMbJmTPSIA")) {
		t.Fatal("the API key is stored in clear in the session database")
	}

	// Cookie jars key on the host, not the port: the new server on
	// 127.0.0.1 receives the cookie the first one set.
	second := mustManager(t, session.Config{Store: "sqlite", DataDir: dir})
	srv2 := httptest.NewServer(app(second))
	defer srv2.Close()
	if got := b.call("GET", srv2.URL+"/who"); got != demoKey+"|Ana" {
		t.Fatalf("after restart: %q", got)
	}

	// Another secret cannot unseal it: the session reads as signed out.
	other := mustManager(t, session.Config{Store: "sqlite", DataDir: dir, Secret: []byte("another-secret-another-secret-xx")})
	srv3 := httptest.NewServer(app(other))
	defer srv3.Close()
	if got := b.call("GET", srv3.URL+"/who"); got != "nobody" {
		t.Fatalf("a session sealed under another secret opened: %q", got)
	}
}

func TestIdleTimeout(t *testing.T) {
	m := mustManager(t, session.Config{Store: "memory", IdleTimeout: 300 * time.Millisecond})
	srv := httptest.NewServer(app(m))
	defer srv.Close()
	b := newBrowser(t)
	b.call("GET", srv.URL+"/in")
	time.Sleep(100 * time.Millisecond)
	if got := b.call("GET", srv.URL+"/who"); got != demoKey+"|Ana" {
		t.Fatalf("within the idle timeout: %q", got)
	}
	time.Sleep(500 * time.Millisecond)
	if got := b.call("GET", srv.URL+"/who"); got != "nobody" {
		t.Fatalf("after the idle timeout: %q, want nobody", got)
	}
}

func TestPreferencesOutliveSignOut(t *testing.T) {
	m := mustManager(t, session.Config{Store: "memory"})
	srv := httptest.NewServer(app(m))
	defer srv.Close()
	b := newBrowser(t)
	if got := b.call("GET", srv.URL+"/prefs"); got != "|20|policy|" {
		t.Fatalf("defaults = %q", got)
	}
	b.call("GET", srv.URL+"/in")
	b.call("POST", srv.URL+"/prefs")
	b.call("GET", srv.URL+"/out")
	if got := b.call("GET", srv.URL+"/prefs"); got != "ro|50|viewer|Europe/Bucharest" {
		t.Fatalf("after sign-out = %q", got)
	}
	// A forged cookie is ignored.
	req := httptest.NewRequest("GET", "/prefs", nil)
	req.AddCookie(&http.Cookie{Name: "prefs", Value: "forged"})
	rec := httptest.NewRecorder()
	app(m).ServeHTTP(rec, req)
	if rec.Body.String() != "|20|policy|" {
		t.Fatalf("forged cookie read as %q", rec.Body.String())
	}
}

func TestLoadSecret(t *testing.T) {
	dir := t.TempDir()
	a, err := session.LoadSecret("", dir)
	if err != nil || len(a) != 32 {
		t.Fatalf("generated secret: %v, %d bytes", err, len(a))
	}
	b, err := session.LoadSecret("", dir)
	if err != nil || !bytes.Equal(a, b) {
		t.Fatal("the generated secret is not kept")
	}
	info, _ := os.Stat(filepath.Join(dir, "session.secret"))
	if info.Mode().Perm() != 0o600 {
		t.Errorf("secret file mode = %v, want 0600", info.Mode().Perm())
	}
	if _, err := session.LoadSecret("short", dir); err == nil {
		t.Error("a short SESSION_SECRET was accepted")
	}
	env, _ := session.LoadSecret(strings.Repeat("x", 40), dir)
	if string(env) != strings.Repeat("x", 40) {
		t.Error("SESSION_SECRET not used")
	}
	if _, err := session.New(session.Config{Store: "memory", Secret: []byte("short")}); err == nil {
		t.Error("New accepted a short secret")
	}
	if _, err := session.New(session.Config{Store: "nope", Secret: secret}); err == nil || !strings.Contains(err.Error(), "SESSION_STORE") {
		t.Errorf("unknown store: %v", err)
	}
}

// TestRedisSharedByTwoInstances signs in on one dashboard instance and is
// recognised by another that shares the Redis server.
func TestRedisSharedByTwoInstances(t *testing.T) {
	url := redistest.Start(t)
	one := mustManager(t, session.Config{Store: "redis", RedisURL: url})
	two := mustManager(t, session.Config{Store: "redis", RedisURL: url})
	srvOne := httptest.NewServer(app(one))
	defer srvOne.Close()
	srvTwo := httptest.NewServer(app(two))
	defer srvTwo.Close()

	b := newBrowser(t)
	b.call("GET", srvOne.URL+"/in")
	// Cookie jars key on host, not port: 127.0.0.1 serves both instances.
	if got := b.call("GET", srvTwo.URL+"/who"); got != demoKey+"|Ana" {
		t.Fatalf("instance two sees %q", got)
	}
	b.call("GET", srvTwo.URL+"/out")
	if got := b.call("GET", srvOne.URL+"/who"); got != "nobody" {
		t.Fatalf("signed out on two, instance one still sees %q", got)
	}
	if _, err := session.New(session.Config{Store: "redis", RedisURL: "redis://127.0.0.1:1/0", Secret: secret}); err == nil {
		t.Error("New succeeded with an unreachable Redis")
	}
}

func TestCascoLoginBesideKasko(t *testing.T) {
	m := mustManager(t, session.Config{Store: "memory"})
	mux := http.NewServeMux()
	expires := time.Date(2026, 11, 23, 12, 5, 0, 0, time.UTC)
	mux.HandleFunc("/kasko", func(w http.ResponseWriter, r *http.Request) {
		if err := m.SignInKasko(r.Context(), demoKey, "Ana"); err != nil {
			t.Error(err)
		}
	})
	mux.HandleFunc("/casco", func(w http.ResponseWriter, r *http.Request) {
		if err := m.SignInCasco(r.Context(), session.CascoLogin{Account: "broker", AccessToken: "eyJ.access", RefreshToken: "refresh-1", Expires: expires}); err != nil {
			t.Error(err)
		}
	})
	mux.HandleFunc("/renew", func(w http.ResponseWriter, r *http.Request) {
		l, _ := m.Casco(r.Context())
		l.AccessToken, l.RefreshToken, l.Expires = "eyJ.access2", "refresh-2", expires.Add(5*time.Minute)
		if err := m.UpdateCasco(r.Context(), l); err != nil {
			t.Error(err)
		}
	})
	mux.HandleFunc("/casco-out", func(w http.ResponseWriter, r *http.Request) { m.SignOutCasco(r.Context()) })
	mux.HandleFunc("/who", func(w http.ResponseWriter, r *http.Request) {
		k, hasK := m.Kasko(r.Context())
		c, hasC := m.Casco(r.Context())
		fmt.Fprintf(w, "%v %s|%v %s %s %s %s", hasK, k.Key, hasC, c.Account, c.AccessToken, c.RefreshToken, c.Expires.Format(time.RFC3339))
	})
	srv := httptest.NewServer(m.LoadAndSave(mux))
	defer srv.Close()
	b := newBrowser(t)
	b.call("GET", srv.URL+"/kasko")
	b.call("GET", srv.URL+"/casco")
	if got, want := b.call("GET", srv.URL+"/who"), "true "+demoKey+"|true broker eyJ.access refresh-1 2026-11-23T12:05:00Z"; got != want {
		t.Errorf("both logins: %q, want %q", got, want)
	}
	b.call("GET", srv.URL+"/renew")
	if got := b.call("GET", srv.URL+"/who"); !strings.Contains(got, "eyJ.access2 refresh-2 2026-11-23T12:10:00Z") {
		t.Errorf("after renewal: %q", got)
	}
	b.call("GET", srv.URL+"/casco-out")
	if got, want := b.call("GET", srv.URL+"/who"), "true "+demoKey+"|false    0001-01-01T00:00:00Z"; got != want {
		t.Errorf("after leaving Casco: %q, want %q", got, want)
	}
}

func TestFormOwnerPerSession(t *testing.T) {
	m := mustManager(t, session.Config{Store: "memory"})
	mux := http.NewServeMux()
	mux.HandleFunc("/kasko", func(w http.ResponseWriter, r *http.Request) {
		if err := m.SignInKasko(r.Context(), demoKey, ""); err != nil {
			t.Error(err)
		}
	})
	mux.HandleFunc("/casco", func(w http.ResponseWriter, r *http.Request) {
		if err := m.SignInCasco(r.Context(), session.CascoLogin{Account: "broker", AccessToken: "a", RefreshToken: "r"}); err != nil {
			t.Error(err)
		}
	})
	mux.HandleFunc("/owner", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, m.FormOwner(r.Context())) })
	mux.HandleFunc("/out", func(w http.ResponseWriter, r *http.Request) { _ = m.SignOut(r.Context()) })
	srv := httptest.NewServer(m.LoadAndSave(mux))
	defer srv.Close()

	a, b := newBrowser(t), newBrowser(t)
	a.call("GET", srv.URL+"/kasko")
	b.call("GET", srv.URL+"/kasko")
	ownerA := a.call("GET", srv.URL+"/owner")
	if len(ownerA) < 20 {
		t.Fatalf("form owner %q: want a random id", ownerA)
	}
	if again := a.call("GET", srv.URL+"/owner"); again != ownerA {
		t.Errorf("form owner changed between requests: %q then %q", ownerA, again)
	}
	if ownerB := b.call("GET", srv.URL+"/owner"); ownerB == ownerA {
		t.Error("two sessions of one key share a form owner")
	}
	// A partner sign-in beside the key keeps the session's forms.
	a.call("GET", srv.URL+"/casco")
	if got := a.call("GET", srv.URL+"/owner"); got != ownerA {
		t.Errorf("partner sign-in changed the form owner: %q → %q", ownerA, got)
	}
	a.call("GET", srv.URL+"/out")
	a.call("GET", srv.URL+"/kasko")
	if got := a.call("GET", srv.URL+"/owner"); got == ownerA || got == "" {
		t.Errorf("after signing out and in again the form owner is %q (was %q)", got, ownerA)
	}
}

func TestSealForAPurpose(t *testing.T) {
	m := mustManager(t, session.Config{Store: "memory"})
	sealed, err := m.Seal("casco-renewal", []byte("refresh-2"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(sealed), "refresh-2") {
		t.Fatal("sealed value holds the plain text")
	}
	if got, err := m.Unseal("casco-renewal", sealed); err != nil || string(got) != "refresh-2" {
		t.Errorf("Unseal = %q, %v", got, err)
	}
	if _, err := m.Unseal("other", sealed); err == nil {
		t.Error("a value sealed for one purpose opened for another")
	}
	other := mustManager(t, session.Config{Store: "memory", Secret: []byte("another-secret-another-secret-32")})
	if _, err := other.Unseal("casco-renewal", sealed); err == nil {
		t.Error("a value sealed under one secret opened under another")
	}
}
