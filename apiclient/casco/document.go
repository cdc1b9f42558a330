package casco

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"strings"
	"unicode/utf8"

	"backoffice/apiclient"
)

// Document is an offer or policy PDF being streamed. CascoApi sends
// documents base64-encoded inside JSON ({"data": {"files": [{"type",
// "name", "content"}]}}); Document decodes the content as it is read, so
// that only a small buffer is ever held, however large the file. The
// caller must Close it. Read fails with apiclient.ErrInvalidResponse past
// the client's document size limit or on a malformed answer, and with
// apiclient.ErrUnavailable when the connection breaks.
type Document struct {
	// Type is "Offer" or "Policy" (empty if the upstream sent the file's
	// content before its type).
	Type string
	// Name is the upstream's file name ("offer-794318.pdf"), without any
	// directory, or a name made from the id when the upstream sent none
	// before the content.
	Name      string
	RequestID string

	r      io.Reader
	body   io.Closer
	cancel context.CancelFunc
}

// Read reads decoded document bytes.
func (d *Document) Read(p []byte) (int, error) {
	return d.r.Read(p)
}

// Close releases the connection and the call's timeout.
func (d *Document) Close() error {
	err := d.body.Close()
	d.cancel()
	return err
}

// docWalker finds the file in a download answer with json.Decoder's
// tokens, then reads the content string itself from the stream.
type docWalker struct {
	dec  *json.Decoder
	src  io.Reader // what follows the decoder's buffer
	want string
	env  envelope // error fields seen on the way
	typ  string
	name string
}

// errNoFile means the walk ended without reaching a file's content.
var errNoFile = errors.New("answer has no document")

// openDocument walks resp's body up to the content of the first file of
// type want (or of unknown type) and returns the Document that decodes
// it. On error the caller closes the body.
func (c *Client) openDocument(ctx context.Context, r request, resp *http.Response, cancel context.CancelFunc, want, fallbackName string) (*Document, error) {
	reqID := apiclient.RedactSecrets(resp.Header.Get("X-Request-Id"), r.secrets...)
	// The encoded form is 4/3 of the decoded one, plus JSON escapes of
	// "/" in the worst case; what surrounds it is small.
	src := tagReader{io.LimitReader(resp.Body, 3*c.maxDoc+maxErrorBody)}
	w := &docWalker{dec: json.NewDecoder(src), src: src, want: want}
	content, err := w.walk()
	if reqID == "" {
		reqID = apiclient.RedactSecrets(string(w.env.CorrelationID), r.secrets...)
	}
	invalid := func(msg string, cause error) error {
		e := c.fail(ctx, &apiclient.Error{Upstream: upstream, Op: r.op, StatusCode: resp.StatusCode, Message: msg,
			RequestID: reqID, Kind: apiclient.ErrInvalidResponse, Cause: cause}, r.secrets)
		apiclient.EndAttempt(resp, e)
		return e
	}
	switch {
	case bool(w.env.Error):
		status := int(w.env.Status)
		if status < 400 {
			status = http.StatusBadRequest
		}
		e := c.fail(ctx, envelopeError(r.op, status, reqID, w.env), r.secrets)
		apiclient.EndAttempt(resp, e)
		return nil, e
	case errors.Is(err, errNoFile):
		return nil, invalid("answer has no document", nil)
	case err != nil:
		var te transportErr
		if errors.As(err, &te) {
			e := apiclient.TransportError(upstream, r.op, te.err)
			e.StatusCode, e.RequestID = resp.StatusCode, reqID
			return nil, c.fail(ctx, e, r.secrets)
		}
		return nil, invalid("answer could not be decoded", err)
	}
	name := cleanFileName(w.name)
	if name == "" {
		name = fallbackName
	}
	d := &Document{Type: w.typ, Name: name, RequestID: reqID, body: resp.Body, cancel: cancel}
	d.r = &docReader{
		r:   base64.NewDecoder(base64.StdEncoding, content),
		max: c.maxDoc,
		fail: func(msg string, cause error) error {
			var te transportErr
			if errors.As(cause, &te) {
				e := apiclient.TransportError(upstream, r.op, te.err)
				e.StatusCode, e.RequestID = resp.StatusCode, reqID
				return c.fail(ctx, e, r.secrets)
			}
			return invalid(msg, cause)
		},
	}
	return d, nil
}

// walk reads the top-level object.
func (w *docWalker) walk() (io.Reader, error) {
	if err := w.open('{'); err != nil {
		return nil, err
	}
	for w.dec.More() {
		key, err := w.key()
		if err != nil {
			return nil, err
		}
		switch key {
		case "data":
			if r, err := w.data(); r != nil || err != nil {
				return r, err
			}
		case "error":
			err = w.dec.Decode(&w.env.Error)
		case "status":
			err = w.dec.Decode(&w.env.Status)
		case "message":
			err = w.dec.Decode(&w.env.Message)
		case "correlation_id":
			err = w.dec.Decode(&w.env.CorrelationID)
		case "errors":
			err = w.dec.Decode(&w.env.Errors)
		default:
			err = w.skip()
		}
		if err != nil {
			return nil, err
		}
	}
	return nil, errNoFile
}

// data reads the data object up to a file's content. Data of another
// shape (an error's field map, []) is kept for the error.
func (w *docWalker) data() (io.Reader, error) {
	if w.env.Error {
		return nil, w.dec.Decode(&w.env.Data)
	}
	tok, err := w.dec.Token()
	if err != nil {
		return nil, w.wrap(err)
	}
	if tok != json.Delim('{') {
		return nil, w.skipAfter(tok)
	}
	for w.dec.More() {
		key, err := w.key()
		if err != nil {
			return nil, err
		}
		if key != "files" {
			if err := w.skip(); err != nil {
				return nil, err
			}
			continue
		}
		tok, err := w.dec.Token()
		if err != nil {
			return nil, w.wrap(err)
		}
		if tok != json.Delim('[') {
			if err := w.skipAfter(tok); err != nil {
				return nil, err
			}
			continue
		}
		for w.dec.More() {
			if r, err := w.file(); r != nil || err != nil {
				return r, err
			}
		}
		if _, err := w.dec.Token(); err != nil { // ]
			return nil, w.wrap(err)
		}
	}
	_, err = w.dec.Token() // }
	return nil, w.wrap(err)
}

// file reads one item of data.files. The content of a file of another
// type is read and dropped without being held, and the walk goes on.
func (w *docWalker) file() (io.Reader, error) {
	tok, err := w.dec.Token()
	if err != nil {
		return nil, w.wrap(err)
	}
	if tok != json.Delim('{') {
		return nil, w.skipAfter(tok)
	}
	var typ, name looseString
	for w.dec.More() {
		key, err := w.key()
		if err != nil {
			return nil, err
		}
		switch key {
		case "type":
			err = w.dec.Decode(&typ)
		case "name":
			err = w.dec.Decode(&name)
		case "content":
			content, cerr := w.content()
			if cerr != nil {
				return nil, cerr
			}
			if typ == "" || strings.EqualFold(string(typ), w.want) {
				w.typ, w.name = string(typ), string(name)
				return content, nil
			}
			if _, err := io.Copy(io.Discard, content); err != nil {
				return nil, err
			}
			w.resume()
		default:
			err = w.skip()
		}
		if err != nil {
			return nil, w.wrap(err)
		}
	}
	_, err = w.dec.Token() // }
	return nil, w.wrap(err)
}

// resumePrefix re-creates the nesting of a file object (top object, data
// object, files array, file object) for a new decoder, so that the walk
// can go on after the content string was read past the old decoder.
const resumePrefix = `{"data":{"files":[{"_":0`

// resume gives the walk a new decoder over the rest of the stream,
// positioned inside the current file object after a value.
func (w *docWalker) resume() {
	w.dec = json.NewDecoder(io.MultiReader(strings.NewReader(resumePrefix), w.src))
	for range 8 { // { "data" { "files" [ { "_" 0
		w.dec.Token()
	}
}

// content positions the stream at the content string and returns a
// reader of its unescaped characters. An empty or non-string content is
// no document.
func (w *docWalker) content() (io.Reader, error) {
	br := bufio.NewReader(io.MultiReader(w.dec.Buffered(), w.src))
	w.src = br
	for {
		b, err := br.ReadByte()
		if err != nil {
			return nil, w.wrap(err)
		}
		switch b {
		case ' ', '\t', '\r', '\n', ':':
			continue
		case '"':
			if next, err := br.Peek(1); err == nil && next[0] == '"' {
				return nil, errNoFile
			}
			return &jsonString{r: br}, nil
		default:
			return nil, errNoFile
		}
	}
}

func (w *docWalker) open(d json.Delim) error {
	tok, err := w.dec.Token()
	if err != nil {
		return w.wrap(err)
	}
	if tok != d {
		return fmt.Errorf("want %v, got %v", d, tok)
	}
	return nil
}

func (w *docWalker) key() (string, error) {
	tok, err := w.dec.Token()
	if err != nil {
		return "", w.wrap(err)
	}
	k, ok := tok.(string)
	if !ok {
		return "", fmt.Errorf("want an object key, got %v", tok)
	}
	return k, nil
}

// skip drops the next value.
func (w *docWalker) skip() error {
	tok, err := w.dec.Token()
	if err != nil {
		return w.wrap(err)
	}
	return w.skipAfter(tok)
}

// skipAfter drops the rest of a value whose first token was tok.
func (w *docWalker) skipAfter(tok json.Token) error {
	depth := 0
	for {
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{', '[':
				depth++
			default:
				depth--
			}
		}
		if depth <= 0 {
			return nil
		}
		var err error
		if tok, err = w.dec.Token(); err != nil {
			return w.wrap(err)
		}
	}
}

// wrap turns the end of the body in the middle of the walk into
// io.ErrUnexpectedEOF.
func (w *docWalker) wrap(err error) error {
	if errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// transportErr is a failure to read the body (as opposed to a malformed
// body); tagReader marks them at the source.
type transportErr struct{ err error }

func (t transportErr) Error() string { return t.err.Error() }
func (t transportErr) Unwrap() error { return t.err }

type tagReader struct{ r io.Reader }

func (t tagReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err != nil && err != io.EOF {
		err = transportErr{err}
	}
	return n, err
}

// jsonString reads a JSON string's characters after its opening quote,
// undoing escapes ("\/" is common from PHP), up to the closing quote.
// Raw control characters, which JSON forbids, are passed on: the base64
// decoder refuses them (but for line breaks, which it skips).
type jsonString struct {
	r       *bufio.Reader
	done    bool
	pending []byte // the rest of an escaped multi-byte character
}

func (s *jsonString) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(s.pending) > 0 {
			c := copy(p[n:], s.pending)
			s.pending = s.pending[c:]
			n += c
			continue
		}
		if s.done {
			return n, io.EOF
		}
		if s.r.Buffered() == 0 {
			if n > 0 {
				// Hand over what we have rather than block for more.
				return n, nil
			}
			if _, err := s.r.Peek(1); err != nil {
				if err == io.EOF {
					return n, io.ErrUnexpectedEOF
				}
				return n, err
			}
		}
		// Copy the run up to the next quote or escape in one go.
		buf, _ := s.r.Peek(s.r.Buffered())
		stop := len(buf)
		if i := bytes.IndexByte(buf, '"'); i >= 0 {
			stop = i
		}
		if i := bytes.IndexByte(buf[:stop], '\\'); i >= 0 {
			stop = i
		}
		if stop > 0 {
			c := copy(p[n:], buf[:stop])
			s.r.Discard(c)
			n += c
			continue
		}
		if b, _ := s.r.ReadByte(); b == '"' {
			s.done = true
			continue
		}
		if err := s.escape(); err != nil {
			return n, err
		}
	}
	return n, nil
}

func (s *jsonString) escape() error {
	b, err := s.r.ReadByte()
	if err != nil {
		if err == io.EOF {
			return io.ErrUnexpectedEOF
		}
		return err
	}
	switch b {
	case '"', '\\', '/':
		s.pending = []byte{b}
	case 'n':
		s.pending = []byte{'\n'}
	case 'r':
		s.pending = []byte{'\r'}
	case 't':
		s.pending = []byte{'\t'}
	case 'b':
		s.pending = []byte{'\b'}
	case 'f':
		s.pending = []byte{'\f'}
	case 'u':
		var hex [4]byte
		if _, err := io.ReadFull(s.r, hex[:]); err != nil {
			if err == io.EOF {
				return io.ErrUnexpectedEOF
			}
			return err
		}
		var r rune
		for _, h := range hex {
			r <<= 4
			switch {
			case h >= '0' && h <= '9':
				r |= rune(h - '0')
			case h >= 'a' && h <= 'f':
				r |= rune(h-'a') + 10
			case h >= 'A' && h <= 'F':
				r |= rune(h-'A') + 10
			default:
				return errors.New("bad \\u escape in JSON string")
			}
		}
		s.pending = utf8.AppendRune(nil, r)
	default:
		return fmt.Errorf("bad escape \\%c in JSON string", b)
	}
	return nil
}

// docReader enforces the size limit and turns read failures into
// *apiclient.Error values.
type docReader struct {
	r    io.Reader
	max  int64
	n    int64
	err  error
	fail func(msg string, cause error) error
}

func (d *docReader) Read(p []byte) (int, error) {
	if d.err != nil {
		return 0, d.err
	}
	if rest := d.max + 1 - d.n; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := d.r.Read(p)
	d.n += int64(n)
	if d.n > d.max {
		d.err = d.fail("document too large", fmt.Errorf("%w (%d bytes)", apiclient.ErrBodyTooLarge, d.max))
		return n - int(d.n-d.max), d.err
	}
	switch {
	case err == nil, errors.Is(err, io.EOF):
		return n, err
	case errors.Is(err, io.ErrUnexpectedEOF):
		d.err = d.fail("document truncated", err)
	default:
		d.err = d.fail("document could not be decoded", err)
	}
	return n, d.err
}

// cleanFileName keeps the last path element of an upstream file name,
// without control characters.
func cleanFileName(name string) string {
	name = path.Base(strings.ReplaceAll(name, `\`, "/"))
	if name == "." || name == "/" || name == ".." {
		return ""
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, name)
}
