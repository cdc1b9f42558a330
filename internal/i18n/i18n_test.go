package i18n_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"backoffice/internal/i18n"
)

func mustCatalog(t *testing.T) *i18n.Catalog {
	t.Helper()
	c, err := i18n.New()
	if err != nil {
		t.Fatalf("i18n.New: %v", err)
	}
	return c
}

// TestMissingTranslations fails when a language lacks a key English has,
// or has one English lacks (a stale translation).
func TestMissingTranslations(t *testing.T) {
	c := mustCatalog(t)
	langs := c.Languages()
	if want := []string{"en", "de", "ro"}; !sameSet(langs, want) {
		t.Fatalf("languages = %v, want %v", langs, want)
	}
	en := c.Keys("en")
	for _, lang := range langs[1:] {
		keys := c.Keys(lang)
		for _, k := range en {
			if !slices.Contains(keys, k) {
				t.Errorf("%s: missing key %q", lang, k)
			}
		}
		for _, k := range keys {
			if !slices.Contains(en, k) {
				t.Errorf("%s: key %q is not in en", lang, k)
			}
		}
	}
}

// TestKeysUsedInCodeExist scans the Go and templ sources for literal keys
// passed to T and checks English has each, so a typo shows in CI rather
// than as a raw key on a page.
func TestKeysUsedInCodeExist(t *testing.T) {
	c := mustCatalog(t)
	en := c.Keys("en")
	call := regexp.MustCompile(`\bT\((?:ctx|r\.Context\(\)|[a-zA-Z.]*[cC]tx[a-zA-Z()]*), "([a-z0-9_.]+)"`)
	root := filepath.Join("..", "..")
	found := 0
	for _, dir := range []string{"views", "handlers", "web"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			if !strings.HasSuffix(path, ".templ") && !(strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_templ.go")) {
				return nil
			}
			src, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for _, m := range call.FindAllStringSubmatch(string(src), -1) {
				found++
				key := m[1]
				if strings.HasSuffix(key, ".") {
					// A prefix completed at run time ("role." + role):
					// at least one key must carry it.
					if !slices.ContainsFunc(en, func(k string) bool { return strings.HasPrefix(k, key) }) {
						t.Errorf("%s builds keys from prefix %q, but en.json has none", path, key)
					}
					continue
				}
				if !slices.Contains(en, key) {
					t.Errorf("%s uses key %q, which en.json lacks", path, key)
				}
			}
			return nil
		})
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	if found == 0 {
		t.Fatal("found no T(ctx, \"key\") calls: the scan pattern is wrong")
	}
}

func TestMatch(t *testing.T) {
	c := mustCatalog(t)
	tests := []struct {
		name, preferred, accept, want string
	}{
		{"default", "", "", "en"},
		{"accept german", "", "de-CH,de;q=0.9,en;q=0.5", "de"},
		{"accept romanian", "", "ro-RO", "ro"},
		{"unsupported falls back", "", "fr-FR,fr;q=0.9", "en"},
		{"preference wins", "ro", "de", "ro"},
		{"bad preference ignored", "xx-!!", "de", "de"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.Match(tt.preferred, tt.accept); got != tt.want {
				t.Errorf("Match(%q, %q) = %q, want %q", tt.preferred, tt.accept, got, tt.want)
			}
		})
	}
}

func TestTranslateAndMiddleware(t *testing.T) {
	c := mustCatalog(t)
	var got, gotLang string
	h := c.Middleware(nil)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = i18n.T(r.Context(), "error.request_id", "ID", "req-42")
		gotLang = i18n.Lang(r.Context())
	}))
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("Accept-Language", "de")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if got != "Anfrage-ID: req-42" {
		t.Errorf("T = %q, want %q", got, "Anfrage-ID: req-42")
	}
	if gotLang != "de" {
		t.Errorf("Lang = %q, want de", gotLang)
	}
	if cl := rec.Header().Get("Content-Language"); cl != "de" {
		t.Errorf("Content-Language = %q, want de", cl)
	}
	if i18n.T(context.Background(), "app.name") != "app.name" {
		t.Error("T without a printer should return the key")
	}
	if got := c.Printer("en").T("no.such.key"); got != "no.such.key" {
		t.Errorf("missing key = %q, want the key back", got)
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
