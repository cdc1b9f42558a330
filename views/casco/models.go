package casco

import "backoffice/views/layout"

// Step is a step of a quote, as the navigation and the history name it
// (the quotes store's step names); its labels are "casco.step." + Step +
// ".title" and ".short", and "casco.history.at." + Step.
type Step string

// The steps, in order, and StepDone: a quote that became a policy (a
// state the history shows, not a page).
const (
	StepVehicle Step = "vehicle"
	StepOwner   Step = "owner"
	StepCover   Step = "cover"
	StepOffers  Step = "offers"
	StepPolicy  Step = "policy"
	StepDone    Step = "done"
)

// StepItem is one entry of the step navigation.
type StepItem struct {
	N    int
	Step Step
	// URL opens the step; "" while it cannot be opened yet.
	URL     string
	Current bool
	Done    bool
}

// StepPage is what every step page shares: the frame, the draft, the
// navigation and the messages above the form.
type StepPage struct {
	Meta    layout.PageMeta
	DraftID string
	// Title names the draft ("Toyota Corolla · CJ12ABC · Popescu"), ""
	// while it has no name yet.
	Title string
	Steps []StepItem
	// Action is where the step's form posts; Version the draft version
	// the form was filled from (a stale one is refused, not overwritten).
	Action  string
	Version int
	// Alert is a message above the form, read in AlertTone (an error
	// when none is set); AlertRequestID is the upstream's request id.
	Alert          string
	AlertTone      layout.Tone
	AlertRequestID string
	// Locked: the quote became a policy; the form is shown read-only.
	Locked bool
	// Errors maps a field name to its message.
	Errors map[string]string
}

// Err returns the message of field name, "" for none.
func (p StepPage) Err(name string) string { return p.Errors[name] }

// VehicleView is step 1, the vehicle.
type VehicleView struct {
	StepPage
	VIN, Make, Model, VehicleType, Fuel, Color string
	Year, Power, Displacement, Seats, Mileage  string
	MarketValue, Registration, Plate           string
	VehicleCode, Confidence                    string
	Makes, Models                              []Option
	VehicleTypes, Fuels, Colors, Registrations []Option
	// ModelVals are the htmx values sent with the models request
	// (JSON: the model to keep selected).
	ModelVals string
}

// OwnerView is step 2, the policyholder.
type OwnerView struct {
	StepPage
	Kind                                HolderKind
	CNP, FirstName, LastName, BirthDate string
	LicenceDate, IDType, IDNumber       string
	CUI, CompanyName, RegistryNumber    string
	Email, Phone                        string
	Country, County, Locality, City     string
	Street, HouseNumber, Postcode       string
	Countries, Counties, Localities     []Option
	IDTypes                             []Option
	Today                               string
	// LocalityVals are the htmx values sent with the localities request.
	LocalityVals string
}

// HolderKind is who the policyholder is; the form shows the fields of
// one kind.
type HolderKind string

// The kinds of policyholder (the values of the form's kind radio).
const (
	HolderPerson  HolderKind = "person"
	HolderCompany HolderKind = "company"
)

// Romania reports an address in Romania: county and locality come from
// the lists.
func (v OwnerView) Romania() bool { return v.Country == "RO" }

// CoverView is step 3, the cover.
type CoverView struct {
	StepPage
	StartDate, MinStart, MaxStart string
	Term, Installments            string
	Partial, Total, InsuredSum    string
	Terms, InstallmentOptions     []Option
	PartialOptions, TotalOptions  []Option
	Providers                     []Option
	// MarketValue is the vehicle's, formatted, for the insured sum's hint.
	MarketValue string
}

// OffersView is step 4: the offers side by side.
type OffersView struct {
	StepPage
	// Summary says what was asked (vehicle, start, term).
	Summary string
	Columns []OfferColumn
	// Asked: offers were asked for at least once.
	Asked bool
	// Token is the one-time token of the form that asks the insurers.
	Token string
	// Polling: an insurer is still being asked; the table asks PollURL
	// (the page's own URL) for itself again until none is.
	Polling bool
	PollURL string
}

// AskingCount is how many insurers are still being asked.
func (v OffersView) AskingCount() int {
	n := 0
	for _, c := range v.Columns {
		if c.Asking {
			n++
		}
	}
	return n
}

// OfferColumn is one provider's column.
type OfferColumn struct {
	Provider string // "groupama"
	Label    string // "Groupama"
	// Error is the provider's failure, shown in its column instead of
	// the values.
	Error string
	// Asking: the provider is still being asked; its column waits.
	Asking bool
	// RetryURL asks a failed provider alone again (POST); empty when it
	// cannot be.
	RetryURL string
	// RetryToken makes the retry form one-time: a double click asks the
	// insurer once.
	RetryToken string
	OfferID    string
	Code       string // the insurer's offer code
	Premium    string
	Net        string
	Commission string
	// Installments lists "amount · due date", the first first.
	Installments []string
	Partial      string
	Total        string
	Expiry       string
	Expired      bool
	PDFURL       string
	ChooseURL    string
}

// PolicyView is step 5: the chosen offer, paid, becomes a policy.
type PolicyView struct {
	StepPage
	Mode PolicyMode
	// The chosen offer.
	OfferID, Provider, Premium, Expiry string
	Installments                       []string
	// The payment form.
	Token, Method, Amount, Date, DocumentNumber string
	Currency                                    string
	Methods                                     []Option
	Today                                       string
	AmountHint                                  string
	// The issued policy.
	Series, Number, PolicyPDFURL, Period string
	OffersURL                            string
}

// PolicyMode is what the policy step shows.
type PolicyMode string

// The policy step shows the payment form of the chosen offer, or the
// policy the quote became.
const (
	PolicyForm   PolicyMode = "form"
	PolicyIssued PolicyMode = "issued"
)

// HomeView is the partner's quote history.
type HomeView struct {
	Meta    layout.PageMeta
	Account string
	Drafts  []DraftRow
	Total   int
	// PrevURL and NextURL page through the history ("" at either end).
	PrevURL, NextURL string
	Page, Pages      int
}

// DraftRow is one quote in the history.
type DraftRow struct {
	ID    string
	Title string
	// Details follow the title: the day the quote was started (and the
	// time, when that alone leaves two titles alike) and the insurers
	// asked ("3 Dec 2026 · 3 insurers"); "" for a quote with no title.
	Details    string
	Step       Step // where it was left, StepDone once a policy
	Updated    string
	UpdatedISO string
	URL        string
	Policies   []PolicyLink
}

// PolicyLink is an issued policy with its document.
type PolicyLink struct {
	Label    string // "GRP/CL 123456789"
	Provider string
	PDFURL   string
}
