package casco_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"net/http"
	"runtime"
	"strings"
	"testing"

	"backoffice/apiclient"
	"backoffice/apiclient/casco"
)

// pdfBytes is deterministic pseudo-PDF content of n bytes.
func pdfBytes(n int) []byte {
	b := make([]byte, n)
	rand.NewChaCha8([32]byte{1, 2}).Read(b)
	copy(b, "%PDF-1.7\n")
	return b
}

// phpBase64 encodes the way PHP's json_encode(base64_encode(…)) prints:
// every "/" escaped as "\/".
func phpBase64(b []byte) string {
	return strings.ReplaceAll(base64.StdEncoding.EncodeToString(b), "/", `\/`)
}

func docServer(t *testing.T, path, body string) *casco.Session {
	t.Helper()
	clk := newClock()
	f, srv := newFake(t, clk)
	f.routes["GET "+path] = raw(200, "application/json", body)
	return mustLogin(t, mustNew(t, srv.URL, casco.WithClock(clk.Now)))
}

func TestOfferDocumentStreams(t *testing.T) {
	want := pdfBytes(3<<20 + 17)
	body := `{"error":false,"status":200,"data":{"files":[{"type":"Offer","name":"..\/..\/offer-794318.pdf","content":"` +
		phpBase64(want) + `"}]}}`
	s := docServer(t, "/offer/794318", body)
	doc, err := s.OfferDocument(context.Background(), 794318)
	if err != nil {
		t.Fatal(err)
	}
	defer doc.Close()
	if doc.Type != casco.DocumentOffer || doc.Name != "offer-794318.pdf" || doc.RequestID != "req-raw" {
		t.Errorf("document: got type %q name %q request id %q", doc.Type, doc.Name, doc.RequestID)
	}
	got, err := io.ReadAll(doc)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("content: got %d bytes, want %d (equal: false)", len(got), len(want))
	}
}

// TestDocumentMemoryStaysSmall reads an 8 MiB document and checks that
// far less than that was allocated on the way: the base64 is decoded as
// it arrives, never held whole.
func TestDocumentMemoryStaysSmall(t *testing.T) {
	want := pdfBytes(8 << 20)
	body := `{"data":{"files":[{"type":"Offer","name":"offer-1.pdf","content":"` + base64.StdEncoding.EncodeToString(want) + `"}]},"error":false}`
	s := docServer(t, "/offer/1", body)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	doc, err := s.OfferDocument(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	h := crc32.NewIEEE() // so that the test itself keeps no copy
	n, err := io.CopyBuffer(h, doc, make([]byte, 32<<10))
	doc.Close()
	runtime.ReadMemStats(&after)
	if err != nil || n != int64(len(want)) || h.Sum32() != crc32.ChecksumIEEE(want) {
		t.Fatalf("read %d bytes, err %v; want %d identical bytes", n, err, len(want))
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 2<<20 {
		t.Errorf("allocated %d bytes while streaming an 8 MiB document, want under 2 MiB", alloc)
	} else {
		t.Logf("allocated %d bytes while streaming an 8 MiB document", alloc)
	}
}

func TestPolicyDocumentQueryAndShapes(t *testing.T) {
	want := []byte("%PDF-1.4 policy")
	enc := base64.StdEncoding.EncodeToString(want)
	// Base64 broken into lines with \r\n escapes, as chunk_split does.
	wrapped := enc[:8] + `\r\n` + enc[8:]
	cases := []struct {
		name, body, wantType, wantName string
	}{
		{"plain", `{"error":false,"status":200,"data":{"files":[{"type":"Policy","name":"policy-RO-05-M3-123456789.pdf","content":"` + enc + `"}]}}`,
			"Policy", "policy-RO-05-M3-123456789.pdf"},
		{"line breaks and spaces", "{ \"data\" : { \"files\" : [ { \"type\" : \"Policy\" , \"name\":\"p.pdf\" , \"content\" :\n \"" + wrapped + "\" } ] } }",
			"Policy", "p.pdf"},
		{"content before name", `{"data":{"files":[{"content":"` + enc + `","type":"Policy","name":"late.pdf"}]}}`,
			"", "policy-RO-05-M3-123456789.pdf"},
		{"other file first", `{"data":{"extra":{"a":[1,{"b":null}]},"files":[{"type":"Terms","name":"terms.pdf","content":"` +
			base64.StdEncoding.EncodeToString(pdfBytes(100000)) + `","size":3},{"type":"Policy","name":"second.pdf","content":"` + enc + `"}]}}`,
			"Policy", "second.pdf"},
		{"unicode escape", `{"data":{"files":[{"type":"Policy","name":"p.pdf","content":"` + enc[:4] + fmt.Sprintf(`\u%04X`, enc[4]) + enc[5:] + `"}]}}`,
			"Policy", "p.pdf"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock()
			f, srv := newFake(t, clk)
			var query string
			f.routes["GET /policy"] = func(w http.ResponseWriter, r *http.Request) {
				query = r.URL.RawQuery
				raw(200, "application/json", tc.body)(w, r)
			}
			s := mustLogin(t, mustNew(t, srv.URL, casco.WithClock(clk.Now)))
			doc, err := s.PolicyDocument(context.Background(), "RO/05/M3", 123456789)
			if err != nil {
				t.Fatal(err)
			}
			defer doc.Close()
			if query != "number=123456789&series=RO%2F05%2FM3" {
				t.Errorf("query: got %q", query)
			}
			got, err := io.ReadAll(doc)
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("content: got %q, %v; want %q", got, err, want)
			}
			if doc.Type != tc.wantType || doc.Name != tc.wantName {
				t.Errorf("type/name: got %q %q, want %q %q", doc.Type, doc.Name, tc.wantType, tc.wantName)
			}
		})
	}
}

func TestDocumentFailures(t *testing.T) {
	big := base64.StdEncoding.EncodeToString(pdfBytes(2048))
	cases := []struct {
		name     string
		h        http.HandlerFunc
		openKind error // error from OfferDocument, or nil
		readKind error // error from reading, when open succeeded
		message  string
	}{
		{"404", raw(404, "application/json", `{"error":true,"status":404,"message":"Offer not found","correlation_id":"c"}`),
			apiclient.ErrNotFound, nil, "Offer not found"},
		{"error in 200", raw(200, "application/json", `{"error":true,"status":403,"message":"Not your offer","data":[]}`),
			apiclient.ErrForbidden, nil, "Not your offer"},
		{"no files", raw(200, "application/json", `{"error":false,"status":200,"data":{"files":[]}}`),
			apiclient.ErrInvalidResponse, nil, "answer has no document"},
		{"only other types", raw(200, "application/json", `{"data":{"files":[{"type":"Policy","content":"QUJD"}]}}`),
			apiclient.ErrInvalidResponse, nil, "answer has no document"},
		{"empty content", raw(200, "application/json", `{"data":{"files":[{"type":"Offer","content":""}]}}`),
			apiclient.ErrInvalidResponse, nil, "answer has no document"},
		{"null content", raw(200, "application/json", `{"data":{"files":[{"type":"Offer","content":null}]}}`),
			apiclient.ErrInvalidResponse, nil, "answer has no document"},
		{"not JSON", raw(200, "application/pdf", "%PDF-1.4"), apiclient.ErrInvalidResponse, nil, "answer is not JSON"},
		{"garbage", raw(200, "application/json", `{"data":{"files":[{"type":`), apiclient.ErrInvalidResponse, nil, "answer could not be decoded"},
		{"truncated content", raw(200, "application/json", `{"data":{"files":[{"type":"Offer","content":"`+big[:1000]),
			nil, apiclient.ErrInvalidResponse, "document truncated"},
		{"corrupt base64", raw(200, "application/json", `{"data":{"files":[{"type":"Offer","content":"QUJD*&^%"}]}}`),
			nil, apiclient.ErrInvalidResponse, "document could not be decoded"},
		{"over the size limit", raw(200, "application/json", `{"data":{"files":[{"type":"Offer","content":"`+big+`"}]}}`),
			nil, apiclient.ErrInvalidResponse, "document too large"},
		{"connection cut", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Length", "100000")
			io.WriteString(w, `{"data":{"files":[{"type":"Offer","content":"`+big[:400])
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler)
		}, nil, apiclient.ErrUnavailable, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock()
			f, srv := newFake(t, clk)
			f.routes["GET /offer/7"] = tc.h
			s := mustLogin(t, mustNew(t, srv.URL, casco.WithClock(clk.Now), casco.WithMaxDocumentSize(1024)))
			doc, err := s.OfferDocument(context.Background(), 7)
			if tc.openKind != nil {
				if !errors.Is(err, tc.openKind) {
					t.Fatalf("open: got %v, want %v", err, tc.openKind)
				}
				if e := mustAPIError(t, err); e.Message != tc.message || e.Op != "GET /offer/{id}" || e.RequestID == "" {
					t.Errorf("open: got %+v", e)
				}
				return
			}
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			defer doc.Close()
			n, err := io.Copy(io.Discard, doc)
			if !errors.Is(err, tc.readKind) {
				t.Fatalf("read: got %v after %d bytes, want %v", err, n, tc.readKind)
			}
			if e := mustAPIError(t, err); tc.message != "" && e.Message != tc.message {
				t.Errorf("read: got message %q, want %q", e.Message, tc.message)
			}
			if n > 1024 {
				t.Errorf("read %d bytes past the 1024-byte limit", n)
			}
			if _, again := doc.Read(make([]byte, 10)); !errors.Is(again, tc.readKind) {
				t.Errorf("second read: got %v, want the same error", again)
			}
		})
	}
}

// TestDocumentRenewsOn401: a download is retried once after a renewal,
// like any call.
func TestDocumentRenewsOn401(t *testing.T) {
	clk := newClock()
	f, srv := newFake(t, clk)
	f.routes["GET /offer/5"] = raw(200, "application/json", `{"data":{"files":[{"type":"Offer","content":"QUJD"}]}}`)
	s := mustLogin(t, mustNew(t, srv.URL, casco.WithClock(clk.Now)))
	f.expireAll()
	doc, err := s.OfferDocument(context.Background(), 5)
	if err != nil {
		t.Fatal(err)
	}
	defer doc.Close()
	b, err := io.ReadAll(doc)
	if err != nil || string(b) != "ABC" || f.patches.Load() != 1 || doc.Name != "offer-5.pdf" {
		t.Errorf("got %q, %v, %d PATCHes, name %q", b, err, f.patches.Load(), doc.Name)
	}
}
