package sandbox

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

const acceptV2 = "application/vnd.kasko.v2+json"

// authenticate reads Basic (key as user name, password ignored), "Bearer
// <key>" and the "Bearer: <key>" form printed in the GitBook tables.
func (s *Sandbox) authenticate(r *http.Request) (keyInfo, bool) {
	h := strings.TrimSpace(r.Header.Get("Authorization"))
	scheme, rest, _ := strings.Cut(h, " ")
	var key string
	switch strings.ToLower(strings.TrimSuffix(scheme, ":")) {
	case "basic":
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(rest))
		if err != nil {
			return keyInfo{}, false
		}
		key, _, _ = strings.Cut(string(raw), ":")
	case "bearer":
		key = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(rest), ":"))
	default:
		return keyInfo{}, false
	}
	k, ok := s.keys[key]
	return k, ok
}

func unauthorized() reply {
	return kaskoError(http.StatusUnauthorized, "No valid API key provided.")
}

func forbidden() reply {
	return kaskoError(http.StatusForbidden, "The API key doesn't have permissions to perform the request.")
}

func policyNotFound(id string) reply {
	return kaskoError(http.StatusNotFound, fmt.Sprintf("Policy of id: %q not found.", id))
}

func wantsV2(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept") {
		for part := range strings.SplitSeq(v, ",") {
			mt, _, _ := strings.Cut(part, ";")
			if strings.EqualFold(strings.TrimSpace(mt), acceptV2) {
				return true
			}
		}
	}
	return false
}

func jsonOK(status int, body []byte) reply { return reply{status: status, body: body} }

// settle completes every modification whose time has come. Completion is
// computed from the clock on the next request instead of by a goroutine,
// so a fake clock drives it and nothing outlives the sandbox; while webhooks
// are registered, the webhook scheduler calls it too, at the due time, so
// that policy.updated goes out without waiting for a request. Callers hold
// s.mu.
func (s *Sandbox) settle(now time.Time) {
	for p := range s.pending {
		op := p.op
		if op == nil {
			delete(s.pending, p)
			continue
		}
		if now.Before(op.dueAt) {
			continue
		}
		delete(s.pending, p)
		op.done = true
		p.op = nil
		p.enc = nil
		if op.fail {
			op.failed = true
			op.errMsg = "The insurer rejected the cancellation (sandbox fault injection)."
			continue
		}
		s.resorted(p, func() {
			p.versionID = op.versionID
			p.status = statusCancelled
			p.cancelReason = op.reason
			p.terminationDate = op.termination
			p.cancelledAt = op.dueAt.Unix()
			p.cancelledBy = s.scopes[p.scope].distributorID
			p.lastModified = op.dueAt.Unix()
		})
		s.emitLocked(EventPolicyUpdated, p, now)
	}
}

// lookup finds a policy by KASKO id or insurer_policy_id within the key's
// scope; anything else is not found, never forbidden.
func (s *Sandbox) lookup(k keyInfo, id string) *policy {
	p := s.byID[id]
	if p == nil {
		p = s.byInsurer[id]
	}
	if p == nil || int(p.scope) != k.scope {
		return nil
	}
	return p
}

type sortKey struct {
	field string
	desc  bool
}

func parseSort(raw string) ([]sortKey, string, error) {
	if raw == "" {
		raw = "-created_at"
	}
	var keys []sortKey
	var norm []string
	for part := range strings.SplitSeq(raw, ",") {
		part = strings.TrimSpace(part)
		k := sortKey{field: part}
		if strings.HasPrefix(part, "-") {
			k.desc, k.field = true, part[1:]
		}
		if k.field == "created_date" {
			k.field = "created_at"
		}
		if !slices.Contains(SortableFields(), k.field) {
			//lint:ignore ST1005 the upstream's 400 message, worded as the contract words it
			return nil, "", fmt.Errorf("Invalid sort field: %s", k.field)
		}
		keys = append(keys, k)
		if k.desc {
			norm = append(norm, "-"+k.field)
		} else {
			norm = append(norm, k.field)
		}
	}
	return keys, strings.Join(norm, ","), nil
}

func (s *Sandbox) comparer(keys []sortKey) func(a, b *policy) int {
	return func(a, b *policy) int {
		for _, k := range keys {
			var c int
			switch k.field {
			case "created_at":
				c = cmp.Compare(a.createdAt, b.createdAt)
			case "insurer_policy_id":
				c = strings.Compare(a.insurerID, b.insurerID)
			case "last_name":
				c = strings.Compare(a.lastName, b.lastName)
			case "email":
				c = strings.Compare(a.email, b.email)
			case "status":
				c = strings.Compare(a.status, b.status)
			case "start_date":
				c = cmp.Compare(a.startDate, b.startDate)
			case "end_date":
				// Open-ended policies (null end) sort after every dated one.
				ae, be := a.endDate, b.endDate
				if ae == 0 {
					ae = 1 << 62
				}
				if be == 0 {
					be = 1 << 62
				}
				c = cmp.Compare(ae, be)
			case "gross_premium":
				_, _, ga := a.gross(s.prods)
				_, _, gb := b.gross(s.prods)
				c = cmp.Compare(ga, gb)
			}
			if k.desc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return strings.Compare(a.id, b.id)
	}
}

// sortedScope returns the scope's policies in the given order, cached until
// the next mutation of the scope. Callers hold s.mu.
func (s *Sandbox) sortedScope(sc int, norm string, keys []sortKey) []*policy {
	st := s.scopes[sc]
	if v, ok := st.sorted[norm]; ok {
		return v
	}
	v := slices.Clone(st.policies)
	slices.SortFunc(v, s.comparer(keys))
	if st.sorted == nil {
		st.sorted = make(map[string][]*policy)
	}
	// Each order holds a pointer per policy (1.4 MB at 200,000), and a
	// client chooses the sort spec: keep only a handful.
	if len(st.sorted) >= maxSortedOrders {
		clear(st.sorted)
	}
	st.sorted[norm] = v
	return v
}

// handleList serves GET /kasko/policies.
func (s *Sandbox) handleList(c *call) reply {
	k, ok := s.authenticate(c.r)
	if !ok {
		return unauthorized()
	}
	q := c.r.URL.Query()
	offset, limit := 0, 20
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return kaskoError(http.StatusBadRequest, "The offset parameter must be a non-negative integer.")
		}
		offset = n
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return kaskoError(http.StatusBadRequest, "The limit parameter must be a positive integer.")
		}
		limit = min(n, 100)
	}
	keys, norm, err := parseSort(q.Get("sort"))
	if err != nil {
		return kaskoError(http.StatusBadRequest, err.Error())
	}
	kind := kindV1Secret
	if wantsV2(c.r) {
		kind = kindV2Secret
	}
	if k.public {
		kind++
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	s.settle(c.now)
	rows := s.sortedScope(k.scope, norm, keys)
	total := len(rows)
	if cur := q.Get("offset_policy_id"); cur != "" {
		p := s.byInsurer[cur]
		if p == nil || int(p.scope) != k.scope {
			return kaskoError(http.StatusBadRequest, "Unknown offset_policy_id")
		}
		// The order is total (id breaks ties), so a binary search finds the
		// cursor row without a per-order position map.
		i, found := slices.BinarySearchFunc(rows, p, s.comparer(keys))
		if !found {
			return kaskoError(http.StatusBadRequest, "Unknown offset_policy_id")
		}
		rows = rows[i+1:]
	}
	if offset >= len(rows) {
		rows = nil
	} else {
		rows = rows[offset:]
	}
	if len(rows) > limit {
		rows = rows[:limit]
	}
	size := 64
	items := make([][]byte, len(rows))
	for i, p := range rows {
		items[i] = s.policyJSON(p, kind, c.base, c.now)
		size += len(items[i]) + 1
	}
	b := make([]byte, 0, size+len(norm))
	b = append(b, `{"data":[`...)
	for i, it := range items {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, it...)
	}
	b = append(b, `],"meta":{"total":`...)
	b = strconv.AppendInt(b, int64(total), 10)
	b = append(b, `,"count":`...)
	b = strconv.AppendInt(b, int64(len(rows)), 10)
	b = append(b, `,"limit":`...)
	b = strconv.AppendInt(b, int64(limit), 10)
	b = append(b, `,"sort":`...)
	b = appendJSONString(b, norm)
	b = append(b, "}}"...)
	return jsonOK(http.StatusOK, b)
}

// etagValue strips W/ and quotes from an entity tag.
func etagValue(v string) string {
	v = strings.TrimSpace(v)
	v = strings.TrimPrefix(v, "W/")
	return strings.Trim(v, `"`)
}

func etagMatches(header, version string) bool {
	for part := range strings.SplitSeq(header, ",") {
		v := etagValue(part)
		if v == "*" || v == version {
			return true
		}
	}
	return false
}

// handleGet serves GET /kasko/policies/{id}.
func (s *Sandbox) handleGet(c *call) reply {
	k, ok := s.authenticate(c.r)
	if !ok {
		return unauthorized()
	}
	id := c.args[0]
	kind := kindV1Secret
	if wantsV2(c.r) {
		kind = kindV2Secret
	}
	if k.public {
		kind++
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settle(c.now)
	p := s.lookup(k, id)
	if p == nil {
		return policyNotFound(id)
	}
	var rep reply
	rep.set("ETag", `"`+p.versionID+`"`)
	rep.set("Last-Modified", time.Unix(p.lastModified, 0).UTC().Format(http.TimeFormat))
	rep.set("Vary", "Accept, Authorization")
	if inm := c.r.Header.Get("If-None-Match"); inm != "" && etagMatches(inm, p.versionID) {
		rep.status = http.StatusNotModified
		return rep
	}
	rep.status = http.StatusOK
	rep.body = s.policyJSON(p, kind, c.base, c.now)
	return rep
}

// parseISODate accepts YYYY-MM-DD and full ISO date-times.
func parseISODate(v string) (t time.Time, dateOnly bool, ok bool) {
	if t, err := time.Parse("2006-01-02", v); err == nil {
		return t, true, true
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, false, true
		}
	}
	return time.Time{}, false, false
}

func decodeObject(body []byte) (map[string]any, bool) {
	if len(bytes.TrimSpace(body)) == 0 {
		return map[string]any{}, true
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, false
	}
	if dec.More() {
		return nil, false
	}
	return m, true
}

// handleCancel serves POST /kasko/policies/{id}/cancel. Check order: auth,
// secret key, 404, Accept v2, body 400, If-Match 428/412, 409, 422, 202.
func (s *Sandbox) handleCancel(c *call) reply {
	k, ok := s.authenticate(c.r)
	if !ok {
		return unauthorized()
	}
	if k.public {
		return forbidden()
	}
	body, ok := s.readBody(c.r)
	if !ok {
		return s.tooLarge(famKasko)
	}
	id := c.args[0]
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settle(c.now)
	p := s.lookup(k, id)
	if p == nil {
		return policyNotFound(id)
	}
	if !wantsV2(c.r) {
		return kaskoError(http.StatusBadRequest, "Unsupported API version")
	}
	switch s.Faults().RejectCancellations {
	case http.StatusBadRequest:
		return kaskoError(http.StatusBadRequest, "The termination_date field must be a date in ISO format.")
	case http.StatusNotFound: // as if it had just been removed
		return policyNotFound(id)
	case http.StatusConflict:
		return kaskoError(http.StatusConflict, fmt.Sprintf("Resource modification already initialized at %s.", c.now.Add(-time.Minute).UTC().Format(isoLayout)))
	case http.StatusPreconditionFailed:
		return kaskoError(http.StatusPreconditionFailed, fmt.Sprintf("Resource has been changed: %q is not an active version.", etagValue(c.r.Header.Get("If-Match"))))
	case http.StatusUnprocessableEntity:
		return kaskoError(http.StatusUnprocessableEntity, "Policy is expired. Can't cancel expired policy.")
	}
	if ct := c.r.Header.Get("Content-Type"); ct != "" && len(bytes.TrimSpace(body)) > 0 {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return kaskoError(http.StatusBadRequest, "Content-Type must be application/json.")
		}
	}
	m, ok := decodeObject(body)
	if !ok {
		return kaskoError(http.StatusBadRequest, "The request body is not valid JSON.")
	}
	reason, isStr := m["cancellation_reason"].(string)
	if m["cancellation_reason"] != nil && !isStr {
		return kaskoError(http.StatusBadRequest, "The cancellation_reason field must be a string.")
	}
	if strings.TrimSpace(reason) == "" {
		return kaskoError(http.StatusBadRequest, "The cancellation_reason field is required.")
	}
	td, present := m["termination_date"]
	if !present || td == nil || td == "" {
		return kaskoError(http.StatusBadRequest, "The termination_date field is required.")
	}
	tds, _ := td.(string)
	tt, dateOnly, ok := parseISODate(tds)
	if !ok {
		return kaskoError(http.StatusBadRequest, "The termination_date field must be a date in ISO format.")
	}
	zone := s.prods[p.product].zone
	var termination int64
	if dateOnly {
		termination = time.Date(tt.Year(), tt.Month(), tt.Day(), 0, 0, 0, 0, zone).Unix()
	} else {
		termination = localMidnight(tt, zone)
	}

	im := c.r.Header.Get("If-Match")
	if strings.TrimSpace(im) == "" {
		return kaskoError(http.StatusPreconditionRequired, "If-Match header is required.")
	}
	if !etagMatches(im, p.versionID) {
		return kaskoError(http.StatusPreconditionFailed, fmt.Sprintf("Resource has been changed: %q is not an active version.", etagValue(im)))
	}
	if ius := c.r.Header.Get("If-Unmodified-Since"); ius != "" {
		if t, err := http.ParseTime(ius); err == nil && p.lastModified > t.Unix() {
			return kaskoError(http.StatusPreconditionFailed, fmt.Sprintf("Resource has been changed since %s.", ius))
		}
	}
	if p.op != nil {
		return kaskoError(http.StatusConflict, fmt.Sprintf("Resource modification already initialized at %s.", p.op.initiatedAt.UTC().Format(isoLayout)))
	}
	if p.status == statusCancelled {
		return kaskoError(http.StatusUnprocessableEntity, "Policy already cancelled.")
	}
	if p.expired(c.now) {
		return kaskoError(http.StatusUnprocessableEntity, "Policy is expired. Can't cancel expired policy.")
	}
	vpfx := "tpv_"
	if s.scopes[p.scope].live {
		vpfx = "lpv_"
	}
	op := &operation{
		versionID:   vpfx + randHex(s.rng, 29),
		action:      "cancel",
		initiatedAt: c.now,
		dueAt:       c.now.Add(s.opts.CancelDelay),
		fail:        s.Faults().FailCancellations,
		reason:      reason,
		termination: termination,
	}
	p.op = op
	p.ops = append(p.ops, op)
	p.enc = nil
	s.pending[p] = struct{}{}
	s.hooks.wake()

	href := c.base + KaskoPrefix + "/policies/" + p.id + "/versions/" + op.versionID + "/status"
	w := newJW(256)
	w.open('{')
	w.str("policy_id", p.id)
	w.obj("_links")
	w.obj("status")
	w.str("href", href)
	w.close('}')
	w.close('}')
	w.close('}')
	rep := jsonOK(http.StatusAccepted, w.b)
	rep.set("Location", href)
	return rep
}

// handleStatus serves GET /kasko/policies/{id}/versions/{version}/status.
func (s *Sandbox) handleStatus(c *call) reply {
	k, ok := s.authenticate(c.r)
	if !ok {
		return unauthorized()
	}
	id, vid := c.args[0], c.args[1]
	s.mu.Lock()
	defer s.mu.Unlock()
	s.settle(c.now)
	p := s.lookup(k, id)
	var op *operation
	if p != nil {
		for _, o := range p.ops {
			if o.versionID == vid {
				op = o
			}
		}
	}
	if op == nil {
		return kaskoError(http.StatusNotFound, fmt.Sprintf("Version %q of policy %q not found.", vid, id))
	}
	if !wantsV2(c.r) {
		return kaskoError(http.StatusBadRequest, "Unsupported API version")
	}
	status := "processing"
	switch {
	case op.done && op.failed:
		status = "failed"
	case op.done:
		status = "completed"
	case c.now.Sub(op.initiatedAt) < op.dueAt.Sub(op.initiatedAt)/2:
		status = "pending"
	}
	api := c.base + KaskoPrefix
	w := newJW(512)
	w.open('{')
	w.str("policy_id", p.id)
	w.str("version_id", op.versionID)
	w.str("status", status)
	w.str("action", op.action)
	w.time("initiated_at", op.initiatedAt.Unix(), time.UTC)
	if op.done {
		w.time("completed_at", op.dueAt.Unix(), time.UTC)
	} else {
		w.null("completed_at")
	}
	if op.failed {
		w.obj("error")
		w.str("message", op.errMsg)
		w.close('}')
	} else {
		w.null("error")
	}
	w.obj("_links")
	w.obj("policy")
	w.str("href", api+"/policies/"+p.id)
	w.close('}')
	w.obj("_self")
	w.str("href", api+"/policies/"+p.id+"/versions/"+op.versionID+"/status")
	w.close('}')
	w.close('}')
	w.close('}')
	return jsonOK(http.StatusOK, w.b)
}
