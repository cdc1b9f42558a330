package indexsync

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"testing"
	"time"

	kasko "backoffice/apiclient/kasko"
	"backoffice/internal/audit"
	"backoffice/internal/sandbox"
)

func TestTenantOf(t *testing.T) {
	for _, tc := range []struct{ key, dist, want string }{
		{sandbox.KeyASecretTest, sandbox.DistributorAID, audit.KaskoTenant(sandbox.DistributorAID, "test")},
		{sandbox.KeyASecretLive, sandbox.DistributorAID, audit.KaskoTenant(sandbox.DistributorAID, "live")},
		{sandbox.KeyBSecretTest, sandbox.DistributorBID, tenantBTest},
		{sandbox.KeyASecretTest, sandbox.DistributorAID, tenantATest},
		{sandbox.KeyASecretLive, sandbox.DistributorAID, tenantALive},
	} {
		if got := TenantOf(tc.key, tc.dist); got != tc.want {
			t.Errorf("TenantOf(%s) = %s, want %s", tc.dist, got, tc.want)
		}
	}
	key := "sk_live_nothingToSeeHere"
	sum := sha256.Sum256([]byte(key))
	want := "kasko:key-" + hex.EncodeToString(sum[:])[:24] + ":live"
	if got := TenantOf(key, ""); got != want || !isKeyTenant(got) {
		t.Errorf("TenantOf(no policy) = %s, want %s", got, want)
	}
}

func decodePolicy(t *testing.T, s string) *kasko.Policy {
	t.Helper()
	var p kasko.Policy
	if err := json.Unmarshal([]byte(s), &p); err != nil {
		t.Fatal(err)
	}
	return &p
}

func TestRowOf(t *testing.T) {
	seen := time.Date(2026, 9, 3, 9, 0, 0, 0, time.UTC)
	p := decodePolicy(t, `{
		"id": "tpol_3a1d4c1e1d58fd04ad6b0de1b50c", "version_id": "tpv_1", "distributor_id": "D",
		"insurer_policy_id": "TEST-1", "insurer_external_policy_id": "EXT-9",
		"first_name": "Ana", "last_name": "Ozola", "email": "ana@example.com",
		"currency": "EUR", "language": "lv", "status": "cancelled", "expired": true, "product_id": "pr_1",
		"policy_created_date": "2023-08-02T22:56:26+00:00",
		"start_date": "2023-08-05T21:00:00+00:00", "end_date": "2024-08-05T20:59:59+00:00", "termination_date": "2023-09-01T21:00:00+00:00",
		"data": {"phone_number": "+371 2000", "frame_number": "WBK1", "kennzeichen": "B-AB 12", "plate": ""},
		"quote": {"gross_payment_amount": 0, "payment_data": {"gross_premium": 275000}},
		"localized_dates": {"time_zone": "Europe/Riga"}
	}`)
	r := RowOf(p, "kasko:D:test", seen)
	want := map[string]string{
		"Tenant": r.Tenant, "ID": r.ID, "InsurerID": r.InsurerID, "ExternalID": r.ExternalID, "Email": r.Email,
		"Phone": r.Phone, "VIN": r.VIN, "Plate": r.Plate, "Currency": r.Currency, "Zone": r.Zone,
		"CreatedDay": r.CreatedDay, "StartDay": r.StartDay, "EndDay": r.EndDay, "Version": r.Version, "Status": r.Status,
	}
	for field, got := range map[string]string{
		"Tenant": "kasko:D:test", "ID": "tpol_3a1d4c1e1d58fd04ad6b0de1b50c", "InsurerID": "TEST-1", "ExternalID": "EXT-9",
		"Email": "ana@example.com", "Phone": "+371 2000", "VIN": "WBK1", "Plate": "B-AB 12", "Currency": "eur",
		"Zone": "Europe/Riga", "CreatedDay": "2023-08-03", "StartDay": "2023-08-06", "EndDay": "2024-08-05",
		"Version": "tpv_1", "Status": "cancelled",
	} {
		if want[field] != got {
			t.Errorf("%s = %q, want %q", field, want[field], got)
		}
	}
	if r.GrossMinor != 275000 || !r.Cancelled || !r.Expired || !r.SeenAt.Equal(seen) || r.TerminationDate.IsZero() {
		t.Errorf("row: %+v", r)
	}

	// A public view withholds email and data; an unknown zone and no
	// zone both give UTC days; an open end gives no end day.
	p = decodePolicy(t, `{"id": "tpol_2", "currency": "eur", "status": "paid",
		"policy_created_date": "2023-08-02T22:56:26+00:00", "start_date": "2023-08-05T21:00:00+00:00", "end_date": null,
		"quote": {"gross_payment_amount": 1200, "payment_data": {"gross_premium": 999}},
		"localized_dates": {"time_zone": "Mars/Olympus_Mons"}}`)
	r = RowOf(p, "kasko:D:test", seen)
	if r.Email != "" || r.Phone != "" || r.CreatedDay != "2023-08-02" || r.StartDay != "2023-08-05" || r.EndDay != "" || r.GrossMinor != 1200 || r.Cancelled {
		t.Errorf("public/unknown zone row: %+v", r)
	}
	p.LocalizedDates = nil
	if r := RowOf(p, "kasko:D:test", seen); r.Zone != "" || r.StartDay != "2023-08-05" {
		t.Errorf("no zone: %+v", r)
	}
	p = decodePolicy(t, `{"id": "tpol_3", "data": {"vin": "VIN1", "frame_number": "F", "licence_plate": "LP", "registration_number": "R"}}`)
	if r := RowOf(p, "t", seen); r.VIN != "VIN1" || r.Plate != "LP" {
		t.Errorf("vin/plate precedence: %+v", r)
	}
}

func TestBelongs(t *testing.T) {
	for _, tc := range []struct {
		id, dist, tenant string
		want             bool
	}{
		{"tpol_1", "D", "kasko:D:test", true},
		{"lpol_1", "D", "kasko:D:test", false},
		{"lpol_1", "D", "kasko:D:live", true},
		{"tpol_1", "E", "kasko:D:test", false},
		{"tpol_1", "D", "kasko:key-abc:test", true},
		{"tpol_1", "D", "casco:acct", false},
	} {
		p := &kasko.Policy{ID: tc.id, DistributorID: tc.dist}
		if got := Belongs(p, tc.tenant); got != tc.want {
			t.Errorf("Belongs(%s of %s, %s) = %v", tc.id, tc.dist, tc.tenant, got)
		}
	}
}
