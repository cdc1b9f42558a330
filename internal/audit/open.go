package audit

import (
	"context"

	"backoffice/internal/sqlstore"
)

// Config says where the log is kept.
type Config struct {
	// Path is the SQLite file (DATA_DIR/audit.db) used when DatabaseURL
	// is empty: one instance, nothing to run beside the dashboard.
	Path string
	// DatabaseURL (postgres://… or postgresql://…, AUDIT_DATABASE_URL)
	// wins when set: several instances then write to one log.
	DatabaseURL string
}

// Open opens the configured log, creating or migrating its schema. It
// fails when the store cannot be reached, so that a dashboard never runs
// with an audit log it cannot write.
func Open(ctx context.Context, cfg Config) (Log, error) {
	return openUpTo(ctx, cfg, 0)
}

// openUpTo is Open applying the migrations only up to version upTo (0:
// all of them). Tests use it to leave a database as an older build left
// it, and then check that Open upgrades it.
func openUpTo(ctx context.Context, cfg Config, upTo int) (Log, error) {
	db, d, err := sqlstore.Open(ctx, sqlstore.Config{Path: cfg.Path, DatabaseURL: cfg.DatabaseURL, URLSetting: "AUDIT_DATABASE_URL"},
		schema().UpTo(upTo))
	if err != nil {
		return nil, err
	}
	return &sqlLog{db: db, d: d}, nil
}

// migrationLockKey names the advisory lock that serializes migrations of
// instances sharing one PostgreSQL database ("auditlog" in ASCII).
const migrationLockKey int64 = 0x61756469746c6f67

// schema is the log's tables in both dialects. A function rather than a
// package variable, so that no test or caller can change it for others.
func schema() sqlstore.Schema {
	return sqlstore.Schema{
		Name:         "audit",
		VersionTable: "audit_schema_migrations",
		LockKey:      migrationLockKey,
		SQLite:       sqliteMigrations(),
		Postgres:     postgresMigrations(),
	}
}
