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
	switch {
	case cfg.DatabaseURL != "":
		return openPostgres(ctx, cfg.DatabaseURL)
	case cfg.Path != "":
		return openSQLite(ctx, cfg.Path)
	default:
		return nil, errors.New("audit: neither a SQLite path nor a PostgreSQL URL is configured")
	}
}
