package index

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// maxTerms caps the terms of one query: every term is one more index
// lookup ANDed in, and people type names and ids, not paragraphs.
const maxTerms = 8

// minPhoneDigits is the shortest digit run that is taken as (part of) a
// phone number: shorter runs are years, house numbers, id fragments.
const minPhoneDigits = 6

// Fold is s as both stores compare it: compatibility-decomposed (NFKD),
// without combining marks, lower-case, with the letters that have no
// decomposition (ł, ø, ß, …) spelled in ASCII. "Jānis Bērziņš" and
// "JANIS BERZINS" fold alike, so that a search typed without the
// Latvian keyboard finds the holder.
func Fold(s string) string {
	if isASCII(s) {
		return strings.ToLower(s)
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range norm.NFKD.String(s) {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		r = unicode.ToLower(r)
		if sp, ok := specialLetter(r); ok {
			b.WriteString(sp)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// specialLetter spells the lower-case letters that NFKD leaves whole
// the way people type them on a keyboard without them.
func specialLetter(r rune) (string, bool) {
	switch r {
	case 'ł':
		return "l", true
	case 'ø':
		return "o", true
	case 'ß':
		return "ss", true
	case 'đ', 'ð':
		return "d", true
	case 'æ':
		return "ae", true
	case 'œ':
		return "oe", true
	case 'ı':
		return "i", true
	case 'þ':
		return "th", true
	case 'ħ':
		return "h", true
	case 'ŧ':
		return "t", true
	}
	return "", false
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// words splits folded text into its letter-and-digit runs. It is the
// one tokenizer behind documents and queries alike, so that what a
// query term is cut into is what a document was cut into. Each word is
// capped at MaxTextRunes runes: a query is never longer, and PostgreSQL
// refuses overlong lexemes.
func words(folded string) []string {
	var out []string
	for w := range strings.FieldsFuncSeq(folded, func(r rune) bool { return !isWordRune(r) }) {
		out = append(out, capRunes(w, MaxTextRunes))
	}
	return out
}

func capRunes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := 0
	for pos := range s {
		if i == n {
			return s[:pos]
		}
		i++
	}
	return s
}

// Terms is what a search text looks for: the text cut at MaxTextRunes
// runes, folded, split on anything that is not a letter or a digit, at
// most eight terms. A phone number typed with spaces, "+", "-" or
// brackets ("+371 2123 4567") is one term of its digits, as documents
// keep phone numbers as digits. Each term matches as the prefix of a
// document word; all of them must match. Both stores build their
// queries from Terms alone, so nothing a user types reaches the query
// syntax of FTS5 or tsquery.
func Terms(text string) []string {
	folded := Fold(capRunes(text, MaxTextRunes))
	var out []string
	add := func(t string) {
		if t != "" && len(out) < maxTerms {
			out = append(out, t)
		}
	}
	// group collects consecutive all-digit words separated only by phone
	// punctuation; it is flushed as one term when it holds enough
	// digits, else as its words.
	var group []string
	digits := 0
	flush := func() {
		if len(group) > 1 && digits >= minPhoneDigits {
			add(strings.Join(group, ""))
		} else {
			for _, g := range group {
				add(g)
			}
		}
		group, digits = group[:0], 0
	}
	i := 0
	for i < len(folded) {
		r, size := utf8.DecodeRuneInString(folded[i:])
		if !isWordRune(r) {
			if !isPhonePunct(r) {
				flush()
			}
			i += size
			continue
		}
		j := i
		for j < len(folded) {
			r, size := utf8.DecodeRuneInString(folded[j:])
			if !isWordRune(r) {
				break
			}
			j += size
		}
		w := capRunes(folded[i:j], MaxTextRunes)
		if isDigits(w) {
			group = append(group, w)
			digits += len(w)
		} else {
			flush()
			add(w)
		}
		i = j
	}
	flush()
	return out
}

func isPhonePunct(r rune) bool {
	switch r {
	case ' ', '+', '-', '(', ')', '\t', '\u00a0':
		return true
	}
	return false
}

// isDigits reports whether w is ASCII digits only: the digits a phone
// number is kept as.
func isDigits(w string) bool {
	for i := 0; i < len(w); i++ {
		if w[i] < '0' || w[i] > '9' {
			return false
		}
	}
	return w != ""
}

// document is a row's searchable words: pub is what any reader may find
// it by, sec what only secret-key readers may.
type document struct {
	pub, sec []string
}

// newDocument builds r's words. Ids are kept split (so "3a1d" finds
// "tpol_3a1d") and whole without punctuation (so "tpol3a1d" does); a
// phone number is kept as its digits and every tail of at least
// minPhoneDigits of them, so that a number typed without its country
// or area code is found too.
func newDocument(r Row) document {
	var d document
	for _, id := range []string{r.ID, r.InsurerID, r.ExternalID} {
		d.pub = appendIdentifier(d.pub, id)
	}
	d.pub = append(d.pub, words(Fold(r.FirstName))...)
	d.pub = append(d.pub, words(Fold(r.LastName))...)

	d.sec = append(d.sec, words(Fold(r.Email))...)
	d.sec = appendIdentifier(d.sec, r.VIN)
	d.sec = appendIdentifier(d.sec, r.Plate)
	if p := digitsOf(r.Phone); p != "" {
		d.sec = append(d.sec, p)
		for n := len(p) - 1; n >= minPhoneDigits; n-- {
			d.sec = append(d.sec, p[len(p)-n:])
		}
	}
	return d
}

func appendIdentifier(dst []string, id string) []string {
	ws := words(Fold(id))
	dst = append(dst, ws...)
	if len(ws) > 1 {
		dst = append(dst, capRunes(strings.Join(ws, ""), MaxTextRunes))
	}
	return dst
}

func digitsOf(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			b.WriteByte(s[i])
		}
	}
	return capRunes(b.String(), MaxTextRunes)
}
