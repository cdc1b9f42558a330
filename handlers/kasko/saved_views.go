package kasko

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"backoffice/handlers"
	"backoffice/internal/audit"
	"backoffice/internal/i18n"
	"backoffice/internal/paths"
	"backoffice/internal/savedviews"
	"backoffice/internal/session"
	"backoffice/views/layout"
	"backoffice/views/policies"
)

// SavedViews serves the policy list's saved views (a tenant's named list
// states, opened by a stable URL and listed in the navigation) and the
// list's column choice. Views belong to the tenant: every session of it
// sees and opens them; only secret keys save or delete them.
type SavedViews struct {
	h *Handlers
}

// notState are the list parameters a view never keeps: where the list
// was (page, cursor), the find box's "open", and the view itself.
func notState() []string { return []string{"page", "after", "open", "view"} }

// viewState is the state a view stores: the list query without its
// position, in a canonical order.
func viewState(q url.Values) string {
	q = cloneValues(q)
	for _, k := range notState() {
		q.Del(k)
	}
	for k, vs := range q {
		if vs = slices.DeleteFunc(vs, func(v string) bool { return v == "" }); len(vs) == 0 {
			q.Del(k)
		} else {
			q[k] = vs
		}
	}
	return q.Encode()
}

func cloneValues(q url.Values) url.Values {
	out := make(url.Values, len(q))
	for k, v := range q {
		out[k] = slices.Clone(v)
	}
	return out
}

// Open handles GET /views/{id}: it sends the browser to the list with
// the view's state, and the view named. Another tenant's view is not
// found.
func (sv *SavedViews) Open(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	u := currentUser(ctx)
	if sv.h.savedViews == nil {
		return handlers.ErrNotFound
	}
	v, err := sv.h.savedViews.Get(ctx, u.Tenant, r.PathValue("id"))
	if errors.Is(err, savedviews.ErrNotFound) {
		return handlers.ErrNotFound
	}
	if err != nil {
		return err
	}
	handlers.Redirect(w, r, viewURL(v, u.ReadOnly()))
	return nil
}

// viewURL is the list URL of a view, as viewQuery gives it to the
// viewer.
func viewURL(v savedviews.View, public bool) string {
	q, _ := viewQuery(v, public)
	return paths.PolicyList(q)
}

// viewQuery is a view's list query as the viewer may have it, with the
// view's id: a public key neither sorts by nor sees the email, nor gets
// the view's search text ("q", omitted true when the view has one). Staff
// may have typed an email, a phone number, a VIN or a plate there; the
// list would not match it for a public key, but the address bar and the
// search box would show it.
func viewQuery(v savedviews.View, public bool) (q url.Values, omitted bool) {
	q, err := url.ParseQuery(v.State)
	if err != nil {
		q = url.Values{}
	}
	for _, k := range notState() {
		q.Del(k)
	}
	if public {
		if s := strings.TrimPrefix(q.Get("sort"), "-"); s == "email" {
			q.Del("sort")
		}
		if slices.ContainsFunc(q["q"], func(s string) bool { return strings.TrimSpace(s) != "" }) {
			omitted = true
		}
		q.Del("q")
	}
	if cols := q.Get("cols"); cols != "" {
		q.Set("cols", strings.Join(visibleColumns(strings.Split(cols, ","), public), ","))
	}
	q.Set("view", v.ID)
	return q, omitted
}

// newSaveViewForm is the save form of a list state; the name's bound is
// the store's, so the field refuses no more and no less than the server
// (the browser counts UTF-16 units, at least as many as characters).
func newSaveViewForm(state string) policies.SaveViewForm {
	return policies.SaveViewForm{Action: paths.SavedViews, State: state, MaxName: savedviews.MaxNameRunes}
}

// Create handles POST /views: it saves the list state sent as "state"
// under "name". A refused name comes back in the form, with its reason.
func (sv *SavedViews) Create(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	u := currentUser(ctx)
	if u.ReadOnly() {
		// On the record like any refused write: a view changes what the
		// whole tenant sees.
		return sv.h.refuseReadOnly(ctx, audit.Entry{Action: audit.ActionViewCreate})
	}
	if sv.h.savedViews == nil {
		return handlers.ErrNotFound
	}
	if err := handlers.ParseForm(w, r); err != nil {
		return err
	}
	q, err := url.ParseQuery(r.PostForm.Get("state"))
	if err != nil {
		return handlers.BadRequest("views.error.state")
	}
	state := viewState(q)
	form := newSaveViewForm(state)
	form.Name = r.PostForm.Get("name")
	v, err := sv.h.savedViews.Create(ctx, u.Tenant, form.Name, state)
	switch {
	case err == nil:
		sv.h.record(ctx, audit.Entry{Action: audit.ActionViewCreate, Outcome: audit.OutcomeCompleted,
			Reference: paths.SavedView(v.ID), Message: v.Name}, nil)
		list := viewURL(v, false)
		handlers.Redirect(w, r, list)
		return nil
	case errors.Is(err, savedviews.ErrNameEmpty):
		form.ErrorKey = "views.error.name_empty"
	case errors.Is(err, savedviews.ErrNameLong):
		form.ErrorKey, form.ErrorArg = "views.error.name_long", savedviews.MaxNameRunes
	case errors.Is(err, savedviews.ErrNameControl):
		form.ErrorKey = "views.error.name_control"
	case errors.Is(err, savedviews.ErrNameFormat):
		form.ErrorKey = "views.error.name_format"
	case errors.Is(err, savedviews.ErrDuplicate):
		form.ErrorKey = "views.error.name_taken"
	case errors.Is(err, savedviews.ErrFull):
		form.ErrorKey, form.ErrorArg = "views.error.full", savedviews.MaxPerTenant
	case errors.Is(err, savedviews.ErrStateLong):
		return handlers.BadRequest("views.error.state")
	default:
		return err
	}
	if handlers.IsHTMX(r) {
		return handlers.Render(w, r, http.StatusBadRequest, policies.SaveViewFormFragment(form))
	}
	page := policies.SaveViewPage{Meta: sv.h.core.Meta(r, i18n.T(ctx, "views.save.title")), Form: form, BackURL: paths.PolicyList(q)}
	page.Meta.Nav = layout.SectionPolicies
	return handlers.Render(w, r, http.StatusBadRequest, policies.SaveViewPageView(page))
}

// Delete handles POST /views/{id}/delete. Another tenant's view is not
// found; the list comes back without the view. The list's bar asks
// first (a disclosure with a second button); this is the answer.
func (sv *SavedViews) Delete(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	u := currentUser(ctx)
	id := r.PathValue("id")
	if u.ReadOnly() {
		return sv.h.refuseReadOnly(ctx, audit.Entry{Action: audit.ActionViewDelete,
			Reference: paths.SavedView(handlers.Truncate(id, 64))})
	}
	if sv.h.savedViews == nil {
		return handlers.ErrNotFound
	}
	// Read first, so that the record names what was deleted.
	v, err := sv.h.savedViews.Get(ctx, u.Tenant, id)
	if err == nil {
		err = sv.h.savedViews.Delete(ctx, u.Tenant, id)
	}
	if errors.Is(err, savedviews.ErrNotFound) {
		return handlers.ErrNotFound
	}
	if err != nil {
		return err
	}
	sv.h.record(ctx, audit.Entry{Action: audit.ActionViewDelete, Outcome: audit.OutcomeCompleted,
		Reference: paths.SavedView(v.ID), Message: v.Name}, nil)
	handlers.Redirect(w, r, paths.Policies)
	return nil
}

// Columns handles POST /policies/columns: the viewer's column choice,
// kept in the preferences cookie; it returns to the list it was made on,
// showing the choice (a saved view's own columns give way to it).
func (sv *SavedViews) Columns(w http.ResponseWriter, r *http.Request) error {
	if err := handlers.ParseForm(w, r); err != nil {
		return err
	}
	public := currentUser(r.Context()).ReadOnly()
	cols := visibleColumns(r.PostForm["col"], public)
	if len(cols) == 0 {
		return handlers.BadRequest("views.columns.none")
	}
	prefs := sv.h.core.Sessions.Preferences(r)
	prefs.Columns = cols
	if slices.Equal(cols, visibleColumns(session.ListColumns(), public)) {
		prefs.Columns = nil // all: the default, and the smallest cookie
	}
	if err := sv.h.core.Sessions.SavePreferences(w, r, prefs); err != nil {
		return err
	}
	back := paths.Policies
	if ret, err := url.Parse(r.PostForm.Get("return")); err == nil && ret.Path == paths.Policies && handlers.IsLocalPath(ret.RequestURI()) {
		q := ret.Query()
		q.Del("cols")
		back = paths.PolicyList(q)
	}
	// Back at the chooser: the fragment names its summary, which the
	// browser focuses on arriving (the form is a plain POST, so this is
	// a new page load with or without JavaScript), not the page's top.
	handlers.Redirect(w, r, back+"#"+policies.ColumnChooserID)
	return nil
}

// visibleColumns are the known ids of cols in the list's order, without
// the email for a public key (which never sees it).
func visibleColumns(cols []string, public bool) []string {
	out := session.CleanColumns(cols)
	if public {
		out = slices.DeleteFunc(out, func(c string) bool { return c == "email" })
	}
	return out
}

// shownColumns are the columns a list state shows: an open view's own
// ("cols" in its URL), else the viewer's choice, else all; never the
// email for a public key, never none.
func shownColumns(urlCols string, prefs session.Prefs, public bool) []string {
	var cols []string
	if urlCols != "" {
		cols = visibleColumns(strings.Split(urlCols, ","), public)
	}
	if len(cols) == 0 && prefs.Columns != nil {
		cols = visibleColumns(prefs.Columns, public)
	}
	if len(cols) == 0 {
		cols = visibleColumns(session.ListColumns(), public)
	}
	return cols
}

// listTools are the chooser and save form of an indexed list state.
func listTools(s searchState, public bool) *policies.ListTools {
	t := &policies.ListTools{ColumnsURL: paths.PolicyColumns, Return: s.url()}
	for _, c := range indexColumns {
		id := columnID(c.labelKey)
		if public && id == "email" {
			continue
		}
		t.Columns = append(t.Columns, policies.ColumnChoice{ID: id, LabelKey: c.labelKey, Shown: slices.Contains(s.shown, id)})
	}
	if !public {
		q := s.at(1).values()
		f := newSaveViewForm(viewState(q))
		t.Save = &f
	}
	return t
}

// columnID is a column's id, from its label key ("policies.col.email").
func columnID(labelKey string) string { return strings.TrimPrefix(labelKey, "policies.col.") }

// openView names the saved view a list URL opens ("view"), with whether
// the list still shows it as saved; nil when there is none (or it is not
// the tenant's).
func (p *Policies) openView(r *http.Request, s searchState) *policies.OpenView {
	ctx := r.Context()
	u := currentUser(ctx)
	if s.View == "" || p.h.savedViews == nil {
		return nil
	}
	v, err := p.h.savedViews.Get(ctx, u.Tenant, s.View)
	if err != nil {
		if !errors.Is(err, savedviews.ErrNotFound) {
			p.h.core.Log.WarnContext(ctx, "saved views unavailable", "err", err)
		}
		return nil
	}
	o := &policies.OpenView{Name: v.Name, URL: paths.SavedView(v.ID)}
	// Changed against the state this viewer was given, not the stored
	// one: a public key's list lacks the search it was not given.
	given, omitted := viewQuery(v, u.ReadOnly())
	o.Changed = viewState(s.at(1).values()) != viewState(given)
	o.SearchOmitted = omitted
	if !u.ReadOnly() {
		o.DeleteURL = paths.SavedViewDelete(v.ID)
	}
	return o
}

// savedViewsFrame lists the tenant's saved views in the navigation of
// every whole page of a KASKO session.
func (h *Handlers) savedViewsFrame(r *http.Request, meta *layout.PageMeta) {
	if h.savedViews == nil || handlers.IsHTMX(r) || h.core.Sessions == nil {
		return
	}
	ctx := r.Context()
	u := currentUser(ctx)
	tenant := ""
	if u != nil {
		tenant = u.Tenant
	} else if login, ok := h.core.Sessions.Kasko(ctx); ok {
		// A page outside the KASKO guard: the tenant sign-in found, if
		// the session keeps it for this key (no upstream call here).
		if fp, t, ok := strings.Cut(h.core.Sessions.Get(ctx, tenantSessionKey), " "); ok && fp == keyFingerprint(login.Key) {
			tenant = t
		}
	}
	if tenant == "" {
		return
	}
	views, err := h.savedViews.List(ctx, tenant)
	if err != nil {
		h.core.Log.WarnContext(ctx, "saved views unavailable", "err", err)
		return
	}
	open := ""
	if r.URL.Path == paths.Policies {
		open = r.URL.Query().Get("view")
	}
	for _, v := range views {
		meta.SavedViews = append(meta.SavedViews, layout.SavedViewLink{Name: v.Name, URL: paths.SavedView(v.ID), Current: v.ID == open})
	}
}

// viewParams reads an open view's id and its columns from a list URL:
// an id of the right shape only, known columns only.
func viewParams(q url.Values, public bool) (view, cols string) {
	if v := q.Get("view"); len(v) <= 64 && strings.Trim(v, "0123456789abcdef") == "" {
		view = v
	}
	if c := q.Get("cols"); c != "" && len(c) <= 128 {
		cols = strings.Join(visibleColumns(strings.Split(c, ","), public), ",")
	}
	return view, cols
}
