// Package config reads the dashboard's configuration from the environment
// once, in run, and hands it down as a value.
package config

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Config is the dashboard's configuration.
type Config struct {
	// Addr is the listen address (ADDR), default 127.0.0.1:8080.
	Addr string
	// DataDir holds whatever the dashboard writes (DATA_DIR), default ./var.
	DataDir string
	// KaskoAPIURL, KaskoPushURL and CascoAPIURL are the upstream base URLs.
	// All empty means sandbox mode.
	KaskoAPIURL  string
	KaskoPushURL string
	CascoAPIURL  string
	// UpstreamTimeout bounds every upstream request (UPSTREAM_TIMEOUT),
	// default 10s.
	UpstreamTimeout time.Duration
	// LogLevel (LOG_LEVEL: debug, info, warn, error) and LogFormat
	// (LOG_FORMAT: text or json).
	LogLevel  slog.Level
	LogFormat string

	// SessionStore is sqlite (default), redis or memory (SESSION_STORE);
	// RedisURL (REDIS_URL) is required for redis.
	SessionStore string
	RedisURL     string
	// SessionIdleTimeout (SESSION_IDLE_TIMEOUT, default 30m) and
	// SessionLifetime (SESSION_LIFETIME, default 12h).
	SessionIdleTimeout time.Duration
	SessionLifetime    time.Duration
	// SessionSecret (SESSION_SECRET) seals credentials in the session store;
	// empty = generated once and kept in DataDir.
	SessionSecret string
	// KaskoSortFields are the fields the KASKO list endpoint sorts by
	// (KASKO_SORT_FIELDS, comma list; default created_at, the one field the
	// upstream documents). Sandbox mode uses the sandbox's own list.
	KaskoSortFields []string
	// KaskoProducts maps product ids to display names (KASKO_PRODUCTS,
	// "pr_…=Home contents,pr_…=Bike theft").
	KaskoProducts map[string]string
	// PushVariants are the product variants offered on the new-policy
	// form (KASKO_PUSH_VARIANTS, "variant_id=Name" pairs; a name ending in
	// " [past]" allows cover to start in the past). Default: ARAG AS24.
	PushVariants []PushVariant
	// CookieSecure makes cookies Secure with the __Host- prefix and sends
	// HSTS (COOKIE_SECURE); by default true unless ADDR is a loopback
	// address, since anywhere else the dashboard is served over TLS.
	CookieSecure bool
	// AuditDatabaseURL (AUDIT_DATABASE_URL, postgres://…) keeps the audit
	// log in PostgreSQL, shared by several instances; empty = a SQLite
	// file in DataDir.
	AuditDatabaseURL string
	// MetricsAddr (METRICS_ADDR, host:port) is where Prometheus metrics
	// are served at /metrics, on a listener of their own so that the
	// dashboard's port never exposes them; empty (the default) = no
	// metrics. They tell traffic, routes and upstream failures apart, so
	// the host must be a loopback address (127.0.0.1, [::1], localhost)
	// unless METRICS_PUBLIC=true says a scraper on another machine
	// reaches it over a network the operator trusts.
	MetricsAddr string
	// ShutdownDelay (SHUTDOWN_DELAY) is how long an instance told to stop
	// keeps serving with /readyz already answering 503, so that a load
	// balancer's health check takes it out of rotation before its
	// listener closes: the check interval times the failures it needs.
	// 0 stops at once.
	ShutdownDelay time.Duration
	// TrustedProxies (TRUSTED_PROXIES, comma list of addresses and CIDR
	// prefixes; empty by default) are the peers whose X-Forwarded-For
	// names the client, for the sign-in throttle's per-address count.
	// Empty, the peer is the client: trusting the header from anyone
	// would let every guess claim a fresh address.
	TrustedProxies []netip.Prefix

	// IndexKeys (INDEX_KEYS, comma list of secret keys) are the keys the
	// policy index syncs with, one per tenant to index; in sandbox mode
	// the demo secret keys unless set. "none" indexes nothing (the list
	// then comes from the upstream and searches by id only).
	IndexKeys    []string
	IndexKeysSet bool
	// IndexRate (INDEX_RATE, requests per second, default 20) bounds the
	// sync's load on the upstream.
	IndexRate float64
	// IndexPoll (INDEX_POLL, default 10s) is how often the head of each
	// list is read for new policies; IndexReconcile (INDEX_RECONCILE,
	// default 6h) how often a full pass removes what the upstream no
	// longer returns.
	IndexPoll      time.Duration
	IndexReconcile time.Duration
	// WebhookSecrets (KASKO_WEBHOOK_SECRETS, comma list of
	// distributor_id:mode=whsec_…) verify the KASKO webhooks received at
	// POST /webhooks/kasko, by tenant ("kasko:<distributor_id>:<mode>").
	WebhookSecrets map[string][]string
}

// Sandbox reports whether no upstream is configured, in which case the
// dashboard starts the built-in sandbox and uses it for every upstream.
func (c Config) Sandbox() bool {
	return c.KaskoAPIURL == "" && c.KaskoPushURL == "" && c.CascoAPIURL == ""
}

// Load reads the configuration; every bad value is reported, by name.
func Load(getenv func(string) string) (Config, error) {
	c := Config{
		Addr:            or(getenv("ADDR"), "127.0.0.1:8080"),
		DataDir:         or(getenv("DATA_DIR"), "./var"),
		UpstreamTimeout: 10 * time.Second,
		ShutdownDelay:   time.Second,
		LogFormat:       or(strings.ToLower(getenv("LOG_FORMAT")), "text"),

		SessionStore:       or(strings.ToLower(getenv("SESSION_STORE")), "sqlite"),
		RedisURL:           getenv("REDIS_URL"),
		SessionIdleTimeout: 30 * time.Minute,
		SessionLifetime:    12 * time.Hour,
		SessionSecret:      getenv("SESSION_SECRET"),

		AuditDatabaseURL: strings.TrimSpace(getenv("AUDIT_DATABASE_URL")),
		MetricsAddr:      strings.TrimSpace(getenv("METRICS_ADDR")),
	}
	var problems []string
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		problems = append(problems, fmt.Sprintf("ADDR %q: want host:port", c.Addr))
	}
	for _, u := range []struct {
		name string
		dst  *string
	}{
		{"KASKO_API_URL", &c.KaskoAPIURL},
		{"KASKO_PUSH_URL", &c.KaskoPushURL},
		{"CASCO_API_URL", &c.CascoAPIURL},
	} {
		v := strings.TrimSpace(getenv(u.name))
		if v == "" {
			continue
		}
		if err := checkBaseURL(v); err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", u.name, err))
			continue
		}
		*u.dst = strings.TrimRight(v, "/")
	}
	for _, d := range []struct {
		name string
		dst  *time.Duration
	}{
		{"UPSTREAM_TIMEOUT", &c.UpstreamTimeout},
		{"SESSION_IDLE_TIMEOUT", &c.SessionIdleTimeout},
		{"SESSION_LIFETIME", &c.SessionLifetime},
	} {
		v := getenv(d.name)
		if v == "" {
			continue
		}
		parsed, err := time.ParseDuration(v)
		if err != nil || parsed <= 0 {
			problems = append(problems, fmt.Sprintf("%s %q: want a positive duration such as 10s or 30m", d.name, v))
			continue
		}
		*d.dst = parsed
	}
	if v := getenv("SHUTDOWN_DELAY"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 || d > time.Minute {
			problems = append(problems, fmt.Sprintf("SHUTDOWN_DELAY %q: want a duration from 0s to 1m", v))
		} else {
			c.ShutdownDelay = d
		}
	}
	c.KaskoSortFields = []string{"created_at"}
	if v := getenv("KASKO_SORT_FIELDS"); v != "" {
		c.KaskoSortFields = nil
		for _, f := range strings.Split(v, ",") {
			f = strings.TrimSpace(f)
			if f == "" || strings.ContainsAny(f, "-+ ") {
				problems = append(problems, fmt.Sprintf("KASKO_SORT_FIELDS %q: want field names separated by commas", v))
				break
			}
			c.KaskoSortFields = append(c.KaskoSortFields, f)
		}
	}
	if v := getenv("KASKO_PRODUCTS"); v != "" {
		c.KaskoProducts = map[string]string{}
		for _, pair := range strings.Split(v, ",") {
			id, name, ok := strings.Cut(pair, "=")
			id, name = strings.TrimSpace(id), strings.TrimSpace(name)
			if !ok || id == "" || name == "" {
				problems = append(problems, fmt.Sprintf("KASKO_PRODUCTS: %q is not product_id=Name", pair))
				break
			}
			c.KaskoProducts[id] = name
		}
	}
	c.PushVariants = []PushVariant{{ID: ARAGVariantID, Name: "ARAG AS24"}}
	if v := getenv("KASKO_PUSH_VARIANTS"); v != "" {
		c.PushVariants = nil
		for _, pair := range strings.Split(v, ",") {
			id, name, ok := strings.Cut(pair, "=")
			id, name = strings.TrimSpace(id), strings.TrimSpace(name)
			past := false
			if n, found := strings.CutSuffix(name, "[past]"); found {
				name, past = strings.TrimSpace(n), true
			}
			if !ok || !validVariantID(id) || name == "" {
				problems = append(problems, fmt.Sprintf("KASKO_PUSH_VARIANTS: %q is not variant_id=Name (a 32-character variant id)", pair))
				break
			}
			c.PushVariants = append(c.PushVariants, PushVariant{ID: id, Name: name, AllowPastStart: past})
		}
	}
	switch c.SessionStore {
	case "sqlite", "memory":
	case "redis":
		if c.RedisURL == "" {
			problems = append(problems, "REDIS_URL: required with SESSION_STORE=redis")
		}
	default:
		problems = append(problems, fmt.Sprintf("SESSION_STORE %q: want sqlite, redis or memory", c.SessionStore))
	}
	if c.SessionSecret != "" && len(c.SessionSecret) < 32 {
		problems = append(problems, "SESSION_SECRET: at least 32 characters")
	}
	if c.AuditDatabaseURL != "" {
		if err := checkPostgresURL(c.AuditDatabaseURL); err != nil {
			problems = append(problems, "AUDIT_DATABASE_URL: "+err.Error())
		}
	}
	if v := getenv("TRUSTED_PROXIES"); strings.TrimSpace(v) != "" {
		p, err := parsePrefixes(v)
		if err != nil {
			problems = append(problems, "TRUSTED_PROXIES: "+err.Error())
		}
		c.TrustedProxies = p
	}
	if problem := checkMetricsAddr(c.MetricsAddr, getenv("METRICS_PUBLIC"), c.Addr); problem != "" {
		problems = append(problems, problem)
	}
	switch v := strings.ToLower(getenv("COOKIE_SECURE")); v {
	case "":
		// Secure unless the dashboard listens on loopback only (plain
		// HTTP on this machine): anywhere else it is reached through a
		// TLS proxy, and a cookie without __Host- could be planted by a
		// neighbouring host or over plain HTTP.
		host, _, err := net.SplitHostPort(c.Addr)
		c.CookieSecure = err != nil || !isLoopback(host)
	case "false", "0":
	case "true", "1":
		c.CookieSecure = true
	default:
		problems = append(problems, fmt.Sprintf("COOKIE_SECURE %q: want true or false", v))
	}
	c.IndexRate, c.IndexPoll, c.IndexReconcile = 20, 10*time.Second, 6*time.Hour
	if v := strings.TrimSpace(getenv("INDEX_KEYS")); v != "" {
		c.IndexKeysSet = true
		if !strings.EqualFold(v, "none") {
			for _, k := range strings.Split(v, ",") {
				k = strings.TrimSpace(k)
				if !strings.HasPrefix(k, "sk_test_") && !strings.HasPrefix(k, "sk_live_") {
					// Never echo the value: it may be a secret with a typo.
					problems = append(problems, "INDEX_KEYS: each entry must be a secret key (sk_test_… or sk_live_…): a public key is refused email and data, so the index could not search them")
					break
				}
				if !slices.Contains(c.IndexKeys, k) {
					c.IndexKeys = append(c.IndexKeys, k)
				}
			}
		}
	}
	if v := getenv("INDEX_RATE"); v != "" {
		r, err := strconv.ParseFloat(v, 64)
		if err != nil || r <= 0 || r > 1000 {
			problems = append(problems, fmt.Sprintf("INDEX_RATE %q: want requests per second, more than 0 and at most 1000", v))
		} else {
			c.IndexRate = r
		}
	}
	for _, d := range []struct {
		name string
		dst  *time.Duration
		min  time.Duration
	}{{"INDEX_POLL", &c.IndexPoll, time.Second}, {"INDEX_RECONCILE", &c.IndexReconcile, time.Minute}} {
		if v := getenv(d.name); v != "" {
			parsed, err := time.ParseDuration(v)
			if err != nil || parsed < d.min {
				problems = append(problems, fmt.Sprintf("%s %q: want a duration of at least %s", d.name, v, d.min))
				continue
			}
			*d.dst = parsed
		}
	}
	if v := strings.TrimSpace(getenv("KASKO_WEBHOOK_SECRETS")); v != "" {
		c.WebhookSecrets = map[string][]string{}
		for _, pair := range strings.Split(v, ",") {
			tenant, secret, ok := strings.Cut(strings.TrimSpace(pair), "=")
			tenant = strings.TrimPrefix(strings.TrimSpace(tenant), "kasko:")
			dist, mode, okTenant := strings.Cut(tenant, ":")
			if !ok || !okTenant || dist == "" || (mode != "test" && mode != "live") || !strings.HasPrefix(secret, "whsec_") {
				problems = append(problems, "KASKO_WEBHOOK_SECRETS: want distributor_id:mode=whsec_… pairs (mode test or live), separated by commas")
				break
			}
			key := "kasko:" + dist + ":" + mode
			c.WebhookSecrets[key] = append(c.WebhookSecrets[key], secret)
		}
	}
	if v := getenv("LOG_LEVEL"); v != "" {
		if err := c.LogLevel.UnmarshalText([]byte(v)); err != nil {
			problems = append(problems, fmt.Sprintf("LOG_LEVEL %q: want debug, info, warn or error", v))
		}
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		problems = append(problems, fmt.Sprintf("LOG_FORMAT %q: want text or json", c.LogFormat))
	}
	if len(problems) > 0 {
		return Config{}, fmt.Errorf("configuration: %s", strings.Join(problems, "; "))
	}
	return c, nil
}

// checkMetricsAddr returns what is wrong with METRICS_ADDR v and
// METRICS_PUBLIC public ("" when nothing is).
func checkMetricsAddr(v, public, addr string) string {
	var open bool
	switch p := strings.ToLower(public); p {
	case "", "false", "0":
	case "true", "1":
		open = true
	default:
		return fmt.Sprintf("METRICS_PUBLIC %q: want true or false", public)
	}
	if v == "" {
		return ""
	}
	host, port, err := net.SplitHostPort(v)
	if err != nil {
		return fmt.Sprintf("METRICS_ADDR %q: want host:port, such as 127.0.0.1:9090", v)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Sprintf("METRICS_ADDR %q: the port must be a number from 0 to 65535", v)
	}
	if v == addr && port != "0" {
		return fmt.Sprintf("METRICS_ADDR %q: must differ from ADDR, the metrics have a listener of their own", v)
	}
	if !open && !isLoopback(host) {
		return fmt.Sprintf("METRICS_ADDR %q: metrics show traffic and upstream failures, so they listen on a loopback address "+
			"(127.0.0.1:%s, [::1]:%s or localhost:%s) unless METRICS_PUBLIC=true", v, port, port, port)
	}
	return ""
}

// isLoopback reports whether host names this machine only. Names other
// than localhost are not resolved: what they resolve to can change after
// the check.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

func checkBaseURL(v string) error {
	u, err := url.Parse(v)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return fmt.Errorf("%q is not an http(s) base URL", v)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("%s://%s%s: a base URL carries no query, fragment or credentials", u.Scheme, u.Host, u.Path)
	}
	return nil
}

// checkPostgresURL accepts the URL form of a PostgreSQL connection
// string. The value is never repeated in the message: it usually carries
// a password.
func checkPostgresURL(v string) error {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return fmt.Errorf("want a postgres:// or postgresql:// URL")
	}
	if u.Host == "" && u.Query().Get("host") == "" {
		return fmt.Errorf("the URL names no host (postgres://user:password@host:5432/database)")
	}
	return nil
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// ARAGVariantID is ARAG AS24's variant on the push API, from its
// documentation.
const ARAGVariantID = "d2va8Owp4WRnkbMpEWDAmVoN1JejB5GE"

// PushVariant is a product variant the push API creates policies for.
type PushVariant struct {
	ID   string
	Name string
	// AllowPastStart lets cover start before today (backdated cover).
	AllowPastStart bool
}

// validVariantID: the push API's variant ids are 32 letters and digits.
func validVariantID(id string) bool {
	if len(id) != 32 {
		return false
	}
	for _, r := range id {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9') {
			return false
		}
	}
	return true
}

// parsePrefixes reads a comma list of IP addresses and CIDR prefixes;
// an address stands for itself alone.
func parsePrefixes(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if strings.Contains(f, "/") {
			p, err := netip.ParsePrefix(f)
			if err != nil {
				return nil, fmt.Errorf("%q is not an IP address or CIDR prefix", f)
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil || a.Zone() != "" {
			return nil, fmt.Errorf("%q is not an IP address or CIDR prefix", f)
		}
		// Peers are compared unmapped (throttle.ClientIP).
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}
