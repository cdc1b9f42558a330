package casco_test

import (
	"encoding/json"
	"errors"
	"testing"

	"backoffice/apiclient/casco"
)

func TestDecimalParseAndString(t *testing.T) {
	cases := []struct {
		in, want string
	}{
		{"2211.49", "2211.49"},
		{"10000.5", "10000.5"},
		{"100000.00", "100000.00"},
		{"0", "0"},
		{"-0", "0"},
		{"0.05", "0.05"},
		{"-3.1", "-3.1"},
		{"007", "7"},
		{"1e3", "1000"},
		{"2.21149E+3", "2211.49"},
		{"12.5e-1", "1.25"},
		{"999999999999999999", "999999999999999999"},
		{"0.000000000000000001", "0.000000000000000001"},
	}
	for _, tc := range cases {
		d, err := casco.ParseDecimal(tc.in)
		if err != nil {
			t.Errorf("ParseDecimal(%q): %v", tc.in, err)
			continue
		}
		if got := d.String(); got != tc.want {
			t.Errorf("ParseDecimal(%q).String(): got %q, want %q", tc.in, got, tc.want)
		}
	}
	for _, bad := range []string{"", "-", ".5", "5.", "1.2.3", "1,5", "abc", "1e", "1e+", "0x10", "1 000", "NaN", "Inf",
		"1234567890123456789", "1e40", "1e-19", " 1"} {
		if d, err := casco.ParseDecimal(bad); err == nil || !errors.Is(err, casco.ErrInvalidDecimal) {
			t.Errorf("ParseDecimal(%q): got %v, %v; want ErrInvalidDecimal", bad, d, err)
		}
	}
}

// TestDecimalJSONRoundTrip: numbers and strings decode without a float,
// and encode again with the same digits.
func TestDecimalJSONRoundTrip(t *testing.T) {
	type doc struct {
		Premium casco.Decimal  `json:"premiumAmount"`
		Sum     casco.Decimal  `json:"insuredSum"`
		Market  *casco.Decimal `json:"marketValue"`
	}
	in := `{"premiumAmount":2211.49,"insuredSum":10000.50,"marketValue":"100000.00"}`
	var d doc
	if err := json.Unmarshal([]byte(in), &d); err != nil {
		t.Fatal(err)
	}
	if d.Premium.String() != "2211.49" || d.Sum.String() != "10000.50" || d.Market.String() != "100000.00" {
		t.Errorf("decoded: got %s %s %s", d.Premium, d.Sum, d.Market)
	}
	out, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"premiumAmount":2211.49,"insuredSum":10000.50,"marketValue":100000.00}`; string(out) != want {
		t.Errorf("encoded: got %s, want %s", out, want)
	}
	if got, ok := d.Premium.MinorUnits(); !ok || got != 221149 {
		t.Errorf("MinorUnits: got %d %v, want 221149", got, ok)
	}

	// Values a float64 cannot hold exactly survive.
	var big casco.Decimal
	if err := json.Unmarshal([]byte(`9007199254740993.01`), &big); err != nil {
		t.Fatal(err)
	}
	if big.String() != "9007199254740993.01" {
		t.Errorf("large value: got %s", big)
	}

	var z casco.Decimal
	for _, s := range []string{`null`, `""`} {
		if err := json.Unmarshal([]byte(s), &z); err != nil || !z.IsZero() {
			t.Errorf("%s: got %v, %v; want zero", s, z, err)
		}
	}
	for _, s := range []string{`true`, `"12,5"`, `{}`, `"1e400"`} {
		if err := json.Unmarshal([]byte(s), &z); err == nil {
			t.Errorf("%s: got nil error", s)
		}
	}
}

func TestDecimalArithmeticHelpers(t *testing.T) {
	a := casco.MustParseDecimal("2211.49")
	if !a.Equal(casco.MustParseDecimal("2211.490")) || !a.Equal(casco.FromMinorUnits(221149)) || !a.Equal(casco.NewDecimal(221149, 2)) {
		t.Error("Equal: 2211.49 differs from an equal value")
	}
	if a.Cmp(casco.MustParseDecimal("2211.5")) != -1 || a.Cmp(casco.MustParseDecimal("-3000")) != 1 {
		t.Error("Cmp: wrong order")
	}
	if _, ok := casco.MustParseDecimal("1.005").MinorUnits(); ok {
		t.Error("MinorUnits(1.005): got ok, want false")
	}
	if n, ok := casco.MustParseDecimal("12").MinorUnits(); !ok || n != 1200 {
		t.Errorf("MinorUnits(12): got %d %v", n, ok)
	}
	if n, ok := casco.MustParseDecimal("1.500").MinorUnits(); !ok || n != 150 {
		t.Errorf("MinorUnits(1.500): got %d %v", n, ok)
	}
	if casco.FromMinorUnits(-5).String() != "-0.05" {
		t.Errorf("FromMinorUnits(-5): got %s", casco.FromMinorUnits(-5))
	}
}
