package quotes_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"backoffice/internal/quotes"
)

// providersOf lists the providers of offers, in order.
func providersOf(offers []quotes.Offer) []string {
	var out []string
	for _, o := range offers {
		out = append(out, o.Provider+"/"+o.OfferID+o.Error)
	}
	return out
}

func mustAsks(t *testing.T, s quotes.Store, account, draftID string) []quotes.Ask {
	t.Helper()
	asks, err := s.Asks(context.Background(), account, draftID)
	if err != nil {
		t.Fatalf("Asks: %v", err)
	}
	return asks
}

func asked(asks []quotes.Ask) []string {
	var out []string
	for _, k := range asks {
		out = append(out, k.Provider)
	}
	slices.Sort(out)
	return out
}

// testAsks: the insurers being asked, their answers kept as they come
// unless asked again since, a single insurer asked again, and
// ReplaceOffers ending every ask.
func testAsks(t *testing.T, st store) {
	ctx := context.Background()
	s := st.open(t)
	d := mustCreate(t, s, broker)
	other := mustCreate(t, s, "broker-other")
	if a := mustAsks(t, s, broker, d.ID); len(a) != 0 {
		t.Errorf("a new draft has %d asks", len(a))
	}
	mustReplace(t, s, broker, d.ID, []quotes.Offer{{OfferID: "old-1", Provider: "generali"}})

	before := time.Now().Add(-time.Millisecond)
	token, err := s.StartAsks(ctx, broker, d.ID, []string{"generali", "allianz", "groupama"}, true)
	if err != nil || token == "" {
		t.Fatalf("StartAsks = %q, %v", token, err)
	}
	asks := mustAsks(t, s, broker, d.ID)
	if got := asked(asks); !slices.Equal(got, []string{"allianz", "generali", "groupama"}) {
		t.Errorf("asked %v", got)
	}
	for _, k := range asks {
		checkTime(t, "StartedAt", k.StartedAt)
		if k.Token != token || k.StartedAt.Before(before) || k.Stale(time.Now()) || !k.Stale(k.StartedAt.Add(quotes.AskBound+time.Second)) {
			t.Errorf("ask %+v: want token %q, started now, stale after AskBound", k, token)
		}
	}
	if o := mustOffers(t, s, broker, d.ID); len(o) != 0 {
		t.Errorf("a new request for quotes kept %v", providersOf(o))
	}

	// Answers as they come.
	kept, err := s.FinishAsk(ctx, broker, d.ID, "generali", token, []quotes.Offer{{OfferID: "g-1", Provider: "generali"}, {OfferID: "g-2", Provider: "generali"}})
	if err != nil || !kept {
		t.Fatalf("FinishAsk generali = %v, %v", kept, err)
	}
	kept, err = s.FinishAsk(ctx, broker, d.ID, "allianz", token, []quotes.Offer{{Provider: "allianz", Error: "Product unavailable"}})
	if err != nil || !kept {
		t.Fatalf("FinishAsk allianz = %v, %v", kept, err)
	}
	if got := providersOf(mustOffers(t, s, broker, d.ID)); !slices.Equal(got, []string{"generali/g-1", "generali/g-2", "allianz/Product unavailable"}) {
		t.Errorf("offers = %v", got)
	}
	if got := asked(mustAsks(t, s, broker, d.ID)); !slices.Equal(got, []string{"groupama"}) {
		t.Errorf("still asked %v, want groupama", got)
	}
	// An answer told twice is kept once.
	if kept, err := s.FinishAsk(ctx, broker, d.ID, "allianz", token, nil); err != nil || kept {
		t.Errorf("allianz answered twice = %v, %v, want not kept", kept, err)
	}

	// Allianz alone asked again: its failure goes, the others stay.
	again, err := s.StartAsks(ctx, broker, d.ID, []string{"allianz"}, false)
	if err != nil || again == token {
		t.Fatalf("StartAsks allianz = %q, %v", again, err)
	}
	if got := providersOf(mustOffers(t, s, broker, d.ID)); !slices.Equal(got, []string{"generali/g-1", "generali/g-2"}) {
		t.Errorf("offers after asking allianz again = %v", got)
	}
	if got := asked(mustAsks(t, s, broker, d.ID)); !slices.Equal(got, []string{"allianz", "groupama"}) {
		t.Errorf("asked %v", got)
	}
	// Groupama asked again too: the answer to its first ask is stale.
	third, err := s.StartAsks(ctx, broker, d.ID, []string{"groupama"}, false)
	if err != nil {
		t.Fatal(err)
	}
	if kept, err := s.FinishAsk(ctx, broker, d.ID, "groupama", token, []quotes.Offer{{OfferID: "gr-old", Provider: "groupama"}}); err != nil || kept {
		t.Errorf("an answer to an earlier ask = %v, %v, want not kept", kept, err)
	}
	if kept, err := s.FinishAsk(ctx, broker, d.ID, "groupama", third, []quotes.Offer{{OfferID: "gr-new", Provider: "groupama"}}); err != nil || !kept {
		t.Errorf("the answer to the latest ask = %v, %v, want kept", kept, err)
	}
	if kept, err := s.FinishAsk(ctx, broker, d.ID, "allianz", again, []quotes.Offer{{OfferID: "a-1", Provider: "allianz"}}); err != nil || !kept {
		t.Errorf("allianz's second answer = %v, %v, want kept", kept, err)
	}
	got := providersOf(mustOffers(t, s, broker, d.ID))
	slices.Sort(got)
	if !slices.Equal(got, []string{"allianz/a-1", "generali/g-1", "generali/g-2", "groupama/gr-new"}) {
		t.Errorf("offers = %v", got)
	}

	// Replacing the offers ends the asks: their answers are not kept.
	late, err := s.StartAsks(ctx, broker, d.ID, []string{"eazy_insure"}, false)
	if err != nil {
		t.Fatal(err)
	}
	mustReplace(t, s, broker, d.ID, nil)
	if a := mustAsks(t, s, broker, d.ID); len(a) != 0 {
		t.Errorf("%d asks after ReplaceOffers", len(a))
	}
	if kept, err := s.FinishAsk(ctx, broker, d.ID, "eazy_insure", late, []quotes.Offer{{OfferID: "e-1", Provider: "eazy_insure"}}); err != nil || kept {
		t.Errorf("an answer after ReplaceOffers = %v, %v, want not kept", kept, err)
	}
	if o := mustOffers(t, s, broker, d.ID); len(o) != 0 {
		t.Errorf("offers = %v, want none", providersOf(o))
	}

	// Refusals: another account's draft, no provider, one twice, an
	// offer of another provider.
	if _, err := s.StartAsks(ctx, broker, other.ID, []string{"generali"}, true); !errors.Is(err, quotes.ErrNotFound) {
		t.Errorf("StartAsks on another account's draft: %v, want ErrNotFound", err)
	}
	if _, err := s.Asks(ctx, broker, other.ID); !errors.Is(err, quotes.ErrNotFound) {
		t.Errorf("Asks of another account's draft: %v, want ErrNotFound", err)
	}
	for _, p := range [][]string{nil, {"generali", "generali"}, {""}} {
		if _, err := s.StartAsks(ctx, broker, d.ID, p, true); !errors.Is(err, quotes.ErrInvalid) {
			t.Errorf("StartAsks %q: %v, want ErrInvalid", p, err)
		}
	}
	tok, _ := s.StartAsks(ctx, broker, d.ID, []string{"generali"}, true)
	if _, err := s.FinishAsk(ctx, broker, d.ID, "generali", tok, []quotes.Offer{{OfferID: "x", Provider: "allianz"}}); !errors.Is(err, quotes.ErrInvalid) {
		t.Errorf("an answer with another provider's offer: %v, want ErrInvalid", err)
	}
	if _, err := s.FinishAsk(ctx, "broker-other", d.ID, "generali", tok, nil); !errors.Is(err, quotes.ErrNotFound) {
		t.Errorf("FinishAsk by another account: %v, want ErrNotFound", err)
	}
	if got := asked(mustAsks(t, s, broker, d.ID)); !slices.Equal(got, []string{"generali"}) {
		t.Errorf("asked %v after the refusals", got)
	}
}

// testConcurrentAnswers: insurers answering at once each keep their
// offers; none is lost to another's write.
func testConcurrentAnswers(t *testing.T, st store) {
	ctx := context.Background()
	s := st.open(t)
	d := mustCreate(t, s, broker)
	providers := []string{"p0", "p1", "p2", "p3", "p4", "p5", "p6", "p7"}
	token, err := s.StartAsks(ctx, broker, d.ID, providers, true)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, len(providers))
	for i, p := range providers {
		wg.Go(func() {
			var kept bool
			kept, errs[i] = s.FinishAsk(ctx, broker, d.ID, p, token, []quotes.Offer{{OfferID: fmt.Sprintf("%s-a", p), Provider: p}, {OfferID: fmt.Sprintf("%s-b", p), Provider: p}})
			if errs[i] == nil && !kept {
				errs[i] = fmt.Errorf("%s: not kept", p)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := len(mustOffers(t, s, broker, d.ID)); n != 2*len(providers) {
		t.Errorf("%d offers, want %d", n, 2*len(providers))
	}
	if a := mustAsks(t, s, broker, d.ID); len(a) != 0 {
		t.Errorf("%d asks left", len(a))
	}

	// Read while they answer: every provider is always there, asked or
	// answered, never in neither.
	for round := range 10 {
		token, err := s.StartAsks(ctx, broker, d.ID, providers, true)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		var readErr error
		go func() {
			defer close(done)
			for reads := 0; ; reads++ {
				offers, asks, err := s.Answers(ctx, broker, d.ID)
				if err != nil {
					readErr = err
					return
				}
				seen := map[string]bool{}
				for _, o := range offers {
					seen[o.Provider] = true
				}
				for _, k := range asks {
					seen[k.Provider] = true
				}
				if len(seen) != len(providers) {
					readErr = fmt.Errorf("round %d, read %d: %d of %d providers seen (%d offers, %d asks)", round, reads, len(seen), len(providers), len(offers), len(asks))
					return
				}
				if len(asks) == 0 {
					return
				}
			}
		}()
		for _, p := range providers {
			if _, err := s.FinishAsk(ctx, broker, d.ID, p, token, []quotes.Offer{{OfferID: fmt.Sprintf("%s-%d", p, round), Provider: p}}); err != nil {
				t.Fatal(err)
			}
		}
		<-done
		if readErr != nil {
			t.Fatal(readErr)
		}
	}
}
