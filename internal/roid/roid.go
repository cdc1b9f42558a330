// Package roid checks Romanian identification numbers: the CNP of a
// person and the CUI (CIF) of a company, each by its check digit.
package roid

import (
	"errors"
	"strings"
	"time"
)

// Problems an identifier can have, for a form to explain.
var (
	ErrFormat     = errors.New("roid: wrong length or not digits")
	ErrDate       = errors.New("roid: the birth date in the CNP is not a real date")
	ErrCounty     = errors.New("roid: the county code in the CNP is unknown")
	ErrCheckDigit = errors.New("roid: the check digit does not match")
)

// CNP is a checked personal numeric code.
type CNP struct {
	Birth time.Time
	// Male is the sex the first digit gives (odd: male).
	Male bool
	// County is the two-digit county code ("01".."52").
	County string
}

// cnpKey weighs the first twelve digits of a CNP.
const cnpKey = "279146358279"

// ParseCNP checks a CNP: 13 digits, a real birth date, a known county
// code and the check digit.
func ParseCNP(s string) (CNP, error) {
	s = strings.TrimSpace(s)
	if len(s) != 13 || !digits(s) {
		return CNP{}, ErrFormat
	}
	century := map[byte]int{'1': 1900, '2': 1900, '3': 1800, '4': 1800, '5': 2000, '6': 2000, '7': 1900, '8': 1900, '9': 1900}[s[0]]
	if century == 0 {
		return CNP{}, ErrFormat
	}
	year := century + num(s[1:3])
	if (s[0] == '7' || s[0] == '8' || s[0] == '9') && year+100 <= time.Now().Year() {
		// Residents and foreigners carry no century: the later one that
		// is not in the future.
		year += 100
	}
	birth := time.Date(year, time.Month(num(s[3:5])), num(s[5:7]), 0, 0, 0, 0, time.UTC)
	if birth.Year() != year || int(birth.Month()) != num(s[3:5]) || birth.Day() != num(s[5:7]) {
		return CNP{}, ErrDate
	}
	county := s[7:9]
	if c := num(county); c < 1 || c > 52 || c == 49 || c == 50 {
		return CNP{}, ErrCounty
	}
	// The structure first, then the check digit: "not a real date" says
	// more about a typo than "check digit".
	sum := 0
	for i := 0; i < 12; i++ {
		sum += int(s[i]-'0') * int(cnpKey[i]-'0')
	}
	check := sum % 11
	if check == 10 {
		check = 1
	}
	if int(s[12]-'0') != check {
		return CNP{}, ErrCheckDigit
	}
	return CNP{Birth: birth, Male: (s[0]-'0')%2 == 1, County: county}, nil
}

// cuiKey weighs the digits of a CUI before its check digit, aligned to
// the right.
const cuiKey = "753217532"

// CheckCUI checks a company's CUI: 2 to 10 digits, an optional "RO"
// (VAT registration) in front, and the check digit.
func CheckCUI(s string) error {
	s = strings.ToUpper(strings.TrimSpace(s))
	s = strings.TrimSpace(strings.TrimPrefix(s, "RO"))
	if len(s) < 2 || len(s) > 10 || !digits(s) {
		return ErrFormat
	}
	body := s[:len(s)-1]
	sum := 0
	for i := range len(body) {
		sum += int(body[len(body)-1-i]-'0') * int(cuiKey[len(cuiKey)-1-i]-'0')
	}
	check := sum * 10 % 11
	if check == 10 {
		check = 0
	}
	if int(s[len(s)-1]-'0') != check {
		return ErrCheckDigit
	}
	return nil
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func num(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}
