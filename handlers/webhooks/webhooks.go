// Package webhooks receives KASKO's webhooks (POST /webhooks/kasko) and
// keeps the policy index current with them. A delivery is only a hint:
// its signature says it came from KASKO, but the row is written from the
// policy as the tenant's own key reads it upstream, never from the
// payload. The answer is 2xx only once the row is written, so that the
// sender retries anything that failed.
package webhooks

import (
	"context"
	"crypto/hmac"
	"crypto/sha1" // #nosec G505 -- the KASKO webhook signature is HMAC-SHA1 by contract; HMAC does not rest on SHA-1 collision resistance
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode"

	"backoffice/apiclient"
	kasko "backoffice/apiclient/kasko"
	"backoffice/internal/index"
	"backoffice/internal/indexsync"
)

// Webhook headers and events (upstream contract §1.8).
const (
	HeaderEvent     = "X-KASKO-Event"
	HeaderDelivery  = "X-KASKO-Delivery"
	HeaderSignature = "X-KASKO-Signature"

	EventPolicyCreated = "policy.created"
	EventPolicyUpdated = "policy.updated"

	// DefaultMaxBody bounds a delivery; the documented payload is a
	// few KiB.
	DefaultMaxBody = 256 << 10

	signaturePrefix = "sha1="
	maxPolicyID     = 256
	// storeTimeout bounds the writes made after the upstream answered,
	// which run even if the sender hangs up: a claimed delivery must be
	// released or completed.
	storeTimeout = 10 * time.Second
)

// Deps is what the receiver needs.
type Deps struct {
	Store index.Store
	// Secrets maps a tenant to its webhook secrets (whsec_…); several
	// per tenant allow rotation (KASKO_WEBHOOK_SECRETS).
	Secrets map[string][]string
	// Key is the tenant's index key (indexsync.Syncer.Key).
	Key func(tenant string) (string, bool)
	// Get reads a policy upstream with key (see GetWith).
	Get func(ctx context.Context, key, id string) (*kasko.Policy, error)
	Log *slog.Logger
	// MaxBody bounds the request body (DefaultMaxBody when 0).
	MaxBody int64
	Now     func() time.Time
}

// GetWith is Deps.Get for a KASKO client.
func GetWith(c *kasko.Client) func(ctx context.Context, key, id string) (*kasko.Policy, error) {
	return func(ctx context.Context, key, id string) (*kasko.Policy, error) {
		return c.WithKey(key).GetPolicy(ctx, id)
	}
}

// Receiver is the http.Handler of POST /webhooks/kasko.
type Receiver struct {
	d       Deps
	log     *slog.Logger
	secrets []tenantSecret
}

type tenantSecret struct {
	tenant string
	secret []byte
}

// New returns a receiver; Store and Get are required. Empty secrets are
// dropped: an empty HMAC key would let anyone sign.
func New(d Deps) *Receiver {
	if d.Store == nil || d.Get == nil {
		panic("webhooks: Deps.Store and Deps.Get are required")
	}
	if d.Key == nil {
		d.Key = func(string) (string, bool) { return "", false }
	}
	if d.MaxBody <= 0 {
		d.MaxBody = DefaultMaxBody
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	log := d.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Receiver{d: d, log: log.With(slog.String("component", "webhooks"))}
	tenants := make([]string, 0, len(d.Secrets))
	for t := range d.Secrets {
		tenants = append(tenants, t)
	}
	slices.Sort(tenants)
	for _, t := range tenants {
		for _, s := range d.Secrets[t] {
			if s = strings.TrimSpace(s); s != "" {
				r.secrets = append(r.secrets, tenantSecret{tenant: t, secret: []byte(s)})
			}
		}
	}
	return r
}

// payload is what is read from a delivery: only the policy id, the rest
// is refetched.
type payload struct {
	ID string `json:"id"`
}

func (rc *Receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		reply(w, http.StatusMethodNotAllowed, "POST only")
		return
	}
	candidates := rc.secrets
	tenant := r.URL.Query().Get("tenant")
	if tenant != "" {
		candidates = rc.secretsOf(tenant)
		if len(candidates) == 0 {
			reply(w, http.StatusNotFound, "unknown tenant")
			return
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, rc.d.MaxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			reply(w, http.StatusRequestEntityTooLarge, "delivery too large")
			return
		}
		reply(w, http.StatusBadRequest, "delivery body could not be read")
		return
	}
	tenant, status := verify(candidates, r.Header.Get(HeaderSignature), body)
	if status != 0 {
		rc.log.Warn("webhook refused: signature", slog.Int("status", status), slog.String("tenant_param", clip(r.URL.Query().Get("tenant"))))
		msg := "signature missing or invalid"
		if status == http.StatusBadRequest {
			msg = "signature matches several tenants; name the tenant in ?tenant="
		}
		reply(w, status, msg)
		return
	}
	log := rc.log.With(slog.String("tenant", tenant))
	event := r.Header.Get(HeaderEvent)
	if event != EventPolicyCreated && event != EventPolicyUpdated {
		log.Info("webhook ignored: event", slog.String("event", clip(event)))
		w.WriteHeader(http.StatusNoContent)
		return
	}
	delivery := r.Header.Get(HeaderDelivery)
	if !isDeliveryID(delivery) {
		reply(w, http.StatusBadRequest, "X-KASKO-Delivery must be 32 hex digits")
		return
	}
	log = log.With(slog.String("event", event), slog.String("delivery", delivery))
	var p payload
	if err := json.Unmarshal(body, &p); err != nil || !isPolicyID(p.ID) {
		log.Warn("webhook refused: payload without a policy id")
		reply(w, http.StatusBadRequest, "payload must be JSON with a policy id")
		return
	}
	log = log.With(slog.String("policy", p.ID))
	// The key is checked before the delivery is claimed: a tenant whose
	// key is not resolved yet (start-up) leaves the delivery to retry.
	key, ok := rc.d.Key(tenant)
	if !ok {
		// Transient (the key resolves at start-up): the sender retries.
		log.Warn("webhook refused: no index key for the tenant yet")
		w.Header().Set("Retry-After", "30")
		reply(w, http.StatusServiceUnavailable, "no index key for this tenant yet")
		return
	}
	claimed, err := rc.d.Store.ClaimDelivery(r.Context(), tenant, delivery)
	if err != nil {
		log.Error("webhook: delivery not claimed", slog.String("error", err.Error()))
		reply(w, http.StatusServiceUnavailable, "index unavailable")
		return
	}
	if !claimed {
		log.Info("webhook replay ignored")
		w.WriteHeader(http.StatusNoContent)
		return
	}
	status, msg := rc.apply(r.Context(), log, tenant, key, p.ID)
	if status != http.StatusNoContent {
		// The claim goes, so that the sender's retry is processed.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), storeTimeout)
		defer cancel()
		if err := rc.d.Store.ReleaseDelivery(ctx, tenant, delivery); err != nil {
			log.Error("webhook: delivery not released; its retries will be ignored", slog.String("error", err.Error()))
		}
		reply(w, status, msg)
		return
	}
	log.Info("webhook applied")
	w.WriteHeader(http.StatusNoContent)
}

// apply refetches the policy with the tenant's key and writes its row;
// it answers the status and message for the sender.
func (rc *Receiver) apply(ctx context.Context, log *slog.Logger, tenant, key, id string) (int, string) {
	// Seen when asked, not when answered: a sync page requested later
	// may carry a newer version and must win in the store.
	asked := rc.d.Now()
	p, err := rc.d.Get(ctx, key, id)
	switch {
	case err == nil:
	case errors.Is(err, apiclient.ErrNotFound):
		log.Warn("webhook: policy not visible to the tenant's key")
		return http.StatusUnprocessableEntity, "policy not visible to this tenant's key"
	case ctx.Err() != nil, errors.Is(err, context.DeadlineExceeded):
		log.Warn("webhook: upstream did not answer in time", slog.String("error", apiclient.Redact(err.Error())))
		return http.StatusServiceUnavailable, "upstream did not answer in time"
	default:
		log.Warn("webhook: policy not refetched", slog.String("error", apiclient.Redact(err.Error())))
		return http.StatusBadGateway, "policy could not be read upstream"
	}
	if !indexsync.Belongs(p, tenant) {
		log.Warn("webhook: policy belongs to another tenant or mode", slog.String("mode", indexsync.PolicyMode(p)))
		return http.StatusUnprocessableEntity, "policy does not belong to this tenant"
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancel()
	if err := rc.d.Store.Upsert(wctx, []index.Row{indexsync.RowOf(p, tenant, asked)}); err != nil {
		log.Error("webhook: row not written", slog.String("error", err.Error()))
		return http.StatusServiceUnavailable, "index unavailable"
	}
	return http.StatusNoContent, ""
}

func (rc *Receiver) secretsOf(tenant string) []tenantSecret {
	var out []tenantSecret
	for _, s := range rc.secrets {
		if s.tenant == tenant {
			out = append(out, s)
		}
	}
	return out
}

// verify finds the tenant whose secret signed body. Every candidate is
// checked, whatever matched before, so that the time taken does not tell
// which secret (or whether any) matched. It answers 401 for a missing,
// malformed or wrong signature and 400 when secrets of several tenants
// match (the same secret configured twice).
func verify(candidates []tenantSecret, header string, body []byte) (string, int) {
	hexSig, ok := strings.CutPrefix(strings.TrimSpace(header), signaturePrefix)
	if !ok {
		return "", http.StatusUnauthorized
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil || len(got) != sha1.Size {
		return "", http.StatusUnauthorized
	}
	tenant, matches := "", 0
	for _, c := range candidates {
		m := hmac.New(sha1.New, c.secret)
		m.Write(body)
		if hmac.Equal(m.Sum(nil), got) && c.tenant != tenant {
			tenant = c.tenant
			matches++
		}
	}
	switch matches {
	case 0:
		return "", http.StatusUnauthorized
	case 1:
		return tenant, 0
	default:
		return "", http.StatusBadRequest
	}
}

// Sign is the X-KASKO-Signature value of body under secret (for senders
// and tests).
func Sign(secret string, body []byte) string {
	m := hmac.New(sha1.New, []byte(secret))
	m.Write(body)
	return signaturePrefix + hex.EncodeToString(m.Sum(nil))
}

func isDeliveryID(s string) bool {
	if len(s) != 32 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// isPolicyID accepts what can be one path segment of GET /policies/{id}.
func isPolicyID(s string) bool {
	if s == "" || len(s) > maxPolicyID || s == "." || s == ".." {
		return false
	}
	return !strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) || r == '/' })
}

// clip bounds a sender-controlled value before it is logged.
func clip(s string) string {
	const maxLogged = 64
	s = strings.ToValidUTF8(s, "?")
	if len(s) > maxLogged {
		return s[:maxLogged] + "…"
	}
	return s
}

func reply(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	fmt.Fprintln(w, msg)
}
