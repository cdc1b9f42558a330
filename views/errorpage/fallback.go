package errorpage

import (
	"bytes"
	"html"
	"net/http"

	"backoffice/internal/i18n"
)

// Fallback is the error page for when the error page itself cannot be
// rendered, or a handler panicked: written once per language at start,
// so that answering with it needs no template, no view model and no
// catalogue lookup, only bytes (pkgsite's pre-rendered error page). It
// links the app's stylesheet and has no inline script or style, so the
// Content-Security-Policy stays as strict as on every other page.
type Fallback struct {
	pages  map[string]fallbackBytes
	alerts map[string]fallbackBytes
	def    string
}

// fallbackBytes is a page split where the request id goes, the only
// part that differs between answers.
type fallbackBytes struct{ head, tail []byte }

// ridMark stands for the request id while the pages are written.
const ridMark = "\x00request-id\x00"

// NewFallback writes the fallback page and alert in every language of
// catalog; css is the stylesheet's hashed URL.
func NewFallback(catalog *i18n.Catalog, css string) *Fallback {
	f := &Fallback{pages: map[string]fallbackBytes{}, alerts: map[string]fallbackBytes{}, def: "en"}
	for i, lang := range catalog.Languages() {
		if i == 0 {
			f.def = lang
		}
		p := catalog.Printer(lang)
		t := func(key string) string { return html.EscapeString(p.T(key)) }
		rid := html.EscapeString(p.T("error.request_id", "ID", ridMark))
		var b bytes.Buffer
		b.WriteString(`<!DOCTYPE html><html lang="` + html.EscapeString(lang) + `"><head><meta charset="utf-8">`)
		b.WriteString(`<meta name="viewport" content="width=device-width, initial-scale=1">`)
		b.WriteString(`<title>` + t("error.title") + ` · ` + t("app.name") + `</title>`)
		b.WriteString(`<link rel="stylesheet" href="` + html.EscapeString(css) + `"></head><body>`)
		b.WriteString(`<header class="site-header"><div class="inner"><a class="brand" href="/"><span class="brand-mark" aria-hidden="true">PB</span>` + t("app.name") + `</a></div></header>`)
		b.WriteString(`<main id="main"><section class="card error-page" aria-labelledby="error-title" data-testid="fallback">`)
		b.WriteString(`<h1 id="error-title">` + t("error.title") + `</h1>`)
		b.WriteString(`<p data-testid="error-message">` + t("error.internal") + `</p>`)
		b.WriteString(`<p class="muted" data-testid="request-id">` + rid + `</p>`)
		b.WriteString(`<p><a class="button secondary" href="/">` + t("error.home") + `</a></p></section></main></body></html>`)
		f.pages[lang] = split(b.Bytes())

		b.Reset()
		b.WriteString(`<div class="alert error" role="alert" data-testid="alert">` + t("error.internal"))
		b.WriteString(` <span class="request-id" data-testid="request-id">` + rid + `</span></div>`)
		f.alerts[lang] = split(b.Bytes())
	}
	return f
}

func split(b []byte) fallbackBytes {
	head, tail, _ := bytes.Cut(b, []byte(html.EscapeString(ridMark)))
	return fallbackBytes{head: bytes.Clone(head), tail: bytes.Clone(tail)}
}

// Serve answers with the fallback in lang (the default language when
// the catalogue has no such language): the full page, or for an htmx
// request an alert retargeted into the page's #flash region. Headers a
// failed answer may have left behind are dropped first; once the status
// has gone out, nothing better than appending is possible.
func (f *Fallback) Serve(w http.ResponseWriter, r *http.Request, status int, lang, requestID string) {
	set := f.pages
	h := w.Header()
	for _, k := range []string{"Content-Length", "Content-Encoding", "ETag", "Last-Modified", "HX-Redirect", "HX-Push-Url", "HX-Trigger", "Location"} {
		h.Del(k)
	}
	if r.Header.Get("HX-Request") == "true" {
		set = f.alerts
		h.Set("HX-Retarget", "#flash")
		h.Set("HX-Reswap", "innerHTML")
	}
	if _, ok := set[lang]; !ok {
		lang = f.def
	}
	page := set[lang]
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Language", lang)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	var b bytes.Buffer
	b.Grow(len(page.head) + len(requestID) + len(page.tail))
	b.Write(page.head)
	b.WriteString(html.EscapeString(requestID))
	b.Write(page.tail)
	_, _ = w.Write(b.Bytes())
}
