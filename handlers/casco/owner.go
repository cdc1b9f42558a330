package casco

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/mail"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/a-h/templ"

	cascoapi "backoffice/apiclient/casco"
	"backoffice/handlers"
	"backoffice/internal/format"
	"backoffice/internal/i18n"
	"backoffice/internal/paths"
	"backoffice/internal/quotes"
	"backoffice/internal/roid"
	cascoviews "backoffice/views/casco"
)

// ownerStep is step 2 of a quote, the policyholder: a person or a
// company, and where to reach them. "save" checks and saves it, then goes
// on to the cover; "refresh" shows the form again for the kind and
// country chosen.
type ownerStep struct {
	h *Handlers
}

// idTypes are the identity documents the upstream knows.
var idTypes = []string{"CI", "PASSPORT"}

var (
	phonePattern    = regexp.MustCompile(`^\+?[0-9]{9,15}$`)
	idNumberPattern = regexp.MustCompile(`^[A-Z0-9]{4,20}$`)
	postcodeRO      = regexp.MustCompile(`^[0-9]{6}$`)
)

func (s *ownerStep) step() string    { return quotes.StepOwner }
func (s *ownerStep) refreshes() bool { return true }

// stored starts a policyholder never saved as a person in Romania, the
// usual case.
func (s *ownerStep) stored(q *quotes.Quote) (quotes.OwnerForm, map[string]string) {
	in := q.Owner
	if in.Kind == "" {
		in.Kind, in.Country = quotes.OwnerPerson, "RO"
	}
	return in, q.Owner.Upstream
}

func (s *ownerStep) put(q *quotes.Quote, in quotes.OwnerForm, done bool) {
	in.Done = done
	q.Owner = in
}

func (s *ownerStep) read(r *http.Request, _ *quotes.Quote) quotes.OwnerForm {
	val := func(name string) string { return handlers.FormValue(r.PostForm, name) }
	upper := func(name string) string { return strings.ToUpper(strings.Join(strings.Fields(val(name)), "")) }
	in := quotes.OwnerForm{
		Kind:           val("kind"),
		CNP:            strings.Join(strings.Fields(val("cnp")), ""),
		FirstName:      val("first_name"),
		LastName:       val("last_name"),
		BirthDate:      val("birth_date"),
		LicenceDate:    val("licence_date"),
		IDType:         val("id_type"),
		IDNumber:       upper("id_number"),
		CUI:            upper("cui"),
		CompanyName:    val("company_name"),
		RegistryNumber: val("registry_number"),
		Email:          val("email"),
		Phone:          strings.NewReplacer(" ", "", "-", "", ".", "", "(", "", ")", "").Replace(val("phone")),
		Country:        strings.ToUpper(val("country")),
		County:         strings.ToUpper(val("county")),
		Locality:       val("locality"),
		City:           val("city"),
		Street:         val("street"),
		HouseNumber:    val("house_number"),
		Postcode:       val("postcode"),
	}
	if in.Kind != quotes.OwnerCompany {
		in.Kind = quotes.OwnerPerson
	}
	return in
}

func (s *ownerStep) check(r *http.Request, _ *quotes.Quote, in *quotes.OwnerForm) (checked, error) {
	errs, err := s.checkOwner(r.Context(), in)
	return checked{errs: errs, done: len(errs) == 0}, err
}

// ownerFieldFor maps a CascoApi policyholder field to the form's field;
// the tax id is a company's CUI or a person's CNP.
func ownerFieldFor(company bool) func(string) string {
	return func(upstream string) string {
		switch strings.TrimPrefix(upstream, "product.policyholder.") {
		case "taxId":
			if company {
				return "cui"
			}
			return "cnp"
		case "firstName":
			return "first_name"
		case "lastName":
			return "last_name"
		case "birthdate":
			return "birth_date"
		case "businessName":
			return "company_name"
		case "companyRegistryNumber":
			return "registry_number"
		case "email":
			return "email"
		case "mobileNumber":
			return "phone"
		case "drivingLicense.issueDate":
			return "licence_date"
		case "identification.idType":
			return "id_type"
		case "identification.idNumber":
			return "id_number"
		case "address.country":
			return "country"
		case "address.county":
			return "county"
		case "address.city", "address.cityCode":
			return "locality"
		case "address.street":
			return "street"
		case "address.houseNumber":
			return "house_number"
		case "address.postcode":
			return "postcode"
		}
		return ""
	}
}

// checkOwner checks step 2. The county and locality come from the
// upstream's lists; the CNP's birth date must be the one typed.
func (s *ownerStep) checkOwner(ctx context.Context, in *quotes.OwnerForm) (map[string]string, error) {
	c := handlers.NewChecker(ctx)
	today := s.h.core.Zones.Today(cascoZone)
	if in.IsCompany() {
		s.checkCompany(c, in)
	} else {
		s.checkPerson(ctx, c, in, today)
	}
	if c.Text("email", in.Email, true, 128) {
		a, err := mail.ParseAddress(in.Email)
		if err != nil || a.Address != in.Email || !strings.Contains(in.Email[strings.LastIndexByte(in.Email, '@'):], ".") {
			c.Fail("email", "casco.error.email")
		}
	}
	if c.Text("phone", in.Phone, true, 20) && !phonePattern.MatchString(in.Phone) {
		c.Fail("phone", "casco.error.phone")
	}
	if err := s.checkAddress(ctx, c, in); err != nil {
		return nil, err
	}
	return c.Errors(), nil
}

func (s *ownerStep) checkCompany(c *handlers.Checker, in *quotes.OwnerForm) {
	switch err := roid.CheckCUI(in.CUI); {
	case in.CUI == "":
		c.Fail("cui", "form.error.required")
	case errors.Is(err, roid.ErrFormat):
		c.Fail("cui", "casco.error.cui_format")
	case err != nil:
		c.Fail("cui", "casco.error.cui_check")
	}
	c.Text("company_name", in.CompanyName, true, 128)
	c.Text("registry_number", in.RegistryNumber, true, 32)
}

func (s *ownerStep) checkPerson(ctx context.Context, c *handlers.Checker, in *quotes.OwnerForm, today time.Time) {
	cnp, err := roid.ParseCNP(in.CNP)
	switch {
	case in.CNP == "":
		c.Fail("cnp", "form.error.required")
	case errors.Is(err, roid.ErrFormat):
		c.Fail("cnp", "casco.error.cnp_format")
	case errors.Is(err, roid.ErrDate):
		c.Fail("cnp", "casco.error.cnp_date")
	case errors.Is(err, roid.ErrCounty):
		c.Fail("cnp", "casco.error.cnp_county")
	case err != nil:
		c.Fail("cnp", "casco.error.cnp_check")
	}
	c.Text("first_name", in.FirstName, true, 64)
	c.Text("last_name", in.LastName, true, 64)
	birth, ok := c.Date("birth_date", in.BirthDate, true)
	switch {
	case !ok:
	case birth.After(today):
		c.Fail("birth_date", "casco.error.date_future")
	case err == nil && !cnp.Birth.Equal(birth):
		c.Fail("birth_date", "casco.error.birth_not_cnp", "Date", format.New(i18n.Lang(ctx)).Date(cnp.Birth))
	case birth.AddDate(18, 0, 0).After(today):
		c.Fail("birth_date", "casco.error.adult")
	}
	if lic, ok := c.Date("licence_date", in.LicenceDate, false); ok {
		switch {
		case lic.After(today):
			c.Fail("licence_date", "casco.error.date_future")
		case !birth.IsZero() && !c.Has("birth_date") && lic.Before(birth.AddDate(16, 0, 0)):
			c.Fail("licence_date", "casco.error.licence_young")
		}
	}
	c.OneOf("id_type", in.IDType, true, idTypes)
	if c.Text("id_number", in.IDNumber, true, 20) && !idNumberPattern.MatchString(in.IDNumber) {
		c.Fail("id_number", "casco.error.id_number")
	}
}

// checkAddress checks the country against the upstream's list, and in
// Romania the county and the locality against theirs; abroad, a city.
func (s *ownerStep) checkAddress(ctx context.Context, c *handlers.Checker, in *quotes.OwnerForm) error {
	nom := s.h.Nomenclature
	countries, err := nom.countryList(ctx)
	if err != nil {
		return err
	}
	known := false
	for _, k := range countries {
		if strings.EqualFold(k.ISO2, in.Country) {
			known = true
		}
	}
	if !known {
		c.Fail("country", "form.error.choose")
	}
	if in.Country == "RO" {
		counties, err := nom.countyList(ctx)
		if err != nil {
			return err
		}
		found := false
		for _, k := range counties {
			if k.Code == in.County {
				found = true
			}
		}
		switch {
		case !found:
			c.Fail("county", "form.error.choose")
			if in.Locality == "" {
				c.Fail("locality", "form.error.choose")
			}
		case in.Locality == "":
			c.Fail("locality", "form.error.choose")
		default:
			localities, err := nom.localityList(ctx, in.County)
			if err != nil {
				return err
			}
			ok := false
			for _, l := range localities {
				if l.Name == in.Locality {
					ok = true
					break
				}
			}
			if !ok {
				c.Fail("locality", "casco.error.locality_of_county")
			}
		}
		if in.Postcode != "" && !postcodeRO.MatchString(in.Postcode) {
			c.Fail("postcode", "casco.error.postcode")
		}
	} else if known {
		c.Text("city", in.City, true, 64)
		c.Text("postcode", in.Postcode, false, 10)
	}
	c.Text("street", in.Street, false, 64)
	c.Text("house_number", in.HouseNumber, false, 16)
	return nil
}

// page builds step 2 for input in.
func (s *ownerStep) page(r *http.Request, q *quotes.Quote, in quotes.OwnerForm) (stepView, error) {
	ctx := r.Context()
	nom := s.h.Nomenclature
	countries, err := nom.countryList(ctx)
	if err != nil {
		return stepView{}, err
	}
	kind := cascoviews.HolderPerson
	if in.IsCompany() {
		kind = cascoviews.HolderCompany
	}
	v := cascoviews.OwnerView{
		StepPage: s.h.stepPage(r, q, quotes.StepOwner, paths.DraftStep(q.Draft.ID, quotes.StepOwner)),
		Kind:     kind, CNP: in.CNP, FirstName: in.FirstName, LastName: in.LastName, BirthDate: in.BirthDate,
		LicenceDate: in.LicenceDate, IDType: in.IDType, IDNumber: in.IDNumber,
		CUI: in.CUI, CompanyName: in.CompanyName, RegistryNumber: in.RegistryNumber,
		Email: in.Email, Phone: in.Phone, Country: in.Country, County: in.County, Locality: in.Locality, City: in.City,
		Street: in.Street, HouseNumber: in.HouseNumber, Postcode: in.Postcode,
		Countries: countryOptions(countries, i18n.Lang(ctx), in.Country),
		IDTypes:   enumOptions("casco.id_type.", idTypes, in.IDType),
		Today:     s.h.core.Zones.Today(cascoZone).Format(time.DateOnly),
	}
	if v.Romania() {
		counties, err := nom.countyList(ctx)
		if err != nil {
			return stepView{}, err
		}
		localities, err := nom.localityList(ctx, in.County)
		if err != nil {
			return stepView{}, err
		}
		v.Counties = selectOptions(countyOptions(counties), in.County)
		v.Localities = selectOptions(localityOptions(localities), in.Locality)
	}
	vals, _ := json.Marshal(map[string]string{"selected": in.Locality})
	v.LocalityVals = string(vals)
	return stepView{StepPage: &v.StepPage, render: func() templ.Component { return cascoviews.OwnerPage(v) }}, nil
}

// countryOptions lists the countries by name in the user's language,
// Romania first.
func countryOptions(list []cascoapi.Country, lang, selected string) []cascoviews.Option {
	opts := make([]cascoviews.Option, 0, len(list))
	for _, c := range list {
		name := c.NameEN
		if lang == "ro" || name == "" {
			name = c.NameRO
		}
		opts = append(opts, cascoviews.Option{Value: c.ISO2, Label: name, Selected: c.ISO2 == selected})
	}
	sort.SliceStable(opts, func(i, j int) bool {
		if (opts[i].Value == "RO") != (opts[j].Value == "RO") {
			return opts[i].Value == "RO"
		}
		return opts[i].Label < opts[j].Label
	})
	return opts
}
