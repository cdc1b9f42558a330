package kasko

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
)

// Decoding a policy parses it once. encoding/json cannot say which keys
// were present, and parsing the object a second time (into a map of raw
// values) to find out cost more than the decoding itself, for every item
// of every list page. Instead the withholdable fields are shadowed in
// policyWire by fields that tell "absent" from "present": an interface
// preset to absent is left alone when its key is missing, set to nil by
// null and replaced by any other value.

// absentT is the preset value of policyWire's shadow fields.
type absentT struct{}

// policyWire decodes into the embedded *policyFields; its own fields
// shadow the withholdable ones (encoding/json prefers the shallower field
// of one name).
type policyWire struct {
	*policyFields
	Email                    any `json:"email"`
	Data                     any `json:"data"`
	Metadata                 any `json:"metadata"`
	PaymentToken             any `json:"payment_token"`
	DistributorKey           any `json:"distributor_key"`
	ReferrerURL              any `json:"referrer_url"`
	WhitelistedReferrerURL   any `json:"whitelisted_referrer_url"`
	DistributorTrafficSource any `json:"distributor_traffic_source"`
	// Quote stays nil unless the answer has a quote object: a null or
	// absent quote withholds nothing inside it.
	Quote *quoteWire `json:"quote"`
}

// quoteWire is a Quote whose customer_input tells absent from null. (An
// interface preset to absent would not do here: encoding/json allocates
// quoteWire itself, zeroed.) insurer_private_data needs no shadow: a raw
// message is non-nil once its key was seen, even for null.
type quoteWire struct {
	Quote
	CustomerInput presentMap `json:"customer_input"`
}

// presentMap is a JSON object (numbers as json.Number) and whether its
// key was present at all.
type presentMap struct {
	m       map[string]any
	present bool
}

func (pm *presentMap) UnmarshalJSON(b []byte) error {
	pm.present = true
	pm.m = nil
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	// The outer decoder's UseNumber does not reach an Unmarshaler; this
	// parses customer_input alone, a small part of a policy.
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return dec.Decode(&pm.m)
}

// decodePolicy reads one policy object from dec, which must have
// UseNumber set (Data and Metadata keep amounts as json.Number), into f,
// and computes f.Withheld.
func decodePolicy(dec *json.Decoder, f *policyFields) error {
	w := policyWire{
		policyFields: f,
		Email:        absentT{}, Data: absentT{}, Metadata: absentT{}, PaymentToken: absentT{},
		DistributorKey: absentT{}, ReferrerURL: absentT{}, WhitelistedReferrerURL: absentT{},
		DistributorTrafficSource: absentT{},
	}
	if err := dec.Decode(&w); err != nil {
		return err
	}
	return w.finish()
}

// finish moves the shadow fields into policyFields and records the
// withholdable fields that were absent, in WithholdableFields' order.
func (w *policyWire) finish() error {
	f := w.policyFields
	err := errors.Join(
		takeString(w.Email, "email", &f.Email),
		takeString(w.DistributorKey, "distributor_key", &f.DistributorKey),
		takeStringPtr(w.PaymentToken, "payment_token", &f.PaymentToken),
		takeStringPtr(w.ReferrerURL, "referrer_url", &f.ReferrerURL),
		takeStringPtr(w.WhitelistedReferrerURL, "whitelisted_referrer_url", &f.WhitelistedReferrerURL),
		takeStringPtr(w.DistributorTrafficSource, "distributor_traffic_source", &f.DistributorTrafficSource),
		takeMap(w.Data, "data", &f.Data),
		takeMap(w.Metadata, "metadata", &f.Metadata),
	)
	if err != nil {
		return err
	}
	f.Quote = Quote{}
	if w.Quote != nil {
		f.Quote = w.Quote.Quote
		f.Quote.CustomerInput = w.Quote.CustomerInput.m
	}
	f.Withheld = nil
	for _, name := range WithholdableFields {
		var present bool
		switch name {
		case "email":
			present = w.Email != absentT{}
		case "data":
			present = w.Data != absentT{}
		case "metadata":
			present = w.Metadata != absentT{}
		case "payment_token":
			present = w.PaymentToken != absentT{}
		case "distributor_key":
			present = w.DistributorKey != absentT{}
		case "referrer_url":
			present = w.ReferrerURL != absentT{}
		case "whitelisted_referrer_url":
			present = w.WhitelistedReferrerURL != absentT{}
		case "distributor_traffic_source":
			present = w.DistributorTrafficSource != absentT{}
		case "quote.customer_input":
			// A policy without a quote at all withholds nothing inside it.
			present = w.Quote == nil || w.Quote.CustomerInput.present
		case "quote.insurer_private_data":
			present = w.Quote == nil || w.Quote.InsurerPrivateData != nil
		default:
			present = true
		}
		if !present {
			f.Withheld = append(f.Withheld, name)
		}
	}
	return nil
}

func takeString(v any, field string, dst *string) error {
	switch x := v.(type) {
	case absentT, nil:
		// null into a string leaves it alone, as encoding/json does.
		return nil
	case string:
		*dst = x
		return nil
	default:
		return typeError(x, reflect.TypeFor[string](), field)
	}
}

func takeStringPtr(v any, field string, dst **string) error {
	switch x := v.(type) {
	case absentT, nil:
		*dst = nil
		return nil
	case string:
		*dst = &x
		return nil
	default:
		return typeError(x, reflect.TypeFor[*string](), field)
	}
}

func takeMap(v any, field string, dst *map[string]any) error {
	switch x := v.(type) {
	case absentT, nil:
		*dst = nil
		return nil
	case map[string]any:
		*dst = x
		return nil
	default:
		return typeError(x, reflect.TypeFor[map[string]any](), field)
	}
}

// typeError is the error encoding/json gives for a value of the wrong
// JSON type.
func typeError(v any, t reflect.Type, field string) error {
	kind := "object"
	switch v.(type) {
	case string:
		kind = "string"
	case json.Number, float64:
		kind = "number"
	case bool:
		kind = "bool"
	case []any:
		kind = "array"
	}
	return &json.UnmarshalTypeError{Value: kind, Type: t, Field: field}
}

// decodeListV2 reads the body of a v2 list answer item by item, so that
// neither the whole body nor a second copy of any item is held: a full
// page of 100 policies is about half a megabyte of JSON. sizeHint is the
// page size asked for (0: unknown).
func decodeListV2(r io.Reader, sizeHint int) (listWire, error) {
	var out listWire
	dec := json.NewDecoder(r)
	dec.UseNumber()
	if err := expectDelim(dec, '{', "list answer"); err != nil {
		return out, err
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return out, err
		}
		key, _ := tok.(string)
		switch {
		// encoding/json matches keys without regard to case; so does this.
		case strings.EqualFold(key, "data"):
			if out.Data, err = decodeItems(dec, out.Data[:0], sizeHint); err != nil {
				return out, err
			}
		case strings.EqualFold(key, "meta"):
			if err := dec.Decode(&out.Meta); err != nil {
				return out, err
			}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return out, err
			}
		}
	}
	if err := expectDelim(dec, '}', "list answer"); err != nil {
		return out, err
	}
	return out, expectEOF(dec)
}

// decodeItems reads the "data" array (or null) of a list answer.
func decodeItems(dec *json.Decoder, ps []Policy, sizeHint int) ([]Policy, error) {
	tok, err := dec.Token()
	if err != nil {
		return ps, err
	}
	if tok == nil {
		return nil, nil
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return ps, fmt.Errorf("list answer: data is %v, not an array", tok)
	}
	if ps == nil && sizeHint > 0 {
		ps = make([]Policy, 0, sizeHint)
	}
	for dec.More() {
		ps = append(ps, Policy{})
		if err := decodePolicy(dec, (*policyFields)(&ps[len(ps)-1])); err != nil {
			return ps, fmt.Errorf("data[%d]: %w", len(ps)-1, err)
		}
	}
	return ps, expectDelim(dec, ']', "list data")
}

func expectDelim(dec *json.Decoder, want json.Delim, what string) error {
	tok, err := dec.Token()
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("%s: got %v, want %v", what, tok, want)
	}
	return nil
}

// expectEOF refuses anything but white space after the answer's value,
// as json.Unmarshal of the whole body did. Reading to the end also lets
// the connection be reused.
func expectEOF(dec *json.Decoder) error {
	if _, err := dec.Token(); err != io.EOF {
		if err == nil {
			err = errors.New("data after the answer's value")
		}
		return err
	}
	return nil
}
