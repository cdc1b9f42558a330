package sandbox

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/go-fonts/dejavu/dejavusans"
	"github.com/go-fonts/dejavu/dejavusansbold"
	"github.com/go-pdf/fpdf"
)

// cascoDoc is what an offer or policy document shows, copied out of the
// offer so that rendering needs no lock.
type cascoDoc struct {
	title, subtitle, author string
	rows                    [][2]string
	installments            [][3]string
	footer                  string
}

func money(b int64, currency string) string {
	return formatBani(b) + " " + currency
}

func roDate(t time.Time) string { return t.Format("02.01.2006") }

func vehicleRows(o *cascoOffer) [][2]string {
	v := o.veh
	desc := fmt.Sprintf("%s %s, %d", v.brand, v.model, v.year)
	if v.vehicleType != "" {
		desc += ", " + v.vehicleType
	}
	rows := [][2]string{{"Vehicul", desc}}
	plate := v.plate
	if plate == "" {
		plate = "—"
	}
	rows = append(rows, [2]string{"Nr. înmatriculare", plate}, [2]string{"Serie șasiu (VIN)", v.vin})
	var tech []string
	if v.displacement > 0 {
		tech = append(tech, fmt.Sprintf("%d cm³", v.displacement))
	}
	if v.power > 0 {
		tech = append(tech, fmt.Sprintf("%d kW", v.power))
	}
	if v.fuel != "" {
		tech = append(tech, map[string]string{"petrol": "benzină", "diesel": "motorină", "electric": "electric", "hybrid": "hibrid", "lpg": "GPL", "none": "fără"}[v.fuel])
	}
	if len(tech) > 0 {
		rows = append(rows, [2]string{"Caracteristici", strings.Join(tech, ", ")})
	}
	return append(rows, [2]string{"Valoare de piață", money(v.marketValue, o.currency)}, [2]string{"Sumă asigurată", money(o.sumInsured, o.currency)})
}

func commonRows(o *cascoOffer) [][2]string {
	holderID := "CNP"
	if o.holder.legal {
		holderID = "CUI"
	}
	rows := [][2]string{
		{"Asigurător", o.prov.display},
		{"Produs", "CASCO (" + o.product + ")"},
		{"Broker", o.accountName},
		{"Asigurat", o.holder.name},
		{holderID, o.holder.taxID},
		{"Adresă", o.holder.address},
	}
	rows = append(rows, vehicleRows(o)...)
	rows = append(rows,
		[2]string{"Franciză daune parțiale", money(o.partialDed*100, o.currency)},
		[2]string{"Franciză daună totală", fmt.Sprintf("%d%%", o.totalDed)},
		[2]string{"Perioada asigurării", roDate(o.start) + " – " + roDate(o.end)},
	)
	for _, c := range o.coverages {
		if c.included {
			rows = append(rows, [2]string{"Acoperire " + coverageName(c.code), money(c.premium, o.currency)})
		}
	}
	rows = append(rows, [2]string{"Primă totală", money(o.premium, o.currency)})
	return rows
}

func coverageName(code string) string {
	return map[string]string{"vehicle": "daune și furt", "roadAssistance": "asistență rutieră", "replacementCar": "mașină la schimb", "glass": "geamuri"}[code]
}

func installmentRows(o *cascoOffer) [][3]string {
	out := make([][3]string, len(o.installments))
	for i, x := range o.installments {
		out[i] = [3]string{fmt.Sprintf("Rata %d", i+1), roDate(x.due), money(x.amount, o.currency)}
	}
	return out
}

func offerDoc(o *cascoOffer) cascoDoc {
	rows := append([][2]string{{"Număr ofertă", fmt.Sprint(o.id)}, {"Cod ofertă asigurător", o.code}}, commonRows(o)...)
	rows = append(rows,
		[2]string{"Comision broker", fmt.Sprintf("%d%% (%s)", o.prov.commission, money(o.commVal, o.currency))},
		[2]string{"Ofertă valabilă până la", roDate(o.expiryDay)},
	)
	if o.mentions != "" {
		rows = append(rows, [2]string{"Mențiuni", o.mentions})
	}
	return cascoDoc{
		title:        fmt.Sprintf("Ofertă CASCO nr. %d", o.id),
		subtitle:     o.prov.display,
		author:       o.accountName,
		rows:         rows,
		installments: installmentRows(o),
		footer:       "Document generat de sandbox-ul CascoApi. Nu are valoare juridică; oferta nu ține loc de poliță.",
	}
}

func policyDoc(p *cascoPolicy) cascoDoc {
	o := p.offer
	methods := map[string]string{"receipt": "chitanță", "broker receipt": "chitanță broker", "payment order": "ordin de plată", "broker payment order": "ordin de plată broker", "pos": "POS"}
	pay := fmt.Sprintf("%s, %s, %s", money(p.payment.amount, p.payment.currency), methods[p.payment.method], roDate(p.payment.date))
	if p.payment.documentNumber != "" {
		pay += ", document " + p.payment.documentNumber
	}
	rows := append([][2]string{
		{"Seria", p.series},
		{"Numărul", fmt.Sprint(p.number)},
		{"Emisă la", p.issuedAt.In(o.expiresAt.Location()).Format("02.01.2006 15:04")},
		{"Ofertă", fmt.Sprintf("%d (%s)", o.id, o.code)},
	}, commonRows(o)...)
	rows = append(rows, [2]string{"Plată", pay})
	return cascoDoc{
		title:        fmt.Sprintf("Poliță CASCO seria %s nr. %d", p.series, p.number),
		subtitle:     o.prov.display,
		author:       o.accountName,
		rows:         rows,
		installments: installmentRows(o),
		footer:       "Document generat de sandbox-ul CascoApi. Nu are valoare juridică.",
	}
}

// renderCascoPDF writes an A4 document with the DejaVu font that
// renderPDF uses, so that ă, â, î, ș and ț survive.
func renderCascoPDF(d cascoDoc) ([]byte, error) {
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetTitle(d.title, true)
	pdf.SetAuthor(d.author, true)
	pdf.SetCreationDate(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	pdf.AddUTF8FontFromBytes("dejavu", "", dejavusans.TTF)
	pdf.AddUTF8FontFromBytes("dejavu", "B", dejavusansbold.TTF)
	pdf.SetAutoPageBreak(true, 15)
	pdf.AddPage()
	pdf.SetFont("dejavu", "B", 16)
	pdf.MultiCell(0, 8, d.title, "", "L", false)
	pdf.SetFont("dejavu", "", 11)
	pdf.MultiCell(0, 6, d.subtitle, "", "L", false)
	pdf.Ln(4)
	pdf.SetFont("dejavu", "", 10)
	for _, r := range d.rows {
		pdf.SetFont("dejavu", "B", 10)
		pdf.CellFormat(55, 6, r[0]+":", "", 0, "L", false, 0, "")
		pdf.SetFont("dejavu", "", 10)
		pdf.MultiCell(0, 6, r[1], "", "L", false)
	}
	if len(d.installments) > 0 {
		pdf.Ln(3)
		pdf.SetFont("dejavu", "B", 11)
		pdf.MultiCell(0, 7, "Scadențar", "", "L", false)
		pdf.SetFont("dejavu", "", 10)
		for _, r := range d.installments {
			pdf.CellFormat(30, 6, r[0], "", 0, "L", false, 0, "")
			pdf.CellFormat(35, 6, r[1], "", 0, "L", false, 0, "")
			pdf.CellFormat(0, 6, r[2], "", 1, "L", false, 0, "")
		}
	}
	pdf.Ln(6)
	pdf.SetFont("dejavu", "", 8)
	pdf.MultiCell(0, 4, d.footer, "", "L", false)
	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
