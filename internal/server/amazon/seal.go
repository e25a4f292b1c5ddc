package amazon

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// sealer encrypts secrets at rest with AES-256-GCM. A sealed value is
// nonce || ciphertext+tag; the additional data binds it to its row and
// purpose, so a sealed token copied to another enrollment does not open.
type sealer struct {
	aead    cipher.AEAD
	signKey []byte // for start links, derived from the same key
	bindKey []byte // for the browser binding of LWA states
}

func newSealer(key []byte) (*sealer, error) {
	// Separate keys for encryption and signing, derived with HMAC-SHA256.
	encKey := derive(key, "ars amazon token encryption v1")
	block, err := aes.NewCipher(encKey)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &sealer{aead: aead, signKey: derive(key, "ars amazon start link v1"), bindKey: derive(key, "ars amazon state binding v1")}, nil
}

// bindState is the value of the cookie that binds an LWA state to the
// browser that started it.
func (s *sealer) bindState(state string) string {
	m := hmac.New(sha256.New, s.bindKey)
	m.Write([]byte(state))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func derive(key []byte, label string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(label))
	return m.Sum(nil)
}

func (s *sealer) seal(plain, ad string) []byte {
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plain)+s.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return s.aead.Seal(nonce, nonce, []byte(plain), []byte(ad))
}

var errSealed = errors.New("stored secret does not decrypt (wrong key or damaged)")

func (s *sealer) open(sealed []byte, ad string) (string, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n+s.aead.Overhead() {
		return "", errSealed
	}
	p, err := s.aead.Open(nil, sealed[:n], sealed[n:], []byte(ad))
	if err != nil {
		return "", errSealed
	}
	return string(p), nil
}

// Start links carry a signed token so that a browser, which has no API
// bearer token, can start the sign-in for an enrollment its owner created:
// base64url("v1|enrollment|account|expiry-unix|nonce") "." base64url(HMAC).
// The store records each token when used, so a link works once.

type startClaims struct {
	EnrollmentID string
	AccountID    string
	Expires      time.Time
}

func (s *sealer) signStart(c startClaims) string {
	var nonce [12]byte
	_, _ = rand.Read(nonce[:])
	payload := strings.Join([]string{"v1", c.EnrollmentID, c.AccountID,
		strconv.FormatInt(c.Expires.Unix(), 10), hex.EncodeToString(nonce[:])}, "|")
	m := hmac.New(sha256.New, s.signKey)
	m.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString([]byte(payload)) + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

var (
	errBadStart     = errors.New("the sign-in link is not valid")
	errExpiredStart = errors.New("the sign-in link has expired")
)

func (s *sealer) verifyStart(tok string, now time.Time) (startClaims, error) {
	p64, mac64, ok := strings.Cut(tok, ".")
	if !ok || len(tok) > 1024 {
		return startClaims{}, errBadStart
	}
	payload, err1 := base64.RawURLEncoding.DecodeString(p64)
	mac, err2 := base64.RawURLEncoding.DecodeString(mac64)
	if err1 != nil || err2 != nil {
		return startClaims{}, errBadStart
	}
	m := hmac.New(sha256.New, s.signKey)
	m.Write(payload)
	if !hmac.Equal(mac, m.Sum(nil)) {
		return startClaims{}, errBadStart
	}
	parts := strings.Split(string(payload), "|")
	if len(parts) != 5 || parts[0] != "v1" {
		return startClaims{}, errBadStart
	}
	exp, err := strconv.ParseInt(parts[3], 10, 64)
	if err != nil {
		return startClaims{}, errBadStart
	}
	c := startClaims{EnrollmentID: parts[1], AccountID: parts[2], Expires: time.Unix(exp, 0)}
	if now.After(c.Expires) {
		return c, errExpiredStart
	}
	return c, nil
}
