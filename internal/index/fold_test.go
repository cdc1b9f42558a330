package index_test

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"backoffice/internal/index"
)

func TestFold(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"Jānis Bērziņš":      "janis berzins",
		"BĒRZIŅŠ":            "berzins",
		"Ștefan Țurcanu":     "stefan turcanu",
		"Şerban Ţepeş":       "serban tepes",
		"Strauß ẞ":           "strauss ss",
		"Łukasz Paweł":       "lukasz pawel",
		"Søren Ærø":          "soren aero",
		"Đorđe":              "dorde",
		"Œuvre":              "oeuvre",
		"Iıİ":                "iii",
		"Þór":                "thor",
		"ﬁle ①":              "file 1",
		"TEST-TESTE76":       "test-teste76",
		"janis.b@EXAMPLE.lv": "janis.b@example.lv",
		"Ελληνικά":           "ελληνικα",
	} {
		if got := index.Fold(in); got != want {
			t.Errorf("Fold(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTerms(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"Bērziņš  Jānis", []string{"berzins", "janis"}},
		{"janis.b@example", []string{"janisb", "example"}},
		{"Bērziņa-Kalniņa", []string{"berzinakalnina"}},
		{"TEST-TESTE76 x", []string{"testteste76", "x"}},
		{"+371 2123 4567", []string{"37121234567"}},
		{"2123 4567", []string{"21234567"}},
		{"12 34", []string{"12", "34"}}, // too few digits for a phone
		{"2024-01-15", []string{"20240115"}},
		{"ab12 345678", []string{"ab12", "345678"}},
		{"tpol_3a1d", []string{"tpol3a1d"}},
		{"2123-4567", []string{"21234567"}},
		{"(371) 2123-4567 janis", []string{"37121234567", "janis"}},
		{`"NEAR(x)" AND {pub}: '; DROP`, []string{"near", "x", "and", "pub", "drop"}},
		{"a b c d e f g h i j", []string{"a", "b", "c", "d", "e", "f", "g", "h"}},
		{"🚗 * ^ -", nil},
		{"a\x00b", []string{"a", "b"}},
	} {
		if got := index.Terms(c.in); !slices.Equal(got, c.want) {
			t.Errorf("Terms(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	long := index.Terms(strings.Repeat("ā", 10000))
	if len(long) != 1 || utf8.RuneCountInString(long[0]) != index.MaxTextRunes {
		t.Errorf("a long text gave %d terms", len(long))
	}
}

func FuzzTerms(f *testing.F) {
	for _, s := range []string{"Jānis", "+371 2123 4567", `"*{pub}:`, "\x00\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		terms := index.Terms(s)
		if len(terms) > 8 {
			t.Fatalf("%d terms", len(terms))
		}
		for _, term := range terms {
			if term == "" || strings.ContainsAny(term, "\"'*:{}()^- \x00") || !utf8.ValidString(term) {
				t.Fatalf("term %q", term)
			}
		}
	})
}

// FuzzSearchSQLite: no text makes a search fail, and a public reader's
// text never finds a row by what it may not see.
func FuzzSearchSQLite(f *testing.F) {
	for _, s := range []string{"Jānis", "+371 2123 4567", `"*{pub}:`, "NEAR(a b) AND c", "'; DROP TABLE index_rows; --", "\x00\xff"} {
		f.Add(s, false)
	}
	s := mustOpen(f, index.Config{Path: f.TempDir() + "/index.db"})
	if err := s.Upsert(ctx, fixture()); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, text string, public bool) {
		p, err := s.Search(ctx, index.Query{Tenant: tenantA, Text: text, Public: public, Limit: 10})
		if err != nil {
			t.Fatalf("Search(%q): %v", text, err)
		}
		if _, err := s.Facets(ctx, index.Query{Tenant: tenantA, Text: text, Public: public}); err != nil {
			t.Fatalf("Facets(%q): %v", text, err)
		}
		for _, r := range p.Rows {
			if r.Tenant != tenantA || (public && (r.Email != "" || r.Phone != "")) {
				t.Fatalf("Search(%q) gave %+v", text, r)
			}
		}
	})
}
