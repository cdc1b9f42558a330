package kasko

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"backoffice/apiclient"
	"backoffice/internal/sandbox"
	"backoffice/internal/sandbox/sandboxtest"
)

// legacyPolicy decodes a policy the way Policy.UnmarshalJSON did before
// it parsed once: a map of raw values for presence, a decoder for the
// fields, another map for the quote. It is the reference the one-pass
// decoder is checked against, and the "before" of the benchmark.
type legacyPolicy Policy

func (p *legacyPolicy) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	var f policyFields
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&f); err != nil {
		return err
	}
	var quoteRaw map[string]json.RawMessage
	if q, ok := raw["quote"]; ok && !bytes.Equal(bytes.TrimSpace(q), []byte("null")) {
		if err := json.Unmarshal(q, &quoteRaw); err != nil {
			return fmt.Errorf("quote: %w", err)
		}
	}
	f.Withheld = nil
	for _, name := range WithholdableFields {
		if sub, ok := strings.CutPrefix(name, "quote."); ok {
			if quoteRaw != nil {
				if _, present := quoteRaw[sub]; !present {
					f.Withheld = append(f.Withheld, name)
				}
			}
			continue
		}
		if _, present := raw[name]; !present {
			f.Withheld = append(f.Withheld, name)
		}
	}
	*p = legacyPolicy(f)
	return nil
}

type legacyListWire struct {
	Data []legacyPolicy `json:"data"`
	Meta ListMeta       `json:"meta"`
}

// legacyDecodeList is what ListPolicies did: the whole body read, then
// unmarshalled.
func legacyDecodeList(r io.Reader) (legacyListWire, error) {
	var out legacyListWire
	b, err := apiclient.ReadLimited(r, maxJSONBody)
	if err != nil {
		return out, err
	}
	return out, json.Unmarshal(b, &out)
}

var (
	pageOnce sync.Once
	pageBody []byte
	pageErr  error
)

// samplePage is one v2 list page of 100 sandbox policies, as sent.
func samplePage(tb testing.TB) []byte {
	tb.Helper()
	pageOnce.Do(func() {
		srv := sandboxtest.Start(tb, sandbox.Options{Policies: 300, Now: func() time.Time { return time.Date(2026, 9, 3, 9, 0, 0, 0, time.UTC) }})
		req, err := http.NewRequest(http.MethodGet, srv.KaskoURL+"/policies?limit=100&sort=created_at", nil)
		if err != nil {
			pageErr = err
			return
		}
		req.SetBasicAuth(sandbox.KeyASecretTest, "")
		req.Header.Set("Accept", MediaTypeV2)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			pageErr = err
			return
		}
		defer resp.Body.Close()
		pageBody, pageErr = io.ReadAll(resp.Body)
	})
	if pageErr != nil {
		tb.Fatal(pageErr)
	}
	return pageBody
}

// withholdingVariants rewrites a policy object so that every presence
// case occurs: each withholdable field absent, null, and of the wrong
// type; the quote absent, null and empty.
func withholdingVariants(t *testing.T, policy []byte) map[string][]byte {
	t.Helper()
	var base map[string]any
	if err := json.Unmarshal(policy, &base); err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{"as sent": policy}
	add := func(name string, edit func(m map[string]any)) {
		var m map[string]any
		if err := json.Unmarshal(policy, &m); err != nil {
			t.Fatal(err)
		}
		edit(m)
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		out[name] = b
	}
	for _, f := range WithholdableFields {
		if sub, ok := strings.CutPrefix(f, "quote."); ok {
			add(f+" absent", func(m map[string]any) { delete(m["quote"].(map[string]any), sub) })
			add(f+" null", func(m map[string]any) { m["quote"].(map[string]any)[sub] = nil })
			continue
		}
		add(f+" absent", func(m map[string]any) { delete(m, f) })
		add(f+" null", func(m map[string]any) { m[f] = nil })
		add(f+" wrong type", func(m map[string]any) { m[f] = []any{1} })
	}
	add("all absent", func(m map[string]any) {
		for _, f := range WithholdableFields {
			if sub, ok := strings.CutPrefix(f, "quote."); ok {
				delete(m["quote"].(map[string]any), sub)
			} else {
				delete(m, f)
			}
		}
	})
	add("quote absent", func(m map[string]any) { delete(m, "quote") })
	add("quote null", func(m map[string]any) { m["quote"] = nil })
	add("quote empty", func(m map[string]any) { m["quote"] = map[string]any{} })
	add("quote unknown keys only", func(m map[string]any) { m["quote"] = map[string]any{"x": 1} })
	add("customer_input wrong type", func(m map[string]any) { m["quote"].(map[string]any)["customer_input"] = "x" })
	add("data empty", func(m map[string]any) { m["data"] = map[string]any{} })
	return out
}

// TestDecodeMatchesLegacy checks that the one-pass decoder gives exactly
// what the former decoder gave (fields, json.Number, Withheld and its
// order) for every presence case, and fails where it failed.
func TestDecodeMatchesLegacy(t *testing.T) {
	var page struct {
		Data []json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(samplePage(t), &page); err != nil {
		t.Fatal(err)
	}
	if len(page.Data) != 100 {
		t.Fatalf("sample page has %d items", len(page.Data))
	}
	inputs := withholdingVariants(t, page.Data[0])
	for i, item := range page.Data[1:] {
		inputs[fmt.Sprintf("item %d", i+1)] = item
	}
	inputs["golden v2-view-policy-200"] = mustReadFixture(t, "v2-view-policy-200.json")
	inputs["golden v2-policy-object"] = mustReadFixture(t, "v2-policy-object.json")
	for name, b := range inputs {
		var want legacyPolicy
		wantErr := json.Unmarshal(b, &want)
		var got Policy
		gotErr := json.Unmarshal(b, &got)
		if (wantErr != nil) != (gotErr != nil) {
			t.Errorf("%s: error %v, legacy error %v", name, gotErr, wantErr)
			continue
		}
		if wantErr != nil {
			continue
		}
		if !reflect.DeepEqual(got, Policy(want)) {
			t.Errorf("%s: decoded differently:\n got %s\nwant %s", name, dump(got), dump(Policy(want)))
		}
	}
}

// TestDecodeListMatchesLegacy compares the streamed list decoding with
// the former read-then-unmarshal one, page and errors.
func TestDecodeListMatchesLegacy(t *testing.T) {
	body := samplePage(t)
	want, err := legacyDecodeList(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	// A one-byte reader makes the decoder refill at every possible place.
	got, err := decodeListV2(iotest.OneByteReader(bytes.NewReader(body)), 100)
	if err != nil {
		t.Fatal(err)
	}
	if got.Meta != want.Meta || len(got.Data) != len(want.Data) {
		t.Fatalf("got meta %+v and %d items, want %+v and %d", got.Meta, len(got.Data), want.Meta, len(want.Data))
	}
	for i := range got.Data {
		if !reflect.DeepEqual(got.Data[i], Policy(want.Data[i])) {
			t.Errorf("item %d decoded differently", i)
		}
	}

	for _, tc := range []struct {
		name, body string
		ok         bool
	}{
		{"meta first", `{"meta":{"total":1,"count":1,"limit":100,"sort":"x"},"data":[{"id":"tpol_1"}]}`, true},
		{"data null", `{"data":null,"meta":{}}`, true},
		{"unknown keys", `{"links":{"next":[1,2]},"data":[],"Meta":{"total":3}}`, true},
		{"white space after", "{\"data\":[]}\n\t ", true},
		{"empty", ``, false},
		{"array", `[]`, false},
		{"data not array", `{"data":{"id":"x"}}`, false},
		{"item not object", `{"data":[1]}`, false},
		{"item wrong type", `{"data":[{"id":12}]}`, false},
		{"truncated", `{"data":[{"id":"tpol_1"}`, false},
		{"garbage after", `{"data":[]} x`, false},
		{"second value after", `{"data":[]} {}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, wantErr := legacyDecodeList(strings.NewReader(tc.body))
			got, err := decodeListV2(strings.NewReader(tc.body), 0)
			if (err == nil) != tc.ok || (wantErr == nil) != tc.ok {
				t.Fatalf("error %v (legacy %v), want ok=%v", err, wantErr, tc.ok)
			}
			if tc.ok {
				want, _ := legacyDecodeList(strings.NewReader(tc.body))
				if got.Meta != want.Meta || len(got.Data) != len(want.Data) {
					t.Errorf("got %+v, legacy %+v", got, want)
				}
			}
		})
	}
}

// TestListStreamFailures checks that a streamed list keeps the client's
// failure semantics: too large, broken mid-body, undecodable.
func TestListStreamFailures(t *testing.T) {
	body := samplePage(t)
	var page struct {
		Data []json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		t.Fatal(err)
	}
	item := page.Data[0]
	cases := []struct {
		name    string
		h       http.HandlerFunc
		kind    error
		message string
	}{
		{"body over 32 MiB", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", MediaTypeV2)
			w.Write([]byte(`{"data":[`))
			w.Write(item)
			w.Write([]byte(`,{"id":"`))
			chunk := bytes.Repeat([]byte("a"), 1<<20)
			for range 33 {
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
			w.Write([]byte(`"}]}`))
		}, apiclient.ErrInvalidResponse, "answer too large"},
		{"cut mid-body", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", MediaTypeV2)
			w.Header().Set("Content-Length", fmt.Sprint(len(body)))
			w.Write(body[:len(body)/2])
		}, apiclient.ErrUnavailable, ""},
		{"garbage after the page", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", MediaTypeV2)
			w.Write(body)
			w.Write([]byte(`]`))
		}, apiclient.ErrInvalidResponse, "answer could not be decoded"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.h)
			t.Cleanup(srv.Close)
			c, err := New(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.WithKey(sandbox.KeyASecretTest).ListPolicies(context.Background(), ListParams{Limit: 100})
			if !errors.Is(err, tc.kind) {
				t.Fatalf("got %v, want %v", err, tc.kind)
			}
			var e *apiclient.Error
			if !errors.As(err, &e) || e.StatusCode != 200 || (tc.message != "" && e.Message != tc.message) {
				t.Errorf("got %#v, want status 200 and message %q", e, tc.message)
			}
		})
	}
}

// BenchmarkDecodeListPage100 decodes one list page of 100 sandbox
// policies (about 480 KB): "legacy" the way the client did before
// (whole body read, each item parsed three or four times), "stream" as
// it does now.
func BenchmarkDecodeListPage100(b *testing.B) {
	body := samplePage(b)
	b.Run("legacy", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			page, err := legacyDecodeList(bytes.NewReader(body))
			if err != nil || len(page.Data) != 100 {
				b.Fatal(err, len(page.Data))
			}
		}
	})
	b.Run("stream", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			page, err := decodeListV2(bytes.NewReader(body), 100)
			if err != nil || len(page.Data) != 100 {
				b.Fatal(err, len(page.Data))
			}
		}
	})
}
