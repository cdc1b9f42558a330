package push

import (
	"bytes"
	"encoding/json"
)

// CreateRequest is the body of POST / on the push API.
type CreateRequest struct {
	// VariantID selects the product variant (ARAG AS24:
	// "d2va8Owp4WRnkbMpEWDAmVoN1JejB5GE").
	VariantID string `json:"variant_id"`
	Input     Input  `json:"input"`
}

// Input is the customer and product input of a pushed policy.
type Input struct {
	FirstName string    `json:"first_name"`
	LastName  string    `json:"last_name"`
	Email     string    `json:"email"`
	Data      InputData `json:"data"`
	// Metadata is optional free key/value data; it is documented for
	// sibling push APIs, not ARAG's, and the upstream may ignore it.
	Metadata map[string]string `json:"metadata,omitempty"`
}

// InputData is the product data; both named fields are required. StartDate is ISO-8601, either a date
// ("2017-02-13", the revised document) or an instant (the first one);
// both are sent as given.
type InputData struct {
	StartDate string
	VIN       string
	// Extra holds further product fields. StartDate and VIN, when set, win
	// over Extra keys of the same name.
	Extra map[string]any
}

// MarshalJSON flattens Extra next to start_date and vin, as the upstream
// expects one data object.
func (d InputData) MarshalJSON() ([]byte, error) {
	m := make(map[string]any, len(d.Extra)+2)
	for k, v := range d.Extra {
		m[k] = v
	}
	// Empty values are left out so that the upstream reports the field
	// as missing, by name, rather than as malformed.
	if d.StartDate != "" {
		m["start_date"] = d.StartDate
	}
	if d.VIN != "" {
		m["vin"] = d.VIN
	}
	return json.Marshal(m)
}

// UnmarshalJSON is the inverse of MarshalJSON, for tests and fixtures;
// numbers in Extra decode as json.Number.
func (d *InputData) UnmarshalJSON(b []byte) error {
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return err
	}
	out := InputData{}
	if s, ok := m["start_date"].(string); ok {
		out.StartDate = s
		delete(m, "start_date")
	}
	if s, ok := m["vin"].(string); ok {
		out.VIN = s
		delete(m, "vin")
	}
	if len(m) > 0 {
		out.Extra = m
	}
	*d = out
	return nil
}

// Created is the 200 answer: the reference is a UUID (v1) of the policy
// being created, not a KASKO policy id. The sandbox files it under the
// policy's metadata.push_reference.
type Created struct {
	Reference string `json:"reference"`
	RequestID string `json:"-"`
}

// errorEnvelope is the push API's error body, which differs from the
// REST API's.
type errorEnvelope struct {
	ErrorMessage string `json:"errorMessage"`
}
