package handlers_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/a-h/templ"

	"backoffice/handlers"
	"backoffice/internal/i18n"
	"backoffice/views/errorpage"
)

// TestRenderFailureAnswersWithFallbackPage: when a page's component
// fails and the error page cannot be rendered either (here: the request's
// deadline has passed, and templ stops at it), the answer is the
// pre-rendered HTML page in the request's language with its id, not a
// plain-text status line.
func TestRenderFailureAnswersWithFallbackPage(t *testing.T) {
	catalog, err := i18n.New()
	if err != nil {
		t.Fatal(err)
	}
	core := handlers.New(handlers.Config{Languages: catalog.Languages(), Fallback: errorpage.NewFallback(catalog, "/static/abc/css/app.css")})
	failing := templ.ComponentFunc(func(ctx context.Context, w io.Writer) error { return errors.New("component failed") })
	h := core.Wrap(func(w http.ResponseWriter, r *http.Request) error {
		return handlers.Render(w, r, http.StatusOK, failing)
	})
	for _, lang := range []string{"de", "ro", "en"} {
		t.Run(lang, func(t *testing.T) {
			ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
			defer cancel()
			ctx = handlers.WithRequestID(i18n.WithPrinter(ctx, catalog.Printer(lang)), "req-id-12345")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/policies", nil).WithContext(ctx))
			if rec.Code != http.StatusInternalServerError {
				t.Fatalf("status: got %d, want 500", rec.Code)
			}
			if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
				t.Fatalf("Content-Type: got %q, want HTML\n%s", ct, rec.Body)
			}
			doc, err := goquery.NewDocumentFromReader(rec.Body)
			if err != nil {
				t.Fatal(err)
			}
			p := catalog.Printer(lang)
			if got := doc.Find("html").AttrOr("lang", ""); got != lang {
				t.Errorf("lang: got %q, want %q", got, lang)
			}
			if got := doc.Find(`[data-testid="error-message"]`).Text(); got != p.T("error.internal") {
				t.Errorf("message: got %q, want %q", got, p.T("error.internal"))
			}
			if got := doc.Find(`[data-testid="request-id"]`).Text(); got != p.T("error.request_id", "ID", "req-id-12345") {
				t.Errorf("request id: got %q", got)
			}
		})
	}
}

// TestFallbackEscapesTheRequestID: the id is the one part written at
// answer time; it cannot inject markup.
func TestFallbackEscapesTheRequestID(t *testing.T) {
	catalog, err := i18n.New()
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	errorpage.NewFallback(catalog, "/app.css").Serve(rec, httptest.NewRequest("GET", "/", nil), http.StatusBadGateway, "xx", `<script>alert(1)</script>`)
	doc, err := goquery.NewDocumentFromReader(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Code != http.StatusBadGateway || doc.Find("script").Length() != 0 || doc.Find("html").AttrOr("lang", "") != "en" {
		t.Errorf("got status %d, %d scripts, lang %q; want 502, none, en", rec.Code, doc.Find("script").Length(), doc.Find("html").AttrOr("lang", ""))
	}
}
