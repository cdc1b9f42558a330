package index_test

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"backoffice/internal/index"
)

func TestScratchTexts(t *testing.T) {
	if os.Getenv("SCRATCH") == "" {
		t.Skip()
	}
	s := mustOpen(t, index.Config{Path: "/tmp/backoffice-index-bench-v5.db"})
	probe := benchRow(benchTenant, 123457)
	texts := []string{
		"berzins janis", "bērz", "kalnin", "Popescu", "stefan turc", "nowak pawel", "strauss",
		probe.ID, probe.InsurerID, strings.TrimPrefix(probe.ID, "tpol_"), "TEST-TESTE01234",
		probe.Email[:8], strings.SplitN(probe.Email, "@", 2)[0], probe.Phone[5:], probe.Phone, probe.VIN[:10], probe.Plate,
		"janis", "wisniewska", "müller jörg",
	}
	for _, text := range texts {
		var lat []time.Duration
		var p index.Page
		for range 7 {
			began := time.Now()
			var err error
			p, err = s.Search(ctx, index.Query{Tenant: benchTenant, Text: text, Limit: 25})
			if err != nil {
				t.Fatal(err)
			}
			lat = append(lat, time.Since(began))
		}
		slices.Sort(lat)
		t.Logf("%-30q total %6d capped %-5v median %v max %v", text, p.Total, p.Capped, lat[3], lat[6])
	}
}
