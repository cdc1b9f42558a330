// Package format turns upstream values into display text for one UI
// language: money, numbers, dates and times in a given zone, and field
// names. Locale rules come from CLDR through libraries (go-playground's
// locales for patterns and names, x/text for currency digits and
// symbols); only the assembly is ours. KASKO money never passes through a
// float: digits are built from the integer minor units.
package format

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/go-playground/locales"
	gpcurrency "github.com/go-playground/locales/currency"
	"github.com/go-playground/locales/de"
	"github.com/go-playground/locales/en"
	"github.com/go-playground/locales/ro"
	"golang.org/x/text/currency"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// Formatter formats for one UI language. It is safe for concurrent use.
type Formatter struct {
	lang    string
	tr      locales.Translator
	printer *message.Printer

	// The currency pattern, learnt once from CLDR: text before and after
	// the amount (with "¤" where the symbol goes), for positive and
	// negative amounts, and the separators.
	posPrefix, posSuffix string
	negPrefix, negSuffix string
	group, decimal       string

	mu      sync.Mutex
	symbols map[string]string
}

// New returns the formatter of a UI language ("en", "de", "ro"); any other
// gets English.
func New(lang string) *Formatter {
	var tr locales.Translator
	switch lang {
	case "de":
		tr = de.New()
	case "ro":
		tr = ro.New()
	default:
		lang, tr = "en", en.New()
	}
	f := &Formatter{lang: lang, tr: tr, printer: message.NewPrinter(language.Make(lang)), symbols: map[string]string{}}
	f.learnPattern()
	return f
}

// Lang is the formatter's language.
func (f *Formatter) Lang() string { return f.lang }

// learnPattern formats probe amounts with the library and cuts them into
// the parts around the digits, so that Money can place its exact digits
// the way CLDR says for this language.
func (f *Formatter) learnPattern() {
	pos := f.tr.FmtCurrency(1234567.5, 1, gpcurrency.EUR) // e.g. "€1,234,567.50", "1.234.567,50 €"
	neg := f.tr.FmtCurrency(-1234567.5, 1, gpcurrency.EUR)
	cut := func(s string) (prefix, digits, suffix string) {
		start := strings.IndexAny(s, "0123456789")
		end := strings.LastIndexAny(s, "0123456789") + 1
		return s[:start], s[start:end], s[end:]
	}
	prefix, digits, suffix := cut(pos)
	// Whatever the library printed for the euro (€ or EUR) is the
	// positive pattern's text without its spacing.
	probeSymbol := strings.TrimFunc(prefix+suffix, unicode.IsSpace)
	f.posPrefix = strings.Replace(prefix, probeSymbol, "¤", 1)
	f.posSuffix = strings.Replace(suffix, probeSymbol, "¤", 1)
	nprefix, _, nsuffix := cut(neg)
	f.negPrefix = strings.Replace(nprefix, probeSymbol, "¤", 1)
	f.negSuffix = strings.Replace(nsuffix, probeSymbol, "¤", 1)
	// digits look like 1<g>234<g>567<d>50
	rest := strings.TrimPrefix(digits, "1")
	f.group = rest[:strings.IndexAny(rest, "0123456789")]
	tail := digits[strings.LastIndexAny(digits[:len(digits)-2], "0123456789")+1 : len(digits)-2]
	f.decimal = tail
}

// symbol is the currency's display symbol in this language (CLDR), e.g.
// "€", "CHF", "RON"; an unknown code is shown upper-cased as given.
func (f *Formatter) symbol(code string) (sym string, scale int) {
	unit, err := currency.ParseISO(code)
	if err != nil {
		return strings.ToUpper(code), 2
	}
	scale, _ = currency.Standard.Rounding(unit)
	f.mu.Lock()
	defer f.mu.Unlock()
	if s, ok := f.symbols[unit.String()]; ok {
		return s, scale
	}
	s := f.printer.Sprint(currency.Symbol(unit))
	f.symbols[unit.String()] = s
	return s, scale
}

// Money formats an amount in minor units of an ISO-4217 currency (KASKO's
// "eur", "chf", "ron"): 275000 eur is "€2,750.00" in English and
// "2.750,00 €" in German.
func (f *Formatter) Money(minor int64, code string) string {
	sym, scale := f.symbol(strings.ToUpper(strings.TrimSpace(code)))
	negative := minor < 0
	// The magnitude as an exact decimal digit string, even for MinInt64.
	mag := strconv.FormatUint(absUint(minor), 10)
	if len(mag) <= scale {
		mag = strings.Repeat("0", scale-len(mag)+1) + mag
	}
	whole, frac := mag[:len(mag)-scale], mag[len(mag)-scale:]
	var b strings.Builder
	prefix, suffix := f.posPrefix, f.posSuffix
	if negative {
		prefix, suffix = f.negPrefix, f.negSuffix
	}
	// CLDR's currency spacing: a symbol made of letters ("CHF") never
	// touches the digits.
	if strings.HasSuffix(prefix, "¤") && endsWithLetter(sym) {
		prefix += "\u00a0"
	}
	if strings.HasPrefix(suffix, "¤") && startsWithLetter(sym) {
		suffix = "\u00a0" + suffix
	}
	b.WriteString(strings.Replace(prefix, "¤", sym, 1))
	b.WriteString(f.groupDigits(whole))
	if scale > 0 {
		b.WriteString(f.decimal)
		b.WriteString(frac)
	}
	b.WriteString(strings.Replace(suffix, "¤", sym, 1))
	return b.String()
}

func endsWithLetter(s string) bool {
	r := []rune(s)
	return len(r) > 0 && unicode.IsLetter(r[len(r)-1])
}

func startsWithLetter(s string) bool {
	r := []rune(s)
	return len(r) > 0 && unicode.IsLetter(r[0])
}

func absUint(n int64) uint64 {
	if n < 0 {
		return uint64(-(n + 1)) + 1 // #nosec G115 -- -(n+1) is >= 0 for every negative int64, MinInt64 included
	}
	return uint64(n)
}

// groupDigits puts the group separator every three digits from the right
// (the grouping of every UI language here).
func (f *Formatter) groupDigits(digits string) string {
	if len(digits) <= 3 {
		return digits
	}
	var b strings.Builder
	head := len(digits) % 3
	if head > 0 {
		b.WriteString(digits[:head])
	}
	for i := head; i < len(digits); i += 3 {
		if b.Len() > 0 {
			b.WriteString(f.group)
		}
		b.WriteString(digits[i : i+3])
	}
	return b.String()
}

// Decimal formats a decimal string ("2211.49", "-3", "10000.5") with this
// language's separators, keeping every digit; anything else comes back as
// it was.
func (f *Formatter) Decimal(s string) string {
	s = strings.TrimSpace(s)
	neg := strings.HasPrefix(s, "-")
	body := strings.TrimPrefix(s, "-")
	whole, frac, hasFrac := strings.Cut(body, ".")
	if whole == "" || !allDigits(whole) || (hasFrac && (frac == "" || !allDigits(frac))) {
		return s
	}
	out := f.groupDigits(whole)
	if hasFrac {
		out += f.decimal + frac
	}
	if neg {
		out = "-" + out
	}
	return out
}

func allDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// Percent formats a ratio (tax_rate 0.1 → "10%" in English, "10 %" in
// German). The ratio is a float upstream; at most two decimals are shown.
func (f *Formatter) Percent(ratio float64) string {
	v := uint64(0)
	scaled := ratio * 100
	if scaled != float64(int64(scaled)) {
		v = 2
	}
	return f.tr.FmtPercent(scaled, v)
}

// Date is the medium date of t in t's own location ("Aug 6, 2023",
// "06.08.2023").
func (f *Formatter) Date(t time.Time) string { return f.tr.FmtDateMedium(t) }

// DateTime is the medium date and short time of t in t's own location.
func (f *Formatter) DateTime(t time.Time) string {
	return f.tr.FmtDateMedium(t) + ", " + f.tr.FmtTimeShort(t)
}

// ZoneLabel names a zone with its offset at t: "Europe/Riga (UTC+03:00)".
func ZoneLabel(t time.Time, iana string) string {
	return fmt.Sprintf("%s (UTC%s)", iana, t.Format("-07:00"))
}

// SameDay reports whether a and b fall on the same calendar day, each in
// its own location: false flags a date that reads differently for the
// viewer than for the policy.
func SameDay(a, b time.Time) bool {
	ay, am, ad := a.Date()
	by, bm, bd := b.Date()
	return ay == by && am == bm && ad == bd
}

// Zones loads IANA time zones once each; safe for concurrent use.
type Zones struct {
	cache sync.Map // name → *time.Location
}

// NewZones returns an empty zone cache.
func NewZones() *Zones { return &Zones{} }

// In expresses t in the named zone.
func (z *Zones) In(t time.Time, name string) (time.Time, error) {
	if loc, ok := z.cache.Load(name); ok {
		return t.In(loc.(*time.Location)), nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return t, err
	}
	z.cache.Store(name, loc)
	return t.In(loc), nil
}

// Location is the named zone; UTC when the name is unknown, so that a
// bad zone from an upstream shows times in UTC rather than failing a page.
func (z *Zones) Location(name string) *time.Location {
	t, err := z.In(time.Time{}, name)
	if err != nil {
		return time.UTC
	}
	return t.Location()
}

// Local is t in the named zone, or t as it is when the name is unknown.
func (z *Zones) Local(t time.Time, name string) time.Time {
	if l, err := z.In(t, name); err == nil {
		return l
	}
	return t
}

// Today is the current calendar day in the named zone, as midnight UTC of
// that day: a date to compare and print, not an instant. Each upstream
// counts days in its own zone (a policy's, the push variant's, Bucharest
// for the CascoApi), which is rarely the server's.
func (z *Zones) Today(name string) time.Time {
	return z.dayAt(time.Now(), name)
}

func (z *Zones) dayAt(now time.Time, name string) time.Time {
	y, m, d := z.Local(now, name).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// Humanize turns a field name into a label: "company_name" → "Company
// name", "houseNumber" → "House number".
func Humanize(key string) string {
	var words []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			words = append(words, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	runes := []rune(key)
	for i, r := range runes {
		switch {
		case r == '_' || r == '-' || r == ' ' || r == '.':
			flush()
		case unicode.IsUpper(r) && i > 0 && (unicode.IsLower(runes[i-1]) || (i+1 < len(runes) && unicode.IsLower(runes[i+1]) && unicode.IsUpper(runes[i-1]))):
			flush()
			cur = append(cur, r)
		default:
			cur = append(cur, r)
		}
	}
	flush()
	if len(words) == 0 {
		return key
	}
	s := strings.Join(words, " ")
	r := []rune(s)
	r[0] = unicode.ToUpper(r[0])
	return string(r)
}

// Value renders a free-form JSON value readably. Booleans come back as
// "true"/"false" for the caller to translate (see Bool); nil is "—".
func Value(v any) string {
	switch x := v.(type) {
	case nil:
		return "—"
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case json.Number:
		return x.String()
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = Value(e)
		}
		if len(parts) == 0 {
			return "—"
		}
		return strings.Join(parts, ", ")
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = Humanize(k) + ": " + Value(x[k])
		}
		if len(parts) == 0 {
			return "—"
		}
		return strings.Join(parts, "; ")
	default:
		return fmt.Sprint(x)
	}
}
