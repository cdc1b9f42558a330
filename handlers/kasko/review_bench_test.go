package kasko_test

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"testing"
	"time"

	"backoffice/internal/sandbox"
	"backoffice/web/webtest"
)

// BenchmarkReviewPage measures the overview page of the demo book (2,500
// policies, a year and a quarter): its size as sent and gzipped, and
// the time to serve it, kept (no write since the last one) as a manager
// mostly sees it. Run it with
//
//	go test -run '^$' -bench ReviewPage ./handlers/kasko/
func BenchmarkReviewPage(b *testing.B) {
	srv := webtest.NewServer(b, webtest.Options{Sandbox: sandbox.Options{Policies: 2500}, Index: true,
		IndexKeys: []string{sandbox.KeyASecretTest}, IndexPoll: time.Hour})
	srv.WaitIndexed(b)
	br := srv.SignedIn(b, sandbox.KeyAPublicTest)
	for _, path := range []string{"/review?period=year", "/review?period=quarter", "/review/expiring?days=90"} {
		b.Run(path, func(b *testing.B) {
			var size, zipped int
			for b.Loop() {
				r := br.Page(b, path, http.StatusOK)
				size = len(r.Body)
			}
			var z bytes.Buffer
			w := gzip.NewWriter(&z)
			w.Write([]byte(br.Page(b, path, http.StatusOK).Body))
			w.Close()
			zipped = z.Len()
			b.ReportMetric(float64(size), "html-bytes")
			b.ReportMetric(float64(zipped), "gzip-bytes")
		})
	}
}
