package kasko

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	kaskoapi "backoffice/apiclient/kasko"
	"backoffice/internal/format"
	"backoffice/views/policies"
)

// policyDiff lists what differs between two versions of a policy, field
// by field, by flattening both to dotted paths. Links and signed URLs
// change on every read and say nothing to the user.
func policyDiff(before, after *kaskoapi.Policy) []policies.DiffRow {
	a, b := flatten(before), flatten(after)
	keys := make([]string, 0, len(a)+len(b))
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var rows []policies.DiffRow
	for _, k := range keys {
		if a[k] == b[k] || skipDiff(k) {
			continue
		}
		rows = append(rows, policies.DiffRow{Field: k, Label: diffLabel(k), Before: orDash(a[k]), After: orDash(b[k])})
		if len(rows) == 50 {
			break
		}
	}
	return rows
}

func skipDiff(path string) bool {
	return strings.HasPrefix(path, "_links") || strings.Contains(path, "._links") ||
		strings.HasSuffix(path, ".url") || strings.HasSuffix(path, ".href")
}

func diffLabel(path string) string {
	parts := strings.Split(path, ".")
	for i, p := range parts {
		parts[i] = format.Humanize(p)
	}
	return strings.Join(parts, " › ")
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func flatten(pol *kaskoapi.Policy) map[string]string {
	out := map[string]string{}
	raw, err := json.Marshal(withoutSignedLinks(pol))
	if err != nil {
		return out
	}
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return out
	}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch t := v.(type) {
		case map[string]any:
			for k, x := range t {
				walk(strings.TrimPrefix(prefix+"."+k, "."), x)
			}
		case []any:
			for i, x := range t {
				walk(fmt.Sprintf("%s.%d", prefix, i), x)
			}
		case nil:
			out[prefix] = ""
		default:
			out[prefix] = format.Value(t)
		}
	}
	walk("", v)
	return out
}
