package index_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"backoffice/internal/index"
)

func TestZZDiag(t *testing.T) {
	path := os.Getenv("DIAG_DB")
	if path == "" {
		t.Skip()
	}
	s := mustOpen(t, index.Config{Path: path})
	probe := benchRow(benchTenant, 123457)
	texts := []string{
		"berzins janis", "bērz", "kalnin", "Popescu", "stefan turc", "nowak pawel", "strauss",
		probe.ID, probe.InsurerID, strings.TrimPrefix(probe.ID, "tpol_"), "TEST-TESTE01234",
		probe.Email[:8], strings.SplitN(probe.Email, "@", 2)[0], probe.Phone[5:], probe.Phone, probe.VIN[:10], probe.Plate,
		"janis", "wisniewska", "müller jörg",
	}
	for _, public := range []bool{false, true} {
		for _, text := range texts {
			for range 3 {
				t0 := time.Now()
				p, err := s.Search(ctx, index.Query{Tenant: benchTenant, Text: text, Limit: 25, Public: public})
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("public=%v %-30q %8v total=%d terms=%q", public, text, time.Since(t0).Round(time.Microsecond), p.Total, index.Terms(text))
			}
		}
	}
}
