package casco_test

import (
	"net/http"
	"sync"
	"testing"

	"backoffice/internal/sandbox"
)

func TestNomenclatureOptionsAreSharedAndCached(t *testing.T) {
	t.Parallel()
	srv := newPartnerServer(t, sandbox.Options{})
	partnerA := srv.NewBrowser(t)
	partnerA.Post("/signin/partner", partnerForm(sandbox.CascoDemoAccount, sandbox.CascoDemoPassword))
	partnerB := srv.NewBrowser(t)
	partnerB.Post("/signin/partner", partnerForm(sandbox.CascoPartnerAccount, sandbox.CascoPartnerPassword))

	// Many at once, from two partners: one upstream call.
	var wg sync.WaitGroup
	counts := make([]int, 12)
	for i := range counts {
		b := partnerA
		if i%2 == 1 {
			b = partnerB
		}
		wg.Go(func() { counts[i] = b.Get("/casco/options/counties").Doc.Find("option").Length() })
	}
	wg.Wait()
	for i, n := range counts {
		if n != 43 { // the placeholder, 41 counties and Bucharest
			t.Errorf("request %d: %d options, want 43", i, n)
		}
	}
	partnerA.Page(t, "/casco/options/counties", http.StatusOK)
	if n := srv.Upstream.Sandbox.Calls(sandbox.RouteCascoCounties); n != 1 {
		t.Errorf("upstream county requests = %d, want 1", n)
	}

	tests := []struct {
		name, path   string
		wantMin      int
		wantSelected string
	}{
		{"localities of Cluj", "/casco/options/localities?county=CJ&selected=CLUJ-NAPOCA", 50, "CLUJ-NAPOCA"},
		{"lower-case county", "/casco/options/localities?county=cj", 50, ""},
		{"unknown county", "/casco/options/localities?county=QQ", 0, ""},
		{"county not a code", "/casco/options/localities?county=Cluj%2F..", 0, ""},
		{"makes", "/casco/options/makes?selected=Dacia", 30, "Dacia"},
		{"models of Dacia", "/casco/options/models?make=Dacia&selected=Logan", 3, "Logan"},
		{"unknown make", "/casco/options/models?make=Trabbi", 0, ""},
		{"make with a slash", "/casco/options/models?make=a%2Fb", 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := partnerA.Page(t, tt.path, http.StatusOK)
			opts := r.Doc.Find("option")
			if first := opts.First(); first.AttrOr("value", "x") != "" {
				t.Error("the first option is not the empty placeholder")
			}
			if n := opts.Length() - 1; n < tt.wantMin || (tt.wantMin == 0 && n != 0) {
				t.Errorf("%d options, want at least %d", n, tt.wantMin)
			}
			if got := r.Doc.Find("option[selected]").AttrOr("value", ""); got != tt.wantSelected {
				t.Errorf("selected = %q, want %q", got, tt.wantSelected)
			}
		})
	}
	// Reference data needs a partner sign-in, like every CASCO page.
	kaskoOnly := srv.SignedIn(t, sandbox.KeyASecretTest)
	if r := kaskoOnly.Get("/casco/options/counties"); r.Status != http.StatusSeeOther {
		t.Errorf("options without a partner sign-in = %d, want 303", r.Status)
	}
}
