package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/mail"
	"net/url"
	"regexp"
	"sort"
	"strings"

	"backoffice/apiclient/casco"
	"backoffice/internal/i18n"
	"backoffice/internal/quotes"
	"backoffice/internal/roid"
	cascoviews "backoffice/views/casco"
)

// ownerForm is step 2, the policyholder, as typed and saved in the
// draft.
type ownerForm struct {
	// Kind is "person" or "company".
	Kind           string `json:"kind"`
	CNP            string `json:"cnp,omitempty"`
	FirstName      string `json:"first_name,omitempty"`
	LastName       string `json:"last_name,omitempty"`
	BirthDate      string `json:"birth_date,omitempty"`
	LicenceDate    string `json:"licence_date,omitempty"`
	IDType         string `json:"id_type,omitempty"`
	IDNumber       string `json:"id_number,omitempty"`
	CUI            string `json:"cui,omitempty"`
	CompanyName    string `json:"company_name,omitempty"`
	RegistryNumber string `json:"registry_number,omitempty"`
	Email          string `json:"email"`
	Phone          string `json:"phone"`
	Country        string `json:"country"`
	County         string `json:"county,omitempty"`
	Locality       string `json:"locality,omitempty"`
	City           string `json:"city,omitempty"`
	Street         string `json:"street,omitempty"`
	HouseNumber    string `json:"house_number,omitempty"`
	Postcode       string `json:"postcode,omitempty"`
	stepState
}

// idTypes are the identity documents the upstream knows.
var idTypes = []string{"CI", "PASSPORT"}

var (
	phonePattern    = regexp.MustCompile(`^\+?[0-9]{9,15}$`)
	idNumberPattern = regexp.MustCompile(`^[A-Z0-9]{4,20}$`)
	postcodeRO      = regexp.MustCompile(`^[0-9]{6}$`)
)

func readOwner(f url.Values) ownerForm {
	upper := func(name string) string { return strings.ToUpper(strings.Join(strings.Fields(formValue(f, name)), "")) }
	in := ownerForm{
		Kind:           formValue(f, "kind"),
		CNP:            strings.Join(strings.Fields(formValue(f, "cnp")), ""),
		FirstName:      formValue(f, "first_name"),
		LastName:       formValue(f, "last_name"),
		BirthDate:      formValue(f, "birth_date"),
		LicenceDate:    formValue(f, "licence_date"),
		IDType:         formValue(f, "id_type"),
		IDNumber:       upper("id_number"),
		CUI:            upper("cui"),
		CompanyName:    formValue(f, "company_name"),
		RegistryNumber: formValue(f, "registry_number"),
		Email:          formValue(f, "email"),
		Phone:          strings.NewReplacer(" ", "", "-", "", ".", "", "(", "", ")", "").Replace(formValue(f, "phone")),
		Country:        strings.ToUpper(formValue(f, "country")),
		County:         strings.ToUpper(formValue(f, "county")),
		Locality:       formValue(f, "locality"),
		City:           formValue(f, "city"),
		Street:         formValue(f, "street"),
		HouseNumber:    formValue(f, "house_number"),
		Postcode:       formValue(f, "postcode"),
	}
	if in.Kind != "company" {
		in.Kind = "person"
	}
	return in
}

// ownerFieldFor maps a CascoApi policyholder field to the form's field.
func ownerFieldFor(kind string) func(string) string {
	return func(upstream string) string {
		switch strings.TrimPrefix(upstream, "product.policyholder.") {
		case "taxId":
			if kind == "company" {
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
func (d *Drafts) checkOwner(ctx context.Context, in *ownerForm) (map[string]string, error) {
	c := newChecker(ctx)
	today := d.h.bucharestToday()
	f := c.formatter()
	if in.Kind == "company" {
		switch err := roid.CheckCUI(in.CUI); {
		case in.CUI == "":
			c.fail("cui", "casco.error.required")
		case errors.Is(err, roid.ErrFormat):
			c.fail("cui", "casco.error.cui_format")
		case err != nil:
			c.fail("cui", "casco.error.cui_check")
		}
		c.text("company_name", in.CompanyName, true, 128)
		c.text("registry_number", in.RegistryNumber, true, 32)
	} else {
		cnp, err := roid.ParseCNP(in.CNP)
		switch {
		case in.CNP == "":
			c.fail("cnp", "casco.error.required")
		case errors.Is(err, roid.ErrFormat):
			c.fail("cnp", "casco.error.cnp_format")
		case errors.Is(err, roid.ErrDate):
			c.fail("cnp", "casco.error.cnp_date")
		case errors.Is(err, roid.ErrCounty):
			c.fail("cnp", "casco.error.cnp_county")
		case err != nil:
			c.fail("cnp", "casco.error.cnp_check")
		}
		c.text("first_name", in.FirstName, true, 64)
		c.text("last_name", in.LastName, true, 64)
		birth, ok := c.date("birth_date", in.BirthDate, true)
		switch {
		case !ok:
		case birth.After(today):
			c.fail("birth_date", "casco.error.date_future")
		case err == nil && !cnp.Birth.Equal(birth):
			c.fail("birth_date", "casco.error.birth_not_cnp", "Date", f.Date(cnp.Birth))
		case birth.AddDate(18, 0, 0).After(today):
			c.fail("birth_date", "casco.error.adult")
		}
		if lic, ok := c.date("licence_date", in.LicenceDate, false); ok {
			switch {
			case lic.After(today):
				c.fail("licence_date", "casco.error.date_future")
			case !birth.IsZero() && !c.has("birth_date") && lic.Before(birth.AddDate(16, 0, 0)):
				c.fail("licence_date", "casco.error.licence_young")
			}
		}
		c.oneOf("id_type", in.IDType, true, idTypes)
		if c.text("id_number", in.IDNumber, true, 20) && !idNumberPattern.MatchString(in.IDNumber) {
			c.fail("id_number", "casco.error.id_number")
		}
	}
	if c.text("email", in.Email, true, 128) {
		a, err := mail.ParseAddress(in.Email)
		if err != nil || a.Address != in.Email || !strings.Contains(in.Email[strings.LastIndexByte(in.Email, '@'):], ".") {
			c.fail("email", "casco.error.email")
		}
	}
	if c.text("phone", in.Phone, true, 20) && !phonePattern.MatchString(in.Phone) {
		c.fail("phone", "casco.error.phone")
	}
	countries, err := d.h.Nomenclature.countryList(ctx)
	if err != nil {
		return nil, err
	}
	known := false
	for _, k := range countries {
		if strings.EqualFold(k.ISO2, in.Country) {
			known = true
		}
	}
	if !known {
		c.fail("country", "casco.error.choose")
	}
	if in.Country == "RO" {
		counties, err := d.h.Nomenclature.countyList(ctx)
		if err != nil {
			return nil, err
		}
		found := false
		for _, k := range counties {
			if k.Code == in.County {
				found = true
			}
		}
		switch {
		case !found:
			c.fail("county", "casco.error.choose")
			if in.Locality == "" {
				c.fail("locality", "casco.error.choose")
			}
		case in.Locality == "":
			c.fail("locality", "casco.error.choose")
		default:
			localities, err := d.h.Nomenclature.localityList(ctx, in.County)
			if err != nil {
				return nil, err
			}
			ok := false
			for _, l := range localities {
				if l.Name == in.Locality {
					ok = true
					break
				}
			}
			if !ok {
				c.fail("locality", "casco.error.locality_of_county")
			}
		}
		if in.Postcode != "" && !postcodeRO.MatchString(in.Postcode) {
			c.fail("postcode", "casco.error.postcode")
		}
	} else if known {
		c.text("city", in.City, true, 64)
		c.text("postcode", in.Postcode, false, 10)
	}
	c.text("street", in.Street, false, 64)
	c.text("house_number", in.HouseNumber, false, 16)
	return c.errs, nil
}

// Owner handles GET /casco/drafts/{id}/owner.
func (d *Drafts) Owner(w http.ResponseWriter, r *http.Request) error {
	q, err := d.h.requestQuote(r)
	if err != nil {
		return err
	}
	if guardStep(w, r, q, quotes.StepOwner) {
		return nil
	}
	in := q.owner
	if in.Kind == "" {
		in.Kind, in.Country = "person", "RO"
	}
	v, err := d.ownerView(r, q, in)
	if err != nil {
		return err
	}
	withUpstream(r.Context(), &v.StepPage, q.owner.Upstream)
	return render(w, r, http.StatusOK, cascoviews.OwnerPage(v))
}

// SaveOwner handles POST /casco/drafts/{id}/owner: "save" checks and
// saves the policyholder, then goes on to the cover; "refresh" shows
// the form again for the kind and country chosen.
func (d *Drafts) SaveOwner(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	q, err := d.h.requestQuote(r)
	if err != nil {
		return err
	}
	if guardStep(w, r, q, quotes.StepOwner) {
		return nil
	}
	if err := parseForm(w, r); err != nil {
		return err
	}
	self := stepURL(q.draft.ID, quotes.StepOwner)
	in := readOwner(r.PostForm)
	show := func(status int, errs map[string]string, alert func(*cascoviews.StepPage)) error {
		v, err := d.ownerView(r, q, in)
		if err != nil {
			return backTo(err, self)
		}
		for k, m := range errs {
			v.Errors[k] = m
		}
		if alert != nil {
			alert(&v.StepPage)
		}
		return render(w, r, status, cascoviews.OwnerPage(v))
	}
	switch {
	case r.PostForm.Get("step") == "refresh":
		return show(http.StatusOK, nil, nil)
	case q.locked():
		return show(http.StatusConflict, nil, func(p *cascoviews.StepPage) { lockedAlert(ctx, p) })
	}
	errs, err := d.checkOwner(ctx, &in)
	if err != nil {
		return backTo(err, self)
	}
	in.Done = len(errs) == 0
	conflict, err := d.h.commit(ctx, q, postedVersion(r), func(q *quote) { q.owner = in })
	switch {
	case err != nil:
		return err
	case conflict:
		return show(http.StatusConflict, errs, func(p *cascoviews.StepPage) { staleAlert(ctx, p) })
	case len(errs) > 0:
		return show(http.StatusUnprocessableEntity, errs, nil)
	}
	afterSave(w, r, q, quotes.StepOwner)
	return nil
}

// ownerView builds step 2 for input in.
func (d *Drafts) ownerView(r *http.Request, q *quote, in ownerForm) (cascoviews.OwnerView, error) {
	ctx := r.Context()
	countries, err := d.h.Nomenclature.countryList(ctx)
	if err != nil {
		return cascoviews.OwnerView{}, err
	}
	v := cascoviews.OwnerView{
		StepPage: d.h.stepPage(r, q, quotes.StepOwner, stepURL(q.draft.ID, quotes.StepOwner)),
		Kind:     in.Kind, CNP: in.CNP, FirstName: in.FirstName, LastName: in.LastName, BirthDate: in.BirthDate,
		LicenceDate: in.LicenceDate, IDType: in.IDType, IDNumber: in.IDNumber,
		CUI: in.CUI, CompanyName: in.CompanyName, RegistryNumber: in.RegistryNumber,
		Email: in.Email, Phone: in.Phone, Country: in.Country, County: in.County, Locality: in.Locality, City: in.City,
		Street: in.Street, HouseNumber: in.HouseNumber, Postcode: in.Postcode,
		Countries: countryOptions(countries, i18n.Lang(ctx), in.Country),
		IDTypes:   enumOptions("casco.id_type.", idTypes, in.IDType),
		Today:     d.h.bucharestToday().Format("2006-01-02"),
	}
	if v.Romania() {
		counties, err := d.h.Nomenclature.countyList(ctx)
		if err != nil {
			return v, err
		}
		localities, err := d.h.Nomenclature.localityList(ctx, in.County)
		if err != nil {
			return v, err
		}
		v.Counties = selectOptions(countyOptions(counties), in.County)
		v.Localities = selectOptions(localityOptions(localities), in.Locality)
	}
	vals, _ := json.Marshal(map[string]string{"selected": in.Locality})
	v.LocalityVals = string(vals)
	return v, nil
}

// countryOptions lists the countries by name in the user's language,
// Romania first.
func countryOptions(list []casco.Country, lang, selected string) []cascoviews.Option {
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
