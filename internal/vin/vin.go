// Package vin checks vehicle identification numbers (ISO 3779): 17
// characters, digits and capital letters without I, O and Q, and where the
// region requires it (North America, China) the check digit in position 9.
package vin

import (
	"errors"
	"strings"
)

// Problems a VIN can have, for the form to explain.
var (
	ErrLength     = errors.New("vin: not 17 characters")
	ErrAlphabet   = errors.New("vin: a character outside 0-9 and A-Z without I, O, Q")
	ErrCheckDigit = errors.New("vin: the check digit (9th character) does not match")
)

// Normalize upper-cases v and drops the spaces and dashes people type
// when copying a VIN from a document.
func Normalize(v string) string {
	v = strings.ToUpper(strings.TrimSpace(v))
	return strings.NewReplacer(" ", "", "-", "").Replace(v)
}

// Check reports what is wrong with a normalized VIN, nil when nothing is.
func Check(v string) error {
	if len(v) != 17 {
		return ErrLength
	}
	sum := 0
	for i := 0; i < len(v); i++ {
		n, ok := value(v[i])
		if !ok {
			return ErrAlphabet
		}
		sum += n * weights[i]
	}
	if !checkDigitApplies(v) {
		return nil
	}
	want := byte('0' + sum%11)
	if sum%11 == 10 {
		want = 'X'
	}
	if v[8] != want {
		return ErrCheckDigit
	}
	return nil
}

// checkDigitApplies: the check digit is mandatory for vehicles made for
// North America (world manufacturer identifiers starting 1-5) and China
// (L); elsewhere, European makers among them, position 9 is free.
func checkDigitApplies(v string) bool {
	return ('1' <= v[0] && v[0] <= '5') || v[0] == 'L'
}

// weights of each position in the check digit sum (position 9 is the
// check digit itself).
var weights = [17]int{8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2}

// value is a character's number in the check digit sum; false for the
// characters a VIN may not contain.
func value(c byte) (int, bool) {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0'), true
	case c == 'I' || c == 'O' || c == 'Q':
		return 0, false
	case 'A' <= c && c <= 'H':
		return int(c-'A') + 1, true
	case 'J' <= c && c <= 'N':
		return int(c-'J') + 1, true
	case c == 'P':
		return 7, true
	case c == 'R':
		return 9, true
	case 'S' <= c && c <= 'Z':
		return int(c-'S') + 2, true
	}
	return 0, false
}
