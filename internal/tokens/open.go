package tokens

import (
	"context"
	"fmt"
)

// Config says where the records are kept.
type Config struct {
	// Path is the SQLite file (DATA_DIR/tokens.db), used when neither
	// URL is set: one instance only.
	Path string
	// DatabaseURL (postgres://…, AUDIT_DATABASE_URL) wins when set. The
	// table is named tokens_…, so the audit log's database can hold it.
	DatabaseURL string
	// RedisURL (redis://…) is used when DatabaseURL is empty.
	RedisURL string
	// RedisNamespace starts every Redis key; empty means
	// DefaultNamespace. Instances sharing records must share it.
	RedisNamespace string
}

// Backend names the store Open picks for c: "postgresql", "redis" or
// "sqlite". It carries nothing of the URLs, so it can be logged.
func (c Config) Backend() string {
	switch {
	case c.DatabaseURL != "":
		return "postgresql"
	case c.RedisURL != "":
		return "redis"
	default:
		return "sqlite"
	}
}

// Open opens the store c names (see Backend), creating or migrating
// the SQL schema. It fails when the store cannot be reached, so that a
// dashboard never starts with tokens it cannot keep.
func Open(ctx context.Context, c Config) (Store, error) {
	switch c.Backend() {
	case "postgresql":
		return openSQL(ctx, Config{DatabaseURL: c.DatabaseURL})
	case "redis":
		return openRedis(ctx, c.RedisURL, c.RedisNamespace)
	default:
		if c.Path == "" {
			return nil, fmt.Errorf("tokens: neither a SQLite path, a PostgreSQL URL nor a Redis URL is configured")
		}
		return openSQL(ctx, Config{Path: c.Path})
	}
}
