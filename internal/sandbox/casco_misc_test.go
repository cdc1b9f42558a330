package sandbox_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"backoffice/internal/sandbox"
)

func TestCascoOptionsFromEnv(t *testing.T) {
	t.Parallel()
	env := map[string]string{"SANDBOX_CASCO_TOKEN_TTL": "30s", "SANDBOX_CASCO_REFRESH_TTL": "1h", "SANDBOX_CASCO_OFFER_TTL": "48h", "SANDBOX_CASCO_UNAVAILABLE": "allianz, groupama"}
	got, err := sandbox.OptionsFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if got.CascoTokenTTL != 30*time.Second || got.CascoRefreshTTL != time.Hour || got.CascoOfferTTL != 48*time.Hour ||
		!reflect.DeepEqual(got.Faults.CascoUnavailable, []string{"allianz", "groupama"}) {
		t.Errorf("got %+v", got)
	}
	for name, bad := range map[string]map[string]string{
		"SANDBOX_CASCO_TOKEN_TTL":   {"SANDBOX_CASCO_TOKEN_TTL": "500ms"},
		"SANDBOX_CASCO_REFRESH_TTL": {"SANDBOX_CASCO_REFRESH_TTL": "1m"}, // below the 5m default token TTL
		"SANDBOX_CASCO_OFFER_TTL":   {"SANDBOX_CASCO_OFFER_TTL": "soon"},
		"SANDBOX_CASCO_UNAVAILABLE": {"SANDBOX_CASCO_UNAVAILABLE": "generali,axa"},
	} {
		if _, err := sandbox.OptionsFromEnv(func(k string) string { return bad[k] }); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%v: got %v, want an error naming %s", bad, err, name)
		}
	}
	for _, o := range []sandbox.Options{{CascoTokenTTL: time.Millisecond}, {CascoTokenTTL: time.Hour, CascoRefreshTTL: time.Minute}, {CascoOfferTTL: -time.Hour},
		{Faults: sandbox.Faults{CascoUnavailable: []string{"axa"}}}} {
		if _, err := sandbox.New(o); err == nil {
			t.Errorf("New(%+v): want an error", o)
		}
	}
	// A long token TTL raises the default refresh TTL with it.
	srv, _ := startCasco(t, sandbox.Options{CascoTokenTTL: 48 * time.Hour})
	if tk := demoLogin(t, srv); tk.ExpiresAt != "2026-11-03 12:00:00" {
		t.Errorf("expires_at: %s", tk.ExpiresAt)
	}
}

func TestCascoFaultsAreCopied(t *testing.T) {
	t.Parallel()
	list := []string{"allianz"}
	srv, _ := startCasco(t, sandbox.Options{Faults: sandbox.Faults{CascoUnavailable: list}})
	list[0] = "generali"
	got := srv.Sandbox.Faults()
	got.CascoUnavailable[0] = "groupama"
	if f := srv.Sandbox.Faults(); !reflect.DeepEqual(f.CascoUnavailable, []string{"allianz"}) {
		t.Errorf("faults share memory with callers: %v", f.CascoUnavailable)
	}
}
