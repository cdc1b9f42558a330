package handlers

import (
	"mime"
	"strconv"
)

// maxPage bounds page numbers so that offsets cannot overflow.
const maxPage = 1_000_000

// PageNumber reads a "page" query value: 1 when empty, ok false when it
// is not a page number (then the caller answers 400 with its message).
func PageNumber(v string) (page int, ok bool) {
	if v == "" {
		return 1, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxPage {
		return 0, false
	}
	return n, true
}

// Attachment is the Content-Disposition of a download named name: quoted
// when it is ASCII, RFC 2231-encoded (filename*) when it is not.
func Attachment(name string) string {
	if v := mime.FormatMediaType("attachment", map[string]string{"filename": name}); v != "" {
		return v
	}
	// FormatMediaType refuses names it cannot encode (control characters).
	return mime.FormatMediaType("attachment", map[string]string{"filename": "document"})
}
