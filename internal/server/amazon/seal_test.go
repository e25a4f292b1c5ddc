package amazon

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestSealBindsRowAndPurpose(t *testing.T) {
	s, err := newSealer(bytes.Repeat([]byte{3}, 32))
	if err != nil {
		t.Fatal(err)
	}
	sealed := s.seal("Atza|secret", adAccess("e1"))
	if bytes.Contains(sealed, []byte("secret")) {
		t.Fatal("sealed value contains the plain text")
	}
	if got, err := s.open(sealed, adAccess("e1")); err != nil || got != "Atza|secret" {
		t.Fatalf("open = %q, %v", got, err)
	}
	for _, ad := range []string{adAccess("e2"), adRefresh("e1")} {
		if _, err := s.open(sealed, ad); err == nil {
			t.Errorf("opened with additional data %q", ad)
		}
	}
	other, _ := newSealer(bytes.Repeat([]byte{4}, 32))
	if _, err := other.open(sealed, adAccess("e1")); err == nil {
		t.Error("opened with another key")
	}
	if _, err := s.open(sealed[:10], adAccess("e1")); err == nil {
		t.Error("opened a truncated value")
	}
	if bytes.Equal(s.seal("x", "a"), s.seal("x", "a")) {
		t.Error("two seals of one value are equal: nonce reused")
	}
}

func TestStartToken(t *testing.T) {
	s, _ := newSealer(bytes.Repeat([]byte{3}, 32))
	now := time.Unix(1_800_000_000, 0)
	tok := s.signStart(startClaims{EnrollmentID: "enr-1", AccountID: "acc-1", Expires: now.Add(time.Hour)})
	c, err := s.verifyStart(tok, now)
	if err != nil || c.EnrollmentID != "enr-1" || c.AccountID != "acc-1" {
		t.Fatalf("%+v %v", c, err)
	}
	if _, err := s.verifyStart(tok, now.Add(2*time.Hour)); err != errExpiredStart {
		t.Errorf("expired: %v", err)
	}
	other, _ := newSealer(bytes.Repeat([]byte{4}, 32))
	if _, err := other.verifyStart(tok, now); err != errBadStart {
		t.Errorf("other key: %v", err)
	}
	p, mac, _ := strings.Cut(tok, ".")
	if _, err := s.verifyStart(p+"x."+mac, now); err != errBadStart {
		t.Errorf("changed payload: %v", err)
	}
}

func FuzzVerifyStart(f *testing.F) {
	s, _ := newSealer(bytes.Repeat([]byte{3}, 32))
	now := time.Unix(1_800_000_000, 0)
	f.Add(s.signStart(startClaims{EnrollmentID: "e", AccountID: "a", Expires: now.Add(time.Hour)}))
	f.Add("")
	f.Add(".")
	f.Add("djF8ZXxhfDF8bg.AAAA")
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := s.verifyStart(tok, now)
		if err == nil && (c.Expires.Before(now) || !strings.Contains(tok, ".")) {
			t.Fatalf("accepted %q: %+v", tok, c)
		}
	})
}

// FuzzDRSResponse feeds arbitrary DRS answer bodies to the error reading.
func FuzzDRSResponse(f *testing.F) {
	f.Add(400, []byte(`{"message":"Invalid token"}`))
	f.Add(400, []byte(`{"message":"Invalid slot ID"}`))
	f.Add(500, []byte("\xff\xfe<html>"))
	f.Add(401, []byte(`{"message":null}`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		r := drsResponse{Status: status, Body: body}
		m := r.message()
		if len(m) > 200 {
			t.Fatalf("message of %d bytes", len(m))
		}
		if r.invalidToken() && status != http.StatusUnauthorized && status != http.StatusBadRequest {
			t.Fatalf("status %d taken as an invalid token", status)
		}
	})
}
