package kasko

import (
	"cmp"
	"context"
	"time"

	kaskoapi "backoffice/apiclient/kasko"
	"backoffice/internal/format"
	"backoffice/internal/i18n"
	"backoffice/internal/session"
	"backoffice/views/layout"
)

// Policies serves the policy list (policy_list.go), a policy's page
// (policy_show.go) and its documents (policy_document.go).
type Policies struct {
	h *Handlers
}

// clock is where a viewer wants times shown: each policy's own zone (the
// default), or their own zone.
type clock struct {
	viewer bool
	// viewerZone is the viewer's IANA zone; "" when their browser has not
	// told us yet.
	viewerZone string
}

func (p *Policies) clock(prefs session.Prefs) clock {
	return clock{viewer: layout.TimesIn(prefs.Times) == layout.TimesViewer, viewerZone: prefs.ViewerZone}
}

// zones returns the zone to show a policy's times in, and the zone to show
// beside it ("" for none).
func (c clock) zones(policyZone string) (show, other string) {
	show, other = policyZone, c.viewerZone
	if c.viewer {
		show, other = cmp.Or(c.viewerZone, "UTC"), policyZone
	}
	if other == show {
		other = ""
	}
	return show, other
}

func (p *Policies) productName(id string) string {
	if name, ok := p.h.products[id]; ok {
		return name
	}
	return id
}

func dateOrDash(f *format.Formatter, t *time.Time) string {
	if t == nil || t.IsZero() {
		return "—"
	}
	return f.Date(*t)
}

// statusKey maps an upstream status to its catalogue key; an unknown
// status is shown through a generic key rather than dropped.
func statusKey(status string) string {
	switch status {
	case "paid", "accepted", "pending", "cancelled", "ready":
		return "policy.status." + status
	default:
		return "policy.status.other"
	}
}

func statusClass(status string) string {
	switch status {
	case "paid", "accepted", "pending", "cancelled", "ready":
		return status
	default:
		return "other"
	}
}

// policyZone is the zone a policy counts its days in: its product's own
// (localized_dates.time_zone), else UTC.
func policyZone(pol *kaskoapi.Policy) string {
	if ld := pol.LocalizedDates; ld != nil && ld.TimeZone != "" {
		return ld.TimeZone
	}
	return "UTC"
}

// formatter formats numbers and dates in the language of ctx's user.
func formatter(ctx context.Context) *format.Formatter {
	return format.New(i18n.Lang(ctx))
}
