// Package db opens arsd's database, SQLite (the embedded default) or
// PostgreSQL, and brings its schema up to date with versioned migrations.
//
// Queries are written once with "?" placeholders; Rebind turns them into
// "$1, $2, ..." for PostgreSQL. Migrations live in migrations/<dialect>/
// as goose SQL files with the same version numbers in both dialects.
package db

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // database/sql driver "sqlite"
)

//go:embed migrations
var migrations embed.FS

// Dialect names the SQL dialect of a DB.
type Dialect string

// The supported dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// ErrSchemaTooNew is returned by Open when the database was migrated by a
// newer arsd than this one.
var ErrSchemaTooNew = errors.New("database schema is newer than this arsd")

// DB is an open, migrated database.
type DB struct {
	*sql.DB
	Dialect Dialect

	// writeMu queues this process's SQLite transactions in Go: SQLite has
	// one writer at a time, and a transaction that finds the write lock
	// taken sleeps in the busy handler for milliseconds at a time.
	writeMu sync.Mutex

	// locks is a small pool of PostgreSQL sessions that hold advisory
	// locks (see Lock), apart from the pool queries use, so that requests
	// holding a lock can never take every connection their work needs.
	dsn       string
	locksOnce sync.Once
	locks     *sql.DB
	locksErr  error

	path string // the SQLite file, "" for PostgreSQL and ":memory:"
}

// maxLockSessions bounds the sessions of a DB's lock pool: at most this
// many locks are held at once by one process; more callers wait.
const maxLockSessions = 16

// Open opens the database named by dsn and applies pending migrations.
// A dsn starting with postgres:// or postgresql:// selects PostgreSQL;
// anything else is a SQLite file path (created with its directory if
// missing), or ":memory:".
func Open(ctx context.Context, dsn string) (*DB, error) {
	d, err := open(dsn)
	if err != nil {
		return nil, err
	}
	if err := d.migrate(ctx); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

func open(dsn string) (*DB, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		sqldb, err := sql.Open("pgx", dsn)
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		sqldb.SetMaxOpenConns(32)
		sqldb.SetMaxIdleConns(32)
		return &DB{DB: sqldb, Dialect: Postgres, dsn: dsn}, nil
	}
	path := dsn
	if path == "" {
		return nil, errors.New("open sqlite: empty database path")
	}
	if path != ":memory:" {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("open sqlite: %w", err)
		}
		if err := createPrivate(path); err != nil {
			return nil, fmt.Errorf("open sqlite: %w", err)
		}
	}
	q := "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	sqldb, err := sql.Open("sqlite", "file:"+path+q)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	if path == ":memory:" {
		sqldb.SetMaxOpenConns(1)
	} else {
		sqldb.SetMaxOpenConns(8)
	}
	d := &DB{DB: sqldb, Dialect: SQLite}
	if path != ":memory:" {
		d.path = path
	}
	return d, nil
}

// createPrivate creates the SQLite file path, empty and readable by its
// owner only (0600, whatever the umask), unless it exists. SQLite gives
// the -wal and -shm files it creates the database file's mode, so they
// are 0600 too; left to itself it would create all three 0644 (less the
// umask), open to every user of the machine, and the database holds the
// token signing key, password hashes and owners' addresses.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	return f.Close()
}

// ExposedFiles lists the files of a SQLite database (the database, its
// -wal and -shm) that users other than the owner may read or write, with
// their modes, for a warning at start. It is empty for PostgreSQL and
// ":memory:".
func (d *DB) ExposedFiles() []ExposedFile {
	if d.path == "" {
		return nil
	}
	var out []ExposedFile
	for _, p := range []string{d.path, d.path + "-wal", d.path + "-shm"} {
		if fi, err := os.Stat(p); err == nil && fi.Mode().Perm()&0o077 != 0 {
			out = append(out, ExposedFile{Path: p, Mode: fi.Mode().Perm()})
		}
	}
	return out
}

// ExposedFile is a database file others may read or write.
type ExposedFile struct {
	Path string
	Mode fs.FileMode
}

// migrateLockID is the PostgreSQL advisory lock that migrations run under
// ("arsd-migrate" as a number). Replicas that start at once on one
// database take turns: the first applies the migrations, the others then
// find nothing left to do. Without it they raced to create the same
// tables and all but one failed.
const migrateLockID int64 = 0x61727364_6d696772

// migrations returns the goose provider of d's dialect's migrations.
func (d *DB) migrations() (*goose.Provider, error) {
	sub, err := fs.Sub(migrations, "migrations/"+string(d.Dialect))
	if err != nil {
		return nil, err
	}
	dialect := goose.DialectSQLite3
	if d.Dialect == Postgres {
		dialect = goose.DialectPostgres
	}
	p, err := goose.NewProvider(dialect, d.DB, sub)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	return p, nil
}

func (d *DB) migrate(ctx context.Context) error {
	if d.Dialect == Postgres {
		unlock, err := d.Lock(ctx, migrateLockID)
		if err != nil {
			return fmt.Errorf("migrations: wait for other replicas: %w", err)
		}
		defer unlock()
	}
	p, err := d.migrations()
	if err != nil {
		return err
	}
	current, err := p.GetDBVersion(ctx)
	if err != nil && !errors.Is(err, goose.ErrNoMigrations) {
		return fmt.Errorf("read schema version: %w", err)
	}
	var latest int64
	for _, s := range p.ListSources() {
		latest = max(latest, s.Version)
	}
	if current > latest {
		return fmt.Errorf("%w: database is at version %d, this arsd knows up to %d", ErrSchemaTooNew, current, latest)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("apply migrations: %w", err)
	}
	return nil
}

// Lock takes the PostgreSQL session-level advisory lock id, waiting
// while another session (of this or another process) holds it, and
// returns the function that releases it. A process that dies while
// holding a lock loses its session, and with it the lock. Locks are held
// by sessions of a pool of their own (at most maxLockSessions). On SQLite,
// whose database belongs to one process, Lock is an error.
func (d *DB) Lock(ctx context.Context, id int64) (unlock func(), err error) {
	if d.Dialect != Postgres {
		return nil, errors.New("advisory locks need PostgreSQL")
	}
	d.locksOnce.Do(func() {
		d.locks, d.locksErr = sql.Open("pgx", d.dsn)
		if d.locksErr == nil {
			// Locks are taken now and then (migrations, keyed writes): an
			// idle session is kept a little while, not one per slot.
			d.locks.SetMaxOpenConns(maxLockSessions)
			d.locks.SetMaxIdleConns(1)
			d.locks.SetConnMaxIdleTime(30 * time.Second)
		}
	})
	if d.locksErr != nil {
		return nil, d.locksErr
	}
	conn, err := d.locks.Conn(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", id); err != nil {
		conn.Close()
		return nil, err
	}
	return func() {
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if _, err := conn.ExecContext(uctx, "SELECT pg_advisory_unlock($1)", id); err != nil {
			// Closing the session releases the lock.
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
		conn.Close()
	}, nil
}

// Close closes the database and the sessions of its locks.
func (d *DB) Close() error {
	err := d.DB.Close()
	if d.locks != nil {
		err = errors.Join(err, d.locks.Close())
	}
	return err
}

// Rebind rewrites "?" placeholders for the DB's dialect. Question marks
// inside single-quoted string literals are left alone.
func (d *DB) Rebind(query string) string {
	if d.Dialect != Postgres {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 8)
	n := 0
	inString := false
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case c == '\'':
			inString = !inString
			b.WriteByte(c)
		case c == '?' && !inString:
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// Exec runs a statement with "?" placeholders.
func (d *DB) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return d.DB.ExecContext(ctx, d.Rebind(query), args...)
}

// Query runs a query with "?" placeholders.
func (d *DB) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return d.DB.QueryContext(ctx, d.Rebind(query), args...)
}

// QueryRow runs a single-row query with "?" placeholders.
func (d *DB) QueryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return d.DB.QueryRowContext(ctx, d.Rebind(query), args...)
}

// Tx is a transaction whose methods take "?" placeholders.
type Tx struct {
	*sql.Tx
	d *DB
}

// Exec runs a statement with "?" placeholders.
func (t *Tx) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return t.Tx.ExecContext(ctx, t.d.Rebind(query), args...)
}

// Query runs a query with "?" placeholders.
func (t *Tx) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return t.Tx.QueryContext(ctx, t.d.Rebind(query), args...)
}

// QueryRow runs a single-row query with "?" placeholders.
func (t *Tx) QueryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return t.Tx.QueryRowContext(ctx, t.d.Rebind(query), args...)
}

// InTx runs fn in a transaction, committing when fn returns nil. On
// PostgreSQL the transaction is SERIALIZABLE-safe only if fn is written
// for it; prefer unique constraints and INSERT ... ON CONFLICT for
// exactly-once effects, which work the same on both dialects.
//
// On SQLite, transactions of one DB run one at a time (they take the
// database write lock when they begin).
func (d *DB) InTx(ctx context.Context, fn func(tx *Tx) error) error {
	if d.Dialect == SQLite {
		d.writeMu.Lock()
		defer d.writeMu.Unlock()
	}
	sqltx, err := d.DB.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	tx := &Tx{Tx: sqltx, d: d}
	if err := fn(tx); err != nil {
		_ = sqltx.Rollback()
		return err
	}
	return sqltx.Commit()
}
