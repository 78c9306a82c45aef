package sqlstore

import "context"

// MigrateTo applies the first n migrations only, as a release with n migrations did.
func (d *DB) MigrateTo(ctx context.Context, n int) error { return d.migrate(ctx, migrations[:n]) }

// Migrations is how many migrations the list holds.
var Migrations = len(migrations)
