package db_test

import (
	"context"
	"sync"
	"testing"

	"github.com/arsctl/arsctl/internal/server/db"
	"github.com/arsctl/arsctl/internal/server/db/dbtest"
)

// TestConcurrentMigrationsPostgres starts several replicas' migrations at
// once on one fresh PostgreSQL database: every one succeeds and the schema
// ends up at the latest version once. Unserialized, they raced to create
// the same tables ("duplicate key value violates unique constraint
// pg_type_typname_nsp_index") and all but one failed.
func TestConcurrentMigrationsPostgres(t *testing.T) {
	const replicas = 3
	var dsn string
	for round := range 3 { // two fresh databases, then one already migrated
		if round < 2 {
			dsn = dbtest.PostgresDSN(t)
		}
		var wg sync.WaitGroup
		errs := make([]error, replicas)
		dbs := make([]*db.DB, replicas)
		for i := range replicas {
			wg.Go(func() { dbs[i], errs[i] = db.Open(context.Background(), dsn) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d: replica %d: open: %v", round, i, err)
			}
		}
		var applied int
		if err := dbs[0].QueryRow(context.Background(),
			`SELECT count(*) FROM goose_db_version WHERE version_id > 0 AND is_applied`).Scan(&applied); err != nil {
			t.Fatal(err)
		}
		var files int
		if err := dbs[0].QueryRow(context.Background(),
			`SELECT max(version_id) FROM goose_db_version`).Scan(&files); err != nil {
			t.Fatal(err)
		}
		if applied != files {
			t.Errorf("round %d: %d migration rows applied for %d versions: some migration ran twice or not at all", round, applied, files)
		}
		for _, d := range dbs {
			d.Close()
		}
	}
}
