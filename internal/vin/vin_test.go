package vin_test

import (
	"errors"
	"testing"

	"backoffice/internal/vin"
)

func TestCheck(t *testing.T) {
	tests := []struct {
		name, in string
		want     error
	}{
		{"ARAG's documented example (Europe: no check digit)", "WVWZZZ1KZ8W006165", nil},
		{"North American, check digit right", "1M8GDM9AXKP042788", nil},
		{"North American, all ones (check digit 1)", "11111111111111111", nil},
		{"North American, check digit wrong", "1M8GDM9A1KP042788", vin.ErrCheckDigit},
		{"Chinese, check digit wrong", "LVSHCAMB1CE012345", vin.ErrCheckDigit},
		{"too short", "WVWZZZ1KZ8W00616", vin.ErrLength},
		{"too long", "WVWZZZ1KZ8W0061655", vin.ErrLength},
		{"letter O", "WVWZZZ1KZ8W0O6165", vin.ErrAlphabet},
		{"letter I", "WVWZZZ1KZ8WI06165", vin.ErrAlphabet},
		{"letter Q", "QVWZZZ1KZ8W006165", vin.ErrAlphabet},
		{"lower case is normalized first", vin.Normalize(" wvwzzz1kz8w006165 "), nil},
		{"dashes and spaces are normalized", vin.Normalize("WVW-ZZZ1KZ 8W006165"), nil},
		{"punctuation", "WVWZZZ1KZ8W00616.", vin.ErrAlphabet},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := vin.Check(tt.in); !errors.Is(got, tt.want) || (tt.want == nil && got != nil) {
				t.Errorf("Check(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func FuzzCheck(f *testing.F) {
	f.Add("WVWZZZ1KZ8W006165")
	f.Add("1M8GDM9AXKP042788")
	f.Fuzz(func(t *testing.T, s string) {
		err := vin.Check(vin.Normalize(s))
		if err == nil && len(vin.Normalize(s)) != 17 {
			t.Errorf("accepted %q", s)
		}
	})
}
