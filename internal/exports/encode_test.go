package exports_test

import (
	"bytes"
	"encoding/csv"
	"strconv"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"backoffice/internal/exports"
	"backoffice/internal/index"
	"backoffice/internal/session"
)

// TestListColumns: every list column an export column follows is one
// of the list's, each list column has its export column, and a list
// showing every column exports every column.
func TestListColumns(t *testing.T) {
	list := session.ListColumns()
	has := func(ids []string, id string) bool {
		for _, x := range ids {
			if x == id {
				return true
			}
		}
		return false
	}
	for _, c := range exports.Columns {
		if c.List != "" && !has(list, c.List) {
			t.Errorf("column %s follows %q, not a list column", c.ID, c.List)
		}
	}
	for _, l := range list {
		var n int
		for _, c := range exports.Columns {
			if c.List == l {
				n++
			}
		}
		if n == 0 {
			t.Errorf("list column %s has no export column", l)
		}
	}
	all, _ := exports.ParseColumns("", false)
	if got := exports.ListColumns(list, false); !equal(exports.IDs(got), exports.IDs(all)) {
		t.Errorf("all shown: %q, want %q", exports.IDs(got), exports.IDs(all))
	}
	public, _ := exports.ParseColumns("", true)
	if got := exports.ListColumns(list, true); !equal(exports.IDs(got), exports.IDs(public)) {
		t.Errorf("all shown, public: %q, want %q", exports.IDs(got), exports.IDs(public))
	}
	// Narrowed: what the list shows, and the KASKO id.
	if got := exports.IDs(exports.ListColumns([]string{"id", "premium"}, false)); !equal(got, []string{"insurer_id", "id", "currency", "premium"}) {
		t.Errorf("id and premium shown: %q", got)
	}
	if got := exports.IDs(exports.ListColumns([]string{"holder", "status"}, true)); !equal(got, []string{"holder", "id", "status", "expired"}) {
		t.Errorf("holder and status shown, public: %q", got)
	}
}

// TestXLSXCells: the sheet written row by row reads back as excelize
// reads any workbook: text escaped (markup, a control character, edge
// spaces), typed numbers, dates and booleans, restricted cells empty for
// a public reader, the header frozen.
func TestXLSXCells(t *testing.T) {
	cols, err := exports.ParseColumns("holder,email,premium,start,expired,zone", false)
	if err != nil {
		t.Fatal(err)
	}
	for _, public := range []bool{false, true} {
		var buf bytes.Buffer
		enc, err := exports.NewEncoder(exports.XLSX, &buf, exports.Options{Columns: cols, Public: public,
			Headers: []string{"Holder <&>", "Email", "Premium", "Start", "Expired", "Zone"}})
		if err != nil {
			t.Fatal(err)
		}
		rows := []index.Row{
			{FirstName: " <b>Ana</b> & \"Ion\"\x01", LastName: "", Email: "a@example.com", GrossMinor: -123456, StartDay: "2025-03-01", Expired: true, Zone: "Europe/Bucharest"},
			{FirstName: "Émile", LastName: "Zoë", Email: "e@example.com", GrossMinor: 5, StartDay: "not a day"},
		}
		for i := range rows {
			if err := enc.Row(&rows[i]); err != nil {
				t.Fatal(err)
			}
		}
		if err := enc.Close(); err != nil {
			t.Fatal(err)
		}
		x, err := excelize.OpenReader(&buf)
		if err != nil {
			t.Fatalf("public=%v: the XLSX does not open: %v", public, err)
		}
		sheet := x.GetSheetList()[0]
		got, err := x.GetRows(sheet)
		if err != nil {
			t.Fatal(err)
		}
		email := "a@example.com"
		if public {
			email = ""
		}
		want := [][]string{
			{"Holder <&>", "Email", "Premium", "Start", "Expired", "Zone"},
			{"<b>Ana</b> & \"Ion\"\uFFFD", email, "-1,234.56", "2025-03-01", "TRUE", "Europe/Bucharest"},
			{"Émile Zoë", "e@example.com", "0.05", "not a day", "FALSE", "UTC"},
		}
		if public {
			want[2][1] = ""
		}
		for i := range want {
			if i >= len(got) || !equal(trimRight(got[i]), trimRight(want[i])) {
				t.Errorf("public=%v row %d = %q, want %q", public, i, at(got, i), want[i])
			}
		}
		for cell, typ := range map[string]excelize.CellType{"C2": excelize.CellTypeUnset, "D2": excelize.CellTypeUnset, "E2": excelize.CellTypeBool, "D3": excelize.CellTypeInlineString} {
			if got, err := x.GetCellType(sheet, cell); err != nil || got != typ {
				t.Errorf("public=%v cell %s type %v (%v), want %v", public, cell, got, err, typ)
			}
		}
		if raw, _ := x.GetCellValue(sheet, "D2", excelize.Options{RawCellValue: true}); raw != "45717" {
			t.Errorf("2025-03-01 serial = %q, want 45717", raw)
		}
		panes, err := x.GetPanes(sheet)
		if err != nil || !panes.Freeze || panes.YSplit != 1 {
			t.Errorf("panes = %+v, %v; want the header frozen", panes, err)
		}
		x.Close()
	}
}

func trimRight(row []string) []string {
	for len(row) > 0 && row[len(row)-1] == "" {
		row = row[:len(row)-1]
	}
	return row
}

func at(rows [][]string, i int) []string {
	if i < len(rows) {
		return rows[i]
	}
	return nil
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// formulas are holder names a spreadsheet would run as formulas if a
// file handed them over as they are.
var formulas = []string{`=HYPERLINK("http://x","y")`, "+1", "-2", "@SUM(A1)", "\t=1+1", "\r=1+1"}

// TestCSVFormulaInjection: a text value that a spreadsheet would read as
// a formula is written with a leading apostrophe, in every text column;
// amounts (a negative one included) and dates stay as they are, in
// plain and localized CSV alike.
func TestCSVFormulaInjection(t *testing.T) {
	cols, err := exports.ParseColumns("insurer_id,holder,plate,premium,start", false)
	if err != nil {
		t.Fatal(err)
	}
	for _, localized := range []bool{false, true} {
		var buf bytes.Buffer
		o := exports.Options{Columns: cols, Headers: []string{"Policy", "Holder", "Plate", "Premium", "Start"}, Localized: localized, DecimalComma: localized}
		enc, err := exports.NewEncoder(exports.CSV, &buf, o)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range formulas {
			if err := enc.Row(&index.Row{InsurerID: f, FirstName: f, Plate: f, GrossMinor: -250, StartDay: "2025-03-01"}); err != nil {
				t.Fatal(err)
			}
		}
		if err := enc.Row(&index.Row{InsurerID: "P-1", FirstName: "Ana", Plate: "B 12 XYZ", GrossMinor: 5, StartDay: "2025-03-02"}); err != nil {
			t.Fatal(err)
		}
		if err := enc.Close(); err != nil {
			t.Fatal(err)
		}
		r := csv.NewReader(strings.NewReader(strings.TrimPrefix(buf.String(), "\uFEFF")))
		if localized {
			r.Comma = ';'
		}
		got, err := r.ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		amount := "-2.50"
		if localized {
			amount = "-2,50"
		}
		// encoding/csv's writer drops a lone carriage return (UseCRLF),
		// so "\r=1+1" is written "'=1+1": inert either way.
		for i, f := range formulas {
			holder := "'" + strings.TrimSpace(f) // a name is trimmed
			want := []string{"'" + f, holder, "'" + f, amount, "2025-03-01"}
			if f[0] == '\r' {
				want = []string{"'" + f[1:], holder, "'" + f[1:], amount, "2025-03-01"}
			}
			if row := at(got, i+1); !equal(row, want) {
				t.Errorf("localized=%v row %d = %q, want %q", localized, i+1, row, want)
			}
		}
		if row, want := at(got, len(formulas)+1), []string{"P-1", "Ana", "B 12 XYZ", "0.05", "2025-03-02"}; !localized && !equal(row, want) {
			t.Errorf("a plain row = %q, want %q", row, want)
		}
	}
}

// TestXLSXNoFormulas: the same values in XLSX are text cells (inline
// strings) holding the value as it is, never formulas.
func TestXLSXNoFormulas(t *testing.T) {
	cols, err := exports.ParseColumns("holder,plate", false)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	enc, err := exports.NewEncoder(exports.XLSX, &buf, exports.Options{Columns: cols, Headers: []string{"=Holder", "Plate"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range formulas {
		if err := enc.Row(&index.Row{FirstName: f, Plate: f}); err != nil {
			t.Fatal(err)
		}
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	x, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	sheet := x.GetSheetList()[0]
	for i, f := range append([]string{"=Holder"}, formulas...) {
		for _, col := range []string{"A", "B"} {
			cell := col + strconv.Itoa(i+1)
			if i == 0 && col == "B" {
				continue
			}
			if fx, err := x.GetCellFormula(sheet, cell); err != nil || fx != "" {
				t.Errorf("cell %s formula = %q (%v), want none", cell, fx, err)
			}
			if typ, err := x.GetCellType(sheet, cell); err != nil || typ != excelize.CellTypeInlineString {
				t.Errorf("cell %s type %v (%v), want an inline string", cell, typ, err)
			}
			want := strings.TrimSpace(f)
			if col == "B" {
				want = f
			}
			if got, _ := x.GetCellValue(sheet, cell); got != want && !(i > 0 && got == strings.ReplaceAll(want, "\r", "\n")) {
				t.Errorf("cell %s = %q, want %q", cell, got, want)
			}
		}
	}
}
