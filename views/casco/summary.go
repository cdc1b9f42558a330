package casco

// fieldLabels are the step forms' fields in the order the forms show
// them, with their labels: the error summary lists a refused form's
// messages in that order, each linking to its field.
var fieldLabels = []struct{ name, labelKey string }{
	{"vin", "casco.vehicle.vin"}, {"make", "casco.vehicle.make"}, {"model", "casco.vehicle.model"},
	{"vehicle_type", "casco.vehicle.type"}, {"fuel", "casco.vehicle.fuel"}, {"year", "casco.vehicle.year"},
	{"power", "casco.vehicle.power"}, {"displacement", "casco.vehicle.displacement"}, {"seats", "casco.vehicle.seats"},
	{"mileage", "casco.vehicle.mileage"}, {"market_value", "casco.vehicle.market_value"}, {"color", "casco.vehicle.color"},
	{"registration", "casco.vehicle.registration"}, {"plate", "casco.vehicle.plate"},
	{"kind", "casco.owner.kind"}, {"cui", "casco.owner.cui"}, {"registry_number", "casco.owner.registry_number"},
	{"company_name", "casco.owner.company_name"}, {"cnp", "casco.owner.cnp"}, {"first_name", "casco.owner.first_name"},
	{"last_name", "casco.owner.last_name"}, {"birth_date", "casco.owner.birth_date"}, {"licence_date", "casco.owner.licence_date"},
	{"id_type", "casco.owner.id_type"}, {"id_number", "casco.owner.id_number"}, {"email", "casco.owner.email"},
	{"phone", "casco.owner.phone"}, {"country", "casco.owner.country"}, {"county", "casco.owner.county"},
	{"locality", "casco.owner.locality"}, {"city", "casco.owner.city"}, {"street", "casco.owner.street"},
	{"house_number", "casco.owner.house_number"}, {"postcode", "casco.owner.postcode"},
	{"start_date", "casco.cover.start_date"}, {"term", "casco.cover.term"}, {"installments", "casco.cover.installments"},
	{"insured_sum", "casco.cover.insured_sum"}, {"partial", "casco.cover.partial"}, {"total", "casco.cover.total"},
	{"providers", "casco.cover.providers"},
	{"method", "casco.policy.method"}, {"amount", "casco.policy.amount"}, {"date", "casco.policy.date"},
	{"document_number", "casco.policy.document_number"},
}

// SummaryEntry is one message of the error summary: its field's label,
// the message, and the link to the field's control.
type SummaryEntry struct {
	Field, LabelKey, Message string
}

// Summary lists the page's field errors in the forms' order; a field
// the list does not know comes last, labelled by its message alone.
func (p StepPage) Summary() []SummaryEntry {
	var out []SummaryEntry
	known := map[string]bool{}
	for _, f := range fieldLabels {
		known[f.name] = true
		if m := p.Errors[f.name]; m != "" {
			out = append(out, SummaryEntry{Field: f.name, LabelKey: f.labelKey, Message: m})
		}
	}
	for name, m := range p.Errors {
		if !known[name] && name != "" && m != "" {
			out = append(out, SummaryEntry{Field: name, Message: m})
		}
	}
	return out
}
