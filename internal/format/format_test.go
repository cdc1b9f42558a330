package format_test

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"backoffice/internal/format"
)

const nbsp = "\u00a0"

func TestMoney(t *testing.T) {
	tests := []struct {
		lang     string
		minor    int64
		currency string
		want     string
	}{
		{"en", 275000, "eur", "€2,750.00"},
		{"de", 275000, "eur", "2.750,00" + nbsp + "€"},
		{"ro", 275000, "eur", "2.750,00" + nbsp + "EUR"},
		{"en", 123456, "chf", "CHF" + nbsp + "1,234.56"},
		{"de", 123456, "chf", "1.234,56" + nbsp + "CHF"},
		{"ro", 123456, "ron", "1.234,56" + nbsp + "RON"},
		{"en", -123456, "ron", "-RON" + nbsp + "1,234.56"},
		{"de", -5, "eur", "-0,05" + nbsp + "€"},
		{"en", 0, "eur", "€0.00"},
		{"en", 1, "EUR", "€0.01"},
		{"en", 1000, "jpy", "¥1,000"}, // no minor digits
		{"en", 123456789012345678, "eur", "€1,234,567,890,123,456.78"},
		{"en", math.MinInt64, "eur", "-€92,233,720,368,547,758.08"},
		{"en", 250, "xyz", "XYZ" + nbsp + "2.50"}, // unknown code: shown as given, two digits
		{"fr", 275000, "eur", "€2,750.00"},        // unsupported language: English
	}
	for _, tt := range tests {
		if got := format.New(tt.lang).Money(tt.minor, tt.currency); got != tt.want {
			t.Errorf("%s Money(%d, %s) = %q, want %q", tt.lang, tt.minor, tt.currency, got, tt.want)
		}
	}
}

// TestMoneyIsExact formats amounts whose float64 value would not be exact
// and checks every digit survives.
func TestMoneyIsExact(t *testing.T) {
	f := format.New("en")
	for _, minor := range []int64{9007199254740993, 9007199254740995, 1 << 62, 100000000000000001} {
		got := strings.NewReplacer("€", "", ",", "", ".", "").Replace(f.Money(minor, "eur"))
		want := strings.TrimLeft(func() string {
			s := ""
			n := minor
			for n > 0 {
				s = string(rune('0'+n%10)) + s
				n /= 10
			}
			return s
		}(), "0")
		if strings.TrimLeft(got, "0") != want {
			t.Errorf("Money(%d) lost digits: %q", minor, got)
		}
	}
}

func TestDecimalAndPercent(t *testing.T) {
	tests := []struct {
		lang, in, want string
	}{
		{"en", "2211.49", "2,211.49"},
		{"de", "2211.49", "2.211,49"},
		{"ro", "10000.5", "10.000,5"},
		{"de", "-3", "-3"},
		{"en", "12a", "12a"},
		{"en", "1.", "1."},
	}
	for _, tt := range tests {
		if got := format.New(tt.lang).Decimal(tt.in); got != tt.want {
			t.Errorf("%s Decimal(%q) = %q, want %q", tt.lang, tt.in, got, tt.want)
		}
	}
	if got := format.New("en").Percent(0.1); got != "10%" {
		t.Errorf("en Percent(0.1) = %q", got)
	}
	if got := format.New("de").Percent(0.19); got != "19"+nbsp+"%" {
		t.Errorf("de Percent(0.19) = %q", got)
	}
	if got := format.New("en").Percent(0.075); got != "7.50%" {
		t.Errorf("en Percent(0.075) = %q", got)
	}
}

func TestDates(t *testing.T) {
	riga := time.FixedZone("", 3*3600)
	ts := time.Date(2023, 8, 6, 0, 30, 0, 0, riga)
	tests := []struct {
		lang, date, dateTime string
	}{
		{"en", "Aug 6, 2023", "Aug 6, 2023, 12:30 am"},
		{"de", "06.08.2023", "06.08.2023, 00:30"},
		{"ro", "6 aug. 2023", "6 aug. 2023, 00:30"},
	}
	for _, tt := range tests {
		f := format.New(tt.lang)
		if got := f.Date(ts); got != tt.date {
			t.Errorf("%s Date = %q, want %q", tt.lang, got, tt.date)
		}
		if got := f.DateTime(ts); got != tt.dateTime {
			t.Errorf("%s DateTime = %q, want %q", tt.lang, got, tt.dateTime)
		}
	}
	zones := format.NewZones()
	utc := time.Date(2023, 8, 5, 21, 0, 0, 0, time.UTC)
	inRiga, err := zones.In(utc, "Europe/Riga")
	if err != nil {
		t.Fatal(err)
	}
	if inRiga.Format(time.RFC3339) != "2023-08-06T00:00:00+03:00" {
		t.Errorf("In Riga = %s", inRiga.Format(time.RFC3339))
	}
	if got := format.ZoneLabel(inRiga, "Europe/Riga"); got != "Europe/Riga (UTC+03:00)" {
		t.Errorf("ZoneLabel = %q", got)
	}
	if format.SameDay(inRiga, utc) {
		t.Error("SameDay: Aug 6 in Riga and Aug 5 in UTC are different days")
	}
	inBerlin, _ := zones.In(utc, "Europe/Berlin")
	if !format.SameDay(inRiga, inBerlin.Add(time.Hour)) {
		t.Error("SameDay: both Aug 6")
	}
	if _, err := zones.In(utc, "Mars/Olympus"); err == nil {
		t.Error("unknown zone accepted")
	}
}

func TestHumanizeAndValue(t *testing.T) {
	for in, want := range map[string]string{
		"company_name":     "Company name",
		"houseNumber":      "House number",
		"payment_metadata": "Payment metadata",
		"VIN":              "Vin",
		"insuredSum":       "Insured sum",
		"":                 "",
	} {
		if got := format.Humanize(in); got != want {
			t.Errorf("Humanize(%q) = %q, want %q", in, got, want)
		}
	}
	var nested map[string]any
	dec := json.NewDecoder(strings.NewReader(`{"b": 1.10, "a": [true, null], "c": {}}`))
	dec.UseNumber()
	if err := dec.Decode(&nested); err != nil {
		t.Fatal(err)
	}
	if got := format.Value(nested); got != "A: true, —; B: 1.10; C: —" {
		t.Errorf("Value = %q", got)
	}
	if format.Value(nil) != "—" || format.Value("x") != "x" || format.Value([]any{}) != "—" {
		t.Error("Value of nil, string or empty list wrong")
	}
}

func BenchmarkMoney(b *testing.B) {
	f := format.New("de")
	for b.Loop() {
		_ = f.Money(275000, "eur")
	}
}

func BenchmarkDateTime(b *testing.B) {
	f := format.New("de")
	ts := time.Date(2023, 8, 6, 0, 30, 0, 0, time.UTC)
	for b.Loop() {
		_ = f.DateTime(ts)
	}
}
