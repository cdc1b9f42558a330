package sandbox_test

import (
	"slices"
	"strings"
	"testing"

	"backoffice/internal/sandbox"
)

func TestCascoNomenclature(t *testing.T) {
	t.Parallel()
	srv, _ := startCasco(t, sandbox.Options{})
	tk := demoLogin(t, srv).Token
	get := func(t *testing.T, path string, out any) {
		t.Helper()
		mustCascoOK(t, do(t, "GET", srv.CascoURL+"/nomenclature/"+path, "", token(tk)), out)
	}

	t.Run("countries", func(t *testing.T) {
		type country struct {
			ID     int    `json:"id"`
			ISO2   string `json:"iso2"`
			ISO3   string `json:"iso3"`
			NameRO string `json:"nameRO"`
			NameEN string `json:"nameEN"`
		}
		var cs []country
		get(t, "country", &cs)
		if len(cs) != 249 {
			t.Errorf("got %d countries, want the 249 of ISO 3166-1", len(cs))
		}
		seen := map[string]bool{}
		for i, c := range cs {
			if len(c.ISO2) != 2 || len(c.ISO3) != 3 || c.ID <= 0 || c.NameRO == "" || c.NameEN == "" || seen[c.ISO2] {
				t.Errorf("bad or duplicate country %+v", c)
			}
			seen[c.ISO2] = true
			if i > 0 && cs[i-1].ISO2 >= c.ISO2 {
				t.Errorf("not sorted by iso2 at %s", c.ISO2)
			}
		}
		for _, want := range []country{{642, "RO", "ROU", "România", "Romania"}, {498, "MD", "MDA", "Republica Moldova", "Moldova"}, {276, "DE", "DEU", "Germania", "Germany"}} {
			if !slices.Contains(cs, want) {
				t.Errorf("missing %+v", want)
			}
		}
		for _, gone := range []string{"YU", "SU", "CS", "AN", "EU", "ZZ", "XK", "UK"} {
			if seen[gone] {
				t.Errorf("%s is not an ISO 3166-1 country", gone)
			}
		}
	})

	type county struct {
		ID      int    `json:"id"`
		Siruta  int    `json:"siruta"`
		Code    string `json:"code"`
		Name    string `json:"name"`
		Country string `json:"country"`
	}
	var counties []county
	t.Run("counties", func(t *testing.T) {
		get(t, "county", &counties)
		codes := "AB AR AG BC BH BN BT BV BR BZ CS CL CJ CT CV DB DJ GL GR GJ HR HD IL IS IF MM MH MS NT OT PH SM SJ SB SV TR TM TL VS VL VN B"
		var got []string
		for _, c := range counties {
			got = append(got, c.Code)
			if c.Country != "RO" || c.Name != strings.ToUpper(c.Name) {
				t.Errorf("county %+v", c)
			}
		}
		slices.Sort(got)
		want := strings.Fields(codes)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("codes: got %v, want %v", got, want)
		}
		for _, w := range []county{{12, 127, "CJ", "CLUJ", "RO"}, {40, 403, "B", "BUCUREȘTI", "RO"}, {3, 38, "AG", "ARGEȘ", "RO"}} {
			if !slices.Contains(counties, w) {
				t.Errorf("missing %+v", w)
			}
		}
		if counties[0].Code != "AB" || counties[len(counties)-1].Code != "VN" {
			t.Errorf("not sorted by name: first %s, last %s", counties[0].Code, counties[len(counties)-1].Code)
		}
	})

	type locality struct {
		ID         int    `json:"id"`
		Rang       int    `json:"rang"`
		Name       string `json:"name"`
		CountyCode string `json:"countyCode"`
		Siruta     int    `json:"siruta"`
	}
	t.Run("localities", func(t *testing.T) {
		total := 0
		for _, c := range counties {
			var ls []locality
			get(t, "locality/"+c.Code, &ls)
			if len(ls) == 0 {
				t.Errorf("%s: no localities", c.Code)
			}
			total += len(ls)
			for i, l := range ls {
				if l.CountyCode != c.Code || l.Rang < 0 || l.Rang > 5 || l.Siruta <= 0 || l.Name == "" {
					t.Errorf("%s: bad locality %+v", c.Code, l)
				}
				if i > 0 && ls[i-1].Rang > l.Rang {
					t.Errorf("%s: not sorted by rang at %s", c.Code, l.Name)
				}
			}
		}
		if total != 13756 {
			t.Errorf("got %d localities, want every SIRUTA locality (13756)", total)
		}
		var cj []locality
		get(t, "locality/cj", &cj)
		if cj[0].Name != "CLUJ-NAPOCA" || cj[0].Rang != 1 || cj[0].Siruta != 54984 {
			t.Errorf("CJ first: %+v", cj[0])
		}
		var ar []locality
		get(t, "locality/AR", &ar)
		if ar[0].Name != "ARAD" || ar[0].Rang != 2 || ar[0].Siruta != 9271 {
			t.Errorf("AR first: %+v, want the contract's ARAD rang 2 siruta 9271", ar[0])
		}
		var b []locality
		get(t, "locality/B", &b)
		if len(b) != 7 || b[0].Name != "BUCUREȘTI" || b[0].Rang != 0 || b[6].Name != "BUCUREȘTI SECTORUL 6" {
			t.Errorf("B: %+v", b)
		}
		// Romanian collation: Ț sorts between T and U, not after Z.
		var villages []string
		for _, l := range cj {
			if l.Rang == 4 {
				villages = append(villages, l.Name)
			}
		}
		t1, t2, u := slices.Index(villages, "TURENI"), slices.Index(villages, "ȚAGA"), slices.Index(villages, "UNGURAȘ")
		if t1 < 0 || t2 != t1+1 || u != t2+1 || villages[len(villages)-1] != "VULTURENI" {
			t.Errorf("CJ commune seats not in Romanian order: %v", villages)
		}
		for _, code := range []string{"XX", "12", "C", "CJJ"} {
			r := do(t, "GET", srv.CascoURL+"/nomenclature/locality/"+code, "", token(tk))
			mustCascoOK(t, r, nil)
			if string(r.body) != `{"error":false,"status":200,"data":[]}` {
				t.Errorf("%s: got %s, want an empty list", code, r.body)
			}
		}
	})

	t.Run("makes and models", func(t *testing.T) {
		type mk struct {
			ID   int    `json:"id"`
			Name string `json:"name"`
		}
		type model struct {
			ID   int    `json:"id"`
			Make string `json:"make"`
			Name string `json:"name"`
		}
		var makes []mk
		get(t, "vehicle-make", &makes)
		if len(makes) < 30 {
			t.Errorf("got %d makes, want at least 30", len(makes))
		}
		names := map[string]bool{}
		for _, m := range makes {
			names[m.Name] = true
			var models []model
			get(t, "vehicle-model/"+strings.ReplaceAll(m.Name, " ", "%20"), &models)
			if len(models) < 3 {
				t.Errorf("%s: %d models", m.Name, len(models))
			}
			for _, x := range models {
				if x.Make != m.Name || x.ID <= 0 || x.Name == "" {
					t.Errorf("%s: bad model %+v", m.Name, x)
				}
			}
		}
		for _, w := range []string{"Dacia", "Toyota", "Volkswagen", "Škoda", "Citroën", "Mercedes-Benz", "Land Rover"} {
			if !names[w] {
				t.Errorf("missing make %s", w)
			}
		}
		var toyota, skoda, lr []model
		get(t, "vehicle-model/Toyota", &toyota)
		if !slices.ContainsFunc(toyota, func(m model) bool { return m.Name == "Corolla" }) {
			t.Errorf("Toyota: %v", toyota)
		}
		get(t, "vehicle-model/skoda", &skoda)
		if len(skoda) == 0 || skoda[0].Make != "Škoda" {
			t.Errorf("skoda: %v", skoda)
		}
		get(t, "vehicle-model/LAND%20ROVER", &lr)
		if len(lr) == 0 || lr[0].Make != "Land Rover" {
			t.Errorf("LAND ROVER: %v", lr)
		}
		r := do(t, "GET", srv.CascoURL+"/nomenclature/vehicle-model/Trabant", "", token(tk))
		if string(r.body) != `{"error":false,"status":200,"data":[]}` {
			t.Errorf("unknown make: %s", r.body)
		}
	})

	t.Run("token required", func(t *testing.T) {
		for _, p := range []string{"country", "county", "locality/CJ", "vehicle-make", "vehicle-model/Dacia"} {
			wantCascoError(t, do(t, "GET", srv.CascoURL+"/nomenclature/"+p, ""), 401, "Unauthorized")
		}
	})
	if srv.Sandbox.Calls(sandbox.RouteCascoLocalities) < 42 || srv.Sandbox.Calls(sandbox.RouteCascoModels) < 30 || srv.Sandbox.Calls(sandbox.RouteCascoCountries) != 2 {
		t.Errorf("calls: localities %d, models %d, countries %d", srv.Sandbox.Calls(sandbox.RouteCascoLocalities), srv.Sandbox.Calls(sandbox.RouteCascoModels), srv.Sandbox.Calls(sandbox.RouteCascoCountries))
	}
}

func TestCascoVehicleIdentification(t *testing.T) {
	t.Parallel()
	srv, _ := startCasco(t, sandbox.Options{}) // clock: 2026, so next year is 2027
	tk := demoLogin(t, srv).Token
	url := srv.CascoURL + "/helper/vehicle-identification"
	sample := `{"vin": "1HGCM82633A123456", "motorSeries": "e2007", "vehicleType": "M1", "brand": "Toyota", "model": "Corolla",
 "yearOfConstruction": 2020, "engineDisplacement": 1800, "enginePower": 140, "totalWeight": 1500, "seats": 5,
 "fuelType": "petrol", "currentMileage": 120000, "color": "white", "marketValue": "100000.00"}`
	type ident struct {
		VehicleCode        string `json:"vehicleCode"`
		Brand              string `json:"brand"`
		Model              string `json:"model"`
		YearOfConstruction int    `json:"yearOfConstruction"`
		Confidence         string `json:"confidence"`
	}
	var got ident
	mustCascoOK(t, do(t, "POST", url, sample, token(tk), jsonBody()), &got)
	if got != (ident{"TOY-COROLLA-2020-1800-P", "Toyota", "Corolla", 2020, "exact"}) {
		t.Errorf("sample: got %+v", got)
	}
	for _, tc := range []struct {
		name, body string
		want       ident
	}{
		{"partial model", `{"vehicleType":"M1","brand":"toyota","model":"Corolla Touring Sports","yearOfConstruction":2021,"engineDisplacement":1798,"enginePower":90,"seats":5,"fuelType":"hybrid"}`,
			ident{"TOY-COROLLA-2021-1798-H", "Toyota", "Corolla", 2021, "partial"}},
		{"electric without displacement", `{"vehicleType":"M1","brand":"Tesla","model":"Model 3","yearOfConstruction":2027,"enginePower":208,"seats":5,"fuelType":"electric"}`,
			ident{"TES-MODEL-3-2027-0-E", "Tesla", "Model 3", 2027, "exact"}},
		{"electric with 0 displacement", `{"vehicleType":"M1","brand":"Dacia","model":"Spring","yearOfConstruction":2023,"engineDisplacement":0,"enginePower":33,"seats":4,"fuelType":"electric"}`,
			ident{"DAC-SPRING-2023-0-E", "Dacia", "Spring", 2023, "exact"}},
		{"trailer", `{"vehicleType":"O4","brand":"Schmitz Cargobull","model":"S.KO","yearOfConstruction":2019,"totalWeight":39000,"fuelType":"none"}`,
			ident{"SCH-S-KO-2019-0-N", "Schmitz Cargobull", "S.KO", 2019, "exact"}},
		{"diacritics and numbers as strings", `{"vehicleType":"M1","brand":"Citroen","model":"C3","yearOfConstruction":"2018","engineDisplacement":"1199","enginePower":"61","seats":"5"}`,
			ident{"CIT-C3-2018-1199-X", "Citroën", "C3", 2018, "exact"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got ident
			mustCascoOK(t, do(t, "POST", url, tc.body, token(tk), jsonBody()), &got)
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}

	for _, tc := range []struct {
		name, body string
		ro         bool
		want       map[string]string
	}{
		{"empty", `{}`, false, map[string]string{
			"vehicleType": "The vehicleType field is required.", "brand": "The brand field is required.",
			"model": "The model field is required.", "yearOfConstruction": "The yearOfConstruction field is required.",
		}},
		{"year after next year", `{"vehicleType":"M1","brand":"Toyota","model":"Corolla","yearOfConstruction":2028,"engineDisplacement":1800,"enginePower":90,"seats":5}`, false,
			map[string]string{"yearOfConstruction": "The yearOfConstruction field must not be greater than 2027."}},
		{"year in Romanian", `{"vehicleType":"M1","brand":"Toyota","model":"Corolla","yearOfConstruction":2028,"engineDisplacement":1800,"enginePower":90,"seats":5}`, true,
			map[string]string{"yearOfConstruction": "Câmpul yearOfConstruction nu poate fi mai mare de 2027."}},
		{"combustion needs displacement, power and seats", `{"vehicleType":"M1","brand":"Toyota","model":"Corolla","yearOfConstruction":2020,"fuelType":"diesel"}`, false,
			map[string]string{"engineDisplacement": "The engineDisplacement field is required.", "enginePower": "The enginePower field is required.", "seats": "The seats field is required."}},
		{"electric with displacement", `{"vehicleType":"M1","brand":"Tesla","model":"Model 3","yearOfConstruction":2022,"engineDisplacement":1500,"enginePower":208,"seats":5,"fuelType":"electric"}`, false,
			map[string]string{"engineDisplacement": "The engineDisplacement field must be empty for electric vehicles."}},
		{"electric still needs power", `{"vehicleType":"M1","brand":"Tesla","model":"Model 3","yearOfConstruction":2022,"seats":5,"fuelType":"electric"}`, false,
			map[string]string{"enginePower": "The enginePower field is required."}},
		{"trailer with engine and seats", `{"vehicleType":"O2","brand":"Schmitz Cargobull","model":"S.KO","yearOfConstruction":2019,"engineDisplacement":1000,"enginePower":50,"seats":2}`, true,
			map[string]string{"engineDisplacement": "Câmpul engineDisplacement trebuie să lipsească pentru remorci.", "enginePower": "Câmpul enginePower trebuie să lipsească pentru remorci.", "seats": "Câmpul seats trebuie să lipsească pentru remorci."}},
		{"bad types and enums", `{"vehicleType":"M9","brand":42,"model":"Corolla","yearOfConstruction":2020.5,"engineDisplacement":1800,"enginePower":90,"seats":5,"fuelType":"steam","color":"pink","marketValue":"1000.001","vin":"1HGCM82633A12345I"}`, false,
			map[string]string{"vehicleType": "The selected vehicleType is invalid.", "brand": "The brand field must be a string.", "yearOfConstruction": "The yearOfConstruction field must be an integer.",
				"fuelType": "The selected fuelType is invalid.", "color": "The selected color is invalid.", "marketValue": "The marketValue field must have at most 2 decimals.",
				"vin": "The vin field must be 17 letters and digits without I, O or Q."}},
		{"not a number", `{"vehicleType":"M1","brand":"Toyota","model":"Corolla","yearOfConstruction":2020,"engineDisplacement":1800,"enginePower":0,"seats":5,"marketValue":"lots"}`, false,
			map[string]string{"marketValue": "The marketValue field must be a number.", "enginePower": "The enginePower field must be at least 1."}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := []reqOpt{token(tk), jsonBody()}
			if tc.ro {
				opts = append(opts, romanian())
			}
			wantFields(t, wantCascoError(t, do(t, "POST", url, tc.body, opts...), 400, "VALIDATION_ERROR"), tc.want)
		})
	}

	t.Run("unknown vehicle", func(t *testing.T) {
		for _, body := range []string{
			`{"vehicleType":"M1","brand":"Trabant","model":"601","yearOfConstruction":1988,"engineDisplacement":595,"enginePower":19,"seats":4}`,
			`{"vehicleType":"M1","brand":"Toyota","model":"Supra","yearOfConstruction":2020,"engineDisplacement":2998,"enginePower":250,"seats":2}`,
		} {
			wantCascoError(t, do(t, "POST", url, body, token(tk), jsonBody()), 404, "Vehicle could not be identified")
		}
		wantCascoError(t, do(t, "POST", url, `{"vehicleType":"M1","brand":"Trabant","model":"601","yearOfConstruction":1988,"engineDisplacement":595,"enginePower":19,"seats":4}`,
			token(tk), jsonBody(), romanian()), 404, "Vehiculul nu a putut fi identificat")
	})
	t.Run("bodies", func(t *testing.T) {
		wantCascoError(t, do(t, "POST", url, sample, token(tk)), 415, "Content-Type must be application/json.")
		wantCascoError(t, do(t, "POST", url, `{"vin":`, token(tk), jsonBody()), 400, "Malformed JSON body.")
		wantCascoError(t, do(t, "POST", url, `[]`, token(tk), jsonBody(), romanian()), 400, "Corpul JSON al cererii este invalid.")
		wantCascoError(t, do(t, "POST", url, sample, jsonBody()), 401, "Unauthorized")
	})
}
