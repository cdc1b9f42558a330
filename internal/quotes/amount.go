package quotes

import (
	"strings"

	"backoffice/apiclient/casco"
)

// ParseAmount reads an amount as people type it: "5123.25", "5123,25",
// "5 123,25", "5.123,25", "5,123.25" or "5'123.25" (spaces, no-break
// spaces and apostrophes group thousands; when both "." and "," appear,
// the last one is the decimal separator). A lone separator is the
// decimal one, so "5.123" and "5,123" are both 5.123, never 5123: a
// money check (Decimal.MinorUnits) then refuses the third decimal
// instead of silently reading a thousandfold amount.
//
// Signs and exponents are refused, as nobody types them in an amount.
// The number of decimals is not bounded here: casco.ParseDecimal keeps
// what it is given.
func ParseAmount(s string) (casco.Decimal, bool) {
	s = strings.NewReplacer(" ", "", "\u00a0", "", "\u202f", "", "'", "").Replace(s)
	dot, comma := strings.LastIndexByte(s, '.'), strings.LastIndexByte(s, ',')
	switch {
	case dot >= 0 && comma >= 0 && comma > dot:
		s = strings.ReplaceAll(s, ".", "")
		s = strings.Replace(s, ",", ".", 1)
	case dot >= 0 && comma >= 0:
		s = strings.ReplaceAll(s, ",", "")
	case comma >= 0:
		if strings.Count(s, ",") > 1 {
			return casco.Decimal{}, false
		}
		s = strings.Replace(s, ",", ".", 1)
	}
	if s == "" || strings.ContainsAny(s, "eE+-") || strings.Count(s, ".") > 1 {
		return casco.Decimal{}, false
	}
	d, err := casco.ParseDecimal(s)
	if err != nil {
		return casco.Decimal{}, false
	}
	return d, true
}
