// Package dbtest gives tests a fresh, migrated database of each dialect:
// a temporary SQLite file always, and a new PostgreSQL database when
// ARS_TEST_POSTGRES names a server (scripts/pg-start.sh starts one and
// `make test` exports it).
package dbtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/arsctl/arsctl/internal/server/db"
	"github.com/arsctl/arsctl/pkg/printer"
)

// PostgresEnv names the environment variable holding the DSN of a
// PostgreSQL server tests may create databases on.
const PostgresEnv = "ARS_TEST_POSTGRES"

// SQLite opens a fresh SQLite database in a temporary directory.
func SQLite(t testing.TB) *db.DB {
	t.Helper()
	d, err := db.Open(context.Background(), filepath.Join(t.TempDir(), "ars.db"))
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// PostgresDSN creates a new empty PostgreSQL database and returns its DSN,
// dropping the database when the test ends. It skips the test, saying why,
// when ARS_TEST_POSTGRES is not set.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	base := os.Getenv(PostgresEnv)
	if base == "" {
		t.Skipf("PostgreSQL tests skipped: %s is not set (run `make test`, or scripts/pg-start.sh and export what it prints)", PostgresEnv)
	}
	// The server's own database only hosts CREATE and DROP DATABASE: it is
	// opened without db.Open, which would migrate it (concurrently, from
	// every test package that starts at once).
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("connect to %s: %v", PostgresEnv, err)
	}
	defer admin.Close()
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "ars_test_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		a, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer a.Close()
		_, _ = a.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse %s: %v", PostgresEnv, err)
	}
	u.Path = "/" + name
	return u.String()
}

// Postgres opens a fresh, migrated PostgreSQL database (see PostgresDSN).
func Postgres(t testing.TB) *db.DB {
	t.Helper()
	d, err := db.Open(context.Background(), PostgresDSN(t))
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// Each runs fn as a subtest once per dialect: "sqlite" and "postgres".
func Each(t *testing.T, fn func(t *testing.T, d *db.DB)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLite(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, Postgres(t)) })
}

// FillLevelHistory writes n level changes of each supply of an enrollment
// straight into level_history, one a minute before before, alternating
// 40 and 41 %: a long history without sending the reports.
func FillLevelHistory(t testing.TB, d *db.DB, enrollmentID string, supplies []printer.Supply, n int, before time.Time) {
	t.Helper()
	for _, sp := range supplies {
		var (
			b    strings.Builder
			args []any
		)
		b.WriteString(`INSERT INTO level_history (enrollment_id, supply, read_at, level) VALUES `)
		for k := range n {
			if k > 0 {
				b.WriteByte(',')
			}
			b.WriteString("(?, ?, ?, ?)")
			args = append(args, enrollmentID, sp.Name, before.Add(-time.Duration(k+1)*time.Minute).UnixNano(), 40+k%2)
		}
		if _, err := d.Exec(context.Background(), b.String(), args...); err != nil {
			t.Fatalf("fill level history: %v", err)
		}
	}
}
