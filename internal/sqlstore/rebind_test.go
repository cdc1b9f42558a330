package sqlstore

import "testing"

func TestRebind(t *testing.T) {
	q := `SELECT a FROM t WHERE x = $1 AND y IN ($2, $10) AND z = '$'`
	if got, want := SQLite.Rebind(q), `SELECT a FROM t WHERE x = ? AND y IN (?, ?) AND z = '$'`; got != want {
		t.Errorf("SQLite: %q, want %q", got, want)
	}
	if got := Postgres.Rebind(q); got != q {
		t.Errorf("PostgreSQL changed the query: %q", got)
	}
}
