package casco

import (
	"net/http"

	"backoffice/views/layout"
)

// frame shows the signed-in partner account in every page's header,
// beside a KASKO user when there is one.
func (h *Handlers) frame(r *http.Request, meta *layout.PageMeta) {
	if l, ok := h.core.Sessions.Casco(r.Context()); ok {
		meta.Partner = l.Account
	}
}

// meta is the frame of a CASCO page, with the CASCO section marked in
// the navigation.
func (h *Handlers) meta(r *http.Request, title string) layout.PageMeta {
	meta := h.core.Meta(r, title)
	meta.Nav = layout.SectionCasco
	return meta
}
