package handlers

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"time"

	"backoffice/apiclient/casco"
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
	counties   *cache.Cache[[]casco.County]
	localities *cache.Cache[[]casco.Locality]
	makes      *cache.Cache[[]casco.VehicleMake]
	models     *cache.Cache[[]casco.VehicleModel]
}

// nomenclatureTTL: reference lists change a few times a year.
const nomenclatureTTL = 12 * time.Hour

func newNomenclature(h *Handlers) *Nomenclature {
	return &Nomenclature{
		h:          h,
		counties:   cache.New[[]casco.County](nomenclatureTTL, nil),
		localities: cache.New[[]casco.Locality](nomenclatureTTL, nil),
		makes:      cache.New[[]casco.VehicleMake](nomenclatureTTL, nil),
		models:     cache.New[[]casco.VehicleModel](nomenclatureTTL, nil),
	}
}

var (
	countyCodePattern = regexp.MustCompile(`^[A-Z]{1,2}$`)
	maxMakeName       = 60
)

// load runs fn with the partner's CascoApi session; a list is loaded with
// whichever partner asks first.
func (n *Nomenclature) session(ctx context.Context) (*casco.Session, error) {
	s, _, err := n.h.cascoSession(ctx)
	return s, err
}

// Counties handles GET /casco/options/counties.
func (n *Nomenclature) Counties(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	list, err := n.counties.Get(ctx, "", func(ctx context.Context) ([]casco.County, error) {
		s, err := n.session(ctx)
		if err != nil {
			return nil, err
		}
		return s.Counties(ctx)
	})
	if err != nil {
		return err
	}
	opts := make([]cascoviews.Option, 0, len(list))
	for _, c := range list {
		opts = append(opts, cascoviews.Option{Value: c.Code, Label: c.Name})
	}
	return n.render(w, r, opts, r.URL.Query().Get("selected"), "casco.choose.county")
}

// Localities handles GET /casco/options/localities?county=CJ.
func (n *Nomenclature) Localities(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	county := strings.ToUpper(strings.TrimSpace(r.URL.Query().Get("county")))
	var opts []cascoviews.Option
	if countyCodePattern.MatchString(county) {
		list, err := n.localities.Get(ctx, county, func(ctx context.Context) ([]casco.Locality, error) {
			s, err := n.session(ctx)
			if err != nil {
				return nil, err
			}
			return s.Localities(ctx, county)
		})
		if err != nil {
			return err
		}
		for _, l := range list {
			opts = append(opts, cascoviews.Option{Value: l.Name, Label: l.Name})
		}
	}
	// An unknown or missing county has no localities, as upstream.
	return n.render(w, r, opts, r.URL.Query().Get("selected"), "casco.choose.locality")
}

// Makes handles GET /casco/options/makes.
func (n *Nomenclature) Makes(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	list, err := n.makes.Get(ctx, "", func(ctx context.Context) ([]casco.VehicleMake, error) {
		s, err := n.session(ctx)
		if err != nil {
			return nil, err
		}
		return s.VehicleMakes(ctx)
	})
	if err != nil {
		return err
	}
	opts := make([]cascoviews.Option, 0, len(list))
	for _, m := range list {
		opts = append(opts, cascoviews.Option{Value: m.Name, Label: m.Name})
	}
	return n.render(w, r, opts, r.URL.Query().Get("selected"), "casco.choose.make")
}

// Models handles GET /casco/options/models?make=Dacia.
func (n *Nomenclature) Models(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	makeName := strings.TrimSpace(r.URL.Query().Get("make"))
	var opts []cascoviews.Option
	if makeName != "" && len(makeName) <= maxMakeName && !strings.ContainsAny(makeName, "/?#\\") {
		list, err := n.models.Get(ctx, strings.ToLower(makeName), func(ctx context.Context) ([]casco.VehicleModel, error) {
			s, err := n.session(ctx)
			if err != nil {
				return nil, err
			}
			return s.VehicleModels(ctx, makeName)
		})
		if err != nil {
			return err
		}
		for _, m := range list {
			opts = append(opts, cascoviews.Option{Value: m.Name, Label: m.Name})
		}
	}
	return n.render(w, r, opts, r.URL.Query().Get("selected"), "casco.choose.model")
}

func (n *Nomenclature) render(w http.ResponseWriter, r *http.Request, opts []cascoviews.Option, selected, placeholderKey string) error {
	for i := range opts {
		opts[i].Selected = opts[i].Value == selected
	}
	// Shared reference data, but only for signed-in partners: a private
	// cache may keep it a while.
	w.Header().Set("Cache-Control", "private, max-age=300")
	return render(w, r, http.StatusOK, cascoviews.Options(i18n.T(r.Context(), placeholderKey), opts))
}
