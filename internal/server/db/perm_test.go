package db_test

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/arsctl/arsctl/internal/server/db"
)

// TestSQLiteFilesPrivate opens a new SQLite database in a directory that
// already exists, under the most permissive umask, writes to it so that
// the -wal and -shm files exist, and checks that all three are 0600.
func TestSQLiteFilesPrivate(t *testing.T) {
	old := syscall.Umask(0)
	t.Cleanup(func() { syscall.Umask(old) })
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "arsd.db")
	d, err := db.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.Exec(context.Background(), `INSERT INTO accounts (id, email, name, password_hash, created_at) VALUES ('a', 'a@example.com', '', 'h', 0)`); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if m := fi.Mode().Perm(); m != 0o600 {
			t.Errorf("%s is %04o, want 0600", filepath.Base(p), m)
		}
	}
	if f := d.ExposedFiles(); len(f) != 0 {
		t.Errorf("ExposedFiles = %v", f)
	}
}

// TestSQLiteExposedFiles: an existing database file others can read is
// reported (arsd warns at start) and left as it is.
func TestSQLiteExposedFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "arsd.db")
	d, err := db.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	d, err = db.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	// SQLite gives the -wal and -shm it creates the database's mode.
	f := d.ExposedFiles()
	if len(f) == 0 || f[0].Path != path {
		t.Fatalf("ExposedFiles = %+v, want %s first", f, path)
	}
	for _, x := range f {
		if x.Mode != 0o644 {
			t.Errorf("%s: mode %04o, want 0644", x.Path, x.Mode)
		}
	}
}
