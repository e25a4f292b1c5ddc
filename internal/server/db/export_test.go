package db

import "context"

// MigrateDownTo undoes migrations down to version, and MigrateUp applies
// them all again, for tests of a migration's data.
func (d *DB) MigrateDownTo(ctx context.Context, version int64) error {
	p, err := d.migrations()
	if err != nil {
		return err
	}
	_, err = p.DownTo(ctx, version)
	return err
}

func (d *DB) MigrateUp(ctx context.Context) error { return d.migrate(ctx) }
