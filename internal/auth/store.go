// Package auth is arsctl's side of signing in to an ARS server: OAuth 2.0
// authorization code + PKCE on a loopback redirect (RFC 8252), the device
// authorization grant (RFC 8628), token refresh, revocation, and token
// storage in the OS keyring with a 0600 file fallback.
package auth

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/zalando/go-keyring"
	"golang.org/x/oauth2"

	"github.com/arsctl/arsctl/pkg/atomicfile"
)

// ErrNoToken means no token is stored for the server.
var ErrNoToken = errors.New("not signed in")

// Store keeps one token per server URL.
type Store interface {
	Load(server string) (*oauth2.Token, error)
	Save(server string, t *oauth2.Token) error
	Delete(server string) error
	// Where says where tokens are kept, for `auth status`.
	Where() string
}

const keyringService = "arsctl"

// KeyringStore keeps tokens in the OS keyring (Secret Service, Keychain,
// Windows Credential Manager).
type KeyringStore struct{}

// Load implements Store.
func (KeyringStore) Load(server string) (*oauth2.Token, error) {
	s, err := keyring.Get(keyringService, server)
	if errors.Is(err, keyring.ErrNotFound) {
		return nil, ErrNoToken
	}
	if err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	var t oauth2.Token
	if err := json.Unmarshal([]byte(s), &t); err != nil {
		return nil, fmt.Errorf("keyring: stored token unreadable: %w", err)
	}
	return &t, nil
}

// Save implements Store.
func (KeyringStore) Save(server string, t *oauth2.Token) error {
	b, err := json.Marshal(t)
	if err != nil {
		return err
	}
	return keyring.Set(keyringService, server, string(b))
}

// Delete implements Store.
func (KeyringStore) Delete(server string) error {
	err := keyring.Delete(keyringService, server)
	if errors.Is(err, keyring.ErrNotFound) {
		return nil
	}
	return err
}

// Where implements Store.
func (KeyringStore) Where() string { return "system keyring" }

// FileStore keeps tokens in a JSON file readable only by the user (0600),
// for machines with no keyring (headless servers, containers, CI).
type FileStore struct {
	Path string
	mu   sync.Mutex
}

func (f *FileStore) read() (map[string]*oauth2.Token, error) {
	m := map[string]*oauth2.Token{}
	b, err := os.ReadFile(f.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return m, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("token file %s unreadable: %w", f.Path, err)
	}
	return m, nil
}

func (f *FileStore) write(m map[string]*oauth2.Token) error {
	return atomicfile.WriteJSON(f.Path, m)
}

// Load implements Store.
func (f *FileStore) Load(server string) (*oauth2.Token, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m, err := f.read()
	if err != nil {
		return nil, err
	}
	t, ok := m[server]
	if !ok {
		return nil, ErrNoToken
	}
	return t, nil
}

// Save implements Store.
func (f *FileStore) Save(server string, t *oauth2.Token) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	m, err := f.read()
	if err != nil {
		return err
	}
	m[server] = t
	return f.write(m)
}

// Delete implements Store.
func (f *FileStore) Delete(server string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	m, err := f.read()
	if err != nil {
		return err
	}
	if _, ok := m[server]; !ok {
		return nil
	}
	delete(m, server)
	return f.write(m)
}

// Where implements Store.
func (f *FileStore) Where() string { return f.Path + " (0600)" }

// NewStore returns the keyring store when the OS keyring works, else a
// FileStore in stateDir. ARS_KEYRING=off forces the file.
func NewStore(getenv func(string) string, stateDir string) Store {
	file := &FileStore{Path: filepath.Join(stateDir, "tokens.json")}
	if getenv("ARS_KEYRING") == "off" {
		return file
	}
	// Probe: a read of a key that is not there tells whether a keyring
	// service answers at all.
	if _, err := keyring.Get(keyringService, "probe"); err != nil && !errors.Is(err, keyring.ErrNotFound) {
		return file
	}
	return KeyringStore{}
}
