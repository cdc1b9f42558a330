package handlers

import (
	"errors"
	"unicode/utf8"

	"backoffice/apiclient"
)

// UpstreamRequestID is the upstream's request id of err, if any.
func UpstreamRequestID(err error) string {
	var ue *apiclient.Error
	if errors.As(err, &ue) {
		return ue.RequestID
	}
	return ""
}

// UpstreamMessage is the upstream's own message of err, if any.
func UpstreamMessage(err error) string {
	var ue *apiclient.Error
	if errors.As(err, &ue) && utf8.ValidString(ue.Message) {
		return ue.Message
	}
	return ""
}

// UpstreamFields returns the field messages of an upstream validation
// error (field → messages), nil for any other error.
func UpstreamFields(err error) map[string][]string {
	var ue *apiclient.Error
	if errors.As(err, &ue) && len(ue.Fields) > 0 {
		return ue.Fields
	}
	return nil
}
