package kasko

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
	kaskoapi "backoffice/apiclient/kasko"
	pushapi "backoffice/apiclient/push"
	"backoffice/handlers"
	"backoffice/internal/audit"
	"backoffice/internal/i18n"
	"backoffice/internal/paths"
	"backoffice/internal/vin"
	"backoffice/views/layout"
	"backoffice/views/policies"
)

// PushAPI is what the KASKO pages need of the push API, bound to a key.
type PushAPI interface {
	CreatePolicy(ctx context.Context, req pushapi.CreateRequest) (*pushapi.Created, error)
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

// Push serves creating a policy through the push API (GET and POST
// /policies/new): the form, the one request per form, and the result
// (GET /pushes/{reference}, GET /pushes/check).
type Push struct {
	h *Handlers
}

// pushState is what a new-policy form's token keeps: nothing until the
// form is sent, then the attempt, to look for its policy when the outcome
// is unknown.
type pushState struct {
	Attempt *pushAttempt `json:",omitempty"`
}

// pushAttempt is what was sent, and when.
type pushAttempt struct {
	Input pushInput
	Sent  time.Time
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

// Form handles GET /policies/new.
func (p *Push) Form(w http.ResponseWriter, r *http.Request) error {
	if !p.h.pushEnabled() {
		return handlers.ErrNotFound
	}
	token, err := p.open(r.Context())
	if err != nil {
		return err
	}
	in := pushInput{}
	if len(p.h.pushVariants) > 0 {
		in.Variant = p.h.pushVariants[0].ID
	}
	return p.render(w, r, http.StatusOK, p.view(r, token, in, nil))
}

// open mints the one-time token of a new-policy form.
func (p *Push) open(ctx context.Context) (string, error) {
	// A new-policy form acts on nothing yet: one open form per session,
	// reopened by every visit until it is sent.
	return handlers.OpenForm(ctx, p.h.core.Forms, p.h.formOwner(ctx), handlers.FormPush, "", pushState{})
}

// Submit handles POST /policies/new: add a metadata row, or check the
// input and push the policy, once per form.
func (p *Push) Submit(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if !p.h.pushEnabled() {
		return handlers.ErrNotFound
	}
	user := currentUser(ctx)
	if user.ReadOnly() {
		return p.h.refuseReadOnly(ctx, audit.Entry{Action: audit.ActionCreate, VariantID: handlers.Truncate(r.FormValue("variant_id"), 64)})
	}
	if err := handlers.ParseForm(w, r); err != nil {
		return err
	}
	token := r.PostForm.Get("token")
	_, ok, err := handlers.LoadForm[pushState](ctx, p.h.core.Forms, token, p.h.formOwner(ctx), handlers.FormPush)
	if err != nil {
		return err
	}
	if !ok {
		return &handlers.Error{Status: http.StatusConflict, MessageKey: "push.error.stale_form"}
	}
	in := readPushInput(r)
	if r.PostForm.Get("step") == "add_meta" {
		if len(in.Meta) < maxMetaRows {
			in.Meta = append(in.Meta, [2]string{})
		}
		v := p.view(r, token, in, nil)
		v.FocusMeta = len(v.MetaRows)
		return p.render(w, r, http.StatusOK, v)
	}
	if errs := p.validate(ctx, in); len(errs) > 0 {
		return p.render(w, r, http.StatusUnprocessableEntity, p.view(r, token, in, errs))
	}
	err = p.h.core.SendOnce(w, r, handlers.Submission{
		Token: token, Kind: handlers.FormPush, Input: in.digest(),
		Send:    func(w http.ResponseWriter, r *http.Request) error { return p.send(w, r, token, in) },
		Pending: func(w http.ResponseWriter, r *http.Request) error { return p.unknown(w, r, token, "") },
		Differs: func(w http.ResponseWriter, r *http.Request) error { return p.sentOther(w, r, in) },
	})
	if errors.Is(err, handlers.ErrFormExpired) {
		return &handlers.Error{Status: http.StatusConflict, MessageKey: "push.error.stale_form"}
	}
	return err
}

// sentOther answers a new-policy form that was already sent with other
// details (another tab of the session): this input was not sent; it
// stays, on a fresh form, with a warning to look at what the first one
// created before sending it.
func (p *Push) sentOther(w http.ResponseWriter, r *http.Request, in pushInput) error {
	token, err := p.open(r.Context())
	if err != nil {
		return err
	}
	v := p.view(r, token, in, nil)
	v.Alert, v.AlertTone = i18n.T(r.Context(), "push.error.sent_other"), layout.ToneWarning
	return p.render(w, r, http.StatusConflict, v)
}

// digest is what a submission asks for, to tell two sendings of one
// form apart.
func (in pushInput) digest() string {
	parts := []string{in.Variant, in.FirstName, in.LastName, in.Email, in.StartDate, in.VIN}
	for _, kv := range in.Meta {
		parts = append(parts, kv[0]+"="+kv[1])
	}
	return strings.Join(parts, "\x00")
}

// unknown answers a push whose outcome nobody knows (no usable answer
// came, or the form's first submission is still out or was lost with
// its instance): the policy may exist, so the page looks for it before
// anyone sends the form again.
func (p *Push) unknown(w http.ResponseWriter, r *http.Request, token, requestID string) error {
	res := policies.PushResultView{
		Meta:      p.h.core.Meta(r, i18n.T(r.Context(), "push.unknown.title")),
		Mode:      policies.PushUnknown,
		RequestID: requestID,
		CheckURL:  paths.PushCheck(token),
	}
	return p.renderResult(w, r, http.StatusBadGateway, res)
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
	check := handlers.NewChecker(ctx)
	variant, ok := p.variant(in.Variant)
	if !ok {
		check.Fail("variant_id", "push.error.variant")
	}
	check.Text("first_name", in.FirstName, true, maxNameLen)
	check.Text("last_name", in.LastName, true, maxNameLen)
	// The address's own rules bound it; the upstream sets no length.
	switch a, err := mail.ParseAddress(in.Email); {
	case in.Email == "":
		check.Fail("email", "form.error.required")
	case err != nil || a.Address != in.Email || !strings.Contains(in.Email[strings.LastIndexByte(in.Email, '@'):], "."):
		check.Fail("email", "push.error.email")
	}
	if _, valid := check.Date("start_date", in.StartDate, true); valid && ok && !variant.AllowPastStart && in.StartDate < p.today(variant) {
		check.Fail("start_date", "push.error.date_past")
	}
	// A VIN's length has its own message, which says how long it is.
	switch err := vin.Check(in.VIN); {
	case in.VIN == "":
		check.Fail("vin", "form.error.required")
	case errors.Is(err, vin.ErrLength):
		check.Fail("vin", "push.error.vin_length", "Length", len(in.VIN))
	case errors.Is(err, vin.ErrAlphabet):
		check.Fail("vin", "push.error.vin_alphabet")
	case errors.Is(err, vin.ErrCheckDigit):
		check.Fail("vin", "push.error.vin_check")
	}
	seen := map[string]bool{}
	for _, kv := range in.Meta {
		switch k := kv[0]; {
		case k == "" || len(k) > maxMetaKeyLen || !metaKey.MatchString(k):
			check.Fail("metadata", "push.error.meta_key", "Key", k)
		case k == "push_reference":
			check.Fail("metadata", "push.error.meta_reserved")
		case seen[k]:
			check.Fail("metadata", "push.error.meta_twice", "Key", k)
		default:
			check.Text("metadata", kv[1], false, maxMetaValLen)
		}
		seen[kv[0]] = true
	}
	return check.Errors()
}

func (p *Push) variant(id string) (PushVariant, bool) {
	for _, v := range p.h.pushVariants {
		if v.ID == id {
			return v, true
		}
	}
	return PushVariant{}, false
}

// today is the variant's current day, the earliest start it allows.
func (p *Push) today(v PushVariant) string {
	return p.h.core.Zones.Today(v.Zone).Format(time.DateOnly)
}

// send pushes the policy: the one upstream request of a form.
func (p *Push) send(w http.ResponseWriter, r *http.Request, token string, in pushInput) error {
	ctx := r.Context()
	user := currentUser(ctx)
	// Kept before the request: if no answer comes, Check looks for the
	// policy this attempt may have made.
	if err := handlers.UpdateForm(ctx, p.h.core.Forms, token, pushState{Attempt: &pushAttempt{Input: in, Sent: time.Now()}}); err != nil {
		return err
	}
	req := pushapi.CreateRequest{
		VariantID: in.Variant,
		Input: pushapi.Input{
			FirstName: in.FirstName, LastName: in.LastName, Email: in.Email,
			Data: pushapi.InputData{StartDate: in.StartDate, VIN: in.VIN},
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
	requestID := handlers.UpstreamRequestID(err)

	switch {
	case err == nil:
		p.h.pokeIndex(ctx)
		handlers.Redirect(w, r, paths.Push(created.Reference))
		return nil
	case errors.Is(err, apiclient.ErrBadRequest):
		// "Bad Request: The 'vin' field is required.": on the field it
		// names, at the top when it names none.
		v := p.view(r, token, in, nil)
		upstreamMsg := handlers.UpstreamMessage(err)
		msg := i18n.T(ctx, "push.error.upstream", "Message", upstreamMsg)
		if field := namedField(upstreamMsg); field != "" {
			v.Errors = map[string]string{field: msg}
		} else {
			v.Alert = msg
		}
		v.AlertRequestID = requestID
		// The form may be corrected and sent again: a new token, since
		// this one has its answer.
		if v.Token, err = p.open(ctx); err != nil {
			return err
		}
		return p.render(w, r, http.StatusUnprocessableEntity, v)
	case errors.Is(err, apiclient.ErrUnauthorized), errors.Is(err, apiclient.ErrNotFound), errors.Is(err, apiclient.ErrForbidden):
		v := p.view(r, token, in, nil)
		key := "push.error.unauthorized"
		if errors.Is(err, apiclient.ErrNotFound) {
			key = "push.error.not_found"
		}
		v.Alert, v.AlertRequestID = i18n.T(ctx, key), requestID
		if v.Token, err = p.open(ctx); err != nil {
			return err
		}
		return p.render(w, r, http.StatusBadGateway, v)
	default:
		// No usable answer (a timeout, a 5xx, garbage): the policy may
		// exist.
		return p.unknown(w, r, token, requestID)
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
	if _, err := uuid.Parse(ref); err != nil || !p.h.kaskoEnabled() {
		return handlers.ErrNotFound
	}
	pol, err := p.findByReference(ctx, ref)
	if err != nil {
		return err
	}
	v := policies.PushResultView{Meta: p.h.core.Meta(r, i18n.T(ctx, "push.result.title")), Reference: ref, Mode: policies.PushPending, LookAgainURL: r.URL.RequestURI()}
	if pol != nil {
		p.h.indexPolicy(ctx, pol)
		v.Mode = policies.PushCreated
		v.PolicyURL = paths.Policy(pol.ID)
		v.InsurerPolicyID = pol.InsurerPolicyID
		v.Holder = strings.TrimSpace(pol.FirstName + " " + pol.LastName)
		v.ListURL = paths.PolicyList(url.Values{"sort": {"-created_at"}})
	}
	return p.renderResult(w, r, http.StatusOK, v)
}

// Check handles GET /pushes/check?token=…: after an unknown outcome, it
// looks for a policy that the attempt may have created (same holder,
// email and VIN, created since the attempt).
func (p *Push) Check(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	st, ok, err := handlers.LoadForm[pushState](ctx, p.h.core.Forms, r.URL.Query().Get("token"), p.h.formOwner(ctx), handlers.FormPush)
	if err != nil {
		return err
	}
	if !ok || st.Attempt == nil {
		return &handlers.Error{Status: http.StatusConflict, MessageKey: "push.error.stale_form"}
	}
	pol, err := p.findLike(ctx, st.Attempt)
	if err != nil {
		return err
	}
	if pol != nil {
		if ref, _ := pol.Metadata["push_reference"].(string); ref != "" {
			handlers.Redirect(w, r, paths.Push(ref))
			return nil
		}
		handlers.Redirect(w, r, paths.Policy(pol.ID))
		return nil
	}
	// Nothing was created: the same input, on a fresh form, may go again.
	token, err := p.open(ctx)
	if err != nil {
		return err
	}
	v := p.view(r, token, st.Attempt.Input, nil)
	v.Alert = i18n.T(ctx, "push.check.none")
	v.AlertTone = layout.ToneInfo
	return p.render(w, r, http.StatusOK, v)
}

// scanRecent walks the newest policies (a few pages) until match says
// stop. The list API cannot filter by metadata.
func (p *Push) scanRecent(ctx context.Context, match func(*kaskoapi.Policy) bool) (*kaskoapi.Policy, error) {
	api := p.h.api(ctx)
	params := kaskoapi.ListParams{Limit: 100, Sort: "-created_at"}
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

func (p *Push) findByReference(ctx context.Context, ref string) (*kaskoapi.Policy, error) {
	return p.scanRecent(ctx, func(pol *kaskoapi.Policy) bool {
		got, _ := pol.Metadata["push_reference"].(string)
		return got == ref
	})
}

func (p *Push) findLike(ctx context.Context, a *pushAttempt) (*kaskoapi.Policy, error) {
	since := a.Sent.Add(-2 * time.Minute)
	return p.scanRecent(ctx, func(pol *kaskoapi.Policy) bool {
		vinGot, _ := pol.Data["vin"].(string)
		return strings.EqualFold(pol.Email, a.Input.Email) && pol.LastName == a.Input.LastName &&
			vin.Normalize(vinGot) == a.Input.VIN && !pol.PolicyCreatedDate.Before(since)
	})
}

// view builds the form.
func (p *Push) view(r *http.Request, token string, in pushInput, errs map[string]string) policies.NewPolicyView {
	ctx := r.Context()
	v := policies.NewPolicyView{
		Meta:      p.h.core.Meta(r, i18n.T(ctx, "push.title")),
		Token:     token,
		FirstName: in.FirstName, LastName: in.LastName, Email: in.Email, StartDate: in.StartDate, VIN: in.VIN,
		Errors: errs,
	}
	v.Meta.Nav = layout.SectionNew
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
	if handlers.IsHTMX(r) && r.Header.Get("HX-Target") == "new-policy" {
		return handlers.Render(w, r, status, policies.NewPolicyForm(v))
	}
	return handlers.Render(w, r, status, policies.NewPolicyPage(v))
}

// renderResult shows a result in the form's place (htmx) or as a page.
func (p *Push) renderResult(w http.ResponseWriter, r *http.Request, status int, v policies.PushResultView) error {
	if handlers.IsHTMX(r) && r.Header.Get("HX-Target") == "new-policy" {
		return handlers.Render(w, r, status, policies.PushResultPanel(v))
	}
	return handlers.Render(w, r, status, policies.PushResultPage(v))
}
