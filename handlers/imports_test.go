package handlers_test

import (
	"go/build"
	"slices"
	"strings"
	"testing"
)

// TestImportWalls keeps the seams of the handlers: the core knows neither
// product, and neither product reaches into the other. The views stay
// free of clients and handlers. A rule broken here is a design change to
// discuss, not an import to add.
func TestImportWalls(t *testing.T) {
	forbidden := map[string][]string{
		"backoffice/handlers":       {"backoffice/apiclient/kasko", "backoffice/apiclient/push", "backoffice/apiclient/casco", "backoffice/internal/quotes", "backoffice/handlers/kasko", "backoffice/handlers/casco"},
		"backoffice/handlers/kasko": {"backoffice/handlers/casco", "backoffice/internal/quotes", "backoffice/apiclient/casco", "backoffice/views/casco"},
		"backoffice/handlers/casco": {"backoffice/handlers/kasko", "backoffice/apiclient/kasko", "backoffice/apiclient/push", "backoffice/views/policies", "backoffice/views/audit"},
	}
	for _, v := range []string{"audit", "auth", "casco", "errorpage", "layout", "policies"} {
		forbidden["backoffice/views/"+v] = []string{"backoffice/apiclient", "backoffice/apiclient/kasko", "backoffice/apiclient/casco", "backoffice/apiclient/push", "backoffice/handlers"}
	}
	for pkg, never := range forbidden {
		p, err := build.Import(pkg, ".", 0)
		if err != nil {
			t.Fatalf("%s: %v", pkg, err)
		}
		// A package read wrong would pass with no imports at all.
		if !slices.ContainsFunc(p.Imports, func(imp string) bool { return strings.HasPrefix(imp, "backoffice/") }) {
			t.Errorf("%s: read no import of this module (%v)", pkg, p.Imports)
		}
		for _, imp := range p.Imports {
			if slices.Contains(never, imp) || strings.HasPrefix(imp, "backoffice/web") || strings.HasPrefix(imp, "backoffice/cmd") {
				t.Errorf("%s imports %s", pkg, imp)
			}
		}
	}
}
