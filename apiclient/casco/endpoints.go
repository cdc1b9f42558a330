package casco

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"backoffice/apiclient"
)

// Quote asks the insurer named in req for offers (POST /offer). A refusal
// by the insurer that is not about fields ("Produs indisponibil") also
// matches ErrProvider; a VALIDATION_ERROR has apiclient.Error.Fields keyed
// by dotted paths ("product.policyholder.address.floor").
func (s *Session) Quote(ctx context.Context, req QuoteRequest) (*Quote, error) {
	const op = "POST /offer"
	var secrets []string
	if a := req.Provider.Authentication; a != nil {
		secrets = append(secrets, a.Password, a.Code)
	}
	var q Quote
	reqID, err := s.call(ctx, op, http.MethodPost, s.c.endpoint("offer"), req, &q, secrets...)
	if err != nil {
		return nil, providerError(err)
	}
	// Never hand an echoed insurer password on to a page.
	q.Provider.Authentication = nil
	q.RequestID = reqID
	return &q, nil
}

// QuoteResult is one insurer's answer in QuoteAll: a quote or an error.
type QuoteResult struct {
	Provider string // Provider.Organization.BusinessName of the request
	Quote    *Quote
	Err      error
}

// QuoteAll asks several insurers at once, one request each (CascoApi
// quotes one provider per call), and returns their results in the order
// of reqs. One insurer's failure (ErrProvider: "Produs indisponibil")
// does not stop the others. Calls share the session's token renewal.
func (s *Session) QuoteAll(ctx context.Context, reqs []QuoteRequest) []QuoteResult {
	out := make([]QuoteResult, len(reqs))
	var wg sync.WaitGroup
	for i, req := range reqs {
		out[i].Provider = req.Provider.Organization.BusinessName
		wg.Go(func() {
			out[i].Quote, out[i].Err = s.Quote(ctx, req)
		})
	}
	wg.Wait()
	return out
}

// IssuePolicy turns an offer into a policy (POST /policy). Errors like
// an expired offer or one already issued match ErrProvider; an unknown
// offer matches apiclient.ErrNotFound.
func (s *Session) IssuePolicy(ctx context.Context, req PolicyRequest) (*Issued, error) {
	const op = "POST /policy"
	if req.OfferID <= 0 {
		return nil, s.c.invalid(op, apiclient.ErrBadRequest, "offer id must be positive")
	}
	var out Issued
	reqID, err := s.call(ctx, op, http.MethodPost, s.c.endpoint("policy"), req, &out)
	if err != nil {
		return nil, providerError(err)
	}
	if len(out.Policies) == 0 {
		return nil, s.c.fail(ctx, &apiclient.Error{Upstream: upstream, Op: op, StatusCode: http.StatusOK,
			Message: "answer has no policy", RequestID: reqID, Kind: apiclient.ErrInvalidResponse}, nil)
	}
	out.RequestID = reqID
	return &out, nil
}

// OfferDocument streams the PDF of an offer (GET /offer/{id}).
func (s *Session) OfferDocument(ctx context.Context, offerID int64) (*Document, error) {
	const op = "GET /offer/{id}"
	if offerID <= 0 {
		return nil, s.c.invalid(op, apiclient.ErrBadRequest, "offer id must be positive")
	}
	id := strconv.FormatInt(offerID, 10)
	return s.document(ctx, op, s.c.endpoint("offer", id), DocumentOffer, "offer-"+id+".pdf")
}

// PolicyDocument streams the PDF of a policy, found by series and number
// (GET /policy?series=&number=).
func (s *Session) PolicyDocument(ctx context.Context, series string, number int64) (*Document, error) {
	const op = "GET /policy"
	if err := s.c.checkSegment(op, "series", series); err != nil {
		return nil, err
	}
	if number <= 0 {
		return nil, s.c.invalid(op, apiclient.ErrBadRequest, "policy number must be positive")
	}
	n := strconv.FormatInt(number, 10)
	u := s.c.endpoint("policy")
	u.RawQuery = url.Values{"series": {series}, "number": {n}}.Encode()
	name := "policy-" + strings.NewReplacer("/", "-", `\`, "-", " ", "-").Replace(series) + "-" + n + ".pdf"
	return s.document(ctx, op, u, DocumentPolicy, name)
}

// Countries lists the countries (GET /nomenclature/country).
func (s *Session) Countries(ctx context.Context) ([]Country, error) {
	var out []Country
	_, err := s.call(ctx, "GET /nomenclature/country", http.MethodGet, s.c.endpoint("nomenclature", "country"), nil, &out)
	return out, err
}

// Counties lists Romania's counties (GET /nomenclature/county).
func (s *Session) Counties(ctx context.Context) ([]County, error) {
	var out []County
	_, err := s.call(ctx, "GET /nomenclature/county", http.MethodGet, s.c.endpoint("nomenclature", "county"), nil, &out)
	return out, err
}

// Localities lists the localities of a county by its letter code ("CJ",
// "B"; County.Code), as the upstream orders them. An unknown code gives
// an empty list, not an error: the upstream does not tell them apart.
func (s *Session) Localities(ctx context.Context, countyCode string) ([]Locality, error) {
	const op = "GET /nomenclature/locality/{county_code}"
	if err := s.c.checkSegment(op, "county code", countyCode); err != nil {
		return nil, err
	}
	var out []Locality
	_, err := s.call(ctx, op, http.MethodGet, s.c.endpoint("nomenclature", "locality", countyCode), nil, &out)
	return out, err
}

// VehicleMakes lists the vehicle makes (GET /nomenclature/vehicle-make).
func (s *Session) VehicleMakes(ctx context.Context) ([]VehicleMake, error) {
	var out []VehicleMake
	_, err := s.call(ctx, "GET /nomenclature/vehicle-make", http.MethodGet, s.c.endpoint("nomenclature", "vehicle-make"), nil, &out)
	return out, err
}

// VehicleModels lists the models of a make, by the make's name ("Toyota",
// "Mercedes Benz"); an unknown make gives an empty list.
func (s *Session) VehicleModels(ctx context.Context, makeName string) ([]VehicleModel, error) {
	const op = "GET /nomenclature/vehicle-model/{make}"
	if err := s.c.checkSegment(op, "make", makeName); err != nil {
		return nil, err
	}
	var out []VehicleModel
	_, err := s.call(ctx, op, http.MethodGet, s.c.endpoint("nomenclature", "vehicle-model", makeName), nil, &out)
	return out, err
}

// IdentifyVehicle finds a vehicle's code from its mechanical data (POST
// /helper/vehicle-identification). A vehicle it cannot identify matches
// apiclient.ErrNotFound.
func (s *Session) IdentifyVehicle(ctx context.Context, req VehicleIdentificationRequest) (*VehicleIdentification, error) {
	const op = "POST /helper/vehicle-identification"
	var out VehicleIdentification
	reqID, err := s.call(ctx, op, http.MethodPost, s.c.endpoint("helper", "vehicle-identification"), req, &out)
	if err != nil {
		return nil, err
	}
	out.RequestID = reqID
	return &out, nil
}

// call performs one JSON call under the session's token (see with) and
// decodes the envelope's data into out. extra are secrets of the body.
func (s *Session) call(ctx context.Context, op, method string, u *url.URL, in, out any, extra ...string) (string, error) {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return "", s.c.invalid(op, apiclient.ErrBadRequest, "cannot encode request")
		}
	}
	var reqID string
	err := s.with(ctx, func(tok string, secrets []string) error {
		r := request{op: op, method: method, url: u, body: body, token: tok, lang: s.language(),
			secrets: append(secrets, extra...)}
		resp, cancel, err := s.c.send(ctx, r)
		if err != nil {
			return err
		}
		defer cancel()
		defer resp.Body.Close()
		reqID, err = s.c.readJSON(ctx, r, resp, out)
		return err
	})
	return reqID, err
}

// document opens a download under the session's token.
func (s *Session) document(ctx context.Context, op string, u *url.URL, want, fallbackName string) (*Document, error) {
	var doc *Document
	err := s.with(ctx, func(tok string, secrets []string) error {
		r := request{op: op, method: http.MethodGet, url: u, token: tok, lang: s.language(), secrets: secrets}
		resp, cancel, err := s.c.send(ctx, r)
		if err != nil {
			return err
		}
		d, err := s.c.openDocument(ctx, r, resp, cancel, want, fallbackName)
		if err != nil {
			resp.Body.Close()
			cancel()
			return err
		}
		doc = d
		return nil
	})
	return doc, err
}

// providerError marks an insurer's refusal: an answer with the
// upstream's own message that is not a validation error, an auth failure,
// a missing resource or an unusable answer.
func providerError(err error) error {
	var e *apiclient.Error
	if !errors.As(err, &e) || e.StatusCode == 0 || e.Cause != nil || len(e.Fields) > 0 ||
		e.Message == validationMessage || strings.HasSuffix(e.Message, noMessage) {
		return err
	}
	for _, k := range []error{apiclient.ErrUnauthorized, apiclient.ErrForbidden, apiclient.ErrNotFound, apiclient.ErrInvalidResponse} {
		if errors.Is(e.Kind, k) {
			return err
		}
	}
	e.Cause = ErrProvider
	return err
}
