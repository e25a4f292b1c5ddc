package auth

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

func TestFileStoreRoundTripAndPermissions(t *testing.T) {
	dir := t.TempDir()
	s := &FileStore{Path: filepath.Join(dir, "state", "tokens.json")}
	if _, err := s.Load("http://a"); !errors.Is(err, ErrNoToken) {
		t.Fatalf("Load on empty store = %v, want ErrNoToken", err)
	}
	tok := &oauth2.Token{AccessToken: "at-1", RefreshToken: "rt-1", TokenType: "Bearer", Expiry: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	if err := s.Save("http://a", tok); err != nil {
		t.Fatal(err)
	}
	if err := s.Save("http://b", &oauth2.Token{AccessToken: "at-b"}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(s.Path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("token file mode = %o, want 600", perm)
	}
	di, _ := os.Stat(filepath.Dir(s.Path))
	if perm := di.Mode().Perm(); perm != 0o700 {
		t.Errorf("state dir mode = %o, want 700", perm)
	}
	got, err := s.Load("http://a")
	if err != nil || got.AccessToken != "at-1" || got.RefreshToken != "rt-1" || !got.Expiry.Equal(tok.Expiry) {
		t.Fatalf("Load = %+v, %v", got, err)
	}
	if err := s.Delete("http://a"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load("http://a"); !errors.Is(err, ErrNoToken) {
		t.Errorf("after Delete: %v, want ErrNoToken", err)
	}
	if got, err := s.Load("http://b"); err != nil || got.AccessToken != "at-b" {
		t.Errorf("other server's token lost: %+v %v", got, err)
	}
}

func TestFileStoreCorruptFileIsAnError(t *testing.T) {
	p := filepath.Join(t.TempDir(), "tokens.json")
	if err := os.WriteFile(p, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := &FileStore{Path: p}
	if _, err := s.Load("x"); err == nil || errors.Is(err, ErrNoToken) {
		t.Fatalf("corrupt file: err = %v, want a parse error", err)
	}
}

func TestNewStoreHonoursKeyringOff(t *testing.T) {
	env := map[string]string{"ARS_KEYRING": "off"}
	s := NewStore(func(k string) string { return env[k] }, t.TempDir())
	if _, ok := s.(*FileStore); !ok {
		t.Fatalf("NewStore with ARS_KEYRING=off = %T, want *FileStore", s)
	}
}
