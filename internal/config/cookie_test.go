package config_test

import (
	"testing"

	"backoffice/internal/config"
)

// TestCookieSecureDefault: cookies are Secure (__Host-) unless the
// dashboard listens on loopback only; an explicit COOKIE_SECURE wins.
func TestCookieSecureDefault(t *testing.T) {
	for _, tt := range []struct {
		addr, cookieSecure string
		want               bool
	}{
		{"", "", false}, // the default ADDR, 127.0.0.1:8080
		{"127.0.0.1:8080", "", false},
		{"127.0.0.2:0", "", false},
		{"[::1]:8080", "", false},
		{"localhost:8080", "", false},
		{"0.0.0.0:8080", "", true},
		{":8080", "", true},
		{"[::]:8080", "", true},
		{"10.0.0.5:8080", "", true},
		{"dashboard.internal:8080", "", true},
		{"0.0.0.0:8080", "false", false},
		{"0.0.0.0:8080", "0", false},
		{"127.0.0.1:8080", "true", true},
		{"127.0.0.1:8080", "1", true},
	} {
		env := map[string]string{"ADDR": tt.addr, "COOKIE_SECURE": tt.cookieSecure}
		c, err := config.Load(func(k string) string { return env[k] })
		if err != nil {
			t.Fatalf("ADDR %q COOKIE_SECURE %q: %v", tt.addr, tt.cookieSecure, err)
		}
		if c.CookieSecure != tt.want {
			t.Errorf("ADDR %q COOKIE_SECURE %q: got CookieSecure %v, want %v", tt.addr, tt.cookieSecure, c.CookieSecure, tt.want)
		}
	}
}
