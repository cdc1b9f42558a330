package quotes_test

import (
	"errors"
	"sync"
	"testing"

	"backoffice/internal/quotes"
)

// testFreshDraft: FreshDraft reopens the account's newest draft with no
// vehicle yet, creates one when there is none, never reopens another
// account's, and refuses to create past the limit.
func testFreshDraft(t *testing.T, st store) {
	s := st.open(t)
	first, created, err := s.FreshDraft(ctx, broker, 10)
	if err != nil || !created || first.Step != quotes.StepVehicle || first.Version != 1 {
		t.Fatalf("FreshDraft on an empty account = %+v, %v, %v; want a new draft", first, created, err)
	}
	again, created, err := s.FreshDraft(ctx, broker, 10)
	if err != nil || created || again.ID != first.ID {
		t.Fatalf("FreshDraft again = %s, created %v, %v; want %s reopened", again.ID, created, err, first.ID)
	}
	// A draft saved with nothing that names it (a VIN typed, say) is
	// still fresh; one with a title is not.
	first.Vehicle = []byte(`{"vin":"WVWZZZ1KZ8W006165"}`)
	first = mustSave(t, s, first)
	if d, created, _ := s.FreshDraft(ctx, broker, 10); created || d.ID != first.ID {
		t.Errorf("a draft with a VIN and no title: FreshDraft = %s, created %v; want it reopened", d.ID, created)
	}
	first.Title = "Dacia Logan"
	first = mustSave(t, s, first)
	second, created, err := s.FreshDraft(ctx, broker, 10)
	if err != nil || !created || second.ID == first.ID {
		t.Fatalf("with a titled draft only: FreshDraft = %s, created %v, %v; want a new one", second.ID, created, err)
	}
	// Another account's fresh draft is not this one's.
	theirs, created, err := s.FreshDraft(ctx, other, 10)
	if err != nil || !created || theirs.ID == second.ID || theirs.Account != other {
		t.Errorf("other account: FreshDraft = %+v, created %v, %v; want its own new draft", theirs, created, err)
	}
	// The newest of two fresh drafts is reopened.
	older := mustCreate(t, s, broker)
	_ = older
	second.Vehicle = []byte(`{"vin":"X"}`)
	second = mustSave(t, s, second) // now the most recently updated
	if d, _, _ := s.FreshDraft(ctx, broker, 10); d.ID != second.ID {
		t.Errorf("FreshDraft = %s, want the newest fresh draft %s", d.ID, second.ID)
	}
	// The limit: an account at it gets a fresh draft it has, but no new one.
	second.Title, older.Title = "A", "B"
	second = mustSave(t, s, second)
	older.Version = mustGet(t, s, broker, older.ID).Version
	mustSave(t, s, older)
	n := mustList(t, s, broker, quotes.Filter{Limit: 100}).Total
	if _, _, err := s.FreshDraft(ctx, broker, n); !errors.Is(err, quotes.ErrTooLarge) {
		t.Errorf("FreshDraft at the limit = %v, want ErrTooLarge", err)
	}
	if got := mustList(t, s, broker, quotes.Filter{Limit: 100}).Total; got != n {
		t.Errorf("%d drafts after a refused FreshDraft, want %d", got, n)
	}
	if _, _, err := s.FreshDraft(ctx, "", 10); !errors.Is(err, quotes.ErrInvalid) {
		t.Errorf("FreshDraft without an account = %v, want ErrInvalid", err)
	}
}

// testConcurrentFreshDrafts: many FreshDraft calls at once, on two
// handles of the store (two instances), make one draft.
func testConcurrentFreshDrafts(t *testing.T, st store) {
	a, b := st.open(t), st.open(t)
	if st.mem == nil {
		b = st.open(t) // a second connection pool: another instance
	}
	const n = 12
	ids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		s := a
		if i%2 == 1 {
			s = b
		}
		wg.Go(func() {
			d, _, err := s.FreshDraft(ctx, broker, 100)
			ids[i], errs[i] = d.ID, err
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("FreshDraft %d: %v", i, errs[i])
		}
		if ids[i] != ids[0] {
			t.Errorf("FreshDraft %d = %s, want %s as the others", i, ids[i], ids[0])
		}
	}
	if got := mustList(t, a, broker, quotes.Filter{Limit: 100}).Total; got != 1 {
		t.Errorf("%d drafts after concurrent FreshDraft calls, want 1", got)
	}
}

// testListInsurers: ListDrafts says how many insurers each draft's
// offers come from (a provider with several offers counts once).
func testListInsurers(t *testing.T, st store) {
	s := st.open(t)
	asked, none := mustCreate(t, s, broker), mustCreate(t, s, broker)
	if err := s.ReplaceOffers(ctx, broker, asked.ID, []quotes.Offer{
		{Provider: "generali", OfferID: "1"}, {Provider: "generali", OfferID: "2"},
		{Provider: "allianz", OfferID: "3"}, {Provider: "groupama", Error: "down"},
	}); err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, d := range mustList(t, s, broker, quotes.Filter{Limit: 10}).Drafts {
		got[d.ID] = d.Insurers
	}
	if got[asked.ID] != 3 || got[none.ID] != 0 {
		t.Errorf("insurers = %d and %d, want 3 and 0", got[asked.ID], got[none.ID])
	}
}
