package sandbox

// CascoApi (Life Is Hard SA's Romanian CASCO broker API) under CascoPrefix,
// following upstream-contract.md section 3. Paths the contract marks
// [DESIGN] mirror the sibling RCA API; every sandbox-only choice is marked
// [DESIGN] below too.

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// CascoPrefix is the URL prefix of the CascoApi imitation.
const CascoPrefix = "/casco"

// CascoApi route names as counted by Calls.
const (
	RouteCascoAuth       = "POST /casco/auth"
	RouteCascoRenew      = "PATCH /casco/auth"
	RouteCascoDeauth     = "DELETE /casco/auth"
	RouteCascoOffer      = "POST /casco/offer"
	RouteCascoOfferPDF   = "GET /casco/offer/{id}"
	RouteCascoPolicy     = "POST /casco/policy"
	RouteCascoPolicyPDF  = "GET /casco/policy"
	RouteCascoCountries  = "GET /casco/nomenclature/country"
	RouteCascoCounties   = "GET /casco/nomenclature/county"
	RouteCascoLocalities = "GET /casco/nomenclature/locality/{county_code}"
	RouteCascoMakes      = "GET /casco/nomenclature/vehicle-make"
	RouteCascoModels     = "GET /casco/nomenclature/vehicle-model/{make}"
	RouteCascoVehicleID  = "POST /casco/helper/vehicle-identification"
)

// CascoApi defaults applied by New to zero Options fields.
const (
	DefaultCascoTokenTTL   = 5 * time.Minute
	DefaultCascoRefreshTTL = 24 * time.Hour
	DefaultCascoOfferTTL   = 7 * 24 * time.Hour
)

// Demo CascoApi partner accounts (documented in the README and listed by
// GET /_sandbox). Each sees only its own offers and policies.
const (
	CascoDemoAccount     = "demo"
	CascoDemoPassword    = "demo-casco-2026"
	CascoDemoName        = "Demo Broker SRL"
	CascoPartnerAccount  = "transilvania"
	CascoPartnerPassword = "ardeal-casco-2026"
	CascoPartnerName     = "Transilvania Asigurări Broker SRL"
)

// CascoProviders are the insurers CascoApi quotes (contract 3.1), in the
// order the README lists them.
func CascoProviders() []string {
	return []string{"generali", "groupama", "allianz", "eazy_insure"}
}

// CascoAccount is one demo CascoApi partner account.
type CascoAccount struct {
	Account  string `json:"account"`
	Password string `json:"password"`
	Name     string `json:"name"`
}

// CascoAccounts lists the demo partner accounts.
func (s *Sandbox) CascoAccounts() []CascoAccount {
	return []CascoAccount{
		{CascoDemoAccount, CascoDemoPassword, CascoDemoName},
		{CascoPartnerAccount, CascoPartnerPassword, CascoPartnerName},
	}
}

func (s *Sandbox) cascoAccount(account string) (CascoAccount, bool) {
	for _, a := range s.CascoAccounts() {
		if a.Account == account {
			return a, true
		}
	}
	return CascoAccount{}, false
}

// cascoState is everything CascoApi keeps; its own lock, so that quotes
// never wait for a KASKO list.
type cascoState struct {
	mu                    sync.Mutex
	secret                []byte // HS256 key, random per sandbox
	bucharest             *time.Location
	sessions              map[string]*cascoSession // by sid
	refresh               map[string]*cascoSession // by sha256 of the current refresh token
	access                map[string]*cascoAccess  // by jti: every access token alive
	rng                   *mrand.Rand              // offer ids and policy numbers, from the seed
	nextOffer, nextPolicy int64
	offers                map[int64]*cascoOffer
	policies              map[string]*cascoPolicy // by series + "\x00" + number

	dataOnce sync.Once
	data     *cascoData
	dataErr  error
}

// cascoSession is one POST /auth and its renewals.
type cascoSession struct {
	id, account string
	refreshHash string
	refreshExp  time.Time
	revoked     bool
}

type cascoAccess struct {
	sid     string
	exp     time.Time
	expired bool // by ExpireCascoTokens
}

func newCascoState(seed int64) (*cascoState, error) {
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return nil, fmt.Errorf("sandbox: casco secret: %w", err)
	}
	loc, err := time.LoadLocation("Europe/Bucharest")
	if err != nil {
		return nil, fmt.Errorf("sandbox: casco: %w", err)
	}
	useed := uint64(seed)
	rng := mrand.New(mrand.NewPCG(useed^0xca5c0, useed*17+3))
	return &cascoState{
		secret:     secret,
		bucharest:  loc,
		sessions:   make(map[string]*cascoSession),
		refresh:    make(map[string]*cascoSession),
		access:     make(map[string]*cascoAccess),
		rng:        rng,
		nextOffer:  790000 + int64(rng.IntN(9000)),
		nextPolicy: 55000 + int64(rng.IntN(900)),
		offers:     make(map[int64]*cascoOffer),
		policies:   make(map[string]*cascoPolicy),
	}, nil
}

// ExpireCascoTokens makes every CascoApi access token issued so far answer
// 401 as if its exp had passed, while refresh tokens keep working: the
// "expired JWT that forces a renewal" of the contract's checklist. PUT
// /_sandbox/faults {"expire_casco_tokens": true} does the same.
func (s *Sandbox) ExpireCascoTokens() {
	cs := s.casco
	cs.mu.Lock()
	defer cs.mu.Unlock()
	for _, a := range cs.access {
		a.expired = true
	}
}

func (s *Sandbox) cascoRoutes() []route {
	exact := func(parts ...string) func([]string) ([]string, bool) {
		return func(g []string) ([]string, bool) {
			if len(g) != len(parts) {
				return nil, false
			}
			for i, p := range parts {
				if g[i] != p {
					return nil, false
				}
			}
			return nil, true
		}
	}
	withArg := func(parts ...string) func([]string) ([]string, bool) {
		return func(g []string) ([]string, bool) {
			if len(g) != len(parts)+1 || g[len(parts)] == "" {
				return nil, false
			}
			for i, p := range parts {
				if g[i] != p {
					return nil, false
				}
			}
			return g[len(parts):], true
		}
	}
	return []route{
		{RouteCascoAuth, []string{"POST"}, famCasco, exact("casco", "auth"), (*Sandbox).handleCascoAuth},
		{RouteCascoRenew, []string{"PATCH"}, famCasco, exact("casco", "auth"), (*Sandbox).handleCascoRenew},
		{RouteCascoDeauth, []string{"DELETE"}, famCasco, exact("casco", "auth"), (*Sandbox).handleCascoDeauth},
		{RouteCascoOffer, []string{"POST"}, famCasco, exact("casco", "offer"), (*Sandbox).handleCascoOffer},
		{RouteCascoOfferPDF, []string{"GET"}, famCasco, withArg("casco", "offer"), (*Sandbox).handleCascoOfferPDF},
		{RouteCascoPolicy, []string{"POST"}, famCasco, exact("casco", "policy"), (*Sandbox).handleCascoPolicy},
		{RouteCascoPolicyPDF, []string{"GET"}, famCasco, exact("casco", "policy"), (*Sandbox).handleCascoPolicyPDF},
		{RouteCascoCountries, []string{"GET"}, famCasco, exact("casco", "nomenclature", "country"), (*Sandbox).handleCascoCountries},
		{RouteCascoCounties, []string{"GET"}, famCasco, exact("casco", "nomenclature", "county"), (*Sandbox).handleCascoCounties},
		{RouteCascoLocalities, []string{"GET"}, famCasco, withArg("casco", "nomenclature", "locality"), (*Sandbox).handleCascoLocalities},
		{RouteCascoMakes, []string{"GET"}, famCasco, exact("casco", "nomenclature", "vehicle-make"), (*Sandbox).handleCascoMakes},
		{RouteCascoModels, []string{"GET"}, famCasco, withArg("casco", "nomenclature", "vehicle-model"), (*Sandbox).handleCascoModels},
		{RouteCascoVehicleID, []string{"POST"}, famCasco, exact("casco", "helper", "vehicle-identification"), (*Sandbox).handleCascoVehicleID},
	}
}

// ---- Envelope -------------------------------------------------------------

// cascoOKBody is the success envelope with real bool/int types (the Redoc
// samples print them as strings; the live sibling service does not).
type cascoOKBody struct {
	Error  bool `json:"error"`
	Status int  `json:"status"`
	Data   any  `json:"data"`
}

type cascoErrBody struct {
	Error   bool   `json:"error"`
	Status  int    `json:"status"`
	Message string `json:"message"`
	Data    any    `json:"data,omitempty"`
	// CorrelationID is [DESIGN]: the sibling APIs' error envelopes carry
	// one; harmless extra.
	CorrelationID string `json:"correlation_id"`
}

func marshalCasco(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func cascoOK(data any) reply {
	b, err := marshalCasco(cascoOKBody{Error: false, Status: http.StatusOK, Data: data})
	if err != nil {
		return cascoError(http.StatusInternalServerError, "Internal server error.")
	}
	return reply{status: http.StatusOK, body: b}
}

func cascoErrorData(status int, msg string, data any) reply {
	b, err := marshalCasco(cascoErrBody{Error: true, Status: status, Message: msg, Data: data, CorrelationID: uuid.NewString()})
	if err != nil {
		b = []byte(`{"error":true,"status":500,"message":"Internal server error."}`)
		status = http.StatusInternalServerError
	}
	return reply{status: status, body: b}
}

func cascoError(status int, msg string) reply { return cascoErrorData(status, msg, nil) }

// cascoUnauthorized is the contract's answer to a missing, malformed,
// expired, revoked or foreign token ([DESIGN] wording, the same in both
// languages: clients key on the status).
func cascoUnauthorized() reply { return cascoError(http.StatusUnauthorized, "Unauthorized") }

// ---- Language ---------------------------------------------------------------

type lang int

const (
	langEN lang = iota
	langRO
)

// cascoLang reads Content-Language: "ro" (or ro-RO) gives Romanian
// messages, anything else English (contract 3.2).
func cascoLang(r *http.Request) lang {
	v := strings.TrimSpace(r.Header.Get("Content-Language"))
	first, _, _ := strings.Cut(v, ",")
	first = strings.ToLower(strings.TrimSpace(first))
	if first == "ro" || strings.HasPrefix(first, "ro-") {
		return langRO
	}
	return langEN
}

// tr picks the message of the request's language.
func (l lang) tr(en, ro string) string {
	if l == langRO {
		return ro
	}
	return en
}

// ---- Authentication ---------------------------------------------------------

const cascoIssuer = "casco-sandbox"

// cascoClaims is the access token's payload: standard claims plus the
// session id, so that DELETE /auth can end every token of a session.
type cascoClaims struct {
	jwt.RegisteredClaims
	SessionID string `json:"sid"`
	Name      string `json:"name"`
}

// cascoTokenData is C1/C2's data object. expires_at is Bucharest local time
// without an offset while the JWT's exp is a UTC epoch: the contract's trap
// 12, reproduced on purpose.
type cascoTokenData struct {
	Token        string `json:"token"`
	ExpiresAt    string `json:"expires_at"`
	RefreshToken string `json:"refresh_token"`
}

// CascoExpiresAtLayout is the layout of expires_at (Europe/Bucharest).
const CascoExpiresAtLayout = "2006-01-02 15:04:05"

func randToken(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func hashToken(t string) string {
	sum := sha256.Sum256([]byte(t))
	return hex.EncodeToString(sum[:])
}

// prune forgets tokens and sessions that can no longer be used. Callers
// hold cs.mu.
func (cs *cascoState) prune(now time.Time) {
	for jti, a := range cs.access {
		if !now.Before(a.exp) {
			delete(cs.access, jti)
		}
	}
	for id, sess := range cs.sessions {
		if !now.Before(sess.refreshExp) || sess.revoked {
			delete(cs.refresh, sess.refreshHash)
			alive := false
			for _, a := range cs.access {
				if a.sid == id {
					alive = true
					break
				}
			}
			if !alive {
				delete(cs.sessions, id)
			}
		}
	}
}

// issue signs a new access token and rotates the session's refresh token.
// Callers hold cs.mu.
func (s *Sandbox) issueCascoTokens(sess *cascoSession, name string, now time.Time) (cascoTokenData, error) {
	cs := s.casco
	jti, err := randToken(12)
	if err != nil {
		return cascoTokenData{}, err
	}
	rt, err := randToken(32)
	if err != nil {
		return cascoTokenData{}, err
	}
	exp := now.Add(s.opts.CascoTokenTTL).Truncate(time.Second)
	claims := cascoClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    cascoIssuer,
			Subject:   sess.account,
			IssuedAt:  jwt.NewNumericDate(now.Truncate(time.Second)),
			ExpiresAt: jwt.NewNumericDate(exp),
			ID:        jti,
		},
		SessionID: sess.id,
		Name:      name,
	}
	signed, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(cs.secret)
	if err != nil {
		return cascoTokenData{}, err
	}
	// [DESIGN] Rotation: the previous refresh token stops working at once.
	// The previous access token is not revoked (the contract says nothing
	// about it); it lives until its own exp, unless DELETE /auth ends the
	// whole session.
	delete(cs.refresh, sess.refreshHash)
	sess.refreshHash = hashToken(rt)
	sess.refreshExp = now.Add(s.opts.CascoRefreshTTL)
	cs.refresh[sess.refreshHash] = sess
	cs.access[jti] = &cascoAccess{sid: sess.id, exp: exp}
	return cascoTokenData{Token: signed, ExpiresAt: exp.In(cs.bucharest).Format(CascoExpiresAtLayout), RefreshToken: rt}, nil
}

// cascoCredentials reads account and password from the query string (the
// seed's documented form), else from a JSON or form body ([DESIGN]: some
// third-party clients send a body).
func (s *Sandbox) cascoCredentials(c *call) (account, password string, rep reply, ok bool) {
	q := c.r.URL.Query()
	account, password = q.Get("account"), q.Get("password")
	if account != "" || password != "" {
		return account, password, reply{}, true
	}
	body, ok := s.readBody(c.r)
	if !ok {
		return "", "", s.tooLarge(famCasco), false
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return "", "", reply{}, true
	}
	mt, _, _ := mime.ParseMediaType(c.r.Header.Get("Content-Type"))
	if mt == "application/x-www-form-urlencoded" {
		f, err := url.ParseQuery(string(body))
		if err != nil {
			return "", "", cascoError(http.StatusBadRequest, cascoLang(c.r).tr("Malformed request body.", "Corpul cererii este invalid.")), false
		}
		return f.Get("account"), f.Get("password"), reply{}, true
	}
	var in struct {
		Account  any `json:"account"`
		Password any `json:"password"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return "", "", cascoError(http.StatusBadRequest, cascoLang(c.r).tr("Malformed JSON body.", "Corpul JSON al cererii este invalid.")), false
	}
	a, _ := in.Account.(string)
	p, _ := in.Password.(string)
	return a, p, reply{}, true
}

// handleCascoAuth serves POST /casco/auth (C1).
func (s *Sandbox) handleCascoAuth(c *call) reply {
	account, password, rep, ok := s.cascoCredentials(c)
	if !ok {
		return rep
	}
	l := cascoLang(c.r)
	v := newValidator(l)
	if strings.TrimSpace(account) == "" {
		v.add("account", msgRequired)
	}
	if password == "" {
		v.add("password", msgRequired)
	}
	if v.failed() {
		return v.reply()
	}
	acct, known := s.cascoAccount(account)
	if !known || !sameSecret(acct.Password, password) {
		return cascoError(http.StatusUnauthorized, l.tr("Invalid credentials", "Date de autentificare invalide"))
	}
	cs := s.casco
	cs.mu.Lock()
	defer cs.mu.Unlock()
	cs.prune(c.now)
	sid, err := randToken(12)
	if err != nil {
		return cascoError(http.StatusInternalServerError, "Internal server error.")
	}
	sess := &cascoSession{id: sid, account: acct.Account}
	cs.sessions[sid] = sess
	out, err := s.issueCascoTokens(sess, acct.Name, c.now)
	if err != nil {
		return cascoError(http.StatusInternalServerError, "Internal server error.")
	}
	return cascoOK(out)
}

// handleCascoRenew serves PATCH /casco/auth (C2) with "Token: Refresh
// <refresh_token>". [DESIGN] It also takes the third-party form: "Token:
// <old jwt>" and a JSON body {"refresh_token": "…"}.
func (s *Sandbox) handleCascoRenew(c *call) reply {
	l := cascoLang(c.r)
	invalid := cascoError(http.StatusUnauthorized, l.tr("Invalid refresh token", "Token de reînnoire invalid"))
	h := strings.TrimSpace(c.r.Header.Get("Token"))
	var rt string
	if scheme, rest, ok := strings.Cut(h, " "); ok && strings.EqualFold(scheme, "Refresh") {
		rt = strings.TrimSpace(rest)
	} else if h != "" {
		body, ok := s.readBody(c.r)
		if !ok {
			return s.tooLarge(famCasco)
		}
		var in struct {
			RefreshToken string `json:"refresh_token"`
		}
		if json.Unmarshal(body, &in) == nil {
			rt = in.RefreshToken
		}
	}
	if rt == "" {
		return invalid
	}
	cs := s.casco
	cs.mu.Lock()
	defer cs.mu.Unlock()
	cs.prune(c.now)
	sess := cs.refresh[hashToken(rt)]
	if sess == nil || sess.revoked || !c.now.Before(sess.refreshExp) {
		return invalid
	}
	acct, _ := s.cascoAccount(sess.account)
	out, err := s.issueCascoTokens(sess, acct.Name, c.now)
	if err != nil {
		return cascoError(http.StatusInternalServerError, "Internal server error.")
	}
	return cascoOK(out)
}

// handleCascoDeauth serves DELETE /casco/auth (C3): the session of the
// token ends, [DESIGN] with every access token it issued and its refresh
// token.
func (s *Sandbox) handleCascoDeauth(c *call) reply {
	sess, rep, ok := s.cascoAuthorize(c)
	if !ok {
		return rep
	}
	cs := s.casco
	cs.mu.Lock()
	defer cs.mu.Unlock()
	sess.revoked = true
	delete(cs.refresh, sess.refreshHash)
	for jti, a := range cs.access {
		if a.sid == sess.id {
			delete(cs.access, jti)
		}
	}
	return cascoOK([]any{})
}

// cascoAuthorize checks the Token header of every call but C1 and C2:
// exactly "Token: <JWT>" (no "Bearer", no Authorization header), HS256
// with this sandbox's key, not expired by the sandbox's clock, not revoked.
func (s *Sandbox) cascoAuthorize(c *call) (*cascoSession, reply, bool) {
	raw := strings.TrimSpace(c.r.Header.Get("Token"))
	if raw == "" || strings.Count(raw, ".") != 2 || strings.ContainsAny(raw, " \t") {
		return nil, cascoUnauthorized(), false
	}
	cs := s.casco
	var claims cascoClaims
	_, err := jwt.ParseWithClaims(raw, &claims, func(*jwt.Token) (any, error) { return cs.secret, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithTimeFunc(func() time.Time { return c.now }),
		jwt.WithExpirationRequired(),
		jwt.WithIssuer(cascoIssuer),
	)
	if err != nil {
		return nil, cascoUnauthorized(), false
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	a := cs.access[claims.ID]
	sess := cs.sessions[claims.SessionID]
	if a == nil || a.expired || !c.now.Before(a.exp) || a.sid != claims.SessionID || sess == nil || sess.revoked || sess.account != claims.Subject {
		return nil, cascoUnauthorized(), false
	}
	return sess, reply{}, true
}

// sameSecret compares a password in constant time over fixed-size
// digests, so that neither its length nor a prefix leaks through timing.
func sameSecret(a, b string) bool {
	ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}
