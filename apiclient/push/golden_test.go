package push

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the decoded values")

// TestGoldenRoundTrip decodes the ARAG document's examples (request,
// 200 and 400 answers) into the typed values and encodes them again; the
// result must be the same JSON, numbers compared by their text.
func TestGoldenRoundTrip(t *testing.T) {
	cases := []struct {
		file string
		v    any
	}{
		{"create-request.json", new(CreateRequest)},
		{"create-200.json", new(Created)},
		{"error-400.json", new(errorEnvelope)},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			orig, err := os.ReadFile(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(orig, tc.v); err != nil {
				t.Fatalf("decode: %v", err)
			}
			again, err := json.Marshal(tc.v)
			if err != nil {
				t.Fatal(err)
			}
			if a, b := mustGeneric(t, orig), mustGeneric(t, again); !reflect.DeepEqual(a, b) {
				t.Errorf("round trip: got %v, want %v", b, a)
			}
			checkGolden(t, tc.file[:len(tc.file)-len(".json")]+".golden", fmt.Sprintf("%#v\n", reflect.ValueOf(tc.v).Elem().Interface()))
		})
	}
}

func TestInputDataExtraAndPrecedence(t *testing.T) {
	d := InputData{StartDate: "2017-02-13", VIN: "WVWZZZ1KZ8W006165", Extra: map[string]any{"vin": "other", "mileage": 1200}}
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `{"mileage":1200,"start_date":"2017-02-13","vin":"WVWZZZ1KZ8W006165"}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	b, err = json.Marshal(InputData{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `{}`; got != want {
		t.Errorf("empty: got %s, want %s (missing fields must stay missing)", got, want)
	}
}

func mustGeneric(t *testing.T, b []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("generic decode: %v", err)
	}
	return v
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
