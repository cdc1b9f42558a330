package audit

import (
	"context"
	"errors"
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
	switch {
	case cfg.DatabaseURL != "":
		return openPostgres(ctx, cfg.DatabaseURL, postgresDialect().upTo(upTo))
	case cfg.Path != "":
		return openSQLite(ctx, cfg.Path, sqliteDialect().upTo(upTo))
	default:
		return nil, errors.New("audit: neither a SQLite path nor a PostgreSQL URL is configured")
	}
}
