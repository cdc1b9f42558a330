package sandbox

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"embed"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// cascoFiles holds the nomenclature tables (casco_data/README.md says
// where they come from). They are parsed once per Sandbox, on the first
// request that needs them.
//
//go:embed casco_data/countries.csv casco_data/counties.csv casco_data/localities.csv.gz casco_data/vehicles.csv
var cascoFiles embed.FS

type cascoCountry struct {
	ID     int    `json:"id"`
	ISO2   string `json:"iso2"`
	ISO3   string `json:"iso3"`
	NameRO string `json:"nameRO"`
	NameEN string `json:"nameEN"`
}

type cascoCounty struct {
	ID      int    `json:"id"`
	Siruta  int    `json:"siruta"`
	Code    string `json:"code"`
	Name    string `json:"name"`
	Country string `json:"country"`
}

type cascoLocality struct {
	ID         int    `json:"id"`
	Rang       int    `json:"rang"`
	Name       string `json:"name"`
	CountyCode string `json:"countyCode"`
	Siruta     int    `json:"siruta"`
}

type cascoMake struct {
	ID   int    `json:"id"`
	Name string `json:"name"`
}

type cascoModel struct {
	ID   int    `json:"id"`
	Make string `json:"make"`
	Name string `json:"name"`
}

type cascoData struct {
	countries    []cascoCountry
	countryByISO map[string]*cascoCountry
	counties     []cascoCounty
	countyByCode map[string]*cascoCounty
	localities   map[string][]cascoLocality // by county code, sorted by rang then name
	localityByID map[int]*cascoLocality     // by SIRUTA code
	makes        []cascoMake
	makeByKey    map[string]*cascoMake
	models       map[string][]cascoModel // by make key
}

// cascoNomenclature parses the embedded tables once per sandbox.
func (s *Sandbox) cascoNomenclature() (*cascoData, error) {
	cs := s.casco
	cs.dataOnce.Do(func() { cs.data, cs.dataErr = loadCascoData() })
	return cs.data, cs.dataErr
}

// readTable reads a ';'-separated file without its header row.
func readTable(r io.Reader, fields int, fn func(f []string) error) error {
	sc := bufio.NewScanner(r)
	first := true
	for sc.Scan() {
		if first {
			first = false
			continue
		}
		line := sc.Text()
		if line == "" {
			continue
		}
		f := strings.Split(line, ";")
		if len(f) != fields {
			return fmt.Errorf("line %q: want %d fields", line, fields)
		}
		if err := fn(f); err != nil {
			return fmt.Errorf("line %q: %w", line, err)
		}
	}
	return sc.Err()
}

func loadCascoData() (*cascoData, error) {
	d := &cascoData{
		countryByISO: make(map[string]*cascoCountry),
		countyByCode: make(map[string]*cascoCounty),
		localities:   make(map[string][]cascoLocality),
		localityByID: make(map[int]*cascoLocality),
		makeByKey:    make(map[string]*cascoMake),
		models:       make(map[string][]cascoModel),
	}
	open := func(name string) (io.Reader, error) {
		b, err := cascoFiles.ReadFile("casco_data/" + name)
		if err != nil {
			return nil, err
		}
		if strings.HasSuffix(name, ".gz") {
			return gzip.NewReader(bytes.NewReader(b))
		}
		return bytes.NewReader(b), nil
	}
	r, err := open("countries.csv")
	if err != nil {
		return nil, err
	}
	if err := readTable(r, 5, func(f []string) error {
		id, err := strconv.Atoi(f[0])
		d.countries = append(d.countries, cascoCountry{id, f[1], f[2], f[3], f[4]})
		return err
	}); err != nil {
		return nil, fmt.Errorf("countries: %w", err)
	}
	for i := range d.countries {
		d.countryByISO[d.countries[i].ISO2] = &d.countries[i]
	}
	if r, err = open("counties.csv"); err != nil {
		return nil, err
	}
	if err := readTable(r, 4, func(f []string) error {
		id, err1 := strconv.Atoi(f[0])
		sir, err2 := strconv.Atoi(f[1])
		d.counties = append(d.counties, cascoCounty{id, sir, f[2], f[3], "RO"})
		if err1 != nil {
			return err1
		}
		return err2
	}); err != nil {
		return nil, fmt.Errorf("counties: %w", err)
	}
	for i := range d.counties {
		d.countyByCode[d.counties[i].Code] = &d.counties[i]
	}
	if r, err = open("localities.csv.gz"); err != nil {
		return nil, err
	}
	id := 0
	if err := readTable(r, 4, func(f []string) error {
		sir, err1 := strconv.Atoi(f[1])
		rang, err2 := strconv.Atoi(f[2])
		if err1 != nil || err2 != nil {
			return fmt.Errorf("bad number")
		}
		id++
		d.localities[f[0]] = append(d.localities[f[0]], cascoLocality{ID: id, Rang: rang, Name: f[3], CountyCode: f[0], Siruta: sir})
		return nil
	}); err != nil {
		return nil, fmt.Errorf("localities: %w", err)
	}
	for code := range d.localities {
		ls := d.localities[code]
		for i := range ls {
			d.localityByID[ls[i].Siruta] = &ls[i]
		}
	}
	if r, err = open("vehicles.csv"); err != nil {
		return nil, err
	}
	modelID := 0
	if err := readTable(r, 2, func(f []string) error {
		mk := cascoMake{ID: len(d.makes) + 1, Name: f[0]}
		d.makes = append(d.makes, mk)
		key := nameKey(f[0])
		for m := range strings.SplitSeq(f[1], "|") {
			modelID++
			d.models[key] = append(d.models[key], cascoModel{ID: modelID, Make: f[0], Name: m})
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("vehicles: %w", err)
	}
	for i := range d.makes {
		d.makeByKey[nameKey(d.makes[i].Name)] = &d.makes[i]
	}
	return d, nil
}

// asciiFold replaces letters with diacritics by their ASCII base (ș → s,
// ë → e) and keeps everything else.
func asciiFold(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r < 0x80 {
			b.WriteRune(r)
			continue
		}
		f := fold(string(r))
		if f == "" {
			b.WriteRune(r)
			continue
		}
		if r != []rune(strings.ToLower(string(r)))[0] {
			f = strings.ToUpper(f)
		}
		b.WriteString(f)
	}
	return b.String()
}

// nameKey compares make and model names the forgiving way a broker types
// them: case, diacritics and repeated spaces do not matter ("skoda" finds
// "Škoda", "citroen" finds "Citroën").
func nameKey(s string) string {
	return strings.Join(strings.Fields(strings.ToLower(asciiFold(s))), " ")
}

// identify finds a make and model: "exact" when the model is known,
// "partial" when a known model starts the given one ("Corolla Touring
// Sports" → Corolla).
func (d *cascoData) identify(brand, model string) (mk, mdl, confidence string, ok bool) {
	m := d.makeByKey[nameKey(brand)]
	if m == nil {
		return "", "", "", false
	}
	key := nameKey(m.Name)
	want := nameKey(model)
	best := ""
	for _, x := range d.models[key] {
		k := nameKey(x.Name)
		if k == want {
			return m.Name, x.Name, "exact", true
		}
		if strings.HasPrefix(want, k+" ") && len(x.Name) > len(best) {
			best = x.Name
		}
	}
	if best != "" {
		return m.Name, best, "partial", true
	}
	return "", "", "", false
}

// ---- Nomenclature handlers (C8) ---------------------------------------------

func (s *Sandbox) nomenclature(c *call, fn func(d *cascoData) any) reply {
	if _, rep, ok := s.cascoAuthorize(c); !ok {
		return rep
	}
	d, err := s.cascoNomenclature()
	if err != nil {
		s.log.Error("sandbox: casco nomenclature", "err", err)
		return cascoError(500, "Internal server error.")
	}
	return cascoOK(fn(d))
}

// handleCascoCountries serves GET /casco/nomenclature/country: ISO 3166-1
// countries ordered by alpha-2 code.
func (s *Sandbox) handleCascoCountries(c *call) reply {
	return s.nomenclature(c, func(d *cascoData) any { return d.countries })
}

// handleCascoCounties serves GET /casco/nomenclature/county: the 41
// counties and Bucharest, ordered by name.
func (s *Sandbox) handleCascoCounties(c *call) reply {
	return s.nomenclature(c, func(d *cascoData) any { return d.counties })
}

// handleCascoLocalities serves GET /casco/nomenclature/locality/{county_code}:
// the county's localities by rang, then name. The code is the letter code
// ("CJ", "B"; case does not matter); an unknown code, numeric ones
// included, gives 200 with an empty list, as the real service does.
func (s *Sandbox) handleCascoLocalities(c *call) reply {
	return s.nomenclature(c, func(d *cascoData) any {
		ls := d.localities[strings.ToUpper(strings.TrimSpace(c.args[0]))]
		if ls == nil {
			return []cascoLocality{}
		}
		return ls
	})
}

// handleCascoMakes serves GET /casco/nomenclature/vehicle-make.
func (s *Sandbox) handleCascoMakes(c *call) reply {
	return s.nomenclature(c, func(d *cascoData) any { return d.makes })
}

// handleCascoModels serves GET /casco/nomenclature/vehicle-model/{make}: the
// make is a name (URL-encoded: "Land%20Rover"); unknown gives 200 [].
func (s *Sandbox) handleCascoModels(c *call) reply {
	return s.nomenclature(c, func(d *cascoData) any {
		ms := d.models[nameKey(c.args[0])]
		if ms == nil {
			return []cascoModel{}
		}
		return ms
	})
}
