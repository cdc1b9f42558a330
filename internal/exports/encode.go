package exports

import (
	"archive/zip"
	"bufio"
	"encoding/csv"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"backoffice/internal/index"
)

// Encoder writes a header and then rows to a file as they come; Close
// ends the file. Nothing of a row is kept once Row returns (XLSX keeps
// its sheet's XML compressed straight into the archive).
type Encoder interface {
	Row(r *index.Row) error
	Close() error
}

// MaxRows bounds one export: an XLSX sheet holds 1,048,576 rows.
const MaxRows = 1_000_000

// NewEncoder starts a file of format f on w and writes its header.
func NewEncoder(f Format, w io.Writer, o Options) (Encoder, error) {
	if f == XLSX {
		return newXLSX(w, o)
	}
	return newCSV(w, o)
}

// csvEncoder writes RFC 4180 CSV: UTF-8 with a byte order mark (so that
// spreadsheets read the text as UTF-8), CRLF line ends, quotes where a
// field needs them.
type csvEncoder struct {
	cw   *csv.Writer
	o    Options
	line []string
}

func newCSV(w io.Writer, o Options) (*csvEncoder, error) {
	if _, err := io.WriteString(w, "\uFEFF"); err != nil {
		return nil, err
	}
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	if o.Localized && o.DecimalComma {
		cw.Comma = ';'
	}
	if err := cw.Write(o.Headers); err != nil {
		return nil, err
	}
	return &csvEncoder{cw: cw, o: o, line: make([]string, len(o.Columns))}, nil
}

func (e *csvEncoder) Row(r *index.Row) error {
	for i, c := range e.o.Columns {
		v := e.o.value(c, r)
		if c.kind == text {
			v = inert(v)
		}
		e.line[i] = v
	}
	return e.cw.Write(e.line)
}

// inert keeps a text value from running as a formula when a spreadsheet
// opens the CSV: one that starts with '=', '+', '-', '@', a tab or a
// carriage return (holder names, plates and ids come from the upstream
// as anyone typed them) gets a leading apostrophe, which spreadsheets
// read as "this is text" (OWASP's advice for CSV injection). Only text
// columns: amounts and dates are written by us, and a negative amount
// must stay a number.
func inert(v string) string {
	if v == "" {
		return v
	}
	switch v[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + v
	}
	return v
}

func (e *csvEncoder) Close() error {
	e.cw.Flush()
	return e.cw.Error()
}

// xlsxEncoder writes one sheet with typed cells: amounts as numbers,
// dates as dates, expiry as a boolean. The sheet's XML goes straight
// into the archive's compressed entry as rows come: excelize's
// StreamWriter keeps up to 16 MB of rows in a bytes.Buffer before it
// spills them to a temporary file (its threshold is a constant), and the
// buffer's doubling held 30–60 MB of heap at a time. excelize still
// writes every other part (workbook, styles, relationships, content
// types) into the same archive when the sheet is done; its own, empty
// copy of the sheet is skipped.
type xlsxEncoder struct {
	f      *excelize.File
	zw     *zip.Writer
	sheet  *bufio.Writer
	o      Options
	n      int // rows written, the header included
	refs   []string
	buf    []byte
	styles struct{ date, money int }
}

// sheetName is the one sheet's name; sheetPath its part in the archive
// (a new excelize file's first sheet).
const (
	sheetName = "Policies"
	sheetPath = "xl/worksheets/sheet1.xml"
)

func newXLSX(w io.Writer, o Options) (*xlsxEncoder, error) {
	f := excelize.NewFile()
	e := &xlsxEncoder{f: f, o: o}
	fail := func(err error) (*xlsxEncoder, error) {
		f.Close()
		return nil, fmt.Errorf("exports: xlsx: %w", err)
	}
	if err := f.SetSheetName("Sheet1", sheetName); err != nil {
		return fail(err)
	}
	iso := "yyyy-mm-dd"
	var err error
	if e.styles.date, err = f.NewStyle(&excelize.Style{CustomNumFmt: &iso}); err != nil {
		return fail(err)
	}
	if e.styles.money, err = f.NewStyle(&excelize.Style{NumFmt: 4}); err != nil { // #,##0.00
		return fail(err)
	}
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		return fail(err)
	}
	e.zw = zip.NewWriter(w)
	part, err := e.zw.Create(sheetPath)
	if err != nil {
		return fail(err)
	}
	e.sheet = bufio.NewWriterSize(part, 64<<10)
	b := []byte(xml.Header)
	b = append(b, `<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">`...)
	// The header row stays in view: frozen above the rows.
	b = append(b, `<sheetViews><sheetView tabSelected="1" workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/><selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews><sheetFormatPr defaultRowHeight="15"/>`...)
	if len(o.Columns) > 0 {
		b = append(b, "<cols>"...)
		for i, c := range o.Columns {
			width := 16.0
			switch c.ID {
			case "holder", "email":
				width = 28
			case "vin", "id", "insurer_id", "product":
				width = 22
			case "currency", "expired":
				width = 10
			}
			n := strconv.Itoa(i + 1)
			b = append(b, `<col min="`+n+`" max="`+n+`" width="`+strconv.FormatFloat(width, 'f', -1, 64)+`" customWidth="1"/>`...)
		}
		b = append(b, "</cols>"...)
	}
	b = append(b, "<sheetData>"...)
	for i := range o.Columns {
		name, err := excelize.ColumnNumberToName(i + 1)
		if err != nil {
			return fail(err)
		}
		e.refs = append(e.refs, name)
	}
	e.n = 1
	b = append(b, `<row r="1">`...)
	for i, h := range o.Headers {
		if i < len(e.refs) {
			b = e.text(b, i, bold, h)
		}
	}
	b = append(b, "</row>"...)
	if _, err := e.sheet.Write(b); err != nil {
		return fail(err)
	}
	return e, nil
}

// cell opens cell i of the current row with style s (0: none) and type
// t ("": a number).
func (e *xlsxEncoder) cell(b []byte, i, s int, t string) []byte {
	b = append(b, `<c r="`...)
	b = append(b, e.refs[i]...)
	b = strconv.AppendInt(b, int64(e.n), 10)
	b = append(b, '"')
	if s > 0 {
		b = append(b, ` s="`...)
		b = strconv.AppendInt(b, int64(s), 10)
		b = append(b, '"')
	}
	if t != "" {
		b = append(b, ` t="`...)
		b = append(b, t...)
		b = append(b, '"')
	}
	return append(b, '>')
}

// text is an inline string cell: never a formula (a sheet only
// evaluates <f>), so a value that starts with '=' stays the text it is.
func (e *xlsxEncoder) text(b []byte, i, s int, v string) []byte {
	if v == "" {
		return b
	}
	if utf8.RuneCountInString(v) > excelize.TotalCellChars {
		v = string([]rune(v)[:excelize.TotalCellChars])
	}
	b = e.cell(b, i, s, "inlineStr")
	if strings.TrimSpace(v) != v {
		b = append(b, `<is><t xml:space="preserve">`...)
	} else {
		b = append(b, `<is><t>`...)
	}
	b = appendEscaped(b, v)
	return append(b, `</t></is></c>`...)
}

// appendEscaped appends v as XML character data; characters XML cannot
// hold become U+FFFD (as encoding/xml writes them).
func appendEscaped(b []byte, v string) []byte {
	for _, r := range v {
		switch {
		case r == '<':
			b = append(b, "&lt;"...)
		case r == '>':
			b = append(b, "&gt;"...)
		case r == '&':
			b = append(b, "&amp;"...)
		case r == '\r':
			b = append(b, "&#xD;"...)
		case r == '\t' || r == '\n':
			b = append(b, byte(r))
		case r < 0x20 || r == 0xFFFE || r == 0xFFFF || r >= 0xD800 && r <= 0xDFFF || r == utf8.RuneError:
			b = utf8.AppendRune(b, '\uFFFD')
		default:
			b = utf8.AppendRune(b, r)
		}
	}
	return b
}

// excelEpoch is day 0 of a spreadsheet's dates in the 1900 system, as
// counted from 1 March 1900 on (Excel's leap day 1900-02-29 makes the
// days before it one off).
var excelEpoch = time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC)

func (e *xlsxEncoder) Row(r *index.Row) error {
	if e.n > MaxRows {
		return fmt.Errorf("exports: more than %d rows", MaxRows)
	}
	e.n++
	b := append(e.buf[:0], `<row r="`...)
	b = strconv.AppendInt(b, int64(e.n), 10)
	b = append(b, `">`...)
	for i, c := range e.o.Columns {
		if c.Restricted && e.o.Public {
			continue
		}
		switch c.kind {
		case money:
			b = e.cell(b, i, e.styles.money, "")
			b = append(b, "<v>"...)
			b = append(b, decimal(r.GrossMinor, false)...)
			b = append(b, "</v></c>"...)
		case day:
			iso := r.CreatedDay
			switch c.ID {
			case "start":
				iso = r.StartDay
			case "end":
				iso = r.EndDay
			}
			y, m, d, ok := parseDay(iso)
			t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
			if !ok || t.Before(time.Date(1900, 3, 1, 0, 0, 0, 0, time.UTC)) {
				b = e.text(b, i, 0, iso)
				continue
			}
			b = e.cell(b, i, e.styles.date, "")
			b = append(b, "<v>"...)
			b = strconv.AppendInt(b, int64(t.Sub(excelEpoch)/(24*time.Hour)), 10)
			b = append(b, "</v></c>"...)
		case flag:
			b = e.cell(b, i, 0, "b")
			if r.Expired {
				b = append(b, "<v>1</v></c>"...)
			} else {
				b = append(b, "<v>0</v></c>"...)
			}
		default:
			b = e.text(b, i, 0, e.o.value(c, r))
		}
	}
	b = append(b, "</row>"...)
	e.buf = b
	_, err := e.sheet.Write(b)
	return err
}

func (e *xlsxEncoder) Close() error {
	defer e.f.Close()
	if _, err := e.sheet.WriteString(`</sheetData><pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/></worksheet>`); err != nil {
		return err
	}
	if err := e.sheet.Flush(); err != nil {
		return err
	}
	// The other parts, into the same archive: File.Write would build it
	// all in a buffer; a zip writer of our own streams it instead.
	e.f.SetZipWriter(func(io.Writer) excelize.ZipWriter { return skipSheet{e.zw} })
	if err := e.f.Write(io.Discard); err != nil {
		return fmt.Errorf("exports: xlsx: %w", err)
	}
	return nil
}

// skipSheet is the archive excelize writes its parts into, less its
// own copy of the sheet, which is already there.
type skipSheet struct{ *zip.Writer }

func (z skipSheet) Create(name string) (io.Writer, error) {
	if name == sheetPath {
		return io.Discard, nil
	}
	return z.Writer.Create(name)
}
