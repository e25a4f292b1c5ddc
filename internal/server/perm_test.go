package server

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arsctl/arsctl/internal/server/servertest"
)

// TestWarnsOfReadableDatabase starts arsd on a SQLite file that others
// may read: it warns, naming the file and its mode; on a private file it
// does not.
func TestWarnsOfReadableDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "arsd.db")
	start := func() string {
		logs := &servertest.LogBuffer{}
		s, err := New(context.Background(), Config{Addr: "127.0.0.1:0", Database: path, DataDir: t.TempDir(),
			Logger: slog.New(slog.NewTextHandler(logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		s.Close()
		return logs.String()
	}
	if l := start(); strings.Contains(l, "open to other users") {
		t.Errorf("warned of a private database:\n%s", l)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if l := start(); !strings.Contains(l, "level=WARN") || !strings.Contains(l, "file="+path+" mode=0644") {
		t.Errorf("no warning of a database others can read:\n%s", l)
	}
}
