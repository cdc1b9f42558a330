package kasko

import (
	"encoding/base64"
	"strings"
	"testing"
)

func TestRedactSecrets(t *testing.T) {
	header := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	payload := base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"partner-1","exp":1900000000}`))
	jwt := header + "." + payload + ".c2lnbmF0dXJlLXNpZ25hdHVyZQ"
	notHeader := base64.RawURLEncoding.EncodeToString([]byte(`{"kid":"x"}`))
	for _, tt := range []struct{ name, in, want string }{
		{"public key", "pk_test_AbCdEfGhIjKlMnOpQrStUvWxYz012345", "pk_test_…2345"},
		{"secret live key", "sk_live_AbCdEfGhIjKlMnOpQrStUvWxYz01abcd", "sk_live_…abcd"},
		{"key in json", `"distributor_key": "pk_live_AbCdEfGhIjKlMnOpQrStUvWxYz01wxyz",`, `"distributor_key": "pk_live_…wxyz",`},
		{"key in a sentence", "use sk_test_AbCdEfGhIjKlMnOpQrStUvWxYz01QQQQ please", "use sk_test_…QQQQ please"},
		{"two keys", "pk_test_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA1,sk_test_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB2", "pk_test_…AAA1,sk_test_…BBB2"},
		{"already masked", "pk_test_…abcd", "pk_test_…abcd"},
		{"a word ending like a prefix", "risk_test_AbCdEfGhIjKlMnOpQrSt", "risk_test_AbCdEfGhIjKlMnOpQrSt"},
		{"jwt", "token " + jwt, "token JWT…" + jwt[len(jwt)-4:]},
		{"jwt with padding", header + "==." + payload + ".c2lnbmF0dXJl", "JWT…" + "dXJl"},
		{"three segments without alg", notHeader + "." + payload + ".c2lnbmF0dXJl", notHeader + "." + payload + ".c2lnbmF0dXJl"},
		{"host name", "www.example-insurer.com", "www.example-insurer.com"},
		{"version", "policy.version.abcdefgh.12345678.x", "policy.version.abcdefgh.12345678.x"},
		{"plain", "Jānis Bērziņš", "Jānis Bērziņš"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := redactSecrets(tt.in)
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if strings.Contains(got, jwt) {
				t.Errorf("the token survived in %q", got)
			}
		})
	}
}
