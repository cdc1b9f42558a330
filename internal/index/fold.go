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
// most eight terms. Two joins keep the terms selective:
//
//   - words joined by ".", "_", "-", "/" or an apostrophe, with no
//     space ("tpol_3a1d", "janis.b", "Bērziņa-Kalniņa"), are one term
//     of their letters and digits ("tpol3a1d"), which documents keep as
//     well (see appendField); as separate terms, "tpol" and "test"
//     would each match every row;
//   - a phone number typed with spaces, "+", "-" or brackets ("+371
//     2123 4567") is one term of its digits, as documents keep phone
//     numbers as digits.
//
// Each term matches as the prefix of a document word; all of them must
// match. Both stores build their queries from Terms alone, so nothing a
// user types reaches the query syntax of FTS5 or tsquery.
func Terms(text string) []string {
	terms := queryTerms(text)
	out := make([]string, len(terms))
	for i, t := range terms {
		out[i] = t.text
	}
	return out
}

// term is one query term and the words it may be the prefix of.
type term struct {
	text string
	// plain: a word; joined: the joined words of a segment (see
	// appendField).
	plain, joined bool
}

// queryTerms is Terms, with where each term is looked for: a term
// joined from several words only among joined words, a single word
// only among words, unless it mixes letters and digits, as ids do
// ("tpol3a1d" is the joined tpol_3a1d typed without its "_"). Names
// are never looked for among joined words, which hold one unique word
// per row ("jorgmuller1234" for an e-mail): a short name prefix would
// otherwise have to visit all of them.
func queryTerms(text string) []term {
	var out []term
	add := func(t term) {
		if t.text != "" && len(out) < maxTerms {
			out = append(out, t)
		}
	}
	// group collects consecutive all-digit terms separated only by phone
	// punctuation; it is flushed as one term when it holds enough
	// digits, else as its terms.
	var group []string
	digits := 0
	flush := func() {
		if len(group) > 1 && digits >= minPhoneDigits {
			add(term{text: capRunes(strings.Join(group, ""), MaxTextRunes), plain: true})
		} else {
			for _, g := range group {
				add(term{text: g, plain: true})
			}
		}
		group, digits = group[:0], 0
	}
	for _, seg := range segments(Fold(capRunes(text, MaxTextRunes))) {
		if !seg.phoneBefore {
			flush()
		}
		t := capRunes(strings.Join(seg.words, ""), MaxTextRunes)
		if isDigits(t) {
			group = append(group, t)
			digits += len(t)
			continue
		}
		flush()
		if len(seg.words) > 1 {
			add(term{text: t, joined: true})
		} else {
			add(term{text: t, plain: true, joined: hasLetterAndDigit(t)})
		}
	}
	flush()
	return out
}

func hasLetterAndDigit(s string) bool {
	letter, digit := false, false
	for _, r := range s {
		letter = letter || unicode.IsLetter(r)
		digit = digit || unicode.IsDigit(r)
	}
	return letter && digit
}

// joinedMark starts every joined word in both stores: it is no letter
// or digit, so no plain word shares a prefix with a joined one (FTS5
// is told it is part of a word with tokenchars).
const joinedMark = "_"

// segment is a run of words joined by connectors ("tpol_3a1d" is tpol,
// 3a1d); phoneBefore says that what separated it from the segment
// before was phone punctuation only.
type segment struct {
	words       []string
	phoneBefore bool
}

// segments cuts folded text into its segments: words are runs of
// letters and digits, a segment the words joined by connector runs.
func segments(folded string) []segment {
	var out []segment
	var sep strings.Builder // what came since the last word
	i := 0
	for i < len(folded) {
		r, size := utf8.DecodeRuneInString(folded[i:])
		if !isWordRune(r) {
			sep.WriteRune(r)
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
		between := sep.String()
		sep.Reset()
		if len(out) > 0 && between != "" && strings.Trim(between, connectors) == "" {
			last := &out[len(out)-1]
			last.words = append(last.words, w)
		} else {
			out = append(out, segment{words: []string{w}, phoneBefore: len(out) > 0 && strings.Trim(between, phonePunct) == ""})
		}
		i = j
	}
	return out
}

// connectors join words into one segment; phonePunct is what may stand
// between the digit groups of a phone number.
const (
	connectors = "._-/'’"
	phonePunct = " +-()\t\u00a0"
)

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

// newDocument builds r's words. Every field is kept as its words and,
// for a segment of several words (see segments), as every tail of the
// segment joined: "tpol_3a1d" is tpol, 3a1d and tpol3a1d, so that "3a1d",
// "tpol3a1d" and "tpol_3a" (the term tpol3a) all find it, and
// "janis.b.1990@example.com" holds janisb1990 and b1990 for "janis.b"
// and "b.1990". A phone number is kept as its digits and every tail of
// at least minPhoneDigits of them, so that a number typed without its
// country or area code is found too.
func newDocument(r Row) document {
	var d document
	for _, f := range []string{r.ID, r.InsurerID, r.ExternalID, r.FirstName, r.LastName} {
		d.pub = appendField(d.pub, f)
	}
	for _, f := range []string{r.Email, r.VIN, r.Plate} {
		d.sec = appendField(d.sec, f)
	}
	if p := digitsOf(r.Phone); p != "" {
		d.sec = append(d.sec, p)
		for n := len(p) - 1; n >= minPhoneDigits; n-- {
			d.sec = append(d.sec, p[len(p)-n:])
		}
	}
	return d
}

func appendField(dst []string, field string) []string {
	for _, seg := range segments(Fold(field)) {
		dst = append(dst, seg.words...)
		for i := 0; i < len(seg.words)-1; i++ {
			dst = append(dst, joinedMark+capRunes(strings.Join(seg.words[i:], ""), MaxTextRunes))
		}
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
