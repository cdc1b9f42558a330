package quotes_test

import (
	"testing"

	"backoffice/internal/quotes"
)

func TestParseAmount(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string // "" when refused
	}{
		{"5123.25", "5123.25"},
		{"5123,25", "5123.25"},
		{"5 123,25", "5123.25"},
		{"5.123,25", "5123.25"},
		{"5,123.25", "5123.25"},
		{"1.234.567,89", "1234567.89"},
		{"1,234,567.89", "1234567.89"},
		{"5\u00a0123,25", "5123.25"},
		{"5\u202f123,25", "5123.25"},
		{"5'123.25", "5123.25"},
		{" 5123 ", "5123"},
		{"0", "0"},
		{"007", "7"},
		{"10000.50", "10000.50"}, // the digits as typed
		// A lone separator is the decimal one, never thousands.
		{"5.123", "5.123"},
		{"5,123", "5.123"},
		// More than two decimals parse (ParseDecimal keeps them); the
		// money check refuses them through MinorUnits.
		{"1.234", "1.234"},
		{"0.001", "0.001"},

		{"", ""},
		{"   ", ""},
		{"\u00a0", ""},
		{"'", ""},
		{"1,2,3", ""},
		{"1.2.3", ""},
		{"1.234.567", ""},
		{"1e5", ""},
		{"1E5", ""},
		{"-5", ""},
		{"+5", ""},
		{"5-", ""},
		{"abc", ""},
		{"5 lei", ""},
		{"RON 5", ""},
		{",", ""},
		{".", ""},
		{".5", ""},
		{"5.", ""},
		{",5", ""},
		{"5,", ""},
		{"1,2.3,4", ""},
		{"0x10", ""},
		{"1234567890123456789", ""}, // over ParseDecimal's 18 digits
	} {
		d, ok := quotes.ParseAmount(tc.in)
		switch {
		case tc.want == "" && ok:
			t.Errorf("ParseAmount(%q) = %s, want refused", tc.in, d)
		case tc.want != "" && !ok:
			t.Errorf("ParseAmount(%q) refused, want %s", tc.in, tc.want)
		case ok && d.String() != tc.want:
			t.Errorf("ParseAmount(%q) = %s, want %s", tc.in, d, tc.want)
		}
	}
}

func TestParseAmountMinorUnits(t *testing.T) {
	// What the step forms do with an amount: two decimals at most.
	for in, want := range map[string]int64{"5 123,25": 512325, "5123": 512300, "1.230": 123, "0,5": 50} {
		d, ok := quotes.ParseAmount(in)
		minor, mok := d.MinorUnits()
		if !ok || !mok || minor != want {
			t.Errorf("ParseAmount(%q).MinorUnits() = %d, %v, %v; want %d", in, minor, ok, mok, want)
		}
	}
	d, ok := quotes.ParseAmount("1.234")
	if _, mok := d.MinorUnits(); !ok || mok {
		t.Errorf("ParseAmount(1.234) = %v and MinorUnits accepted it; want parsed, then refused as money", ok)
	}
}
