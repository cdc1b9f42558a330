package handlers

import (
	"context"
	"errors"
	"net/http"
	"net/mail"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"

	"backoffice/apiclient"
	"backoffice/apiclient/kasko"
	"backoffice/apiclient/push"
	"backoffice/internal/audit"
	"backoffice/internal/i18n"
	"backoffice/internal/vin"
	"backoffice/views/policies"
)

// PushAPI is what the handlers need of the KASKO push API, bound to a key.
type PushAPI interface {
	CreatePolicy(ctx context.Context, req push.CreateRequest) (*push.Created, error)
}

// PushVariant is a product variant offered on the new-policy form.
type PushVariant struct {
	ID   string
	Name string
	// Zone decides what "today" is for the earliest start date.
	Zone string
	// AllowPastStart lets cover start before today.
	AllowPastStart bool
}

// Push serves creating a policy through the push API: the form, the one
// request per form, and the result.
type Push struct {
	h       *Handlers
	intents *intents
}

// pushInput is what the form carries.
type pushInput struct {
	Variant   string
	FirstName string
	LastName  string
	Email     string
	StartDate string
	VIN       string
	Meta      [][2]string // key, value
}

// pushAttempt is kept with the form's token: what was sent and when, to
// look for the policy when the outcome is unknown.
type pushAttempt struct {
	input pushInput
	sent  time.Time
}

const (
	maxMetaRows   = 10
	maxNameLen    = 100
	maxMetaKeyLen = 40
	maxMetaValLen = 200
	// lookBack bounds the search for a pushed policy: pages of the
	// newest policies, 100 each.
	lookBackPages = 3
)

var metaKey = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// pushEnabled: the form exists when the push API is configured.
func (p *Push) enabled() bool { return p.h.upstreams.Push && p.h.push != nil }

// Form handles GET /policies/new.
func (p *Push) Form(w http.ResponseWriter, r *http.Request) error {
	if !p.enabled() {
		return errNotFound
	}
	it := p.intents.create(ownerOf(currentUser(r.Context())), nil)
	in := pushInput{}
	if len(p.h.pushVariants) > 0 {
		in.Variant = p.h.pushVariants[0].ID
	}
	v := p.view(r, it.token, in, nil)
	return p.render(w, r, http.StatusOK, v)
}

// Submit handles POST /policies/new: add a metadata row, or check the
// input and push the policy, once per form.
func (p *Push) Submit(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if !p.enabled() {
		return errNotFound
	}
	user := currentUser(ctx)
	if user.ReadOnly() {
		return p.h.refuseReadOnly(ctx, audit.Entry{Action: audit.ActionCreate, VariantID: truncate(r.FormValue("variant_id"), 64)})
	}
	if err := parseForm(w, r); err != nil {
		return err
	}
	it := p.intents.get(r.PostForm.Get("token"), ownerOf(user))
	if it == nil {
		return &Error{Status: http.StatusConflict, MessageKey: "push.error.stale_form"}
	}
	in := readPushInput(r)
	if r.PostForm.Get("step") == "add_meta" {
		if len(in.Meta) < maxMetaRows {
			in.Meta = append(in.Meta, [2]string{})
		}
		return p.render(w, r, http.StatusOK, p.view(r, it.token, in, nil))
	}
	if errs := p.validate(ctx, in); len(errs) > 0 {
		return p.render(w, r, http.StatusUnprocessableEntity, p.view(r, it.token, in, errs))
	}
	it.replayOrRun(w, func(rec http.ResponseWriter) {
		if err := p.send(rec, r, it, in); err != nil {
			p.h.serveError(rec, r, err)
		}
	})
	return nil
}

func readPushInput(r *http.Request) pushInput {
	f := r.PostForm
	in := pushInput{
		Variant:   strings.TrimSpace(f.Get("variant_id")),
		FirstName: strings.TrimSpace(f.Get("first_name")),
		LastName:  strings.TrimSpace(f.Get("last_name")),
		Email:     strings.TrimSpace(f.Get("email")),
		StartDate: strings.TrimSpace(f.Get("start_date")),
		VIN:       vin.Normalize(f.Get("vin")),
	}
	keys, values := f["meta_key"], f["meta_value"]
	for i := 0; i < len(keys) && i < maxMetaRows; i++ {
		val := ""
		if i < len(values) {
			val = strings.TrimSpace(values[i])
		}
		k := strings.TrimSpace(keys[i])
		if k == "" && val == "" {
			continue
		}
		in.Meta = append(in.Meta, [2]string{k, val})
	}
	return in
}

// validate mirrors what the upstream checks, and checks the VIN and the
// start date more closely than it does, so that mistakes are caught
// before a policy exists. The answer maps a field to its message.
func (p *Push) validate(ctx context.Context, in pushInput) map[string]string {
	errs := map[string]string{}
	variant, ok := p.variant(in.Variant)
	if !ok {
		errs["variant_id"] = i18n.T(ctx, "push.error.variant")
	}
	for field, value := range map[string]string{"first_name": in.FirstName, "last_name": in.LastName} {
		switch {
		case value == "":
			errs[field] = i18n.T(ctx, "push.error.required")
		case len(value) > maxNameLen:
			errs[field] = i18n.T(ctx, "push.error.too_long", "Max", maxNameLen)
		}
	}
	switch a, err := mail.ParseAddress(in.Email); {
	case in.Email == "":
		errs["email"] = i18n.T(ctx, "push.error.required")
	case err != nil || a.Address != in.Email || !strings.Contains(in.Email[strings.LastIndexByte(in.Email, '@'):], "."):
		errs["email"] = i18n.T(ctx, "push.error.email")
	}
	day, err := time.Parse(time.DateOnly, in.StartDate)
	switch {
	case in.StartDate == "":
		errs["start_date"] = i18n.T(ctx, "push.error.required")
	case err != nil || day.Format(time.DateOnly) != in.StartDate:
		errs["start_date"] = i18n.T(ctx, "push.error.date")
	case ok && !variant.AllowPastStart && in.StartDate < p.today(variant):
		errs["start_date"] = i18n.T(ctx, "push.error.date_past")
	}
	switch err := vin.Check(in.VIN); {
	case in.VIN == "":
		errs["vin"] = i18n.T(ctx, "push.error.required")
	case errors.Is(err, vin.ErrLength):
		errs["vin"] = i18n.T(ctx, "push.error.vin_length", "Length", len(in.VIN))
	case errors.Is(err, vin.ErrAlphabet):
		errs["vin"] = i18n.T(ctx, "push.error.vin_alphabet")
	case errors.Is(err, vin.ErrCheckDigit):
		errs["vin"] = i18n.T(ctx, "push.error.vin_check")
	}
	seen := map[string]bool{}
	for _, kv := range in.Meta {
		switch k := kv[0]; {
		case k == "" || len(k) > maxMetaKeyLen || !metaKey.MatchString(k):
			errs["metadata"] = i18n.T(ctx, "push.error.meta_key", "Key", k)
		case k == "push_reference":
			errs["metadata"] = i18n.T(ctx, "push.error.meta_reserved")
		case seen[k]:
			errs["metadata"] = i18n.T(ctx, "push.error.meta_twice", "Key", k)
		case len(kv[1]) > maxMetaValLen:
			errs["metadata"] = i18n.T(ctx, "push.error.too_long", "Max", maxMetaValLen)
		}
		seen[kv[0]] = true
	}
	return errs
}

func (p *Push) variant(id string) (PushVariant, bool) {
	for _, v := range p.h.pushVariants {
		if v.ID == id {
			return v, true
		}
	}
	return PushVariant{}, false
}

func (p *Push) today(v PushVariant) string {
	now := time.Now()
	if v.Zone != "" {
		if z, err := p.h.zones.In(now, v.Zone); err == nil {
			now = z
		}
	}
	return now.Format(time.DateOnly)
}

// send pushes the policy: the one upstream request of a form.
func (p *Push) send(w http.ResponseWriter, r *http.Request, it *intent, in pushInput) error {
	ctx := r.Context()
	user := currentUser(ctx)
	it.push = &pushAttempt{input: in, sent: time.Now()}
	req := push.CreateRequest{
		VariantID: in.Variant,
		Input: push.Input{
			FirstName: in.FirstName, LastName: in.LastName, Email: in.Email,
			Data: push.InputData{StartDate: in.StartDate, VIN: in.VIN},
		},
	}
	if len(in.Meta) > 0 {
		req.Input.Metadata = map[string]string{}
		for _, kv := range in.Meta {
			req.Input.Metadata[kv[0]] = kv[1]
		}
	}
	created, err := p.h.push(user.Key).CreatePolicy(ctx, req)

	entry := audit.Entry{Action: audit.ActionCreate, VariantID: in.Variant, Holder: in.FirstName + " " + in.LastName}
	if err == nil {
		entry.Outcome, entry.UpstreamStatus, entry.UpstreamRequestID, entry.Reference = audit.OutcomeCompleted, http.StatusOK, created.RequestID, created.Reference
	}
	p.h.record(ctx, entry, err)
	var ue *apiclient.Error
	errors.As(err, &ue)
	if ue != nil {
		entry.UpstreamRequestID = ue.RequestID
	}

	switch {
	case err == nil:
		redirect(w, r, "/pushes/"+url.PathEscape(created.Reference))
		return nil
	case errors.Is(err, apiclient.ErrBadRequest):
		// "Bad Request: The 'vin' field is required.": on the field it
		// names, at the top when it names none.
		v := p.view(r, it.token, in, nil)
		msg := i18n.T(ctx, "push.error.upstream", "Message", ue.Message)
		if field := namedField(ue.Message); field != "" {
			v.Errors = map[string]string{field: msg}
		} else {
			v.Alert = msg
		}
		v.AlertRequestID = entry.UpstreamRequestID
		// The form may be corrected and sent again: a new token, since
		// this one has its answer.
		v.Token = p.intents.create(ownerOf(user), nil).token
		return p.render(w, r, http.StatusUnprocessableEntity, v)
	case errors.Is(err, apiclient.ErrUnauthorized), errors.Is(err, apiclient.ErrNotFound), errors.Is(err, apiclient.ErrForbidden):
		v := p.view(r, it.token, in, nil)
		key := "push.error.unauthorized"
		if errors.Is(err, apiclient.ErrNotFound) {
			key = "push.error.not_found"
		}
		v.Alert, v.AlertRequestID = i18n.T(ctx, key), entry.UpstreamRequestID
		v.Token = p.intents.create(ownerOf(user), nil).token
		return p.render(w, r, http.StatusBadGateway, v)
	case errors.Is(err, apiclient.ErrUnavailable), errors.Is(err, apiclient.ErrInvalidResponse):
		// The policy may exist: look for it before anyone sends it again.
		res := policies.PushResultView{
			Meta:      p.h.meta(r, i18n.T(ctx, "push.unknown.title")),
			Mode:      "unknown",
			RequestID: entry.UpstreamRequestID,
			CheckURL:  "/pushes/check?token=" + url.QueryEscape(it.token),
		}
		return p.renderResult(w, r, http.StatusBadGateway, res)
	default:
		return err
	}
}

// namedField finds the form field an upstream message names
// ("The 'vin' field is required.", "Missing 'vin'.").
func namedField(message string) string {
	for _, f := range []string{"variant_id", "first_name", "last_name", "email", "start_date", "vin", "metadata"} {
		if strings.Contains(message, "'"+f+"'") {
			return f
		}
	}
	return ""
}

// Result handles GET /pushes/{reference}: the policy the push created,
// found in the list by its reference, or word that it is not visible yet.
func (p *Push) Result(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	ref := r.PathValue("reference")
	if _, err := uuid.Parse(ref); err != nil || !p.h.upstreams.Kasko {
		return errNotFound
	}
	pol, err := p.findByReference(ctx, ref)
	if err != nil {
		return err
	}
	v := policies.PushResultView{Meta: p.h.meta(r, i18n.T(ctx, "push.result.title")), Reference: ref, Mode: "pending", LookAgainURL: r.URL.RequestURI()}
	if pol != nil {
		v.Mode = "created"
		v.PolicyURL = "/policies/" + url.PathEscape(pol.ID)
		v.InsurerPolicyID = pol.InsurerPolicyID
		v.Holder = strings.TrimSpace(pol.FirstName + " " + pol.LastName)
		v.ListURL = "/policies?sort=-created_at"
	}
	return p.renderResult(w, r, http.StatusOK, v)
}

// Check handles GET /pushes/check?token=…: after an unknown outcome, it
// looks for a policy that the attempt may have created (same holder,
// email and VIN, created since the attempt).
func (p *Push) Check(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	user := currentUser(ctx)
	it := p.intents.get(r.URL.Query().Get("token"), ownerOf(user))
	if it == nil || it.push == nil {
		return &Error{Status: http.StatusConflict, MessageKey: "push.error.stale_form"}
	}
	pol, err := p.findLike(ctx, it.push)
	if err != nil {
		return err
	}
	if pol != nil {
		if ref, _ := pol.Metadata["push_reference"].(string); ref != "" {
			redirect(w, r, "/pushes/"+url.PathEscape(ref))
			return nil
		}
		redirect(w, r, "/policies/"+url.PathEscape(pol.ID))
		return nil
	}
	// Nothing was created: the same input, on a fresh form, may go again.
	v := p.view(r, p.intents.create(ownerOf(user), nil).token, it.push.input, nil)
	v.Alert = i18n.T(ctx, "push.check.none")
	v.AlertKind = "info"
	return p.render(w, r, http.StatusOK, v)
}

// scanRecent walks the newest policies (a few pages) until match says
// stop. The list API cannot filter by metadata.
func (p *Push) scanRecent(ctx context.Context, match func(*kasko.Policy) bool) (*kasko.Policy, error) {
	api := p.h.kasko(currentUser(ctx).Key)
	params := kasko.ListParams{Limit: 100, Sort: "-created_at"}
	for range lookBackPages {
		page, err := api.ListPolicies(ctx, params)
		if err != nil {
			return nil, err
		}
		for i := range page.Policies {
			if match(&page.Policies[i]) {
				return &page.Policies[i], nil
			}
		}
		if len(page.Policies) < params.Limit {
			return nil, nil
		}
		params.OffsetPolicyID = page.Policies[len(page.Policies)-1].InsurerPolicyID
	}
	return nil, nil
}

func (p *Push) findByReference(ctx context.Context, ref string) (*kasko.Policy, error) {
	return p.scanRecent(ctx, func(pol *kasko.Policy) bool {
		got, _ := pol.Metadata["push_reference"].(string)
		return got == ref
	})
}

func (p *Push) findLike(ctx context.Context, a *pushAttempt) (*kasko.Policy, error) {
	since := a.sent.Add(-2 * time.Minute)
	return p.scanRecent(ctx, func(pol *kasko.Policy) bool {
		vinGot, _ := pol.Data["vin"].(string)
		return strings.EqualFold(pol.Email, a.input.Email) && pol.LastName == a.input.LastName &&
			vin.Normalize(vinGot) == a.input.VIN && !pol.PolicyCreatedDate.Before(since)
	})
}

// view builds the form.
func (p *Push) view(r *http.Request, token string, in pushInput, errs map[string]string) policies.NewPolicyView {
	ctx := r.Context()
	v := policies.NewPolicyView{
		Meta:      p.h.meta(r, i18n.T(ctx, "push.title")),
		Token:     token,
		FirstName: in.FirstName, LastName: in.LastName, Email: in.Email, StartDate: in.StartDate, VIN: in.VIN,
		Errors: errs,
	}
	v.Meta.Nav = "new"
	for _, variant := range p.h.pushVariants {
		v.Variants = append(v.Variants, policies.VariantOption{ID: variant.ID, Name: variant.Name, Selected: variant.ID == in.Variant})
		if variant.ID == in.Variant && !variant.AllowPastStart {
			v.MinDate = p.today(variant)
		}
	}
	for _, kv := range in.Meta {
		v.MetaRows = append(v.MetaRows, policies.MetaRow{Key: kv[0], Value: kv[1]})
	}
	if len(v.MetaRows) == 0 {
		v.MetaRows = append(v.MetaRows, policies.MetaRow{})
	}
	v.CanAddMeta = len(v.MetaRows) < maxMetaRows
	return v
}

func (p *Push) render(w http.ResponseWriter, r *http.Request, status int, v policies.NewPolicyView) error {
	if isHTMX(r) && r.Header.Get("HX-Target") == "new-policy" {
		return render(w, r, status, policies.NewPolicyForm(v))
	}
	return render(w, r, status, policies.NewPolicyPage(v))
}

// renderResult shows a result in the form's place (htmx) or as a page.
func (p *Push) renderResult(w http.ResponseWriter, r *http.Request, status int, v policies.PushResultView) error {
	if isHTMX(r) && r.Header.Get("HX-Target") == "new-policy" {
		return render(w, r, status, policies.PushResultPanel(v))
	}
	return render(w, r, status, policies.PushResultPage(v))
}
