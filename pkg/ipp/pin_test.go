package ipp

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestFilePinStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "arsctl", "printer-pins.json")
	s := NewFilePinStore(path)
	if _, ok, err := s.Lookup("10.0.0.7:631"); ok || err != nil {
		t.Fatalf("empty store: %v %v", ok, err)
	}
	if err := s.Remove("10.0.0.7:631"); err != nil {
		t.Errorf("Remove on missing file: %v", err)
	}
	if err := s.Save("10.0.0.7:631", "SHA256:aa"); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("mode %o, want 600", perm)
	}
	// Another store on the same file sees the pin.
	if fp, ok, err := NewFilePinStore(path).Lookup("10.0.0.7:631"); !ok || err != nil || fp != "SHA256:aa" {
		t.Errorf("Lookup = %q %v %v", fp, ok, err)
	}
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			if err := s.Save(fmt.Sprintf("10.0.0.%d:631", 100+i), "SHA256:bb"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for i := range 20 {
		if _, ok, _ := s.Lookup(fmt.Sprintf("10.0.0.%d:631", 100+i)); !ok {
			t.Errorf("pin %d lost", i)
		}
	}
	if err := s.Remove("10.0.0.7:631"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.Lookup("10.0.0.7:631"); ok {
		t.Error("pin not removed")
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}

	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err = s.Lookup("x:1")
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("corrupt file: err = %v", err)
	}
}

func TestMemPinStore(t *testing.T) {
	var s MemPinStore
	if err := s.Save("h:1", "SHA256:aa"); err != nil {
		t.Fatal(err)
	}
	if fp, ok, _ := s.Lookup("h:1"); !ok || fp != "SHA256:aa" {
		t.Errorf("Lookup = %q %v", fp, ok)
	}
	s.Remove("h:1")
	if _, ok, _ := s.Lookup("h:1"); ok {
		t.Error("not removed")
	}
}

func TestCertChangedErrorMessage(t *testing.T) {
	e := &CertChangedError{HostPort: "10.0.0.7:631", Pinned: "SHA256:aa", Got: "SHA256:bb"}
	for _, want := range []string{"SHA256:aa", "SHA256:bb", "Remove"} {
		if !strings.Contains(e.Error(), want) {
			t.Errorf("%q lacks %q", e.Error(), want)
		}
	}
}
