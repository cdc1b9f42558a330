package kasko

import (
	"testing"

	"backoffice/views/policies"
)

func TestHighlight(t *testing.T) {
	tests := []struct {
		text  string
		terms []string
		want  []policies.Segment
	}{
		{"Jānis Bērziņš", []string{"berz", "janis"}, []policies.Segment{{Text: "Jānis", Mark: true}, {Text: " ", Mark: false}, {Text: "Bērz", Mark: true}, {Text: "iņš", Mark: false}}},
		{"Ştefan Ţîrcă", []string{"tir"}, []policies.Segment{{Text: "Ştefan ", Mark: false}, {Text: "Ţîr", Mark: true}, {Text: "că", Mark: false}}},
		// Only word starts match: "anis" is inside "Jānis".
		{"Jānis", []string{"anis"}, nil},
		{"janis.berzins@example.com", []string{"janisberz"}, []policies.Segment{{Text: "janis.berz", Mark: true}, {Text: "ins@example.com", Mark: false}}},
		{"TEST-TESTE76R4R7D", []string{"testteste"}, []policies.Segment{{Text: "TEST-TESTE", Mark: true}, {Text: "76R4R7D", Mark: false}}},
		{"janis.b@example.com", []string{"janis", "b"}, []policies.Segment{{Text: "janis", Mark: true}, {Text: ".", Mark: false}, {Text: "b", Mark: true}, {Text: "@example.com", Mark: false}}},
		{"Groß", []string{"gross"}, []policies.Segment{{Text: "Groß", Mark: true}}},
		{"", []string{"x"}, nil},
		{"Anything", nil, nil},
	}
	for _, tt := range tests {
		got := highlight(tt.text, tt.terms)
		if len(got) != len(tt.want) {
			t.Errorf("highlight(%q, %q) = %v, want %v", tt.text, tt.terms, got, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("highlight(%q, %q) = %v, want %v", tt.text, tt.terms, got, tt.want)
				break
			}
		}
	}
}

func TestMinorUnits(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "120": 12000, "120.5": 12050, "120,50": 12050, "7.05": 705} {
		if got, ok := minorUnits(in); !ok || got != want {
			t.Errorf("minorUnits(%q) = %d %v, want %d", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "-1", "1.234", "1e3", "abc", "1 000", "12.", ".5", "9999999999999"} {
		if _, ok := minorUnits(in); ok {
			t.Errorf("minorUnits(%q) accepted", in)
		}
	}
}
