package index

import (
	"cmp"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"backoffice/internal/sqlstore"
)

const (
	// deliveryTTL is how long a webhook delivery id is remembered: far
	// longer than any sender retries.
	deliveryTTL = 30 * 24 * time.Hour
	// pruneEvery bounds how often ClaimDelivery also deletes the
	// deliveries past deliveryTTL.
	pruneEvery = time.Hour
	// maxDeliveryID is the longest delivery id kept as sent; a longer one
	// is kept as its SHA-256, so that a sender cannot make the table
	// hold arbitrary amounts of text.
	maxDeliveryID = 64
	// pgChunk is how many rows one PostgreSQL upsert statement carries:
	// one round trip per chunk instead of one per row.
	pgChunk = 1000
)

// sqlStore is the Store over database/sql, for SQLite and PostgreSQL:
// one set of queries, the dialect filling in what differs.
type sqlStore struct {
	db    *sql.DB
	d     sqlstore.Dialect
	clock *sqlstore.Clock
	// stmts keeps the fixed queries prepared.
	stmts sqlstore.Statements
	// cache keeps totals and facets per query and change counter.
	cache *resultCache

	pruneMu   sync.Mutex
	lastPrune time.Time

	// writeMu serializes SQLite's writes on writeConn, one connection
	// kept for them: SQLite lets one writer in at a time anyway, and a
	// connection drops its whole page cache whenever another connection
	// wrote since its last transaction. A full sync's batches on pooled
	// connections reloaded the B-trees' pages from the file for every
	// batch; on one connection they stay cached from batch to batch.
	writeMu   writeLock
	writeConn *sql.Conn
}

var _ Store = (*sqlStore)(nil)

func newSQLStore(db *sql.DB, d sqlstore.Dialect) *sqlStore {
	return &sqlStore{db: db, d: d, clock: sqlstore.NewClock(), cache: newResultCache(resultCacheSize)}
}

func (s *sqlStore) fail(what string, err error) error {
	return fmt.Errorf("index: %s (%s): %w", what, s.d, err)
}

// q replaces $1, $2, … in a fixed query with the dialect's placeholders,
// so that each query is written once.
func (s *sqlStore) q(query string) string { return s.d.Rebind(query) }

// stmt returns a fixed query prepared, on tx when not nil; statements
// are kept for the store's life (a couple of dozen of them).
func (s *sqlStore) stmt(ctx context.Context, tx *sql.Tx, query string) (*sql.Stmt, error) {
	return s.stmts.Get(ctx, s.db, tx, query)
}

func (s *sqlStore) exec(ctx context.Context, tx *sql.Tx, query string, args ...any) (int64, error) {
	st, err := s.stmt(ctx, tx, query)
	if err != nil {
		return 0, err
	}
	res, err := st.ExecContext(ctx, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

type scanner interface{ Scan(...any) error }

type failedRow struct{ err error }

func (r failedRow) Scan(...any) error { return r.err }

func (s *sqlStore) queryRow(ctx context.Context, tx *sql.Tx, query string, args ...any) scanner {
	st, err := s.stmt(ctx, tx, query)
	if err != nil {
		return failedRow{err}
	}
	return st.QueryRowContext(ctx, args...)
}

// write runs fn in a transaction; on SQLite on the write connection.
func (s *sqlStore) write(ctx context.Context, what string, fn func(tx *sql.Tx) error) error {
	var tx *sql.Tx
	var err error
	if s.d == sqlstore.SQLite {
		s.writeMu.lock(urgent(ctx))
		defer s.writeMu.unlock()
		tx, err = s.beginSQLiteWrite(ctx)
	} else {
		tx, err = s.db.BeginTx(ctx, nil)
	}
	if err != nil {
		return s.fail(what, err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return s.fail(what, err)
	}
	if err := tx.Commit(); err != nil {
		return s.fail(what, err)
	}
	return nil
}

// beginSQLiteWrite begins a transaction on the write connection, opening
// it first when there is none (or the last one failed). Called with
// writeMu held.
func (s *sqlStore) beginSQLiteWrite(ctx context.Context) (*sql.Tx, error) {
	if s.writeConn == nil {
		conn, err := s.db.Conn(ctx)
		if err != nil {
			return nil, err
		}
		for _, p := range writePragmas() {
			if _, err := conn.ExecContext(ctx, p); err != nil {
				conn.Close()
				return nil, err
			}
		}
		s.writeConn = conn
	}
	tx, err := s.writeConn.BeginTx(ctx, nil)
	if err != nil && ctx.Err() == nil {
		// The connection may be broken: the next write opens another.
		s.writeConn.Close()
		s.writeConn = nil
	}
	return tx, err
}

// execWrite runs one writing statement outside any other transaction:
// on SQLite through write (the write connection), on PostgreSQL as it
// is.
func (s *sqlStore) execWrite(ctx context.Context, what, query string, args ...any) (int64, error) {
	if s.d != sqlstore.SQLite {
		return s.exec(ctx, nil, query, args...)
	}
	var n int64
	err := s.write(ctx, what, func(tx *sql.Tx) error {
		var err error
		n, err = s.exec(ctx, tx, query, args...)
		return err
	})
	return n, err
}

// bump records a change to tenant's rows, delta rows more or fewer, in
// the writing transaction: Changed and Count read it. The row stays
// after a Purge (rows 0), so that the counter never repeats a value a
// cache may have seen.
func (s *sqlStore) bump(ctx context.Context, tx *sql.Tx, tenant string, delta int64) error {
	_, err := s.exec(ctx, tx, s.q(`INSERT INTO index_tenants (tenant, changed, rows) VALUES ($1, 1, $2)
		ON CONFLICT (tenant) DO UPDATE SET changed = index_tenants.changed + 1, rows = index_tenants.rows + excluded.rows`), tenant, delta)
	return err
}

// holderKey is what the holder sort orders by: last name, then first
// name, case and diacritics ignored.
func holderKey(r Row) string { return Fold(r.LastName) + "\x01" + Fold(r.FirstName) }

// endValue is how an end date is stored (see openEnd).
func (s *sqlStore) endValue(t time.Time) any {
	if s.d == sqlstore.SQLite && t.IsZero() {
		return openEnd
	}
	return s.d.NullTime(t)
}

func nullString(v string) any {
	if v == "" {
		return nil
	}
	return v
}

// cleanRow cleans every text field of r (see clean).
func cleanRow(r Row) Row {
	for _, f := range []*string{&r.Tenant, &r.ID, &r.InsurerID, &r.ExternalID, &r.FirstName, &r.LastName, &r.ProductID,
		&r.Status, &r.Currency, &r.Language, &r.Zone, &r.CreatedDay, &r.StartDay, &r.EndDay, &r.TerminationDay, &r.Version,
		&r.Email, &r.Phone, &r.VIN, &r.Plate} {
		*f = clean(*f)
	}
	return r
}

func checkRow(r Row) error {
	if r.Tenant == "" || r.ID == "" {
		return errors.New("a row needs a tenant and an id")
	}
	return nil
}

// Upsert implements Store.
func (s *sqlStore) Upsert(ctx context.Context, rows []Row) error {
	if len(rows) == 0 {
		return nil
	}
	rows = slices.Clone(rows)
	for i := range rows {
		rows[i] = cleanRow(rows[i])
		if err := checkRow(rows[i]); err != nil {
			return fmt.Errorf("index: upsert: %w", err)
		}
	}
	if s.d == sqlstore.SQLite {
		// SQLite has one writer: a batch goes in slices of bounded
		// duration, so that a lease renewal waiting behind it keeps its
		// deadline however slow the machine (a thousand rows took 8 s
		// under the race detector on a loaded CI machine).
		for len(rows) > 0 {
			var n int
			err := s.write(ctx, "upsert", func(tx *sql.Tx) error {
				delta := map[string]int64{}
				var err error
				if n, err = s.upsertSQLite(ctx, tx, rows, delta, time.Now().Add(sqliteWriteSlice)); err != nil {
					return err
				}
				return s.bumpAll(ctx, tx, delta)
			})
			if err != nil {
				return err
			}
			rows = rows[n:]
		}
		return nil
	}
	return s.write(ctx, "upsert", func(tx *sql.Tx) error {
		// delta holds the tenants whose rows changed and how many rows
		// they gained.
		delta := map[string]int64{}
		if err := s.upsertPostgres(ctx, tx, rows, delta); err != nil {
			return err
		}
		return s.bumpAll(ctx, tx, delta)
	})
}

// sqliteWriteSlice bounds how long one upsert transaction holds the
// SQLite write connection; a full page of rows takes far less on a
// quiet machine, so this only splits batches on a slow one.
const sqliteWriteSlice = 300 * time.Millisecond

// bumpAll bumps the counters of the tenants in delta (see bump).
func (s *sqlStore) bumpAll(ctx context.Context, tx *sql.Tx, delta map[string]int64) error {
	tenants := make([]string, 0, len(delta))
	for t := range delta {
		tenants = append(tenants, t)
	}
	// One order for every writer, so that two PostgreSQL writers
	// never wait on each other's counter rows in a cycle.
	slices.Sort(tenants)
	for _, t := range tenants {
		if err := s.bump(ctx, tx, t, delta[t]); err != nil {
			return err
		}
	}
	return nil
}

const sqliteRowValues = `tenant, id, insurer_id, external_id, first_name, last_name, holder_key, product_id, status, currency,
	gross_minor, language, zone, created_at, start_date, end_date, termination_date, created_day, start_day, end_day,
	expired, cancelled, version, seen_at, email, phone, vin, plate, tax_minor, termination_day`

func (s *sqlStore) rowArgs(r Row) []any {
	d := s.d
	return []any{r.Tenant, r.ID, r.InsurerID, r.ExternalID, r.FirstName, r.LastName, holderKey(r), r.ProductID, r.Status,
		strings.ToLower(r.Currency), r.GrossMinor, r.Language, r.Zone, d.Time(r.CreatedAt), d.Time(r.StartDate),
		s.endValue(r.EndDate), d.NullTime(r.TerminationDate), r.CreatedDay, r.StartDay, nullString(r.EndDay),
		r.Expired, r.Cancelled, r.Version, d.Time(r.SeenAt), r.Email, r.Phone, r.VIN, r.Plate, r.TaxMinor, nullString(r.TerminationDay)}
}

// upsertSQLite writes row by row with prepared statements: looking the
// row up first tells an insert (one row more) from a replacement, and
// gives the rowid its words are kept under. It stops after the first row
// written past until and says how many rows it took.
func (s *sqlStore) upsertSQLite(ctx context.Context, tx *sql.Tx, rows []Row, delta map[string]int64, until time.Time) (int, error) {
	lookup, err := s.stmt(ctx, tx, `SELECT seq, seen_at FROM index_rows WHERE tenant = ? AND id = ?`)
	if err != nil {
		return 0, err
	}
	insert, err := s.stmt(ctx, tx, `INSERT INTO index_rows (`+sqliteRowValues+`) VALUES (`+strings.Repeat("?, ", 29)+`?)`)
	if err != nil {
		return 0, err
	}
	update, err := s.stmt(ctx, tx, `UPDATE index_rows SET (`+sqliteRowValues+`) = (`+strings.Repeat("?, ", 29)+`?) WHERE seq = ?`)
	if err != nil {
		return 0, err
	}
	addWords, err := s.stmt(ctx, tx, `INSERT INTO index_fts (rowid, pub, sec) VALUES (?, ?, ?)`)
	if err != nil {
		return 0, err
	}
	// A replaced row's old words go with its FTS row (contentless_delete).
	replaceWords, err := s.stmt(ctx, tx, `INSERT OR REPLACE INTO index_fts (rowid, pub, sec) VALUES (?, ?, ?)`)
	if err != nil {
		return 0, err
	}
	for i, r := range rows {
		if i > 0 && time.Now().After(until) {
			return i, nil
		}
		var seq int64
		var seen string
		words := replaceWords
		args := s.rowArgs(r)
		newSeen, _ := s.d.Time(r.SeenAt).(string)
		switch err := lookup.QueryRowContext(ctx, r.Tenant, r.ID).Scan(&seq, &seen); {
		case errors.Is(err, sql.ErrNoRows):
			res, err := insert.ExecContext(ctx, args...)
			if err != nil {
				return 0, err
			}
			if seq, err = res.LastInsertId(); err != nil {
				return 0, err
			}
			words = addWords
			delta[r.Tenant]++
		case err != nil:
			return 0, err
		case seen > newSeen:
			continue // a newer sighting is stored
		default:
			if _, err := update.ExecContext(ctx, append(args, seq)...); err != nil {
				return 0, err
			}
			delta[r.Tenant] += 0 // changed, as many rows as before
		}
		doc := newDocument(r)
		if _, err := words.ExecContext(ctx, seq, strings.Join(doc.pub, " "), strings.Join(doc.sec, " ")); err != nil {
			return 0, err
		}
	}
	return len(rows), nil
}

// secretPrefix starts the PostgreSQL lexemes of restricted fields. No
// term starts with it (terms are letters and digits), so a public
// reader's 'term':* never reaches them; a secret reader asks for both.
const secretPrefix = "~"

// pgDocument is a row's words as one space-separated string, for
// array_to_tsvector(string_to_array(…)): lexemes taken as they are,
// with no parser of PostgreSQL's in between to split them otherwise
// than Terms splits queries.
func pgDocument(r Row) string {
	doc := newDocument(r)
	var b strings.Builder
	for i, w := range doc.pub {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(w)
	}
	for _, w := range doc.sec {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(secretPrefix)
		b.WriteString(w)
	}
	return b.String()
}

// upsertPostgres writes chunks of rows with one statement each, over
// arrays. The ON CONFLICT … WHERE keeps a newer sighting; xmax = 0 tells
// the inserted rows from the replaced ones.
func (s *sqlStore) upsertPostgres(ctx context.Context, tx *sql.Tx, rows []Row, delta map[string]int64) error {
	// One statement must not touch a row twice: keep each row's latest
	// sighting (the later one of equals), in key order so that
	// concurrent writers lock rows in the same order.
	latest := map[[2]string]Row{}
	for _, r := range rows {
		k := [2]string{r.Tenant, r.ID}
		if old, ok := latest[k]; !ok || !old.SeenAt.After(r.SeenAt) {
			latest[k] = r
		}
	}
	uniq := make([]Row, 0, len(latest))
	for _, r := range latest {
		uniq = append(uniq, r)
	}
	slices.SortFunc(uniq, func(a, b Row) int { return cmp.Or(cmp.Compare(a.Tenant, b.Tenant), cmp.Compare(a.ID, b.ID)) })
	const query = `INSERT INTO index_rows (tenant, id, insurer_id, external_id, first_name, last_name, holder_key, product_id,
			status, currency, gross_minor, language, zone, created_at, start_date, end_date, termination_date, created_day,
			start_day, end_day, expired, cancelled, version, seen_at, email, phone, vin, plate, doc, tax_minor, termination_day)
		SELECT t.tenant, t.id, t.insurer_id, t.external_id, t.first_name, t.last_name, t.holder_key, t.product_id,
			t.status, t.currency, t.gross_minor, t.language, t.zone, t.created_at::timestamptz, t.start_date::timestamptz,
			NULLIF(t.end_date, '')::timestamptz, NULLIF(t.termination_date, '')::timestamptz, t.created_day,
			t.start_day, NULLIF(t.end_day, ''), t.expired, t.cancelled, t.version, t.seen_at::timestamptz, t.email,
			t.phone, t.vin, t.plate, array_to_tsvector(string_to_array(t.doc, ' ')), t.tax_minor, NULLIF(t.termination_day, '')
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
			$9::text[], $10::text[], $11::bigint[], $12::text[], $13::text[], $14::text[], $15::text[], $16::text[],
			$17::text[], $18::text[], $19::text[], $20::text[], $21::boolean[], $22::boolean[], $23::text[], $24::text[],
			$25::text[], $26::text[], $27::text[], $28::text[], $29::text[], $30::bigint[], $31::text[])
			AS t(tenant, id, insurer_id, external_id, first_name, last_name, holder_key, product_id, status, currency,
			gross_minor, language, zone, created_at, start_date, end_date, termination_date, created_day, start_day,
			end_day, expired, cancelled, version, seen_at, email, phone, vin, plate, doc, tax_minor, termination_day)
		ON CONFLICT (tenant, id) DO UPDATE SET insurer_id = excluded.insurer_id, external_id = excluded.external_id,
			first_name = excluded.first_name, last_name = excluded.last_name, holder_key = excluded.holder_key,
			product_id = excluded.product_id, status = excluded.status, currency = excluded.currency,
			gross_minor = excluded.gross_minor, language = excluded.language, zone = excluded.zone,
			created_at = excluded.created_at, start_date = excluded.start_date, end_date = excluded.end_date,
			termination_date = excluded.termination_date, created_day = excluded.created_day,
			start_day = excluded.start_day, end_day = excluded.end_day, expired = excluded.expired,
			cancelled = excluded.cancelled, version = excluded.version, seen_at = excluded.seen_at,
			email = excluded.email, phone = excluded.phone, vin = excluded.vin, plate = excluded.plate, doc = excluded.doc,
			tax_minor = excluded.tax_minor, termination_day = excluded.termination_day
		WHERE index_rows.seen_at <= excluded.seen_at
		RETURNING tenant, xmax = 0`
	st, err := s.stmt(ctx, tx, query)
	if err != nil {
		return err
	}
	for chunk := range slices.Chunk(uniq, pgChunk) {
		cols := make([][]string, 31)
		var gross, tax []int64
		var expired, cancelled []bool
		for _, r := range chunk {
			for i, v := range []string{r.Tenant, r.ID, r.InsurerID, r.ExternalID, r.FirstName, r.LastName, holderKey(r),
				r.ProductID, r.Status, strings.ToLower(r.Currency), "", r.Language, r.Zone, pgTime(r.CreatedAt),
				pgTime(r.StartDate), pgNullTime(r.EndDate), pgNullTime(r.TerminationDate), r.CreatedDay, r.StartDay,
				r.EndDay, "", "", r.Version, pgTime(r.SeenAt), r.Email, r.Phone, r.VIN, r.Plate, pgDocument(r), "", r.TerminationDay} {
				cols[i] = append(cols[i], v)
			}
			gross = append(gross, r.GrossMinor)
			tax = append(tax, r.TaxMinor)
			expired = append(expired, r.Expired)
			cancelled = append(cancelled, r.Cancelled)
		}
		args := make([]any, 31)
		for i := range cols {
			args[i] = cols[i]
		}
		args[10], args[20], args[21], args[29] = gross, expired, cancelled, tax
		res, err := st.QueryContext(ctx, args...)
		if err != nil {
			return err
		}
		for res.Next() {
			var tenant string
			var inserted bool
			if err := res.Scan(&tenant, &inserted); err != nil {
				res.Close()
				return err
			}
			var more int64 // rows gained: replacing one changes it, not the number
			if inserted {
				more = 1
			}
			delta[tenant] += more
		}
		if err := res.Close(); err != nil {
			return err
		}
		if err := res.Err(); err != nil {
			return err
		}
	}
	return nil
}

func pgTime(t time.Time) string {
	return t.UTC().Truncate(time.Microsecond).Format(time.RFC3339Nano)
}

func pgNullTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return pgTime(t)
}

// rowColumns are what a Row is read from, in scanRow's order.
const rowColumns = `r.tenant, r.id, r.insurer_id, r.external_id, r.first_name, r.last_name, r.product_id, r.status,
	r.currency, r.gross_minor, r.language, r.zone, r.created_at, r.start_date, r.end_date, r.termination_date,
	r.created_day, r.start_day, r.end_day, r.expired, r.cancelled, r.version, r.seen_at, r.email, r.phone, r.vin, r.plate,
	r.tax_minor, r.termination_day`

// scanRow reads a Row, and then into extra what the query selected
// after rowColumns.
func scanRow(sc scanner, extra ...any) (Row, error) {
	var r Row
	var created, start, end, terminated, seen sqlstore.Time
	var endDay, terminationDay sql.NullString
	dest := []any{&r.Tenant, &r.ID, &r.InsurerID, &r.ExternalID, &r.FirstName, &r.LastName, &r.ProductID, &r.Status,
		&r.Currency, &r.GrossMinor, &r.Language, &r.Zone, &created, &start, &end, &terminated,
		&r.CreatedDay, &r.StartDay, &endDay, &r.Expired, &r.Cancelled, &r.Version, &seen, &r.Email, &r.Phone, &r.VIN, &r.Plate,
		&r.TaxMinor, &terminationDay}
	err := sc.Scan(append(dest, extra...)...)
	if err != nil {
		return Row{}, err
	}
	r.CreatedAt, r.StartDate, r.TerminationDate, r.SeenAt = zeroTime(created.T), zeroTime(start.T), terminated.T, seen.T
	if end.T.Year() < 9999 {
		r.EndDate = zeroTime(end.T)
	}
	r.EndDay, r.TerminationDay = endDay.String, terminationDay.String
	return r, nil
}

// zeroTime reads back the zero time stored for an unknown instant.
func zeroTime(t time.Time) time.Time {
	if t.Equal(time.Time{}) {
		return time.Time{}
	}
	return t
}

// Get implements Store.
func (s *sqlStore) Get(ctx context.Context, tenant, id string) (Row, error) {
	tenant, id = clean(tenant), clean(id)
	r, err := scanRow(s.queryRow(ctx, nil, s.q(`SELECT `+rowColumns+` FROM index_rows r WHERE r.tenant = $1 AND r.id = $2`), tenant, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Row{}, ErrNotFound
	}
	if err != nil {
		return Row{}, s.fail("get", err)
	}
	return r, nil
}

// Delete implements Store.
func (s *sqlStore) Delete(ctx context.Context, tenant string, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	tenant, ids = clean(tenant), cleanAll(ids)
	return s.write(ctx, "delete", func(tx *sql.Tx) error {
		var n int64
		for _, id := range ids {
			k, err := s.exec(ctx, tx, s.q(`DELETE FROM index_rows WHERE tenant = $1 AND id = $2`), tenant, id)
			if err != nil {
				return err
			}
			n += k
		}
		if n == 0 {
			return nil
		}
		return s.bump(ctx, tx, tenant, -n)
	})
}

// DeleteUnseen implements Store.
func (s *sqlStore) DeleteUnseen(ctx context.Context, tenant string, before time.Time) (int, error) {
	tenant = clean(tenant)
	var n int64
	err := s.write(ctx, "deleting unseen rows", func(tx *sql.Tx) error {
		var err error
		n, err = s.exec(ctx, tx, s.q(`DELETE FROM index_rows WHERE tenant = $1 AND seen_at < $2`), tenant, s.d.Time(before))
		if err != nil || n == 0 {
			return err
		}
		return s.bump(ctx, tx, tenant, -n)
	})
	return int(n), err
}

// Count implements Store.
func (s *sqlStore) Count(ctx context.Context, tenant string) (int, error) {
	tenant = clean(tenant)
	var n int64
	err := s.queryRow(ctx, nil, s.q(`SELECT rows FROM index_tenants WHERE tenant = $1`), tenant).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, s.fail("count", err)
	}
	return int(n), nil
}

// Changed implements Store.
func (s *sqlStore) Changed(ctx context.Context, tenant string) (int64, error) {
	tenant = clean(tenant)
	var n int64
	err := s.queryRow(ctx, nil, s.q(`SELECT changed FROM index_tenants WHERE tenant = $1`), tenant).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, s.fail("reading the change counter", err)
	}
	return n, nil
}

// SyncState implements Store.
func (s *sqlStore) SyncState(ctx context.Context, tenant string) (SyncState, error) {
	st := SyncState{Tenant: tenant}
	tenant = clean(tenant)
	var started, done, polled sqlstore.Time
	var fullDone, total int64
	err := s.queryRow(ctx, nil, s.q(`SELECT cursor, running, done, total, full_started, full_done, polled, error
		FROM index_sync WHERE tenant = $1`), tenant).Scan(&st.Cursor, &st.Full, &fullDone, &total, &started, &done, &polled, &st.Error)
	if errors.Is(err, sql.ErrNoRows) {
		return st, nil
	}
	if err != nil {
		return SyncState{}, s.fail("reading the sync state", err)
	}
	st.Done, st.Total = int(fullDone), int(total)
	st.FullStarted, st.FullDone, st.Polled = started.T, done.T, polled.T
	return st, nil
}

// SaveSyncState implements Store.
func (s *sqlStore) SaveSyncState(ctx context.Context, st SyncState) error {
	st.Tenant, st.Cursor, st.Error = clean(st.Tenant), clean(st.Cursor), clean(st.Error)
	if st.Tenant == "" {
		return errors.New("index: saving a sync state: no tenant")
	}
	_, err := s.execWrite(ctx, "saving the sync state", s.q(`INSERT INTO index_sync (tenant, cursor, running, done, total, full_started, full_done, polled, error)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (tenant) DO UPDATE SET cursor = excluded.cursor, running = excluded.running, done = excluded.done,
			total = excluded.total, full_started = excluded.full_started, full_done = excluded.full_done,
			polled = excluded.polled, error = excluded.error`),
		st.Tenant, st.Cursor, st.Full, st.Done, st.Total, s.d.NullTime(st.FullStarted), s.d.NullTime(st.FullDone),
		s.d.NullTime(st.Polled), st.Error)
	if err != nil {
		return s.fail("saving the sync state", err)
	}
	return nil
}

// Lease implements Store. One statement decides: it inserts a free
// lease, or renews it when the holder is the same or the lease ran out,
// and changes nothing otherwise. PostgreSQL times the lease by the
// server's clock, which all instances share.
func (s *sqlStore) Lease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	name, holder = clean(name), clean(holder)
	if name == "" || holder == "" || ttl <= 0 {
		return false, errors.New("index: a lease needs a name, a holder and a positive duration")
	}
	var n int64
	var err error
	if s.d == sqlstore.Postgres {
		n, err = s.exec(ctx, nil, `INSERT INTO index_leases (name, holder, expires_at)
			VALUES ($1, $2, now() + $3::bigint * interval '1 microsecond')
			ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
			WHERE index_leases.holder = excluded.holder OR index_leases.expires_at <= now()`, name, holder, ttl.Microseconds())
	} else {
		now := s.clock.Read()
		n, err = s.execWrite(withUrgent(ctx), "taking a lease", `INSERT INTO index_leases (name, holder, expires_at) VALUES (?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
			WHERE index_leases.holder = excluded.holder OR index_leases.expires_at <= ?`,
			name, holder, s.d.Time(now.Add(ttl)), s.d.Time(now))
	}
	if err != nil {
		return false, s.fail("taking a lease", err)
	}
	return n == 1, nil
}

// deliveryKey is how a delivery id is kept (see maxDeliveryID).
func deliveryKey(id string) string {
	if len(id) <= maxDeliveryID {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

// ClaimDelivery implements Store. A record past deliveryTTL that was
// not pruned yet counts as gone.
func (s *sqlStore) ClaimDelivery(ctx context.Context, tenant, id string) (bool, error) {
	tenant, id = clean(tenant), clean(id)
	if tenant == "" || id == "" {
		return false, errors.New("index: a delivery needs a tenant and an id")
	}
	now := s.clock.Read()
	cutoff := s.d.Time(now.Add(-deliveryTTL))
	s.prune(ctx, now, cutoff)
	n, err := s.execWrite(ctx, "claiming a delivery", s.q(`INSERT INTO index_deliveries (tenant, id, at) VALUES ($1, $2, $3)
		ON CONFLICT (tenant, id) DO UPDATE SET at = excluded.at WHERE index_deliveries.at < $4`),
		tenant, deliveryKey(id), s.d.Time(now), cutoff)
	if err != nil {
		return false, s.fail("claiming a delivery", err)
	}
	return n == 1, nil
}

// prune deletes the deliveries past deliveryTTL, at most once per
// pruneEvery. A failure is left to the next one: the records are only
// kept longer.
func (s *sqlStore) prune(ctx context.Context, now time.Time, cutoff any) {
	s.pruneMu.Lock()
	if now.Sub(s.lastPrune) < pruneEvery {
		s.pruneMu.Unlock()
		return
	}
	s.lastPrune = now
	s.pruneMu.Unlock()
	_, _ = s.execWrite(ctx, "pruning deliveries", s.q(`DELETE FROM index_deliveries WHERE at < $1`), cutoff)
}

// ReleaseDelivery implements Store.
func (s *sqlStore) ReleaseDelivery(ctx context.Context, tenant, id string) error {
	tenant, id = clean(tenant), clean(id)
	if _, err := s.execWrite(ctx, "releasing a delivery", s.q(`DELETE FROM index_deliveries WHERE tenant = $1 AND id = $2`), tenant, deliveryKey(id)); err != nil {
		return s.fail("releasing a delivery", err)
	}
	return nil
}

// Purge implements Store.
func (s *sqlStore) Purge(ctx context.Context, tenant string) (int, error) {
	tenant = clean(tenant)
	var n int64
	err := s.write(ctx, "purge", func(tx *sql.Tx) error {
		var err error
		if n, err = s.exec(ctx, tx, s.q(`DELETE FROM index_rows WHERE tenant = $1`), tenant); err != nil {
			return err
		}
		purge := []string{`DELETE FROM index_sync WHERE tenant = $1`, `DELETE FROM index_deliveries WHERE tenant = $1`,
			`DELETE FROM index_daily WHERE tenant = $1`, `DELETE FROM index_counts WHERE tenant = $1`}
		for _, q := range purge {
			if _, err := s.exec(ctx, tx, s.q(q), tenant); err != nil {
				return err
			}
		}
		_, err = s.exec(ctx, tx, s.q(`INSERT INTO index_tenants (tenant, changed, rows) VALUES ($1, 1, 0)
			ON CONFLICT (tenant) DO UPDATE SET changed = index_tenants.changed + 1, rows = 0`), tenant)
		return err
	})
	if err != nil {
		return 0, err
	}
	if s.d == sqlstore.SQLite {
		// The WAL may still hold the purged pages (the index empties it
		// only past indexWALCheckpointAbove): copy it into the file,
		// where secure_delete zeroed them, and empty it now. A reader
		// holding the WAL makes this give up; the checkpointer then
		// empties it later.
		s.writeMu.lock(false)
		_, _ = s.db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`)
		s.writeMu.unlock()
	}
	return int(n), nil
}

// Tenants implements Store.
func (s *sqlStore) Tenants(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT tenant FROM index_tenants WHERE rows > 0
		UNION SELECT tenant FROM index_sync ORDER BY 1`)
	if err != nil {
		return nil, s.fail("listing tenants", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, s.fail("listing tenants", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail("listing tenants", err)
	}
	return out, nil
}

// Close implements Store.
func (s *sqlStore) Close() error {
	s.writeMu.lock(false)
	var connErr error
	if s.writeConn != nil {
		connErr = s.writeConn.Close()
		s.writeConn = nil
	}
	s.writeMu.unlock()
	return errors.Join(connErr, s.stmts.Close(), s.db.Close())
}

// sqlitePragmas are set on every connection of the index as it opens
// (sqlstore.Schema.SQLitePragmas). cache_size: a page or count over a
// large tenant reads thousands of pages, which the default 2 MB cache
// would read again every time. mmap_size lets reads take pages from the
// file's memory map instead of a read call each (what a cgo-free SQLite
// pays most for). temp_store keeps the sorter of a broad text match in
// memory.
func sqlitePragmas() []string {
	return []string{"cache_size(-65536)", "mmap_size(4294967296)", "temp_store(MEMORY)"}
}

// The write connection's own settings, on top of sqlitePragmas.
const (
	// pragmaSecureDelete overwrites what a deletion frees.
	pragmaSecureDelete = `PRAGMA secure_delete = ON`
	// pragmaWriteCacheSize is the write connection's cache, which stays
	// full for the process's life: a full sync's batch (a thousand rows,
	// a dozen B-trees) is written without spilling pages to the WAL and
	// reading them back. At 32 MiB a 200,000-row full sync took 123 s
	// with the process growing by 87 MiB, at 64 MiB 101 s and 152 MiB
	// (the cgo-free SQLite's allocator takes about twice the pages'
	// size).
	pragmaWriteCacheSize = `PRAGMA cache_size = -32768`
	// pragmaWriteNoMmap: the writer reads through its cache, so that
	// the pages a full sync touches do not all stay mapped (and count
	// in the process's resident memory).
	pragmaWriteNoMmap = `PRAGMA mmap_size = 0`
	// pragmaTempStore also keeps a writing statement's journal in memory
	// (each row insert fires triggers and so needs one), which otherwise
	// is a temporary file: a write call per page, a fifth of a full
	// sync's time.
	pragmaTempStore = `PRAGMA temp_store = MEMORY`
	// pragmaSyncNormal makes a commit append to the WAL without waiting
	// for the disk (synchronous FULL, sqlstore's default, syncs every
	// commit). A power cut can then lose the last commits, never corrupt
	// the file: the index is a copy of the upstream, which the next head
	// poll or reconciliation fills in again, and a forgotten webhook
	// delivery id only lets a replay refetch its policy once more.
	pragmaSyncNormal = `PRAGMA synchronous = NORMAL`
)

// writePragmas are the write connection's settings.
func writePragmas() []string {
	return []string{pragmaSecureDelete, pragmaWriteCacheSize, pragmaWriteNoMmap, pragmaTempStore, pragmaSyncNormal}
}

// writeLock serializes the write connection's transactions, letting an
// urgent one (a lease renewal) go before the ordinary ones waiting: a
// renewal queued behind three tenants' full-sync batches could outlast
// its deadline (much more so under the race detector), and a lost lease
// stops the sync. An urgent writer still waits for the transaction under
// way: SQLite has one writer at a time.
type writeLock struct {
	mu      sync.Mutex
	cond    *sync.Cond
	held    bool
	urgents int
}

func (l *writeLock) lock(urgent bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cond == nil {
		l.cond = sync.NewCond(&l.mu)
	}
	if urgent {
		l.urgents++
		defer func() { l.urgents-- }()
	}
	for l.held || (!urgent && l.urgents > 0) {
		l.cond.Wait()
	}
	l.held = true
}

func (l *writeLock) unlock() {
	l.mu.Lock()
	l.held = false
	if l.cond != nil {
		l.cond.Broadcast()
	}
	l.mu.Unlock()
}

type urgentKey struct{}

// withUrgent marks ctx's writes as urgent (see writeLock).
func withUrgent(ctx context.Context) context.Context {
	return context.WithValue(ctx, urgentKey{}, true)
}

func urgent(ctx context.Context) bool {
	v, _ := ctx.Value(urgentKey{}).(bool)
	return v
}
