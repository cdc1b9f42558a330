package handlers

import (
	"net/http"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"backoffice/internal/paths"
)

// maxLocalPath bounds a redirect target taken from a form or a header;
// no page of the dashboard has an address anywhere near this long.
const maxLocalPath = 2048

// maxUnescapes is how many layers of percent-encoding IsLocalPath looks
// through: a target is refused if any layer would be unsafe, since a
// proxy or a browser may decode one layer more than we expect.
const maxUnescapes = 3

// slashLookalikes are characters that some URL parsers (IDNA mapping,
// NFKC normalisation) fold into "/" or "\": after the leading slash they
// could turn a path into a scheme-relative "//host".
var slashLookalikes = []rune{
	'\u2215', // DIVISION SLASH
	'\u2044', // FRACTION SLASH
	'\uFF0F', // FULLWIDTH SOLIDUS
	'\u29F8', // BIG SOLIDUS
	'\u2571', // BOX DRAWINGS LIGHT DIAGONAL
	'\uFE68', // SMALL REVERSE SOLIDUS
	'\uFF3C', // FULLWIDTH REVERSE SOLIDUS
	'\u2216', // SET MINUS
	'\u29F5', // REVERSE SOLIDUS OPERATOR
	'\u29F9', // BIG REVERSE SOLIDUS
}

// IsLocalPath reports whether p, a "next", "return" or retry target from
// the browser, is a path on this site that every browser resolves to this
// site. Pattern checks on the raw string are not enough: browsers drop
// TAB, CR and LF anywhere in a URL and read "\" as "/", so "/\t/evil"
// and "/\evil" both leave the site. So p is parsed, and every layer of
// its percent-encoding is checked as a browser would read it.
func IsLocalPath(p string) bool {
	if p == "" || len(p) > maxLocalPath || p[0] != '/' {
		return false
	}
	layer := p
	for i := 0; ; i++ {
		if !safeLayer(layer) {
			return false
		}
		if i == maxUnescapes || !strings.Contains(layer, "%") {
			break
		}
		next, err := url.PathUnescape(layer)
		if err != nil {
			return false
		}
		layer = next
	}
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Opaque != "" || u.Host != "" || u.User != nil {
		return false
	}
	if !strings.HasPrefix(u.Path, "/") || strings.HasPrefix(u.Path, "//") {
		return false
	}
	return true
}

// safeLayer checks one decoding layer of a candidate path.
func safeLayer(s string) bool {
	if !utf8.ValidString(s) || strings.ContainsRune(s, '\\') {
		return false
	}
	for _, r := range s {
		// Controls (TAB, CR, LF, NUL, DEL, C1) are dropped or cut at by
		// browsers and logs; format characters (bidi overrides, zero
		// widths) and line separators hide what a link says.
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || unicode.In(r, unicode.Zl, unicode.Zp) {
			return false
		}
	}
	if !strings.HasPrefix(s, "/") {
		return false
	}
	path, _, _ := strings.Cut(s, "?")
	path, _, _ = strings.Cut(path, "#")
	second, _ := utf8.DecodeRuneInString(path[1:])
	if second == '/' || isSlashLookalike(second) {
		return false
	}
	// Dot segments are resolved before the path is used: "/.//evil"
	// becomes "//evil". No page of ours has one.
	for seg := range strings.SplitSeq(path[1:], "/") {
		if seg == "." || seg == ".." {
			return false
		}
	}
	return true
}

func isSlashLookalike(r rune) bool {
	for _, l := range slashLookalikes {
		if r == l {
			return true
		}
	}
	return false
}

// Redirect sends the browser to target after a successful POST: 303 for a
// plain form, HX-Redirect for htmx (a full navigation, not a swap).
func Redirect(w http.ResponseWriter, r *http.Request, target string) {
	if r.Header.Get("HX-Request") == "true" {
		w.Header().Set("HX-Redirect", target)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	http.Redirect(w, r, target, http.StatusSeeOther) // #nosec G710 -- targets are our paths or passed IsLocalPath
}

// ToSignIn sends a signed-out request to a sign-in page: 303 for a
// browser, HX-Redirect with 401 for htmx, so that the whole page moves
// instead of a fragment swap showing the sign-in form inside a table.
func ToSignIn(w http.ResponseWriter, r *http.Request, target string) {
	if r.Header.Get("HX-Request") == "true" {
		w.Header().Set("HX-Redirect", target)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// ReturnPath is where to come back to after signing in: the page itself,
// or for an htmx request the page the browser shows (HX-Current-URL), not
// the fragment URL it fetched. It is always a local path ("/" when the
// request names none that is safe).
func ReturnPath(r *http.Request) string {
	if r.Header.Get("HX-Request") == "true" {
		// HX-Current-URL is absolute: only its path and query are kept,
		// so a header naming another host still returns here.
		if cur, err := url.Parse(r.Header.Get("HX-Current-URL")); err == nil && cur.Path != "" && IsLocalPath(cur.RequestURI()) {
			return cur.RequestURI()
		}
	}
	if r.Method != http.MethodGet {
		return paths.Home
	}
	if uri := r.URL.RequestURI(); IsLocalPath(uri) {
		return uri
	}
	return paths.Home
}

// NextAfterSignIn is where a sign-in form's "next" field may send the
// browser: a local page other than a sign-in page, else fallback.
func NextAfterSignIn(next, fallback string) string {
	if !IsLocalPath(next) {
		return fallback
	}
	if u, err := url.Parse(next); err != nil || u.Path == paths.SignIn || strings.HasPrefix(u.Path, paths.SignIn+"/") {
		return fallback
	}
	return next
}
