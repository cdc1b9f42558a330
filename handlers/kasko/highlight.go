package kasko

import (
	"strings"
	"unicode"

	"backoffice/internal/index"
	"backoffice/views/policies"
)

// highlight splits text into the pieces a search matched and the rest:
// a piece is matched where a word of text (folded as the index folds it)
// starts with one of the search terms. Folding is done rune by rune, so
// that every folded byte maps back to the rune of text it came from.
func highlight(text string, terms []string) []policies.Segment {
	if text == "" || len(terms) == 0 {
		return nil
	}
	runes := []rune(text)
	var folded strings.Builder
	var origin []int // folded byte → index into runes
	for i, r := range runes {
		f := index.Fold(string(r))
		folded.WriteString(f)
		for range len(f) {
			origin = append(origin, i)
		}
	}
	fs := folded.String()
	marked := make([]bool, len(runes))
	any := false
	for pos := 0; pos < len(fs); pos++ {
		if !wordStart(fs, pos) {
			continue
		}
		for _, t := range terms {
			if end, ok := matchAt(fs, pos, t); ok {
				for b := pos; b < end; b++ {
					marked[origin[b]] = true
				}
				any = true
			}
		}
	}
	if !any {
		return nil
	}
	var segs []policies.Segment
	start := 0
	for i := 1; i <= len(runes); i++ {
		if i == len(runes) || marked[i] != marked[start] {
			segs = append(segs, policies.Segment{Text: string(runes[start:i]), Mark: marked[start]})
			start = i
		}
	}
	return segs
}

// connectors join words into one search term ("janis.b" is the term
// "janisb"): a term may run across them, as the index matches it.
const connectors = "._-/'’"

// matchAt matches term against s from byte pos, stepping over a
// connector between two letters or digits; it returns where the match
// ends.
func matchAt(s string, pos int, term string) (int, bool) {
	if term == "" {
		return 0, false
	}
	i, j := pos, 0
	for j < len(term) {
		if i >= len(s) {
			return 0, false
		}
		if s[i] == term[j] {
			i, j = i+1, j+1
			continue
		}
		r := []rune(s[i:min(len(s), i+4)])[0]
		if j > 0 && strings.ContainsRune(connectors, r) {
			i += len(string(r))
			continue
		}
		return 0, false
	}
	return i, true
}

// wordStart reports whether a letter or digit run starts at byte pos.
func wordStart(s string, pos int) bool {
	if !isWordByte(s, pos) {
		return false
	}
	return pos == 0 || !isWordByte(s, prevRuneStart(s, pos))
}

func isWordByte(s string, pos int) bool {
	r := []rune(s[pos:min(len(s), pos+4)])
	return len(r) > 0 && (unicode.IsLetter(r[0]) || unicode.IsDigit(r[0]))
}

func prevRuneStart(s string, pos int) int {
	p := pos - 1
	for p > 0 && s[p]&0xC0 == 0x80 {
		p--
	}
	return p
}
