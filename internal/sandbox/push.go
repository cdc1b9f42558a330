package sandbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"iter"
	"maps"
	"mime"
	"net/http"
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// handlePush serves POST /push/: one request creates an ARAG AS24 policy in
// the caller's scope and answers with a UUID v1 reference.
func (s *Sandbox) handlePush(c *call) reply {
	k, ok := s.authenticate(c.r)
	if !ok {
		return pushError(http.StatusUnauthorized, "")
	}
	if k.public {
		return pushError(http.StatusForbidden, "")
	}
	body, ok := s.readBody(c.r)
	if !ok {
		return s.tooLarge(famPush)
	}
	if f := s.Faults(); f.RejectPushes != 0 {
		msg := f.RejectPushMessage
		if msg == "" {
			msg = map[int]string{http.StatusBadRequest: "The 'vin' field is required.", http.StatusNotFound: "Unknown variant_id."}[f.RejectPushes]
		}
		return pushError(f.RejectPushes, msg)
	}
	mt, _, err := mime.ParseMediaType(c.r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return pushError(http.StatusBadRequest, "Content-Type must be application/json.")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var req map[string]json.RawMessage
	if err := dec.Decode(&req); err != nil || req == nil || dec.More() {
		return pushError(http.StatusBadRequest, "Invalid JSON.")
	}
	required := func(f string) reply {
		return pushError(http.StatusBadRequest, fmt.Sprintf("The '%s' field is required.", f))
	}
	str := func(m map[string]json.RawMessage, f string) (string, bool) {
		var v string
		if err := json.Unmarshal(m[f], &v); err != nil || strings.TrimSpace(v) == "" {
			return "", false
		}
		return v, true
	}
	obj := func(m map[string]json.RawMessage, f string) (map[string]json.RawMessage, bool) {
		var v map[string]json.RawMessage
		if err := json.Unmarshal(m[f], &v); err != nil || v == nil {
			return nil, false
		}
		return v, true
	}
	variant, ok := str(req, "variant_id")
	if !ok {
		return required("variant_id")
	}
	input, ok := obj(req, "input")
	if !ok {
		return required("input")
	}
	var vals [3]string
	for i, f := range []string{"first_name", "last_name", "email"} {
		if vals[i], ok = str(input, f); !ok {
			return required(f)
		}
	}
	data, ok := obj(input, "data")
	if !ok {
		return required("data")
	}
	start, ok := str(data, "start_date")
	if !ok {
		return required("start_date")
	}
	vin, ok := str(data, "vin")
	if !ok {
		return required("vin")
	}
	if a, err := mail.ParseAddress(vals[2]); err != nil || a.Address != vals[2] || !strings.Contains(vals[2][strings.LastIndexByte(vals[2], '@'):], ".") {
		return pushError(http.StatusBadRequest, "The 'email' field must be a valid email address.")
	}
	st, dateOnly, ok := parseISODate(start)
	if !ok {
		return pushError(http.StatusBadRequest, "The 'start_date' field must be a date in ISO 8601 format.")
	}
	var meta map[string]json.RawMessage
	if raw, present := input["metadata"]; present && string(raw) != "null" {
		if meta, ok = obj(input, "metadata"); !ok {
			return pushError(http.StatusBadRequest, "The 'metadata' field must be an object.")
		}
	}
	if variant != ARAGVariantID {
		return pushError(http.StatusNotFound, "Unknown variant_id.")
	}
	ref, err := uuid.NewUUID()
	if err != nil {
		return pushError(http.StatusInternalServerError, "Could not create a reference.")
	}
	reference := ref.String()

	dw := newJW(len(body) + 64)
	dw.open('{')
	dw.str("start_date", start)
	dw.str("vin", vin)
	for f, raw := range sortedRaw(data) {
		if f != "start_date" && f != "vin" {
			dw.raw(f, compactRaw(raw))
		}
	}
	dw.close('}')
	mw := newJW(128)
	mw.open('{')
	mw.str("push_reference", reference)
	for f, raw := range sortedRaw(meta) {
		if f != "push_reference" {
			mw.raw(f, compactRaw(raw))
		}
	}
	mw.close('}')

	s.mu.Lock()
	defer s.mu.Unlock()
	s.settle(c.now)
	pr := &s.prods[prodAS24]
	live := s.scopes[k.scope].live
	pfx, vpfx, ipfx := "tpol_", "tpv_", "TEST-"
	if live {
		pfx, vpfx, ipfx = "lpol_", "lpv_", ""
	}
	p := &policy{
		firstName: vals[0], lastName: vals[1], email: vals[2],
		status: statusPaid, scope: uint8(k.scope), product: prodAS24, language: "de",
		createdAt: c.now.Unix(), acceptedAt: c.now.Unix(),
		net:     9900,
		bits:    s.rng.Uint32(),
		assets:  assetPolicyDoc | assetInvoice | assetTerms,
		dataRaw: dw.b, metaRaw: mw.b,
	}
	if dateOnly {
		p.startDate = time.Date(st.Year(), st.Month(), st.Day(), 0, 0, 0, 0, pr.zone).Unix()
	} else {
		p.startDate = localMidnight(st, pr.zone)
	}
	p.lastModified = p.createdAt
	for range 16 {
		p.id = pfx + randHex(s.rng, 28)
		p.insurerID = ipfx + pr.code + "-" + randCode(s.rng, 8)
		if s.byID[p.id] == nil && s.byInsurer[p.insurerID] == nil {
			break
		}
	}
	p.versionID = vpfx + randHex(s.rng, 29)
	if err := s.index(p); err != nil {
		return pushError(http.StatusInternalServerError, "Could not store the policy.")
	}
	sc := s.scopes[k.scope]
	sc.policies = append(sc.policies, p)
	s.resorted(p, nil)
	s.watchExpiry(p, c.now)
	s.emitLocked(EventPolicyCreated, p, c.now)

	w := newJW(64)
	w.open('{')
	w.str("reference", reference)
	w.close('}')
	return jsonOK(http.StatusOK, w.b)
}

// sortedRaw iterates an object's members in key order, for stable output.
func sortedRaw(m map[string]json.RawMessage) iter.Seq2[string, json.RawMessage] {
	return func(yield func(string, json.RawMessage) bool) {
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if !yield(k, m[k]) {
				return
			}
		}
	}
}

func compactRaw(raw json.RawMessage) []byte {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return []byte("null")
	}
	return b.Bytes()
}
