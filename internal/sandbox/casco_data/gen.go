//go:build ignore

// gen writes countries.csv, counties.csv and localities.csv.gz from the
// SIRUTA files in shared/data and from CLDR (golang.org/x/text):
//
//	go run gen.go -data ../../../../shared/data
//
// The outputs are committed: the sandbox needs nothing outside the repo.
package main

import (
	"bufio"
	"compress/gzip"
	"encoding/csv"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/text/collate"
	"golang.org/x/text/language"
	"golang.org/x/text/language/display"
)

func main() {
	dir := flag.String("data", "../../../../shared/data", "folder with ro-counties.csv and ro-siruta.csv")
	flag.Parse()
	if err := countries(); err != nil {
		log.Fatal(err)
	}
	if err := romania(*dir); err != nil {
		log.Fatal(err)
	}
}

// notISO are codes x/text knows that ISO 3166-1 no longer (or never)
// assigns: withdrawn countries, transitional reservations, groupings.
var notISO = []string{"AN", "BU", "CS", "CT", "DD", "DY", "EU", "EZ", "FX", "HV", "JT", "MI", "NH", "NQ", "NT", "PU", "PZ", "RH", "SU", "TP", "UK", "UN", "VD", "WK", "YD", "YU", "ZR", "ZZ"}

// countries: ISO 3166-1 (numeric;alpha-2;alpha-3;Romanian;English), from
// x/text's region table and CLDR display names.
func countries() error {
	ro, en := display.Regions(language.Romanian), display.Regions(language.English)
	seen := map[string]bool{}
	var rows [][]string
	for a := 'A'; a <= 'Z'; a++ {
		for b := 'A'; b <= 'Z'; b++ {
			code := string([]rune{a, b})
			r, err := language.ParseRegion(code)
			if err != nil || r.String() != code || !r.IsCountry() || r.M49() == 0 || seen[code] {
				continue
			}
			if strings.HasPrefix(code, "X") || slices.Contains(notISO, code) {
				continue
			}
			iso3 := r.ISO3()
			if len(iso3) != 3 {
				continue
			}
			seen[code] = true
			rows = append(rows, []string{strconv.Itoa(r.M49()), code, iso3, ro.Name(r), en.Name(r)})
		}
	}
	f, err := os.Create("countries.csv")
	if err != nil {
		return err
	}
	defer f.Close()
	w := csv.NewWriter(f)
	w.Comma = ';'
	w.Write([]string{"id", "iso2", "iso3", "nameRO", "nameEN"})
	w.WriteAll(rows)
	w.Flush()
	log.Printf("%d countries", len(rows))
	return w.Error()
}

type unit struct {
	siruta, jud, sirsup, tip, niv int
	name                          string
}

func read(path string) ([][]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(bufio.NewReader(f))
	r.Comma = ';'
	rows, err := r.ReadAll()
	if err != nil {
		return nil, err
	}
	return rows[1:], nil
}

func romania(dir string) error {
	cRows, err := read(filepath.Join(dir, "ro-counties.csv"))
	if err != nil {
		return err
	}
	sRows, err := read(filepath.Join(dir, "ro-siruta.csv"))
	if err != nil {
		return err
	}
	code := map[int]string{}
	for _, r := range cRows {
		jud, _ := strconv.Atoi(r[0])
		code[jud] = r[1]
	}
	units := map[int]unit{}
	var all []unit
	for _, r := range sRows {
		n := func(i int) int { v, _ := strconv.Atoi(r[i]); return v }
		u := unit{siruta: n(0), name: r[1], jud: n(3), sirsup: n(4), tip: n(5), niv: n(6)}
		units[u.siruta] = u
		all = append(all, u)
	}
	col := collate.New(language.Romanian)
	// Counties: id = SIRUTA county number (JUD), siruta = the county's own
	// SIRUTA code, name upper case without "JUDEȚUL"/"MUNICIPIUL".
	type county struct {
		id, siruta int
		code, name string
	}
	var counties []county
	for _, u := range all {
		if u.tip == 40 {
			name := strings.TrimPrefix(strings.TrimPrefix(u.name, "JUDEȚUL "), "MUNICIPIUL ")
			counties = append(counties, county{u.jud, u.siruta, code[u.jud], name})
		}
	}
	slices.SortFunc(counties, func(a, b county) int { return col.CompareString(a.name, b.name) })
	f, err := os.Create("counties.csv")
	if err != nil {
		return err
	}
	fmt.Fprintln(f, "id;siruta;code;name")
	for _, c := range counties {
		fmt.Fprintf(f, "%d;%d;%s;%s\n", c.id, c.siruta, c.code, c.name)
	}
	if err := f.Close(); err != nil {
		return err
	}
	log.Printf("%d counties", len(counties))

	// Localities: every level-3 unit, plus Bucharest itself. rang follows
	// Law 351/2001: 0 the capital (and its sectors), I the eleven large
	// municipalities, II other municipalities, III towns, IV villages that
	// are commune seats, V every other locality (villages and the component
	// localities of municipalities, towns and communes).
	rankI := map[string]bool{"BACĂU": true, "BRAȘOV": true, "BRĂILA": true, "CLUJ-NAPOCA": true, "CONSTANȚA": true, "CRAIOVA": true,
		"GALAȚI": true, "IAȘI": true, "ORADEA": true, "PLOIEȘTI": true, "TIMIȘOARA": true}
	seatRank := map[int]int{} // municipality unit → rank of its seat
	for _, u := range all {
		if u.tip == 9 && u.niv == 3 {
			r := 2
			if rankI[u.name] {
				r = 1
			}
			seatRank[u.sirsup] = r
		}
	}
	type loc struct {
		county string
		siruta int
		rang   int
		name   string
	}
	var locs []loc
	for _, u := range all {
		var r int
		switch {
		case u.jud == 40 && u.tip == 9:
			locs = append(locs, loc{"B", u.siruta, 0, strings.TrimPrefix(u.name, "MUNICIPIUL ")})
			continue
		case u.niv != 3:
			continue
		case u.tip == 6:
			r = 0
		case u.tip == 9:
			r = seatRank[u.sirsup]
		case u.tip == 17:
			r = 3
		case u.tip == 22:
			r = 4
		case u.tip == 10, u.tip == 11, u.tip == 18, u.tip == 19, u.tip == 23:
			r = 5
		default:
			return fmt.Errorf("unknown TIP %d: %v", u.tip, u)
		}
		locs = append(locs, loc{code[u.jud], u.siruta, r, u.name})
	}
	slices.SortStableFunc(locs, func(a, b loc) int {
		if a.county != b.county {
			return strings.Compare(a.county, b.county)
		}
		if a.rang != b.rang {
			return a.rang - b.rang
		}
		if c := col.CompareString(a.name, b.name); c != 0 {
			return c
		}
		return a.siruta - b.siruta
	})
	gf, err := os.Create("localities.csv.gz")
	if err != nil {
		return err
	}
	zw, _ := gzip.NewWriterLevel(gf, gzip.BestCompression)
	fmt.Fprintln(zw, "countyCode;siruta;rang;name")
	for _, l := range locs {
		fmt.Fprintf(zw, "%s;%d;%d;%s\n", l.county, l.siruta, l.rang, l.name)
	}
	if err := zw.Close(); err != nil {
		return err
	}
	log.Printf("%d localities", len(locs))
	return gf.Close()
}
