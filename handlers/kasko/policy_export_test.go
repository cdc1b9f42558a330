package kasko_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/csv"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/xuri/excelize/v2"

	"backoffice/internal/audit"
	"backoffice/internal/exports"
	"backoffice/internal/index"
	"backoffice/internal/sandbox"
	"backoffice/web/webtest"
)

// TestExport runs the export checks on one indexed dashboard.
func TestExport(t *testing.T) {
	t.Parallel()
	srv := webtest.NewServer(t, webtest.Options{Sandbox: sandbox.Options{Policies: 300}, Index: true})
	for name, check := range map[string]func(*testing.T, *webtest.Server){
		"csv matches the list":            checkExportCSVMatchesTheList,
		"xlsx matches the list, typed":    checkExportXLSXMatchesTheList,
		"localized csv":                   checkExportLocalizedCSV,
		"public keys get no restricted":   checkExportPublicHasNoRestrictedFields,
		"jobs are their owner's":          checkExportJobsAreTheOwners,
		"zero rows: the header alone":     checkExportZeroRows,
		"bad input is refused":            checkExportBadInput,
		"a running export is pointed at":  checkExportWhileRunning,
		"htmx shows the progress":         checkExportHTMX,
		"another instance serves the job": checkExportOnAnotherInstance,
		"the list's chosen columns":       checkExportChosenColumns,
		"an open view's columns":          checkExportOpenViewColumns,
		"a large body is refused":         checkExportLargeBody,
		"a slow download completes":       checkExportSlowDownload,
	} {
		t.Run(name, func(t *testing.T) { check(t, srv) })
	}
}

// exportFile runs an export of view to its end, as a browser without
// JavaScript does (POST, 303 to the job, its page until done, the
// file), and returns the job's path and the file.
func exportFile(t *testing.T, b *webtest.Browser, view url.Values, form url.Values) (string, webtest.Response) {
	t.Helper()
	r := b.Post("/policies/export?"+view.Encode(), form)
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/exports/") {
		t.Fatalf("POST export = %d → %q, want 303 to the job\n%.600s", r.Status, r.Header.Get("Location"), r.Body)
	}
	job := r.Header.Get("Location")
	waitDone(t, b, job)
	f := b.Get(job + "/file")
	if f.Status != http.StatusOK {
		t.Fatalf("GET %s/file = %d\n%.400s", job, f.Status, f.Body)
	}
	if cd := f.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment;") {
		t.Errorf("Content-Disposition = %q, want an attachment", cd)
	}
	if got, want := f.Header.Get("Content-Length"), strconv.Itoa(len(f.Body)); got != want {
		t.Errorf("Content-Length = %s, body %s bytes", got, want)
	}
	return job, f
}

// waitDone follows a job's page until it is done.
func waitDone(t *testing.T, b *webtest.Browser, job string) *goquery.Document {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		p := b.Page(t, job, http.StatusOK)
		switch state := p.Doc.Find(`[data-testid="export-job"]`).AttrOr("data-state", ""); state {
		case "done":
			if p.Doc.Find(`a[data-testid="export-download"]`).AttrOr("href", "") != job+"/file" {
				t.Fatalf("the done page links no file")
			}
			return p.Doc
		case "running":
			if p.Header.Get("Refresh") == "" {
				t.Errorf("a running job's page does not refresh itself")
			}
			if p.Doc.Find(`progress[data-testid="export-progress"]`).Length() != 1 {
				t.Errorf("a running job shows no progress bar")
			}
		default:
			t.Fatalf("job %s is %q: %s", job, state, webtest.Text(p.Doc.Find(`[data-testid="export-job"]`)))
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s not done in 30s", job)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// listed is what the list shows for view, every page of it: each row's
// first two cells (policy, holder).
func listed(t *testing.T, b *webtest.Browser, view url.Values) [][2]string {
	t.Helper()
	var out [][2]string
	for page := 1; ; page++ {
		q := url.Values{}
		for k, v := range view {
			q[k] = v
		}
		q.Set("size", "100")
		q.Set("page", strconv.Itoa(page))
		r := b.Page(t, "/policies?"+q.Encode(), http.StatusOK)
		r.Doc.Find(`tr[data-testid="policy-row"]`).Each(func(_ int, s *goquery.Selection) {
			out = append(out, [2]string{webtest.Text(s.Find("td").Eq(0)), webtest.Text(s.Find("td").Eq(1))})
		})
		if r.Doc.Find(`[data-testid="pager-next"]`).Length() == 0 {
			return out
		}
	}
}

func parseCSV(t *testing.T, body string, comma rune) [][]string {
	t.Helper()
	if !strings.HasPrefix(body, "\uFEFF") {
		t.Fatalf("the CSV has no byte order mark: %.40q", body)
	}
	if !strings.Contains(body, "\r\n") {
		t.Errorf("the CSV's lines do not end in CRLF")
	}
	cr := csv.NewReader(strings.NewReader(strings.TrimPrefix(body, "\uFEFF")))
	cr.Comma = comma
	recs, err := cr.ReadAll()
	if err != nil {
		t.Fatalf("the CSV does not parse: %v", err)
	}
	return recs
}

// paidByPremium is the view the content checks export: a filter and a
// sort that is not the default one.
var paidByPremium = url.Values{"status": {"paid", "accepted"}, "sort": {"-gross_premium"}}

func checkExportCSVMatchesTheList(t *testing.T, srv *webtest.Server) {
	b := srv.SignedIn(t, sandbox.KeyASecretTest)
	want := listed(t, b, paidByPremium)
	if len(want) < 20 {
		t.Fatalf("the view lists %d rows: too few to mean anything", len(want))
	}
	before := len(srv.AuditEntries(t))
	_, f := exportFile(t, b, paidByPremium, url.Values{"format": {"csv"}})
	if ct := f.Header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Errorf("Content-Type = %q", ct)
	}
	recs := parseCSV(t, f.Body, ',')
	header := recs[0]
	wantHeader := []string{"Policy", "Holder", "Email", "Phone", "VIN", "Licence plate", "KASKO id", "Product", "Status",
		"Currency", "Gross premium", "Cover start", "Cover end", "Created", "Time zone", "Expired"}
	if !slices.Equal(header, wantHeader) {
		t.Fatalf("header = %q, want %q", header, wantHeader)
	}
	rows := recs[1:]
	if len(rows) != len(want) {
		t.Fatalf("the CSV has %d rows, the list %d", len(rows), len(want))
	}
	col := func(name string) int { return slices.Index(header, name) }
	var prev float64 = 1e18
	for i, row := range rows {
		if got := [2]string{row[col("Policy")], row[col("Holder")]}; got != want[i] {
			t.Errorf("row %d = %q, the list shows %q", i, got, want[i])
		}
		if s := row[col("Status")]; s != "paid" && s != "accepted" {
			t.Errorf("row %d has status %q, outside the filter", i, s)
		}
		premium, err := strconv.ParseFloat(row[col("Gross premium")], 64)
		if err != nil || !strings.Contains(row[col("Gross premium")], ".") {
			t.Errorf("row %d premium %q is not a decimal amount", i, row[col("Gross premium")])
		}
		if premium > prev {
			t.Errorf("row %d: premium %v after %v, not descending", i, premium, prev)
		}
		prev = premium
		if c := row[col("Currency")]; len(c) != 3 || strings.ToUpper(c) != c {
			t.Errorf("row %d currency %q", i, c)
		}
		if _, err := time.Parse(time.DateOnly, row[col("Cover start")]); err != nil {
			t.Errorf("row %d start %q is not an ISO date", i, row[col("Cover start")])
		}
		if row[col("Email")] == "" {
			t.Errorf("row %d: a secret key's export lacks the email", i)
		}
	}
	// The audit log says who exported which view, in what, how many rows.
	entries := srv.AuditEntries(t)
	if len(entries) != before+1 {
		t.Fatalf("audit entries %d → %d, want one more", before, len(entries))
	}
	e := entries[0]
	if e.Action != audit.ActionExport || e.Outcome != audit.OutcomeCompleted || !strings.HasPrefix(e.Actor, "sk_test_") ||
		!strings.Contains(e.Reference, "sort=-gross_premium") || !strings.Contains(e.Reference, "status=paid") ||
		!strings.Contains(e.Message, "format=csv rows="+strconv.Itoa(len(want))+" ") {
		t.Errorf("audit entry = %+v", e)
	}
	// The audit page names the action.
	p := b.Page(t, "/audit", http.StatusOK)
	if got := webtest.Text(p.Doc.Find(`[data-testid="audit-action"]`).First()); got != "List export" {
		t.Errorf("audit page action = %q", got)
	}
}

func checkExportXLSXMatchesTheList(t *testing.T, srv *webtest.Server) {
	b := srv.SignedIn(t, sandbox.KeyASecretTest)
	want := listed(t, b, paidByPremium)
	_, f := exportFile(t, b, paidByPremium, url.Values{"format": {"xlsx"}, "cols": {"insurer_id,holder,premium,currency,start,expired"}})
	if ct := f.Header.Get("Content-Type"); ct != exports.XLSX.ContentType() {
		t.Errorf("Content-Type = %q", ct)
	}
	x, err := excelize.OpenReader(bytes.NewReader([]byte(f.Body)))
	if err != nil {
		t.Fatalf("the XLSX does not open: %v", err)
	}
	defer x.Close()
	sheet := x.GetSheetList()[0]
	rows, err := x.GetRows(sheet)
	if err != nil {
		t.Fatal(err)
	}
	if got := rows[0]; !slices.Equal(got, []string{"Policy", "Holder", "Gross premium", "Currency", "Cover start", "Expired"}) {
		t.Fatalf("header = %q", got)
	}
	if len(rows)-1 != len(want) {
		t.Fatalf("the sheet has %d rows, the list %d", len(rows)-1, len(want))
	}
	for i, row := range rows[1:] {
		if got := [2]string{row[0], row[1]}; got != want[i] {
			t.Errorf("row %d = %q, the list shows %q", i, got, want[i])
		}
	}
	// Typed cells: the premium a number, the start a date, expiry a
	// boolean.
	for cell, wantType := range map[string]excelize.CellType{"C2": excelize.CellTypeNumber, "E2": excelize.CellTypeNumber, "F2": excelize.CellTypeBool, "A2": excelize.CellTypeInlineString} {
		got, err := x.GetCellType(sheet, cell)
		if err != nil {
			t.Fatal(err)
		}
		// A number cell may leave its type out ("n" is the default).
		if got != wantType && !(wantType == excelize.CellTypeInlineString && got == excelize.CellTypeSharedString) &&
			!(wantType == excelize.CellTypeNumber && got == excelize.CellTypeUnset) {
			t.Errorf("cell %s type %v, want %v", cell, got, wantType)
		}
	}
	if raw, _ := x.GetCellValue(sheet, "C2", excelize.Options{RawCellValue: true}); raw == "" {
		t.Errorf("premium cell is empty")
	} else if _, err := strconv.ParseFloat(raw, 64); err != nil {
		t.Errorf("premium cell raw value %q is not a number", raw)
	}
	raw, _ := x.GetCellValue(sheet, "E2", excelize.Options{RawCellValue: true})
	if serial, err := strconv.ParseFloat(raw, 64); err != nil || serial < 40000 || serial > 60000 {
		t.Errorf("start cell raw value %q is not a date serial", raw)
	}
	shown, _ := x.GetCellValue(sheet, "E2")
	if _, err := time.Parse(time.DateOnly, shown); err != nil {
		t.Errorf("start cell shows %q, not an ISO date", shown)
	}
}

func checkExportLocalizedCSV(t *testing.T, srv *webtest.Server) {
	b := srv.SignedIn(t, sandbox.KeyASecretTest)
	b.Header.Set("Accept-Language", "de")
	_, f := exportFile(t, b, paidByPremium, url.Values{"format": {"csv"}, "locale": {"1"}, "cols": {"insurer_id,premium,start"}})
	recs := parseCSV(t, f.Body, ';')
	if got := recs[0]; !slices.Equal(got, []string{"Police", "Bruttoprämie", "Versicherungsbeginn"}) {
		t.Errorf("German header = %q", got)
	}
	for i, row := range recs[1:] {
		if !strings.Contains(row[1], ",") || strings.Contains(row[1], ".") {
			t.Errorf("row %d premium %q has no decimal comma", i, row[1])
		}
		if _, err := time.Parse("02.01.2006", row[2]); err != nil {
			t.Errorf("row %d start %q is not a German date", i, row[2])
		}
	}
	// The same link, from the list's button value.
	_, f = exportFile(t, b, paidByPremium, url.Values{"format": {"csv-local"}, "cols": {"premium"}})
	if recs := parseCSV(t, f.Body, ';'); !strings.Contains(recs[1][0], ",") {
		t.Errorf("csv-local premium %q", recs[1][0])
	}
}

func checkExportPublicHasNoRestrictedFields(t *testing.T, srv *webtest.Server) {
	secret, err := srv.Index.Get(context.Background(), tenantATest, sandbox.FixturePolicyID)
	if err != nil {
		t.Fatal(err)
	}
	b := srv.SignedIn(t, sandbox.KeyAPublicTest)
	for _, format := range []string{"csv", "xlsx"} {
		_, f := exportFile(t, b, url.Values{}, url.Values{"format": {format}})
		body := f.Body
		var header []string
		if format == "csv" {
			recs := parseCSV(t, body, ',')
			header = recs[0]
			if len(recs) < 2 {
				t.Fatalf("public csv has no rows")
			}
		} else {
			x, err := excelize.OpenReader(strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			rows, _ := x.GetRows(x.GetSheetList()[0])
			header = rows[0]
			var all bytes.Buffer
			for _, r := range rows {
				all.WriteString(strings.Join(r, "\t") + "\n")
			}
			body = all.String()
			x.Close()
		}
		for _, h := range []string{"Email", "Phone", "VIN", "Licence plate"} {
			if slices.Contains(header, h) {
				t.Errorf("%s: a public key's export has the %s column", format, h)
			}
		}
		for _, v := range []string{secret.Email, secret.Phone, secret.VIN, secret.Plate} {
			if v != "" && strings.Contains(body, v) {
				t.Errorf("%s: a public key's export holds %q", format, v)
			}
		}
		if !strings.Contains(body, sandbox.FixtureInsurerPolicyID) {
			t.Errorf("%s: the public export lacks the fixture", format)
		}
	}
	// Asking for a restricted column is refused, not quietly granted.
	r := b.Post("/policies/export", url.Values{"format": {"csv"}, "cols": {"insurer_id,email"}})
	if r.Status != http.StatusBadRequest {
		t.Errorf("public cols=email: %d, want 400", r.Status)
	}
}

func checkExportJobsAreTheOwners(t *testing.T, srv *webtest.Server) {
	a := srv.SignedIn(t, sandbox.KeyASecretTest)
	job, _ := exportFile(t, a, url.Values{"status": {"paid"}}, url.Values{"format": {"csv"}})
	// Another tenant, and another user of the same tenant, find nothing.
	for _, key := range []string{sandbox.KeyBSecretTest, sandbox.KeyAPublicTest} {
		o := srv.SignedIn(t, key)
		for _, path := range []string{job, job + "/file"} {
			if r := o.Get(path); r.Status != http.StatusNotFound {
				t.Errorf("%s… GET %s = %d, want 404", key[:8], path, r.Status)
			}
		}
	}
	// Signed out: to the sign-in page.
	if r := srv.NewBrowser(t).Get(job); r.Status != http.StatusSeeOther {
		t.Errorf("signed out GET %s = %d", job, r.Status)
	}
	if r := a.Get("/exports/00000000000000000000000000000000"); r.Status != http.StatusNotFound {
		t.Errorf("unknown job = %d", r.Status)
	}
}

func checkExportZeroRows(t *testing.T, srv *webtest.Server) {
	b := srv.SignedIn(t, sandbox.KeyASecretTest)
	view := url.Values{"q": {"zzzqqqnomatch"}, "status": {"paid"}}
	r := b.Post("/policies/export?"+view.Encode(), url.Values{"format": {"csv"}, "cols": {"insurer_id,holder"}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("POST = %d", r.Status)
	}
	job := r.Header.Get("Location")
	doc := waitDone(t, b, job)
	if doc.Find(`[data-testid="export-empty"]`).Length() != 1 {
		t.Errorf("the page does not say the file is empty")
	}
	f := b.Get(job + "/file")
	recs := parseCSV(t, f.Body, ',')
	if len(recs) != 1 || !slices.Equal(recs[0], []string{"Policy", "Holder"}) {
		t.Errorf("zero-row CSV = %q, want the header alone", recs)
	}
}

func checkExportBadInput(t *testing.T, srv *webtest.Server) {
	b := srv.SignedIn(t, sandbox.KeyASecretTest)
	for _, c := range []struct {
		name, path string
		form       url.Values
		wantText   string
	}{
		{"unknown format", "/policies/export", url.Values{"format": {"pdf"}}, "Unknown export format"},
		{"no format", "/policies/export", url.Values{}, "Unknown export format"},
		{"unknown column", "/policies/export", url.Values{"format": {"csv"}, "cols": {"insurer_id,shoe_size"}}, "Unknown column"},
		{"invalid filter", "/policies/export?created_from=2024-13-45", url.Values{"format": {"csv"}}, "filter values that are not valid"},
		{"inverted range", "/policies/export?premium_min=100&premium_max=1", url.Values{"format": {"csv"}}, "filter values that are not valid"},
		{"unknown sort", "/policies/export?sort=shoe_size", url.Values{"format": {"csv"}}, ""},
	} {
		r := b.Post(c.path, c.form)
		if r.Status != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", c.name, r.Status)
			continue
		}
		if c.wantText != "" && (r.Doc == nil || !strings.Contains(webtest.Text(r.Doc.Find("body")), c.wantText)) {
			t.Errorf("%s: the page does not say %q", c.name, c.wantText)
		}
	}
	// The file of a job that is not done is not served; GET on the
	// export address is not a route.
	if r := b.Get("/policies/export"); r.Status == http.StatusOK {
		t.Errorf("GET /policies/export = %d", r.Status)
	}
}

func checkExportWhileRunning(t *testing.T, srv *webtest.Server) {
	// A user of their own (tenant B), so that no other check's job is
	// theirs: a running job is made in the store directly, as another
	// instance would have made it.
	b := srv.SignedIn(t, sandbox.KeyBSecretTest)
	first := b.Post("/policies/export", url.Values{"format": {"csv"}})
	if first.Status != http.StatusSeeOther {
		t.Fatalf("first export = %d", first.Status)
	}
	waitDone(t, b, first.Header.Get("Location"))
	owner := ownerOf(t, srv, first.Header.Get("Location"))
	running, err := srv.Exports.Create(context.Background(), exports.Job{Tenant: owner.Tenant, Owner: owner.Owner, Format: exports.CSV, View: "status=paid", Params: "format=csv", Filename: "x.csv", Total: 10})
	if err != nil {
		t.Fatal(err)
	}
	r := b.Post("/policies/export", url.Values{"format": {"xlsx"}})
	if r.Status != http.StatusConflict {
		t.Fatalf("an export while one runs = %d, want 409", r.Status)
	}
	if got := webtest.Text(r.Doc.Find(`[data-testid="export-notice"]`)); !strings.Contains(got, "already have an export running") {
		t.Errorf("notice = %q", got)
	}
	if href := r.Doc.Find(`a[data-testid="export-link"]`).AttrOr("href", ""); href != "/exports/"+running.ID {
		t.Errorf("the answer points at %q, want the running job", href)
	}
	// Its file is not ready.
	if f := b.Get("/exports/" + running.ID + "/file"); f.Status != http.StatusConflict {
		t.Errorf("file of a running job = %d, want 409", f.Status)
	}
	// Once its instance stops beating, it shows as failed, with a retry,
	// and a new export may start.
	if err := srv.Exports.Fail(context.Background(), running.ID, "exports.error.stale"); err != nil {
		t.Fatal(err)
	}
	p := b.Page(t, "/exports/"+running.ID, http.StatusOK)
	if state := p.Doc.Find(`[data-testid="export-job"]`).AttrOr("data-state", ""); state != "failed" {
		t.Errorf("failed job state = %q", state)
	}
	retry := p.Doc.Find(`form[data-testid="export-retry"]`)
	if action := retry.AttrOr("action", ""); action != "/policies/export?status=paid" {
		t.Errorf("retry action = %q", action)
	}
	if r := b.Post("/policies/export", url.Values{"format": {"csv"}}); r.Status != http.StatusSeeOther {
		t.Errorf("export after the failure = %d", r.Status)
	} else {
		waitDone(t, b, r.Header.Get("Location"))
	}
}

// ownerOf reads a job's tenant and owner from the store (tests know no
// key digest).
func ownerOf(t *testing.T, srv *webtest.Server, job string) exports.Job {
	t.Helper()
	j, err := srv.Exports.Find(context.Background(), strings.TrimPrefix(job, "/exports/"))
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func checkExportHTMX(t *testing.T, srv *webtest.Server) {
	b := srv.SignedIn(t, sandbox.KeyASecretTest)
	// The list carries the controls: buttons of the find form, posting
	// it to the export address, that htmx aims at #export-status.
	list := b.Page(t, "/policies?status=paid", http.StatusOK)
	if list.Doc.Find(`#export-status[aria-live="polite"]`).Length() != 1 {
		t.Errorf("the list has no live export region")
	}
	for _, f := range []string{"csv", "csv-local", "xlsx"} {
		btn := list.Doc.Find(`button[data-testid="export-` + f + `"]`)
		if btn.AttrOr("form", "") != "find-form" || btn.AttrOr("formaction", "") != "/policies/export" || btn.AttrOr("formmethod", "") != "post" ||
			btn.AttrOr("value", "") != f || btn.AttrOr("hx-target", "") != "#export-status" || webtest.Text(btn) == "" {
			t.Errorf("export button %s: %s", f, webtest.Text(btn))
		}
	}
	// What the find form posts (its fields and the filters'), htmx.
	r := b.Post("/policies/export", url.Values{"q": {""}, "status": {"paid"}, "sort": {"-created_at"}, "size": {"20"}, "open": {"1"}, "format": {"csv"}},
		"HX-Request", "true")
	if r.Status != http.StatusAccepted || r.Doc == nil {
		t.Fatalf("htmx export = %d", r.Status)
	}
	if r.Doc.Find("head title").Length() != 0 {
		t.Errorf("the htmx answer is a whole page")
	}
	j := r.Doc.Find(`[data-testid="export-job"]`)
	id := strings.TrimPrefix(j.AttrOr("hx-get", ""), "/exports/")
	if j.AttrOr("data-state", "") != "running" || id == "" || j.AttrOr("hx-trigger", "") != "every 500ms" {
		t.Fatalf("htmx progress = %s", webtest.Text(j))
	}
	// Inside the polite live region, the progress that is replaced every
	// half second is busy (not read out at each poll), and still shown.
	if j.AttrOr("aria-busy", "") != "true" || j.Find(`progress[data-testid="export-progress"]`).Length() != 1 {
		t.Errorf("the running job: aria-busy=%q, %d progress bars; want busy with its bar", j.AttrOr("aria-busy", ""), j.Find("progress").Length())
	}
	for deadline := time.Now().Add(30 * time.Second); ; {
		p := b.Page(t, "/exports/"+id, http.StatusOK, "HX-Request", "true")
		j := p.Doc.Find(`[data-testid="export-job"]`)
		if s := j.AttrOr("data-state", ""); s == "running" && j.AttrOr("aria-busy", "") != "true" {
			t.Errorf("a polled running job is not busy")
		}
		if j.AttrOr("data-state", "") == "done" {
			if _, polls := j.Attr("hx-trigger"); polls {
				t.Errorf("a done job still polls")
			}
			// The end is what is announced: nothing busy is left.
			if n := p.Doc.Find(`[aria-busy="true"]`).Length(); n != 0 {
				t.Errorf("a done job leaves %d busy elements: its end would not be announced", n)
			}
			if a := j.Find(`a[data-testid="export-download"]`); a.AttrOr("href", "") != "/exports/"+id+"/file" {
				t.Errorf("download link = %q", a.AttrOr("href", ""))
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("htmx job not done")
		}
		time.Sleep(50 * time.Millisecond)
	}
	f := b.Get("/exports/" + id + "/file")
	recs := parseCSV(t, f.Body, ',')
	status := slices.Index(recs[0], "Status")
	for _, row := range recs[1:] {
		if row[status] != "paid" {
			t.Fatalf("a posted view's export has status %q", row[status])
		}
	}
	if want := listed(t, b, url.Values{"status": {"paid"}}); len(recs)-1 != len(want) {
		t.Errorf("posted view: %d rows, the list %d", len(recs)-1, len(want))
	}
}

func checkExportOnAnotherInstance(t *testing.T, srv *webtest.Server) {
	b := srv.SignedIn(t, sandbox.KeyASecretTest)
	job, f := exportFile(t, b, url.Values{"status": {"cancelled"}}, url.Values{"format": {"csv"}})
	// Another instance behind the balancer, sharing the stores: the
	// same job, the same file.
	other := b.On(srv.SecondInstance(t))
	p := other.Page(t, job, http.StatusOK)
	if state := p.Doc.Find(`[data-testid="export-job"]`).AttrOr("data-state", ""); state != "done" {
		t.Errorf("on another instance the job is %q", state)
	}
	if g := other.Get(job + "/file"); g.Body != f.Body {
		t.Errorf("another instance serves a different file (%d bytes, want %d)", len(g.Body), len(f.Body))
	}
}

// csvHeader exports view with form and returns the file's header.
func csvHeader(t *testing.T, b *webtest.Browser, view, form url.Values) (string, []string) {
	t.Helper()
	job, f := exportFile(t, b, view, form)
	return job, parseCSV(t, f.Body, ',')[0]
}

func checkExportChosenColumns(t *testing.T, srv *webtest.Server) {
	b := srv.SignedIn(t, sandbox.KeyASecretTest)
	// Hide the holder and the premium with the list's column chooser.
	r := b.Post("/policies/columns", url.Values{"col": {"id", "email", "product", "status", "start", "end", "created"}, "return": {"/policies"}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("POST /policies/columns = %d", r.Status)
	}
	list := b.Page(t, "/policies?status=paid", http.StatusOK)
	var shown []string
	list.Doc.Find(`#policy-table thead th`).Each(func(_ int, s *goquery.Selection) { shown = append(shown, webtest.Text(s)) })
	has := func(label string) bool {
		return slices.ContainsFunc(shown, func(h string) bool { return strings.HasPrefix(h, label) })
	}
	if has("Holder") || has("Gross premium") || !has("Policy") {
		t.Fatalf("the list after the chooser shows %q", shown)
	}
	// The export of the narrowed list holds what the list shows, and the
	// KASKO id; not the holder, the premium and its currency it hides,
	// nor the columns only a full export has (phone, VIN, plate, zone).
	job, header := csvHeader(t, b, url.Values{"status": {"paid"}}, url.Values{"format": {"csv"}})
	want := []string{"Policy", "Email", "KASKO id", "Product", "Status",
		"Cover start", "Cover end", "Created", "Expired"}
	if !slices.Equal(header, want) {
		t.Errorf("header with holder and premium hidden = %q, want %q", header, want)
	}
	// A retry makes the same file: the columns are kept with the job.
	if params := mustParams(t, ownerOf(t, srv, job).Params); params.Get("cols") != strings.Join([]string{
		"insurer_id", "email", "id", "product", "status", "start", "end", "created", "expired"}, ",") {
		t.Errorf("job params = %q", params.Encode())
	}
	// XLSX too.
	_, f := exportFile(t, b, url.Values{"status": {"paid"}}, url.Values{"format": {"xlsx"}})
	x, err := excelize.OpenReader(strings.NewReader(f.Body))
	if err != nil {
		t.Fatal(err)
	}
	rows, _ := x.GetRows(x.GetSheetList()[0])
	x.Close()
	if len(rows) == 0 || !slices.Equal(rows[0], want) {
		t.Errorf("xlsx header with holder hidden = %q", rows[0])
	}
	// Explicit cols= win over the chooser.
	if _, header := csvHeader(t, b, url.Values{}, url.Values{"format": {"csv"}, "cols": {"holder,premium"}}); !slices.Equal(header, []string{"Holder", "Gross premium"}) {
		t.Errorf("explicit cols with holder hidden: header %q", header)
	}
	// The list's own find form (the export buttons post it) with no view
	// open: the chooser decides.
	r = b.Post("/policies/export", url.Values{"q": {""}, "status": {"paid"}, "size": {"20"}, "open": {"1"}, "format": {"csv"}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("find form export = %d", r.Status)
	}
	waitDone(t, b, r.Header.Get("Location"))
	if f := b.Get(r.Header.Get("Location") + "/file"); !slices.Equal(parseCSV(t, f.Body, ',')[0], want) {
		t.Errorf("find form export header = %q", parseCSV(t, f.Body, ',')[0])
	}

	// A public key that chose the email (which it never sees) gets no
	// restricted column.
	pk := srv.SignedIn(t, sandbox.KeyAPublicTest)
	pk.Post("/policies/columns", url.Values{"col": {"id", "email", "status"}, "return": {"/policies"}})
	if _, header := csvHeader(t, pk, url.Values{}, url.Values{"format": {"csv"}}); !slices.Equal(header, []string{"Policy", "KASKO id", "Status", "Expired"}) {
		t.Errorf("public header with id, email, status chosen = %q", header)
	}
}

func checkExportOpenViewColumns(t *testing.T, srv *webtest.Server) {
	b := srv.SignedIn(t, sandbox.KeyASecretTest)
	// The chooser hides the status; a saved view open with its own
	// columns wins while it is open, as on the list.
	b.Post("/policies/columns", url.Values{"col": {"id", "holder", "premium"}, "return": {"/policies"}})
	r := b.Post("/policies/export", url.Values{"q": {""}, "status": {"paid"}, "size": {"20"}, "open": {"1"},
		"view": {"0123456789abcdef01"}, "cols": {"id,status"}, "format": {"csv"}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("find form export with a view open = %d", r.Status)
	}
	job := r.Header.Get("Location")
	waitDone(t, b, job)
	f := b.Get(job + "/file")
	want := []string{"Policy", "KASKO id", "Status", "Expired"}
	if got := parseCSV(t, f.Body, ',')[0]; !slices.Equal(got, want) {
		t.Errorf("header with a view open on id,status = %q, want %q", got, want)
	}
	// The job's way back is the view, its columns included.
	if v := mustParams(t, ownerOf(t, srv, job).View); v.Get("cols") != "id,status" || v.Get("view") != "0123456789abcdef01" {
		t.Errorf("job view = %q", v.Encode())
	}
}

func mustParams(t *testing.T, s string) url.Values {
	t.Helper()
	v, err := url.ParseQuery(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func checkExportLargeBody(t *testing.T, srv *webtest.Server) {
	b := srv.SignedIn(t, sandbox.KeyASecretTest)
	// Well past any form's bound (64 kB), well under Go's own (10 MB).
	r := b.Post("/policies/export", url.Values{"format": {"csv"}, "q": {strings.Repeat("x", 1<<20)}})
	if r.Status != http.StatusBadRequest {
		t.Errorf("a 1 MB body: %d, want 400", r.Status)
	}
}

// TestExportFileBound: a job whose file grows past the store's bound
// fails with its reason, keeps no file, and serves none.
func TestExportFileBound(t *testing.T) {
	t.Parallel()
	ex, err := exports.Open(context.Background(), exports.Config{Path: filepath.Join(t.TempDir(), "exports.db"),
		Limits: exports.Limits{JobsPerTenant: 20, BytesPerTenant: 1 << 30, BytesPerJob: 4000, TTL: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ex.Close() })
	srv := webtest.NewServer(t, webtest.Options{Sandbox: sandbox.Options{Policies: 300}, Index: true, Exports: ex})
	b := srv.SignedIn(t, sandbox.KeyASecretTest)
	r := b.Post("/policies/export", url.Values{"format": {"csv"}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("POST export = %d", r.Status)
	}
	job := r.Header.Get("Location")
	for deadline := time.Now().Add(30 * time.Second); ; {
		p := b.Page(t, job, http.StatusOK)
		state := p.Doc.Find(`[data-testid="export-job"]`).AttrOr("data-state", "")
		if state == "failed" {
			if got := webtest.Text(p.Doc.Find(`[data-testid="export-error"]`)); !strings.Contains(got, "grew past the size limit") {
				t.Errorf("failure says %q", got)
			}
			if p.Doc.Find(`form[data-testid="export-retry"]`).Length() != 1 {
				t.Errorf("a failed job offers no retry")
			}
			break
		}
		if state != "running" || time.Now().After(deadline) {
			t.Fatalf("job is %q, want it to fail on the size bound", state)
		}
		time.Sleep(50 * time.Millisecond)
	}
	j := ownerOf(t, srv, job)
	if j.State != exports.StateFailed || j.Error != "exports.error.too_large" || j.Bytes != 0 {
		t.Errorf("job = %s %q %d bytes", j.State, j.Error, j.Bytes)
	}
	if f := b.Get(job + "/file"); f.Status != http.StatusConflict {
		t.Errorf("file of a failed job = %d, want 409", f.Status)
	}
}

// checkExportSlowDownload: a file of several chunks downloaded by a
// slow client, from a server whose WriteTimeout is far shorter than the
// transfer, arrives whole: the handler moves the write deadline on for
// each chunk.
func checkExportSlowDownload(t *testing.T, srv *webtest.Server) {
	b := srv.SignedIn(t, sandbox.KeyASecretTest)
	job, _ := exportFile(t, b, url.Values{"status": {"paid"}}, url.Values{"format": {"csv"}})
	ctx := context.Background()
	// A big file of this user's (the same tenant and owner as the job
	// just made); random bytes, which no compression shrinks.
	mine, err := srv.Exports.Find(ctx, strings.TrimPrefix(job, "/exports/"))
	if err != nil {
		t.Fatal(err)
	}
	big, err := srv.Exports.Create(ctx, exports.Job{Tenant: mine.Tenant, Owner: mine.Owner, Format: exports.CSV,
		View: mine.View, Params: mine.Params, Filename: "big.csv", Total: 1})
	if err != nil {
		t.Fatal(err)
	}
	want := make([]byte, 6*exports.ChunkSize+123)
	rand.Read(want)
	fw := srv.Exports.NewFileWriter(ctx, big.ID)
	if _, err := fw.Write(want); err != nil {
		t.Fatal(err)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := srv.Exports.Finish(ctx, big.ID, 1, fw.Size()); err != nil {
		t.Fatal(err)
	}
	// The same dashboard behind a server with a short WriteTimeout, and
	// a client with a small receive window that reads slowly: the
	// transfer takes seconds, the timeout is 300 ms.
	hs := httptest.NewUnstartedServer(srv.Handler)
	hs.Config.WriteTimeout = 300 * time.Millisecond
	hs.Start()
	defer hs.Close()
	dialer := &net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		if err := c.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 32<<10) }); err != nil {
			return err
		}
		return serr
	}}
	client := *b.Client()
	client.Transport = &http.Transport{DialContext: dialer.DialContext, DisableCompression: true}
	// The session cookie is the browser's (cookies ignore the port).
	req, _ := http.NewRequest(http.MethodGet, hs.URL+"/exports/"+big.ID+"/file", nil)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET big file = %d", resp.StatusCode)
	}
	var got bytes.Buffer
	start := time.Now()
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		got.Write(buf[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("after %d of %d bytes (%v): %v", got.Len(), len(want), time.Since(start), err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if elapsed := time.Since(start); elapsed < time.Second {
		t.Logf("the download took only %v: not slow enough to prove anything", elapsed)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Fatalf("downloaded %d bytes in %v, want the %d written", got.Len(), time.Since(start), len(want))
	}
}

// TestExportCapped: an export of a text search ordered by relevance
// that matches more than index.RankedMatches rows holds the ranked
// ones, and says so on its page and in the audit log; sorted by a
// column, the same search exports every match and says nothing.
func TestExportCapped(t *testing.T) {
	t.Parallel()
	srv := webtest.NewServer(t, webtest.Options{Sandbox: sandbox.Options{Policies: 20}, Index: true, IndexKeys: []string{sandbox.KeyASecretTest}, IndexPoll: time.Hour})
	b := srv.SignedIn(t, sandbox.KeyASecretTest)
	n := seedZandas(t, srv)
	job, f := exportFile(t, b, url.Values{"q": {"zanda"}}, url.Values{"format": {"csv"}})
	if got := len(csvRecords(t, f.Body)) - 1; got != index.RankedMatches {
		t.Errorf("capped export holds %d rows, want %d", got, index.RankedMatches)
	}
	doc := b.Page(t, job, http.StatusOK).Doc
	note := webtest.Text(doc.Find(`[data-testid="export-capped"]`))
	if !strings.Contains(note, "1000") || !strings.Contains(note, "Sort the list by a column") {
		t.Errorf("capped note = %q, want the cap and how to export them all", note)
	}
	// The record follows the job's end: wait for it.
	var msg string
	for deadline := time.Now().Add(5 * time.Second); msg == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		for _, e := range srv.AuditEntries(t) {
			if e.Action == audit.ActionExport {
				msg = e.Message
			}
		}
	}
	if !strings.Contains(msg, "capped=1000") {
		t.Errorf("audit message %q does not say the export is capped", msg)
	}
	// Sorted by a column: every match, no note.
	job, f = exportFile(t, b, url.Values{"q": {"zanda"}, "sort": {"created_at"}}, url.Values{"format": {"csv"}})
	if got := len(csvRecords(t, f.Body)) - 1; got != n {
		t.Errorf("sorted export holds %d rows, want %d", got, n)
	}
	if b.Page(t, job, http.StatusOK).Doc.Find(`[data-testid="export-capped"]`).Length() != 0 {
		t.Error("a sorted export says it is capped")
	}
}

func csvRecords(t *testing.T, body string) [][]string {
	t.Helper()
	recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(body, "\uFEFF"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}
