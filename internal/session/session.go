// Package session keeps who is signed in, server-side (scs), and the
// viewer's preferences, client-side in a signed and encrypted cookie
// (gorilla/sessions). Handlers use this package only; neither library
// leaks out of it.
//
// Credentials (a KASKO API key, later a Casco JWT) are sealed with AES-GCM
// under a server secret before they enter the session store, so a copy of
// the store (a SQLite file, a Redis dump) reveals no key.
package session

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/alexedwards/scs/goredisstore"
	"github.com/alexedwards/scs/sqlite3store"
	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"
	"github.com/redis/go-redis/v9"
	_ "modernc.org/sqlite" // pure-Go SQLite driver "sqlite"
)

// Config chooses the store and the cookie rules.
type Config struct {
	// Store is "sqlite" (default: a file in DataDir, sessions survive a
	// restart), "redis" (RedisURL: several instances share sessions) or
	// "memory" (tests).
	Store    string
	DataDir  string
	RedisURL string
	// IdleTimeout ends a session nobody used for that long (default 30m);
	// Lifetime ends any session that old (default 12h).
	IdleTimeout time.Duration
	Lifetime    time.Duration
	// Secure marks the cookie Secure and names it with the __Host- prefix
	// (TLS, or COOKIE_SECURE=true behind a TLS-terminating proxy).
	Secure bool
	// Secret is the server secret the sealing and cookie keys derive from.
	Secret []byte
	// Logger hears the session store's failures (default: discarded).
	Logger *slog.Logger
}

// Manager is the session layer of the dashboard.
type Manager struct {
	sm        *scs.SessionManager
	seal      cipher.AEAD
	prefs     *prefsCodec
	closer    func() error
	closeOnce sync.Once
	store     string
}

// New opens the configured store.
func New(cfg Config) (*Manager, error) {
	if len(cfg.Secret) < 32 {
		return nil, errors.New("session: the secret must be at least 32 bytes")
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 30 * time.Minute
	}
	if cfg.Lifetime <= 0 {
		cfg.Lifetime = 12 * time.Hour
	}
	if cfg.Store == "" {
		cfg.Store = "sqlite"
	}
	sealKey, err := derive(cfg.Secret, "session-seal", 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(sealKey)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	prefs, err := newPrefsCodec(cfg.Secret, cfg.Secure)
	if err != nil {
		return nil, err
	}

	sm := scs.New()
	sm.IdleTimeout = cfg.IdleTimeout
	sm.Lifetime = cfg.Lifetime
	sm.Cookie.Name = "session"
	sm.Cookie.HttpOnly = true
	sm.Cookie.SameSite = http.SameSiteLaxMode
	sm.Cookie.Path = "/"
	sm.Cookie.Persist = true
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	sm.ErrorFunc = func(w http.ResponseWriter, r *http.Request, err error) {
		if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
			// The browser went away before the session was saved (a
			// second click, a closed tab): nobody reads an answer. What
			// the request changed in the session is lost with it.
			logger.Info("session not saved: request abandoned by the client", "path", r.URL.Path)
			w.WriteHeader(499)
			return
		}
		logger.Error("session store failed", "path", r.URL.Path, "err", err)
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
	}
	if cfg.Secure {
		sm.Cookie.Secure = true
		sm.Cookie.Name = "__Host-session"
	}

	m := &Manager{sm: sm, seal: aead, prefs: prefs, closer: func() error { return nil }, store: cfg.Store}
	switch cfg.Store {
	case "memory":
		// No cleanup goroutine: memstore's StopCleanup races with its
		// start, and this store lives only as long as a test. Expired
		// sessions are still refused on lookup.
		sm.Store = memstore.NewWithCleanupInterval(0)
	case "sqlite":
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("session: %w", err)
		}
		db, err := openSQLite(filepath.Join(cfg.DataDir, "sessions.db"))
		if err != nil {
			return nil, err
		}
		store := sqlite3store.NewWithCleanupInterval(db, 5*time.Minute)
		sm.Store = store
		m.closer = func() error { store.StopCleanup(); return db.Close() }
	case "redis":
		opts, err := redis.ParseURL(cfg.RedisURL)
		if err != nil {
			return nil, fmt.Errorf("session: REDIS_URL: %v", redactURL(err.Error()))
		}
		client := redis.NewClient(opts)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := client.Ping(ctx).Err(); err != nil {
			client.Close()
			return nil, fmt.Errorf("session: redis at %s: %w", opts.Addr, err)
		}
		sm.Store = goredisstore.New(client)
		m.closer = client.Close
	default:
		return nil, fmt.Errorf("session: SESSION_STORE %q: want sqlite, redis or memory", cfg.Store)
	}
	return m, nil
}

// openSQLite opens the session database and creates its table; WAL and a
// busy timeout let concurrent requests write without "database is locked".
func openSQLite(path string) (*sql.DB, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)")
	if err != nil {
		return nil, fmt.Errorf("session: %w", err)
	}
	const schema = `CREATE TABLE IF NOT EXISTS sessions (
		token TEXT PRIMARY KEY,
		data BLOB NOT NULL,
		expiry REAL NOT NULL
	);
	CREATE INDEX IF NOT EXISTS sessions_expiry_idx ON sessions(expiry);`
	if _, err := db.Exec(schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("session: creating the sessions table in %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		db.Close()
		return nil, fmt.Errorf("session: %w", err)
	}
	return db, nil
}

// StoreName is the configured store ("sqlite", "redis", "memory").
func (m *Manager) StoreName() string { return m.store }

// Close releases the store. It may be called more than once.
func (m *Manager) Close() error {
	var err error
	m.closeOnce.Do(func() { err = m.closer() })
	return err
}

// LoadAndSave loads the session of each request and saves it afterwards.
func (m *Manager) LoadAndSave(next http.Handler) http.Handler {
	return m.sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), loadedKey{}, true)))
	}))
}

type loadedKey struct{}

// loaded reports whether the request's session was loaded: pages served
// outside the session middleware (static files, health checks, a refused
// cross-origin request) have none, and are nobody's.
func loaded(ctx context.Context) bool {
	ok, _ := ctx.Value(loadedKey{}).(bool)
	return ok
}

// Keys of the server-side session.
const (
	keyKasko       = "kasko.key.sealed"
	keyDisplayName = "display_name"
	keySignedInAt  = "signed_in_at"
	keyCasco       = "casco.login.sealed"
	keyFormOwner   = "forms.owner"
	keyKept        = "signin.kept"
)

// Kept names the login a sign-in left in the session beside the new one.
type Kept string

// The logins a sign-in may keep.
const (
	KeptNone    Kept = ""
	KeptPartner Kept = "partner"
	KeptKasko   Kept = "kasko"
)

// KaskoLogin is the KASKO credential of a signed-in session.
type KaskoLogin struct {
	// Key is the API key, unsealed; it never leaves the server.
	Key string
	// DisplayName is the name the user gave at sign-in (may be empty).
	DisplayName string
	SignedInAt  time.Time
}

// SignInKasko starts a signed-in session for key: a new session token
// first (no fixation), then the key sealed into the store.
func (m *Manager) SignInKasko(ctx context.Context, key, displayName string) error {
	if err := m.sm.RenewToken(ctx); err != nil {
		return fmt.Errorf("session: %w", err)
	}
	sealed, err := m.sealString(key)
	if err != nil {
		return err
	}
	m.sm.Put(ctx, keyKasko, sealed)
	m.sm.Put(ctx, keyDisplayName, displayName)
	m.sm.Put(ctx, keySignedInAt, time.Now().Unix())
	m.ensureFormOwner(ctx)
	m.noteKept(ctx, KeptPartner, len(m.sm.GetBytes(ctx, keyCasco)) > 0)
	return nil
}

// noteKept records, for the next page, that a sign-in kept the other
// login: a browser someone else signed in before (a shared machine, or a
// session planted through a crafted sign-in form) must not act under
// that login without the user being told.
func (m *Manager) noteKept(ctx context.Context, kept Kept, present bool) {
	if present {
		m.sm.Put(ctx, keyKept, string(kept))
	} else {
		m.sm.Remove(ctx, keyKept)
	}
}

// PopKept returns, once, the login the last sign-in kept beside the new
// one (KeptNone when it kept none).
func (m *Manager) PopKept(ctx context.Context) Kept {
	if !loaded(ctx) {
		return KeptNone
	}
	return Kept(m.sm.PopString(ctx, keyKept))
}

// Kasko returns the session's KASKO login, if it has one.
func (m *Manager) Kasko(ctx context.Context) (KaskoLogin, bool) {
	if !loaded(ctx) {
		return KaskoLogin{}, false
	}
	sealed := m.sm.GetBytes(ctx, keyKasko)
	if len(sealed) == 0 {
		return KaskoLogin{}, false
	}
	key, err := m.openString(sealed)
	if err != nil {
		// Sealed under another secret (rotated): treat as signed out.
		return KaskoLogin{}, false
	}
	return KaskoLogin{Key: key, DisplayName: m.sm.GetString(ctx, keyDisplayName), SignedInAt: time.Unix(m.sm.GetInt64(ctx, keySignedInAt), 0)}, true
}

// CascoLogin is the CascoApi login of a partner session: the account and
// its tokens. The tokens never leave the server.
type CascoLogin struct {
	Account      string    `json:"account"`
	AccessToken  string    `json:"access_token"`
	RefreshToken string    `json:"refresh_token"`
	Expires      time.Time `json:"expires"`
	SignedInAt   time.Time `json:"signed_in_at"`
}

// SignInCasco adds a CascoApi login to the session (a KASKO login, if
// any, stays): a new session token first, then the tokens sealed.
func (m *Manager) SignInCasco(ctx context.Context, l CascoLogin) error {
	if err := m.sm.RenewToken(ctx); err != nil {
		return fmt.Errorf("session: %w", err)
	}
	if l.SignedInAt.IsZero() {
		l.SignedInAt = time.Now()
	}
	m.ensureFormOwner(ctx)
	m.noteKept(ctx, KeptKasko, len(m.sm.GetBytes(ctx, keyKasko)) > 0)
	return m.UpdateCasco(ctx, l)
}

// FormOwner is this session's owner id for one-time form tokens: random,
// made at sign-in and kept with the session (so it is the same on every
// instance), gone with it. Forms opened by one session are nobody
// else's, even under the same key.
func (m *Manager) FormOwner(ctx context.Context) string {
	if !loaded(ctx) {
		return ""
	}
	return m.ensureFormOwner(ctx)
}

// ensureFormOwner makes the id when the session has none yet (sessions
// signed in before it existed). Made at sign-in, it never races with
// itself: two requests of one session could otherwise each save their
// own.
func (m *Manager) ensureFormOwner(ctx context.Context) string {
	if id := m.sm.GetString(ctx, keyFormOwner); id != "" {
		return id
	}
	b := make([]byte, 18)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	id := base64.RawURLEncoding.EncodeToString(b)
	m.sm.Put(ctx, keyFormOwner, id)
	return id
}

// Seal encrypts b for the server's own stores (renewed partner tokens
// shared between instances), under purpose: a value sealed for one
// purpose does not open for another.
func (m *Manager) Seal(purpose string, b []byte) ([]byte, error) {
	nonce := make([]byte, m.seal.NonceSize())
	if _, err := io.ReadFull(rand.Reader, nonce); err != nil {
		return nil, err
	}
	return m.seal.Seal(nonce, nonce, b, []byte("purpose:"+purpose)), nil
}

// Unseal opens what Seal sealed for purpose.
func (m *Manager) Unseal(purpose string, b []byte) ([]byte, error) {
	n := m.seal.NonceSize()
	if len(b) < n {
		return nil, errors.New("session: sealed value too short")
	}
	return m.seal.Open(nil, b[:n], b[n:], []byte("purpose:"+purpose))
}

// UpdateCasco keeps renewed tokens (the upstream rotates them).
func (m *Manager) UpdateCasco(ctx context.Context, l CascoLogin) error {
	b, err := json.Marshal(l) // #nosec G117 -- sealed (AES-GCM) right below, before the session store sees it
	if err != nil {
		return fmt.Errorf("session: %w", err)
	}
	sealed, err := m.sealString(string(b))
	if err != nil {
		return err
	}
	m.sm.Put(ctx, keyCasco, sealed)
	return nil
}

// Casco returns the session's CascoApi login, if it has one.
func (m *Manager) Casco(ctx context.Context) (CascoLogin, bool) {
	if !loaded(ctx) {
		return CascoLogin{}, false
	}
	sealed := m.sm.GetBytes(ctx, keyCasco)
	if len(sealed) == 0 {
		return CascoLogin{}, false
	}
	s, err := m.openString(sealed)
	if err != nil {
		return CascoLogin{}, false
	}
	var l CascoLogin
	if json.Unmarshal([]byte(s), &l) != nil || l.Account == "" {
		return CascoLogin{}, false
	}
	return l, true
}

// SignOutCasco removes the CascoApi login only.
func (m *Manager) SignOutCasco(ctx context.Context) { m.sm.Remove(ctx, keyCasco) }

// SignOutKasko removes the KASKO login only, under a new session token
// (the partner login, if any, stays).
func (m *Manager) SignOutKasko(ctx context.Context) error {
	if err := m.sm.RenewToken(ctx); err != nil {
		return fmt.Errorf("session: %w", err)
	}
	m.sm.Remove(ctx, keyKasko)
	m.sm.Remove(ctx, keyDisplayName)
	m.sm.Remove(ctx, keySignedInAt)
	m.sm.Remove(ctx, keyKept)
	return nil
}

// SignOutPartner removes the CascoApi login only, under a new session
// token (the KASKO login, if any, stays).
func (m *Manager) SignOutPartner(ctx context.Context) error {
	if err := m.sm.RenewToken(ctx); err != nil {
		return fmt.Errorf("session: %w", err)
	}
	m.sm.Remove(ctx, keyCasco)
	m.sm.Remove(ctx, keyKept)
	return nil
}

// SignOut destroys the session; a new, empty one begins on the next
// request.
func (m *Manager) SignOut(ctx context.Context) error {
	if err := m.sm.Destroy(ctx); err != nil {
		return fmt.Errorf("session: %w", err)
	}
	return nil
}

// Put and Get keep small non-secret values (a return path, a pending
// form) in the session.
func (m *Manager) Put(ctx context.Context, key string, value string) { m.sm.Put(ctx, key, value) }

// Get returns a string value, "" when there is none.
func (m *Manager) Get(ctx context.Context, key string) string { return m.sm.GetString(ctx, key) }

// Pop returns and removes a string value.
func (m *Manager) Pop(ctx context.Context, key string) string { return m.sm.PopString(ctx, key) }

func (m *Manager) sealString(s string) ([]byte, error) {
	nonce := make([]byte, m.seal.NonceSize())
	if _, err := io.ReadFull(rand.Reader, nonce); err != nil {
		return nil, err
	}
	return m.seal.Seal(nonce, nonce, []byte(s), []byte(keyKasko)), nil
}

func (m *Manager) openString(b []byte) (string, error) {
	n := m.seal.NonceSize()
	if len(b) < n {
		return "", errors.New("session: sealed value too short")
	}
	plain, err := m.seal.Open(nil, b[:n], b[n:], []byte(keyKasko))
	if err != nil {
		return "", err
	}
	return string(plain), nil
}

// derive makes an independent key for one purpose from the server secret.
func derive(secret []byte, purpose string, n int) ([]byte, error) {
	return hkdf.Key(sha256.New, secret, nil, purpose, n)
}

// LoadSecret returns the server secret: SESSION_SECRET when set (at least
// 32 characters), otherwise the secret kept in dataDir, generated on first
// use, so sessions survive a restart without configuration.
func LoadSecret(fromEnv, dataDir string) ([]byte, error) {
	if fromEnv != "" {
		if len(fromEnv) < 32 {
			return nil, errors.New("SESSION_SECRET must be at least 32 characters")
		}
		return []byte(fromEnv), nil
	}
	path := filepath.Join(dataDir, "session.secret")
	if b, err := os.ReadFile(path); err == nil { // #nosec G304 -- DATA_DIR/session.secret, a path of our own
		secret, err := hex.DecodeString(strings.TrimSpace(string(b)))
		if err != nil || len(secret) < 32 {
			return nil, fmt.Errorf("session: %s is damaged; delete it to generate a new one (every session ends)", path)
		}
		return secret, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("session: %w", err)
	}
	secret := make([]byte, 32)
	if _, err := io.ReadFull(rand.Reader, secret); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("session: %w", err)
	}
	if err := os.WriteFile(path, []byte(hex.EncodeToString(secret)+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("session: %w", err)
	}
	return secret, nil
}

func redactURL(s string) string {
	if i := strings.Index(s, "://"); i >= 0 {
		if j := strings.Index(s[i+3:], "@"); j >= 0 {
			return s[:i+3] + "REDACTED" + s[i+3+j:]
		}
	}
	return s
}

// Secure reports whether cookies are Secure with the __Host- prefix,
// that is whether the dashboard is served over TLS.
func (m *Manager) Secure() bool { return m != nil && m.sm.Cookie.Secure }
