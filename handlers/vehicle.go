package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"backoffice/apiclient"
	"backoffice/apiclient/casco"
	"backoffice/internal/i18n"
	"backoffice/internal/quotes"
	"backoffice/internal/vin"
	cascoviews "backoffice/views/casco"
)

// vehicleForm is step 1 as typed (numbers too: the form shows them
// back as they were written) and saved in the draft.
type vehicleForm struct {
	VIN          string `json:"vin"`
	Make         string `json:"make"`
	Model        string `json:"model"`
	VehicleType  string `json:"vehicle_type"`
	Fuel         string `json:"fuel"`
	Color        string `json:"color"`
	Year         string `json:"year"`
	Power        string `json:"power"`
	Displacement string `json:"displacement"`
	Seats        string `json:"seats"`
	Mileage      string `json:"mileage"`
	MarketValue  string `json:"market_value"`
	Registration string `json:"registration"`
	Plate        string `json:"plate"`
	// VehicleCode and Confidence are what the identification helper
	// answered for the vehicle as it was then.
	VehicleCode string `json:"vehicle_code,omitempty"`
	Confidence  string `json:"confidence,omitempty"`
	stepState
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

func readVehicle(f url.Values) vehicleForm {
	plate := strings.ToUpper(strings.Join(strings.Fields(formValue(f, "plate")), ""))
	return vehicleForm{
		VIN:          vin.Normalize(formValue(f, "vin")),
		Make:         formValue(f, "make"),
		Model:        formValue(f, "model"),
		VehicleType:  formValue(f, "vehicle_type"),
		Fuel:         formValue(f, "fuel"),
		Color:        formValue(f, "color"),
		Year:         formValue(f, "year"),
		Power:        formValue(f, "power"),
		Displacement: formValue(f, "displacement"),
		Seats:        formValue(f, "seats"),
		Mileage:      formValue(f, "mileage"),
		MarketValue:  formValue(f, "market_value"),
		Registration: formValue(f, "registration"),
		Plate:        plate,
		VehicleCode:  "",
	}
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

// checkVehicleBasics checks what the identification helper needs: type,
// make and model (from the lists), year, and the engine fields the type
// and fuel call for. It puts the lists' spelling of make and model into
// in.
func (d *Drafts) checkVehicleBasics(c *checker, in *vehicleForm) error {
	ctx := c.ctx
	c.oneOf("vehicle_type", in.VehicleType, true, vehicleTypes)
	c.oneOf("fuel", in.Fuel, true, fuelTypes)
	if in.Make == "" {
		c.fail("make", "casco.error.choose")
	} else {
		makes, err := d.h.Nomenclature.makeList(ctx)
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
			c.fail("make", "casco.error.choose")
		}
	}
	switch {
	case in.Model == "":
		c.fail("model", "casco.error.choose")
	case !c.has("make"):
		models, err := d.h.Nomenclature.modelList(ctx, in.Make)
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
			c.fail("model", "casco.error.model_of_make", "Make", in.Make)
		}
	}
	maxYear := d.h.bucharestToday().Year() + 1
	c.integer("year", in.Year, true, 1900, maxYear)
	trailer := isTrailer(in.VehicleType)
	switch {
	case trailer:
		for _, f := range []struct{ name, v string }{{"power", in.Power}, {"displacement", in.Displacement}, {"seats", in.Seats}} {
			if f.v != "" && f.v != "0" {
				c.fail(f.name, "casco.error.not_for_trailers")
			}
		}
	default:
		c.integer("power", in.Power, true, 1, maxPower)
		c.integer("seats", in.Seats, true, 1, maxSeats)
		if in.Fuel == "electric" {
			if in.Displacement != "" && in.Displacement != "0" {
				c.fail("displacement", "casco.error.not_for_electric")
			}
		} else {
			c.integer("displacement", in.Displacement, true, 1, maxDisplacement)
		}
	}
	return nil
}

// checkVehicle checks the whole step: the basics, the VIN, the value and
// the registration.
func (d *Drafts) checkVehicle(ctx context.Context, in *vehicleForm) (map[string]string, error) {
	c := newChecker(ctx)
	switch err := vin.Check(in.VIN); {
	case in.VIN == "":
		c.fail("vin", "casco.error.required")
	case errors.Is(err, vin.ErrLength):
		c.fail("vin", "casco.error.vin_length", "Length", len(in.VIN))
	case errors.Is(err, vin.ErrAlphabet):
		c.fail("vin", "casco.error.vin_alphabet")
	case errors.Is(err, vin.ErrCheckDigit):
		c.fail("vin", "casco.error.vin_check")
	}
	if err := d.checkVehicleBasics(c, in); err != nil {
		return nil, err
	}
	c.oneOf("color", in.Color, false, vehicleColors)
	c.integer("mileage", in.Mileage, false, 0, maxMileage)
	c.money("market_value", in.MarketValue, true, minMarketValue, maxMarketValue)
	c.oneOf("registration", in.Registration, true, registrationTypes)
	switch {
	case in.Plate == "" && needsPlate(in.Registration):
		c.fail("plate", "casco.error.plate_required")
	case in.Plate != "" && !plateLike(in.Plate):
		c.fail("plate", "casco.error.plate")
	}
	return c.errs, nil
}

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

// Vehicle handles GET /casco/drafts/{id}/vehicle.
func (d *Drafts) Vehicle(w http.ResponseWriter, r *http.Request) error {
	q, err := d.h.requestQuote(r)
	if err != nil {
		return err
	}
	v, err := d.vehicleView(r, q, q.vehicle)
	if err != nil {
		return err
	}
	withUpstream(r.Context(), &v.StepPage, q.vehicle.Upstream)
	return render(w, r, http.StatusOK, cascoviews.VehiclePage(v))
}

// SaveVehicle handles POST /casco/drafts/{id}/vehicle: step "save"
// checks and saves the vehicle, then goes on to the policyholder;
// "identify" asks the CascoApi's identification helper about it and
// fills in what it learns; "refresh" shows the form again with the
// lists that depend on the choices (no JavaScript).
func (d *Drafts) SaveVehicle(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	q, err := d.h.requestQuote(r)
	if err != nil {
		return err
	}
	if err := parseForm(w, r); err != nil {
		return err
	}
	self := stepURL(q.draft.ID, quotes.StepVehicle)
	in := readVehicle(r.PostForm)
	step := r.PostForm.Get("step")
	if step != "identify" && in.Make == q.vehicle.Make && in.Model == q.vehicle.Model && in.Year == q.vehicle.Year {
		// The identification still describes this vehicle.
		in.VehicleCode, in.Confidence = q.vehicle.VehicleCode, q.vehicle.Confidence
	}
	show := func(status int, in vehicleForm, errs map[string]string, alert func(*cascoviews.StepPage)) error {
		v, err := d.vehicleView(r, q, in)
		if err != nil {
			return backTo(err, self)
		}
		for k, m := range errs {
			v.Errors[k] = m
		}
		if alert != nil {
			alert(&v.StepPage)
		}
		return render(w, r, status, cascoviews.VehiclePage(v))
	}
	switch {
	case step == "refresh":
		return show(http.StatusOK, in, nil, nil)
	case q.locked():
		return show(http.StatusConflict, in, nil, func(p *cascoviews.StepPage) { lockedAlert(ctx, p) })
	case step == "identify":
		return d.identify(w, r, q, in, show)
	}
	errs, err := d.checkVehicle(ctx, &in)
	if err != nil {
		return backTo(err, self)
	}
	in.Done = len(errs) == 0
	conflict, err := d.h.commit(ctx, q, postedVersion(r), func(q *quote) { q.vehicle = in })
	switch {
	case err != nil:
		return err
	case conflict:
		return show(http.StatusConflict, in, errs, func(p *cascoviews.StepPage) { staleAlert(ctx, p) })
	case len(errs) > 0:
		return show(http.StatusUnprocessableEntity, in, errs, nil)
	}
	afterSave(w, r, q, quotes.StepVehicle)
	return nil
}

// identify asks the identification helper about the vehicle as typed,
// fills in its make, model and year and keeps its vehicle code; the
// input is saved either way.
func (d *Drafts) identify(w http.ResponseWriter, r *http.Request, q *quote, in vehicleForm,
	show func(int, vehicleForm, map[string]string, func(*cascoviews.StepPage)) error) error {
	ctx := r.Context()
	self := stepURL(q.draft.ID, quotes.StepVehicle)
	c := newChecker(ctx)
	if err := d.checkVehicleBasics(c, &in); err != nil {
		return backTo(err, self)
	}
	errs := c.errs
	in.VehicleCode, in.Confidence = "", ""
	var alert, kind, reqID string
	status := http.StatusOK
	if len(errs) > 0 {
		status = http.StatusUnprocessableEntity
		alert, kind = i18n.T(ctx, "casco.vehicle.identify_needs"), "error"
	} else {
		s, err := d.h.partnerCasco(ctx)
		if err != nil {
			return backTo(err, self)
		}
		req := identificationRequest(in)
		res, err := s.IdentifyVehicle(ctx, req)
		fields, fieldsID := upstreamFields(err)
		switch {
		case err == nil:
			if res.Brand != "" {
				in.Make = res.Brand
			}
			if res.Model != "" {
				in.Model = res.Model
			}
			if res.YearOfConstruction > 0 {
				in.Year = strconv.Itoa(res.YearOfConstruction)
			}
			in.VehicleCode, in.Confidence = truncate(res.VehicleCode, 64), truncate(res.Confidence, 16)
			if in.Confidence != "exact" && in.Confidence != "partial" {
				in.Confidence = ""
			}
			alert, kind, reqID = i18n.T(ctx, "casco.vehicle.identified_alert", "Code", in.VehicleCode), "success", res.RequestID
		case errors.Is(err, apiclient.ErrNotFound):
			alert, kind, reqID = i18n.T(ctx, "casco.vehicle.not_identified"), "warning", upstreamRequestID(err)
		case fields != nil:
			status, reqID, kind = http.StatusUnprocessableEntity, fieldsID, "error"
			errs = map[string]string{}
			for f, m := range mapUpstreamFields(fields, vehicleFieldFor) {
				if f == "" {
					alert = i18n.T(ctx, "casco.error.upstream", "Message", m)
					continue
				}
				errs[f] = i18n.T(ctx, "casco.error.upstream", "Message", m)
			}
			if alert == "" {
				alert = i18n.T(ctx, "casco.vehicle.identify_refused")
			}
		default:
			return backTo(err, self)
		}
	}
	// Saved as typed, done or not as the whole step stands.
	full := in
	all, err := d.checkVehicle(ctx, &full)
	if err != nil {
		return backTo(err, self)
	}
	in.Done = len(all) == 0
	conflict, err := d.h.commit(ctx, q, postedVersion(r), func(q *quote) { q.vehicle = in })
	if err != nil {
		return err
	}
	if conflict {
		return show(http.StatusConflict, in, errs, func(p *cascoviews.StepPage) { staleAlert(ctx, p) })
	}
	return show(status, in, errs, func(p *cascoviews.StepPage) {
		p.Alert, p.AlertKind, p.AlertRequestID = alert, kind, reqID
	})
}

// identificationRequest is the helper's body for the vehicle as typed
// (its basics checked).
func identificationRequest(in vehicleForm) casco.VehicleIdentificationRequest {
	atoi := func(s string) int { n, _ := strconv.Atoi(s); return n }
	req := casco.VehicleIdentificationRequest{
		VehicleType: in.VehicleType, Brand: in.Make, Model: in.Model, YearOfConstruction: atoi(in.Year),
		FuelType: in.Fuel, Color: in.Color, CurrentMileage: atoi(in.Mileage),
	}
	if vin.Check(in.VIN) == nil {
		req.VIN = in.VIN
	}
	if !isTrailer(in.VehicleType) {
		req.EnginePower, req.Seats = atoi(in.Power), atoi(in.Seats)
		if in.Fuel != "electric" {
			req.EngineDisplacement = atoi(in.Displacement)
		}
	}
	if mv, ok := parseAmount(in.MarketValue); ok {
		req.MarketValue = &mv
	}
	return req
}

// vehicleView builds step 1 for input in; the lists come from the
// cached nomenclature.
func (d *Drafts) vehicleView(r *http.Request, q *quote, in vehicleForm) (cascoviews.VehicleView, error) {
	ctx := r.Context()
	makes, err := d.h.Nomenclature.makeList(ctx)
	if err != nil {
		return cascoviews.VehicleView{}, err
	}
	models, err := d.h.Nomenclature.modelList(ctx, in.Make)
	if err != nil {
		return cascoviews.VehicleView{}, err
	}
	vals, _ := json.Marshal(map[string]string{"selected": in.Model})
	return cascoviews.VehicleView{
		StepPage: d.h.stepPage(r, q, quotes.StepVehicle, stepURL(q.draft.ID, quotes.StepVehicle)),
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
	}, nil
}
