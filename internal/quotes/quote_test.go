package quotes_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"backoffice/internal/quotes"
)

// The quote tests run on Memory: the rules are the package's own, the
// stores they go through are checked against each other by conformance.

func done() quotes.StepState { return quotes.StepState{Done: true} }

// filledQuote returns a quote whose three forms are done, as stored in
// a fresh Memory draft, read back with Load.
func filledQuote(t *testing.T, s quotes.Store) *quotes.Quote {
	t.Helper()
	q := mustLoad(t, s, broker, mustCreate(t, s, broker).ID)
	q.Vehicle = quotes.VehicleForm{Make: "Dacia", Model: "Logan", Plate: "B-123-ABC", VIN: "UU1DJF00164816823", StepState: done()}
	q.Owner = quotes.OwnerForm{Kind: quotes.OwnerPerson, FirstName: "Ion", LastName: "Popescu", Email: "ion@example.ro", StepState: done()}
	q.Cover = quotes.CoverForm{StartDate: "2026-03-01", Term: "12", Providers: []string{"generali", "allianz"}, StepState: done()}
	if err := quotes.Save(ctx, s, q); err != nil {
		t.Fatalf("Save: %v", err)
	}
	return mustLoad(t, s, broker, q.Draft.ID)
}

func mustLoad(t *testing.T, s quotes.Store, account, id string) *quotes.Quote {
	t.Helper()
	q, err := quotes.Load(ctx, s, account, id)
	if err != nil {
		t.Fatalf("Load(%q, %q): %v", account, id, err)
	}
	return q
}

var goodOffer = quotes.Offer{OfferID: "101", Provider: "generali", Body: json.RawMessage(`{"offerId":101}`)}

func failedOffer(provider string) quotes.Offer {
	return quotes.Offer{Provider: provider, Error: "no answer from the insurer"}
}

func TestFormsKeepTheStoredJSONNames(t *testing.T) {
	// A draft saved by the handlers' forms before the move must read
	// back field for field.
	stored := map[string]string{
		"vehicle": `{"vin":"V","make":"Dacia","model":"Logan","vehicle_type":"M1","fuel":"petrol","color":"white","year":"2020",
			"power":"66","displacement":"999","seats":"5","mileage":"1000","market_value":"5 000","registration":"registered",
			"plate":"B-1-ABC","vehicle_code":"C1","confidence":"high","done":true,"upstream":{"vin":"bad"}}`,
		"owner": `{"kind":"company","cnp":"1","first_name":"F","last_name":"L","birth_date":"1980-01-01","licence_date":"2000-01-01",
			"id_type":"CI","id_number":"RX1","cui":"RO1","company_name":"SC X SRL","registry_number":"J40/1/2000","email":"e@x.ro",
			"phone":"0700000000","country":"RO","county":"B","locality":"Bucuresti","city":"C","street":"S","house_number":"1",
			"postcode":"010101","done":true}`,
		"cover": `{"start_date":"2026-03-01","term":"12","installments":"4","partial":"500","total":"10","insured_sum":"9000",
			"providers":["generali"],"upstream":{"":"whole step"}}`,
	}
	var v quotes.VehicleForm
	var o quotes.OwnerForm
	var c quotes.CoverForm
	for _, f := range []struct {
		name string
		out  any
	}{{"vehicle", &v}, {"owner", &o}, {"cover", &c}} {
		dec := json.NewDecoder(strings.NewReader(stored[f.name]))
		dec.DisallowUnknownFields()
		if err := dec.Decode(f.out); err != nil {
			t.Fatalf("%s: %v", f.name, err)
		}
		// Every stored name decodes, and encoding writes them all back.
		var want, got map[string]any
		_ = json.Unmarshal([]byte(stored[f.name]), &want)
		b, _ := json.Marshal(f.out)
		_ = json.Unmarshal(b, &got)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s round trip:\n got %s\nwant %s", f.name, b, stored[f.name])
		}
	}
	if v.Confidence != "high" || !v.Done || v.Upstream["vin"] != "bad" || !o.IsCompany() || c.Upstream[""] != "whole step" {
		t.Errorf("decoded %+v %+v %+v", v, o, c)
	}
}

func TestOwnerIsCompany(t *testing.T) {
	for kind, want := range map[string]bool{quotes.OwnerCompany: true, quotes.OwnerPerson: false, "": false, "Company": false} {
		if got := (quotes.OwnerForm{Kind: kind}).IsCompany(); got != want {
			t.Errorf("IsCompany(%q) = %v, want %v", kind, got, want)
		}
	}
}

func TestProgress(t *testing.T) {
	policy := []quotes.Policy{{OfferID: "101"}}
	for _, tc := range []struct {
		name string
		q    quotes.Quote
		want string
	}{
		{"fresh", quotes.Quote{}, quotes.StepVehicle},
		{"vehicle done", quotes.Quote{Vehicle: quotes.VehicleForm{StepState: done()}}, quotes.StepOwner},
		{"owner done, vehicle not", quotes.Quote{Owner: quotes.OwnerForm{StepState: done()}}, quotes.StepVehicle},
		{"vehicle and owner done", quotes.Quote{Vehicle: quotes.VehicleForm{StepState: done()}, Owner: quotes.OwnerForm{StepState: done()}}, quotes.StepCover},
		{"all forms done", allDone(), quotes.StepOffers},
		{"all forms done, offers", withOffers(allDone(), goodOffer), quotes.StepOffers},
		{"policy", quotes.Quote{Policies: policy}, quotes.StepDone},
		{"policy, forms done", func() quotes.Quote { q := allDone(); q.Policies = policy; return q }(), quotes.StepDone},
	} {
		if got := tc.q.Progress(); got != tc.want {
			t.Errorf("%s: Progress() = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func allDone() quotes.Quote {
	return quotes.Quote{
		Vehicle: quotes.VehicleForm{StepState: done()},
		Owner:   quotes.OwnerForm{StepState: done()},
		Cover:   quotes.CoverForm{StepState: done()},
	}
}

func withOffers(q quotes.Quote, offers ...quotes.Offer) quotes.Quote {
	q.Offers = offers
	return q
}

func TestReachable(t *testing.T) {
	states := []struct {
		name string
		q    quotes.Quote
	}{
		{"fresh", quotes.Quote{}},
		{"vehicle", quotes.Quote{Vehicle: quotes.VehicleForm{StepState: done()}}},
		{"owner only", quotes.Quote{Owner: quotes.OwnerForm{StepState: done()}}},
		{"vehicle+owner", quotes.Quote{Vehicle: quotes.VehicleForm{StepState: done()}, Owner: quotes.OwnerForm{StepState: done()}}},
		{"all forms", allDone()},
		{"all forms, failed offers", withOffers(allDone(), failedOffer("groupama"), quotes.Offer{Provider: "allianz"})},
		{"all forms, good offer", withOffers(allDone(), failedOffer("groupama"), goodOffer)},
		{"good offer, cover not done", func() quotes.Quote { q := withOffers(allDone(), goodOffer); q.Cover.Done = false; return q }()},
		{"locked", quotes.Quote{Policies: []quotes.Policy{{OfferID: "101"}}}},
	}
	// want[state][step], steps in the order of the columns.
	steps := []string{quotes.StepVehicle, quotes.StepOwner, quotes.StepCover, quotes.StepOffers, quotes.StepPolicy, quotes.StepDone, "nonsense"}
	want := map[string][]bool{
		"fresh":                      {true, false, false, false, false, false, false},
		"vehicle":                    {true, true, false, false, false, false, false},
		"owner only":                 {true, false, false, false, false, false, false},
		"vehicle+owner":              {true, true, true, false, false, false, false},
		"all forms":                  {true, true, true, true, false, false, false},
		"all forms, failed offers":   {true, true, true, true, false, false, false},
		"all forms, good offer":      {true, true, true, true, true, false, false},
		"good offer, cover not done": {true, true, true, false, false, false, false},
		"locked":                     {true, true, true, true, true, false, false},
	}
	for _, st := range states {
		for i, step := range steps {
			if got := st.q.Reachable(step); got != want[st.name][i] {
				t.Errorf("%s: Reachable(%q) = %v, want %v", st.name, step, got, want[st.name][i])
			}
		}
	}
}

func TestGoodOffersAndOffer(t *testing.T) {
	q := withOffers(quotes.Quote{}, failedOffer("groupama"), goodOffer, quotes.Offer{OfferID: "102", Provider: "allianz", Error: "expired"})
	if got := q.GoodOffers(); len(got) != 1 || got[0].OfferID != "101" {
		t.Errorf("GoodOffers() = %+v, want offer 101 only", got)
	}
	if o, ok := q.Offer("101"); !ok || o.Provider != "generali" {
		t.Errorf("Offer(101) = %+v, %v", o, ok)
	}
	for _, id := range []string{"102", "", "999"} {
		if _, ok := q.Offer(id); ok {
			t.Errorf("Offer(%q) found, want a good offer only", id)
		}
	}
}

func TestNextStep(t *testing.T) {
	for step, want := range map[string]string{
		quotes.StepVehicle: quotes.StepOwner,
		quotes.StepOwner:   quotes.StepCover,
		quotes.StepCover:   quotes.StepOffers,
		quotes.StepOffers:  quotes.StepPolicy,
		quotes.StepPolicy:  quotes.StepOffers,
		quotes.StepDone:    quotes.StepOffers,
		"":                 quotes.StepOffers,
	} {
		if got := quotes.NextStep(step); got != want {
			t.Errorf("NextStep(%q) = %q, want %q", step, got, want)
		}
	}
	if got, want := quotes.StepsInOrder(), []string{"vehicle", "owner", "cover", "offers", "policy"}; !slices.Equal(got, want) {
		t.Errorf("StepsInOrder() = %q, want %q", got, want)
	}
}

func TestTitle(t *testing.T) {
	vehicle := quotes.VehicleForm{Make: "Dacia", Model: "Logan", Plate: "B-123-ABC"}
	for _, tc := range []struct {
		name string
		q    quotes.Quote
		want string
	}{
		{"empty", quotes.Quote{}, ""},
		{"person", quotes.Quote{Vehicle: vehicle, Owner: quotes.OwnerForm{Kind: quotes.OwnerPerson, FirstName: "Ion", LastName: "Popescu"}}, "Dacia Logan · B-123-ABC · Ion Popescu"},
		{"no kind is a person", quotes.Quote{Vehicle: vehicle, Owner: quotes.OwnerForm{LastName: "Popescu"}}, "Dacia Logan · B-123-ABC · Popescu"},
		{"company", quotes.Quote{Vehicle: vehicle, Owner: quotes.OwnerForm{Kind: quotes.OwnerCompany, CompanyName: "SC Exemplu SRL", LastName: "Popescu"}}, "Dacia Logan · B-123-ABC · SC Exemplu SRL"},
		{"company without a name", quotes.Quote{Vehicle: vehicle, Owner: quotes.OwnerForm{Kind: quotes.OwnerCompany, LastName: "Popescu"}}, "Dacia Logan · B-123-ABC"},
		{"person without a last name", quotes.Quote{Vehicle: vehicle, Owner: quotes.OwnerForm{CompanyName: "SC Exemplu SRL"}}, "Dacia Logan · B-123-ABC"},
		{"make only", quotes.Quote{Vehicle: quotes.VehicleForm{Make: "Dacia"}}, "Dacia"},
		{"model only", quotes.Quote{Vehicle: quotes.VehicleForm{Model: "Logan"}}, "Logan"},
		{"plate and holder", quotes.Quote{Vehicle: quotes.VehicleForm{Plate: "B-1-XYZ"}, Owner: quotes.OwnerForm{LastName: "Ionescu"}}, "B-1-XYZ · Ionescu"},
	} {
		if got := tc.q.Title(); got != tc.want {
			t.Errorf("%s: Title() = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestTitleBound(t *testing.T) {
	// 2-byte runes, with the bound falling inside one of them.
	q := quotes.Quote{Vehicle: quotes.VehicleForm{Make: "x" + strings.Repeat("ș", quotes.MaxTitle)}}
	got := q.Title()
	if len(got) > quotes.MaxTitle || len(got) < quotes.MaxTitle-1 || !utf8.ValidString(got) || !strings.HasPrefix(q.Vehicle.Make, got) {
		t.Errorf("Title() is %d bytes (valid UTF-8: %v), want a prefix of at most %d on a rune boundary", len(got), utf8.ValidString(got), quotes.MaxTitle)
	}
	// SaveDraft takes it.
	s := quotes.NewMemory()
	lq := mustLoad(t, s, broker, mustCreate(t, s, broker).ID)
	lq.Vehicle = q.Vehicle
	if err := quotes.Save(ctx, s, lq); err != nil {
		t.Fatalf("Save with a long title: %v", err)
	}
}

func TestContents(t *testing.T) {
	base := allDone()
	base.Vehicle.Plate, base.Owner.Email, base.Cover.Providers = "B-1-ABC", "a@b.ro", []string{"generali"}
	same := []func(*quotes.Quote){
		func(q *quotes.Quote) { q.Vehicle.Done = false },
		func(q *quotes.Quote) { q.Owner.Upstream = map[string]string{"email": "bad"} },
		func(q *quotes.Quote) { q.Cover.StepState = quotes.StepState{Upstream: map[string]string{"": "x"}} },
		func(q *quotes.Quote) { q.Offers = []quotes.Offer{goodOffer} },
		func(q *quotes.Quote) { q.Draft.Title, q.Draft.Version = "other", 9 },
	}
	for i, change := range same {
		q := base
		change(&q)
		if q.Contents() != base.Contents() {
			t.Errorf("state change %d changed Contents():\n%s\n%s", i, q.Contents(), base.Contents())
		}
	}
	differ := []func(*quotes.Quote){
		func(q *quotes.Quote) { q.Vehicle.Plate = "B-2-ABC" },
		func(q *quotes.Quote) { q.Vehicle.MarketValue = "5000" },
		func(q *quotes.Quote) { q.Owner.Email = "c@d.ro" },
		func(q *quotes.Quote) { q.Owner.Kind = quotes.OwnerCompany },
		func(q *quotes.Quote) { q.Cover.Providers = []string{"generali", "allianz"} },
		func(q *quotes.Quote) { q.Cover.Term = "6" },
	}
	for i, change := range differ {
		q := base
		change(&q)
		if q.Contents() == base.Contents() {
			t.Errorf("input change %d left Contents() as it was: %s", i, q.Contents())
		}
	}
}

func TestHolderName(t *testing.T) {
	for _, tc := range []struct {
		owner quotes.OwnerForm
		want  string
	}{
		{quotes.OwnerForm{Kind: quotes.OwnerPerson, FirstName: "Ion", LastName: "Popescu", CompanyName: "ignored"}, "Ion Popescu"},
		{quotes.OwnerForm{LastName: "Popescu"}, "Popescu"},
		{quotes.OwnerForm{FirstName: "Ion"}, "Ion"},
		{quotes.OwnerForm{Kind: quotes.OwnerCompany, CompanyName: "SC Exemplu SRL", FirstName: "Ion", LastName: "Popescu"}, "SC Exemplu SRL"},
		{quotes.OwnerForm{Kind: quotes.OwnerCompany, LastName: "Popescu"}, ""},
		{quotes.OwnerForm{}, ""},
	} {
		q := quotes.Quote{Owner: tc.owner}
		if got := q.HolderName(); got != tc.want {
			t.Errorf("HolderName(%+v) = %q, want %q", tc.owner, got, tc.want)
		}
	}
}

func TestLoad(t *testing.T) {
	s := quotes.NewMemory()
	q := filledQuote(t, s)
	mustReplace(t, s, broker, q.Draft.ID, []quotes.Offer{goodOffer, failedOffer("groupama")})
	mustRecord(t, s, broker, quotes.Policy{DraftID: q.Draft.ID, OfferID: "101", Provider: "generali", Number: "1"})

	got := mustLoad(t, s, broker, q.Draft.ID)
	if got.Account != broker || got.Draft.ID != q.Draft.ID || got.Draft.Version != q.Draft.Version {
		t.Errorf("Load = account %q draft %s v%d, want %q %s v%d", got.Account, got.Draft.ID, got.Draft.Version, broker, q.Draft.ID, q.Draft.Version)
	}
	if got.Vehicle.Plate != "B-123-ABC" || got.Owner.LastName != "Popescu" || !slices.Equal(got.Cover.Providers, []string{"generali", "allianz"}) ||
		!got.Vehicle.Done || !got.Owner.Done || !got.Cover.Done {
		t.Errorf("forms not decoded: %+v %+v %+v", got.Vehicle, got.Owner, got.Cover)
	}
	if len(got.Offers) != 2 || got.Offers[0].OfferID != "101" || len(got.Policies) != 1 || got.Unreadable != nil {
		t.Errorf("Load: %d offers, %d policies, unreadable %q", len(got.Offers), len(got.Policies), got.Unreadable)
	}
}

func TestLoadFresh(t *testing.T) {
	s := quotes.NewMemory()
	d := mustCreate(t, s, broker)
	q := mustLoad(t, s, broker, d.ID)
	if q.Progress() != quotes.StepVehicle || q.Unreadable != nil || q.Offers != nil || q.Policies != nil ||
		!reflect.DeepEqual(q.Vehicle, quotes.VehicleForm{}) {
		t.Errorf("fresh draft loaded as %+v", q)
	}
}

func TestLoadNotFound(t *testing.T) {
	s := quotes.NewMemory()
	theirs := mustCreate(t, s, other)
	for _, tc := range []struct{ name, account, id string }{
		{"missing draft", broker, "AAAAAAAAAAAAAAAAAAAAAA"},
		{"invalid id", broker, "not an id/../"},
		{"empty id", broker, ""},
		{"another account's draft", broker, theirs.ID},
		{"invalid account", "", theirs.ID},
	} {
		q, err := quotes.Load(ctx, s, tc.account, tc.id)
		if !errors.Is(err, quotes.ErrNotFound) || errors.Is(err, quotes.ErrInvalid) || q != nil {
			t.Errorf("%s: Load = %v, %v; want nil, ErrNotFound only", tc.name, q, err)
		}
	}
}

func TestLoadUnreadableStep(t *testing.T) {
	s := quotes.NewMemory()
	d := mustCreate(t, s, broker)
	// An older shape: plate was an object; the vin before it would
	// decode, and must not survive on its own.
	d.Vehicle = json.RawMessage(`{"vin":"UU1DJF00164816823","plate":{"number":"B-1"},"done":true}`)
	d.Owner = json.RawMessage(`{"kind":"person","last_name":"Popescu","done":true}`)
	d.Cover = json.RawMessage(`["a list"]`)
	mustSave(t, s, d)

	q := mustLoad(t, s, broker, d.ID)
	if !slices.Equal(q.Unreadable, []string{quotes.StepVehicle, quotes.StepCover}) {
		t.Errorf("Unreadable = %q, want vehicle and cover", q.Unreadable)
	}
	if !reflect.DeepEqual(q.Vehicle, quotes.VehicleForm{}) || !reflect.DeepEqual(q.Cover, quotes.CoverForm{}) {
		t.Errorf("unreadable forms not zero: %+v %+v", q.Vehicle, q.Cover)
	}
	if q.Owner.LastName != "Popescu" || !q.Owner.Done {
		t.Errorf("readable owner lost: %+v", q.Owner)
	}
	if q.Progress() != quotes.StepVehicle {
		t.Errorf("Progress() = %q, want the vehicle step afresh", q.Progress())
	}
}

func TestSave(t *testing.T) {
	s := quotes.NewMemory()
	q := mustLoad(t, s, broker, mustCreate(t, s, broker).ID)
	q.Vehicle = quotes.VehicleForm{Make: "Dacia", Model: "Logan", Plate: "B-123-ABC", StepState: done()}
	q.Owner = quotes.OwnerForm{Kind: quotes.OwnerCompany, CompanyName: "SC X SRL"}
	if err := quotes.Save(ctx, s, q); err != nil {
		t.Fatalf("Save: %v", err)
	}
	if q.Draft.Version != 2 || q.Draft.Step != quotes.StepOwner || q.Draft.Title != "Dacia Logan · B-123-ABC · SC X SRL" {
		t.Errorf("q.Draft after Save = v%d %q %q", q.Draft.Version, q.Draft.Step, q.Draft.Title)
	}
	stored := mustGet(t, s, broker, q.Draft.ID)
	if stored.Version != 2 || stored.Step != quotes.StepOwner || stored.Title != q.Draft.Title {
		t.Errorf("stored draft = v%d %q %q", stored.Version, stored.Step, stored.Title)
	}
	var v quotes.VehicleForm
	if err := json.Unmarshal(stored.Vehicle, &v); err != nil || v.Plate != "B-123-ABC" || !v.Done {
		t.Errorf("stored vehicle %s: %v", stored.Vehicle, err)
	}

	// The same version again is stale.
	stale := *q
	stale.Draft.Version = 1
	if err := quotes.Save(ctx, s, &stale); !errors.Is(err, quotes.ErrConflict) {
		t.Errorf("Save of a stale version = %v, want ErrConflict", err)
	}
	if stale.Draft.Version != 1 {
		t.Errorf("a refused Save changed q.Draft to v%d", stale.Draft.Version)
	}
}

func TestCommitSaves(t *testing.T) {
	s := quotes.NewMemory()
	q := mustLoad(t, s, broker, mustCreate(t, s, broker).ID)
	conflict, err := quotes.Commit(ctx, s, q, q.Draft.Version, func(q *quotes.Quote) {
		q.Vehicle = quotes.VehicleForm{Make: "Dacia", Plate: "B-1-ABC", StepState: done()}
	})
	if err != nil || conflict {
		t.Fatalf("Commit = %v, %v; want saved", conflict, err)
	}
	stored := mustLoad(t, s, broker, q.Draft.ID)
	if stored.Draft.Version != 2 || stored.Vehicle.Plate != "B-1-ABC" || stored.Draft.Step != quotes.StepOwner || q.Draft.Version != 2 {
		t.Errorf("after Commit: stored v%d plate %q step %q; q v%d", stored.Draft.Version, stored.Vehicle.Plate, stored.Draft.Step, q.Draft.Version)
	}
}

// checkConflict checks a Commit that met a newer draft: the posted
// input on top of what is stored, which is left as it was.
func checkConflict(t *testing.T, s quotes.Store, q *quotes.Quote, conflict bool, err error, storedBefore quotes.Draft) {
	t.Helper()
	if err != nil || !conflict {
		t.Fatalf("Commit = %v, %v; want a conflict", conflict, err)
	}
	if q.Vehicle.Plate != "POSTED" {
		t.Errorf("posted input lost: plate %q", q.Vehicle.Plate)
	}
	if q.Owner.LastName != "Elsewhere" || q.Draft.Version != storedBefore.Version {
		t.Errorf("q not reloaded: owner %q, v%d (stored v%d)", q.Owner.LastName, q.Draft.Version, storedBefore.Version)
	}
	after := mustGet(t, s, broker, q.Draft.ID)
	if after.Version != storedBefore.Version || string(after.Vehicle) != string(storedBefore.Vehicle) || string(after.Owner) != string(storedBefore.Owner) {
		t.Errorf("the conflict changed the stored draft: v%d %s", after.Version, after.Vehicle)
	}
}

// savedElsewhere saves the draft as another tab would.
func savedElsewhere(t *testing.T, s quotes.Store, id string) quotes.Draft {
	t.Helper()
	q := mustLoad(t, s, broker, id)
	q.Owner.LastName = "Elsewhere"
	if err := quotes.Save(ctx, s, q); err != nil {
		t.Fatalf("Save elsewhere: %v", err)
	}
	return mustGet(t, s, broker, id)
}

func post(q *quotes.Quote) { q.Vehicle.Plate = "POSTED" }

func TestCommitStaleForm(t *testing.T) {
	// The form was filled from version 1; the draft is at 2 when it is
	// posted (and read).
	s := quotes.NewMemory()
	q0 := filledQuote(t, s)
	formVersion := q0.Draft.Version
	storedBefore := savedElsewhere(t, s, q0.Draft.ID)
	q := mustLoad(t, s, broker, q0.Draft.ID)
	conflict, err := quotes.Commit(ctx, s, q, formVersion, post)
	checkConflict(t, s, q, conflict, err, storedBefore)
}

func TestCommitConcurrentSave(t *testing.T) {
	// The draft was read at the form's version, then saved elsewhere
	// before this save: the store's ErrConflict.
	s := quotes.NewMemory()
	q := filledQuote(t, s)
	storedBefore := savedElsewhere(t, s, q.Draft.ID)
	conflict, err := quotes.Commit(ctx, s, q, q.Draft.Version, post)
	checkConflict(t, s, q, conflict, err, storedBefore)
}

func TestCommitChangedContentsDropOffers(t *testing.T) {
	s := quotes.NewMemory()
	q := filledQuote(t, s)
	mustReplace(t, s, broker, q.Draft.ID, []quotes.Offer{goodOffer})
	q = mustLoad(t, s, broker, q.Draft.ID)
	if conflict, err := quotes.Commit(ctx, s, q, q.Draft.Version, post); err != nil || conflict {
		t.Fatalf("Commit = %v, %v", conflict, err)
	}
	if q.Offers != nil || len(mustOffers(t, s, broker, q.Draft.ID)) != 0 {
		t.Errorf("offers for the old input kept: q has %d", len(q.Offers))
	}
}

func TestCommitUnchangedContentsKeepOffers(t *testing.T) {
	s := quotes.NewMemory()
	q := filledQuote(t, s)
	mustReplace(t, s, broker, q.Draft.ID, []quotes.Offer{goodOffer})
	q = mustLoad(t, s, broker, q.Draft.ID)
	plate := q.Vehicle.Plate
	conflict, err := quotes.Commit(ctx, s, q, q.Draft.Version, func(q *quotes.Quote) {
		// Saved again as it was, with only its state touched.
		q.Vehicle.Plate = plate
		q.Owner.Upstream = map[string]string{"email": "checked"}
	})
	if err != nil || conflict {
		t.Fatalf("Commit = %v, %v", conflict, err)
	}
	if len(q.Offers) != 1 || len(mustOffers(t, s, broker, q.Draft.ID)) != 1 {
		t.Errorf("offers dropped for unchanged input: q has %d", len(q.Offers))
	}
}

func TestCommitLockedKeepsOffers(t *testing.T) {
	s := quotes.NewMemory()
	q := filledQuote(t, s)
	mustReplace(t, s, broker, q.Draft.ID, []quotes.Offer{goodOffer})
	mustRecord(t, s, broker, quotes.Policy{DraftID: q.Draft.ID, OfferID: "101", Provider: "generali", Number: "1"})
	q = mustLoad(t, s, broker, q.Draft.ID)
	if conflict, err := quotes.Commit(ctx, s, q, q.Draft.Version, post); err != nil || conflict {
		t.Fatalf("Commit = %v, %v", conflict, err)
	}
	if len(q.Offers) != 1 || len(mustOffers(t, s, broker, q.Draft.ID)) != 1 {
		t.Errorf("the offer a policy came from was dropped: q has %d", len(q.Offers))
	}
	if q.Draft.Step != quotes.StepDone {
		t.Errorf("locked draft saved at step %q", q.Draft.Step)
	}
}

// interfering is a Store on which another save gets in before each
// SaveDraft, as many times as left says.
type interfering struct {
	quotes.Store
	left, saves int
}

func (s *interfering) SaveDraft(c context.Context, d quotes.Draft) (quotes.Draft, error) {
	s.saves++
	if s.left > 0 {
		s.left--
		cur, err := s.Store.GetDraft(c, d.Account, d.ID)
		if err != nil {
			return quotes.Draft{}, err
		}
		if _, err := s.Store.SaveDraft(c, cur); err != nil {
			return quotes.Draft{}, err
		}
	}
	return s.Store.SaveDraft(c, d)
}

func TestSettleMarksDone(t *testing.T) {
	s := quotes.NewMemory()
	q := filledQuote(t, s)
	mustReplace(t, s, broker, q.Draft.ID, []quotes.Offer{goodOffer})
	// q was read before the policy, as a conversion holds it.
	mustRecord(t, s, broker, quotes.Policy{DraftID: q.Draft.ID, OfferID: "101", Provider: "generali", Number: "1"})
	if err := quotes.Settle(ctx, s, q); err != nil {
		t.Fatalf("Settle: %v", err)
	}
	stored := mustGet(t, s, broker, q.Draft.ID)
	if stored.Step != quotes.StepDone || q.Draft.Step != quotes.StepDone || len(q.Policies) != 1 || stored.Version != q.Draft.Version {
		t.Errorf("after Settle: stored %q v%d, q %q v%d with %d policies", stored.Step, stored.Version, q.Draft.Step, q.Draft.Version, len(q.Policies))
	}
	// Settled already: nothing to save.
	if err := quotes.Settle(ctx, s, q); err != nil || mustGet(t, s, broker, q.Draft.ID).Version != stored.Version {
		t.Errorf("Settle of a settled draft: %v, saved again", err)
	}
}

func TestSettleRetriesConflicts(t *testing.T) {
	mem := quotes.NewMemory()
	q := filledQuote(t, mem)
	mustRecord(t, mem, broker, quotes.Policy{DraftID: q.Draft.ID, OfferID: "101", Provider: "generali", Number: "1"})
	s := &interfering{Store: mem, left: 2}
	if err := quotes.Settle(ctx, s, q); err != nil {
		t.Fatalf("Settle after two conflicts: %v", err)
	}
	if s.saves != 3 || mustGet(t, mem, broker, q.Draft.ID).Step != quotes.StepDone {
		t.Errorf("Settle: %d saves, step %q; want 3, done", s.saves, mustGet(t, mem, broker, q.Draft.ID).Step)
	}

	// A draft saved elsewhere every time: three attempts, then the
	// conflict.
	q = filledQuote(t, mem)
	mustRecord(t, mem, broker, quotes.Policy{DraftID: q.Draft.ID, OfferID: "201", Provider: "generali", Number: "2"})
	s = &interfering{Store: mem, left: 100}
	if err := quotes.Settle(ctx, s, q); !errors.Is(err, quotes.ErrConflict) || s.saves != 3 {
		t.Errorf("Settle against endless saves = %v after %d saves, want ErrConflict after 3", err, s.saves)
	}
}

func TestKeepUpstreamMessages(t *testing.T) {
	s := quotes.NewMemory()
	q := filledQuote(t, s)
	msgs := map[string]map[string]string{
		quotes.StepCover: {"": "the insured sum is too high"},
		quotes.StepOwner: {"email": "unknown domain"},
	}
	first, err := quotes.KeepUpstreamMessages(ctx, s, q, msgs)
	if err != nil || first != quotes.StepOwner {
		t.Fatalf("KeepUpstreamMessages = %q, %v; want owner", first, err)
	}
	stored := mustLoad(t, s, broker, q.Draft.ID)
	if !stored.Vehicle.Done || stored.Owner.Done || stored.Cover.Done {
		t.Errorf("done after the messages: vehicle %v owner %v cover %v; want true false false", stored.Vehicle.Done, stored.Owner.Done, stored.Cover.Done)
	}
	if stored.Owner.Upstream["email"] != "unknown domain" || stored.Cover.Upstream[""] != "the insured sum is too high" || stored.Vehicle.Upstream != nil {
		t.Errorf("messages stored: %v %v %v", stored.Vehicle.Upstream, stored.Owner.Upstream, stored.Cover.Upstream)
	}
	if stored.Draft.Step != quotes.StepOwner {
		t.Errorf("step = %q, want owner", stored.Draft.Step)
	}

	// None named: the broker goes back to the cover.
	if first, err := quotes.KeepUpstreamMessages(ctx, s, stored, nil); err != nil || first != quotes.StepCover {
		t.Errorf("KeepUpstreamMessages(nil) = %q, %v; want cover", first, err)
	}
}

func TestKeepUpstreamMessagesAfterConflict(t *testing.T) {
	mem := quotes.NewMemory()
	q := filledQuote(t, mem)
	s := &interfering{Store: mem, left: 1}
	first, err := quotes.KeepUpstreamMessages(ctx, s, q, map[string]map[string]string{quotes.StepVehicle: {"vin": "unknown VIN"}})
	if err != nil || first != quotes.StepVehicle || s.saves != 2 {
		t.Fatalf("KeepUpstreamMessages = %q, %v after %d saves; want vehicle after 2", first, err, s.saves)
	}
	stored := mustLoad(t, mem, broker, q.Draft.ID)
	if stored.Vehicle.Done || stored.Vehicle.Upstream["vin"] != "unknown VIN" {
		t.Errorf("messages lost to the conflict: %+v", stored.Vehicle.StepState)
	}
}
