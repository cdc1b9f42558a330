package browsertest

import (
	_ "embed"
	"encoding/json"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// axeSource is axe-core, vendored from npm (see axe/VENDORED.md).
//
//go:embed axe/axe.min.js
var axeSource string

// AxeViolation is one rule axe found broken, with where.
type AxeViolation struct {
	ID      string `json:"id"`
	Impact  string `json:"impact"`
	Help    string `json:"help"`
	Targets []string
	Nodes   []struct {
		Target []any  `json:"target"`
		HTML   string `json:"html"`
	} `json:"nodes"`
}

// Axe checks the page as it is now against WCAG 2.1 A and AA with
// axe-core, and fails the test on every serious or critical violation
// (minor and moderate ones are logged). state names the page and state
// in the failure ("list, filtered").
func (b *Browser) Axe(t *testing.T, state string) {
	t.Helper()
	// Injected through the DevTools protocol, not a <script>: the pages'
	// CSP allows only their own scripts, and must not be loosened for a
	// test.
	if !Get(t, b, chromedp.Evaluate[bool](`typeof window.axe === "object"`)) {
		Get(t, b, chromedp.Evaluate[any](axeSource+";true"))
	}
	raw := Get(t, b, chromedp.Evaluate[string](`axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}, resultTypes: ["violations"]}).then(r => JSON.stringify(r.violations))`,
		chromedp.EvalAwaitPromise))
	var vs []AxeViolation
	if err := json.Unmarshal([]byte(raw), &vs); err != nil {
		t.Fatalf("axe (%s): %v", state, err)
	}
	for _, v := range vs {
		var where []string
		for i, n := range v.Nodes {
			if i == 5 {
				where = append(where, "…")
				break
			}
			where = append(where, n.HTML)
		}
		msg := state + ": axe " + v.Impact + " " + v.ID + ": " + v.Help + "\n    " + strings.Join(where, "\n    ")
		if v.Impact == "serious" || v.Impact == "critical" {
			t.Error(msg)
		} else {
			t.Log(msg)
		}
	}
}
