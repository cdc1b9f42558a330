package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"backoffice/apiclient/casco"
	"backoffice/apiclient/kasko"
	"backoffice/apiclient/push"
	"backoffice/handlers"
	cascopages "backoffice/handlers/casco"
	kaskopages "backoffice/handlers/kasko"
	"backoffice/handlers/webhooks"
	"backoffice/internal/audit"
	"backoffice/internal/config"
	"backoffice/internal/exports"
	"backoffice/internal/i18n"
	"backoffice/internal/index"
	"backoffice/internal/indexsync"
	"backoffice/internal/metrics"
	"backoffice/internal/paths"
	"backoffice/internal/quotes"
	"backoffice/internal/sandbox"
	"backoffice/internal/savedviews"
	"backoffice/internal/session"
	"backoffice/internal/sqlstore"
	"backoffice/internal/throttle"
	"backoffice/internal/tokens"
	"backoffice/static"
	"backoffice/web"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// run is the whole program: it reads the configuration, starts the sandbox
// when no upstream is configured, wires the dependencies and serves until
// ctx ends. It is the only place where concrete types meet.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	flags := flag.NewFlagSet("dashboard", flag.ContinueOnError)
	flags.SetOutput(stdout)
	showVersion := flags.Bool("version", false, "print the version and exit")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if *showVersion {
		fmt.Fprintln(stdout, version)
		return nil
	}

	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	if rest := flags.Args(); len(rest) > 0 {
		return runCommand(ctx, cfg, rest, stdout)
	}
	log := newLogger(cfg, stdout)

	restrictUmask()
	if err := prepareDataDir(cfg.DataDir); err != nil {
		return err
	}

	features := handlers.Features{}
	var sb *sandbox.Sandbox
	if cfg.Sandbox() {
		base, started, stopSandbox, err := startSandbox(getenv, log)
		if err != nil {
			return err
		}
		defer stopSandbox()
		sb = started
		for _, c := range sb.Credentials() {
			features.DemoKeys = append(features.DemoKeys, handlers.DemoKey{Key: c.Key, Distributor: c.DistributorName, Kind: c.Kind, Mode: c.Mode})
		}
		cfg.KaskoSortFields = sandbox.SortableFields()
		cfg.KaskoProducts = map[string]string{}
		for _, p := range sb.Products() {
			cfg.KaskoProducts[p.ProductID] = p.Name
		}
		cfg.KaskoAPIURL = base + sandbox.KaskoPrefix
		cfg.KaskoPushURL = base + sandbox.PushPrefix
		cfg.CascoAPIURL = base + sandbox.CascoPrefix
		for _, a := range sb.CascoAccounts() {
			features.DemoPartners = append(features.DemoPartners, handlers.DemoPartner{Account: a.Account, Password: a.Password, Name: a.Name})
		}
		features.SandboxURL = base + "/_sandbox"
		log.Info("sandbox mode: no upstream configured, using the built-in sandbox",
			slog.String("sandbox", base),
			slog.String("demo_credentials", features.SandboxURL))
	}
	features.Kasko = cfg.KaskoAPIURL != ""
	features.Push = cfg.KaskoPushURL != ""
	features.Casco = cfg.CascoAPIURL != ""
	log.Info("upstreams",
		slog.String("kasko_api", orOff(cfg.KaskoAPIURL)),
		slog.String("kasko_push", orOff(cfg.KaskoPushURL)),
		slog.String("casco_api", orOff(cfg.CascoAPIURL)))

	assets, err := static.New()
	if err != nil {
		return err
	}
	catalog, err := i18n.New()
	if err != nil {
		return err
	}
	secret, err := session.LoadSecret(cfg.SessionSecret, cfg.DataDir)
	if err != nil {
		return err
	}
	sessions, err := session.New(session.Config{
		Logger:      log,
		Store:       cfg.SessionStore,
		DataDir:     cfg.DataDir,
		RedisURL:    cfg.RedisURL,
		IdleTimeout: cfg.SessionIdleTimeout,
		Lifetime:    cfg.SessionLifetime,
		Secure:      cfg.CookieSecure,
		Secret:      secret,
	})
	if err != nil {
		return err
	}
	defer sessions.Close()
	log.Info("sessions", slog.String("store", sessions.StoreName()),
		slog.Duration("idle_timeout", cfg.SessionIdleTimeout), slog.Duration("lifetime", cfg.SessionLifetime))

	// Opened after the sessions, so that it closes after serve has
	// drained the requests that may still append to it.
	auditPath := filepath.Join(cfg.DataDir, "audit.db")
	auditLog, err := audit.Open(ctx, audit.Config{Path: auditPath, DatabaseURL: cfg.AuditDatabaseURL})
	if err != nil {
		return err
	}
	defer auditLog.Close()
	auditStore := "sqlite " + auditPath
	if cfg.AuditDatabaseURL != "" {
		auditStore = "postgresql" // the URL carries a password: never logged
	}
	log.Info("audit log", slog.String("store", auditStore))

	// Beside the audit log: a SQLite file of its own, or the audit log's
	// PostgreSQL database (tables quotes_…).
	quotesPath := filepath.Join(cfg.DataDir, "quotes.db")
	quoteStore, err := quotes.Open(ctx, quotes.Config{Path: quotesPath, DatabaseURL: cfg.AuditDatabaseURL})
	if err != nil {
		return err
	}
	defer quoteStore.Close()
	quotesStore := "sqlite " + quotesPath
	if cfg.AuditDatabaseURL != "" {
		quotesStore = "postgresql" // the URL carries a password: never logged
	}
	log.Info("quote history", slog.String("store", quotesStore))

	// One-time form tokens and CascoApi renewals, shared by every
	// instance: the audit log's PostgreSQL when there is one, else Redis
	// when sessions are there, else a SQLite file of this instance.
	tokensCfg := tokens.Config{Path: filepath.Join(cfg.DataDir, "tokens.db"), DatabaseURL: cfg.AuditDatabaseURL}
	if cfg.SessionStore == "redis" {
		tokensCfg.RedisURL = cfg.RedisURL
	}
	tokenStore, err := tokens.Open(ctx, tokensCfg)
	if err != nil {
		return err
	}
	defer tokenStore.Close()
	log.Info("form tokens", slog.String("store", tokensCfg.Backend()))

	// Export jobs and their files, where every instance can follow them:
	// the audit log's PostgreSQL when there is one, else a SQLite file.
	exportStore, err := exports.Open(ctx, exports.Config{Path: filepath.Join(cfg.DataDir, "exports.db"), DatabaseURL: cfg.AuditDatabaseURL})
	if err != nil {
		return err
	}
	defer exportStore.Close()
	log.Info("exports", slog.String("store", exportStore.Backend()))
	// Finished files hold personal data: they go at their expiry, not
	// at the next export. The pruner stops when the store closes.
	exportStore.PruneEvery(5*time.Minute, func(err error) { log.Warn("exports: pruning expired files", "err", err) })

	// The policy list's saved views, beside the audit log: a SQLite file
	// of their own, or the audit log's PostgreSQL (tables savedviews_…).
	viewsCfg := savedviews.Config{Path: filepath.Join(cfg.DataDir, "savedviews.db"), DatabaseURL: cfg.AuditDatabaseURL}
	viewStore, err := savedviews.Open(ctx, viewsCfg)
	if err != nil {
		return err
	}
	defer viewStore.Close()
	log.Info("saved views", slog.String("store", viewsCfg.Backend()))

	// Metrics, on a listener of their own (METRICS_ADDR; off when unset).
	// Opened before the dashboard's, so that a port taken fails start-up,
	// and closed after it has drained, so that a scrape sees the drain.
	var m *metrics.Metrics
	if cfg.MetricsAddr != "" {
		m = metrics.New()
		stop, err := serveMetrics(cfg.MetricsAddr, m, log)
		if err != nil {
			return err
		}
		defer stop()
	}

	// Failed sign-ins are counted where every instance sees them: Redis
	// when sessions are there (fast, keys expire by themselves, falls
	// back to memory when Redis is away), else the audit log's
	// PostgreSQL, else this process (one instance; a restart forgets).
	var limiter *throttle.Counting
	throttleStore := "memory"
	switch {
	case cfg.SessionStore == "redis":
		limiter, err = throttle.OpenRedis(ctx, throttle.RedisConfig{URL: cfg.RedisURL, Log: log}, throttle.DefaultLimits)
		throttleStore = "redis"
	case cfg.AuditDatabaseURL != "":
		limiter, err = throttle.OpenSQL(ctx, sqlstore.Config{DatabaseURL: cfg.AuditDatabaseURL, URLSetting: "AUDIT_DATABASE_URL"}, throttle.DefaultLimits)
		throttleStore = "postgresql"
	default:
		limiter, err = throttle.NewMemory(throttle.DefaultLimits)
	}
	if err != nil {
		return err
	}
	defer limiter.Close()
	log.Info("sign-in throttle", slog.String("store", throttleStore), slog.Int("trusted_proxies", len(cfg.TrustedProxies)))
	guard := throttle.NewGuard(throttle.GuardConfig{Limiter: limiter, TrustedProxies: cfg.TrustedProxies, Failure: m.SignInFailure, Log: log})

	var kaskoFor func(string) kaskopages.PolicyAPI
	var kaskoClient *kasko.Client
	if cfg.KaskoAPIURL != "" {
		opts := []kasko.Option{kasko.WithTimeout(cfg.UpstreamTimeout), kasko.WithLogger(log), kasko.WithUserAgent("policy-backoffice/" + version)}
		if m != nil {
			opts = append(opts, kasko.WithObserver(m.ObserveUpstream))
		}
		kc, err := kasko.New(cfg.KaskoAPIURL, opts...)
		if err != nil {
			return err
		}
		kaskoFor = func(key string) kaskopages.PolicyAPI { return kc.WithKey(key) }
		kaskoClient = kc
	}

	// The policy index: search, filters and counts the upstream list
	// cannot give. Listening starts here, before the routes are built, so
	// that in sandbox mode the webhooks can be registered to this address.
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	defer ln.Close()
	idx, err := index.Open(ctx, indexConfig(cfg))
	if err != nil {
		return err
	}
	defer idx.Close()
	indexKeys, webhookSecrets := cfg.IndexKeys, cfg.WebhookSecrets
	if sb != nil {
		indexKeys, webhookSecrets, err = sandboxIndex(cfg, sb, "http://"+ln.Addr().String())
		if err != nil {
			return err
		}
	}
	var syncer *indexsync.Syncer
	if len(indexKeys) > 0 && kaskoClient != nil {
		syncer, err = indexsync.New(indexsync.Config{Store: idx, Client: kaskoClient, Keys: indexKeys, Rate: cfg.IndexRate,
			PollEvery: cfg.IndexPoll, ReconcileEvery: cfg.IndexReconcile, Log: log.With(slog.String("component", "index"))})
		if err != nil {
			return err
		}
		syncCtx, stopSync := context.WithCancel(context.WithoutCancel(ctx))
		synced := make(chan struct{})
		go func() { defer close(synced); syncer.Run(syncCtx) }()
		// Deferred after idx.Close, so it runs first: the sync stops
		// before its store closes.
		defer func() { stopSync(); <-synced }()
	}
	indexStore := "sqlite " + indexConfig(cfg).Path
	if cfg.AuditDatabaseURL != "" {
		indexStore = "postgresql" // the URL carries a password: never logged
	}
	log.Info("policy index", slog.String("store", indexStore), slog.Int("keys", len(indexKeys)), slog.Int("webhook_tenants", len(webhookSecrets)))
	var hooks http.Handler
	var poke func(string)
	if syncer != nil {
		hooks = webhooks.New(webhooks.Deps{Store: idx, Secrets: webhookSecrets, Key: syncer.Key, Get: webhooks.GetWith(kaskoClient), Log: log.With(slog.String("component", "webhooks"))})
		poke = syncer.Poke
	}

	var pushFor func(string) kaskopages.PushAPI
	if cfg.KaskoPushURL != "" {
		opts := []push.Option{push.WithTimeout(cfg.UpstreamTimeout), push.WithLogger(log), push.WithUserAgent("policy-backoffice/" + version)}
		if m != nil {
			opts = append(opts, push.WithObserver(m.ObserveUpstream))
		}
		pc, err := push.New(cfg.KaskoPushURL, opts...)
		if err != nil {
			return err
		}
		pushFor = func(key string) kaskopages.PushAPI { return pc.WithKey(key) }
	}
	var cascoClient *casco.Client
	if cfg.CascoAPIURL != "" {
		opts := []casco.Option{casco.WithTimeout(cfg.UpstreamTimeout), casco.WithLogger(log), casco.WithUserAgent("policy-backoffice/" + version)}
		if m != nil {
			opts = append(opts, casco.WithObserver(m.ObserveUpstream))
		}
		cascoClient, err = casco.New(cfg.CascoAPIURL, opts...)
		if err != nil {
			return err
		}
	}
	var variants []kaskopages.PushVariant
	for _, v := range cfg.PushVariants {
		// The push API's documented product (ARAG AS24) is German: its
		// "today" is Berlin's.
		variants = append(variants, kaskopages.PushVariant{ID: v.ID, Name: v.Name, Zone: "Europe/Berlin", AllowPastStart: v.AllowPastStart})
	}

	var probes []web.Upstream
	for _, u := range []web.Upstream{{Name: "kasko", URL: cfg.KaskoAPIURL}, {Name: "push", URL: cfg.KaskoPushURL + "/"}, {Name: "casco", URL: cfg.CascoAPIURL}} {
		if u.URL != "" && u.URL != "/" {
			probes = append(probes, u)
		}
	}
	root, err := web.New(web.Config{
		Logger:   log,
		Sessions: sessions,
		Assets:   assets,
		Catalog:  catalog,
		Features: features,
		Kasko: kaskopages.Deps{
			Kasko:          kaskoFor,
			Push:           pushFor,
			PushVariants:   variants,
			Audit:          auditLog,
			SortableFields: cfg.KaskoSortFields,
			ProductNames:   cfg.KaskoProducts,
			Throttle:       guard,
			Index:          idx,
			Poke:           poke,
			SavedViews:     viewStore,
			Exports:        exportStore,
		},
		Casco:        cascopages.Deps{Casco: cascoClient, Quotes: quoteStore, Audit: auditLog, Throttle: guard},
		Tokens:       tokenStore,
		WriteTimeout: writeTimeout(cfg.UpstreamTimeout),
		Metrics:      m,
		Upstreams:    probes,
		Stores: map[string]func(context.Context) error{"audit": func(ctx context.Context) error {
			_, err := auditLog.List(ctx, audit.Filter{Limit: 1})
			if err != nil {
				log.WarnContext(ctx, "readiness: audit log unavailable", "err", err)
			}
			return err
		}, "quotes": func(ctx context.Context) error {
			_, err := quoteStore.ListDrafts(ctx, "readiness", quotes.Filter{Limit: 1})
			if err != nil {
				log.WarnContext(ctx, "readiness: quote history unavailable", "err", err)
			}
			return err
		}},
		ProbeTimeout: min(cfg.UpstreamTimeout, 5*time.Second),
		Webhooks:     hooks,
	})
	if err != nil {
		return err
	}

	srv := &http.Server{
		Handler:           root,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      2 * time.Minute, // document downloads stream through
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("dashboard listening", slog.String("url", "http://"+ln.Addr().String()), slog.String("version", version))
	return serve(ctx, srv, root, exportStore.Drain, ln, cfg.ShutdownDelay, writeTimeout(cfg.UpstreamTimeout)+15*time.Second, log)
}

// prepareDataDir creates DATA_DIR private (0700), or refuses one that
// every user may write to: anyone on the machine could then swap the
// session secret or a database for their own, or read what is created
// before its mode is set.
func prepareDataDir(dir string) error {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("DATA_DIR: %w", err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("DATA_DIR: %w", err)
	case !fi.IsDir():
		return fmt.Errorf("DATA_DIR %s is not a directory", dir)
	case fi.Mode().Perm()&0o002 != 0:
		return fmt.Errorf("DATA_DIR %s is writable by every user (mode %04o): make it private to the dashboard's user (chmod 700 %s)",
			dir, fi.Mode().Perm(), dir)
	}
	return nil
}

// serveMetrics serves m at GET /metrics on addr until stop is called.
func serveMetrics(addr string, m *metrics.Metrics, log *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on METRICS_ADDR %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	go func() {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics server", "err", err)
		}
	}()
	log.Info("metrics listening", slog.String("url", "http://"+ln.Addr().String()+"/metrics"))
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}

// writeTimeout bounds an upstream write detached from its request. The
// longest is a CASCO conversion: an attempt refused with 401, a token
// renewal (which may wait for another instance's, up to one upstream
// timeout more), the second attempt, each bounded by UPSTREAM_TIMEOUT;
// then the records, which have a deadline of their own.
func writeTimeout(upstream time.Duration) time.Duration {
	return 4*upstream + 10*time.Second
}

// serve runs srv until ctx ends, then shuts down in order: readiness
// turns false first (a balancer stops sending work), then the requests
// in flight finish, then the upstream writes that run detached from their
// requests finish and are recorded; all of it within bound (long enough
// for the longest write and its records), and only then do the stores
// close (run's deferred calls).
//
// drainExports waits in the same bound for the exports this instance
// runs (detached too); those still running when it ends are failed, with
// a retry for their owners.
func serve(ctx context.Context, srv *http.Server, app *web.Server, drainExports func(context.Context) bool, ln net.Listener, delay, bound time.Duration, log *slog.Logger) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: readiness off, finishing requests and upstream writes in flight")
	app.StopAccepting()
	if delay > 0 {
		// Still serving, readiness off: the balancer's checks see it.
		time.Sleep(delay)
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), delay+bound)
	defer cancel()
	shutdownErr := srv.Shutdown(shutdownCtx)
	// Whatever became of the requests, the writes they started are
	// waited for: their outcome is recorded before the stores close.
	if !app.Drain(shutdownCtx) {
		log.Error("shutdown: upstream writes still running were cut off; their outcome is unknown to this instance")
	}
	if !drainExports(shutdownCtx) {
		log.Warn("shutdown: exports still running were stopped; their owners can start them again")
	}
	if shutdownErr != nil {
		return shutdownErr
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// sandboxIndex is the index set-up of sandbox mode: the demo secret keys
// (unless INDEX_KEYS says otherwise) and, for each, a webhook registered
// with the sandbox to this dashboard's address, whose secret the
// receiver then checks, as an operator's KASKO_WEBHOOK_SECRETS would say.
func sandboxIndex(cfg config.Config, sb *sandbox.Sandbox, self string) ([]string, map[string][]string, error) {
	keys := cfg.IndexKeys
	if !cfg.IndexKeysSet {
		for _, c := range sb.Credentials() {
			if c.Kind == "secret" {
				keys = append(keys, c.Key)
			}
		}
	}
	secrets := map[string][]string{}
	for tenant, s := range cfg.WebhookSecrets {
		secrets[tenant] = slices.Clone(s)
	}
	for _, c := range sb.Credentials() {
		if c.Kind != "secret" || !slices.Contains(keys, c.Key) {
			continue
		}
		tenant := indexsync.TenantOf(c.Key, c.DistributorID)
		hook, err := sb.AddWebhook(c.Key, self+paths.WebhooksKasko+"?tenant="+url.QueryEscape(tenant))
		if err != nil {
			return nil, nil, fmt.Errorf("sandbox webhooks: %w", err)
		}
		secrets[tenant] = append(secrets[tenant], hook.Secret)
	}
	return keys, secrets, nil
}

// startSandbox serves the sandbox on a loopback port of its own, so that
// the dashboard talks to it over real HTTP exactly as to a real upstream.
func startSandbox(getenv func(string) string, log *slog.Logger) (base string, sb *sandbox.Sandbox, stop func(), err error) {
	opts, err := sandbox.OptionsFromEnv(getenv)
	if err != nil {
		return "", nil, nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, nil, fmt.Errorf("sandbox: %w", err)
	}
	base = "http://" + ln.Addr().String()
	opts.BaseURL = base
	opts.Logger = log.With(slog.String("component", "sandbox"))
	sb, err = sandbox.New(opts)
	if err != nil {
		ln.Close()
		return "", nil, nil, err
	}
	srv := &http.Server{Handler: sb, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return base, sb, func() {
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdownCtx)
		// Its webhook deliveries stop with it.
		_ = sb.Close()
	}, nil
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func orOff(url string) string {
	if url == "" {
		return "off (not configured)"
	}
	return url
}

// runCommand runs an operator's command instead of the server:
//
//	dashboard index status          each tenant's rows and sync state
//	dashboard index purge TENANT    delete everything the index keeps for TENANT
func runCommand(ctx context.Context, cfg config.Config, args []string, stdout io.Writer) error {
	usage := errors.New("usage: dashboard index status | dashboard index purge TENANT (kasko:<distributor_id>:<mode>)")
	if len(args) < 2 || args[0] != "index" {
		return usage
	}
	store, err := index.Open(ctx, indexConfig(cfg))
	if err != nil {
		return err
	}
	defer store.Close()
	switch {
	case args[1] == "status" && len(args) == 2:
		tenants, err := store.Tenants(ctx)
		if err != nil {
			return err
		}
		if len(tenants) == 0 {
			fmt.Fprintln(stdout, "the index holds no tenant")
		}
		for _, t := range tenants {
			n, err := store.Count(ctx, t)
			if err != nil {
				return err
			}
			st, err := store.SyncState(ctx, t)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "%s\t%d rows\tlast full sync %s\tlast poll %s", t, n, stamp(st.FullDone), stamp(st.Polled))
			if st.Full {
				fmt.Fprintf(stdout, "\tsyncing %d/%d", st.Done, st.Total)
			}
			if st.Error != "" {
				fmt.Fprintf(stdout, "\terror: %s", st.Error)
			}
			fmt.Fprintln(stdout)
		}
		return nil
	case args[1] == "purge" && len(args) == 3:
		tenant := args[2]
		if !strings.HasPrefix(tenant, "kasko:") || strings.Count(tenant, ":") != 2 {
			return usage
		}
		n, err := store.Purge(ctx, tenant)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "purged %s: %d rows, its sync state and webhook deliveries deleted\n", tenant, n)
		if len(cfg.IndexKeys) > 0 || cfg.Sandbox() {
			fmt.Fprintln(stdout, "note: while INDEX_KEYS holds a key of this tenant, the next start syncs it again; remove the key first")
		}
		return nil
	}
	return usage
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format(time.RFC3339)
}

// indexConfig is where the policy index lives: the audit log's
// PostgreSQL when there is one (every instance reads it), else a SQLite
// file in DATA_DIR.
func indexConfig(cfg config.Config) index.Config {
	return index.Config{Path: filepath.Join(cfg.DataDir, "index.db"), DatabaseURL: cfg.AuditDatabaseURL}
}
