package handlers_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"backoffice/handlers"
)

func TestIsLocalPath(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   string
		want bool
	}{
		{"root", "/", true},
		{"list with query", "/policies?page=2&sort=-created_at", true},
		{"draft step", "/casco/drafts/abc/vehicle", true},
		{"escaped id with a slash", "/policies/a%2Fb%20c", true},
		{"query with encoded url", "/audit?policy=" + url.QueryEscape("a/b c"), true},
		{"fragment", "/policies#top", true},
		{"unicode in query", "/audit?q=Müller", true},

		{"empty", "", false},
		{"relative", "policies", false},
		{"absolute url", "https://evil.example/x", false},
		{"scheme relative", "//evil.example/x", false},
		{"backslash after slash", "/\\evil.example/x", false},
		{"backslash later", "/policies\\x", false},
		{"tab between slashes", "/\t/evil.example/x", false},
		{"leading tab", "\t//evil.example/x", false},
		{"tab then slashes", "/\t//evil.example", false},
		{"encoded tab", "/%09/evil.example/x", false},
		{"double encoded tab", "/%2509/evil.example/x", false},
		{"newline", "/\n/evil.example", false},
		{"carriage return", "/policies\r\nSet-Cookie: x=1", false},
		{"nul", "/policies\x00", false},
		{"del", "/policies\x7f", false},
		{"c1 control", "/policies\u0085", false},
		{"bidi override", "/policies\u202e", false},
		{"zero width space", "/\u200b/evil.example", false},
		{"line separator", "/policies\u2028", false},
		{"encoded slashes", "/%2F%2Fevil.example", false},
		{"encoded second slash", "/%2Fevil.example", false},
		{"lower-case encoded slash", "/%2fevil.example", false},
		{"double encoded slash", "/%252Fevil.example", false},
		{"encoded backslash", "/%5Cevil.example", false},
		{"encoded backslash later", "/policies%5C", false},
		{"division slash", "/\u2215evil.example", false},
		{"fullwidth solidus", "/\uFF0Fevil.example", false},
		{"fraction slash", "/\u2044evil.example", false},
		{"encoded fullwidth solidus", "/%EF%BC%8Fevil.example", false},
		{"dot segment to slashes", "/.//evil.example", false},
		{"encoded dot segment", "/%2e//evil.example", false},
		{"dot dot", "/policies/../x", false},
		{"user info", "/@evil.example", true}, // a path, not user info: stays here
		{"bad escape", "/policies%zz", false},
		{"invalid utf-8", "/policies\xff", false},
		{"too long", "/" + strings.Repeat("a", 5000), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := handlers.IsLocalPath(tt.in); got != tt.want {
				t.Errorf("IsLocalPath(%q): got %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestNextAfterSignIn(t *testing.T) {
	for _, tt := range []struct{ next, want string }{
		{"/policies?page=2&sort=-created_at", "/policies?page=2&sort=-created_at"},
		{"/casco/drafts/abc/vehicle", "/casco/drafts/abc/vehicle"},
		{"/\t/evil.example/x", "/policies"},
		{"/%09/evil.example/x", "/policies"},
		{"/signin", "/policies"},
		{"/signin?tab=casco", "/policies"},
		{"/signin/partner", "/policies"},
		{"", "/policies"},
	} {
		if got := handlers.NextAfterSignIn(tt.next, "/policies"); got != tt.want {
			t.Errorf("NextAfterSignIn(%q): got %q, want %q", tt.next, got, tt.want)
		}
	}
}

func TestReturnPath(t *testing.T) {
	for _, tt := range []struct {
		name, method, target, current, want string
	}{
		{"page itself", "GET", "/policies?page=2", "", "/policies?page=2"},
		{"post", "POST", "/policies/x/cancel", "", "/"},
		{"htmx current page", "GET", "/policies?page=2", "http://dash.example/policies?page=3", "/policies?page=3"},
		{"htmx current page with a tab", "GET", "/policies?page=2", "http://dash.example/%09/evil.example", "/policies?page=2"},
		{"htmx current page with a backslash", "GET", "/policies", "http://dash.example/%5Cevil.example", "/policies"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.target, nil)
			if tt.current != "" {
				r.Header.Set("HX-Request", "true")
				r.Header.Set("HX-Current-URL", tt.current)
			}
			if got := handlers.ReturnPath(r); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestSignInNextWithTabStaysOnSite is the reported attack: a sign-in
// link whose next hides a TAB must not send the browser off-site.
func TestSignInNextWithTabStaysOnSite(t *testing.T) {
	for _, next := range []string{"/\t/evil.example/x", "/%09/evil.example/x", "/%5C/evil.example", "/\u2215/evil.example"} {
		rec := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodPost, "/signin", nil)
		handlers.Redirect(rec, r, handlers.NextAfterSignIn(next, "/policies"))
		if got := rec.Header().Get("Location"); got != "/policies" {
			t.Errorf("next %q: Location got %q, want /policies", next, got)
		}
	}
}

// FuzzSafeNext: whatever IsLocalPath accepts, resolved as a browser would
// against the dashboard's own address, stays on that host, on a path that
// starts with exactly one slash.
func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{
		"/", "/policies?page=2&sort=-created_at", "/casco/drafts/abc/vehicle", "/policies/a%2Fb",
		"//evil.example", "/\\evil.example", "/\t/evil.example", "\t//evil.example", "/%09/evil.example",
		"/%2F%2Fevil.example", "/%5Cevil.example", "/\u2215evil.example", "/\uFF0Fevil.example", "/\u2044x",
		"/.//evil.example", "/%2e%2e//x", "/@evil.example", "/x?next=//evil.example", "/x#//evil",
		"/%252F%252Fevil", "https://evil.example", "/a/../..//evil",
	} {
		f.Add(s)
	}
	base, _ := url.Parse("https://dash.example/")
	f.Fuzz(func(t *testing.T, p string) {
		if !handlers.IsLocalPath(p) {
			return
		}
		// What a browser does before parsing: drop TAB/CR/LF, read "\" as "/".
		browser := strings.NewReplacer("\t", "", "\r", "", "\n", "", "\\", "/").Replace(strings.TrimSpace(p))
		for _, cand := range []string{p, browser} {
			ref, err := url.Parse(cand)
			if err != nil {
				t.Fatalf("accepted %q, which does not parse: %v", cand, err)
			}
			got := base.ResolveReference(ref)
			if got.Host != "dash.example" || got.User != nil || got.Scheme != "https" {
				t.Fatalf("accepted %q, which resolves to %s", p, got)
			}
			if !strings.HasPrefix(got.Path, "/") || strings.HasPrefix(got.Path, "//") {
				t.Fatalf("accepted %q, whose path %q does not start with one slash", p, got.Path)
			}
			if dec, err := url.PathUnescape(got.EscapedPath()); err == nil && strings.HasPrefix(dec, "//") {
				t.Fatalf("accepted %q, whose decoded path %q starts with two slashes", p, dec)
			}
		}
	})
}
