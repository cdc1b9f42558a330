package sandbox

import (
	"encoding/base64"
	"fmt"
	"math/big"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// cascoProvider is one insurer behind CascoApi with the sandbox's pricing
// parameters ([DESIGN]; README "Prices" documents them).
type cascoProvider struct {
	name       string   // provider.organization.businessName
	products   []string // accepted product.name values
	display    string   // the insurer's name on documents
	rateBP     int64    // annual base rate, basis points of the sum insured
	commission int64    // broker commission, percent
	maxAge     int64    // oldest vehicle accepted, years
	series     string   // policy series
	code       string   // providerOfferCode prefix
}

// cascoProviderTable: the v1.0.0 products of contract 3.1. groupama's
// product is "casco-leasing", but the seed's own sample sends "casco", so
// both are accepted.
func cascoProviderTable() []cascoProvider {
	return []cascoProvider{
		{"generali", []string{"casco"}, "Generali România Asigurare Reasigurare S.A.", 420, 12, 12, "GNR/CAS", "GNR"},
		{"groupama", []string{"casco-leasing", "casco"}, "Groupama Asigurări S.A.", 450, 12, 10, "GRP/CL", "GRP"},
		{"allianz", []string{"casco"}, "Allianz-Țiriac Asigurări S.A. (Allianz MyCar)", 400, 10, 15, "AZ/MC", "AZT"},
		{"eazy_insure", []string{"casco"}, "Eazy Asigurare S.A.", 380, 15, 20, "EZ/CS", "EZI"},
	}
}

func findCascoProvider(name string) (cascoProvider, bool) {
	for _, p := range cascoProviderTable() {
		if p.name == name {
			return p, true
		}
	}
	return cascoProvider{}, false
}

// Coverage codes [DESIGN]: "vehicle" (damage and theft, priced by the
// formula) and flat-priced add-ons, amounts in bani per 12 months.
func cascoAddOns() map[string]int64 {
	return map[string]int64{"roadAssistance": 12000, "replacementCar": 24000, "glass": 9000}
}

func cascoPaymentMethods() []string {
	return []string{"receipt", "broker receipt", "payment order", "broker payment order", "pos"}
}

// cascoHolder is the policyholder as the documents show it.
type cascoHolder struct {
	name, taxID, address, email string
	legal                       bool
}

type cascoCoverage struct {
	code       string
	included   bool
	insuredSum int64 // bani; 0 = not given
	premium    int64 // bani
}

type cascoInstallment struct {
	amount int64
	due    time.Time
}

// cascoOffer is one quote; immutable once stored, except policy (under
// cascoState.mu).
type cascoOffer struct {
	id                      int64
	account, accountName    string
	prov                    cascoProvider
	product, code, currency string
	start, end, expiryDay   time.Time // dates at UTC midnight
	expiresAt               time.Time // end of expiryDay in Bucharest
	createdAt               time.Time
	termTime                int64
	sumInsured              int64
	premium, net, commVal   int64
	partialDed, totalDed    int64
	coverages               []cascoCoverage
	installments            []cascoInstallment
	holder                  cascoHolder
	veh                     vehicleIn
	mentions                string
	policy                  *cascoPolicy
}

type cascoPayment struct {
	method, currency, documentNumber string
	amount                           int64
	date                             time.Time
}

type cascoPolicy struct {
	id       int64
	series   string
	number   int64
	offer    *cascoOffer
	issuedAt time.Time
	payment  cascoPayment
}

// ---- JSON shapes ----------------------------------------------------------------

type cascoOrgJSON struct {
	BusinessName string `json:"businessName"`
}

type cascoProviderJSON struct {
	Organization cascoOrgJSON `json:"organization"`
}

type cascoCoverageJSON struct {
	Code          string `json:"code"`
	IsIncluded    bool   `json:"isIncluded"`
	InsuredSum    *bani  `json:"insuredSum,omitempty"`
	PremiumAmount bani   `json:"premiumAmount"`
}

type cascoDeductiblesJSON struct {
	PartialDamage int64 `json:"partialDamage"`
	TotalDamage   int64 `json:"totalDamage"`
}

type cascoInstallmentJSON struct {
	ID      int    `json:"id"`
	Amount  bani   `json:"amount"`
	DueDate string `json:"dueDate"`
}

type cascoOfferJSON struct {
	OfferID           int64                  `json:"offerId"`
	ProviderOfferCode string                 `json:"providerOfferCode"`
	PremiumAmount     bani                   `json:"premiumAmount"`
	PremiumAmountNet  bani                   `json:"premiumAmountNet"`
	Currency          string                 `json:"currency"`
	StartDate         string                 `json:"startDate"`
	EndDate           string                 `json:"endDate"`
	OfferExpiryDate   string                 `json:"offerExpiryDate"`
	CommissionPercent int64                  `json:"commissionPercent"`
	CommissionValue   bani                   `json:"commissionValue"`
	Coverages         []cascoCoverageJSON    `json:"coverages"`
	Deductibles       cascoDeductiblesJSON   `json:"deductibles"`
	Installments      []cascoInstallmentJSON `json:"installments"`
}

type cascoPaymentJSON struct {
	Method         string `json:"method"`
	Currency       string `json:"currency"`
	Amount         bani   `json:"amount"`
	Date           string `json:"date"`
	DocumentNumber string `json:"documentNumber,omitempty"`
}

type cascoPolicyJSON struct {
	Provider      cascoProviderJSON      `json:"provider"`
	PolicyID      int64                  `json:"policyId"`
	Series        string                 `json:"series"`
	Number        int64                  `json:"number"`
	OfferID       int64                  `json:"offerId"`
	StartDate     string                 `json:"startDate"`
	EndDate       string                 `json:"endDate"`
	PremiumAmount bani                   `json:"premiumAmount"`
	Currency      string                 `json:"currency"`
	Payment       cascoPaymentJSON       `json:"payment"`
	Installments  []cascoInstallmentJSON `json:"installments"`
}

type cascoFileJSON struct {
	Type    string `json:"type"`
	Name    string `json:"name"`
	Content string `json:"content"`
}

type cascoFilesJSON struct {
	Files []cascoFileJSON `json:"files"`
}

func day(t time.Time) string { return t.Format(time.DateOnly) }

func installmentsJSON(in []cascoInstallment) []cascoInstallmentJSON {
	out := make([]cascoInstallmentJSON, len(in))
	for i, x := range in {
		out[i] = cascoInstallmentJSON{ID: i + 1, Amount: bani(x.amount), DueDate: day(x.due)}
	}
	return out
}

func (o *cascoOffer) json() cascoOfferJSON {
	covs := make([]cascoCoverageJSON, len(o.coverages))
	for i, c := range o.coverages {
		covs[i] = cascoCoverageJSON{Code: c.code, IsIncluded: c.included, PremiumAmount: bani(c.premium)}
		if c.insuredSum > 0 {
			sum := bani(c.insuredSum)
			covs[i].InsuredSum = &sum
		}
	}
	return cascoOfferJSON{
		OfferID: o.id, ProviderOfferCode: o.code,
		PremiumAmount: bani(o.premium), PremiumAmountNet: bani(o.net), Currency: o.currency,
		StartDate: day(o.start), EndDate: day(o.end), OfferExpiryDate: day(o.expiryDay),
		CommissionPercent: o.prov.commission, CommissionValue: bani(o.commVal),
		Coverages: covs, Deductibles: cascoDeductiblesJSON{o.partialDed, o.totalDed},
		Installments: installmentsJSON(o.installments),
	}
}

func (p *cascoPolicy) json() cascoPolicyJSON {
	o := p.offer
	return cascoPolicyJSON{
		Provider: cascoProviderJSON{cascoOrgJSON{o.prov.name}},
		PolicyID: p.id, Series: p.series, Number: p.number, OfferID: o.id,
		StartDate: day(o.start), EndDate: day(o.end), PremiumAmount: bani(o.premium), Currency: o.currency,
		Payment: cascoPaymentJSON{Method: p.payment.method, Currency: p.payment.currency, Amount: bani(p.payment.amount),
			Date: day(p.payment.date), DocumentNumber: p.payment.documentNumber},
		Installments: installmentsJSON(o.installments),
	}
}

// ---- Pricing ------------------------------------------------------------------
//
// [DESIGN] The sandbox's premium, deterministic from the request alone (not
// the seed, not the clock beyond the dates in the request), all in integer
// bani and rounded once, half up (README "Prices" has the same table):
//
//	S        = insuredSum of the included "vehicle" coverage, else vehicle.marketValue
//	rate     = provider base rate: generali 4.20 %, groupama 4.50 %, allianz 4.00 %, eazy_insure 3.80 %
//	age      = year(startDate) − yearOfConstruction: 0–2 → 1.00, 3–5 → 1.10, 6–9 → 1.25, 10+ → 1.45
//	power    = enginePower kW: absent → 1.00, ≤ 75 → 0.95, 76–110 → 1.00, 111–150 → 1.10, > 150 → 1.25
//	county   = address.county: B, IF → 1.20; CJ, TM, IS, CT, BV → 1.10; others, abroad → 1.00
//	driver   = holder's age on startDate: ≤ 24 → 1.30, 25–29 → 1.15, 30–64 → 1.00, 65+ → 1.10; legal entity → 1.05
//	partial  = deductibles.partialDamage: 0 → 1.10, 1–299 → 1.00, 300–999 → 0.92, 1000+ → 0.85
//	total    = deductibles.totalDamage %: 0 → 1.00, 1–9 → 0.95, 10+ → 0.90
//	inst     = installmentCount: 1 → 1.00, 2 → 1.03, 4 → 1.05, 12 → 1.10
//	vehicle  = round(S × rate × age × power × county × driver × partial × total × inst × termTime / 12)
//	add-ons  = roadAssistance 120.00, replacementCar 240.00, glass 90.00, each round(× termTime / 12)
//	premium  = vehicle + add-ons; commission = round(premium × provider %); net = premium − commission
//	installments: n equal parts rounded down, the first takes the remainder,
//	due startDate + k × termTime/n months

// cascoPriceIn is what the price depends on; nothing else (not the seed,
// not the clock) enters it.
type cascoPriceIn struct {
	rateBP           int64
	sumInsured       int64 // bani
	vehicleAge       int64 // years
	powerKW          int64 // 0 = none (trailers)
	county           string
	driverAge        int64 // 0 = legal entity
	partialDed       int64 // currency units
	totalDed         int64 // percent
	installmentCount int64
	termTime         int64 // months
}

// Factors in percent; README "Prices" is the same table.
func ageFactor(years int64) int64 {
	switch {
	case years <= 2:
		return 100
	case years <= 5:
		return 110
	case years <= 9:
		return 125
	}
	return 145
}

func powerFactor(kw int64) int64 {
	switch {
	case kw == 0:
		return 100
	case kw <= 75:
		return 95
	case kw <= 110:
		return 100
	case kw <= 150:
		return 110
	}
	return 125
}

func countyFactor(code string) int64 {
	switch code {
	case "B", "IF":
		return 120
	case "CJ", "TM", "IS", "CT", "BV":
		return 110
	}
	return 100
}

func driverFactor(age int64) int64 {
	switch {
	case age == 0:
		return 105 // legal entity
	case age <= 24:
		return 130
	case age <= 29:
		return 115
	case age <= 64:
		return 100
	}
	return 110
}

func partialDedFactor(units int64) int64 {
	switch {
	case units == 0:
		return 110
	case units < 300:
		return 100
	case units < 1000:
		return 92
	}
	return 85
}

func totalDedFactor(pct int64) int64 {
	switch {
	case pct == 0:
		return 100
	case pct < 10:
		return 95
	}
	return 90
}

func installmentFactor(n int64) int64 {
	return map[int64]int64{1: 100, 2: 103, 4: 105, 12: 110}[n]
}

// roundDiv divides num by den, rounding half up (both positive).
func roundDiv(num, den *big.Int) int64 {
	n := new(big.Int).Mul(num, big.NewInt(2))
	n.Add(n, den)
	d := new(big.Int).Mul(den, big.NewInt(2))
	return n.Quo(n, d).Int64()
}

// vehiclePremium is S × rate × age × power × county × driver × partial ×
// total × inst × termTime / 12, computed exactly and rounded once, half
// up, to bani.
func vehiclePremium(in cascoPriceIn) int64 {
	num := big.NewInt(in.sumInsured)
	for _, f := range []int64{in.rateBP, ageFactor(in.vehicleAge), powerFactor(in.powerKW), countyFactor(in.county), driverFactor(in.driverAge),
		partialDedFactor(in.partialDed), totalDedFactor(in.totalDed), installmentFactor(in.installmentCount), in.termTime} {
		num.Mul(num, big.NewInt(f))
	}
	den := big.NewInt(10000 * 12)
	for range 7 {
		den.Mul(den, big.NewInt(100))
	}
	return roundDiv(num, den)
}

func percentOf(amount, pct int64) int64 {
	return roundDiv(new(big.Int).Mul(big.NewInt(amount), big.NewInt(pct)), big.NewInt(100))
}

// addMonths adds months to a date, clamping to the month's last day (31
// January + 1 month = 28/29 February).
func addMonths(t time.Time, months int) time.Time {
	first := time.Date(t.Year(), t.Month()+time.Month(months), 1, 0, 0, 0, 0, time.UTC)
	last := first.AddDate(0, 1, -1).Day()
	return time.Date(first.Year(), first.Month(), min(t.Day(), last), 0, 0, 0, 0, time.UTC)
}

// yearsBetween is the age on the later date of someone born on the first.
func yearsBetween(born, on time.Time) int64 {
	y := int64(on.Year() - born.Year())
	if on.Month() < born.Month() || on.Month() == born.Month() && on.Day() < born.Day() {
		y--
	}
	return y
}

// ---- POST /offer (C4) ---------------------------------------------------------

// offerRequest is a validated quote request.
type offerRequest struct {
	prov                   cascoProvider
	product                string
	start                  time.Time
	termTime, installments int64
	currency, mentions     string
	partialDed, totalDed   int64
	coverages              []cascoCoverage
	holder                 cascoHolder
	county                 string
	birth                  time.Time
	veh                    vehicleIn
}

// today is the date in Bucharest, at UTC midnight like parsed dates.
func (cs *cascoState) today(now time.Time) time.Time {
	l := now.In(cs.bucharest)
	return time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, time.UTC)
}

func (s *Sandbox) validateOffer(body map[string]any, v *validator, now time.Time) offerRequest {
	cs := s.casco
	var req offerRequest
	today := cs.today(now)
	d, _ := s.cascoNomenclature()

	if prov, ok := v.object(body, "provider", "provider", true); ok {
		if org, ok := v.object(prov, "organization", "provider.organization", true); ok {
			names := CascoProviders()
			if name, ok := v.enum(org, "businessName", "provider.organization.businessName", true, names); ok {
				req.prov, _ = findCascoProvider(name)
			}
		}
		if auth, ok := v.object(prov, "authentication", "provider.authentication", false); ok {
			v.str(auth, "account", "provider.authentication.account", false, 64)
			v.str(auth, "password", "provider.authentication.password", false, 128)
			v.str(auth, "code", "provider.authentication.code", false, 64)
		}
	}
	product, ok := v.object(body, "product", "product", true)
	if !ok {
		return req
	}
	if name, ok := v.str(product, "name", "product.name", true, 0); ok {
		if req.prov.name != "" && !slices.Contains(req.prov.products, name) {
			v.add("product.name", msgInvalid)
		}
		req.product = name
	}

	if motor, ok := v.object(product, "motor", "product.motor", true); ok {
		if st, ok := v.date(motor, "startDate", "product.motor.startDate", true); ok {
			if last := today.AddDate(0, 0, 60); st.Before(today) || st.After(last) {
				v.add("product.motor.startDate", msgDateBetween, day(today), day(last))
			} else {
				req.start = st
			}
		}
		req.termTime, _ = v.integer(motor, "termTime", "product.motor.termTime", true, 1, 12)
		if n, ok := v.integer(motor, "installmentCount", "product.motor.installmentCount", true, 1, 12); ok {
			switch {
			case installmentFactor(n) == 0:
				v.add("product.motor.installmentCount", msgInvalid)
			case req.termTime > 0 && req.termTime%n != 0:
				v.add("product.motor.installmentCount", msgDivides, strconv.FormatInt(req.termTime, 10))
			default:
				req.installments = n
			}
		}
		req.currency, _ = v.enum(motor, "currency", "product.motor.currency", true, []string{"RON", "EUR"})
		req.mentions, _ = v.str(motor, "mentions", "product.motor.mentions", false, 500)
		v.boolean(motor, "withoutTax", "product.motor.withoutTax", false) // accepted, no effect
		if rp, ok := v.object(motor, "renewPolicy", "product.motor.renewPolicy", false); ok {
			v.str(rp, "series", "product.motor.renewPolicy.series", true, 32)
			v.integer(rp, "number", "product.motor.renewPolicy.number", true, 1, 1<<53)
		}
		if ded, ok := v.object(motor, "deductibles", "product.motor.deductibles", false); ok {
			req.partialDed, _ = v.integer(ded, "partialDamage", "product.motor.deductibles.partialDamage", false, 0, 100000)
			req.totalDed, _ = v.integer(ded, "totalDamage", "product.motor.deductibles.totalDamage", false, 0, 50)
		}
	}

	if vehicle, ok := v.object(product, "vehicle", "product.vehicle", true); ok {
		req.veh = v.vehicle(vehicle, "product.vehicle", true, int64(now.In(cs.bucharest).Year()+1))
	}

	// Coverages: optional; when given, an included "vehicle" one is the
	// insured sum, at most the market value.
	req.coverages = []cascoCoverage{{code: "vehicle", included: true}}
	if raw, present := product["coverages"]; present && raw != nil {
		list, isList := raw.([]any)
		if !isList {
			v.add("product.coverages", msgArray)
		} else {
			req.coverages = nil
			seen := map[string]bool{}
			hasVehicle := false
			for i, x := range list {
				p := "product.coverages." + strconv.Itoa(i)
				item, isObj := x.(map[string]any)
				if !isObj {
					v.add(p, msgObject)
					continue
				}
				cov := cascoCoverage{included: true}
				codes := []string{"vehicle", "roadAssistance", "replacementCar", "glass"}
				cov.code, _ = v.enum(item, "code", p+".code", true, codes)
				if inc, ok := v.boolean(item, "isIncluded", p+".isIncluded", false); ok {
					cov.included = inc
				}
				cov.insuredSum, _ = v.money(item, "insuredSum", p+".insuredSum", false, 100, 1000000000)
				if cov.code == "" {
					continue
				}
				if seen[cov.code] {
					v.add(p+".code", msgDistinct)
					continue
				}
				seen[cov.code] = true
				if cov.code == "vehicle" && cov.included {
					hasVehicle = true
					if req.veh.marketValue > 0 && cov.insuredSum > req.veh.marketValue {
						v.add(p+".insuredSum", msgOverMarketValue)
					}
				}
				req.coverages = append(req.coverages, cov)
			}
			if !hasVehicle && !v.failed() {
				v.add("product.coverages", msgVehicleCoverage)
			}
		}
	}

	if ph, ok := v.object(product, "policyholder", "product.policyholder", true); ok {
		req.holder, req.county, req.birth = s.validateHolder(ph, v, d, today, req.start)
	}
	return req
}

func (s *Sandbox) validateHolder(ph map[string]any, v *validator, d *cascoData, today, start time.Time) (cascoHolder, string, time.Time) {
	const pfx = "product.policyholder."
	var h cascoHolder
	var birth time.Time
	h.legal, _ = v.boolean(ph, "isLegalEntity", pfx+"isLegalEntity", false)
	v.boolean(ph, "isForeignPerson", pfx+"isForeignPerson", false)
	h.taxID, _ = v.str(ph, "taxId", pfx+"taxId", true, 20)
	if h.legal {
		h.name, _ = v.str(ph, "businessName", pfx+"businessName", true, 128)
		v.str(ph, "companyRegistryNumber", pfx+"companyRegistryNumber", true, 32)
		v.integer(ph, "caenCode", pfx+"caenCode", false, 100, 9999)
	} else {
		first, _ := v.str(ph, "firstName", pfx+"firstName", true, 64)
		last, _ := v.str(ph, "lastName", pfx+"lastName", true, 64)
		h.name = strings.TrimSpace(first + " " + last)
		if b, ok := v.date(ph, "birthdate", pfx+"birthdate", true); ok {
			if !start.IsZero() && yearsBetween(b, start) < 18 || b.After(today) {
				v.add(pfx+"birthdate", msgAdult)
			} else {
				birth = b
			}
		}
		v.enum(ph, "gender", pfx+"gender", false, []string{"m", "f"})
	}
	for _, f := range []string{"nationality", "citizenship"} {
		if c, ok := v.str(ph, f, pfx+f, false, 2); ok && d.countryByISO[strings.ToUpper(c)] == nil {
			v.add(pfx+f, msgInvalid)
		}
	}
	if email, ok := v.str(ph, "email", pfx+"email", false, 128); ok {
		at := strings.LastIndexByte(email, '@')
		if at < 1 || !strings.Contains(email[at:], ".") || strings.ContainsAny(email, " ,;<>") {
			v.add(pfx+"email", msgEmail)
		} else {
			h.email = email
		}
	}
	v.str(ph, "mobileNumber", pfx+"mobileNumber", false, 20)
	if dl, ok := v.object(ph, "drivingLicense", pfx+"drivingLicense", false); ok {
		if t, ok := v.date(dl, "issueDate", pfx+"drivingLicense.issueDate", false); ok && t.After(today) {
			v.add(pfx+"drivingLicense.issueDate", msgNotAfter, day(today))
		}
	}
	if id, ok := v.object(ph, "identification", pfx+"identification", false); ok {
		v.enum(id, "idType", pfx+"identification.idType", true, []string{"CI", "PASSPORT"})
		v.str(id, "idNumber", pfx+"identification.idNumber", true, 20)
		v.str(id, "issueAuthority", pfx+"identification.issueAuthority", false, 64)
		if t, ok := v.date(id, "issueDate", pfx+"identification.issueDate", false); ok && t.After(today) {
			v.add(pfx+"identification.issueDate", msgNotAfter, day(today))
		}
	}
	county := ""
	if addr, ok := v.object(ph, "address", pfx+"address", true); ok {
		const ap = pfx + "address."
		country, ok := v.str(addr, "country", ap+"country", true, 2)
		country = strings.ToUpper(country)
		if ok && d.countryByISO[country] == nil {
			v.add(ap+"country", msgInvalid)
		}
		city, _ := v.str(addr, "city", ap+"city", true, 64)
		var parts []string
		if country == "RO" {
			if code, ok := v.str(addr, "county", ap+"county", true, 2); ok {
				code = strings.ToUpper(code)
				if d.countyByCode[code] == nil {
					v.add(ap+"county", msgInvalid)
				} else {
					county = code
				}
			}
		} else {
			v.str(addr, "county", ap+"county", false, 64)
		}
		if sir, ok := v.integer(addr, "cityCode", ap+"cityCode", false, 1, 999999); ok && county != "" {
			if l := d.localityByID[int(sir)]; l == nil || l.CountyCode != county {
				v.add(ap+"cityCode", msgNotInCounty, county)
			}
		}
		for _, f := range []string{"street", "houseNumber", "building", "staircase", "floor", "apartment", "postcode"} {
			if x, ok := v.str(addr, f, ap+f, false, 64); ok {
				switch f {
				case "street":
					parts = append(parts, "Str. "+x)
				case "houseNumber":
					parts = append(parts, "nr. "+x)
				case "building":
					parts = append(parts, "bl. "+x)
				case "staircase":
					parts = append(parts, "sc. "+x)
				case "floor":
					parts = append(parts, "et. "+x)
				case "apartment":
					parts = append(parts, "ap. "+x)
				case "postcode":
					parts = append(parts, "cod "+x)
				}
			}
		}
		parts = append(parts, city)
		if county != "" {
			parts = append(parts, "jud. "+d.countyByCode[county].Name)
		}
		if c := d.countryByISO[country]; c != nil {
			parts = append(parts, c.NameRO)
		}
		h.address = strings.Join(parts, ", ")
	}
	return h, county, birth
}

// handleCascoOffer serves POST /casco/offer (C4).
func (s *Sandbox) handleCascoOffer(c *call) reply {
	sess, rep, ok := s.cascoAuthorize(c)
	if !ok {
		return rep
	}
	body, rep, ok := s.decodeCascoBody(c)
	if !ok {
		return rep
	}
	if _, err := s.cascoNomenclature(); err != nil {
		return cascoError(http.StatusInternalServerError, "Internal server error.")
	}
	l := cascoLang(c.r)
	v := newValidator(l)
	req := s.validateOffer(body, v, c.now)
	f := s.Faults()
	if f.CascoValidationField != "" && !v.has(f.CascoValidationField) {
		v.add(f.CascoValidationField, msgRequired)
	}
	if v.failed() {
		return v.reply()
	}
	if slices.Contains(f.CascoUnavailable, req.prov.name) {
		return cascoError(http.StatusBadRequest, l.tr("Product unavailable", "Produs indisponibil"))
	}
	age := max(int64(req.start.Year())-req.veh.year, 0)
	if age > req.prov.maxAge {
		return cascoError(http.StatusBadRequest, l.tr(
			fmt.Sprintf("Vehicle too old for this product (at most %d years)", req.prov.maxAge),
			fmt.Sprintf("Vehicul prea vechi pentru acest produs (cel mult %d ani)", req.prov.maxAge)))
	}

	cs := s.casco
	o := &cascoOffer{
		account: sess.account, prov: req.prov, product: req.product, currency: req.currency,
		start: req.start, termTime: req.termTime, partialDed: req.partialDed, totalDed: req.totalDed,
		holder: req.holder, veh: req.veh, mentions: req.mentions, createdAt: c.now,
	}
	acct, _ := s.cascoAccount(sess.account)
	o.accountName = acct.Name
	o.end = addMonths(req.start, int(req.termTime)).AddDate(0, 0, -1)
	o.expiryDay = cs.today(c.now.Add(s.opts.CascoOfferTTL))
	if o.expiryDay.After(req.start) {
		o.expiryDay = req.start
	}
	ed := o.expiryDay.AddDate(0, 0, 1)
	o.expiresAt = time.Date(ed.Year(), ed.Month(), ed.Day(), 0, 0, 0, 0, cs.bucharest)

	o.sumInsured = req.veh.marketValue
	for _, cov := range req.coverages {
		if cov.code == "vehicle" && cov.included && cov.insuredSum > 0 {
			o.sumInsured = cov.insuredSum
		}
	}
	var driverAge int64
	if !req.holder.legal {
		driverAge = yearsBetween(req.birth, req.start)
	}
	vp := vehiclePremium(cascoPriceIn{
		rateBP: req.prov.rateBP, sumInsured: o.sumInsured, vehicleAge: age, powerKW: req.veh.power,
		county: req.county, driverAge: driverAge, partialDed: req.partialDed, totalDed: req.totalDed,
		installmentCount: req.installments, termTime: req.termTime,
	})
	for _, cov := range req.coverages {
		switch {
		case !cov.included:
		case cov.code == "vehicle":
			cov.premium = vp
			cov.insuredSum = o.sumInsured
		default:
			cov.premium = roundDiv(big.NewInt(cascoAddOns()[cov.code]*req.termTime), big.NewInt(12))
		}
		o.premium += cov.premium
		o.coverages = append(o.coverages, cov)
	}
	o.commVal = percentOf(o.premium, req.prov.commission)
	o.net = o.premium - o.commVal
	n := req.installments
	part := o.premium / n
	for k := range n {
		amt := part
		if k == 0 {
			amt = o.premium - part*(n-1)
		}
		o.installments = append(o.installments, cascoInstallment{amount: amt, due: addMonths(req.start, int(k*req.termTime/n))})
	}

	cs.mu.Lock()
	cs.nextOffer += 1 + int64(cs.rng.IntN(7))
	o.id = cs.nextOffer
	o.code = fmt.Sprintf("%s-CASCO-%d", req.prov.code, o.id)
	cs.offers[o.id] = o
	cs.mu.Unlock()

	return cascoOK(struct {
		Provider cascoProviderJSON `json:"provider"`
		Offers   []cascoOfferJSON  `json:"offers"`
	}{cascoProviderJSON{cascoOrgJSON{req.prov.name}}, []cascoOfferJSON{o.json()}})
}

// ---- GET /offer/{id} (C5) -----------------------------------------------------

func (s *Sandbox) handleCascoOfferPDF(c *call) reply {
	sess, rep, ok := s.cascoAuthorize(c)
	if !ok {
		return rep
	}
	l := cascoLang(c.r)
	id, err := strconv.ParseInt(c.args[0], 10, 64)
	if err != nil || id <= 0 {
		v := newValidator(l)
		v.add("id", msgInteger)
		return v.reply()
	}
	cs := s.casco
	cs.mu.Lock()
	o := cs.offers[id]
	cs.mu.Unlock()
	if o == nil || o.account != sess.account {
		return cascoError(http.StatusNotFound, l.tr("Offer not found", "Oferta nu a fost găsită"))
	}
	b, err := renderCascoPDF(offerDoc(o))
	if err != nil {
		return cascoError(http.StatusInternalServerError, "Internal server error.")
	}
	return cascoOK(cascoFilesJSON{[]cascoFileJSON{{"Offer", fmt.Sprintf("offer-%d.pdf", o.id), base64.StdEncoding.EncodeToString(b)}}})
}

// ---- POST /policy (C7) ----------------------------------------------------------

func (s *Sandbox) handleCascoPolicy(c *call) reply {
	sess, rep, ok := s.cascoAuthorize(c)
	if !ok {
		return rep
	}
	body, rep, ok := s.decodeCascoBody(c)
	if !ok {
		return rep
	}
	l := cascoLang(c.r)
	cs := s.casco
	today := cs.today(c.now)
	v := newValidator(l)
	offerID, _ := v.integer(body, "offerId", "offerId", true, 1, 1<<53)
	var pay cascoPayment
	if p, ok := v.object(body, "payment", "payment", true); ok {
		pay.method, _ = v.enum(p, "method", "payment.method", true, cascoPaymentMethods())
		pay.currency, _ = v.enum(p, "currency", "payment.currency", true, []string{"RON", "EUR"})
		pay.amount, _ = v.money(p, "amount", "payment.amount", true, 1, 1000000000)
		if d, ok := v.date(p, "date", "payment.date", true); ok {
			if d.After(today) {
				v.add("payment.date", msgNotAfter, day(today))
			}
			pay.date = d
		}
		pay.documentNumber, _ = v.str(p, "documentNumber", "payment.documentNumber", false, 64)
	}
	if f := s.Faults().CascoValidationField; f != "" && !v.has(f) {
		v.add(f, msgRequired)
	}
	if v.failed() {
		return v.reply()
	}

	cs.mu.Lock()
	defer cs.mu.Unlock()
	o := cs.offers[offerID]
	switch {
	case o == nil || o.account != sess.account:
		return cascoError(http.StatusNotFound, l.tr("Offer not found", "Oferta nu a fost găsită"))
	case o.policy != nil:
		return cascoError(http.StatusBadRequest, l.tr("Policy already issued for this offer", "Polița a fost deja emisă pentru această ofertă"))
	case !c.now.Before(o.expiresAt):
		return cascoError(http.StatusBadRequest, l.tr("Offer expired", "Oferta a expirat"))
	case slices.Contains(s.Faults().CascoUnavailable, o.prov.name):
		return cascoError(http.StatusBadRequest, l.tr("Product unavailable", "Produs indisponibil"))
	}
	if pay.currency != o.currency {
		v.add("payment.currency", msgMustBe, o.currency)
	}
	if pay.amount != o.premium && pay.amount != o.installments[0].amount {
		want := formatBani(o.premium)
		if len(o.installments) > 1 {
			want = l.tr(fmt.Sprintf("%s (the premium) or %s (the first installment)", want, formatBani(o.installments[0].amount)),
				fmt.Sprintf("%s (prima) sau %s (prima rată)", want, formatBani(o.installments[0].amount)))
		}
		v.add("payment.amount", msgMustBe, want)
	}
	if v.failed() {
		return v.reply()
	}
	p := &cascoPolicy{series: o.prov.series, offer: o, issuedAt: c.now, payment: pay}
	cs.nextPolicy += 1 + int64(cs.rng.IntN(3))
	p.id = cs.nextPolicy
	for {
		p.number = 100000000 + int64(cs.rng.IntN(900000000))
		if cs.policies[policyKey(p.series, p.number)] == nil {
			break
		}
	}
	o.policy = p
	cs.policies[policyKey(p.series, p.number)] = p
	return cascoOK(struct {
		Policies []cascoPolicyJSON `json:"policies"`
	}{[]cascoPolicyJSON{p.json()}})
}

func policyKey(series string, number int64) string {
	return series + "\x00" + strconv.FormatInt(number, 10)
}

// ---- GET /policy?series=&number= (C6) -------------------------------------------

func (s *Sandbox) handleCascoPolicyPDF(c *call) reply {
	sess, rep, ok := s.cascoAuthorize(c)
	if !ok {
		return rep
	}
	l := cascoLang(c.r)
	q := c.r.URL.Query()
	v := newValidator(l)
	series := strings.TrimSpace(q.Get("series"))
	if series == "" {
		v.add("series", msgRequired)
	}
	number, _ := v.integer(map[string]any{"number": q.Get("number")}, "number", "number", true, 1, 1<<53)
	if v.failed() {
		return v.reply()
	}
	cs := s.casco
	cs.mu.Lock()
	p := cs.policies[policyKey(series, number)]
	cs.mu.Unlock()
	if p == nil || p.offer.account != sess.account {
		return cascoError(http.StatusNotFound, l.tr("Policy not found", "Polița nu a fost găsită"))
	}
	b, err := renderCascoPDF(policyDoc(p))
	if err != nil {
		return cascoError(http.StatusInternalServerError, "Internal server error.")
	}
	name := fmt.Sprintf("policy-%s-%d.pdf", strings.ReplaceAll(p.series, "/", "-"), p.number)
	return cascoOK(cascoFilesJSON{[]cascoFileJSON{{"Policy", name, base64.StdEncoding.EncodeToString(b)}}})
}
