package kasko

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"backoffice/apiclient"
	kaskoapi "backoffice/apiclient/kasko"
	"backoffice/handlers"
)

// fileName makes a download name from an asset's name and extension.
func fileName(name, ext string) string {
	if ext != "" && !strings.HasSuffix(strings.ToLower(name), "."+strings.ToLower(ext)) {
		return name + "." + ext
	}
	return name
}

// Document handles GET /policies/{id}/documents/{kind}/{index}: it streams
// the document through the dashboard, so neither the key nor the signed
// link reaches the browser. An expired link is renewed by reading the
// policy again, once.
func (p *Policies) Document(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	api := p.h.api(ctx)
	kind := r.PathValue("kind")
	index, err := strconv.Atoi(r.PathValue("index"))
	if err != nil || index < 0 || (kind != "asset" && kind != "media") {
		return handlers.ErrNotFound
	}
	var dl *kaskoapi.Download
	var name string
	for attempt := 0; attempt < 2; attempt++ {
		pol, err := api.GetPolicy(ctx, r.PathValue("id"))
		if err != nil {
			return err
		}
		var link string
		switch {
		case kind == "asset" && index < len(pol.Assets):
			a := pol.Assets[index]
			link, name = a.DownloadURL(), fileName(a.Name, a.Extension)
		case kind == "media" && index < len(pol.Media):
			m := pol.Media[index]
			link, name = m.URL, fileName(m.Name, extensionOf(m.MimeType))
		default:
			return handlers.ErrNotFound
		}
		dl, err = api.DownloadAsset(ctx, link)
		if err == nil {
			break
		}
		if !errors.Is(err, apiclient.ErrForbidden) {
			return err
		}
		if attempt == 1 {
			// A link fresh from the upstream that it refuses is the
			// upstream's fault, not the user's permissions.
			return &handlers.Error{Status: http.StatusBadGateway, MessageKey: "error.upstream_unavailable", Err: err}
		}
	}
	defer dl.Body.Close()
	ct := dl.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	h := w.Header()
	h.Set("Content-Type", ct)
	h.Set("Content-Disposition", handlers.Attachment(name))
	h.Set("Cache-Control", "private, no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	if dl.ContentLength > 0 {
		h.Set("Content-Length", strconv.FormatInt(dl.ContentLength, 10))
	}
	w.WriteHeader(http.StatusOK)
	// A failure halfway means the client or the upstream went away; the
	// status is already sent, so there is nobody left to tell.
	_, _ = io.Copy(w, dl.Body)
	return nil
}

// extensionOf picks the usual file extension for a media type, without
// the dot; "" when unknown.
func extensionOf(mimeType string) string {
	mt, _, err := mime.ParseMediaType(mimeType)
	if err != nil {
		return ""
	}
	switch mt { // the common ones, where the registry lists several
	case "image/jpeg":
		return "jpg"
	case "text/plain":
		return "txt"
	}
	exts, err := mime.ExtensionsByType(mt)
	if err != nil || len(exts) == 0 {
		return ""
	}
	return strings.TrimPrefix(exts[0], ".")
}
