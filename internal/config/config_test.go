package config_test

import (
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"backoffice/internal/config"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadDefaults(t *testing.T) {
	c, err := config.Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:8080" || c.DataDir != "./var" || c.UpstreamTimeout != 10*time.Second ||
		c.LogLevel != slog.LevelInfo || c.LogFormat != "text" || !c.Sandbox() ||
		c.SessionStore != "sqlite" || c.SessionIdleTimeout != 30*time.Minute || c.SessionLifetime != 12*time.Hour ||
		c.CookieSecure || c.SessionSecret != "" || c.RedisURL != "" || c.AuditDatabaseURL != "" || c.MetricsAddr != "" {
		t.Errorf("defaults = %+v", c)
	}
}

func TestLoadUpstreams(t *testing.T) {
	c, err := config.Load(env(map[string]string{
		"KASKO_API_URL":     "https://api.eu1.kaskocloud.com/",
		"UPSTREAM_TIMEOUT":  "3s",
		"LOG_LEVEL":         "debug",
		"LOG_FORMAT":        "JSON",
		"ADDR":              ":9000",
		"DATA_DIR":          "/data",
		"SESSION_STORE":     "redis",
		"REDIS_URL":         "redis://127.0.0.1:6379/0",
		"SESSION_LIFETIME":  "8h",
		"COOKIE_SECURE":     "true",
		"KASKO_PRODUCTS":    "pr_a=Home contents, pr_b = Bike theft",
		"KASKO_SORT_FIELDS": "created_at,last_name",

		"AUDIT_DATABASE_URL": " postgres://audit:pw@db.internal:5432/audit?sslmode=require ",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Sandbox() {
		t.Error("Sandbox() = true with KASKO_API_URL set")
	}
	if c.KaskoAPIURL != "https://api.eu1.kaskocloud.com" {
		t.Errorf("KaskoAPIURL = %q (trailing slash should go)", c.KaskoAPIURL)
	}
	if c.KaskoPushURL != "" || c.CascoAPIURL != "" {
		t.Errorf("unset upstreams should stay empty: %+v", c)
	}
	if c.UpstreamTimeout != 3*time.Second || c.LogLevel != slog.LevelDebug || c.LogFormat != "json" ||
		c.Addr != ":9000" || c.DataDir != "/data" || c.SessionStore != "redis" || c.RedisURL != "redis://127.0.0.1:6379/0" ||
		c.SessionLifetime != 8*time.Hour || !c.CookieSecure ||
		c.KaskoProducts["pr_a"] != "Home contents" || c.KaskoProducts["pr_b"] != "Bike theft" || len(c.KaskoProducts) != 2 ||
		strings.Join(c.KaskoSortFields, ",") != "created_at,last_name" ||
		c.AuditDatabaseURL != "postgres://audit:pw@db.internal:5432/audit?sslmode=require" {
		t.Errorf("got %+v", c)
	}
}

func TestLoadRejectsBadValues(t *testing.T) {
	tests := []struct {
		name, key, value string
	}{
		{"bad addr", "ADDR", "8080"},
		{"relative url", "KASKO_API_URL", "api.kasko.io"},
		{"ftp url", "KASKO_PUSH_URL", "ftp://push"},
		{"credentials in url", "CASCO_API_URL", "https://user:pw@casco"},
		{"bad timeout", "UPSTREAM_TIMEOUT", "soon"},
		{"negative timeout", "UPSTREAM_TIMEOUT", "-1s"},
		{"bad level", "LOG_LEVEL", "loud"},
		{"bad format", "LOG_FORMAT", "xml"},
		{"bad store", "SESSION_STORE", "mongo"},
		{"redis without url", "SESSION_STORE", "redis"},
		{"bad idle timeout", "SESSION_IDLE_TIMEOUT", "0s"},
		{"bad lifetime", "SESSION_LIFETIME", "forever"},
		{"short secret", "SESSION_SECRET", "tooshort"},
		{"bad cookie flag", "COOKIE_SECURE", "maybe"},
		{"bad products", "KASKO_PRODUCTS", "pr_1"},
		{"bad sort fields", "KASKO_SORT_FIELDS", "-created_at"},
		{"variant without name", "KASKO_PUSH_VARIANTS", "d2va8Owp4WRnkbMpEWDAmVoN1JejB5GE"},
		{"short variant id", "KASKO_PUSH_VARIANTS", "abc=Short"},
		{"audit url not postgres", "AUDIT_DATABASE_URL", "mysql://user:pw@db/audit"},
		{"audit url key=value form", "AUDIT_DATABASE_URL", "host=db user=audit password=pw"},
		{"audit url without host", "AUDIT_DATABASE_URL", "postgres://user:pw@/audit"},
		{"bad shutdown delay", "SHUTDOWN_DELAY", "later"},
		{"negative shutdown delay", "SHUTDOWN_DELAY", "-1s"},
		{"long shutdown delay", "SHUTDOWN_DELAY", "5m"},
		{"trusted proxy not an address", "TRUSTED_PROXIES", "10.0.0.1,proxy.internal"},
		{"trusted proxy bad prefix", "TRUSTED_PROXIES", "10.0.0.0/33"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := config.Load(env(map[string]string{tt.key: tt.value}))
			if err == nil {
				t.Fatalf("Load accepted %s=%q", tt.key, tt.value)
			}
			if !strings.Contains(err.Error(), tt.key) && !(tt.key == "SESSION_STORE" && strings.Contains(err.Error(), "REDIS_URL")) {
				t.Errorf("error %q does not name %s", err, tt.key)
			}
			if strings.Contains(err.Error(), "pw@") {
				t.Errorf("error %q leaks URL credentials", err)
			}
		})
	}
}

func TestPushVariants(t *testing.T) {
	c, err := config.Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.PushVariants) != 1 || c.PushVariants[0] != (config.PushVariant{ID: config.ARAGVariantID, Name: "ARAG AS24"}) {
		t.Errorf("default variants = %+v, want ARAG AS24", c.PushVariants)
	}
	c, err = config.Load(env(map[string]string{"KASKO_PUSH_VARIANTS": "d2va8Owp4WRnkbMpEWDAmVoN1JejB5GE=ARAG AS24, abcdefghijklmnopqrstuvwxyz123456=Backdated cover [past]"}))
	if err != nil {
		t.Fatal(err)
	}
	want := []config.PushVariant{{ID: config.ARAGVariantID, Name: "ARAG AS24"}, {ID: "abcdefghijklmnopqrstuvwxyz123456", Name: "Backdated cover", AllowPastStart: true}}
	if len(c.PushVariants) != 2 || c.PushVariants[0] != want[0] || c.PushVariants[1] != want[1] {
		t.Errorf("variants = %+v, want %+v", c.PushVariants, want)
	}
}

func TestMetricsAddr(t *testing.T) {
	tests := []struct {
		name     string
		env      map[string]string
		want     string // the MetricsAddr loaded, when wantErr is empty
		wantErr  string // a part of the error
		wantName string // the variable the error names
	}{
		{name: "off by default", env: nil, want: ""},
		{name: "ipv4 loopback", env: map[string]string{"METRICS_ADDR": "127.0.0.1:9090"}, want: "127.0.0.1:9090"},
		{name: "other loopback address", env: map[string]string{"METRICS_ADDR": " 127.0.0.2:9090 "}, want: "127.0.0.2:9090"},
		{name: "ipv6 loopback", env: map[string]string{"METRICS_ADDR": "[::1]:9090"}, want: "[::1]:9090"},
		{name: "localhost", env: map[string]string{"METRICS_ADDR": "LocalHost:9090"}, want: "LocalHost:9090"},
		{name: "any port for tests", env: map[string]string{"METRICS_ADDR": "127.0.0.1:0", "ADDR": "127.0.0.1:0"}, want: "127.0.0.1:0"},
		{name: "public when asked", env: map[string]string{"METRICS_ADDR": ":9090", "METRICS_PUBLIC": "true"}, want: ":9090"},
		{name: "public address when asked", env: map[string]string{"METRICS_ADDR": "10.0.0.5:9090", "METRICS_PUBLIC": "1"}, want: "10.0.0.5:9090"},

		{name: "every interface", env: map[string]string{"METRICS_ADDR": ":9090"}, wantErr: "METRICS_PUBLIC=true", wantName: "METRICS_ADDR"},
		{name: "unspecified address", env: map[string]string{"METRICS_ADDR": "0.0.0.0:9090", "METRICS_PUBLIC": "false"}, wantErr: "loopback", wantName: "METRICS_ADDR"},
		{name: "host name is not resolved", env: map[string]string{"METRICS_ADDR": "metrics.internal:9090"}, wantErr: "loopback", wantName: "METRICS_ADDR"},
		{name: "no port", env: map[string]string{"METRICS_ADDR": "127.0.0.1"}, wantErr: "host:port", wantName: "METRICS_ADDR"},
		{name: "bad port", env: map[string]string{"METRICS_ADDR": "127.0.0.1:http"}, wantErr: "port", wantName: "METRICS_ADDR"},
		{name: "port out of range", env: map[string]string{"METRICS_ADDR": "127.0.0.1:70000"}, wantErr: "port", wantName: "METRICS_ADDR"},
		{name: "same as ADDR", env: map[string]string{"METRICS_ADDR": "127.0.0.1:8080"}, wantErr: "differ from ADDR", wantName: "METRICS_ADDR"},
		{name: "bad public flag", env: map[string]string{"METRICS_ADDR": "127.0.0.1:9090", "METRICS_PUBLIC": "yes please"}, wantErr: "true or false", wantName: "METRICS_PUBLIC"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.Load(env(tt.env))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("got error %v, want MetricsAddr %q", err, tt.want)
				}
				if c.MetricsAddr != tt.want {
					t.Errorf("MetricsAddr: got %q, want %q", c.MetricsAddr, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("got MetricsAddr %q, want an error containing %q", c.MetricsAddr, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), tt.wantName) {
				t.Errorf("got error %q, want it to name %s and contain %q", err, tt.wantName, tt.wantErr)
			}
		})
	}
}

func TestShutdownDelay(t *testing.T) {
	c, err := config.Load(env(nil))
	if err != nil || c.ShutdownDelay != time.Second {
		t.Errorf("default = %v (%v), want 1s", c.ShutdownDelay, err)
	}
	for v, want := range map[string]time.Duration{"0s": 0, "2500ms": 2500 * time.Millisecond} {
		c, err := config.Load(env(map[string]string{"SHUTDOWN_DELAY": v}))
		if err != nil || c.ShutdownDelay != want {
			t.Errorf("SHUTDOWN_DELAY=%s: %v (%v), want %v", v, c.ShutdownDelay, err, want)
		}
	}
}

func TestTrustedProxies(t *testing.T) {
	c, err := config.Load(env(nil))
	if err != nil || c.TrustedProxies != nil {
		t.Errorf("default = %v (%v), want none", c.TrustedProxies, err)
	}
	c, err = config.Load(env(map[string]string{"TRUSTED_PROXIES": " 10.0.0.0/8, 192.0.2.7 ,2001:db8::/32,::ffff:198.51.100.1,10.1.2.3/16, "}))
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.7/32"), netip.MustParsePrefix("2001:db8::/32"),
		netip.MustParsePrefix("198.51.100.1/32"), netip.MustParsePrefix("10.1.0.0/16"),
	}
	if !slices.Equal(c.TrustedProxies, want) {
		t.Errorf("TrustedProxies = %v, want %v", c.TrustedProxies, want)
	}
}

func TestIndexSettings(t *testing.T) {
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	c, err := config.Load(env(map[string]string{"INDEX_KEYS": " sk_test_a , sk_live_b,sk_test_a", "INDEX_RATE": "5",
		"KASKO_WEBHOOK_SECRETS": "distA:test=whsec_1,kasko:distA:test=whsec_2,distB:live=whsec_3"}))
	if err != nil {
		t.Fatal(err)
	}
	if !c.IndexKeysSet || len(c.IndexKeys) != 2 || c.IndexKeys[0] != "sk_test_a" || c.IndexKeys[1] != "sk_live_b" {
		t.Errorf("IndexKeys = %v", c.IndexKeys)
	}
	if c.IndexRate != 5 || c.IndexPoll != 10*time.Second || c.IndexReconcile != 6*time.Hour {
		t.Errorf("rate %v poll %v reconcile %v", c.IndexRate, c.IndexPoll, c.IndexReconcile)
	}
	if got := c.WebhookSecrets["kasko:distA:test"]; len(got) != 2 || got[1] != "whsec_2" {
		t.Errorf("secrets for A = %v", got)
	}
	if got := c.WebhookSecrets["kasko:distB:live"]; len(got) != 1 {
		t.Errorf("secrets for B = %v", got)
	}
	c, err = config.Load(env(map[string]string{"INDEX_KEYS": "none"}))
	if err != nil || !c.IndexKeysSet || len(c.IndexKeys) != 0 {
		t.Errorf("none: %v %v %v", c.IndexKeys, c.IndexKeysSet, err)
	}
	for name, kv := range map[string]map[string]string{
		"public key":       {"INDEX_KEYS": "pk_test_x"},
		"rate zero":        {"INDEX_RATE": "0"},
		"rate word":        {"INDEX_RATE": "fast"},
		"poll too short":   {"INDEX_POLL": "10ms"},
		"secret no mode":   {"KASKO_WEBHOOK_SECRETS": "distA=whsec_1"},
		"secret bad mode":  {"KASKO_WEBHOOK_SECRETS": "distA:prod=whsec_1"},
		"secret no prefix": {"KASKO_WEBHOOK_SECRETS": "distA:test=abc"},
	} {
		if _, err := config.Load(env(kv)); err == nil {
			t.Errorf("%s: accepted", name)
		} else if strings.Contains(err.Error(), "pk_test_x") {
			t.Errorf("%s: the error repeats the key: %v", name, err)
		}
	}
}
