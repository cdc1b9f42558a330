package kasko

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the decoded values")

// The testdata/*.json files are the JSON examples of the upstream documents,
// byte for byte (error-422-expired.json keeps the seed's invalid \' escape),
// plus three [DESIGN] examples of the contract (contract-*.json).
var goldenCases = []struct {
	file string
	new  func() any
}{
	{"v1-pagination.json", func() any { return new(listWireV1) }},
	{"v1-list.json", func() any { return new(listWireV1) }},
	{"v1-single.json", func() any { return new(PolicyListItemV1) }},
	{"v2-policy-object.json", func() any { return new(Policy) }},
	{"v2-view-policy-200.json", func() any { return new(Policy) }},
	{"contract-policy-example.json", func() any { return new(Policy) }},
	{"cancel-202.json", func() any { return new(cancelAcceptedWire) }},
	{"contract-version-status.json", func() any { return new(VersionStatus) }},
	{"error-400.json", func() any { return new(errorEnvelope) }},
	{"error-404-view.json", func() any { return new(errorEnvelope) }},
	{"error-404-cancel.json", func() any { return new(errorEnvelope) }},
	{"error-409.json", func() any { return new(errorEnvelope) }},
	{"error-412.json", func() any { return new(errorEnvelope) }},
	{"error-422-cancelled.json", func() any { return new(errorEnvelope) }},
	{"error-422-expired.json", func() any { return new(errorEnvelope) }},
	{"contract-error-400-validation.json", func() any { return new(errorEnvelope) }},
}

// TestGoldenRoundTrip decodes every documented example into its typed
// value, encodes it again and compares both as generic JSON: a dropped
// field, a lost offset or a rounded amount fails.
func TestGoldenRoundTrip(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.file, func(t *testing.T) {
			orig := mustReadFixture(t, tc.file)
			v := tc.new()
			if env, ok := v.(*errorEnvelope); ok {
				decoded, ok := decodeEnvelope(orig)
				if !ok {
					t.Fatalf("decodeEnvelope(%s) failed", tc.file)
				}
				*env = decoded
			} else if err := json.Unmarshal(orig, v); err != nil {
				t.Fatalf("decode: %v", err)
			}
			again, err := json.Marshal(v)
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			if diffs := jsonDiff(mustGeneric(t, orig), mustGeneric(t, again)); len(diffs) > 0 {
				t.Errorf("round trip lost data:\n%s", strings.Join(diffs, "\n"))
			}
			checkGolden(t, strings.TrimSuffix(tc.file, ".json")+".golden", dump(v))
		})
	}
}

func TestGoldenDecodedValues(t *testing.T) {
	var p Policy
	mustDecodeFixture(t, "v2-policy-object.json", &p)
	if got, want := p.Quote.GrossPaymentAmount, int64(275000); got != want {
		t.Errorf("gross_payment_amount: got %d, want %d", got, want)
	}
	if got, want := p.Quote.PaymentData.TaxRate, 0.1; got != want {
		t.Errorf("tax_rate: got %v, want %v", got, want)
	}
	if got, want := p.Currency, "eur"; got != want {
		t.Errorf("currency: got %q, want %q", got, want)
	}
	if p.LocalizedDates == nil {
		t.Fatal("localized_dates: got nil")
	}
	if _, off := p.LocalizedDates.StartDate.Zone(); off != 3*3600 {
		t.Errorf("localized start offset: got %d s, want %d", off, 3*3600)
	}
	if !p.LocalizedDates.StartDate.Equal(p.StartDate) {
		t.Errorf("localized start %v is not the instant %v", p.LocalizedDates.StartDate, p.StartDate)
	}
	if got, want := p.LocalizedDates.TimeZone, "Europe/Riga"; got != want {
		t.Errorf("time_zone: got %q, want %q", got, want)
	}
	if p.EndDate != nil || p.CancelledAt != nil || p.CancellationReason != nil {
		t.Errorf("nullable fields: got end %v, cancelled_at %v, reason %v; want all nil", p.EndDate, p.CancelledAt, p.CancellationReason)
	}
	if got, want := p.Data["company_registered_date"], any("2023-07-31"); got != want {
		t.Errorf("company_registered_date: got %#v, want %#v", got, want)
	}
	if got, want := p.Data["subsidiary"], any(json.Number("12")); got != want {
		t.Errorf("data numbers: got %#v, want %#v", got, want)
	}
	if got, want := p.Quote.Data.StartDate, "2023-8-06"; got != want {
		t.Errorf("quote.data.start_date: got %q, want %q", got, want)
	}
	if got, want := p.Withheld, []string{"payment_token", "whitelisted_referrer_url", "distributor_traffic_source"}; !slices.Equal(got, want) {
		t.Errorf("withheld: got %q, want %q", got, want)
	}

	var v1 PolicyListItemV1
	mustDecodeFixture(t, "v1-single.json", &v1)
	want := time.Date(2015, 9, 2, 15, 26, 45, 0, time.FixedZone("", 3600))
	if !v1.CreatedDate.Equal(want) {
		t.Errorf("v1 created_date: got %v, want %v", v1.CreatedDate, want)
	}
	if _, off := v1.CreatedDate.Zone(); off != 3600 {
		t.Errorf("v1 created_date offset: got %d, want 3600", off)
	}
	if v1.Price != 615 || v1.GrossPremium != 462 || v1.Currency != "EUR" {
		t.Errorf("v1 money: got %d/%d %s, want 615/462 EUR", v1.Price, v1.GrossPremium, v1.Currency)
	}
}

// TestWithheld checks that absent withholdable fields are told apart from
// null or empty ones and stay absent when encoded again.
func TestWithheld(t *testing.T) {
	var full map[string]any
	mustDecodeFixture(t, "v2-view-policy-200.json", &full)
	for _, f := range []string{"email", "data", "metadata", "payment_token", "referrer_url",
		"whitelisted_referrer_url", "distributor_traffic_source"} {
		delete(full, f)
	}
	delete(full["quote"].(map[string]any), "customer_input")
	delete(full["quote"].(map[string]any), "insurer_private_data")
	b, err := json.Marshal(full)
	if err != nil {
		t.Fatal(err)
	}
	var p Policy
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	want := slices.Clone(WithholdableFields)
	sort.Strings(want)
	got := slices.Clone(p.Withheld)
	sort.Strings(got)
	if !slices.Equal(got, want) {
		t.Errorf("withheld: got %q, want %q", got, want)
	}
	for _, f := range WithholdableFields {
		if !p.IsWithheld(f) {
			t.Errorf("IsWithheld(%q): got false, want true", f)
		}
	}
	again, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var obj map[string]any
	if err := json.Unmarshal(again, &obj); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"email", "data", "payment_token", "distributor_key"} {
		if _, ok := obj[f]; ok {
			t.Errorf("encoded policy has withheld field %q", f)
		}
	}
	if _, ok := obj["quote"].(map[string]any)["customer_input"]; ok {
		t.Error("encoded policy has withheld quote.customer_input")
	}

	// Present but null or empty is not withheld.
	var q Policy
	mustDecodeFixture(t, "v2-view-policy-200.json", &q)
	for _, f := range []string{"payment_token", "referrer_url", "data", "metadata", "quote.customer_input"} {
		if q.IsWithheld(f) {
			t.Errorf("IsWithheld(%q) on a full policy: got true, want false", f)
		}
	}
	if !q.IsWithheld("distributor_key") {
		t.Error(`IsWithheld("distributor_key"): the sample lacks it, got false`)
	}
}

// TestJSONDiffDetects makes sure the comparator used above can fail.
func TestJSONDiffDetects(t *testing.T) {
	cases := []struct {
		name      string
		orig, got string
		wantDiff  bool
	}{
		{"equal", `{"a":1,"t":"2023-08-06T00:00:00+03:00"}`, `{"t":"2023-08-06T00:00:00+03:00","a":1}`, false},
		{"Z is +00:00", `{"t":"2023-08-05T21:00:00+00:00"}`, `{"t":"2023-08-05T21:00:00Z"}`, false},
		{"v1 layout", `{"t":"2015-09-02 15:26:45+01:00"}`, `{"t":"2015-09-02T15:26:45+01:00"}`, false},
		{"extra zero key", `{"a":1}`, `{"a":1,"b":null,"c":"","d":false,"e":0,"f":[],"g":{}}`, false},
		{"lost field", `{"a":1,"b":2}`, `{"a":1}`, true},
		{"extra non-zero key", `{"a":1}`, `{"a":1,"b":"x"}`, true},
		{"extra object with a value", `{"a":1}`, `{"a":1,"b":{"c":0,"d":1}}`, true},
		{"lost offset", `{"t":"2023-08-06T00:00:00+03:00"}`, `{"t":"2023-08-05T21:00:00Z"}`, true},
		{"other instant", `{"t":"2023-08-06T00:00:00+03:00"}`, `{"t":"2023-08-06T00:00:01+03:00"}`, true},
		{"rounded amount", `{"a":9007199254740993}`, `{"a":9007199254740992}`, true},
		{"float amount", `{"a":275000}`, `{"a":275000.0}`, true},
		{"null became empty", `{"a":null}`, `{"a":""}`, true},
		{"array length", `{"a":[1,2]}`, `{"a":[1]}`, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			diffs := jsonDiff(mustGeneric(t, []byte(tc.orig)), mustGeneric(t, []byte(tc.got)))
			if got := len(diffs) > 0; got != tc.wantDiff {
				t.Errorf("diff found: got %v, want %v (%q)", got, tc.wantDiff, diffs)
			}
		})
	}
}

func mustReadFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustDecodeFixture(t *testing.T, name string, v any) {
	t.Helper()
	if err := json.Unmarshal(mustReadFixture(t, name), v); err != nil {
		t.Fatalf("decode %s: %v", name, err)
	}
}

// mustGeneric decodes JSON with numbers kept as their text, undoing the
// seed's PHP-style \' escape first.
func mustGeneric(t *testing.T, b []byte) any {
	t.Helper()
	b = bytes.ReplaceAll(b, []byte(`\'`), []byte(`'`))
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("generic decode: %v", err)
	}
	return v
}

// jsonDiff lists where got does not carry everything orig does. Strings
// that are instants compare as the same instant with the same offset.
// Keys only in got are allowed when their value is null or empty (or an
// object of such values): the
// typed value is the union of several samples, so a field one sample
// lacks comes back as its zero value.
func jsonDiff(orig, got any) []string {
	var diffs []string
	var walk func(path string, a, b any)
	walk = func(path string, a, b any) {
		switch av := a.(type) {
		case map[string]any:
			bv, ok := b.(map[string]any)
			if !ok {
				diffs = append(diffs, fmt.Sprintf("%s: got %T, want object", path, b))
				return
			}
			for k, x := range av {
				y, ok := bv[k]
				if !ok {
					diffs = append(diffs, fmt.Sprintf("%s.%s: missing", path, k))
					continue
				}
				walk(path+"."+k, x, y)
			}
			for k, y := range bv {
				if _, ok := av[k]; !ok && !isZeroJSON(y) {
					diffs = append(diffs, fmt.Sprintf("%s.%s: unexpected %v", path, k, y))
				}
			}
		case []any:
			bv, ok := b.([]any)
			if !ok || len(av) != len(bv) {
				diffs = append(diffs, fmt.Sprintf("%s: got %v, want %v", path, b, a))
				return
			}
			for i := range av {
				walk(fmt.Sprintf("%s[%d]", path, i), av[i], bv[i])
			}
		case string:
			bs, ok := b.(string)
			if !ok {
				diffs = append(diffs, fmt.Sprintf("%s: got %v, want %q", path, b, av))
				return
			}
			ta, errA := parseInstant(av)
			tb, errB := parseInstant(bs)
			if errA == nil && errB == nil {
				_, oa := ta.Zone()
				_, ob := tb.Zone()
				if !ta.Equal(tb) || oa != ob {
					diffs = append(diffs, fmt.Sprintf("%s: got %s, want %s", path, bs, av))
				}
				return
			}
			if av != bs {
				diffs = append(diffs, fmt.Sprintf("%s: got %q, want %q", path, bs, av))
			}
		default: // json.Number, bool, nil: their text must match exactly
			if !reflect.DeepEqual(a, b) {
				diffs = append(diffs, fmt.Sprintf("%s: got %v, want %v", path, b, a))
			}
		}
	}
	walk("$", orig, got)
	sort.Strings(diffs)
	return diffs
}

func parseInstant(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.Parse(v1Layout, s)
}

func isZeroJSON(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case bool:
		return !x
	case string:
		return x == ""
	case json.Number:
		return x == "0"
	case []any:
		return len(x) == 0
	case map[string]any:
		for _, y := range x {
			if !isZeroJSON(y) {
				return false
			}
		}
		return true
	}
	return false
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("decoded value differs from %s (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// dump writes a value as one "path = value" line per leaf, with maps in key
// order, pointers followed and instants with their offsets, so the golden
// files are stable and readable.
func dump(v any) string {
	var b strings.Builder
	dumpValue(&b, "", reflect.ValueOf(v))
	return b.String()
}

var (
	timeType   = reflect.TypeFor[time.Time]()
	numberType = reflect.TypeFor[json.Number]()
	rawType    = reflect.TypeFor[json.RawMessage]()
)

func dumpValue(b *strings.Builder, path string, v reflect.Value) {
	line := func(s string) { fmt.Fprintf(b, "%s = %s\n", strings.TrimPrefix(path, "."), s) }
	if !v.IsValid() {
		line("nil")
		return
	}
	switch v.Type() {
	case timeType:
		line(v.Interface().(time.Time).Format(time.RFC3339Nano))
		return
	case numberType:
		line("number " + v.String())
		return
	case rawType:
		if v.IsNil() {
			line("raw nil")
		} else {
			line("raw " + string(v.Bytes()))
		}
		return
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			line("nil")
			return
		}
		dumpValue(b, path, v.Elem())
	case reflect.Struct:
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if f.IsExported() {
				dumpValue(b, path+"."+f.Name, v.Field(i))
			}
		}
	case reflect.Map:
		if v.IsNil() {
			line("nil map")
			return
		}
		if v.Len() == 0 {
			line("{}")
			return
		}
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
		for _, k := range keys {
			dumpValue(b, fmt.Sprintf("%s[%s]", path, k.String()), v.MapIndex(k))
		}
	case reflect.Slice:
		if v.IsNil() {
			line("nil slice")
			return
		}
		if v.Len() == 0 {
			line("[]")
			return
		}
		for i := range v.Len() {
			dumpValue(b, fmt.Sprintf("%s[%d]", path, i), v.Index(i))
		}
	default:
		line(fmt.Sprintf("%#v", v.Interface()))
	}
}
