package ipp

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"time"

	"github.com/arsctl/arsctl/pkg/atomicfile"
)

// Fingerprint returns the SHA-256 fingerprint of a certificate's DER bytes
// as "SHA256:<lower-case hex>".
func Fingerprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	return "SHA256:" + hex.EncodeToString(sum[:])
}

// PinStore remembers the TLS certificate fingerprint of each printer
// (trust on first use). Keys are "host:port" as in the printer's URI.
// Implementations must be safe for concurrent use.
type PinStore interface {
	// Lookup returns the pinned fingerprint for hostport, if any.
	Lookup(hostport string) (fingerprint string, ok bool, err error)
	// Save pins fingerprint for hostport, replacing any earlier pin.
	Save(hostport, fingerprint string) error
	// Remove forgets the pin for hostport, so that the next connection
	// pins whatever certificate the printer then presents.
	Remove(hostport string) error
}

// MemPinStore is a PinStore kept in memory, for one process. The zero
// value is ready to use.
type MemPinStore struct {
	mu   sync.Mutex
	pins map[string]string
}

// Lookup implements PinStore.
func (s *MemPinStore) Lookup(hostport string) (string, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fp, ok := s.pins[hostport]
	return fp, ok, nil
}

// Save implements PinStore.
func (s *MemPinStore) Save(hostport, fingerprint string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pins == nil {
		s.pins = map[string]string{}
	}
	s.pins[hostport] = fingerprint
	return nil
}

// Remove implements PinStore.
func (s *MemPinStore) Remove(hostport string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.pins, hostport)
	return nil
}

// FilePinStore is a PinStore kept in a JSON file readable only by its
// owner (mode 0600). The file is re-read on every lookup, so several
// processes share it; writes replace it atomically.
type FilePinStore struct {
	path string
	mu   sync.Mutex
}

// NewFilePinStore returns a store kept at path, e.g.
// $XDG_STATE_HOME/arsctl/printer-pins.json. The file and its directory are
// created on the first Save.
func NewFilePinStore(path string) *FilePinStore {
	return &FilePinStore{path: path}
}

// Path returns the file the store is kept in.
func (s *FilePinStore) Path() string { return s.path }

type pinFile struct {
	Pins map[string]pinEntry `json:"pins"`
}

type pinEntry struct {
	Fingerprint string    `json:"fingerprint"`
	PinnedAt    time.Time `json:"pinned_at"`
}

func (s *FilePinStore) load() (pinFile, error) {
	f := pinFile{Pins: map[string]pinEntry{}}
	b, err := os.ReadFile(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return f, nil
	}
	if err != nil {
		return f, fmt.Errorf("read certificate pins: %w", err)
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return f, fmt.Errorf("read certificate pins %s: %w", s.path, err)
	}
	if f.Pins == nil {
		f.Pins = map[string]pinEntry{}
	}
	return f, nil
}

func (s *FilePinStore) store(f pinFile) error {
	if err := atomicfile.WriteJSON(s.path, f); err != nil {
		return fmt.Errorf("save certificate pins: %w", err)
	}
	return nil
}

// Lookup implements PinStore.
func (s *FilePinStore) Lookup(hostport string) (string, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := s.load()
	if err != nil {
		return "", false, err
	}
	e, ok := f.Pins[hostport]
	return e.Fingerprint, ok, nil
}

// Save implements PinStore.
func (s *FilePinStore) Save(hostport, fingerprint string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := s.load()
	if err != nil {
		return err
	}
	f.Pins[hostport] = pinEntry{Fingerprint: fingerprint, PinnedAt: time.Now().UTC()}
	return s.store(f)
}

// Remove implements PinStore.
func (s *FilePinStore) Remove(hostport string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := s.load()
	if err != nil {
		return err
	}
	if _, ok := f.Pins[hostport]; !ok {
		return nil
	}
	delete(f.Pins, hostport)
	return s.store(f)
}

// CertChangedError is returned when a printer presents a TLS certificate
// other than the one pinned for it.
type CertChangedError struct {
	// HostPort is the printer address the pin belongs to.
	HostPort string
	// Pinned is the fingerprint recorded on first use.
	Pinned string
	// Got is the fingerprint the printer presented now.
	Got string
	// StorePath is the pin file, when the store is a FilePinStore.
	StorePath string
}

// Error shows both fingerprints and how to re-pin.
func (e *CertChangedError) Error() string {
	how := "remove its pin (PinStore.Remove)"
	if e.StorePath != "" {
		how = fmt.Sprintf("remove the %q entry from %s", e.HostPort, e.StorePath)
	}
	return fmt.Sprintf("TLS certificate changed: pinned %s, printer now presents %s; "+
		"this can mean someone is intercepting the connection. If the printer's certificate "+
		"was replaced on purpose (reset, firmware update), %s to trust the new one",
		e.Pinned, e.Got, how)
}
