// Package static embeds the dashboard's CSS, JavaScript and images and
// serves them under content-hashed URLs, so browsers and shared caches
// may keep them for a year and a new build never serves a stale file.
package static

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"
)

//go:embed css js img
var files embed.FS

// Prefix is the URL path under which assets are mounted.
const Prefix = "/static/"

type asset struct {
	hash        string // first 12 hex digits of the SHA-256 of the content
	body        []byte
	gzipped     []byte // nil when compression does not pay
	contentType string
}

// Assets is the set of embedded files with their hashes, computed once.
type Assets struct {
	byName map[string]*asset
}

// New hashes (and, where it pays, gzips) every embedded file.
func New() (*Assets, error) {
	a := &Assets{byName: map[string]*asset{}}
	err := fs.WalkDir(files, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := files.ReadFile(name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		ct := mime.TypeByExtension(path.Ext(name))
		if ct == "" {
			ct = "application/octet-stream"
		}
		item := &asset{hash: hex.EncodeToString(sum[:])[:12], body: body, contentType: ct}
		if compressible(ct) {
			var buf bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
			if _, err := zw.Write(body); err != nil {
				return err
			}
			if err := zw.Close(); err != nil {
				return err
			}
			if buf.Len() < len(body) {
				item.gzipped = buf.Bytes()
			}
		}
		a.byName[name] = item
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("static: %w", err)
	}
	return a, nil
}

func compressible(contentType string) bool {
	return strings.HasPrefix(contentType, "text/") ||
		strings.Contains(contentType, "javascript") ||
		strings.Contains(contentType, "json") ||
		strings.Contains(contentType, "svg")
}

// Path returns the hashed URL of an embedded file ("css/app.css" →
// "/static/3f2a…/css/app.css"). An unknown name panics: it is a typo in a
// template, and every page test would catch it.
func (a *Assets) Path(name string) string {
	item, ok := a.byName[name]
	if !ok {
		panic("static: no embedded file " + name)
	}
	return Prefix + item.hash + "/" + name
}

// ServeHTTP serves /static/{hash}/{name}. A current hash is cached for a
// year; an old hash (a page from the previous build) is redirected to the
// current URL rather than served under a name that lies about its content.
func (a *Assets) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, Prefix)
	hash, name, ok := strings.Cut(rest, "/")
	item, found := a.byName[name]
	if !ok || !found {
		http.NotFound(w, r)
		return
	}
	if hash != item.hash {
		w.Header().Set("Cache-Control", "no-cache")
		http.Redirect(w, r, a.Path(name), http.StatusFound) // #nosec G710 -- name is an embedded asset (looked up above)
		return
	}
	h := w.Header()
	h.Set("Content-Type", item.contentType)
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("ETag", `"`+item.hash+`"`)
	h.Add("Vary", "Accept-Encoding")
	h.Set("X-Content-Type-Options", "nosniff")
	body := item.body
	if item.gzipped != nil && acceptsGzip(r) {
		h.Set("Content-Encoding", "gzip")
		body = item.gzipped
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			continue
		}
		q, found := strings.CutPrefix(strings.ReplaceAll(params, " ", ""), "q=")
		if !found {
			return true
		}
		weight, err := strconv.ParseFloat(q, 64)
		return err == nil && weight > 0
	}
	return false
}
