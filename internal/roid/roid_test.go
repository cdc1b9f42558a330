package roid_test

import (
	"errors"
	"testing"
	"time"

	"backoffice/internal/roid"
)

func TestParseCNP(t *testing.T) {
	tests := []struct {
		name, in   string
		want       error
		wantBirth  string
		wantMale   bool
		wantCounty string
	}{
		{"man born 1960 in Bucharest sector 1", "1600101410010", nil, "1960-01-01", true, "41"},
		{"woman born 2004 in Cluj", "6040229123458", nil, "2004-02-29", false, "12"},
		{"wrong check digit", "1600101410011", roid.ErrCheckDigit, "", false, ""},
		{"short", "160010141001", roid.ErrFormat, "", false, ""},
		{"letters", "16001014100A0", roid.ErrFormat, "", false, ""},
		{"30 February", "2800230123451", roid.ErrDate, "", false, ""},
		{"county 60", "1800101601236", roid.ErrCounty, "", false, ""},
		{"first digit 0", "0800101123459", roid.ErrFormat, "", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := roid.ParseCNP(tt.in)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("ParseCNP(%q) = %v, want %v", tt.in, err, tt.want)
			}
			if tt.want != nil {
				return
			}
			if got.Birth.Format(time.DateOnly) != tt.wantBirth || got.Male != tt.wantMale || got.County != tt.wantCounty {
				t.Errorf("ParseCNP(%q) = %+v, want birth %s male %v county %s", tt.in, got, tt.wantBirth, tt.wantMale, tt.wantCounty)
			}
		})
	}
}

func TestCheckCUI(t *testing.T) {
	tests := []struct {
		name, in string
		want     error
	}{
		{"eight digits", "18547290", nil},
		{"with RO", "RO18547290", nil},
		{"with RO and space", "ro 18547290", nil},
		{"two digits", "19", nil},
		{"wrong check digit", "18547291", roid.ErrCheckDigit},
		{"one digit", "7", roid.ErrFormat},
		{"eleven digits", "12345678901", roid.ErrFormat},
		{"letters", "1854A290", roid.ErrFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := roid.CheckCUI(tt.in); !errors.Is(got, tt.want) || (tt.want == nil && got != nil) {
				t.Errorf("CheckCUI(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}
