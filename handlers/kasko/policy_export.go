package kasko

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"backoffice/handlers"
	"backoffice/internal/audit"
	"backoffice/internal/exports"
	"backoffice/internal/i18n"
	"backoffice/internal/index"
	"backoffice/internal/paths"
	"backoffice/views/layout"
	"backoffice/views/policies"
)

// ExportJobs is what exports need of the job store (exports.Store):
// jobs and their files where every instance sees them.
type ExportJobs interface {
	Create(ctx context.Context, j exports.Job) (exports.Job, error)
	Get(ctx context.Context, tenant, owner, id string) (exports.Job, error)
	Progress(ctx context.Context, id string, rows int) error
	Finish(ctx context.Context, id string, rows int, bytes int64) error
	Fail(ctx context.Context, id, key string) error
	Prune(ctx context.Context) error
	Go(ctx context.Context, id string, fn func(ctx context.Context), report func(p any, stack []byte))
	NewFileWriter(ctx context.Context, id string) *exports.FileWriter
	WriteFile(ctx context.Context, id string, w io.Writer) error
}

var _ ExportJobs = (*exports.Store)(nil)

// Exports serves the export of a list view: POST /policies/export
// starts a job, GET /exports/{id} follows it, GET /exports/{id}/file
// downloads its file.
type Exports struct{ h *Handlers }

// exportTimeout bounds one export's run: far more than 200,000 rows
// take, and less than the file's TTL.
const exportTimeout = 20 * time.Minute

// exportParams are the form fields that are the export's own; every
// other field is the view's.
var exportParams = []string{"format", "cols", "locale"}

// exportOwner names the user a job belongs to: a digest of their key,
// so that the store never holds the key.
func exportOwner(key string) string {
	sum := sha256.Sum256([]byte("export\x00" + key))
	return hex.EncodeToString(sum[:16])
}

// listForm reports a post of the list's find form, which the list's
// export buttons submit (its hidden "open" marks it). Its "cols" is the
// list state's own (an open saved view's columns, list column ids), not
// an export column choice.
func listForm(r *http.Request) bool { return r.PostForm.Has("open") }

// viewRequest is r with the view's query: the URL's, and the fields the
// form posted (the list's find form, through formaction), so that the
// list's own parsers read it exactly as they read the list's URL.
func viewRequest(r *http.Request) *http.Request {
	view := r.URL.Query()
	for _, k := range exportParams {
		view.Del(k)
	}
	fromList := listForm(r)
	for k, vs := range r.PostForm {
		if k == "open" || k == "format" || k == "locale" || k == "cols" && !fromList {
			continue
		}
		for _, v := range vs {
			view.Add(k, v)
		}
	}
	c := r.Clone(r.Context())
	c.URL.RawQuery = view.Encode()
	return c
}

// Create handles POST /policies/export: the view's filters, sort and
// columns checked as the list checks them, then a job that writes the
// file into the store while the browser watches its progress (htmx: the
// progress replaces #export-status on the list; without JavaScript: 303
// to the job's page).
func (e *Exports) Create(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	u := currentUser(ctx)
	public := u.ReadOnly()
	exporter, ok := e.h.index.(index.Exporter)
	if e.h.exports == nil || !ok {
		return &handlers.Error{Status: http.StatusServiceUnavailable, MessageKey: "exports.error.unavailable"}
	}
	// A small body, like every form's: the view and three fields.
	if err := handlers.ParseForm(w, r); err != nil {
		return err
	}
	f := r.FormValue("format")
	localized := r.FormValue("locale") != "" && r.FormValue("locale") != "0"
	if f == "csv-local" {
		f, localized = "csv", true
	}
	format, ok := exports.ParseFormat(f)
	if !ok {
		return handlers.BadRequest("exports.error.format")
	}
	// The columns: the ones asked for (cols=, in export column ids), else
	// the ones the list shows, decided as the list decides them.
	var cols []exports.Column
	explicit := ""
	if !listForm(r) {
		explicit = r.FormValue("cols")
	}
	if explicit != "" {
		var err error
		if cols, err = exports.ParseColumns(explicit, public); err != nil {
			return handlers.BadRequest("exports.error.column")
		}
	}
	p := e.h.Policies
	if _, covered, _ := p.indexCovers(ctx, u.Tenant); !covered {
		return &handlers.Error{Status: http.StatusServiceUnavailable, MessageKey: "exports.error.unavailable"}
	}
	vr := viewRequest(r)
	prefs := p.h.core.Sessions.Preferences(r)
	st, err := p.parseListSorted(vr, prefs, true)
	if err != nil {
		return err
	}
	s, problems, err := p.parseSearch(vr, st, public)
	if err != nil {
		return err
	}
	if len(problems) > 0 {
		return handlers.BadRequest("exports.error.filters")
	}
	if cols == nil {
		cols = exports.ListColumns(shownColumns(s.Cols, prefs, public), public)
	}
	q := s.indexQuery(u.Tenant, public)
	q.Offset, q.Limit = 0, 1
	page, err := e.h.index.Search(ctx, q)
	if err != nil {
		return err
	}
	if page.Total > exports.MaxRows {
		return handlers.BadRequest("exports.error.too_many_rows")
	}
	view := s.values()
	view.Del("size")
	view.Del("page")
	// The columns are kept whichever way they were decided, so that a
	// retry makes the same file whatever the list shows by then.
	params := url.Values{"format": {string(format)}, "cols": {strings.Join(exports.IDs(cols), ",")}}
	if localized {
		params.Set("locale", "1")
	}
	now := e.h.now().UTC()
	job, err := e.h.exports.Create(ctx, exports.Job{Tenant: u.Tenant, Owner: exportOwner(u.Key), Format: format,
		View: view.Encode(), Params: params.Encode(), Total: page.Total, Capped: page.Capped,
		Filename: "policies-" + now.Format("20060102-150405") + "." + string(format)})
	switch {
	case errors.Is(err, exports.ErrBusy):
		// The running one, and what to do: wait for it.
		v := e.jobView(job)
		v.NoticeKey = "exports.busy"
		return e.render(w, r, http.StatusConflict, v)
	case errors.Is(err, exports.ErrFull):
		return &handlers.Error{Status: http.StatusTooManyRequests, MessageKey: "exports.error.full"}
	case err != nil:
		return err
	}
	o := exports.Options{Columns: cols, Product: p.productName, Public: public, Localized: localized}
	for _, c := range cols {
		o.Headers = append(o.Headers, i18n.T(ctx, c.LabelKey))
	}
	if localized {
		fm := formatter(ctx)
		o.DecimalComma = strings.Contains(fm.Decimal("1.5"), ",")
		o.Date = func(y, m, d int) string { return fm.Date(time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)) }
	}
	// The run outlives the request: on a context of its own, with a copy
	// of the user (the request goes on using its own).
	copyUser := *u
	copyUser.pending = nil
	runCtx := withUser(context.WithoutCancel(ctx), &copyUser)
	// Counted among the detached work shutdown drains, and a panic in
	// it (an encoder's bug) fails this job, not the process.
	e.h.exports.Go(runCtx, job.ID, func(ctx context.Context) { e.run(ctx, job, q, o, exporter) }, func(p any, stack []byte) {
		e.h.core.Log.ErrorContext(runCtx, "export panicked", "job", job.ID, "panic", fmt.Sprint(p), "stack", string(stack))
		e.h.record(context.WithoutCancel(runCtx), audit.Entry{Action: audit.ActionExport, Reference: paths.PolicyList(mustQuery(job.View)),
			Outcome: audit.OutcomeFailed, Message: fmt.Sprintf("format=%s columns=%s internal error", job.Format, strings.Join(exports.IDs(o.Columns), ","))}, nil)
	})
	if handlers.IsHTMX(r) {
		return handlers.Render(w, r, http.StatusAccepted, policies.ExportStatus(e.jobView(job)))
	}
	handlers.Redirect(w, r, paths.Export(job.ID))
	return nil
}

// errTooManyRows stops an export past exports.MaxRows.
var errTooManyRows = errors.New("export: too many rows")

// run writes the job's file into the store, beating every second so
// that other instances see it alive, and records the export in the
// audit log when it ends.
func (e *Exports) run(ctx context.Context, job exports.Job, q index.Query, o exports.Options, exporter index.Exporter) {
	ctx, cancel := context.WithTimeout(ctx, exportTimeout)
	defer cancel()
	store := e.h.exports
	var rows atomic.Int64
	beat := make(chan struct{})
	// The beat stops with the run, a panicking one too (Go recovers it).
	stopBeat := sync.OnceFunc(func() { close(beat) })
	defer stopBeat()
	go func() {
		t := time.NewTicker(exports.HeartbeatEvery)
		defer t.Stop()
		for {
			select {
			case <-beat:
				return
			case <-t.C:
				_ = store.Progress(ctx, job.ID, int(rows.Load()))
			}
		}
	}()
	fw := store.NewFileWriter(ctx, job.ID)
	err := func() error {
		enc, err := exports.NewEncoder(job.Format, fw, o)
		if err != nil {
			return err
		}
		err = exporter.Export(ctx, q, func(r index.Row) error {
			if rows.Load() >= exports.MaxRows {
				return errTooManyRows
			}
			if err := enc.Row(&r); err != nil {
				return err
			}
			rows.Add(1)
			return nil
		})
		if cerr := enc.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		if err := fw.Close(); err != nil {
			return err
		}
		// Done only if it still runs: a job another instance failed as
		// stale meanwhile stays failed, and so does its record.
		return store.Finish(context.WithoutCancel(ctx), job.ID, int(rows.Load()), fw.Size())
	}()
	stopBeat()
	n := int(rows.Load())
	done := context.WithoutCancel(ctx)
	entry := audit.Entry{Action: audit.ActionExport, Reference: paths.PolicyList(mustQuery(job.View)),
		Message: fmt.Sprintf("format=%s rows=%d columns=%s", job.Format, n, strings.Join(exports.IDs(o.Columns), ","))}
	if job.Capped {
		// The view matched more: relevance ranks only the newest ones.
		entry.Message += fmt.Sprintf(" capped=%d (text search by relevance: the newest %d matches of more)", index.RankedMatches, index.RankedMatches)
	}
	if err != nil {
		key := "exports.error.failed"
		switch {
		case errors.Is(err, exports.ErrTooLarge):
			key = "exports.error.too_large"
		case errors.Is(err, errTooManyRows):
			key = "exports.error.too_many_rows"
		case errors.Is(err, exports.ErrNotRunning):
			key = "exports.error.stale"
		}
		e.h.core.Log.WarnContext(ctx, "export failed", "job", job.ID, "rows", n, "err", err)
		if ferr := store.Fail(done, job.ID, key); ferr != nil {
			e.h.core.Log.ErrorContext(ctx, "export: recording a failure", "job", job.ID, "err", ferr)
		}
		entry.Outcome = audit.OutcomeFailed
		e.h.record(done, entry, nil)
		return
	}
	entry.Outcome = audit.OutcomeCompleted
	e.h.record(done, entry, nil)
}

func mustQuery(s string) url.Values {
	v, _ := url.ParseQuery(s)
	return v
}

// job reads the signed-in user's job named in the path: another user's
// or tenant's is not found.
func (e *Exports) job(r *http.Request) (exports.Job, error) {
	if e.h.exports == nil {
		return exports.Job{}, handlers.ErrNotFound
	}
	u := currentUser(r.Context())
	// Expired files go whenever a job is looked at, besides the store's
	// own pruner: personal data is not kept for want of a tick.
	if err := e.h.exports.Prune(r.Context()); err != nil {
		e.h.core.Log.WarnContext(r.Context(), "export: pruning expired files", "err", err)
	}
	j, err := e.h.exports.Get(r.Context(), u.Tenant, exportOwner(u.Key), r.PathValue("id"))
	if errors.Is(err, exports.ErrNotFound) {
		return exports.Job{}, handlers.ErrNotFound
	}
	return j, err
}

// Show handles GET /exports/{id}: the job's progress (htmx polls it),
// then its download link; a job whose instance died shows as failed,
// with a retry.
func (e *Exports) Show(w http.ResponseWriter, r *http.Request) error {
	j, err := e.job(r)
	if err != nil {
		return err
	}
	return e.render(w, r, http.StatusOK, e.jobView(j))
}

func (e *Exports) render(w http.ResponseWriter, r *http.Request, status int, j policies.ExportJob) error {
	if handlers.IsHTMX(r) {
		return handlers.Render(w, r, status, policies.ExportStatus(j))
	}
	if j.State == policies.ExportRunning {
		// Without JavaScript the page reloads itself until it is done.
		w.Header().Set("Refresh", "2")
	}
	v := policies.ExportView{Meta: e.h.core.Meta(r, i18n.T(r.Context(), "exports.title")), Job: j}
	v.Meta.Nav = layout.SectionPolicies
	return handlers.Render(w, r, status, policies.ExportPage(v))
}

// jobView is what a page shows of a job.
func (e *Exports) jobView(j exports.Job) policies.ExportJob {
	v := policies.ExportJob{ID: j.ID, StatusURL: paths.Export(j.ID), FileURL: paths.ExportFile(j.ID),
		ListURL: paths.PolicyList(mustQuery(j.View)), Format: strings.ToUpper(string(j.Format)), Percent: j.Percent(),
		Rows: j.Rows, Total: j.Total, Filename: j.Filename, Size: byteSize(j.Bytes), Capped: j.Capped}
	switch {
	case j.State == exports.StateDone:
		v.State = policies.ExportDone
	case j.State == exports.StateRunning && !j.Stale(e.h.now()):
		v.State = policies.ExportRunning
	default:
		v.State, v.ErrorKey = policies.ExportFailed, j.Error
		if j.State == exports.StateRunning || v.ErrorKey == "" {
			v.ErrorKey = "exports.error.stale"
		}
		retry := &policies.ExportRetry{Action: paths.PolicyExport + "?" + j.View}
		params := mustQuery(j.Params)
		for _, k := range exportParams {
			if val := params.Get(k); val != "" {
				retry.Fields = append(retry.Fields, policies.HiddenField{Name: k, Value: val})
			}
		}
		v.Retry = retry
	}
	return v
}

// byteSize is a file size for people: "812 B", "3.4 MB".
func byteSize(n int64) string {
	switch {
	case n < 1000:
		return strconv.FormatInt(n, 10) + " B"
	case n < 1000*1000:
		return strconv.FormatFloat(float64(n)/1000, 'f', 1, 64) + " kB"
	default:
		return strconv.FormatFloat(float64(n)/1e6, 'f', 1, 64) + " MB"
	}
}

// File handles GET /exports/{id}/file: the finished file, streamed from
// the store chunk by chunk.
func (e *Exports) File(w http.ResponseWriter, r *http.Request) error {
	j, err := e.job(r)
	if err != nil {
		return err
	}
	if j.State != exports.StateDone {
		return &handlers.Error{Status: http.StatusConflict, MessageKey: "exports.error.not_ready"}
	}
	h := w.Header()
	h.Set("Content-Type", j.Format.ContentType())
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": j.Filename}))
	h.Set("Content-Length", strconv.FormatInt(j.Bytes, 10))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	dw := &deadlineWriter{w: w, rc: http.NewResponseController(w), now: time.Now}
	if err := e.h.exports.WriteFile(r.Context(), j.ID, dw); err != nil {
		// The status is sent: the browser sees a short file, the log why.
		e.h.core.Log.WarnContext(r.Context(), "export download cut short", "job", j.ID, "err", err)
	}
	if dw.unsupported {
		e.h.core.Log.WarnContext(r.Context(), "export download: the response writer cannot move its write deadline; a slow client may get a short file", "job", j.ID)
	}
	return nil
}

// chunkWriteTimeout is how long one chunk of a download (exports.ChunkSize,
// 1 MiB) may take to reach the client: about 17 kB/s at the least. The
// server's WriteTimeout (2 minutes) bounds a whole response, which a
// file of up to 256 MiB on a slow line would outlast: a download moves
// its deadline on as each chunk goes.
const chunkWriteTimeout = time.Minute

// deadlineWriter moves the connection's write deadline on before each
// chunk it writes.
type deadlineWriter struct {
	w   io.Writer
	rc  *http.ResponseController
	now func() time.Time
	// unsupported: the writer under the middleware cannot move its
	// deadline (the server's WriteTimeout then holds).
	unsupported bool
}

func (d *deadlineWriter) Write(p []byte) (int, error) {
	if !d.unsupported {
		if err := d.rc.SetWriteDeadline(d.now().Add(chunkWriteTimeout)); errors.Is(err, http.ErrNotSupported) {
			d.unsupported = true
		} else if err != nil {
			return 0, err
		}
	}
	return d.w.Write(p)
}
