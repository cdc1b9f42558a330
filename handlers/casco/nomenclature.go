package casco

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"time"

	cascoapi "backoffice/apiclient/casco"
	"backoffice/handlers"
	"backoffice/internal/cache"
	"backoffice/internal/i18n"
	cascoviews "backoffice/views/casco"
)

// Nomenclature serves the CascoApi's reference lists as <option> lists for
// the quote flow's dependent selects (county then locality, make then
// model). The lists are the same for every partner: they are cached on
// the server, and concurrent misses make one upstream request.
type Nomenclature struct {
	h          *Handlers
	countries  *cache.Cache[[]cascoapi.Country]
	counties   *cache.Cache[[]cascoapi.County]
	localities *cache.Cache[[]cascoapi.Locality]
	makes      *cache.Cache[[]cascoapi.VehicleMake]
	models     *cache.Cache[[]cascoapi.VehicleModel]
}

// nomenclatureTTL: reference lists change a few times a year.
const nomenclatureTTL = 12 * time.Hour

func newNomenclature(h *Handlers) *Nomenclature {
	return &Nomenclature{
		h:          h,
		countries:  cache.New[[]cascoapi.Country](nomenclatureTTL, nil),
		counties:   cache.New[[]cascoapi.County](nomenclatureTTL, nil),
		localities: cache.New[[]cascoapi.Locality](nomenclatureTTL, nil),
		makes:      cache.New[[]cascoapi.VehicleMake](nomenclatureTTL, nil),
		models:     cache.New[[]cascoapi.VehicleModel](nomenclatureTTL, nil),
	}
}

var (
	countyCodePattern = regexp.MustCompile(`^[A-Z]{1,2}$`)
	maxMakeName       = 60
)

// cachedList returns a cached list, loading it through the asking
// partner's CascoApi session on a miss (the lists are the same for all).
func cachedList[T any](ctx context.Context, n *Nomenclature, c *cache.Cache[[]T], key string, fetch func(*cascoapi.Session, context.Context) ([]T, error)) ([]T, error) {
	return c.Get(ctx, key, func(ctx context.Context) ([]T, error) {
		s, err := n.h.cascoSession(ctx)
		if err != nil {
			return nil, err
		}
		return fetch(s, ctx)
	})
}

// countryList, countyList, localityList, makeList and modelList are the
// cached reference lists, for the options endpoints and for the step
// forms, which render their selects on the server (they work without
// JavaScript).
func (n *Nomenclature) countryList(ctx context.Context) ([]cascoapi.Country, error) {
	return cachedList(ctx, n, n.countries, "", (*cascoapi.Session).Countries)
}

func (n *Nomenclature) countyList(ctx context.Context) ([]cascoapi.County, error) {
	return cachedList(ctx, n, n.counties, "", (*cascoapi.Session).Counties)
}

// localityList is empty, without an upstream call, for anything that
// is not a county code.
func (n *Nomenclature) localityList(ctx context.Context, county string) ([]cascoapi.Locality, error) {
	county = strings.ToUpper(strings.TrimSpace(county))
	if !countyCodePattern.MatchString(county) {
		return nil, nil
	}
	return cachedList(ctx, n, n.localities, county, func(s *cascoapi.Session, ctx context.Context) ([]cascoapi.Locality, error) {
		return s.Localities(ctx, county)
	})
}

func (n *Nomenclature) makeList(ctx context.Context) ([]cascoapi.VehicleMake, error) {
	return cachedList(ctx, n, n.makes, "", (*cascoapi.Session).VehicleMakes)
}

// modelList is empty, without an upstream call, for a make name that
// cannot be one.
func (n *Nomenclature) modelList(ctx context.Context, makeName string) ([]cascoapi.VehicleModel, error) {
	makeName = strings.TrimSpace(makeName)
	if makeName == "" || len(makeName) > maxMakeName || strings.ContainsAny(makeName, "/?#\\") {
		return nil, nil
	}
	return cachedList(ctx, n, n.models, strings.ToLower(makeName), func(s *cascoapi.Session, ctx context.Context) ([]cascoapi.VehicleModel, error) {
		return s.VehicleModels(ctx, makeName)
	})
}

// Counties handles GET /casco/options/counties.
func (n *Nomenclature) Counties(w http.ResponseWriter, r *http.Request) error {
	list, err := n.countyList(r.Context())
	if err != nil {
		return err
	}
	return n.render(w, r, countyOptions(list), r.URL.Query().Get("selected"), "casco.choose.county")
}

// Localities handles GET /casco/options/localities?county=CJ.
func (n *Nomenclature) Localities(w http.ResponseWriter, r *http.Request) error {
	// An unknown or missing county has no localities, as upstream.
	list, err := n.localityList(r.Context(), r.URL.Query().Get("county"))
	if err != nil {
		return err
	}
	return n.render(w, r, localityOptions(list), r.URL.Query().Get("selected"), "casco.choose.locality")
}

// Makes handles GET /casco/options/makes.
func (n *Nomenclature) Makes(w http.ResponseWriter, r *http.Request) error {
	list, err := n.makeList(r.Context())
	if err != nil {
		return err
	}
	return n.render(w, r, makeOptions(list), r.URL.Query().Get("selected"), "casco.choose.make")
}

// Models handles GET /casco/options/models?make=Dacia.
func (n *Nomenclature) Models(w http.ResponseWriter, r *http.Request) error {
	list, err := n.modelList(r.Context(), r.URL.Query().Get("make"))
	if err != nil {
		return err
	}
	return n.render(w, r, modelOptions(list), r.URL.Query().Get("selected"), "casco.choose.model")
}

func countyOptions(list []cascoapi.County) []cascoviews.Option {
	return toOptions(list, func(c cascoapi.County) (string, string) { return c.Code, c.Name })
}

func localityOptions(list []cascoapi.Locality) []cascoviews.Option {
	return toOptions(list, func(l cascoapi.Locality) (string, string) { return l.Name, l.Name })
}

func makeOptions(list []cascoapi.VehicleMake) []cascoviews.Option {
	return toOptions(list, func(m cascoapi.VehicleMake) (string, string) { return m.Name, m.Name })
}

func modelOptions(list []cascoapi.VehicleModel) []cascoviews.Option {
	return toOptions(list, func(m cascoapi.VehicleModel) (string, string) { return m.Name, m.Name })
}

// toOptions turns a reference list into select options.
func toOptions[T any](list []T, valueLabel func(T) (string, string)) []cascoviews.Option {
	opts := make([]cascoviews.Option, 0, len(list))
	for _, item := range list {
		value, label := valueLabel(item)
		opts = append(opts, cascoviews.Option{Value: value, Label: label})
	}
	return opts
}

// selectOptions marks the option whose value is selected (the first, if
// several share it).
func selectOptions(opts []cascoviews.Option, selected string) []cascoviews.Option {
	done := false
	for i := range opts {
		opts[i].Selected = !done && selected != "" && opts[i].Value == selected
		done = done || opts[i].Selected
	}
	return opts
}

func (n *Nomenclature) render(w http.ResponseWriter, r *http.Request, opts []cascoviews.Option, selected, placeholderKey string) error {
	opts = selectOptions(opts, selected)
	// Shared reference data, but only for signed-in partners: a private
	// cache may keep it a while.
	w.Header().Set("Cache-Control", "private, max-age=300")
	return handlers.Render(w, r, http.StatusOK, cascoviews.Options(i18n.T(r.Context(), placeholderKey), opts))
}
