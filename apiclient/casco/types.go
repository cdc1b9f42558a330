package casco

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
)

// Products of CascoApi v1.0 (Provider.Organization.BusinessName and
// Product.Name). Groupama's is documented as "casco-leasing" but its own
// sample says "casco"; the upstream takes both.
const (
	ProviderGenerali   = "generali"
	ProviderGroupama   = "groupama"
	ProviderEazyInsure = "eazy_insure"
	ProviderAllianz    = "allianz"

	ProductCasco        = "casco"
	ProductCascoLeasing = "casco-leasing"
)

// Payment methods (Payment.Method).
const (
	PaymentReceipt            = "receipt"
	PaymentBrokerReceipt      = "broker receipt"
	PaymentOrder              = "payment order"
	PaymentBrokerPaymentOrder = "broker payment order"
	PaymentPOS                = "pos"
)

// Document types (Document.Type).
const (
	DocumentOffer  = "Offer"
	DocumentPolicy = "Policy"
)

// QuoteRequest is the body of POST /offer: one insurer's product for one
// vehicle and policyholder. Dates are "YYYY-MM-DD".
type QuoteRequest struct {
	Provider Provider `json:"provider"`
	Product  Product  `json:"product"`
}

// Provider names the insurer. Authentication is needed only when the
// broker's credentials for that insurer are not stored upstream; its
// password never appears in errors or logs.
type Provider struct {
	Organization   Organization            `json:"organization"`
	Authentication *ProviderAuthentication `json:"authentication,omitempty"`
}

// Organization is an insurer by its CascoApi name (ProviderGroupama, …).
type Organization struct {
	BusinessName string `json:"businessName"`
}

// ProviderAuthentication are the broker's credentials at the insurer.
type ProviderAuthentication struct {
	Account  string `json:"account"`
	Password string `json:"password"`
	Code     string `json:"code,omitempty"`
}

// Product is what is quoted.
type Product struct {
	Name         string       `json:"name"`
	Motor        Motor        `json:"motor"`
	Coverages    []Coverage   `json:"coverages,omitempty"`
	Policyholder Policyholder `json:"policyholder"`
	Vehicle      Vehicle      `json:"vehicle"`
}

// Motor are the policy terms.
type Motor struct {
	StartDate string `json:"startDate"`
	// TermTime is the policy term in months.
	TermTime int `json:"termTime"`
	// InstallmentCount is 1, 2, 4 or 12.
	InstallmentCount int          `json:"installmentCount"`
	Currency         string       `json:"currency"`
	RenewPolicy      *PolicyRef   `json:"renewPolicy,omitempty"`
	Mentions         string       `json:"mentions,omitempty"`
	WithoutTax       bool         `json:"withoutTax"`
	Deductibles      *Deductibles `json:"deductibles,omitempty"`
}

// PolicyRef identifies a policy the way people do: series and number.
type PolicyRef struct {
	Series string `json:"series"`
	Number int64  `json:"number"`
}

// Deductibles of a policy (the sample's partialDamage 500, totalDamage
// 20: an amount and a percentage; the upstream does not say).
type Deductibles struct {
	PartialDamage *Decimal `json:"partialDamage,omitempty"`
	TotalDamage   *Decimal `json:"totalDamage,omitempty"`
}

// Coverage is one coverage asked for.
type Coverage struct {
	IsIncluded bool     `json:"isIncluded"`
	Code       string   `json:"code"`
	InsuredSum *Decimal `json:"insuredSum,omitempty"`
}

// Policyholder is a person or (IsLegalEntity) a company.
type Policyholder struct {
	IsLegalEntity         bool            `json:"isLegalEntity"`
	BusinessName          string          `json:"businessName,omitempty"`
	CompanyRegistryNumber string          `json:"companyRegistryNumber,omitempty"`
	CaenCode              int             `json:"caenCode,omitempty"`
	LastName              string          `json:"lastName,omitempty"`
	FirstName             string          `json:"firstName,omitempty"`
	IsForeignPerson       bool            `json:"isForeignPerson"`
	TaxID                 string          `json:"taxId"`
	Nationality           string          `json:"nationality,omitempty"`
	Citizenship           string          `json:"citizenship,omitempty"`
	Gender                string          `json:"gender,omitempty"` // "m" or "f"
	Birthdate             string          `json:"birthdate,omitempty"`
	Email                 string          `json:"email,omitempty"`
	MobileNumber          string          `json:"mobileNumber,omitempty"`
	DrivingLicense        *DrivingLicense `json:"drivingLicense,omitempty"`
	Identification        *Identification `json:"identification,omitempty"`
	Address               *Address        `json:"address,omitempty"`
}

// DrivingLicense of the policyholder.
type DrivingLicense struct {
	IssueDate string `json:"issueDate"`
}

// Identification is an identity document ("CI" or "PASSPORT").
type Identification struct {
	IDType         string `json:"idType"`
	IDNumber       string `json:"idNumber"`
	IssueAuthority string `json:"issueAuthority,omitempty"`
	IssueDate      string `json:"issueDate,omitempty"`
}

// Address is a Romanian address: County is a county code ("CJ"), CityCode
// a locality's SIRUTA code (Locality.Siruta).
type Address struct {
	Country     string `json:"country"`
	County      string `json:"county"`
	City        string `json:"city"`
	CityCode    int64  `json:"cityCode,omitempty"`
	Street      string `json:"street,omitempty"`
	HouseNumber string `json:"houseNumber,omitempty"`
	Building    string `json:"building,omitempty"`
	Staircase   string `json:"staircase,omitempty"`
	Floor       string `json:"floor,omitempty"`
	Apartment   string `json:"apartment,omitempty"`
	Postcode    string `json:"postcode,omitempty"`
}

// Vehicle is the insured vehicle. Enumerations: VehicleType M1 … S,
// FuelType petrol diesel electric hybrid lpg none, Color white … purple,
// RegistrationType registered recorded temporaryRegistered
// temporaryRecorded. EnginePower is in kW.
type Vehicle struct {
	LicensePlate       string   `json:"licensePlate,omitempty"`
	RegistrationType   string   `json:"registrationType,omitempty"`
	VIN                string   `json:"vin,omitempty"`
	VehicleType        string   `json:"vehicleType"`
	Brand              string   `json:"brand"`
	Model              string   `json:"model"`
	YearOfConstruction int      `json:"yearOfConstruction"`
	EngineDisplacement int      `json:"engineDisplacement,omitempty"`
	EnginePower        int      `json:"enginePower,omitempty"`
	TotalWeight        int      `json:"totalWeight,omitempty"`
	Seats              int      `json:"seats,omitempty"`
	FuelType           string   `json:"fuelType,omitempty"`
	CurrentMileage     int      `json:"currentMileage,omitempty"`
	Color              string   `json:"color,omitempty"`
	MarketValue        *Decimal `json:"marketValue,omitempty"`
}

// Quote is the answer of POST /offer: the insurer's offers.
type Quote struct {
	Provider  Provider `json:"provider"`
	Offers    []Offer  `json:"offers"`
	RequestID string   `json:"-"`
}

// Offer is one priced offer; OfferID is what IssuePolicy and
// OfferDocument take. Amounts are in major units of Currency.
type Offer struct {
	OfferID           int64           `json:"offerId"`
	ProviderOfferCode string          `json:"providerOfferCode,omitempty"`
	PremiumAmount     Decimal         `json:"premiumAmount"`
	PremiumAmountNet  *Decimal        `json:"premiumAmountNet,omitempty"`
	Currency          string          `json:"currency"`
	StartDate         string          `json:"startDate,omitempty"`
	EndDate           string          `json:"endDate,omitempty"`
	OfferExpiryDate   string          `json:"offerExpiryDate,omitempty"`
	CommissionPercent *Decimal        `json:"commissionPercent,omitempty"`
	CommissionValue   *Decimal        `json:"commissionValue,omitempty"`
	Coverages         []OfferCoverage `json:"coverages,omitempty"`
	Deductibles       *Deductibles    `json:"deductibles,omitempty"`
	Installments      []Installment   `json:"installments,omitempty"`
}

// OfferCoverage is one coverage as priced.
type OfferCoverage struct {
	Code          string   `json:"code"`
	IsIncluded    bool     `json:"isIncluded"`
	InsuredSum    *Decimal `json:"insuredSum,omitempty"`
	PremiumAmount *Decimal `json:"premiumAmount,omitempty"`
}

// Installment is one payment of a premium.
type Installment struct {
	ID      int     `json:"id"`
	Amount  Decimal `json:"amount"`
	DueDate string  `json:"dueDate"`
}

// PolicyRequest is the body of POST /policy: turn an offer into a
// policy, paid as Payment says.
type PolicyRequest struct {
	OfferID int64   `json:"offerId"`
	Payment Payment `json:"payment"`
}

// Payment is how the premium was paid. Method is one of the Payment…
// constants; Amount must match the offer's premium.
type Payment struct {
	Method         string  `json:"method"`
	Currency       string  `json:"currency"`
	Amount         Decimal `json:"amount"`
	Date           string  `json:"date,omitempty"`
	DocumentNumber string  `json:"documentNumber,omitempty"`
}

// Issued is the answer of POST /policy.
type Issued struct {
	Policies  []Policy `json:"policies"`
	RequestID string   `json:"-"`
}

// Policy is an issued policy; Series and Number fetch its document.
type Policy struct {
	Provider      Provider      `json:"provider"`
	PolicyID      int64         `json:"policyId"`
	Series        string        `json:"series"`
	Number        int64         `json:"number"`
	OfferID       int64         `json:"offerId,omitempty"`
	StartDate     string        `json:"startDate,omitempty"`
	EndDate       string        `json:"endDate,omitempty"`
	PremiumAmount Decimal       `json:"premiumAmount"`
	Currency      string        `json:"currency"`
	Payment       *Payment      `json:"payment,omitempty"`
	Installments  []Installment `json:"installments,omitempty"`
}

// Country is an item of GET /nomenclature/country.
type Country struct {
	ID     int64  `json:"id"`
	ISO2   string `json:"iso2"`
	ISO3   string `json:"iso3,omitempty"`
	NameRO string `json:"nameRO"`
	NameEN string `json:"nameEN,omitempty"`
}

// County is an item of GET /nomenclature/county; Code ("CJ", "B") is
// what Localities takes.
type County struct {
	ID      int64  `json:"id"`
	Siruta  int64  `json:"siruta"`
	Code    string `json:"code"`
	Name    string `json:"name"`
	Country string `json:"country,omitempty"`
}

// Locality is an item of GET /nomenclature/locality/{county_code}. Rang
// ranks it: 2 a municipality … 5 a village. The API's own spec names the
// fields nume/cod_judet/cod_siruta while the service sends the names
// below; both decode.
type Locality struct {
	ID         int64  `json:"id"`
	Rang       int    `json:"rang"`
	Name       string `json:"name"`
	CountyCode string `json:"countyCode"`
	Siruta     int64  `json:"siruta"`
}

// UnmarshalJSON accepts the documented names as well as the served ones.
func (l *Locality) UnmarshalJSON(b []byte) error {
	type served Locality
	var v struct {
		served
		Nume      *string `json:"nume"`
		CodJudet  *string `json:"cod_judet"`
		CodSiruta *int64  `json:"cod_siruta"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*l = Locality(v.served)
	if l.Name == "" && v.Nume != nil {
		l.Name = *v.Nume
	}
	if l.CountyCode == "" && v.CodJudet != nil {
		l.CountyCode = *v.CodJudet
	}
	if l.Siruta == 0 && v.CodSiruta != nil {
		l.Siruta = *v.CodSiruta
	}
	return nil
}

// VehicleMake is an item of GET /nomenclature/vehicle-make.
type VehicleMake struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// VehicleModel is an item of GET /nomenclature/vehicle-model/{make}.
type VehicleModel struct {
	ID   int64  `json:"id"`
	Make string `json:"make"`
	Name string `json:"name"`
}

// VehicleIdentificationRequest is the body of POST
// /helper/vehicle-identification. VehicleType, Brand, Model and
// YearOfConstruction are required; EngineDisplacement is not for
// electric vehicles or trailers, EnginePower (kW) and Seats not for
// trailers.
type VehicleIdentificationRequest struct {
	VIN                string   `json:"vin,omitempty"`
	MotorSeries        string   `json:"motorSeries,omitempty"`
	VehicleType        string   `json:"vehicleType"`
	Brand              string   `json:"brand"`
	Model              string   `json:"model"`
	YearOfConstruction int      `json:"yearOfConstruction"`
	EngineDisplacement int      `json:"engineDisplacement,omitempty"`
	EnginePower        int      `json:"enginePower,omitempty"`
	TotalWeight        int      `json:"totalWeight,omitempty"`
	Seats              int      `json:"seats,omitempty"`
	FuelType           string   `json:"fuelType,omitempty"`
	CurrentMileage     int      `json:"currentMileage,omitempty"`
	Color              string   `json:"color,omitempty"`
	MarketValue        *Decimal `json:"marketValue,omitempty"`
}

// VehicleIdentification is the answer of the identification helper.
// Confidence is e.g. "exact".
type VehicleIdentification struct {
	VehicleCode        string `json:"vehicleCode"`
	Brand              string `json:"brand,omitempty"`
	Model              string `json:"model,omitempty"`
	YearOfConstruction int    `json:"yearOfConstruction,omitempty"`
	Confidence         string `json:"confidence,omitempty"`
	RequestID          string `json:"-"`
}

// envelope is every CascoApi answer: {"error", "status", "data"} plus
// "message" on errors, and possibly a correlation id or an errors list
// (the sibling Road API's shape). The documentation prints error and
// status as strings, the service sends bool and int; both decode.
type envelope struct {
	Error         flexBool        `json:"error"`
	Status        flexInt         `json:"status"`
	Message       looseString     `json:"message"`
	Data          json.RawMessage `json:"data"`
	CorrelationID looseString     `json:"correlation_id"`
	Errors        looseStrings    `json:"errors"`
}

// flexBool is true, false, "true", "false", 1, 0, "1" or "0".
type flexBool bool

func (f *flexBool) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(bytes.TrimSpace(b)), `"`)
	switch strings.ToLower(s) {
	case "true", "1":
		*f = true
	default:
		*f = false
	}
	return nil
}

// flexInt is an integer or a string holding one; anything else is 0.
type flexInt int

func (f *flexInt) UnmarshalJSON(b []byte) error {
	n, err := strconv.Atoi(strings.Trim(string(bytes.TrimSpace(b)), `"`))
	if err != nil {
		n = 0
	}
	*f = flexInt(n)
	return nil
}

// looseString is a string; a value of another type reads as "" rather
// than failing the whole error envelope.
type looseString string

func (l *looseString) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		*l = looseString(s)
	}
	return nil
}

// looseStrings keeps the string items of an array.
type looseStrings []string

func (l *looseStrings) UnmarshalJSON(b []byte) error {
	var items []json.RawMessage
	if json.Unmarshal(b, &items) != nil {
		return nil
	}
	for _, it := range items {
		var s string
		if json.Unmarshal(it, &s) == nil {
			*l = append(*l, s)
		}
	}
	return nil
}
