package quotes

// The step forms as a draft stores them (Draft.Vehicle, Owner and
// Cover hold their JSON encoding). The JSON names are the stored
// format: renaming one would make every stored draft lose that field.
// Values are kept as typed, strings included, so that a form reopens
// with exactly what the broker entered, valid or not.

// StepState is what every step form records besides its fields.
type StepState struct {
	// Done: the step was last saved without errors.
	Done bool `json:"done,omitempty"`
	// Upstream are the CascoApi's messages about the step's fields (form
	// field name → message; "" for the step as a whole), shown on the
	// step until it is saved again.
	Upstream map[string]string `json:"upstream,omitempty"`
}

// VehicleForm is the vehicle step.
type VehicleForm struct {
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
	StepState
}

// Kinds of policyholder (OwnerForm.Kind).
const (
	OwnerPerson  = "person"
	OwnerCompany = "company"
)

// OwnerForm is the policyholder step: a person or a company, and where
// to reach them.
type OwnerForm struct {
	// Kind is OwnerPerson or OwnerCompany; anything else (an empty form)
	// counts as a person.
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
	StepState
}

// IsCompany reports whether the policyholder is a company.
func (o OwnerForm) IsCompany() bool { return o.Kind == OwnerCompany }

// CoverForm is the cover step.
type CoverForm struct {
	StartDate    string `json:"start_date"`
	Term         string `json:"term"`
	Installments string `json:"installments"`
	// Partial is the partial-damage deductible in RON, Total the
	// total-damage one in percent.
	Partial    string `json:"partial"`
	Total      string `json:"total"`
	InsuredSum string `json:"insured_sum,omitempty"`
	// Providers are the insurers to ask.
	Providers []string `json:"providers"`
	StepState
}
