package sandbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// faultsJSON is Faults on the wire, with durations as Go duration strings.
// Pointers let PUT /_sandbox/faults change one switch and keep the rest.
type faultsJSON struct {
	Latency           *string  `json:"latency,omitempty"`
	ErrorRate         *float64 `json:"error_rate,omitempty"`
	MalformedRate     *float64 `json:"malformed_rate,omitempty"`
	FailCancellations *bool    `json:"fail_cancellations,omitempty"`
	// RejectCancellations is a status (400, 404, 409, 412, 422) or 0.
	RejectCancellations *int `json:"reject_cancellations,omitempty"`
	// RejectPushes is a status (400, 401, 404) or 0, with an optional
	// message.
	RejectPushes      *int    `json:"reject_pushes,omitempty"`
	RejectPushMessage *string `json:"reject_push_message,omitempty"`
	// CascoUnavailable lists CascoApi providers answering "Product
	// unavailable"; [] clears it.
	CascoUnavailable *[]string `json:"casco_unavailable,omitempty"`
	// CascoValidationField makes every quote a VALIDATION_ERROR on this
	// field; "" clears it.
	CascoValidationField *string `json:"casco_validation_field,omitempty"`
	// ExpireCascoTokens is an action, not a state: true expires every
	// CascoApi access token issued so far (refresh tokens keep working).
	// It is never echoed.
	ExpireCascoTokens *bool `json:"expire_casco_tokens,omitempty"`
	// WebhookDuplicates sends every webhook delivery twice.
	WebhookDuplicates *bool `json:"webhook_duplicates,omitempty"`
}

func toFaultsJSON(f Faults) faultsJSON {
	l := f.Latency.String()
	unavailable := f.CascoUnavailable
	if unavailable == nil {
		unavailable = []string{}
	}
	return faultsJSON{Latency: &l, ErrorRate: &f.ErrorRate, MalformedRate: &f.MalformedRate, FailCancellations: &f.FailCancellations, RejectCancellations: &f.RejectCancellations,
		RejectPushes: &f.RejectPushes, RejectPushMessage: &f.RejectPushMessage, CascoUnavailable: &unavailable, CascoValidationField: &f.CascoValidationField,
		WebhookDuplicates: &f.WebhookDuplicates}
}

type fixtureJSON struct {
	Name            string `json:"name"`
	ID              string `json:"id"`
	InsurerPolicyID string `json:"insurer_policy_id"`
	Key             string `json:"key"`
}

type infoJSON struct {
	KaskoAPIURL  string       `json:"kasko_api_url"`
	KaskoPushURL string       `json:"kasko_push_url"`
	CascoAPIURL  string       `json:"casco_api_url"`
	AssetsURL    string       `json:"assets_url"`
	Credentials  []Credential `json:"credentials"`
	// CascoAccounts are the CascoApi demo partner accounts (POST /auth).
	CascoAccounts  []CascoAccount `json:"casco_accounts"`
	CascoProviders []string       `json:"casco_providers"`
	CascoTokenTTL  string         `json:"casco_token_ttl"`
	CascoOfferTTL  string         `json:"casco_offer_ttl"`
	SortableFields []string       `json:"sortable_fields"`
	Products       []Product      `json:"products"`
	Faults         faultsJSON     `json:"faults"`
	PushVariantID  string         `json:"push_variant_id"`
	Fixtures       []fixtureJSON  `json:"fixtures"`
	Seed           int64          `json:"seed"`
	Policies       int            `json:"policies"`
	CancelDelay    string         `json:"cancel_delay"`
	AssetURLTTL    string         `json:"asset_url_ttl"`
	ReferenceDate  string         `json:"reference_date"` // the seeded history leads up to it (RFC 3339, UTC)
	// Calls counts the requests each route has had, for a tester to check
	// what a client really sent.
	Calls map[string]int `json:"calls"`
	// WebhookSecrets are the per-scope signing secrets; Webhooks the
	// registered endpoints (POST /_sandbox/webhooks) and Deliveries the
	// latest deliveries, newest first.
	WebhookSecrets []webhookSecretJSON `json:"webhook_secrets"`
	Webhooks       []Webhook           `json:"webhooks"`
	Deliveries     []Delivery          `json:"deliveries"`
}

type webhookSecretJSON struct {
	DistributorID   string `json:"distributor_id"`
	DistributorName string `json:"distributor_name"`
	Mode            string `json:"mode"`
	SecretKey       string `json:"secret_key"`
	Secret          string `json:"secret"`
}

func (s *Sandbox) webhookSecrets() []webhookSecretJSON {
	var out []webhookSecretJSON
	for _, c := range s.creds {
		if k := s.keys[c.Key]; !k.public {
			out = append(out, webhookSecretJSON{c.DistributorID, c.DistributorName, c.Mode, c.Key, s.scopes[k.scope].webhookSecret})
		}
	}
	return out
}

// handleInfo serves GET /_sandbox: base URLs and demo credentials, so that
// a partner can start without reading code.
func (s *Sandbox) handleInfo(c *call) reply {
	info := infoJSON{
		KaskoAPIURL:    c.base + KaskoPrefix,
		KaskoPushURL:   c.base + PushPrefix,
		CascoAPIURL:    c.base + CascoPrefix,
		AssetsURL:      c.base + AssetPrefix,
		Credentials:    s.Credentials(),
		CascoAccounts:  s.CascoAccounts(),
		CascoProviders: CascoProviders(),
		CascoTokenTTL:  s.opts.CascoTokenTTL.String(),
		CascoOfferTTL:  s.opts.CascoOfferTTL.String(),
		Calls:          s.allCalls(),
		SortableFields: SortableFields(),
		Products:       s.Products(),
		Faults:         toFaultsJSON(s.Faults()),
		PushVariantID:  ARAGVariantID,
		Fixtures: []fixtureJSON{
			{"paid, cancellable", FixturePolicyID, FixtureInsurerPolicyID, KeyASecretTest},
			{"cancelled", FixtureCancelledID, FixtureCancelledInsurerID, KeyASecretTest},
			{"expired", FixtureExpiredID, FixtureExpiredInsurerID, KeyASecretTest},
			{"live mode", FixtureLiveID, FixtureLiveInsurerID, KeyASecretLive},
			{"other distributor", FixtureOtherDistributorID, "TEST-CYBER-5HT8W3ZN", KeyBSecretTest},
		},
		Seed:          s.opts.Seed,
		Policies:      s.opts.Policies,
		CancelDelay:   s.opts.CancelDelay.String(),
		AssetURLTTL:   s.opts.AssetURLTTL.String(),
		ReferenceDate: s.opts.ReferenceDate.Format(time.RFC3339),

		WebhookSecrets: s.webhookSecrets(),
		Webhooks:       s.Webhooks(),
		Deliveries:     s.Deliveries(),
	}
	b, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return kaskoError(http.StatusInternalServerError, "Could not encode the sandbox description.")
	}
	return jsonOK(http.StatusOK, append(b, '\n'))
}

// handleFaults serves PUT /_sandbox/faults; omitted fields keep their value.
func (s *Sandbox) handleFaults(c *call) reply {
	body, ok := s.readBody(c.r)
	if !ok {
		return s.tooLarge(famAdmin)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var in faultsJSON
	if err := dec.Decode(&in); err != nil {
		return kaskoError(http.StatusBadRequest, "The request body is not valid JSON: "+strings.TrimPrefix(err.Error(), "json: "))
	}
	f := s.Faults()
	if in.Latency != nil {
		d, err := time.ParseDuration(*in.Latency)
		if err != nil {
			return kaskoError(http.StatusBadRequest, fmt.Sprintf("latency: %s is not a Go duration.", strconv.Quote(*in.Latency)))
		}
		f.Latency = d
	}
	if in.ErrorRate != nil {
		f.ErrorRate = *in.ErrorRate
	}
	if in.MalformedRate != nil {
		f.MalformedRate = *in.MalformedRate
	}
	if in.RejectPushes != nil {
		f.RejectPushes = *in.RejectPushes
	}
	if in.RejectPushMessage != nil {
		f.RejectPushMessage = *in.RejectPushMessage
	}
	if in.RejectCancellations != nil {
		f.RejectCancellations = *in.RejectCancellations
	}
	if in.FailCancellations != nil {
		f.FailCancellations = *in.FailCancellations
	}
	if in.CascoUnavailable != nil {
		f.CascoUnavailable = *in.CascoUnavailable
	}
	if in.CascoValidationField != nil {
		f.CascoValidationField = *in.CascoValidationField
	}
	if in.WebhookDuplicates != nil {
		f.WebhookDuplicates = *in.WebhookDuplicates
	}
	if err := f.validate(); err != nil {
		return kaskoError(http.StatusBadRequest, err.Error()+".")
	}
	s.SetFaults(f)
	if in.ExpireCascoTokens != nil && *in.ExpireCascoTokens {
		s.ExpireCascoTokens()
	}
	b, err := json.Marshal(toFaultsJSON(f))
	if err != nil {
		return kaskoError(http.StatusInternalServerError, "Could not encode faults.")
	}
	return jsonOK(http.StatusOK, b)
}

func (s *Sandbox) allCalls() map[string]int {
	s.callsMu.Lock()
	defer s.callsMu.Unlock()
	out := make(map[string]int, len(s.calls))
	for k, v := range s.calls {
		out[k] = v
	}
	return out
}
