package exports

import (
	"archive/zip"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/xuri/excelize/v2"

	"backoffice/internal/index"
)

// Encoder writes a header and then rows to a file as they come; Close
// ends the file. Nothing of a row is kept once Row returns (XLSX keeps
// its sheet in a temporary file past a few MB, not in memory).
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
		e.line[i] = e.o.value(c, r)
	}
	return e.cw.Write(e.line)
}

func (e *csvEncoder) Close() error {
	e.cw.Flush()
	return e.cw.Error()
}

// xlsxEncoder writes one sheet through excelize's StreamWriter, with
// typed cells: amounts as numbers, dates as dates, expiry as a boolean.
type xlsxEncoder struct {
	w      io.Writer
	f      *excelize.File
	sw     *excelize.StreamWriter
	o      Options
	n      int // rows written, the header included
	cells  []any
	styles struct{ date, money int }
}

// sheetName is the one sheet's name.
const sheetName = "Policies"

func newXLSX(w io.Writer, o Options) (*xlsxEncoder, error) {
	f := excelize.NewFile()
	e := &xlsxEncoder{w: w, f: f, o: o, cells: make([]any, len(o.Columns))}
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
	if e.sw, err = f.NewStreamWriter(sheetName); err != nil {
		return fail(err)
	}
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
		if err := e.sw.SetColWidth(i+1, i+1, width); err != nil {
			return fail(err)
		}
	}
	if err := e.sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return fail(err)
	}
	header := make([]any, len(o.Headers))
	for i, h := range o.Headers {
		header[i] = excelize.Cell{StyleID: bold, Value: h}
	}
	if err := e.sw.SetRow("A1", header); err != nil {
		return fail(err)
	}
	e.n = 1
	return e, nil
}

func (e *xlsxEncoder) Row(r *index.Row) error {
	if e.n > MaxRows {
		return fmt.Errorf("exports: more than %d rows", MaxRows)
	}
	for i, c := range e.o.Columns {
		if c.Restricted && e.o.Public {
			e.cells[i] = nil
			continue
		}
		switch c.kind {
		case money:
			// The nearest double to the exact decimal: a spreadsheet
			// number is a double whatever its source.
			v, _ := strconv.ParseFloat(decimal(r.GrossMinor, false), 64)
			e.cells[i] = excelize.Cell{StyleID: e.styles.money, Value: v}
		case day:
			iso := r.CreatedDay
			switch c.ID {
			case "start":
				iso = r.StartDay
			case "end":
				iso = r.EndDay
			}
			if y, m, d, ok := parseDay(iso); ok {
				e.cells[i] = excelize.Cell{StyleID: e.styles.date, Value: time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)}
			} else {
				e.cells[i] = nil
			}
		case flag:
			e.cells[i] = r.Expired
		default:
			e.cells[i] = e.o.value(c, r)
		}
	}
	e.n++
	cell, err := excelize.CoordinatesToCellName(1, e.n)
	if err != nil {
		return err
	}
	return e.sw.SetRow(cell, e.cells)
}

func (e *xlsxEncoder) Close() error {
	defer e.f.Close()
	if err := e.sw.Flush(); err != nil {
		return fmt.Errorf("exports: xlsx: %w", err)
	}
	// File.Write builds the whole archive in a buffer before writing it;
	// a zip writer of our own on w streams it instead (the buffer then
	// stays empty: no entry nears the 4 GB that would need it patched).
	var zw *zip.Writer
	e.f.SetZipWriter(func(io.Writer) excelize.ZipWriter {
		zw = zip.NewWriter(e.w)
		return zw
	})
	if err := e.f.Write(io.Discard); err != nil {
		return fmt.Errorf("exports: xlsx: %w", err)
	}
	if zw == nil {
		return fmt.Errorf("exports: xlsx: the archive was not written")
	}
	return nil
}
