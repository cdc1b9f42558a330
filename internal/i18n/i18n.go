// Package i18n is the dashboard's message catalogue (English, German,
// Romanian) and the per-request choice of language. Components read the
// printer from the context (i18n.T(ctx, key)), so view models carry data,
// not translated strings.
package i18n

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"sort"
	"strings"
	"sync"

	goi18n "github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
)

//go:embed locales/*.json
var localeFiles embed.FS

// Default is the language used when nothing the browser asks for is
// supported.
var defaultTag = language.English

// Catalog holds every message of every supported language.
type Catalog struct {
	bundle  *goi18n.Bundle
	tags    []language.Tag // defaultTag first: the matcher falls back to it
	matcher language.Matcher
	keys    map[string][]string // language → sorted message ids
}

// New loads the embedded catalogues.
func New() (*Catalog, error) {
	bundle := goi18n.NewBundle(defaultTag)
	bundle.RegisterUnmarshalFunc("json", json.Unmarshal)
	c := &Catalog{bundle: bundle, keys: map[string][]string{}}
	names, err := fs.Glob(localeFiles, "locales/*.json")
	if err != nil {
		return nil, err
	}
	// A language's messages may be split over several files: en.json,
	// and one per area (review.en.json), so that work on one area does
	// not touch another's file. English first.
	langOf := func(name string) string {
		base := strings.TrimSuffix(path.Base(name), ".json")
		return base[strings.LastIndex(base, ".")+1:]
	}
	sort.Slice(names, func(i, j int) bool {
		ei, ej := langOf(names[i]) == "en", langOf(names[j]) == "en"
		if ei != ej {
			return ei
		}
		return names[i] < names[j]
	})
	seen := map[string]bool{}
	for _, name := range names {
		file, err := bundle.LoadMessageFileFS(localeFiles, name)
		if err != nil {
			return nil, fmt.Errorf("i18n: %s: %w", name, err)
		}
		lang := langOf(name)
		for _, m := range file.Messages {
			c.keys[lang] = append(c.keys[lang], m.ID)
		}
		if !seen[lang] {
			seen[lang] = true
			c.tags = append(c.tags, file.Tag)
		}
	}
	for lang, ids := range c.keys {
		sort.Strings(ids)
		if dup := duplicate(ids); dup != "" {
			return nil, fmt.Errorf("i18n: %s: message %q is defined twice", lang, dup)
		}
	}
	if len(c.tags) == 0 || c.tags[0] != defaultTag {
		return nil, fmt.Errorf("i18n: no English catalogue")
	}
	c.matcher = language.NewMatcher(c.tags)
	return c, nil
}

// Languages lists the supported language codes, English first.
func (c *Catalog) Languages() []string {
	out := make([]string, len(c.tags))
	for i, t := range c.tags {
		out[i] = t.String()
	}
	return out
}

// Keys lists the message ids of one language, sorted.
func (c *Catalog) Keys(lang string) []string { return c.keys[lang] }

// Match picks the best supported language: an explicit preference first,
// then the Accept-Language header, then English.
func (c *Catalog) Match(preferred, acceptLanguage string) string {
	var wanted []language.Tag
	if t, err := language.Parse(preferred); err == nil && preferred != "" {
		wanted = append(wanted, t)
	}
	if tags, _, err := language.ParseAcceptLanguage(acceptLanguage); err == nil {
		wanted = append(wanted, tags...)
	}
	_, index, confidence := c.matcher.Match(wanted...)
	if confidence == language.No {
		return defaultTag.String()
	}
	return c.tags[index].String()
}

// Printer translates messages for one language.
type Printer struct {
	lang      string
	localizer *goi18n.Localizer
	// plain caches messages asked for without arguments: they cannot
	// change, and a list page asks for the same few hundreds of times.
	plain sync.Map // key → string
}

// Printer returns the printer of a supported language code.
func (c *Catalog) Printer(lang string) *Printer {
	return &Printer{lang: lang, localizer: goi18n.NewLocalizer(c.bundle, lang)}
}

// Lang is the printer's language code ("en", "de", "ro").
func (p *Printer) Lang() string { return p.lang }

// T translates key. args are name/value pairs for the message template
// ("count", 3); a "count" argument also selects the plural form. A
// missing key comes back as the key itself, visible in the page and caught
// by the catalogue tests, rather than as an empty string.
func (p *Printer) T(key string, args ...any) string {
	if len(args) == 0 {
		if msg, ok := p.plain.Load(key); ok {
			return msg.(string)
		}
	}
	cfg := &goi18n.LocalizeConfig{MessageID: key}
	if len(args) > 0 {
		data := make(map[string]any, len(args)/2)
		for i := 0; i+1 < len(args); i += 2 {
			name := fmt.Sprint(args[i])
			data[name] = args[i+1]
			if name == "count" {
				cfg.PluralCount = args[i+1]
			}
		}
		cfg.TemplateData = data
	}
	msg, err := p.localizer.Localize(cfg)
	if err != nil || msg == "" {
		return key
	}
	if len(args) == 0 {
		p.plain.Store(key, msg)
	}
	return msg
}

type printerKey struct{}

// WithPrinter stores the request's printer in ctx.
func WithPrinter(ctx context.Context, p *Printer) context.Context {
	return context.WithValue(ctx, printerKey{}, p)
}

// FromContext returns the request's printer; nil outside a request.
func FromContext(ctx context.Context) *Printer {
	p, _ := ctx.Value(printerKey{}).(*Printer)
	return p
}

// T translates key with the printer in ctx. Without one (a component
// rendered outside a request) it returns the key, which tests notice.
func T(ctx context.Context, key string, args ...any) string {
	if p := FromContext(ctx); p != nil {
		return p.T(key, args...)
	}
	return key
}

// Lang is the language code of the printer in ctx, English by default.
func Lang(ctx context.Context) string {
	if p := FromContext(ctx); p != nil {
		return p.lang
	}
	return defaultTag.String()
}

// Middleware puts a printer for the request's language into the context.
// preferred reads an explicit choice (the preferences cookie); it may be
// nil.
func (c *Catalog) Middleware(preferred func(*http.Request) string) func(http.Handler) http.Handler {
	printers := map[string]*Printer{}
	for _, t := range c.tags {
		printers[t.String()] = c.Printer(t.String())
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			pref := ""
			if preferred != nil {
				pref = preferred(r)
			}
			lang := c.Match(pref, r.Header.Get("Accept-Language"))
			w.Header().Add("Vary", "Accept-Language")
			w.Header().Set("Content-Language", lang)
			next.ServeHTTP(w, r.WithContext(WithPrinter(r.Context(), printers[lang])))
		})
	}
}

// duplicate returns an id that sorted ids hold twice, "" when none.
func duplicate(ids []string) string {
	for i := 1; i < len(ids); i++ {
		if ids[i] == ids[i-1] {
			return ids[i]
		}
	}
	return ""
}
