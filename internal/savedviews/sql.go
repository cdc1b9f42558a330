package savedviews

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"

	"backoffice/internal/sqlstore"
)

// Config says where the views are kept.
type Config struct {
	// Path is the SQLite file (DATA_DIR/savedviews.db), used when
	// DatabaseURL is empty.
	Path string
	// DatabaseURL (postgres://…, AUDIT_DATABASE_URL) wins when set; the
	// table is named savedviews_…, so the audit log's database can hold
	// it.
	DatabaseURL string
}

// Backend names the store Open picks: "postgresql" or "sqlite". It
// carries nothing of the URL, so it can be logged.
func (c Config) Backend() string {
	if c.DatabaseURL != "" {
		return "postgresql"
	}
	return "sqlite"
}

// migrationLockKey names the advisory lock that serializes migrations of
// instances sharing one PostgreSQL database ("svview" in ASCII).
const migrationLockKey int64 = 0x737676696577

// schema is the table in both dialects. name_key is the case-folded name
// (folded in Go, the same way for both databases), unique per tenant.
func schema() sqlstore.Schema {
	return sqlstore.Schema{
		Name:         "savedviews",
		VersionTable: "savedviews_schema_migrations",
		LockKey:      migrationLockKey,
		SQLite: []sqlstore.Migration{{Version: 1, Statements: []string{
			`CREATE TABLE savedviews_views (
				tenant TEXT NOT NULL CHECK (tenant <> ''),
				id TEXT NOT NULL CHECK (id <> ''),
				name TEXT NOT NULL CHECK (name <> ''),
				name_key TEXT NOT NULL,
				state TEXT NOT NULL,
				created_at TEXT NOT NULL,
				PRIMARY KEY (tenant, id),
				UNIQUE (tenant, name_key)
			)`,
		}}},
		Postgres: []sqlstore.Migration{{Version: 1, Statements: []string{
			`CREATE TABLE savedviews_views (
				tenant text NOT NULL CHECK (tenant <> ''),
				id text NOT NULL CHECK (id <> ''),
				name text NOT NULL CHECK (name <> ''),
				name_key text NOT NULL,
				state text NOT NULL,
				created_at timestamptz NOT NULL,
				PRIMARY KEY (tenant, id),
				UNIQUE (tenant, name_key)
			)`,
		}}},
	}
}

// Open opens (creating or migrating) the store c names. It fails when
// the database cannot be reached, so that a dashboard never starts with
// views it cannot keep.
func Open(ctx context.Context, c Config) (Store, error) {
	db, d, err := sqlstore.Open(ctx, sqlstore.Config{Path: c.Path, DatabaseURL: c.DatabaseURL, URLSetting: "AUDIT_DATABASE_URL"}, schema())
	if err != nil {
		return nil, err
	}
	return &sqlStore{db: db, d: d, clock: sqlstore.NewClock()}, nil
}

// sqlStore is the Store over database/sql, SQLite and PostgreSQL alike.
type sqlStore struct {
	db    *sql.DB
	d     sqlstore.Dialect
	clock *sqlstore.Clock
	stmts sqlstore.Statements
}

var _ Store = (*sqlStore)(nil)

func (s *sqlStore) fail(what string, err error) error {
	return fmt.Errorf("savedviews: %s (%s): %w", what, s.d, err)
}

func (s *sqlStore) stmt(ctx context.Context, q string) (*sql.Stmt, error) {
	return s.stmts.Get(ctx, s.db, nil, q)
}

// tenantLock is the advisory lock a PostgreSQL Create holds for its
// tenant, so that two instances creating at once cannot both pass the
// bound or the name check. SQLite's write transaction is the lock there.
func tenantLock(tenant string) int64 {
	h := fnv.New64a()
	h.Write([]byte("savedviews\x00" + tenant))
	return int64(h.Sum64()) // #nosec G115 -- a lock name; wrapping is fine
}

// Create implements Store: the bound, the name check and the insert are
// one transaction.
func (s *sqlStore) Create(ctx context.Context, tenant, name, state string) (v View, err error) {
	if tenant == "" {
		return View{}, errors.Join(ErrInvalid, errors.New("savedviews: no tenant"))
	}
	if name, err = CheckName(name); err != nil {
		return View{}, err
	}
	if err = checkState(state); err != nil {
		return View{}, err
	}
	var b [idBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		return View{}, err
	}
	v = View{ID: hex.EncodeToString(b[:]), Tenant: tenant, Name: name, State: state, Created: s.clock.Stamp()}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return View{}, s.fail("saving a view", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if s.d == sqlstore.Postgres {
		if _, err = tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, tenantLock(tenant)); err != nil {
			return View{}, s.fail("locking the tenant's views", err)
		}
	}
	a := s.d.NewArgs()
	q := `SELECT COUNT(*), COALESCE(SUM(CASE WHEN name_key = ` + a.Add(nameKey(name)) + ` THEN 1 ELSE 0 END), 0) FROM savedviews_views WHERE tenant = ` + a.Add(tenant)
	// Straight on the transaction, not through the prepared statements:
	// preparing one would need a second connection while this one is
	// held, and a pool of busy Creates would wait on itself.
	var n, same int
	if err = tx.QueryRowContext(ctx, q, a.Vals...).Scan(&n, &same); err != nil {
		return View{}, s.fail("counting the tenant's views", err)
	}
	if same > 0 {
		err = ErrDuplicate
		return View{}, err
	}
	if n >= MaxPerTenant {
		err = ErrFull
		return View{}, err
	}
	a = s.d.NewArgs()
	q = `INSERT INTO savedviews_views (tenant, id, name, name_key, state, created_at) VALUES (` +
		a.Add(v.Tenant) + `, ` + a.Add(v.ID) + `, ` + a.Add(v.Name) + `, ` + a.Add(nameKey(v.Name)) + `, ` + a.Add(v.State) + `, ` + a.Add(s.d.Time(v.Created)) + `)`
	if _, err = tx.ExecContext(ctx, q, a.Vals...); err != nil {
		return View{}, s.fail("saving a view", err)
	}
	if err = tx.Commit(); err != nil {
		return View{}, s.fail("saving a view", err)
	}
	return v, nil
}

// List implements Store.
func (s *sqlStore) List(ctx context.Context, tenant string) ([]View, error) {
	a := s.d.NewArgs()
	q := `SELECT id, name, state, created_at FROM savedviews_views WHERE tenant = ` + a.Add(tenant) + ` ORDER BY name_key, id LIMIT ` + a.Add(MaxPerTenant)
	st, err := s.stmt(ctx, q)
	if err != nil {
		return nil, s.fail("listing views", err)
	}
	rows, err := st.QueryContext(ctx, a.Vals...)
	if err != nil {
		return nil, s.fail("listing views", err)
	}
	defer rows.Close()
	var out []View
	for rows.Next() {
		v := View{Tenant: tenant}
		var created sqlstore.Time
		if err := rows.Scan(&v.ID, &v.Name, &v.State, &created); err != nil {
			return nil, s.fail("listing views", err)
		}
		v.Created = created.T
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail("listing views", err)
	}
	return out, nil
}

// Get implements Store.
func (s *sqlStore) Get(ctx context.Context, tenant, id string) (View, error) {
	if !validID(id) {
		return View{}, ErrNotFound
	}
	a := s.d.NewArgs()
	q := `SELECT name, state, created_at FROM savedviews_views WHERE tenant = ` + a.Add(tenant) + ` AND id = ` + a.Add(id)
	st, err := s.stmt(ctx, q)
	if err != nil {
		return View{}, s.fail("reading a view", err)
	}
	v := View{ID: id, Tenant: tenant}
	var created sqlstore.Time
	err = st.QueryRowContext(ctx, a.Vals...).Scan(&v.Name, &v.State, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return View{}, ErrNotFound
	}
	if err != nil {
		return View{}, s.fail("reading a view", err)
	}
	v.Created = created.T
	return v, nil
}

// Delete implements Store.
func (s *sqlStore) Delete(ctx context.Context, tenant, id string) error {
	if !validID(id) {
		return ErrNotFound
	}
	a := s.d.NewArgs()
	q := `DELETE FROM savedviews_views WHERE tenant = ` + a.Add(tenant) + ` AND id = ` + a.Add(id)
	st, err := s.stmt(ctx, q)
	if err != nil {
		return s.fail("deleting a view", err)
	}
	res, err := st.ExecContext(ctx, a.Vals...)
	if err != nil {
		return s.fail("deleting a view", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return s.fail("deleting a view", err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// Close implements Store.
func (s *sqlStore) Close() error {
	return errors.Join(s.stmts.Close(), s.db.Close())
}
