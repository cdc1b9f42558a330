package handlers

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"backoffice/internal/i18n"
)

// maxFormBytes bounds every form body the dashboard reads.
const maxFormBytes = 64 << 10

// MaxInput bounds one form value as FormValue reads it.
const MaxInput = 200

// ParseForm reads a small form body; anything else is a bad request.
func ParseForm(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return &Error{Status: http.StatusBadRequest, MessageKey: "error.bad_request", Err: err}
	}
	return nil
}

// FormValue reads one form value, trimmed, as valid UTF-8 without control
// characters, and cut at MaxInput bytes: what a stored form may keep.
func FormValue(f url.Values, name string) string {
	s := Truncate(strings.TrimSpace(strings.ToValidUTF8(f.Get(name), "")), MaxInput)
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
}

// Truncate cuts s to at most n bytes, on a rune boundary.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// Checker collects a form's field errors, one message per field (the
// first problem found), with one family of messages (form.error.*) for
// the checks every form makes. A form's own rules add theirs with Fail.
type Checker struct {
	ctx  context.Context
	errs map[string]string
}

// NewChecker starts checking a form for the user of ctx (whose language
// the messages are in).
func NewChecker(ctx context.Context) *Checker {
	return &Checker{ctx: ctx, errs: map[string]string{}}
}

// Fail sets field's message (catalogue key and its arguments) unless the
// field has one already.
func (c *Checker) Fail(field, key string, args ...any) {
	if _, ok := c.errs[field]; !ok {
		c.errs[field] = i18n.T(c.ctx, key, args...)
	}
}

// Has reports whether field has an error.
func (c *Checker) Has(field string) bool { _, ok := c.errs[field]; return ok }

// Errors are the messages by field; empty when the form is fine.
func (c *Checker) Errors() map[string]string { return c.errs }

// OK reports a form without errors.
func (c *Checker) OK() bool { return len(c.errs) == 0 }

// missing reports an empty value, failing it when it is required.
func (c *Checker) missing(field, v string, required bool, key string) bool {
	if v != "" {
		return false
	}
	if required {
		c.Fail(field, key)
	}
	return true
}

// Text checks a text of at most max characters; it reports whether there
// is a usable value.
func (c *Checker) Text(field, v string, required bool, max int) bool {
	if c.missing(field, v, required, "form.error.required") {
		return false
	}
	if utf8.RuneCountInString(v) > max {
		c.Fail(field, "form.error.too_long", "Max", max)
		return false
	}
	return true
}

// Integer reads a whole number within lo..hi (spaces between digits
// allowed: "5 000").
func (c *Checker) Integer(field, v string, required bool, lo, hi int) (int, bool) {
	if c.missing(field, v, required, "form.error.required") {
		return 0, false
	}
	n, err := strconv.Atoi(strings.ReplaceAll(v, " ", ""))
	switch {
	case err != nil:
		c.Fail(field, "form.error.integer")
		return 0, false
	case n < lo || n > hi:
		c.Fail(field, "form.error.range", "Min", lo, "Max", hi)
		return 0, false
	}
	return n, true
}

// OneOf checks a choice from a list.
func (c *Checker) OneOf(field, v string, required bool, values []string) bool {
	if c.missing(field, v, required, "form.error.choose") {
		return false
	}
	if !slices.Contains(values, v) {
		c.Fail(field, "form.error.choose")
		return false
	}
	return true
}

// Date reads a real YYYY-MM-DD date, as a day at midnight UTC.
func (c *Checker) Date(field, v string, required bool) (time.Time, bool) {
	if c.missing(field, v, required, "form.error.required") {
		return time.Time{}, false
	}
	t, err := time.Parse(time.DateOnly, v)
	if err != nil || t.Format(time.DateOnly) != v {
		c.Fail(field, "form.error.date")
		return time.Time{}, false
	}
	return t, true
}

// Money reads an amount with parse (the caller's notion of how people
// type one; ok false: unreadable) and checks it within lo..hi, both in
// minor units, which show prints for the message.
func (c *Checker) Money(field, v string, required bool, lo, hi int64, parse func(string) (int64, bool), show func(int64) string) (int64, bool) {
	if c.missing(field, v, required, "form.error.required") {
		return 0, false
	}
	minor, ok := parse(v)
	if !ok {
		c.Fail(field, "form.error.amount")
		return 0, false
	}
	if minor < lo || minor > hi {
		c.Fail(field, "form.error.amount_range", "Min", show(lo), "Max", show(hi))
		return 0, false
	}
	return minor, true
}
