// Package exports writes a policy list view to a file (CSV or XLSX), row
// by row as the index streams them, and keeps export jobs and their
// files in a store (SQLite in DATA_DIR, or the audit log's PostgreSQL),
// so that any instance behind a balancer can show a job's progress and
// serve its file, and a restart loses nothing but the jobs it was
// running (which then show as failed, with a retry).
package exports

import (
	"errors"
	"slices"
	"strconv"
	"strings"

	"backoffice/internal/index"
)

// Format is a file format an export is written in.
type Format string

// The formats.
const (
	CSV  Format = "csv"
	XLSX Format = "xlsx"
)

// ParseFormat reads a format name; ok is false for any other.
func ParseFormat(s string) (Format, bool) {
	switch f := Format(strings.ToLower(strings.TrimSpace(s))); f {
	case CSV, XLSX:
		return f, true
	}
	return "", false
}

// ContentType is the file's media type.
func (f Format) ContentType() string {
	if f == XLSX {
		return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	}
	return "text/csv; charset=utf-8"
}

// kind is how a column's values are written.
type kind int

const (
	text kind = iota
	money
	day
	flag
)

// Column is one column an export may hold.
type Column struct {
	// ID names it in the cols parameter.
	ID string
	// LabelKey is the catalogue key of its header.
	LabelKey string
	// Restricted columns are never exported for a public-key reader
	// (index.RestrictedFields).
	Restricted bool
	// List is the policy list's column (session.ListColumns) whose cell
	// shows this column's value; "" for a column only exports have.
	// Hiding that list column leaves this one out of the list's export.
	List string
	kind kind
}

// Columns are every column, in the order an export writes them: the
// list's own first.
var Columns = []Column{
	{ID: "insurer_id", LabelKey: "exports.col.insurer_id", List: "id"},
	{ID: "holder", LabelKey: "exports.col.holder", List: "holder"},
	{ID: "email", LabelKey: "exports.col.email", Restricted: true, List: "email"},
	{ID: "phone", LabelKey: "exports.col.phone", Restricted: true},
	{ID: "vin", LabelKey: "exports.col.vin", Restricted: true},
	{ID: "plate", LabelKey: "exports.col.plate", Restricted: true},
	{ID: "id", LabelKey: "exports.col.id"},
	{ID: "product", LabelKey: "exports.col.product", List: "product"},
	{ID: "status", LabelKey: "exports.col.status", List: "status"},
	// The list's premium cell shows the amount in its currency.
	{ID: "currency", LabelKey: "exports.col.currency", List: "premium"},
	{ID: "premium", LabelKey: "exports.col.premium", List: "premium", kind: money},
	{ID: "start", LabelKey: "exports.col.start", List: "start", kind: day},
	{ID: "end", LabelKey: "exports.col.end", List: "end", kind: day},
	{ID: "created", LabelKey: "exports.col.created", List: "created", kind: day},
	{ID: "zone", LabelKey: "exports.col.zone"},
	// The list's status cell carries the expired badge.
	{ID: "expired", LabelKey: "exports.col.expired", List: "status", kind: flag},
}

// ListColumns are the columns of an export of a list that shows the
// list columns shown (ids of session.ListColumns, as the list decided
// them). A list showing every column it can exports every column the
// reader may have, those only exports have included. A list narrowed
// with the column chooser exports what it shows, and the KASKO id to
// find each policy again: the chooser cannot name the export-only
// columns, so a narrowed list keeps none of them. Never a restricted
// column for a public reader, whatever shown says.
func ListColumns(shown []string, public bool) []Column {
	narrowed := false
	for _, c := range Columns {
		if c.List != "" && !(c.Restricted && public) && !slices.Contains(shown, c.List) {
			narrowed = true
		}
	}
	var out []Column
	for _, c := range Columns {
		switch {
		case c.Restricted && public:
		case c.List != "" && !slices.Contains(shown, c.List):
		case c.List == "" && narrowed && c.ID != "id":
		default:
			out = append(out, c)
		}
	}
	return out
}

// ErrUnknownColumn is returned by ParseColumns for a column id that is
// not one of Columns, or is restricted and the reader public.
var ErrUnknownColumn = errors.New("exports: unknown column")

// ParseColumns reads a comma-separated list of column ids ("" for every
// column the reader may see), in the order given, without repeats. A
// public reader asking for a restricted column is refused: it is not a
// column they can have.
func ParseColumns(s string, public bool) ([]Column, error) {
	var out []Column
	if strings.TrimSpace(s) == "" {
		for _, c := range Columns {
			if !c.Restricted || !public {
				out = append(out, c)
			}
		}
		return out, nil
	}
	for id := range strings.SplitSeq(s, ",") {
		id = strings.TrimSpace(id)
		if id == "" {
			continue
		}
		i := slices.IndexFunc(Columns, func(c Column) bool { return c.ID == id })
		if i < 0 || public && Columns[i].Restricted {
			return nil, ErrUnknownColumn
		}
		if !slices.ContainsFunc(out, func(c Column) bool { return c.ID == id }) {
			out = append(out, Columns[i])
		}
	}
	if len(out) == 0 {
		return nil, ErrUnknownColumn
	}
	return out, nil
}

// IDs lists the columns' ids.
func IDs(cols []Column) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = c.ID
	}
	return out
}

// Options say how rows become cells.
type Options struct {
	Columns []Column
	// Headers are the columns' headers, in the reader's language.
	Headers []string
	// Product names a product id (nil: the id).
	Product func(id string) string
	// Public drops restricted values whatever the columns say: a second
	// lock on what the query already zeroed.
	Public bool
	// Localized CSV writes amounts with DecimalComma when set, dates with
	// Date, and separates fields with ';' when the decimal mark is a
	// comma (what spreadsheets in those locales expect). ISO dates and a
	// decimal point otherwise. XLSX cells are typed and ignore it.
	Localized    bool
	DecimalComma bool
	Date         func(y, m, d int) string
}

// value is one cell of row r, as text (CSV, and XLSX text cells).
func (o *Options) value(c Column, r *index.Row) string {
	if c.Restricted && o.Public {
		return ""
	}
	switch c.ID {
	case "insurer_id":
		return r.InsurerID
	case "holder":
		return strings.TrimSpace(r.FirstName + " " + r.LastName)
	case "email":
		return r.Email
	case "phone":
		return r.Phone
	case "vin":
		return r.VIN
	case "plate":
		return r.Plate
	case "id":
		return r.ID
	case "product":
		if o.Product != nil {
			return o.Product(r.ProductID)
		}
		return r.ProductID
	case "status":
		return r.Status
	case "currency":
		return strings.ToUpper(r.Currency)
	case "premium":
		return decimal(r.GrossMinor, o.Localized && o.DecimalComma)
	case "start":
		return o.date(r.StartDay)
	case "end":
		return o.date(r.EndDay)
	case "created":
		return o.date(r.CreatedDay)
	case "zone":
		if r.Zone == "" {
			return "UTC"
		}
		return r.Zone
	case "expired":
		if r.Expired {
			return "true"
		}
		return "false"
	}
	return ""
}

func (o *Options) date(iso string) string {
	if !o.Localized || o.Date == nil {
		return iso
	}
	y, m, d, ok := parseDay(iso)
	if !ok {
		return iso
	}
	return o.Date(y, m, d)
}

// decimal writes minor units (two decimals) as a decimal number, with
// integer arithmetic only.
func decimal(minor int64, comma bool) string {
	neg := minor < 0
	// Divided before the sign is dropped, so that even the most negative
	// amount has a whole part and cents that negate without overflow.
	whole, cents := minor/100, minor%100
	if neg {
		whole, cents = -whole, -cents
	}
	var b []byte
	if neg {
		b = append(b, '-')
	}
	b = strconv.AppendInt(b, whole, 10)
	if comma {
		b = append(b, ',')
	} else {
		b = append(b, '.')
	}
	if cents < 10 {
		b = append(b, '0')
	}
	return string(strconv.AppendInt(b, cents, 10))
}

// parseDay reads YYYY-MM-DD.
func parseDay(s string) (y, m, d int, ok bool) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return 0, 0, 0, false
	}
	num := func(p string) (int, bool) {
		n := 0
		for i := 0; i < len(p); i++ {
			if p[i] < '0' || p[i] > '9' {
				return 0, false
			}
			n = n*10 + int(p[i]-'0')
		}
		return n, true
	}
	var ok1, ok2, ok3 bool
	y, ok1 = num(s[:4])
	m, ok2 = num(s[5:7])
	d, ok3 = num(s[8:])
	return y, m, d, ok1 && ok2 && ok3 && m >= 1 && m <= 12 && d >= 1 && d <= 31
}
