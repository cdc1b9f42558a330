package apiclient_test

import (
	"strings"
	"testing"
	"time"

	"backoffice/apiclient"
)

func TestRedact(t *testing.T) {
	jwt := "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJkZW1vIiwiZXhwIjoxNzkwMDAwMDAwfQ.c2lnbmF0dXJlLWJ5dGVz"
	cases := []struct{ in, want string }{
		{"key sk_test_OhbVrpoiVgRV5IfLBcbfnoGMbJmTPSIA here", "key sk_test_… here"},
		{"token " + jwt + " rejected", "token REDACTED-JWT rejected"},
		{"GET /x?signature=abc&refresh_token=rt-1&password=p%40ss", "GET /x?signature=REDACTED&refresh_token=REDACTED&password=REDACTED"},
		{"nothing secret", "nothing secret"},
	}
	for _, tc := range cases {
		if got := apiclient.Redact(tc.in); got != tc.want {
			t.Errorf("Redact(%q): got %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := apiclient.RedactSecrets("refused Refresh opaque-rt-123 for pw hunter22", "opaque-rt-123", "hunter22", "a", ""); got != "refused Refresh REDACTED for pw REDACTED" {
		t.Errorf("RedactSecrets: got %q", got)
	}
}

func TestConfigOptions(t *testing.T) {
	c := apiclient.NewConfig("ua/1", 3*time.Second)
	for _, bad := range []apiclient.ConfigOption{apiclient.WithHTTPClient(nil), apiclient.WithTimeout(0),
		apiclient.WithLogger(nil), apiclient.WithUserAgent("x\ny"), apiclient.WithObserver(nil)} {
		if err := bad(&c); err == nil {
			t.Error("bad option: got nil error")
		}
	}
	c.Finish()
	if c.HTTPClient == nil || c.Logger == nil || c.Timeout != 3*time.Second || c.UserAgent != "ua/1" {
		t.Errorf("Finish: got %+v", c)
	}
}

func TestParseBaseURLAndJoinPath(t *testing.T) {
	for _, bad := range []string{"", "ftp://h", "http://", "http://h/?q=1", "http://u:p@h/", "http://h/#f"} {
		if _, err := apiclient.ParseBaseURL("x", bad); err == nil || !strings.HasPrefix(err.Error(), "x: ") {
			t.Errorf("ParseBaseURL(%q): got %v, want an x: error", bad, err)
		}
	}
	u, err := apiclient.ParseBaseURL("x", "http://h/casco/")
	if err != nil {
		t.Fatal(err)
	}
	got := apiclient.JoinPath(u, "nomenclature", "vehicle-model", "Land Rover/?")
	if got.String() != "http://h/casco/nomenclature/vehicle-model/Land%20Rover%2F%3F" || got.Path != "/casco/nomenclature/vehicle-model/Land Rover/?" {
		t.Errorf("JoinPath: got %s (path %q)", got, got.Path)
	}
	if u.String() != "http://h/casco" {
		t.Errorf("JoinPath changed its base: %s", u)
	}
}

func TestIsJSON(t *testing.T) {
	for ct, want := range map[string]bool{"": true, "application/json": true, "application/json; charset=utf-8": true,
		"application/vnd.kasko.v2+json": true, "text/html": false, "application/pdf": false, ";;": false} {
		if got := apiclient.IsJSON(ct); got != want {
			t.Errorf("IsJSON(%q): got %v, want %v", ct, got, want)
		}
	}
}
