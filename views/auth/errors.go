package auth

import (
	"context"

	"backoffice/internal/i18n"
	"backoffice/views/layout"
)

// keyErrors is the key form's error summary: every refusal is shown on
// the key field (its message says what to do), except a name too long,
// whose link goes to the name.
func keyErrors(ctx context.Context, v SignInView) []layout.FieldError {
	if v.ErrorKey == "" {
		return nil
	}
	e := layout.FieldError{FieldID: "key", Label: i18n.T(ctx, "signin.key.label"), Message: i18n.T(ctx, v.ErrorKey)}
	if v.ErrorKey == "signin.error.display_name" {
		e.FieldID, e.Label = "display_name", i18n.T(ctx, "signin.display_name.label")
	}
	return []layout.FieldError{e}
}

// partnerErrors is the partner form's summary: one message about the
// pair; its link goes to the account when none was typed, else to the
// password, which a refused sign-in leaves empty.
func partnerErrors(ctx context.Context, v SignInView) []layout.FieldError {
	if v.PartnerErrorKey == "" {
		return nil
	}
	e := layout.FieldError{FieldID: "password", Label: i18n.T(ctx, "signin.partner.credentials"), Message: i18n.T(ctx, v.PartnerErrorKey)}
	if v.PartnerAccount == "" {
		e.FieldID = "account"
	}
	return []layout.FieldError{e}
}
