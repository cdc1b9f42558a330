// Package config reads the dashboard's configuration from the environment
// once, in run, and hands it down as a value.
package config

import (
	"fmt"
	"log/slog"
	"net"
	"net/url"
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
		LogFormat:       or(strings.ToLower(getenv("LOG_FORMAT")), "text"),
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
	if v := getenv("UPSTREAM_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			problems = append(problems, fmt.Sprintf("UPSTREAM_TIMEOUT %q: want a positive duration such as 10s", v))
		} else {
			c.UpstreamTimeout = d
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

func checkBaseURL(v string) error {
	u, err := url.Parse(v)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return fmt.Errorf("%q is not an http(s) base URL", v)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("%q: a base URL carries no query, fragment or credentials", u.Redacted())
	}
	return nil
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
