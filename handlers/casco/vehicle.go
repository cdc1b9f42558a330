package casco

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/a-h/templ"

	"backoffice/apiclient"
	cascoapi "backoffice/apiclient/casco"
	"backoffice/handlers"
	"backoffice/internal/i18n"
	"backoffice/internal/paths"
	"backoffice/internal/quotes"
	"backoffice/internal/vin"
	cascoviews "backoffice/views/casco"
	"backoffice/views/layout"
)

// vehicleStep is step 1 of a quote, the vehicle, and the CascoApi's
// identification helper that fills in what it knows of it. Its save has
// three actions: "save" checks and saves the vehicle, then goes on to the
// policyholder; "identify" asks the identification helper and fills in
// what it learns; "refresh" shows the form again with the lists that
// depend on the choices (no JavaScript).
type vehicleStep struct {
	h *Handlers
}

// The contract's vehicle enumerations (CascoApi's casco-api.txt, and
// the sibling RCA API for the registration types).
var (
	vehicleTypes = []string{"M1", "M1G", "M2", "M2G", "M3", "M3G", "N1", "N1G", "N2", "N2G", "N3", "N3G",
		"O1", "O2", "O3", "O4", "L1e", "L2e", "L3e", "L4e", "L5e", "L6e", "L7e", "T", "C", "R", "S"}
	fuelTypes         = []string{"petrol", "diesel", "electric", "hybrid", "lpg", "none"}
	vehicleColors     = []string{"white", "blue", "yellow", "gray", "brown", "black", "orange", "red", "green", "purple"}
	registrationTypes = []string{"registered", "recorded", "temporaryRegistered", "temporaryRecorded"}
)

// Bounds of the vehicle's numbers, as the upstream takes them.
const (
	maxPower        = 2000
	maxDisplacement = 20000
	maxSeats        = 100
	maxMileage      = 5_000_000
	minMarketValue  = 100             // 1.00, in bani
	maxMarketValue  = 100_000_000_000 // 1,000,000,000.00
)

func isTrailer(vehicleType string) bool {
	return len(vehicleType) == 2 && vehicleType[0] == 'O' && vehicleType[1] >= '1' && vehicleType[1] <= '4'
}

// needsPlate: a registered vehicle has a plate; a recorded one may not.
func needsPlate(registration string) bool {
	return registration == "registered" || registration == "temporaryRegistered"
}

func (s *vehicleStep) step() string    { return quotes.StepVehicle }
func (s *vehicleStep) refreshes() bool { return true }

func (s *vehicleStep) stored(q *quotes.Quote) (quotes.VehicleForm, map[string]string) {
	return q.Vehicle, q.Vehicle.Upstream
}

func (s *vehicleStep) put(q *quotes.Quote, in quotes.VehicleForm, done bool) {
	in.Done = done
	q.Vehicle = in
}

func (s *vehicleStep) read(r *http.Request, q *quotes.Quote) quotes.VehicleForm {
	val := func(name string) string { return handlers.FormValue(r.PostForm, name) }
	in := quotes.VehicleForm{
		VIN:          vin.Normalize(val("vin")),
		Make:         val("make"),
		Model:        val("model"),
		VehicleType:  val("vehicle_type"),
		Fuel:         val("fuel"),
		Color:        val("color"),
		Year:         val("year"),
		Power:        val("power"),
		Displacement: val("displacement"),
		Seats:        val("seats"),
		Mileage:      val("mileage"),
		MarketValue:  val("market_value"),
		Registration: val("registration"),
		Plate:        strings.ToUpper(strings.Join(strings.Fields(val("plate")), "")),
	}
	if r.PostForm.Get("step") != "identify" && in.Make == q.Vehicle.Make && in.Model == q.Vehicle.Model && in.Year == q.Vehicle.Year {
		// The identification still describes this vehicle.
		in.VehicleCode, in.Confidence = q.Vehicle.VehicleCode, q.Vehicle.Confidence
	}
	return in
}

func (s *vehicleStep) check(r *http.Request, q *quotes.Quote, in *quotes.VehicleForm) (checked, error) {
	if r.PostForm.Get("step") == "identify" {
		res, err := s.identify(r.Context(), in)
		// Identifying fills the form in; only Save completes the step. A
		// step done before stays done while identifying changed nothing.
		res.done = q.Vehicle.Done && sameVehicle(q.Vehicle, *in)
		return res, err
	}
	errs, err := s.checkAll(r.Context(), in)
	return checked{errs: errs, done: len(errs) == 0}, err
}

// vehicleFieldFor maps a CascoApi vehicle field (with or without its
// "product.vehicle." prefix) to the form's field.
func vehicleFieldFor(upstream string) string {
	switch strings.TrimPrefix(upstream, "product.vehicle.") {
	case "vin":
		return "vin"
	case "brand":
		return "make"
	case "model":
		return "model"
	case "vehicleType":
		return "vehicle_type"
	case "yearOfConstruction":
		return "year"
	case "engineDisplacement":
		return "displacement"
	case "enginePower":
		return "power"
	case "seats":
		return "seats"
	case "fuelType":
		return "fuel"
	case "currentMileage":
		return "mileage"
	case "color":
		return "color"
	case "marketValue":
		return "market_value"
	case "registrationType":
		return "registration"
	case "licensePlate":
		return "plate"
	}
	return ""
}

// checkBasics checks what the identification helper needs: type, make
// and model (from the lists), year, and the engine fields the type and
// fuel call for. It puts the lists' spelling of make and model into in.
func (s *vehicleStep) checkBasics(ctx context.Context, c *handlers.Checker, in *quotes.VehicleForm) error {
	nom := s.h.Nomenclature
	c.OneOf("vehicle_type", in.VehicleType, true, vehicleTypes)
	c.OneOf("fuel", in.Fuel, true, fuelTypes)
	if in.Make == "" {
		c.Fail("make", "form.error.choose")
	} else {
		makes, err := nom.makeList(ctx)
		if err != nil {
			return err
		}
		found := false
		for _, m := range makes {
			if strings.EqualFold(m.Name, in.Make) {
				in.Make, found = m.Name, true
				break
			}
		}
		if !found {
			c.Fail("make", "form.error.choose")
		}
	}
	switch {
	case in.Model == "":
		c.Fail("model", "form.error.choose")
	case !c.Has("make"):
		models, err := nom.modelList(ctx, in.Make)
		if err != nil {
			return err
		}
		found := false
		for _, m := range models {
			if strings.EqualFold(m.Name, in.Model) {
				in.Model, found = m.Name, true
				break
			}
		}
		if !found {
			c.Fail("model", "casco.error.model_of_make", "Make", in.Make)
		}
	}
	maxYear := s.h.core.Zones.Today(cascoZone).Year() + 1
	c.Integer("year", in.Year, true, 1900, maxYear)
	switch {
	case isTrailer(in.VehicleType):
		for _, f := range []struct{ name, v string }{{"power", in.Power}, {"displacement", in.Displacement}, {"seats", in.Seats}} {
			if f.v != "" && f.v != "0" {
				c.Fail(f.name, "casco.error.not_for_trailers")
			}
		}
	default:
		c.Integer("power", in.Power, true, 1, maxPower)
		c.Integer("seats", in.Seats, true, 1, maxSeats)
		if in.Fuel == "electric" {
			if in.Displacement != "" && in.Displacement != "0" {
				c.Fail("displacement", "casco.error.not_for_electric")
			}
		} else {
			c.Integer("displacement", in.Displacement, true, 1, maxDisplacement)
		}
	}
	return nil
}

// checkAll checks the whole step: the basics, the VIN, the value and
// the registration.
func (s *vehicleStep) checkAll(ctx context.Context, in *quotes.VehicleForm) (map[string]string, error) {
	c := handlers.NewChecker(ctx)
	switch err := vin.Check(in.VIN); {
	case in.VIN == "":
		c.Fail("vin", "form.error.required")
	case errors.Is(err, vin.ErrLength):
		c.Fail("vin", "casco.error.vin_length", "Length", len(in.VIN))
	case errors.Is(err, vin.ErrAlphabet):
		c.Fail("vin", "casco.error.vin_alphabet")
	case errors.Is(err, vin.ErrCheckDigit):
		c.Fail("vin", "casco.error.vin_check")
	}
	if err := s.checkBasics(ctx, c, in); err != nil {
		return nil, err
	}
	c.OneOf("color", in.Color, false, vehicleColors)
	c.Integer("mileage", in.Mileage, false, 0, maxMileage)
	c.Money("market_value", in.MarketValue, true, minMarketValue, maxMarketValue, parseMinor, showMinor)
	c.OneOf("registration", in.Registration, true, registrationTypes)
	switch {
	case in.Plate == "" && needsPlate(in.Registration):
		c.Fail("plate", "casco.error.plate_required")
	case in.Plate != "" && !plateLike(in.Plate):
		c.Fail("plate", "casco.error.plate")
	}
	return c.Errors(), nil
}

// parseMinor reads an amount as people type it (quotes.ParseAmount) in
// bani; more than two decimals is no amount.
func parseMinor(s string) (int64, bool) {
	d, ok := quotes.ParseAmount(s)
	if !ok {
		return 0, false
	}
	return d.MinorUnits()
}

// showMinor prints an amount's bound as the form takes amounts
// ("1000000000.00"), not in the viewer's locale, so that it can be typed
// back as shown.
func showMinor(n int64) string { return cascoapi.FromMinorUnits(n).String() }

// plateLike: letters and digits (a dash between groups allowed), 2 to 12.
func plateLike(p string) bool {
	if len(p) < 2 || len(p) > 12 || strings.HasPrefix(p, "-") || strings.HasSuffix(p, "-") {
		return false
	}
	for _, r := range p {
		if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// identify asks the identification helper about the vehicle as typed,
// fills in its make, model and year and keeps its vehicle code; the
// input is saved either way (not done: that is Save's), and the step
// answers with how it went.
func (s *vehicleStep) identify(ctx context.Context, in *quotes.VehicleForm) (checked, error) {
	c := handlers.NewChecker(ctx)
	if err := s.checkBasics(ctx, c, in); err != nil {
		return checked{}, err
	}
	in.VehicleCode, in.Confidence = "", ""
	res := checked{errs: c.Errors(), status: http.StatusOK}
	if len(res.errs) > 0 {
		res.status = http.StatusUnprocessableEntity
		res.alert = &alert{text: i18n.T(ctx, "casco.vehicle.identify_needs"), tone: layout.ToneError}
	} else {
		sess, err := s.h.partnerCasco(ctx)
		if err != nil {
			return checked{}, err
		}
		found, err := sess.IdentifyVehicle(ctx, identificationRequest(*in))
		fields := handlers.UpstreamFields(err)
		switch {
		case err == nil:
			if found.Brand != "" {
				in.Make = found.Brand
			}
			if found.Model != "" {
				in.Model = found.Model
			}
			if found.YearOfConstruction > 0 {
				in.Year = strconv.Itoa(found.YearOfConstruction)
			}
			in.VehicleCode, in.Confidence = handlers.Truncate(found.VehicleCode, 64), handlers.Truncate(found.Confidence, 16)
			if in.Confidence != "exact" && in.Confidence != "partial" {
				in.Confidence = ""
			}
			res.alert = &alert{text: i18n.T(ctx, "casco.vehicle.identified_alert", "Code", in.VehicleCode), tone: layout.ToneSuccess, requestID: found.RequestID}
		case errors.Is(err, apiclient.ErrNotFound):
			res.alert = &alert{text: i18n.T(ctx, "casco.vehicle.not_identified"), tone: layout.ToneWarning, requestID: handlers.UpstreamRequestID(err)}
		case fields != nil:
			res.status = http.StatusUnprocessableEntity
			a := &alert{tone: layout.ToneError, requestID: handlers.UpstreamRequestID(err)}
			a.text, res.errs = upstreamSays(ctx, mapUpstreamFields(fields, vehicleFieldFor))
			if a.text == "" {
				a.text = i18n.T(ctx, "casco.vehicle.identify_refused")
			}
			res.alert = a
		default:
			return checked{}, err
		}
	}
	// Saved as typed, and not done: the broker has not saved it yet.
	return res, nil
}

// sameVehicle reports whether two vehicle forms hold the same input,
// whatever their state (done, upstream messages).
func sameVehicle(a, b quotes.VehicleForm) bool {
	a.StepState, b.StepState = quotes.StepState{}, quotes.StepState{}
	ja, _ := json.Marshal(a) // plain strings: cannot fail
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// identificationRequest is the helper's body for the vehicle as typed
// (its basics checked).
func identificationRequest(in quotes.VehicleForm) cascoapi.VehicleIdentificationRequest {
	req := cascoapi.VehicleIdentificationRequest{
		VehicleType: in.VehicleType, Brand: in.Make, Model: in.Model, YearOfConstruction: atoi(in.Year),
		FuelType: in.Fuel, Color: in.Color, CurrentMileage: atoi(in.Mileage), MarketValue: marketValue(in),
	}
	if vin.Check(in.VIN) == nil {
		req.VIN = in.VIN
	}
	req.EnginePower, req.Seats, req.EngineDisplacement = engine(in)
	return req
}

// engine is what the CascoApi is told of the vehicle's engine and
// seats: nothing for a trailer, no displacement for an electric vehicle
// (the form refuses them there, the upstream too).
func engine(v quotes.VehicleForm) (power, seats, displacement int) {
	if isTrailer(v.VehicleType) {
		return 0, 0, 0
	}
	if v.Fuel != "electric" {
		displacement = atoi(v.Displacement)
	}
	return atoi(v.Power), atoi(v.Seats), displacement
}

// marketValue is the vehicle's value as typed; nil when it is no amount.
func marketValue(v quotes.VehicleForm) *cascoapi.Decimal {
	if mv, ok := quotes.ParseAmount(v.MarketValue); ok {
		return &mv
	}
	return nil
}

// atoi reads a number the form checked already (0 for anything else).
func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// page builds step 1 for input in; the lists come from the cached
// nomenclature.
func (s *vehicleStep) page(r *http.Request, q *quotes.Quote, in quotes.VehicleForm) (stepView, error) {
	ctx := r.Context()
	makes, err := s.h.Nomenclature.makeList(ctx)
	if err != nil {
		return stepView{}, err
	}
	models, err := s.h.Nomenclature.modelList(ctx, in.Make)
	if err != nil {
		return stepView{}, err
	}
	vals, _ := json.Marshal(map[string]string{"selected": in.Model})
	v := cascoviews.VehicleView{
		StepPage: s.h.stepPage(r, q, quotes.StepVehicle, paths.DraftStep(q.Draft.ID, quotes.StepVehicle)),
		VIN:      in.VIN, Make: in.Make, Model: in.Model, VehicleType: in.VehicleType, Fuel: in.Fuel, Color: in.Color,
		Year: in.Year, Power: in.Power, Displacement: in.Displacement, Seats: in.Seats, Mileage: in.Mileage,
		MarketValue: in.MarketValue, Registration: in.Registration, Plate: in.Plate,
		VehicleCode: in.VehicleCode, Confidence: in.Confidence,
		Makes:         selectOptions(makeOptions(makes), in.Make),
		Models:        selectOptions(modelOptions(models), in.Model),
		VehicleTypes:  enumOptions("casco.vehicle_type.", vehicleTypes, in.VehicleType),
		Fuels:         enumOptions("casco.fuel.", fuelTypes, in.Fuel),
		Colors:        enumOptions("casco.color.", vehicleColors, in.Color),
		Registrations: enumOptions("casco.registration.", registrationTypes, in.Registration),
		ModelVals:     string(vals),
	}
	return stepView{StepPage: &v.StepPage, render: func() templ.Component { return cascoviews.VehiclePage(v) }}, nil
}
