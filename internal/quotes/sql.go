package quotes

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"

	"backoffice/internal/sqlstore"
)

// Config says where the quotes are kept.
type Config struct {
	// Path is the SQLite file (DATA_DIR/quotes.db, a file of its own so
	// that quote saves and audit appends never wait for one another's
	// write lock) used when DatabaseURL is empty.
	Path string
	// DatabaseURL (postgres://…, AUDIT_DATABASE_URL) wins when set:
	// several instances then share the quotes. The tables are named
	// quotes_…, so the audit log's database can hold them.
	DatabaseURL string
}

// Open opens the configured store, creating or migrating its schema. It
// fails when the store cannot be reached, so that a dashboard never
// takes quotes it cannot keep.
func Open(ctx context.Context, cfg Config) (Store, error) {
	db, d, err := sqlstore.Open(ctx, sqlstore.Config{Path: cfg.Path, DatabaseURL: cfg.DatabaseURL, URLSetting: "AUDIT_DATABASE_URL"}, schema())
	if err != nil {
		return nil, err
	}
	return &sqlStore{db: db, d: d, clock: sqlstore.NewClock()}, nil
}

// sqlStore is the Store over database/sql, for SQLite and PostgreSQL:
// one set of queries, the dialect filling in what differs.
type sqlStore struct {
	db    *sql.DB
	d     sqlstore.Dialect
	clock *sqlstore.Clock
}

var _ Store = (*sqlStore)(nil)

func (s *sqlStore) args() *sqlstore.Args { return s.d.NewArgs() }

// jsonArg stores an empty value as NULL and anything else as its text,
// which both a TEXT and a json column take as is.
func jsonArg(b json.RawMessage) any {
	if len(b) == 0 {
		return nil
	}
	return string(b)
}

// jsonCol scans a JSON column: NULL and empty read as nil.
type jsonCol struct{ v *json.RawMessage }

// Scan implements sql.Scanner.
func (c jsonCol) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*c.v = nil
	case string:
		*c.v = cloneJSON(json.RawMessage(v))
	case []byte:
		*c.v = cloneJSON(v) // the driver may reuse its buffer
	default:
		return fmt.Errorf("cannot read JSON from %T", src)
	}
	return nil
}

// fail wraps a database error with what was being done.
func (s *sqlStore) fail(what string, err error) error {
	return fmt.Errorf("quotes: %s (%s): %w", what, s.d, err)
}

const draftColumns = `id, account, step, title, vehicle, owner, cover, version, created_at, updated_at`

// CreateDraft implements Store.
func (s *sqlStore) CreateDraft(ctx context.Context, account string) (Draft, error) {
	if err := checkAccount(account); err != nil {
		return Draft{}, err
	}
	now := s.clock.Stamp()
	d := Draft{ID: newID(), Account: account, Step: StepVehicle, Version: 1, CreatedAt: now, UpdatedAt: now}
	a := s.args()
	q := `INSERT INTO quotes_drafts (id, account, step, version, created_at, updated_at) VALUES (` +
		a.Add(d.ID) + `, ` + a.Add(d.Account) + `, ` + a.Add(d.Step) + `, ` + a.Add(d.Version) + `, ` +
		a.Add(s.d.Time(now)) + `, ` + a.Add(s.d.Time(now)) + `)`
	if _, err := s.db.ExecContext(ctx, q, a.Vals...); err != nil {
		return Draft{}, s.fail("creating a draft", err)
	}
	return d, nil
}

// FreshDraft implements Store. The look, the count and the insert are
// one transaction: SQLite's write transaction (BEGIN IMMEDIATE) holds
// the only write lock, PostgreSQL takes the account's advisory lock, so
// that of concurrent calls on any instance one creates and the others
// find its draft.
func (s *sqlStore) FreshDraft(ctx context.Context, account string, limit int) (Draft, bool, error) {
	if err := checkAccount(account); err != nil {
		return Draft{}, false, err
	}
	var d Draft
	created := false
	err := s.inTx(ctx, "opening a new draft", func(tx *sql.Tx) error {
		if s.d == sqlstore.Postgres {
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, accountLock(account)); err != nil {
				return s.fail("locking the account's drafts", err)
			}
		}
		a := s.args()
		q := `SELECT ` + draftColumns + ` FROM quotes_drafts WHERE account = ` + a.Add(account) +
			` AND title = '' AND step = ` + a.Add(StepVehicle) + ` ORDER BY updated_at DESC, id DESC LIMIT 1`
		var err error
		d, err = scanDraft(tx.QueryRowContext(ctx, q, a.Vals...))
		if err == nil {
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return s.fail("reading drafts", err)
		}
		var n int
		a = s.args()
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM quotes_drafts WHERE account = `+a.Add(account), a.Vals...).Scan(&n); err != nil {
			return s.fail("counting drafts", err)
		}
		if n >= limit {
			return tooLarge("the account has %d drafts, at most %d", n, limit)
		}
		now := s.clock.Stamp()
		d = Draft{ID: newID(), Account: account, Step: StepVehicle, Version: 1, CreatedAt: now, UpdatedAt: now}
		a = s.args()
		q = `INSERT INTO quotes_drafts (id, account, step, version, created_at, updated_at) VALUES (` +
			a.Add(d.ID) + `, ` + a.Add(d.Account) + `, ` + a.Add(d.Step) + `, ` + a.Add(d.Version) + `, ` +
			a.Add(s.d.Time(now)) + `, ` + a.Add(s.d.Time(now)) + `)`
		if _, err := tx.ExecContext(ctx, q, a.Vals...); err != nil {
			return s.fail("creating a draft", err)
		}
		created = true
		return nil
	})
	if err != nil {
		return Draft{}, false, err
	}
	return d, created, nil
}

// accountLock is the PostgreSQL advisory lock FreshDraft holds for an
// account.
func accountLock(account string) int64 {
	h := fnv.New64a()
	h.Write([]byte("quotes\x00" + account))
	return int64(h.Sum64()) // #nosec G115 -- a lock name; wrapping is fine
}

// scanDraft reads draftColumns.
func scanDraft(row interface{ Scan(...any) error }) (Draft, error) {
	var d Draft
	var created, updated sqlstore.Time
	err := row.Scan(&d.ID, &d.Account, &d.Step, &d.Title, jsonCol{&d.Vehicle}, jsonCol{&d.Owner}, jsonCol{&d.Cover},
		&d.Version, &created, &updated)
	d.CreatedAt, d.UpdatedAt = created.T, updated.T
	return d, err
}

// GetDraft implements Store.
func (s *sqlStore) GetDraft(ctx context.Context, account, id string) (Draft, error) {
	if err := checkDraftRef(account, id); err != nil {
		return Draft{}, err
	}
	a := s.args()
	q := `SELECT ` + draftColumns + ` FROM quotes_drafts WHERE id = ` + a.Add(id) + ` AND account = ` + a.Add(account)
	d, err := scanDraft(s.db.QueryRowContext(ctx, q, a.Vals...))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Draft{}, ErrNotFound
	case err != nil:
		return Draft{}, s.fail("reading a draft", err)
	}
	return d, nil
}

// SaveDraft implements Store. The version check and the write are one
// statement, so that of concurrent saves of one version exactly one
// matches a row; the others find the bumped version and learn why.
func (s *sqlStore) SaveDraft(ctx context.Context, d Draft) (Draft, error) {
	d, err := prepareDraft(d)
	if err != nil {
		return Draft{}, err
	}
	now := s.clock.Stamp()
	a := s.args()
	q := `UPDATE quotes_drafts SET step = ` + a.Add(d.Step) + `, title = ` + a.Add(d.Title) +
		`, vehicle = ` + a.Add(jsonArg(d.Vehicle)) + `, owner = ` + a.Add(jsonArg(d.Owner)) + `, cover = ` + a.Add(jsonArg(d.Cover)) +
		`, version = version + 1, updated_at = ` + a.Add(s.d.Time(now)) +
		` WHERE id = ` + a.Add(d.ID) + ` AND account = ` + a.Add(d.Account) + ` AND version = ` + a.Add(d.Version) +
		` RETURNING created_at`
	var created sqlstore.Time
	err = s.db.QueryRowContext(ctx, q, a.Vals...).Scan(&created)
	if errors.Is(err, sql.ErrNoRows) {
		// Nothing matched: either there is no such draft for this
		// account, or its version moved on.
		if _, err := s.GetDraft(ctx, d.Account, d.ID); err != nil {
			return Draft{}, err
		}
		return Draft{}, ErrConflict
	}
	if err != nil {
		return Draft{}, s.fail("saving a draft", err)
	}
	d.Version++
	d.CreatedAt, d.UpdatedAt = created.T, now
	return d, nil
}

// ListDrafts implements Store. One query returns the page and, through
// a window count, the total of the same snapshot; only a page past the
// end, which has no row to carry the count, costs a second query.
func (s *sqlStore) ListDrafts(ctx context.Context, account string, f Filter) (Page, error) {
	if err := checkAccount(account); err != nil {
		return Page{}, err
	}
	if err := checkFilter(f); err != nil {
		return Page{}, err
	}
	a := s.args()
	q := `SELECT id, account, step, title, version, created_at, updated_at, COUNT(*) OVER (),
		(SELECT COUNT(DISTINCT provider) FROM quotes_offers WHERE quotes_offers.draft_id = quotes_drafts.id) FROM quotes_drafts
		WHERE account = ` + a.Add(account) + ` ORDER BY updated_at DESC, id DESC LIMIT ` + a.Add(f.Limit) + ` OFFSET ` + a.Add(f.Offset)
	rows, err := s.db.QueryContext(ctx, q, a.Vals...)
	if err != nil {
		return Page{}, s.fail("listing drafts", err)
	}
	defer rows.Close()
	var p Page
	for rows.Next() {
		var d Draft
		var created, updated sqlstore.Time
		if err := rows.Scan(&d.ID, &d.Account, &d.Step, &d.Title, &d.Version, &created, &updated, &p.Total, &d.Insurers); err != nil {
			return Page{}, s.fail("reading drafts", err)
		}
		d.CreatedAt, d.UpdatedAt = created.T, updated.T
		p.Drafts = append(p.Drafts, d)
	}
	if err := rows.Err(); err != nil {
		return Page{}, s.fail("reading drafts", err)
	}
	if len(p.Drafts) == 0 && f.Offset > 0 {
		a := s.args()
		if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM quotes_drafts WHERE account = `+a.Add(account), a.Vals...).Scan(&p.Total); err != nil {
			return Page{}, s.fail("counting drafts", err)
		}
	}
	return p, nil
}

// ownDraft checks, inside tx, that the account owns the draft. With
// lock it also holds the draft's row until tx ends, so that writers of
// the draft's offers take turns (SQLite's write transaction already
// holds the only write lock).
func (s *sqlStore) ownDraft(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, account, draftID string, lock bool) error {
	a := s.args()
	stmt := `SELECT 1 FROM quotes_drafts WHERE id = ` + a.Add(draftID) + ` AND account = ` + a.Add(account)
	if lock {
		stmt += s.d.ForUpdate()
	}
	var one int
	err := q.QueryRowContext(ctx, stmt, a.Vals...).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return ErrNotFound
	case err != nil:
		return s.fail("reading a draft", err)
	}
	return nil
}

// inTx runs fn in a transaction, committing when it returns nil.
func (s *sqlStore) inTx(ctx context.Context, what string, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return s.fail(what, err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return s.fail(what, err)
	}
	return nil
}

// ReplaceOffers implements Store. The draft's row is locked first: two
// requests replacing one draft's offers at once then leave one set or
// the other, never a mix (or a clash on the offers' key).
func (s *sqlStore) ReplaceOffers(ctx context.Context, account, draftID string, offers []Offer) error {
	if err := checkDraftRef(account, draftID); err != nil {
		return err
	}
	offers, err := prepareOffers(draftID, offers, s.clock.Stamp())
	if err != nil {
		return err
	}
	return s.inTx(ctx, "replacing offers", func(tx *sql.Tx) error {
		if err := s.ownDraft(ctx, tx, account, draftID, true); err != nil {
			return err
		}
		a := s.args()
		if _, err := tx.ExecContext(ctx, `DELETE FROM quotes_offers WHERE draft_id = `+a.Add(draftID), a.Vals...); err != nil {
			return s.fail("replacing offers", err)
		}
		a = s.args()
		if _, err := tx.ExecContext(ctx, `DELETE FROM quotes_asks WHERE draft_id = `+a.Add(draftID), a.Vals...); err != nil {
			return s.fail("replacing offers", err)
		}
		return s.insertOffers(ctx, tx, draftID, 0, offers)
	})
}

// insertOffers inserts offers for draftID in tx, numbered from seq.
func (s *sqlStore) insertOffers(ctx context.Context, tx *sql.Tx, draftID string, seq int, offers []Offer) error {
	if len(offers) == 0 {
		return nil
	}
	// One statement for the whole set: at most MaxOffers rows of 8
	// values, far below either store's limit on parameters.
	a := s.args()
	values := make([]string, len(offers))
	for i, o := range offers {
		values[i] = `(` + strings.Join([]string{
			a.Add(draftID), a.Add(seq + i), a.Add(o.OfferID), a.Add(o.Provider), a.Add(jsonArg(o.Body)),
			a.Add(o.Error), a.Add(s.d.NullTime(o.ExpiresAt)), a.Add(s.d.Time(o.CreatedAt)),
		}, ", ") + `)`
	}
	q := `INSERT INTO quotes_offers (draft_id, seq, offer_id, provider, body, error, expires_at, created_at) VALUES ` +
		strings.Join(values, ", ")
	if _, err := tx.ExecContext(ctx, q, a.Vals...); err != nil {
		return s.fail("storing offers", err)
	}
	return nil
}

// StartAsks implements Store.
func (s *sqlStore) StartAsks(ctx context.Context, account, draftID string, providers []string, all bool) (string, error) {
	if err := checkDraftRef(account, draftID); err != nil {
		return "", err
	}
	if err := checkProviders(providers); err != nil {
		return "", err
	}
	token, now := newID(), s.clock.Stamp()
	err := s.inTx(ctx, "starting asks", func(tx *sql.Tx) error {
		if err := s.ownDraft(ctx, tx, account, draftID, true); err != nil {
			return err
		}
		for _, table := range []string{"quotes_offers", "quotes_asks"} {
			a := s.args()
			q := `DELETE FROM ` + table + ` WHERE draft_id = ` + a.Add(draftID)
			if !all {
				in := make([]string, len(providers))
				for i, p := range providers {
					in[i] = a.Add(p)
				}
				q += ` AND provider IN (` + strings.Join(in, ", ") + `)`
			}
			if _, err := tx.ExecContext(ctx, q, a.Vals...); err != nil {
				return s.fail("starting asks", err)
			}
		}
		a := s.args()
		values := make([]string, len(providers))
		for i, p := range providers {
			values[i] = `(` + a.Add(draftID) + `, ` + a.Add(p) + `, ` + a.Add(token) + `, ` + a.Add(s.d.Time(now)) + `)`
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO quotes_asks (draft_id, provider, token, started_at) VALUES `+strings.Join(values, ", "), a.Vals...); err != nil {
			return s.fail("starting asks", err)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return token, nil
}

// FinishAsk implements Store. The ask's row is the judge: the answer is
// kept only when deleting the row under its token removed it.
func (s *sqlStore) FinishAsk(ctx context.Context, account, draftID, provider, token string, offers []Offer) (bool, error) {
	if err := checkDraftRef(account, draftID); err != nil {
		return false, err
	}
	if err := checkAnswer(provider, token, offers); err != nil {
		return false, err
	}
	offers, err := prepareOffers(draftID, offers, s.clock.Stamp())
	if err != nil {
		return false, err
	}
	kept := false
	err = s.inTx(ctx, "keeping an answer", func(tx *sql.Tx) error {
		if err := s.ownDraft(ctx, tx, account, draftID, true); err != nil {
			return err
		}
		a := s.args()
		res, err := tx.ExecContext(ctx, `DELETE FROM quotes_asks WHERE draft_id = `+a.Add(draftID)+` AND provider = `+a.Add(provider)+
			` AND token = `+a.Add(token), a.Vals...)
		if err != nil {
			return s.fail("keeping an answer", err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		a = s.args()
		if _, err := tx.ExecContext(ctx, `DELETE FROM quotes_offers WHERE draft_id = `+a.Add(draftID)+` AND provider = `+a.Add(provider), a.Vals...); err != nil {
			return s.fail("keeping an answer", err)
		}
		var seq int
		a = s.args()
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq) + 1, 0) FROM quotes_offers WHERE draft_id = `+a.Add(draftID), a.Vals...).Scan(&seq); err != nil {
			return s.fail("keeping an answer", err)
		}
		if err := s.insertOffers(ctx, tx, draftID, seq, offers); err != nil {
			return err
		}
		kept = true
		return nil
	})
	return kept, err
}

// Asks implements Store.
func (s *sqlStore) Asks(ctx context.Context, account, draftID string) ([]Ask, error) {
	if err := checkDraftRef(account, draftID); err != nil {
		return nil, err
	}
	if err := s.ownDraft(ctx, s.db, account, draftID, false); err != nil {
		return nil, err
	}
	return s.readAsks(ctx, s.db, draftID)
}

// reader is a database or a transaction, to read from.
type reader interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
	QueryRowContext(context.Context, string, ...any) *sql.Row
}

func (s *sqlStore) readAsks(ctx context.Context, db reader, draftID string) ([]Ask, error) {
	a := s.args()
	rows, err := db.QueryContext(ctx, `SELECT provider, token, started_at FROM quotes_asks WHERE draft_id = `+a.Add(draftID)+
		` ORDER BY started_at, provider`, a.Vals...)
	if err != nil {
		return nil, s.fail("reading asks", err)
	}
	defer rows.Close()
	var out []Ask
	for rows.Next() {
		var k Ask
		var started sqlstore.Time
		if err := rows.Scan(&k.Provider, &k.Token, &started); err != nil {
			return nil, s.fail("reading asks", err)
		}
		k.StartedAt = started.T
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail("reading asks", err)
	}
	return out, nil
}

// Answers implements Store: both reads in one read-only transaction,
// which sees one snapshot (SQLite's WAL read transaction; PostgreSQL's
// repeatable read).
func (s *sqlStore) Answers(ctx context.Context, account, draftID string) ([]Offer, []Ask, error) {
	if err := checkDraftRef(account, draftID); err != nil {
		return nil, nil, err
	}
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return nil, nil, s.fail("reading answers", err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := s.ownDraft(ctx, tx, account, draftID, false); err != nil {
		return nil, nil, err
	}
	offers, err := s.readOffers(ctx, tx, draftID)
	if err != nil {
		return nil, nil, err
	}
	asks, err := s.readAsks(ctx, tx, draftID)
	if err != nil {
		return nil, nil, err
	}
	return offers, asks, nil
}

// Offers implements Store.
func (s *sqlStore) Offers(ctx context.Context, account, draftID string) ([]Offer, error) {
	if err := checkDraftRef(account, draftID); err != nil {
		return nil, err
	}
	// Drafts are never removed, so the ownership found here still holds
	// for the read that follows.
	if err := s.ownDraft(ctx, s.db, account, draftID, false); err != nil {
		return nil, err
	}
	return s.readOffers(ctx, s.db, draftID)
}

func (s *sqlStore) readOffers(ctx context.Context, db reader, draftID string) ([]Offer, error) {
	a := s.args()
	rows, err := db.QueryContext(ctx, `SELECT draft_id, offer_id, provider, body, error, expires_at, created_at
		FROM quotes_offers WHERE draft_id = `+a.Add(draftID)+` ORDER BY seq`, a.Vals...)
	if err != nil {
		return nil, s.fail("reading offers", err)
	}
	defer rows.Close()
	var out []Offer
	for rows.Next() {
		var o Offer
		var expires, created sqlstore.Time
		if err := rows.Scan(&o.DraftID, &o.OfferID, &o.Provider, jsonCol{&o.Body}, &o.Error, &expires, &created); err != nil {
			return nil, s.fail("reading offers", err)
		}
		o.ExpiresAt, o.CreatedAt = expires.T, created.T
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail("reading offers", err)
	}
	return out, nil
}

const policyColumns = `draft_id, offer_id, provider, series, number, body, issued_at`

// scanPolicy reads policyColumns.
func scanPolicy(row interface{ Scan(...any) error }) (Policy, error) {
	var p Policy
	var issued sqlstore.Time
	err := row.Scan(&p.DraftID, &p.OfferID, &p.Provider, &p.Series, &p.Number, jsonCol{&p.Body}, &issued)
	p.IssuedAt = issued.T
	return p, err
}

// RecordPolicy implements Store. ON CONFLICT DO NOTHING makes the
// primary key the judge: of concurrent recordings of one offer, the
// first to commit inserts, and each other one waits for it (PostgreSQL)
// or for the write lock (SQLite), then reads the policy it lost to.
func (s *sqlStore) RecordPolicy(ctx context.Context, account string, p Policy) (Policy, error) {
	if err := checkAccount(account); err != nil {
		return Policy{}, err
	}
	p, err := preparePolicy(p, s.clock.Stamp())
	if err != nil {
		return Policy{}, err
	}
	var first Policy
	err = s.inTx(ctx, "recording a policy", func(tx *sql.Tx) error {
		if err := s.ownDraft(ctx, tx, account, p.DraftID, false); err != nil {
			return err
		}
		a := s.args()
		q := `INSERT INTO quotes_policies (account, ` + policyColumns + `) VALUES (` + strings.Join([]string{
			a.Add(account), a.Add(p.DraftID), a.Add(p.OfferID), a.Add(p.Provider), a.Add(p.Series), a.Add(p.Number),
			a.Add(jsonArg(p.Body)), a.Add(s.d.Time(p.IssuedAt)),
		}, ", ") + `) ON CONFLICT (account, offer_id) DO NOTHING RETURNING offer_id`
		var inserted string
		err := tx.QueryRowContext(ctx, q, a.Vals...).Scan(&inserted)
		if err == nil {
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return s.fail("recording a policy", err)
		}
		a = s.args()
		q = `SELECT ` + policyColumns + ` FROM quotes_policies WHERE account = ` + a.Add(account) + ` AND offer_id = ` + a.Add(p.OfferID)
		if first, err = scanPolicy(tx.QueryRowContext(ctx, q, a.Vals...)); err != nil {
			return s.fail("reading the recorded policy", err)
		}
		return ErrExists
	})
	switch {
	case errors.Is(err, ErrExists):
		return first, ErrExists
	case err != nil:
		return Policy{}, err
	}
	return p, nil
}

// Policies implements Store.
func (s *sqlStore) Policies(ctx context.Context, account, draftID string) ([]Policy, error) {
	if err := checkDraftRef(account, draftID); err != nil {
		return nil, err
	}
	if err := s.ownDraft(ctx, s.db, account, draftID, false); err != nil {
		return nil, err
	}
	a := s.args()
	rows, err := s.db.QueryContext(ctx, `SELECT `+policyColumns+` FROM quotes_policies
		WHERE account = `+a.Add(account)+` AND draft_id = `+a.Add(draftID)+` ORDER BY issued_at, offer_id`, a.Vals...)
	if err != nil {
		return nil, s.fail("reading policies", err)
	}
	defer rows.Close()
	var out []Policy
	for rows.Next() {
		p, err := scanPolicy(rows)
		if err != nil {
			return nil, s.fail("reading policies", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail("reading policies", err)
	}
	return out, nil
}

// PolicyByNumber implements Store.
func (s *sqlStore) PolicyByNumber(ctx context.Context, account, series, number string) (Policy, error) {
	if err := checkPolicyRef(account, series, number); err != nil {
		return Policy{}, err
	}
	a := s.args()
	q := `SELECT ` + policyColumns + ` FROM quotes_policies WHERE account = ` + a.Add(account) +
		` AND series = ` + a.Add(series) + ` AND number = ` + a.Add(number) + ` ORDER BY issued_at DESC, offer_id DESC LIMIT 1`
	p, err := scanPolicy(s.db.QueryRowContext(ctx, q, a.Vals...))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Policy{}, ErrNotFound
	case err != nil:
		return Policy{}, s.fail("reading a policy", err)
	}
	return p, nil
}

// Close implements Store.
func (s *sqlStore) Close() error { return s.db.Close() }
