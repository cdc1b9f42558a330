package casco

import (
	"bufio"
	"errors"
	"io"
	"net/http"
	"strings"

	cascoapi "backoffice/apiclient/casco"
	"backoffice/handlers"
)

// streamPDF sends a CascoApi document (an offer's, a policy's) as a
// download. Its first bytes are read before anything is sent, so an
// upstream failure at the start still becomes an error page; the client
// bounds the document's size.
func streamPDF(w http.ResponseWriter, doc *cascoapi.Document, name string) error {
	defer doc.Close()
	br := bufio.NewReaderSize(doc, 32<<10)
	head, err := br.Peek(5)
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	if string(head) != "%PDF-" {
		return &handlers.Error{Status: http.StatusBadGateway, MessageKey: "error.upstream_unavailable", Err: errors.New("casco document is not a PDF")}
	}
	h := w.Header()
	h.Set("Content-Type", "application/pdf")
	h.Set("Content-Disposition", handlers.Attachment(name))
	h.Set("Cache-Control", "private, no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	// A failure halfway (the client went away, the upstream broke or
	// the document outgrew the limit) cannot change the status any more.
	_, _ = io.Copy(w, br)
	return nil
}

// fileSafe keeps letters, digits, dashes and underscores, for a file
// name made from upstream values ("GRP/CL" becomes "GRP-CL").
func fileSafe(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	return strings.Trim(b.String(), "-")
}
