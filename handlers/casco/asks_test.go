package casco_test

import (
	"context"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"backoffice/internal/quotes"
	"backoffice/internal/sandbox"
	"backoffice/web/webtest"
)

// heldStore is a quote store whose answers from one insurer wait for
// the test to let them through: that insurer is slow, deterministically.
// Asks of the providers in aged read as started longer ago than
// quotes.AskBound, as an ask left behind by a stopped instance would.
type heldStore struct {
	quotes.Store
	slow    string
	release chan struct{}
	once    sync.Once

	mu   sync.Mutex
	aged []string
}

func (s *heldStore) FinishAsk(ctx context.Context, account, draftID, provider, token string, offers []quotes.Offer) (bool, error) {
	if provider == s.slow {
		<-s.release
	}
	return s.Store.FinishAsk(ctx, account, draftID, provider, token, offers)
}

func (s *heldStore) Answers(ctx context.Context, account, draftID string) ([]quotes.Offer, []quotes.Ask, error) {
	offers, asks, err := s.Store.Answers(ctx, account, draftID)
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, k := range asks {
		if slices.Contains(s.aged, k.Provider) {
			asks[i].StartedAt = k.StartedAt.Add(-quotes.AskBound - time.Second)
		}
	}
	return offers, asks, err
}

func (s *heldStore) let() { s.once.Do(func() { close(s.release) }) }

// columnStates reads each insurer's column: its premium, "asking" or
// its error.
func columnStates(r webtest.Response) map[string]string {
	out := offerCells(r.Doc, "premium")
	for p := range out {
		out[p] = "offer"
	}
	r.Doc.Find(`[data-testid="offer-asking"]`).Each(func(_ int, s *goquery.Selection) {
		out[s.AttrOr("data-provider", "")] = "asking"
	})
	r.Doc.Find(`[data-testid="offer-error"]`).Each(func(_ int, s *goquery.Selection) {
		out[s.AttrOr("data-provider", "")] = "error"
	})
	return out
}

// TestCascoOffersArrive: saving the cover asks the chosen insurers at
// once; the offers page shows each answer as it is stored, polling while
// an insurer is still asked (on any instance), a failed insurer can be
// asked again alone, and an ask nobody finished ends as no answer.
func TestCascoOffersArrive(t *testing.T) {
	t.Parallel()
	store := &heldStore{Store: quotes.NewMemory(), slow: "groupama", release: make(chan struct{})}
	t.Cleanup(store.let)
	srv := webtest.NewServer(t, webtest.Options{Quotes: store, Sandbox: sandbox.Options{Policies: 20,
		Faults: sandbox.Faults{CascoUnavailable: []string{"allianz"}}}})
	second := srv.SecondInstance(t)
	b := demoPartner(t, srv)
	id := newDraft(t, b)
	saveStep(t, b, id, "vehicle", vehicleForm, "owner")
	saveStep(t, b, id, "owner", ownerForm, "cover")
	saveStep(t, b, id, "cover", coverForm, "offers")

	// The fast insurers and the failing one answer; Groupama is still
	// being asked.
	want := map[string]string{"generali": "offer", "eazy_insure": "offer", "allianz": "error", "groupama": "asking"}
	var first webtest.Response
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		first = pollOffers(t, b, id)
		got := columnStates(first)
		if len(got) == 4 && got["groupama"] == "asking" && got["generali"] == "offer" && got["eazy_insure"] == "offer" && got["allianz"] == "error" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("columns = %v, want %v", got, want)
		}
	}
	region := first.Doc.Find(`#offers-table`)
	if region.AttrOr("data-polling", "") != "true" || region.AttrOr("hx-get", "") != stepPath(id, "offers") ||
		region.AttrOr("hx-trigger", "") != "every 700ms" || region.AttrOr("hx-swap", "") != "outerHTML" {
		t.Errorf("the table region does not poll its page's URL: %v", region.Nodes[0].Attr)
	}
	if got := webtest.Text(first.Doc.Find(`[data-testid="offers-waiting"]`)); got != "Waiting for 1 insurer to answer." {
		t.Errorf("waiting = %q", got)
	}
	failed := first.Doc.Find(`[data-testid="offer-error"][data-provider="allianz"]`)
	if got := webtest.Text(failed.Find(`[role="status"]`)); got != "No offer: Product unavailable" {
		t.Errorf("allianz = %q", got)
	}
	retry := failed.Find(`form`)
	if retry.AttrOr("method", "") != "post" || retry.AttrOr("action", "") != stepPath(id, "offers")+"/allianz/retry" ||
		webtest.Text(retry.Find(`[data-testid="offer-retry"]`)) != "Try again" {
		t.Errorf("allianz has no Try again form: %q", webtest.Text(failed))
	}
	if first.Doc.Find(`[data-testid="offer-retry"]`).Length() != 1 {
		t.Error("a column that did not fail has a Try again button")
	}
	// The page itself holds the same region, with the Ask again form.
	page := b.Page(t, stepPath(id, "offers"), http.StatusOK)
	if page.Doc.Find(`#offers-table[data-polling="true"]`).Length() != 1 || page.Doc.Find(`[data-testid="ask-offers"]`).Length() != 1 {
		t.Error("the page lacks the polling table or the Ask again form")
	}
	// Another instance serving the poll sees the same: it is all in the
	// store.
	onSecond := b.On(second)
	if got := columnStates(pollOffers(t, onSecond, id)); !maps.Equal(got, want) {
		t.Errorf("second instance columns = %v, want %v", got, want)
	}

	// Groupama answers: its offer arrives, the polling stops.
	store.let()
	last := waitAnswers(t, b, id)
	if got := columnStates(last); !maps.Equal(got, map[string]string{"generali": "offer", "eazy_insure": "offer", "allianz": "error", "groupama": "offer"}) {
		t.Errorf("columns after groupama = %v", got)
	}
	if last.Doc.Find(`#offers-table`).AttrOr("hx-get", "") != "" || last.Doc.Find(`[data-testid="offers-waiting"]`).Length() != 0 {
		t.Error("the table still polls with no insurer being asked")
	}
	if n := srv.Upstream.Sandbox.Calls(sandbox.RouteCascoOffer); n != 4 {
		t.Errorf("quote requests = %d, want 4 (one per insurer)", n)
	}
	before, err := store.Offers(context.Background(), sandbox.CascoDemoAccount, id)
	if err != nil {
		t.Fatal(err)
	}

	// Try again asks Allianz alone (available now); the other offers stay.
	srv.Upstream.Sandbox.SetFaults(sandbox.Faults{})
	// A Try again form is one-time: without its token it asks no one.
	if r := b.Post(stepPath(id, "offers")+"/allianz/retry", nil); r.Status != http.StatusConflict || !strings.Contains(webtest.Text(r.Doc.Find("main")), "expired") {
		t.Errorf("try again without its token = %d: %.300s", r.Status, webtest.Text(r.Doc.Find("main")))
	}
	if r := b.Post(stepPath(id, "offers")+"/allianz/retry", retryForm(t, last, "allianz")); r.Status != http.StatusSeeOther || r.Header.Get("Location") != stepPath(id, "offers") {
		t.Fatalf("try again = %d to %q", r.Status, r.Header.Get("Location"))
	}
	again := waitAnswers(t, b, id)
	if n := srv.Upstream.Sandbox.Calls(sandbox.RouteCascoOffer); n != 5 {
		t.Errorf("quote requests after Try again = %d, want 5 (allianz once more)", n)
	}
	if got := columnStates(again); !maps.Equal(got, map[string]string{"generali": "offer", "eazy_insure": "offer", "allianz": "offer", "groupama": "offer"}) {
		t.Errorf("columns after Try again = %v", got)
	}
	after, _ := store.Offers(context.Background(), sandbox.CascoDemoAccount, id)
	for _, o := range before {
		if o.Provider != "allianz" && !slices.ContainsFunc(after, func(a quotes.Offer) bool { return a.OfferID == o.OfferID }) {
			t.Errorf("%s's offer %s was dropped by asking allianz again", o.Provider, o.OfferID)
		}
	}
	if r := b.Post(stepPath(id, "offers")+"/nobody/retry", retryForm(t, last, "allianz")); r.Status != http.StatusNotFound {
		t.Errorf("try again for an insurer not chosen = %d, want 404", r.Status)
	}
	if n := srv.Upstream.Sandbox.Calls(sandbox.RouteCascoOffer); n != 5 {
		t.Errorf("quote requests = %d, want still 5", n)
	}

	// An ask nobody finished (its instance stopped) ends as no answer
	// once older than the bound, with Try again; nothing polls then.
	if _, err := store.StartAsks(context.Background(), sandbox.CascoDemoAccount, id, []string{"eazy_insure"}, false); err != nil {
		t.Fatal(err)
	}
	if got := columnStates(pollOffers(t, b, id))["eazy_insure"]; got != "asking" {
		t.Errorf("eazy_insure = %q, want asking", got)
	}
	store.mu.Lock()
	store.aged = []string{"eazy_insure"}
	store.mu.Unlock()
	stale := pollOffers(t, onSecond, id)
	gone := stale.Doc.Find(`[data-testid="offer-error"][data-provider="eazy_insure"]`)
	if got := webtest.Text(gone.Find(`[role="status"]`)); got != "No offer: the insurer did not answer in time. Ask again in a moment." {
		t.Errorf("stale ask = %q", got)
	}
	if gone.Find(`[data-testid="offer-retry"]`).Length() != 1 || stale.Doc.Find(`#offers-table`).AttrOr("data-polling", "") != "false" {
		t.Error("a stale ask has no Try again, or the table still polls")
	}
}

// retryForm is the Try again form of provider's column on page.
func retryForm(t *testing.T, page webtest.Response, provider string) url.Values {
	t.Helper()
	token := page.Doc.Find(`[data-testid="offer-error"][data-provider="`+provider+`"] form input[name="token"]`).AttrOr("value", "")
	if token == "" {
		t.Fatalf("%s has no Try again form with a token", provider)
	}
	return url.Values{"token": {token}}
}
