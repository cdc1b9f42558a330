package audit

import "context"

// OpenUpTo opens the log applying its migrations only up to version
// (at least 1), for the upgrade tests: the database is then as a build
// that knew no later migration left it.
func OpenUpTo(ctx context.Context, cfg Config, version int) (Log, error) {
	return openUpTo(ctx, cfg, version)
}
