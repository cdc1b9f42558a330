package format

import (
	"testing"
	"time"
)

func TestZonesDayAndLocal(t *testing.T) {
	z := NewZones()
	// 22:30 UTC on 31 December is already 1 January in Bucharest (UTC+2)
	// and still 31 December in New York.
	now := time.Date(2026, 12, 31, 22, 30, 0, 0, time.UTC)
	for _, c := range []struct{ zone, want string }{
		{"Europe/Bucharest", "2027-01-01"},
		{"America/New_York", "2026-12-31"},
		{"UTC", "2026-12-31"},
		{"Not/AZone", "2026-12-31"},
	} {
		if got := z.dayAt(now, c.zone).Format(time.DateOnly); got != c.want {
			t.Errorf("day in %s = %s, want %s", c.zone, got, c.want)
		}
	}
	if got := z.Local(now, "Europe/Bucharest").Format("15:04"); got != "00:30" {
		t.Errorf("Local Bucharest = %s, want 00:30", got)
	}
	if got := z.Local(now, "Not/AZone"); !got.Equal(now) || got.Location() != time.UTC {
		t.Errorf("Local of an unknown zone changed the time: %v", got)
	}
	if z.Location("Not/AZone") != time.UTC || z.Location("Europe/Berlin").String() != "Europe/Berlin" {
		t.Error("Location does not fall back to UTC or does not load a known zone")
	}
	if got := z.Today("UTC"); got.Hour() != 0 || got.Location() != time.UTC {
		t.Errorf("Today = %v, want midnight UTC", got)
	}
}
