package sandbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// msgKey names one validation message; cascoMessages holds its English
// and Romanian text. The first %s is always the dotted field path, as the
// sibling RCA API's field map shows it.
type msgKey int

const (
	msgRequired msgKey = iota
	msgString
	msgInteger
	msgNumber
	msgBoolean
	msgDate
	msgInvalid
	msgMin
	msgMax
	msgDecimals
	msgObject
	msgArray
	msgEmptyForElectric
	msgEmptyForTrailer
	msgDateBetween
	msgAdult
	msgVIN
	msgNotInCounty
	msgDivides
	msgMustBe
	msgNotAfter
	msgMaxLen
	msgOverMarketValue
	msgVehicleCoverage
	msgEmail
	msgDistinct
)

func cascoMessage(l lang, k msgKey, args ...any) string {
	m := [...][2]string{
		msgRequired:         {"The %s field is required.", "Câmpul %s este obligatoriu."},
		msgString:           {"The %s field must be a string.", "Câmpul %s trebuie să fie un șir de caractere."},
		msgInteger:          {"The %s field must be an integer.", "Câmpul %s trebuie să fie un număr întreg."},
		msgNumber:           {"The %s field must be a number.", "Câmpul %s trebuie să fie un număr."},
		msgBoolean:          {"The %s field must be true or false.", "Câmpul %s trebuie să fie adevărat sau fals."},
		msgDate:             {"The %s field must be a date in the format YYYY-MM-DD.", "Câmpul %s trebuie să fie o dată în formatul AAAA-LL-ZZ."},
		msgInvalid:          {"The selected %s is invalid.", "Valoarea selectată pentru %s este invalidă."},
		msgMin:              {"The %s field must be at least %s.", "Câmpul %s trebuie să fie cel puțin %s."},
		msgMax:              {"The %s field must not be greater than %s.", "Câmpul %s nu poate fi mai mare de %s."},
		msgDecimals:         {"The %s field must have at most 2 decimals.", "Câmpul %s poate avea cel mult 2 zecimale."},
		msgObject:           {"The %s field must be an object.", "Câmpul %s trebuie să fie un obiect."},
		msgArray:            {"The %s field must be an array.", "Câmpul %s trebuie să fie o listă."},
		msgEmptyForElectric: {"The %s field must be empty for electric vehicles.", "Câmpul %s trebuie să lipsească pentru vehiculele electrice."},
		msgEmptyForTrailer:  {"The %s field must be empty for trailers.", "Câmpul %s trebuie să lipsească pentru remorci."},
		msgDateBetween:      {"The %s field must be a date between %s and %s.", "Câmpul %s trebuie să fie o dată între %s și %s."},
		msgAdult:            {"The %s field must show a policyholder at least 18 years old on the start date.", "Câmpul %s trebuie să arate un asigurat de cel puțin 18 ani la data de început."},
		msgVIN:              {"The %s field must be 17 letters and digits without I, O or Q.", "Câmpul %s trebuie să aibă 17 litere și cifre, fără I, O sau Q."},
		msgNotInCounty:      {"The %s field is not a locality of county %s.", "Câmpul %s nu este o localitate din județul %s."},
		msgDivides:          {"The %s field must divide product.motor.termTime (%s months) evenly.", "Câmpul %s trebuie să dividă exact product.motor.termTime (%s luni)."},
		msgMustBe:           {"The %s field must be %s.", "Câmpul %s trebuie să fie %s."},
		msgNotAfter:         {"The %s field must not be after %s.", "Câmpul %s nu poate fi după %s."},
		msgMaxLen:           {"The %s field must not be longer than %s characters.", "Câmpul %s nu poate avea mai mult de %s caractere."},
		msgOverMarketValue:  {"The %s field must not exceed product.vehicle.marketValue.", "Câmpul %s nu poate depăși product.vehicle.marketValue."},
		msgVehicleCoverage:  {"The %s field must include the \"vehicle\" coverage.", "Câmpul %s trebuie să includă acoperirea \"vehicle\"."},
		msgEmail:            {"The %s field must be a valid email address.", "Câmpul %s trebuie să fie o adresă de e-mail validă."},
		msgDistinct:         {"The %s field has a duplicate value.", "Câmpul %s are o valoare duplicată."},
	}
	return fmt.Sprintf(m[k][l], args...)
}

// validator collects a VALIDATION_ERROR field map: dotted path → messages.
type validator struct {
	l    lang
	errs map[string][]string
}

func newValidator(l lang) *validator { return &validator{l: l, errs: make(map[string][]string)} }

func (v *validator) add(field string, k msgKey, args ...any) {
	v.errs[field] = append(v.errs[field], cascoMessage(v.l, k, append([]any{field}, args...)...))
}

func (v *validator) failed() bool          { return len(v.errs) > 0 }
func (v *validator) has(field string) bool { return len(v.errs[field]) > 0 }
func (v *validator) reply() reply {
	return cascoErrorData(http.StatusBadRequest, "VALIDATION_ERROR", v.errs)
}
func join(prefix, field string) string  { return strings.TrimPrefix(prefix+"."+field, ".") }
func isAbsent(x any, present bool) bool { return !present || x == nil || x == "" }

// The getters read one member of obj; path is its full dotted name for
// messages. Absent, null and "" count as missing (the upstream is a
// Laravel application, which turns empty strings into null).

func (v *validator) str(obj map[string]any, f, path string, required bool, maxLen int) (string, bool) {
	x, ok := obj[f]
	if isAbsent(x, ok) {
		if required {
			v.add(path, msgRequired)
		}
		return "", false
	}
	sv, isStr := x.(string)
	if !isStr {
		v.add(path, msgString)
		return "", false
	}
	if strings.TrimSpace(sv) == "" {
		if required {
			v.add(path, msgRequired)
		}
		return "", false
	}
	if maxLen > 0 && len([]rune(sv)) > maxLen {
		v.add(path, msgMaxLen, strconv.Itoa(maxLen))
		return "", false
	}
	return strings.TrimSpace(sv), true
}

func (v *validator) enum(obj map[string]any, f, path string, required bool, values []string) (string, bool) {
	sv, ok := v.str(obj, f, path, required, 0)
	if !ok {
		return "", false
	}
	if !slices.Contains(values, sv) {
		v.add(path, msgInvalid)
		return "", false
	}
	return sv, true
}

// integer takes a JSON integer or a string of digits (PHP's integer rule
// does), within [lo, hi].
func (v *validator) integer(obj map[string]any, f, path string, required bool, lo, hi int64) (int64, bool) {
	x, ok := obj[f]
	if isAbsent(x, ok) {
		if required {
			v.add(path, msgRequired)
		}
		return 0, false
	}
	var raw string
	switch t := x.(type) {
	case json.Number:
		raw = t.String()
	case string:
		raw = strings.TrimSpace(t)
	default:
		v.add(path, msgInteger)
		return 0, false
	}
	n, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		v.add(path, msgInteger)
		return 0, false
	}
	if n < lo {
		v.add(path, msgMin, strconv.FormatInt(lo, 10))
		return 0, false
	}
	if n > hi {
		v.add(path, msgMax, strconv.FormatInt(hi, 10))
		return 0, false
	}
	return n, true
}

// money takes a JSON number or a numeric string ("100000.00", as the seed's
// helper sample sends) and returns it in bani, exactly: never through a
// float. At most two decimals; within [lo, hi] bani.
func (v *validator) money(obj map[string]any, f, path string, required bool, lo, hi int64) (int64, bool) {
	x, ok := obj[f]
	if isAbsent(x, ok) {
		if required {
			v.add(path, msgRequired)
		}
		return 0, false
	}
	var raw string
	switch t := x.(type) {
	case json.Number:
		raw = t.String()
	case string:
		raw = strings.TrimSpace(t)
	default:
		v.add(path, msgNumber)
		return 0, false
	}
	b, err := parseBani(raw)
	if err != nil {
		if err == errDecimals {
			v.add(path, msgDecimals)
		} else {
			v.add(path, msgNumber)
		}
		return 0, false
	}
	if b < lo {
		v.add(path, msgMin, formatBani(lo))
		return 0, false
	}
	if b > hi {
		v.add(path, msgMax, formatBani(hi))
		return 0, false
	}
	return b, true
}

var errDecimals = fmt.Errorf("more than two decimals")

// parseBani reads a decimal number ("2211.49", "1e5", "-3") into hundredths.
func parseBani(s string) (int64, error) {
	if s == "" || strings.ContainsAny(s, " _/") || strings.EqualFold(s, "nan") || strings.Contains(strings.ToLower(s), "inf") {
		return 0, fmt.Errorf("not a number")
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return 0, fmt.Errorf("not a number")
	}
	r.Mul(r, big.NewRat(100, 1))
	if !r.IsInt() {
		return 0, errDecimals
	}
	n := r.Num()
	if !n.IsInt64() {
		return 0, fmt.Errorf("out of range")
	}
	return n.Int64(), nil
}

// bani is an amount in hundredths of the currency unit, written to JSON as
// an exact decimal number with two decimals (2211.49, 10000.50).
type bani int64

func (b bani) MarshalJSON() ([]byte, error) { return []byte(formatBani(int64(b))), nil }

func formatBani(b int64) string {
	sign := ""
	if b < 0 {
		sign, b = "-", -b
	}
	return fmt.Sprintf("%s%d.%02d", sign, b/100, b%100)
}

// boolean takes true/false, "true"/"false", 1/0 and "1"/"0": the seed's
// samples send "isLegalEntity": "false".
func (v *validator) boolean(obj map[string]any, f, path string, required bool) (bool, bool) {
	x, ok := obj[f]
	if isAbsent(x, ok) {
		if required {
			v.add(path, msgRequired)
		}
		return false, false
	}
	switch t := x.(type) {
	case bool:
		return t, true
	case string:
		switch strings.ToLower(strings.TrimSpace(t)) {
		case "true", "1":
			return true, true
		case "false", "0":
			return false, true
		}
	case json.Number:
		switch t.String() {
		case "1":
			return true, true
		case "0":
			return false, true
		}
	}
	v.add(path, msgBoolean)
	return false, false
}

func (v *validator) date(obj map[string]any, f, path string, required bool) (time.Time, bool) {
	sv, ok := v.str(obj, f, path, required, 0)
	if !ok {
		return time.Time{}, false
	}
	t, err := time.Parse(time.DateOnly, sv)
	if err != nil {
		v.add(path, msgDate)
		return time.Time{}, false
	}
	return t, true
}

func (v *validator) object(obj map[string]any, f, path string, required bool) (map[string]any, bool) {
	x, ok := obj[f]
	if isAbsent(x, ok) {
		if required {
			v.add(path, msgRequired)
		}
		return nil, false
	}
	m, isObj := x.(map[string]any)
	if !isObj {
		v.add(path, msgObject)
		return nil, false
	}
	return m, true
}

// decodeCascoBody reads a JSON object body (numbers kept exact). A body
// that is not JSON answers 400 with a plain message.
func (s *Sandbox) decodeCascoBody(c *call) (map[string]any, reply, bool) {
	l := cascoLang(c.r)
	body, ok := s.readBody(c.r)
	if !ok {
		return nil, s.tooLarge(famCasco), false
	}
	if mt, _, err := mime.ParseMediaType(c.r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return nil, cascoError(http.StatusUnsupportedMediaType, l.tr("Content-Type must be application/json.", "Content-Type trebuie să fie application/json.")), false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil || dec.More() {
		return nil, cascoError(http.StatusBadRequest, l.tr("Malformed JSON body.", "Corpul JSON al cererii este invalid.")), false
	}
	return m, reply{}, true
}

// Vehicle enums (casco-api.txt; registrationType from the sibling RCA API).
func cascoVehicleTypes() []string {
	return []string{"M1", "M1G", "M2", "M2G", "M3", "M3G", "N1", "N1G", "N2", "N2G", "N3", "N3G", "O1", "O2", "O3", "O4", "L1e", "L2e", "L3e", "L4e", "L5e", "L6e", "L7e", "T", "C", "R", "S"}
}
func cascoFuelTypes() []string {
	return []string{"petrol", "diesel", "electric", "hybrid", "lpg", "none"}
}
func cascoColors() []string {
	return []string{"white", "blue", "yellow", "gray", "brown", "black", "orange", "red", "green", "purple"}
}
func cascoRegistrationTypes() []string {
	return []string{"registered", "recorded", "temporaryRegistered", "temporaryRecorded"}
}

func isTrailer(vehicleType string) bool { return len(vehicleType) == 2 && vehicleType[0] == 'O' }

// vehicleIn is a validated vehicle; amounts in bani.
type vehicleIn struct {
	vehicleType, brand, model, fuel, color, vin, motorSeries, plate, registration string
	year, displacement, power, weight, seats, mileage                             int64
	marketValue                                                                   int64
}

func validVIN(s string) bool {
	if len(s) != 17 {
		return false
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'A' && r <= 'Z') || r == 'I' || r == 'O' || r == 'Q' {
			return false
		}
	}
	return true
}

// vehicle validates the helper's vehicle fields (casco-api.txt, C9) under
// prefix. forOffer adds what a quote needs on top: vin, fuelType,
// registrationType, licensePlate and marketValue are required there
// [DESIGN].
func (v *validator) vehicle(obj map[string]any, prefix string, forOffer bool, maxYear int64) vehicleIn {
	p := func(f string) string { return join(prefix, f) }
	var out vehicleIn
	out.vehicleType, _ = v.enum(obj, "vehicleType", p("vehicleType"), true, cascoVehicleTypes())
	out.brand, _ = v.str(obj, "brand", p("brand"), true, 64)
	out.model, _ = v.str(obj, "model", p("model"), true, 64)
	out.year, _ = v.integer(obj, "yearOfConstruction", p("yearOfConstruction"), true, 1900, maxYear)
	out.fuel, _ = v.enum(obj, "fuelType", p("fuelType"), forOffer, cascoFuelTypes())
	out.color, _ = v.enum(obj, "color", p("color"), false, cascoColors())
	if vin, ok := v.str(obj, "vin", p("vin"), forOffer, 0); ok {
		if up := strings.ToUpper(vin); validVIN(up) {
			out.vin = up
		} else {
			v.add(p("vin"), msgVIN)
		}
	}
	out.motorSeries, _ = v.str(obj, "motorSeries", p("motorSeries"), false, 64)
	trailer := isTrailer(out.vehicleType)
	electric := out.fuel == "electric"
	// "Not required for electric vehicles or trailers" (displacement), "Not
	// required for trailers" (power, seats): required otherwise, and
	// [DESIGN] absent or 0 where they cannot apply.
	notApplicable := func(f string, k msgKey) {
		x, ok := obj[f]
		if isAbsent(x, ok) {
			return
		}
		if n, isNum := x.(json.Number); isNum && n.String() == "0" {
			return
		}
		v.add(p(f), k)
	}
	switch {
	case trailer:
		notApplicable("engineDisplacement", msgEmptyForTrailer)
	case electric:
		notApplicable("engineDisplacement", msgEmptyForElectric)
	default:
		out.displacement, _ = v.integer(obj, "engineDisplacement", p("engineDisplacement"), out.vehicleType != "", 1, 20000)
	}
	if trailer {
		notApplicable("enginePower", msgEmptyForTrailer)
		notApplicable("seats", msgEmptyForTrailer)
	} else {
		out.power, _ = v.integer(obj, "enginePower", p("enginePower"), out.vehicleType != "", 1, 2000)
		out.seats, _ = v.integer(obj, "seats", p("seats"), out.vehicleType != "", 1, 100)
	}
	out.weight, _ = v.integer(obj, "totalWeight", p("totalWeight"), false, 1, 100000)
	out.mileage, _ = v.integer(obj, "currentMileage", p("currentMileage"), false, 0, 5000000)
	if forOffer {
		out.marketValue, _ = v.money(obj, "marketValue", p("marketValue"), true, 100, 1000000000)
		out.registration, _ = v.enum(obj, "registrationType", p("registrationType"), true, cascoRegistrationTypes())
		needPlate := out.registration == "registered" || out.registration == "temporaryRegistered"
		if plate, ok := v.str(obj, "licensePlate", p("licensePlate"), needPlate, 12); ok {
			out.plate = strings.ToUpper(strings.Join(strings.Fields(plate), ""))
		}
	} else {
		out.marketValue, _ = v.money(obj, "marketValue", p("marketValue"), false, 0, 1000000000)
	}
	return out
}

// handleCascoVehicleID serves POST /casco/helper/vehicle-identification
// (C9): validation as casco-api.txt lists it, then a look-up in the
// sandbox's make/model table.
func (s *Sandbox) handleCascoVehicleID(c *call) reply {
	if _, rep, ok := s.cascoAuthorize(c); !ok {
		return rep
	}
	body, rep, ok := s.decodeCascoBody(c)
	if !ok {
		return rep
	}
	l := cascoLang(c.r)
	cs := s.casco
	v := newValidator(l)
	veh := v.vehicle(body, "", false, int64(c.now.In(cs.bucharest).Year()+1))
	if v.failed() {
		return v.reply()
	}
	d, err := s.cascoNomenclature()
	if err != nil {
		return cascoError(http.StatusInternalServerError, "Internal server error.")
	}
	mk, model, confidence, found := d.identify(veh.brand, veh.model)
	if !found {
		return cascoError(http.StatusNotFound, l.tr("Vehicle could not be identified", "Vehiculul nu a putut fi identificat"))
	}
	return cascoOK(struct {
		VehicleCode        string `json:"vehicleCode"`
		Brand              string `json:"brand"`
		Model              string `json:"model"`
		YearOfConstruction int64  `json:"yearOfConstruction"`
		Confidence         string `json:"confidence"`
	}{vehicleCode(mk, model, veh), mk, model, veh.year, confidence})
}

// vehicleCode is [DESIGN]: make (3 letters), model, year, displacement and
// a fuel letter, e.g. TOY-COROLLA-2020-1800-P.
func vehicleCode(brand, model string, veh vehicleIn) string {
	up := func(s string) string {
		var b strings.Builder
		dash := false
		for _, r := range strings.ToUpper(asciiFold(s)) {
			if r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
				b.WriteRune(r)
				dash = false
			} else if !dash && b.Len() > 0 {
				b.WriteByte('-')
				dash = true
			}
		}
		return strings.TrimSuffix(b.String(), "-")
	}
	mk := up(brand)
	mk = strings.ReplaceAll(mk, "-", "")
	if len(mk) > 3 {
		mk = mk[:3]
	}
	fuel := "X"
	if veh.fuel != "" {
		fuel = strings.ToUpper(veh.fuel[:1])
	}
	return fmt.Sprintf("%s-%s-%d-%d-%s", mk, up(model), veh.year, veh.displacement, fuel)
}
