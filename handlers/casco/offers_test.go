package casco_test

import (
	"context"
	"strings"
	"testing"

	"backoffice/internal/sandbox"
	"backoffice/web/webtest"
)

func TestCascoProviderUnavailable(t *testing.T) {
	t.Parallel()
	srv := newCascoServer(t, sandbox.Options{Faults: sandbox.Faults{CascoUnavailable: []string{"allianz"}}})
	b := demoPartner(t, srv)
	id := quoteUpTo(t, b)
	offers := askOffers(t, b, id)
	failed := offers.Doc.Find(`[data-testid="offer-error"]`)
	if failed.Length() != 1 || failed.AttrOr("data-provider", "") != "allianz" {
		t.Fatalf("failed columns: %d (%q)", failed.Length(), failed.AttrOr("data-provider", ""))
	}
	if got := webtest.Text(failed.Find(`[role="status"]`)); got != "No offer: Product unavailable" {
		t.Errorf("allianz column = %q", got)
	}
	if got := webtest.Text(failed.Find(`[data-testid="offer-retry"]`)); got != "Try again" {
		t.Errorf("allianz retry = %q, want Try again", got)
	}
	if got := webtest.Text(failed); got != "No offer: Product unavailable Try again" {
		t.Errorf("allianz column = %q", got)
	}
	if got := failed.AttrOr("rowspan", ""); got != "8" {
		t.Errorf("the error spans %q rows, want the whole column (8)", got)
	}
	premiums := offerCells(offers.Doc, "premium")
	for _, p := range []string{"generali", "groupama", "eazy_insure"} {
		if !strings.HasPrefix(premiums[p], "RON ") {
			t.Errorf("%s premium = %q, want an amount", p, premiums[p])
		}
	}
	if _, ok := premiums["allianz"]; ok {
		t.Error("allianz has a premium")
	}
	if n := offers.Doc.Find(`[data-testid="choose-offer"]`).Length(); n != 3 {
		t.Errorf("%d offers can be chosen, want 3", n)
	}
	// Stored with its error, the failure survives a reload and another
	// partner page.
	stored, err := srv.Quotes.Offers(context.Background(), sandbox.CascoDemoAccount, id)
	if err != nil {
		t.Fatal(err)
	}
	var errs []string
	for _, o := range stored {
		if o.Error != "" {
			errs = append(errs, o.Provider+": "+o.Error)
		}
	}
	if strings.Join(errs, ";") != "allianz: Product unavailable" {
		t.Errorf("stored errors = %q", errs)
	}
	// In Romanian, the insurer's own message comes in Romanian.
	b.Header.Set("Accept-Language", "ro")
	ro := askOffers(t, b, id)
	if got := webtest.Text(ro.Doc.Find(`[data-testid="offer-error"] [role="status"]`)); got != "Nicio ofertă: Produs indisponibil" {
		t.Errorf("Romanian allianz column = %q", got)
	}
}
