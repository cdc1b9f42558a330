package sandbox

import (
	"encoding/hex"
	"fmt"
	mrand "math/rand/v2"
	"strings"
	"time"
)

// Demo distributors and their keys (documented in the README).
const (
	DistributorAID   = "zDKx5dRWea8wv2Yr1pq3LbBGNM9rAPXZ"
	DistributorAName = "Nordlicht Direct"
	DistributorBID   = "8aRUhR4IWrXPvhsBkDa9U4UqGWlG6g3O"
	DistributorBName = "Alpenrose Makler"

	KeyASecretTest = "sk_test_OhbVrpoiVgRV5IfLBcbfnoGMbJmTPSIA"
	KeyAPublicTest = "pk_test_oCLrZ3aWZkSBvrjn9Wvgfygw2wMqZcUD"
	KeyASecretLive = "sk_live_Ih7yfJs1ON43xKmTecQoXsf2o3gyrDO1"
	KeyAPublicLive = "pk_live_xkxwnQrS7RPeMOkIUpkDyr7OSJoRu1XX"
	KeyBSecretTest = "sk_test_do0cZuzren68K4TunPFz46PDjqipVJIq"
	KeyBPublicTest = "pk_test_VLB5LzxoiGFfWd3hjOkYRBMeyyMDHqJ3"

	// Webhook signing secrets, one per scope (distributor and mode): every
	// endpoint registered with a scope's secret key signs with it.
	WebhookSecretATest = "whsec_9mvRoGOt0M0NzV2GGQRolx3eseuwIeDb"
	WebhookSecretALive = "whsec_1n42Qwg8ytERU7hUZOjaVGR0w9lPFsgD"
	WebhookSecretBTest = "whsec_Hy6qLPaVZJlwhwxRQMYjgI6Hx86y3oYd"
)

// Fixture ids, present for every seed (see the package doc).
const (
	FixturePolicyID           = "tpol_3a1d4c1e1d58fd04ad6b0de1b50c"
	FixtureVersionID          = "tpv_f9e793a24197f7bf8284d9b061a89"
	FixtureInsurerPolicyID    = "TEST-TESTE76R4R7D"
	FixtureCancelledID        = "tpol_c9a7e2b41f0d63c85e1a2b7d4f90"
	FixtureCancelledInsurerID = "TEST-BIKE-4XC7N2QR"
	FixtureExpiredID          = "tpol_e8d1f40b7a2c95e36d0b1c8a7f42"
	FixtureExpiredInsurerID   = "TEST-TRAVEL-9RX2K7WM"
	FixtureLiveID             = "lpol_5b2e9c7d1a4f08e63b9d2c1a0e7f"
	FixtureLiveInsurerID      = "HOME-2M7Q9K4X"
	FixtureOtherDistributorID = "tpol_8f3b1d6e2c9a47f05e1d3b8c6a2d"
	// ARAGVariantID is the only variant the push API knows.
	ARAGVariantID = "d2va8Owp4WRnkbMpEWDAmVoN1JejB5GE"
)

// SortableFields lists the sort keys of GET /kasko/policies (created_date is
// accepted as an alias of created_at).
func SortableFields() []string {
	return []string{"created_at", "insurer_policy_id", "last_name", "email", "status", "start_date", "end_date", "gross_premium"}
}

// Policy statuses.
const (
	statusPending   = "pending"
	statusAccepted  = "accepted"
	statusPaid      = "paid"
	statusCancelled = "cancelled"
)

type keyInfo struct {
	cred   Credential
	scope  int
	public bool
}

// Scopes: a key sees exactly one (distributor, mode) pair.
const (
	scopeATest = iota
	scopeALive
	scopeBTest
	numScopes
)

type scopeState struct {
	distributorID   string
	distributorName string
	publicKey       string // goes into each policy's distributor_key
	webhookSecret   string
	live            bool
	policies        []*policy
	sorted          map[string][]*policy // by normalized sort spec; nil after a mutation
}

func demoKeys() (map[string]keyInfo, []Credential) {
	creds := []Credential{
		{KeyASecretTest, "secret", "test", DistributorAID, DistributorAName},
		{KeyAPublicTest, "public", "test", DistributorAID, DistributorAName},
		{KeyASecretLive, "secret", "live", DistributorAID, DistributorAName},
		{KeyAPublicLive, "public", "live", DistributorAID, DistributorAName},
		{KeyBSecretTest, "secret", "test", DistributorBID, DistributorBName},
		{KeyBPublicTest, "public", "test", DistributorBID, DistributorBName},
	}
	scopes := []int{scopeATest, scopeATest, scopeALive, scopeALive, scopeBTest, scopeBTest}
	keys := make(map[string]keyInfo, len(creds))
	for i, c := range creds {
		keys[c.Key] = keyInfo{cred: c, scope: scopes[i], public: c.Kind == "public"}
	}
	return keys, creds
}

type product struct {
	code, name    string
	languages     []string
	zoneName      string
	zone          *time.Location
	currency      string
	taxBP         int64 // premium tax in basis points
	netMin        int64 // minor units
	netMax        int64
	termDays      int // 0 = open-ended subscription, -1 = short trip
	insurerID     string
	billingCycles int
	v1ProductID   int
	v1VariantID   int
	// Upstream ids of the product's configuration.
	touchpoint, item, productID, productVersion, integrationVersion string
	subscriptionPlan, pricingLogic, pricingLogicRev                 string
}

const (
	prodHome = iota
	prodBike
	prodCyber
	prodTravel
	prodAS24
)

func hexID(prefix string, total int, parts ...string) string {
	h := sha256Hex(strings.Join(parts, "/"))
	return prefix + h[:total-len(prefix)]
}

func buildProducts(seed int64) ([]product, error) {
	ps := []product{
		{code: "HOME", name: "Home Contents Insurance", languages: []string{"lv"}, zoneName: "Europe/Riga", currency: "eur",
			taxBP: 1000, netMin: 4000, netMax: 40000, termDays: 0, insurerID: "6V05nRPO1KLazbpx7KyJmxoW8NM7Evdk", billingCycles: 12, v1ProductID: 11, v1VariantID: 111},
		{code: "BIKE", name: "Bike Theft Protection", languages: []string{"de"}, zoneName: "Europe/Berlin", currency: "eur",
			taxBP: 1900, netMin: 3000, netMax: 25000, termDays: 365, insurerID: "Q7mWz2KpL9xR4tNc8VbY3dHs6JfG1aEu", billingCycles: 1, v1ProductID: 12, v1VariantID: 121},
		{code: "CYBER", name: "Cyber Insurance SME", languages: []string{"en", "de"}, zoneName: "Europe/Zurich", currency: "chf",
			taxBP: 500, netMin: 80000, netMax: 600000, termDays: 0, insurerID: "H3kT9wQz5LmN2pVx7RcB4yJd8FgS6aEo", billingCycles: 1, v1ProductID: 13, v1VariantID: 131},
		{code: "TRAVEL", name: "Travel Medical Insurance", languages: []string{"ro"}, zoneName: "Europe/Bucharest", currency: "ron",
			taxBP: 0, netMin: 2500, netMax: 30000, termDays: -1, insurerID: "", billingCycles: 1, v1ProductID: 14, v1VariantID: 141},
		{code: "AS24", name: "ARAG AS24", languages: []string{"de"}, zoneName: "Europe/Berlin", currency: "eur",
			taxBP: 1900, netMin: 6000, netMax: 20000, termDays: 0, insurerID: "A7gR4sT2uV9wX1yZ3bC5dE6fG8hJ0kLm", billingCycles: 12, v1ProductID: 15, v1VariantID: 151},
	}
	for i := range ps {
		p := &ps[i]
		loc, err := time.LoadLocation(p.zoneName)
		if err != nil {
			return nil, fmt.Errorf("sandbox: zone %s: %w", p.zoneName, err)
		}
		p.zone = loc
		k := fmt.Sprint(seed, "/", p.code)
		p.touchpoint = hexID("in_", 32, k, "touchpoint")
		p.item = hexID("ins_", 32, k, "item")
		p.productID = hexID("pr_", 32, k, "product")
		p.productVersion = hexID("prv_", 32, k, "product-version")
		p.integrationVersion = hexID("inv_", 32, k, "integration-version")
		p.subscriptionPlan = hexID("pp_", 32, k, "plan")
		p.pricingLogic = hexID("pl_", 32, k, "pricing")
		p.pricingLogicRev = hexID("plr_", 32, k, "pricing-rev")
	}
	return ps, nil
}

// policy is one policy, kept compact: strings shared with the name pools,
// times in unix seconds (0 = null), JSON built on demand.
type policy struct {
	id, versionID, insurerID   string
	firstName, lastName, email string
	status                     string
	scope                      uint8
	product                    uint8
	language                   string
	createdAt, acceptedAt      int64
	startDate, endDate         int64
	net                        int64
	bits                       uint32 // deterministic per-policy detail (addresses, flags)
	flags                      uint16
	assets                     uint8 // asset designation bitmask
	media                      uint8 // number of uploaded scans
	lastModified               int64

	cancelReason    string
	cancelledBy     string
	cancelledAt     int64
	terminationDate int64

	dataRaw []byte // custom data object (push); nil = generated
	metaRaw []byte // custom metadata object (push); nil = generated

	op  *operation   // modification in progress
	ops []*operation // every modification, for the status endpoint
	enc *encCache
}

const (
	flagCompany = 1 << iota
	flagSensitive
	flagReferrer
	flagTraffic
	flagMetadata
	flagExternalID
	flagLinked
	flagSalesLead
)

const (
	assetPolicyDoc = 1 << iota
	assetInvoice
	assetTerms
	assetOffer
)

func (p *policy) gross(ps []product) (net, tax, gross int64) {
	pr := &ps[p.product]
	tax = p.net * pr.taxBP / 10000
	return p.net, tax, p.net + tax
}

func (p *policy) expired(now time.Time) bool {
	return p.endDate != 0 && now.Unix() > p.endDate
}

// operation is an asynchronous modification (only cancel exists).
type operation struct {
	versionID   string
	action      string
	initiatedAt time.Time
	dueAt       time.Time
	fail        bool
	done        bool
	failed      bool
	errMsg      string
	reason      string
	termination int64
}

// namePools gives realistic names per language, with the letters the
// documents must render.
func namePools(lang string) (first, last []string) {
	switch lang {
	case "lv":
		return []string{"Jānis", "Andris", "Kārlis", "Mārtiņš", "Edgars", "Ilze", "Līga", "Inese", "Dace", "Kristīne", "Zane", "Ēriks", "Rūta", "Ģirts", "Aļona"},
			[]string{"Bērziņš", "Kalniņš", "Ozoliņš", "Liepiņš", "Jansons", "Krūmiņš", "Zariņš", "Pētersons", "Vītols", "Ozola", "Šmits", "Žagars", "Ķēniņš", "Ļaviņa", "Puķīte"}
	case "de":
		return []string{"Jürgen", "Günther", "Jörg", "Sören", "Käthe", "Björn", "Lena", "Anna", "Max", "Lukas", "Sophie", "Jürgen", "Uwe", "Hannah", "Maximilian"},
			[]string{"Weiß", "Müller", "Schäfer", "Groß", "Köhler", "Böhm", "Schröder", "Fußmann", "Hoffmann", "Krüger", "Bäcker", "Strauß", "Jäger", "Schulze", "Öztürk"}
	case "ro":
		return []string{"Ștefan", "Andrei", "Mihai", "Ioana", "Ana-Maria", "Răzvan", "Cătălina", "Bogdan", "Elena", "Tudor", "Irina", "Alexandru", "Ionuț", "Oana", "Florin"},
			[]string{"Țurcanu", "Popescu", "Ionescu", "Dumitrescu", "Stănescu", "Munteanu", "Bălan", "Constantinescu", "Târziu", "Niță", "Șerban", "Mureșan", "Grădinaru", "Vlăduț", "Preda"}
	default:
		return []string{"Oliver", "Amelia", "Harry", "Isla", "Jack", "Emily", "George", "Sophie", "Noah", "Grace", "Chloé", "Liam"},
			[]string{"Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Evans", "Thomas", "Johnson", "Roberts", "O'Neill", "Brontë"}
	}
}

// fold turns a name into the ASCII an e-mail local part would use.
func fold(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch r {
		case 'ā', 'ă', 'â', 'á', 'à':
			b.WriteByte('a')
		case 'ä':
			b.WriteString("ae")
		case 'ö':
			b.WriteString("oe")
		case 'ü':
			b.WriteString("ue")
		case 'ß':
			b.WriteString("ss")
		case 'ē', 'é', 'è', 'ë':
			b.WriteByte('e')
		case 'ī', 'î', 'í':
			b.WriteByte('i')
		case 'ū', 'ú':
			b.WriteByte('u')
		case 'ō', 'ó':
			b.WriteByte('o')
		case 'ķ':
			b.WriteByte('k')
		case 'ļ':
			b.WriteByte('l')
		case 'ņ':
			b.WriteByte('n')
		case 'š', 'ș', 'ş':
			b.WriteByte('s')
		case 'ț', 'ţ':
			b.WriteByte('t')
		case 'ž':
			b.WriteByte('z')
		case 'č':
			b.WriteByte('c')
		case 'ģ':
			b.WriteByte('g')
		default:
			if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
				b.WriteRune(r)
			} else if r == '-' {
				b.WriteByte('-')
			}
		}
	}
	return b.String()
}

const idAlphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"

func randHex(rng *mrand.Rand, n int) string {
	var buf [32]byte
	for i := 0; i < len(buf); i += 8 {
		v := rng.Uint64()
		for j := range 8 {
			buf[i+j] = byte(v >> (8 * j))
		}
	}
	return hex.EncodeToString(buf[:])[:n]
}

func randCode(rng *mrand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = idAlphabet[rng.IntN(len(idAlphabet))]
	}
	return string(b)
}

// startOfDayUTC is 00:00 UTC of t's UTC date: the default reference date,
// the same for every sandbox started that day and never after t.
func startOfDayUTC(t time.Time) time.Time {
	u := t.UTC()
	return time.Date(u.Year(), u.Month(), u.Day(), 0, 0, 0, 0, time.UTC)
}

// localMidnight is the start of the day of t in loc, as unix seconds.
func localMidnight(t time.Time, loc *time.Location) int64 {
	l := t.In(loc)
	return time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc).Unix()
}

func addDaysLocal(unix int64, days int, loc *time.Location) int64 {
	l := time.Unix(unix, 0).In(loc)
	return time.Date(l.Year(), l.Month(), l.Day()+days, 0, 0, 0, 0, loc).Unix()
}

var cancelReasons = [...]string{"Customer request", "Vehicle sold", "Duplicate policy", "Moved abroad", "Cheaper offer elsewhere", "Widerruf innerhalb der Frist"}

// seed fills the scopes deterministically from opts.Seed and
// opts.ReferenceDate: every generated time is the reference date minus or
// plus a random offset, so moving the reference date moves the whole history
// and changes nothing else (ids, names, statuses, premiums).
func (s *Sandbox) seed() error {
	prods, err := buildProducts(s.opts.Seed)
	if err != nil {
		return err
	}
	s.prods = prods
	n := s.opts.Policies
	live := 8
	nB := max(2, n*15/100-live)
	nA := n - live - nB
	s.scopes = []*scopeState{
		{distributorID: DistributorAID, distributorName: DistributorAName, publicKey: KeyAPublicTest, webhookSecret: WebhookSecretATest},
		{distributorID: DistributorAID, distributorName: DistributorAName, publicKey: KeyAPublicLive, webhookSecret: WebhookSecretALive, live: true},
		{distributorID: DistributorBID, distributorName: DistributorBName, publicKey: KeyBPublicTest, webhookSecret: WebhookSecretBTest},
	}
	s.byID = make(map[string]*policy, n+64)
	s.byInsurer = make(map[string]*policy, n+64)
	s.pending = make(map[*policy]struct{})
	s.ring = make([]*policy, 0, encRingSize)
	seed := uint64(s.opts.Seed)
	rng := mrand.New(mrand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	ref := s.opts.ReferenceDate
	// One backing array keeps 200,000 policies to a single allocation.
	all := make([]policy, n)
	k := 0
	for sc, count := range []int{nA, live, nB} {
		st := s.scopes[sc]
		st.policies = make([]*policy, 0, count+16)
		for i := range count {
			p := &all[k]
			k++
			s.genPolicy(rng, p, sc, i, ref)
			s.fixture(p, sc, i, ref)
			if err := s.index(p); err != nil {
				return err
			}
			st.policies = append(st.policies, p)
		}
	}
	return nil
}

func (s *Sandbox) index(p *policy) error {
	if _, dup := s.byID[p.id]; dup {
		return fmt.Errorf("sandbox: duplicate policy id %s", p.id)
	}
	if _, dup := s.byInsurer[p.insurerID]; dup {
		return fmt.Errorf("sandbox: duplicate insurer policy id %s", p.insurerID)
	}
	s.byID[p.id] = p
	s.byInsurer[p.insurerID] = p
	return nil
}

func pickProduct(r int) int {
	switch {
	case r < 30:
		return prodHome
	case r < 55:
		return prodBike
	case r < 70:
		return prodCyber
	case r < 90:
		return prodTravel
	default:
		return prodAS24
	}
}

func (s *Sandbox) genPolicy(rng *mrand.Rand, p *policy, sc, i int, ref time.Time) {
	live := s.scopes[sc].live
	pi := pickProduct(rng.IntN(100))
	pr := &s.prods[pi]
	p.scope = uint8(sc)
	p.product = uint8(pi)
	p.language = pr.languages[rng.IntN(len(pr.languages))]
	first, last := namePools(p.language)
	p.firstName = first[rng.IntN(len(first))]
	p.lastName = last[rng.IntN(len(last))]
	p.email = fmt.Sprintf("%s.%s.%d@example.com", fold(p.firstName), fold(p.lastName), sc*1000000+i)
	pfx, vpfx, ipfx := "tpol_", "tpv_", "TEST-"
	if live {
		pfx, vpfx, ipfx = "lpol_", "lpv_", ""
	}
	for range 16 {
		p.id = pfx + randHex(rng, 28)
		if _, dup := s.byID[p.id]; !dup {
			break
		}
	}
	p.versionID = vpfx + randHex(rng, 29)
	for range 16 {
		p.insurerID = ipfx + pr.code + "-" + randCode(rng, 8)
		if _, dup := s.byInsurer[p.insurerID]; !dup {
			break
		}
	}
	created := ref.Add(-time.Duration(rng.Int64N(3*365*86400)) * time.Second)
	p.createdAt = created.Unix()
	r := rng.IntN(100)
	switch {
	case r < 70:
		p.status = statusPaid
	case r < 80:
		p.status = statusAccepted
	case r < 88:
		p.status = statusPending
	default:
		p.status = statusCancelled
	}
	if p.status != statusPending {
		p.acceptedAt = p.createdAt + 30 + rng.Int64N(600)
	}
	p.startDate = addDaysLocal(p.createdAt, 1+rng.IntN(30), pr.zone)
	switch {
	case pr.termDays > 0:
		p.endDate = addDaysLocal(p.startDate, pr.termDays, pr.zone) - 1
	case pr.termDays < 0:
		p.endDate = addDaysLocal(p.startDate, 5+rng.IntN(26), pr.zone) - 1
	}
	step := int64(100)
	p.net = (pr.netMin + rng.Int64N(pr.netMax-pr.netMin)) / step * step
	p.bits = rng.Uint32()
	f := rng.Uint32()
	if pi == prodCyber || f%20 == 0 {
		p.flags |= flagCompany
	}
	if f>>5%33 == 0 {
		p.flags |= flagSensitive
	}
	if f>>10%5 < 2 {
		p.flags |= flagReferrer
	}
	if f>>13%10 < 3 {
		p.flags |= flagTraffic
	}
	if f>>17%5 == 0 {
		p.flags |= flagMetadata
	}
	if f>>20%10 == 0 {
		p.flags |= flagExternalID
	}
	if f>>24%50 == 0 {
		p.flags |= flagLinked
	}
	if f>>27%25 == 0 {
		p.flags |= flagSalesLead
	}
	if p.status == statusPending {
		if f%10 < 7 {
			p.assets = assetOffer
		}
	} else if f>>3%10 != 0 {
		p.assets = assetPolicyDoc | assetInvoice | assetTerms
	}
	if f>>7%10 == 0 {
		p.media = 1
	}
	p.lastModified = max(p.createdAt, p.acceptedAt)
	if p.status == statusCancelled {
		s.seedCancellation(rng, p, ref)
	}
}

func (s *Sandbox) seedCancellation(rng *mrand.Rand, p *policy, ref time.Time) {
	pr := &s.prods[p.product]
	p.status = statusCancelled
	at := p.acceptedAt + 3600 + rng.Int64N(200*86400)
	if at > ref.Unix() {
		at = ref.Unix() - rng.Int64N(86400)
	}
	if at <= p.acceptedAt {
		at = p.acceptedAt + 60
	}
	p.cancelledAt = at
	p.cancelReason = cancelReasons[rng.IntN(len(cancelReasons))]
	p.cancelledBy = s.scopes[p.scope].distributorID
	p.terminationDate = addDaysLocal(at, rng.IntN(30), pr.zone)
	p.lastModified = at
}

// fixture overrides the generated fields of the well-known policies; the
// random stream is consumed identically either way, so the rest of the data
// does not depend on the fixtures.
func (s *Sandbox) fixture(p *policy, sc, i int, ref time.Time) {
	set := func(pi int, lang, first, last string) {
		pr := &s.prods[pi]
		p.product = uint8(pi)
		p.language = lang
		p.firstName, p.lastName = first, last
		p.email = fmt.Sprintf("%s.%s@example.com", fold(first), fold(last))
		p.createdAt = ref.Add(-time.Duration(40+i) * 24 * time.Hour).Unix()
		p.acceptedAt = p.createdAt + 46
		p.startDate = addDaysLocal(p.createdAt, 4, pr.zone)
		p.endDate = 0
		p.status = statusPaid
		p.cancelReason, p.cancelledBy, p.cancelledAt, p.terminationDate = "", "", 0, 0
		p.assets = assetPolicyDoc | assetInvoice | assetTerms
		p.lastModified = p.acceptedAt
		p.flags &^= flagLinked | flagSalesLead | flagSensitive
	}
	switch {
	case sc == scopeATest && i == 0:
		set(prodHome, "lv", "Jānis", "Bērziņš")
		p.id, p.versionID, p.insurerID = FixturePolicyID, FixtureVersionID, FixtureInsurerPolicyID
		p.net = 250000
		p.media = 1
	case sc == scopeATest && i == 1:
		set(prodBike, "de", "Jürgen", "Weiß")
		pr := &s.prods[prodBike]
		p.id, p.insurerID = FixtureCancelledID, FixtureCancelledInsurerID
		p.endDate = addDaysLocal(p.startDate, pr.termDays, pr.zone) - 1
		p.status = statusCancelled
		p.cancelledAt = p.acceptedAt + 10*86400
		p.cancelReason = "Customer request"
		p.cancelledBy = DistributorAID
		p.terminationDate = addDaysLocal(p.cancelledAt, 1, pr.zone)
		p.lastModified = p.cancelledAt
	case sc == scopeATest && i == 2:
		set(prodTravel, "ro", "Ștefan", "Țurcanu")
		pr := &s.prods[prodTravel]
		p.id, p.insurerID = FixtureExpiredID, FixtureExpiredInsurerID
		p.createdAt = ref.Add(-400 * 24 * time.Hour).Unix()
		p.acceptedAt = p.createdAt + 120
		p.startDate = addDaysLocal(p.createdAt, 3, pr.zone)
		p.endDate = addDaysLocal(p.startDate, 14, pr.zone) - 1
		p.lastModified = p.acceptedAt
	case sc == scopeALive && i == 0:
		set(prodHome, "lv", "Līga", "Ozola")
		p.id, p.insurerID = FixtureLiveID, FixtureLiveInsurerID
	case sc == scopeBTest && i == 0:
		set(prodCyber, "de", "Käthe", "Müller")
		p.id, p.insurerID = FixtureOtherDistributorID, "TEST-CYBER-5HT8W3ZN"
		p.flags |= flagCompany
	}
}
