package casco

import (
	"bytes"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
)

// maxDecimalDigits is the most significant digits a Decimal keeps: 18
// always fit an int64 coefficient.
const maxDecimalDigits = 18

// Decimal is an exact decimal number: amounts in major units (RON, EUR),
// insured sums, percentages. CascoApi sends them as JSON numbers
// (2211.49), sometimes as strings ("100000.00"); both decode without ever
// going through a float64, keeping the digits as written, so "10000.50"
// prints and encodes as 10000.50 again. The zero value is 0.
type Decimal struct {
	coef  int64 // the digits, as an integer
	scale uint8 // how many of them follow the decimal point
}

// ErrInvalidDecimal is the error for a string that is not a decimal
// number with at most 18 significant digits.
var ErrInvalidDecimal = errors.New("casco: invalid decimal")

// NewDecimal returns coef × 10^-scale: NewDecimal(221149, 2) is 2211.49.
// It panics for a scale outside 0..18, which is a programming error.
func NewDecimal(coef int64, scale int) Decimal {
	if scale < 0 || scale > maxDecimalDigits {
		panic(fmt.Sprintf("casco: decimal scale %d out of range 0..%d", scale, maxDecimalDigits))
	}
	return Decimal{coef: coef, scale: uint8(scale)}
}

// FromMinorUnits returns an amount given in hundredths (bani, cents):
// FromMinorUnits(221149) is 2211.49.
func FromMinorUnits(n int64) Decimal {
	return Decimal{coef: n, scale: 2}
}

// ParseDecimal reads "2211.49", "-3", "0.5", "1e3" or "2.21149E+3". It
// accepts what a JSON number may be, plus leading zeros, and refuses more
// than 18 significant digits rather than round.
func ParseDecimal(s string) (Decimal, error) {
	d, ok := parseDecimal(s)
	if !ok {
		return Decimal{}, fmt.Errorf("%w: %q", ErrInvalidDecimal, truncate(s, 40))
	}
	return d, nil
}

// MustParseDecimal is ParseDecimal for constants; it panics on a bad one.
func MustParseDecimal(s string) Decimal {
	d, err := ParseDecimal(s)
	if err != nil {
		panic(err)
	}
	return d
}

func parseDecimal(s string) (Decimal, bool) {
	i := 0
	neg := false
	if i < len(s) && s[i] == '-' {
		neg = true
		i++
	}
	var coef uint64
	digits, frac := 0, 0
	seenDigit, seenPoint := false, false
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			seenDigit = true
			if seenPoint {
				frac++
			}
			if coef == 0 && c == '0' {
				// Leading zeros are not significant.
				continue
			}
			digits++
			if digits > maxDecimalDigits {
				return Decimal{}, false
			}
			coef = coef*10 + uint64(c-'0')
		case c == '.' && !seenPoint && seenDigit:
			seenPoint = true
			if i+1 >= len(s) || s[i+1] < '0' || s[i+1] > '9' {
				return Decimal{}, false
			}
		default:
			goto exponent
		}
	}
exponent:
	if !seenDigit {
		return Decimal{}, false
	}
	exp := 0
	if i < len(s) {
		if s[i] != 'e' && s[i] != 'E' {
			return Decimal{}, false
		}
		e, err := strconv.Atoi(strings.TrimPrefix(s[i+1:], "+"))
		if err != nil || s[i+1:] == "" || e < -maxDecimalDigits || e > maxDecimalDigits {
			return Decimal{}, false
		}
		exp = e
	}
	scale := frac - exp
	for scale < 0 {
		if coef != 0 {
			digits++
			if digits > maxDecimalDigits {
				return Decimal{}, false
			}
		}
		coef *= 10
		scale++
	}
	if scale > maxDecimalDigits {
		return Decimal{}, false
	}
	n := int64(coef)
	if neg {
		n = -n
	}
	return Decimal{coef: n, scale: uint8(scale)}, true
}

// String prints the number with the digits it was given: "2211.49",
// "10000.50", "-0.5", "12".
func (d Decimal) String() string {
	neg := d.coef < 0
	u := uint64(d.coef) // #nosec G115 -- the magnitude, negative values are taken below
	if neg {
		u = uint64(-d.coef)
	}
	digits := strconv.FormatUint(u, 10)
	if d.scale > 0 {
		if pad := int(d.scale) + 1 - len(digits); pad > 0 {
			digits = strings.Repeat("0", pad) + digits
		}
		cut := len(digits) - int(d.scale)
		digits = digits[:cut] + "." + digits[cut:]
	}
	if neg {
		return "-" + digits
	}
	return digits
}

// MarshalJSON writes the number as a JSON number with its own digits.
func (d Decimal) MarshalJSON() ([]byte, error) {
	return []byte(d.String()), nil
}

// UnmarshalJSON reads a JSON number or a string holding one. null leaves
// d unchanged, as encoding/json does for other types; "" is zero, since
// the upstream's samples write empty optional amounts that way.
func (d *Decimal) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		return nil
	}
	s := string(b)
	if len(b) > 0 && b[0] == '"' {
		var err error
		if s, err = strconv.Unquote(s); err != nil {
			return fmt.Errorf("%w: %s", ErrInvalidDecimal, truncate(string(b), 40))
		}
		if s = strings.TrimSpace(s); s == "" {
			*d = Decimal{}
			return nil
		}
	}
	v, err := ParseDecimal(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// IsZero reports whether d is 0 (at any scale).
func (d Decimal) IsZero() bool {
	return d.coef == 0
}

// Cmp compares d and o numerically: -1, 0 or +1. 2211.49 and 2211.490
// are equal.
func (d Decimal) Cmp(o Decimal) int {
	a, b := big.NewInt(d.coef), big.NewInt(o.coef)
	ten := big.NewInt(10)
	for s := d.scale; s < o.scale; s++ {
		a.Mul(a, ten)
	}
	for s := o.scale; s < d.scale; s++ {
		b.Mul(b, ten)
	}
	return a.Cmp(b)
}

// Equal reports whether d and o are the same number.
func (d Decimal) Equal(o Decimal) bool {
	return d.Cmp(o) == 0
}

// MinorUnits returns d in hundredths (bani, cents): 2211.49 is 221149. It
// reports false when d has a non-zero third decimal or does not fit.
func (d Decimal) MinorUnits() (int64, bool) {
	coef, scale := d.coef, int(d.scale)
	for ; scale > 2; scale-- {
		if coef%10 != 0 {
			return 0, false
		}
		coef /= 10
	}
	for ; scale < 2; scale++ {
		if coef > (1<<63-1)/10 || coef < -(1<<63-1)/10 {
			return 0, false
		}
		coef *= 10
	}
	return coef, true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
