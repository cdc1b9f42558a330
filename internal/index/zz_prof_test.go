package index_test

import (
	"os"
	"testing"

	"backoffice/internal/index"
)

func TestZZProf(t *testing.T) {
	path := os.Getenv("DIAG_DB")
	if path == "" {
		t.Skip()
	}
	s := mustOpen(t, index.Config{Path: path})
	for range 30 {
		if _, err := s.Search(ctx, index.Query{Tenant: benchTenant, Text: os.Getenv("DIAG_TEXT"), Limit: 25}); err != nil {
			t.Fatal(err)
		}
	}
}
