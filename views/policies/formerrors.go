package policies

import (
	"context"

	"github.com/a-h/templ"

	"backoffice/internal/i18n"
	"backoffice/views/layout"
)

// cancelFormErrors are the cancel form's field errors, in the order of
// its fields, for its error summary.
func cancelFormErrors(ctx context.Context, v CancelView) []layout.FieldError {
	var out []layout.FieldError
	if v.ReasonError != "" {
		out = append(out, layout.FieldError{FieldID: "cancel-reason", Label: i18n.T(ctx, "cancel.reason"), Message: v.ReasonError})
	}
	if v.DateError != "" {
		out = append(out, layout.FieldError{FieldID: "cancel-date", Label: i18n.T(ctx, "cancel.date", "Zone", v.Zone), Message: v.DateError})
	}
	return out
}

// cancelReviewErrors are the review's: the typed policy id of a live key.
func cancelReviewErrors(_ context.Context, v CancelView) []layout.FieldError {
	if v.ConfirmError == "" || !v.Live {
		return nil
	}
	// The message names the id to type; the label would repeat it.
	return []layout.FieldError{{FieldID: "cancel-confirm", Message: v.ConfirmError}}
}

// pushFields are the new-policy form's fields in their order: the name
// the errors are keyed by, the control's id and its label's key.
var pushFields = []struct{ name, id, labelKey string }{
	{"variant_id", "f-variant_id", "push.variant"},
	{"first_name", "f-first_name", "push.first_name"},
	{"last_name", "f-last_name", "push.last_name"},
	{"email", "f-email", "push.email"},
	{"start_date", "f-start_date", "push.start_date"},
	{"vin", "f-vin", "push.vin"},
	{"metadata", "meta-key-1", "push.metadata"},
}

// pushErrors are the new-policy form's field errors, for its summary.
func pushErrors(ctx context.Context, v NewPolicyView) []layout.FieldError {
	var out []layout.FieldError
	for _, f := range pushFields {
		if msg := v.Errors[f.name]; msg != "" {
			out = append(out, layout.FieldError{FieldID: f.id, Label: i18n.T(ctx, f.labelKey), Message: msg})
		}
	}
	return out
}

// metaKeyAttrs mark the first metadata key, the summary's link target,
// when the metadata are in error: the message does not say which row.
func metaKeyAttrs(v NewPolicyView, i int) templ.Attributes {
	a := layout.FieldAttrs(i == 0 && v.Errors["metadata"] != "", "e-metadata")
	if i+1 == v.FocusMeta {
		// The row just added is where the work continues: autofocus for
		// a full page, data-swap-focus after an htmx swap.
		a["autofocus"] = true
		a["data-swap-focus"] = true
	}
	return a
}

// metadataErrorID is the id of the metadata's message, "" without one.
func metadataErrorID(v NewPolicyView) string {
	if v.Errors["metadata"] == "" {
		return ""
	}
	return "e-metadata"
}
