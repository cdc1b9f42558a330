package sandbox

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// jw appends JSON by hand: field order follows the upstream samples, absent
// (withheld) and null fields are distinct, and a 100-item page costs no
// reflection.
type jw struct {
	b     []byte
	first []bool
}

func newJW(n int) *jw { return &jw{b: make([]byte, 0, n), first: make([]bool, 0, 8)} }

func (w *jw) open(c byte) { w.b = append(w.b, c); w.first = append(w.first, true) }
func (w *jw) close(c byte) {
	w.b = append(w.b, c)
	w.first = w.first[:len(w.first)-1]
}
func (w *jw) sep() {
	i := len(w.first) - 1
	if w.first[i] {
		w.first[i] = false
		return
	}
	w.b = append(w.b, ',')
}
func (w *jw) key(k string)    { w.sep(); w.b = appendJSONString(w.b, k); w.b = append(w.b, ':') }
func (w *jw) str(k, v string) { w.key(k); w.b = appendJSONString(w.b, v) }
func (w *jw) strOrNull(k, v string) {
	if v == "" {
		w.null(k)
		return
	}
	w.str(k, v)
}
func (w *jw) int(k string, v int64) { w.key(k); w.b = strconv.AppendInt(w.b, v, 10) }
func (w *jw) float(k string, v float64) {
	w.key(k)
	w.b = strconv.AppendFloat(w.b, v, 'f', -1, 64)
}
func (w *jw) bool(k string, v bool) { w.key(k); w.b = strconv.AppendBool(w.b, v) }
func (w *jw) null(k string)         { w.key(k); w.b = append(w.b, "null"...) }
func (w *jw) raw(k string, v []byte) {
	w.key(k)
	w.b = append(w.b, v...)
}
func (w *jw) obj(k string) { w.key(k); w.open('{') }
func (w *jw) arr(k string) { w.key(k); w.open('[') }
func (w *jw) elemObj()     { w.sep(); w.open('{') }

const isoLayout = "2006-01-02T15:04:05-07:00"

// time writes an instant in loc (UTC gives "+00:00", as upstream does);
// zero is null.
func (w *jw) time(k string, unix int64, loc *time.Location) {
	if unix == 0 {
		w.null(k)
		return
	}
	w.key(k)
	w.b = append(w.b, '"')
	w.b = time.Unix(unix, 0).In(loc).AppendFormat(w.b, isoLayout)
	w.b = append(w.b, '"')
}

func appendJSONString(b []byte, s string) []byte {
	const hexd = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexd[c>>4], hexd[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexd[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// Representation kinds cached per policy.
const (
	kindV2Secret = iota
	kindV2Public
	kindV1Secret
	kindV1Public
	numKinds
)

// encRingSize bounds how many policies keep encoded JSON, so that paging
// through 200,000 policies does not keep 200,000 encodings alive.
const encRingSize = 16384

type encCache struct {
	base    string
	bucket  int64
	expired bool
	b       [numKinds][]byte
}

// policyJSON returns the cached encoding, rebuilding it when the base URL,
// the signing bucket or the expiry flag changed. Callers hold s.mu.
func (s *Sandbox) policyJSON(p *policy, kind int, base string, now time.Time) []byte {
	bucket := s.bucket(now)
	exp := p.expired(now)
	e := p.enc
	if e == nil || e.base != base || e.bucket != bucket || e.expired != exp {
		if e == nil {
			s.remember(p)
		}
		e = &encCache{base: base, bucket: bucket, expired: exp}
		p.enc = e
	}
	if e.b[kind] == nil {
		switch kind {
		case kindV2Secret, kindV2Public:
			e.b[kind] = s.encodeV2(p, base, bucket, exp, kind == kindV2Public)
		default:
			e.b[kind] = s.encodeV1(p, kind == kindV1Public)
		}
	}
	return e.b[kind]
}

func (s *Sandbox) remember(p *policy) {
	if len(s.ring) < encRingSize {
		s.ring = append(s.ring, p)
		return
	}
	s.ring[s.ringNext].enc = nil
	s.ring[s.ringNext] = p
	s.ringNext = (s.ringNext + 1) % encRingSize
}

// bucket numbers the signing window: URLs made in one bucket share their
// expiry, so cached JSON stays byte-identical and valid for at least TTL/2.
func (s *Sandbox) bucket(now time.Time) int64 {
	half := int64(s.opts.AssetURLTTL / time.Second / 2)
	return now.Unix() / half
}

func (s *Sandbox) bucketExpiry(bucket int64) int64 {
	half := int64(s.opts.AssetURLTTL / time.Second / 2)
	return (bucket + 2) * half
}

func (s *Sandbox) sign(path string, expires int64) string {
	m := hmac.New(sha256.New, s.secret)
	m.Write([]byte(path))
	m.Write([]byte{'\n'})
	m.Write(strconv.AppendInt(nil, expires, 10))
	return hex.EncodeToString(m.Sum(nil))
}

func (s *Sandbox) signedURL(base, path string, bucket int64) string {
	exp := s.bucketExpiry(bucket)
	return base + path + "?expires=" + strconv.FormatInt(exp, 10) + "&signature=" + s.sign(path, exp)
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

type assetDef struct {
	bit         uint8
	designation string
	name        string
	title       string
}

var assetDefs = [...]assetDef{
	{assetPolicyDoc, "policy_document", "Policydoc", "Policy document"},
	{assetInvoice, "invoice", "Invoice", "Invoice"},
	{assetTerms, "terms_and_conditions", "Terms", "Terms and conditions"},
	{assetOffer, "offer", "Offer", "Offer"},
}

func assetFile(a assetDef, p *policy) string { return a.name + "-" + p.insurerID + ".pdf" }

func mediaID(p *policy, i int) string { return hexID("med_", 32, p.id, "media", strconv.Itoa(i)) }

func mediaFile(i int) string { return "scan-" + strconv.Itoa(i+1) + ".pdf" }

func companyName(p *policy) string {
	names := [...]string{"Alpenblick Treuhand AG", "Zürcher Datenwerk GmbH", "Müller & Söhne AG", "Baltijas Loģistika SIA", "Nordlicht Handels GmbH", "Transilvania Soft SRL", "Lakeside Analytics Ltd"}
	return names[p.bits%uint32(len(names))]
}

func (s *Sandbox) writeData(w *jw, p *policy) {
	if p.dataRaw != nil {
		w.raw("data", p.dataRaw)
		return
	}
	pr := &s.prods[p.product]
	b := p.bits
	w.obj("data")
	if p.flags&flagCompany != 0 {
		w.str("company_name", companyName(p))
		reg := time.Unix(p.createdAt, 0).AddDate(-1-int(b%15), 0, 0)
		w.str("company_registered_date", reg.Format("2006-01-02"))
		w.int("subsidiary", int64(b>>4%20))
	}
	switch p.product {
	case prodHome:
		streets := [...]string{"Brīvības iela", "Krišjāņa Valdemāra iela", "Elizabetes iela", "Ģertrūdes iela", "Lāčplēša iela"}
		cities := [...]string{"Rīga", "Jūrmala", "Liepāja", "Daugavpils"}
		w.str("street", streets[b%5])
		w.str("house_number", strconv.Itoa(int(b>>3%120)+1))
		w.str("postcode", "LV-"+strconv.Itoa(1001+int(b>>5%900)))
		w.str("city", cities[b>>9%4])
		w.str("phone_number", "+3712"+strconv.Itoa(1000000+int(b>>2%8999999)))
	case prodBike, prodAS24:
		streets := [...]string{"Hauptstraße", "Schloßallee", "Königstraße", "Gartenweg", "Mühlenstraße"}
		cities := [...]string{"Berlin", "München", "Köln", "Düsseldorf", "Nürnberg"}
		w.str("street", streets[b%5])
		w.str("house_number", strconv.Itoa(int(b>>3%120)+1))
		w.str("postcode", strconv.Itoa(10115+int(b>>5%80000)))
		w.str("city", cities[b>>9%5])
		w.str("phone_number", "+4917"+strconv.Itoa(10000000+int(b>>2%89999999)))
		if p.product == prodAS24 {
			w.str("vin", "WVWZZZ1KZ8W"+strconv.Itoa(100000+int(b%899999)))
			w.str("start_date", time.Unix(p.startDate, 0).In(pr.zone).Format("2006-01-02"))
		} else {
			w.str("frame_number", "WBK"+strconv.Itoa(1000000+int(b%8999999)))
		}
	case prodCyber:
		streets := [...]string{"Tellplatz", "Bahnhofstrasse", "Limmatquai", "Rämistrasse"}
		w.str("street", streets[b%4])
		w.str("house_number", strconv.Itoa(int(b>>3%90)+1))
		w.str("postcode", strconv.Itoa(4000+int(b>>5%4000)))
		w.str("city", [...]string{"Basel", "Zürich", "Genève", "Luzern"}[b>>9%4])
		w.str("phone_number", "+4144"+strconv.Itoa(1000000+int(b>>2%8999999)))
	case prodTravel:
		streets := [...]string{"Strada Mihai Eminescu", "Bulevardul Ștefan cel Mare", "Strada Horea", "Calea Victoriei"}
		cities := [...]string{"București", "Cluj-Napoca", "Iași", "Timișoara", "Brașov"}
		w.str("street", streets[b%4])
		w.str("house_number", strconv.Itoa(int(b>>3%90)+1))
		w.str("postcode", strconv.Itoa(100000+int(b>>5%800000)))
		w.str("city", cities[b>>9%5])
		w.str("phone_number", "+407"+strconv.Itoa(10000000+int(b>>2%89999999)))
	}
	w.bool("optins", b>>12%2 == 0)
	w.key("payment_metadata")
	w.b = append(w.b, "[]"...)
	w.close('}')
}

func (s *Sandbox) writeCustomerInput(w *jw, p *policy) {
	pr := &s.prods[p.product]
	b := p.bits
	start := time.Unix(p.startDate, 0).In(pr.zone).Format("2006-01-02")
	w.obj("customer_input")
	switch p.product {
	case prodHome:
		w.int("insured_sum", int64(1+b%30)*500000)
		w.int("flat_size_sqm", int64(30+b>>4%150))
		w.str("building_type", [...]string{"apartment", "house"}[b>>8%2])
	case prodBike:
		w.int("bike_value", int64(50000+b%450000))
		w.str("bike_type", [...]string{"city", "e-bike", "mountain", "road"}[b>>6%4])
	case prodCyber:
		w.int("employee_number", int64(1+b%250))
		w.int("yearly_turnover", int64(1+b>>3%50)*100000)
		w.str("company_backup", [...]string{"never", "weekly", "daily"}[b>>9%3])
		w.bool("encryption", b>>11%2 == 0)
		w.int("deductible", 100000)
		w.int("insured_sum", 10000000)
		w.str("online_revenue_percentage", "0_25")
		w.bool("third_party_coverage", b>>12%2 == 0)
	case prodTravel:
		w.str("destination", [...]string{"Grecia", "Italia", "Turcia", "Spania", "Bulgaria"}[b%5])
		w.int("travellers", int64(1+b>>4%5))
	case prodAS24:
		w.str("vin", "WVWZZZ1KZ8W"+strconv.Itoa(100000+int(b%899999)))
	}
	w.str("policy_start_date", start)
	w.close('}')
}

func (s *Sandbox) writeMetadata(w *jw, p *policy) {
	if p.metaRaw != nil {
		w.raw("metadata", p.metaRaw)
		return
	}
	w.obj("metadata")
	if p.flags&flagMetadata != 0 {
		w.str("crm_id", "CRM-"+strconv.Itoa(int(p.bits%900000)+100000))
		w.str("campaign", [...]string{"spring-sale", "newsletter-q3", "partner-portal"}[p.bits>>3%3])
	}
	w.close('}')
}

// encodeV2 builds the v2 policy object: the union of the contract's two
// samples. Public keys get the withheld fields left out entirely.
func (s *Sandbox) encodeV2(p *policy, base string, bucket int64, expired, public bool) []byte {
	pr := &s.prods[p.product]
	st := s.scopes[p.scope]
	utc := time.UTC
	net, tax, gross := p.gross(s.prods)
	w := newJW(3072)
	w.open('{')
	w.str("id", p.id)
	w.str("version_id", p.versionID)
	w.str("distributor_id", st.distributorID)
	w.strOrNull("insurer_id", pr.insurerID)
	w.str("touchpoint_id", pr.touchpoint)
	w.str("item_id", pr.item)
	w.str("product_id", pr.productID)
	w.str("product_version_id", pr.productVersion)
	w.str("integration_version_id", pr.integrationVersion)
	w.str("subscription_plan_id", pr.subscriptionPlan)
	w.str("customer_id", hexID("tcu_", 32, p.id, "customer"))
	w.str("insurer_policy_id", p.insurerID)
	if p.flags&flagExternalID != 0 {
		w.str("insurer_external_policy_id", "EXT-"+strconv.Itoa(int(p.bits%9000000)+1000000))
	} else {
		w.null("insurer_external_policy_id")
	}
	if !public {
		w.str("distributor_key", st.publicKey)
	}
	w.str("first_name", p.firstName)
	w.str("last_name", p.lastName)
	if !public {
		w.str("email", p.email)
	}
	w.bool("expired", expired)
	w.str("currency", pr.currency)
	w.str("language", p.language)
	w.str("flow", "default")
	w.str("status", p.status)
	created := p.acceptedAt
	if created == 0 {
		created = p.createdAt
	}
	w.time("policy_created_date", created, utc)
	w.time("start_date", p.startDate, utc)
	w.time("end_date", p.endDate, utc)
	w.time("termination_date", p.terminationDate, utc)
	w.time("created_at", p.createdAt, utc)
	w.time("accepted_at", p.acceptedAt, utc)
	if !public {
		s.writeData(w, p)
	}

	w.obj("quote")
	w.int("version", 2)
	if !public {
		s.writeCustomerInput(w, p)
	}
	w.str("subscription_plan_id", pr.subscriptionPlan)
	w.int("gross_payment_amount", gross)
	w.obj("payment_data")
	commission := net * 15 / 100
	w.int("gross_premium", gross)
	w.int("premium_tax", tax)
	w.int("net_premium", net)
	w.int("net_net_premium", net-commission)
	w.int("net_commission_total", commission)
	w.float("tax_rate", float64(pr.taxBP)/10000)
	w.close('}')
	w.obj("data")
	w.int("total_gross_premium", gross)
	w.int("total_premium_tax", tax)
	w.int("total_net_premium", net)
	ls := time.Unix(p.startDate, 0).In(pr.zone)
	// Upstream writes this date without zero-padding the month.
	w.str("start_date", strconv.Itoa(ls.Year())+"-"+strconv.Itoa(int(ls.Month()))+"-"+ls.Format("02"))
	w.close('}')
	if p.endDate != 0 {
		w.str("duration_strategy", "fixed_start_and_end_date")
	} else {
		w.str("duration_strategy", "fixed_start")
	}
	w.obj("duration_data")
	w.time("policy_start_date", p.startDate, utc)
	if p.endDate != 0 {
		w.time("policy_end_date", p.endDate, utc)
	}
	w.close('}')
	w.int("billing_cycles", int64(pr.billingCycles))
	w.time("issue_date", p.createdAt-4, utc)
	w.bool("livemode", st.live)
	w.str("pricing_logic_id", pr.pricingLogic)
	w.str("pricing_logic_revision_id", pr.pricingLogicRev)
	if !public {
		w.key("insurer_private_data")
		w.b = append(w.b, "[]"...)
	}
	w.str("integration_id", pr.touchpoint)
	w.str("integration_version_id", pr.integrationVersion)
	w.str("product_version_id", pr.productVersion)
	w.str("item_id", pr.item)
	w.close('}')

	if !public {
		s.writeMetadata(w, p)
	}
	w.strOrNull("cancellation_reason", p.cancelReason)
	w.str("cancelled_by", p.cancelledBy)
	w.time("cancelled_at", p.cancelledAt, utc)
	if !public {
		if p.flags&flagReferrer != 0 {
			w.str("referrer_url", "https://www.nordlicht-direct.example/versicherung/"+strings.ToLower(pr.code))
			w.str("whitelisted_referrer_url", "https://www.nordlicht-direct.example")
		} else {
			w.null("referrer_url")
			w.null("whitelisted_referrer_url")
		}
		if p.flags&flagTraffic != 0 {
			w.str("distributor_traffic_source", [...]string{"google_ads", "newsletter", "comparison_portal"}[p.bits>>14%3])
		} else {
			w.null("distributor_traffic_source")
		}
		if p.status == statusPending {
			w.str("payment_token", hexID("ptok_", 40, p.id, "payment"))
		} else {
			w.null("payment_token")
		}
	}
	if p.flags&flagLinked != 0 {
		w.str("linked_policy_id", hexID(p.id[:5], 33, p.id, "linked"))
	} else {
		w.null("linked_policy_id")
	}
	if p.flags&flagSalesLead != 0 {
		w.str("sales_lead_id", hexID("sl_", 32, p.id, "lead"))
	} else {
		w.null("sales_lead_id")
	}

	attached := p.acceptedAt
	if attached == 0 {
		attached = p.createdAt
	}
	w.arr("assets")
	for _, a := range assetDefs {
		if p.assets&a.bit == 0 {
			continue
		}
		u := s.signedURL(base, AssetPrefix+"/policies/"+p.id+"/"+a.designation+"/"+assetFile(a, p), bucket)
		w.elemObj()
		w.str("designation", a.designation)
		w.str("name", a.name)
		w.str("extension", "pdf")
		w.str("url", u)
		w.str("href", u)
		w.time("attachment_date", attached+5, utc)
		w.null("version")
		w.close('}')
	}
	w.close(']')
	w.arr("media")
	for i := range int(p.media) {
		mid := mediaID(p, i)
		w.elemObj()
		w.str("id", mid)
		w.str("designation", "id_scan")
		w.str("name", "Scan "+strconv.Itoa(i+1))
		w.str("mime_type", "application/pdf")
		w.int("file_size", int64(40000+p.bits%50000))
		w.str("url", s.signedURL(base, AssetPrefix+"/media/"+p.id+"/"+mid+"/"+mediaFile(i), bucket))
		w.time("created_at", p.createdAt+20, utc)
		w.close('}')
	}
	w.close(']')
	w.bool("is_locked", p.op != nil)
	w.bool("contains_sensitive_data", p.flags&flagSensitive != 0)
	w.bool("is_version_assembled", true)
	w.obj("localized_dates")
	w.time("start_date", p.startDate, pr.zone)
	w.time("end_date", p.endDate, pr.zone)
	w.time("termination_date", p.terminationDate, pr.zone)
	w.time("policy_created_date", created, pr.zone)
	w.str("time_zone", pr.zoneName)
	w.close('}')
	api := base + KaskoPrefix
	w.obj("_links")
	w.obj("_self")
	w.str("href", api+"/policies/"+p.id)
	w.close('}')
	w.obj("distributor")
	w.str("href", api+"/accounts/"+st.distributorID)
	w.close('}')
	w.obj("item")
	w.str("href", api+"/items/"+pr.item)
	w.close('}')
	w.obj("touchpoint")
	w.str("href", api+"/touchpoints/"+pr.touchpoint)
	w.close('}')
	if pr.insurerID != "" {
		w.obj("insurer")
		w.str("href", api+"/accounts/"+pr.insurerID)
		w.close('}')
	}
	w.close('}')
	w.close('}')
	return w.b
}

const v1Layout = "2006-01-02 15:04:05-07:00"

// encodeV1 builds the flat 2015 item.
func (s *Sandbox) encodeV1(p *policy, public bool) []byte {
	pr := &s.prods[p.product]
	_, _, gross := p.gross(s.prods)
	w := newJW(640)
	w.open('{')
	w.str("object", "policy")
	w.str("insurer_policy_id", p.insurerID)
	w.str("insurer_product_name", pr.name)
	w.int("insurer_variant_id", int64(pr.v1VariantID))
	w.int("kasko_product_id", int64(pr.v1ProductID))
	w.int("kasko_variant_id", int64(pr.v1VariantID))
	w.str("first_name", p.firstName)
	w.str("last_name", p.lastName)
	if !public {
		w.str("email", p.email)
	}
	v1t := func(k string, unix int64) {
		if unix == 0 {
			w.null(k)
			return
		}
		w.str(k, time.Unix(unix, 0).In(pr.zone).Format(v1Layout))
	}
	v1t("created_date", p.createdAt)
	if p.endDate != 0 {
		days := (p.endDate + 1 - p.startDate + 3600) / 86400
		w.int("cover_duration_days", days)
	} else {
		w.null("cover_duration_days")
	}
	v1t("cover_start_date", p.startDate)
	v1t("cover_end_date", p.endDate)
	w.str("currency", strings.ToUpper(pr.currency))
	w.int("price", gross)
	w.int("gross_premium", gross)
	w.close('}')
	return w.b
}
