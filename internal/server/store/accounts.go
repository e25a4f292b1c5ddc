package store

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"golang.org/x/crypto/argon2"

	"github.com/arsctl/arsctl/pkg/arsapi"
)

// Limits on account input.
const (
	MinPasswordLen = 10   // characters
	MaxPasswordLen = 1024 // bytes; longer input is refused before hashing
	maxEmailLen    = 254
	maxNameLen     = 100
)

// InvalidAccountError is returned by CreateAccount for input it refuses;
// Field is "email", "password" or "name".
type InvalidAccountError struct {
	Field  string
	Reason string
}

func (e *InvalidAccountError) Error() string { return e.Field + ": " + e.Reason }

// NormalizeEmail trims an email address and lower-cases it, and checks
// that it is a single plain address (no display name, no list).
func NormalizeEmail(email string) (string, error) {
	e := strings.ToLower(strings.TrimSpace(email))
	if e == "" {
		return "", &InvalidAccountError{Field: "email", Reason: "enter your email address"}
	}
	if len(e) > maxEmailLen {
		return "", &InvalidAccountError{Field: "email", Reason: fmt.Sprintf("an email address has at most %d characters", maxEmailLen)}
	}
	a, err := mail.ParseAddress(e)
	if err != nil || a.Address != e || a.Name != "" {
		return "", &InvalidAccountError{Field: "email", Reason: "enter an email address like name@example.com"}
	}
	at := strings.LastIndexByte(e, '@')
	if at <= 0 || !strings.Contains(e[at+1:], ".") || strings.HasSuffix(e, ".") {
		return "", &InvalidAccountError{Field: "email", Reason: "enter an email address like name@example.com"}
	}
	return e, nil
}

func checkPasswordPolicy(password string) error {
	if len(password) > MaxPasswordLen {
		return &InvalidAccountError{Field: "password", Reason: fmt.Sprintf("a password has at most %d bytes", MaxPasswordLen)}
	}
	if !utf8.ValidString(password) {
		return &InvalidAccountError{Field: "password", Reason: "the password is not valid UTF-8 text"}
	}
	if utf8.RuneCountInString(password) < MinPasswordLen {
		return &InvalidAccountError{Field: "password", Reason: fmt.Sprintf("use at least %d characters", MinPasswordLen)}
	}
	return nil
}

// argon2id parameters for new hashes (OWASP's recommendation: 19 MiB,
// 2 passes, 1 lane). Stored hashes carry their own parameters, so these
// may be raised later without breaking existing accounts.
const (
	argonMemory  = 19 * 1024 // KiB
	argonTime    = 2
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16
)

// hashPassword returns a PHC-style encoded argon2id hash:
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash> (unpadded base64).
func hashPassword(password string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, argonMemory, argonTime, argonThreads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

var errBadHash = errors.New("malformed password hash")

// verifyPassword checks password against an encoded hash in constant time.
func verifyPassword(encoded, password string) (bool, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return false, errBadHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, errBadHash
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || t == 0 || p == 0 || m > 1<<22 || t > 64 {
		return false, errBadHash
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil || len(salt) < 8 {
		return false, errBadHash
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil || len(want) < 16 || len(want) > 128 {
		return false, errBadHash
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// dummySalt is hashed against when no account matches, so that an unknown
// email costs the same time as a wrong password.
var dummySalt = []byte("ars-no-such-account")

// CreateAccount creates an account with a normalised email and an argon2id
// password hash. It returns *InvalidAccountError for input it refuses and
// ErrEmailTaken when the email already has an account.
func (s *Store) CreateAccount(ctx context.Context, email, password, name string) (arsapi.Account, error) {
	e, err := NormalizeEmail(email)
	if err != nil {
		return arsapi.Account{}, err
	}
	if err := checkPasswordPolicy(password); err != nil {
		return arsapi.Account{}, err
	}
	name = strings.TrimSpace(name)
	if utf8.RuneCountInString(name) > maxNameLen || !utf8.ValidString(name) {
		return arsapi.Account{}, &InvalidAccountError{Field: "name", Reason: fmt.Sprintf("a name has at most %d characters", maxNameLen)}
	}
	hash, err := hashPassword(password)
	if err != nil {
		return arsapi.Account{}, err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return arsapi.Account{}, fmt.Errorf("account id: %w", err)
	}
	now := s.Now()
	res, err := s.DB.Exec(ctx,
		`INSERT INTO accounts (id, email, name, password_hash, created_at) VALUES (?, ?, ?, ?, ?)
		 ON CONFLICT (email) DO NOTHING`,
		id.String(), e, name, hash, now.UnixNano())
	if err != nil {
		return arsapi.Account{}, fmt.Errorf("create account: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return arsapi.Account{}, fmt.Errorf("create account: %w", err)
	} else if n == 0 {
		return arsapi.Account{}, ErrEmailTaken
	}
	return arsapi.Account{ID: id.String(), Email: e, Name: name, CreatedAt: time.Unix(0, now.UnixNano()).UTC()}, nil
}

// CheckPassword returns the account whose email and password match, or
// ErrBadCredentials. An unknown email costs one argon2id hash like a known
// one, so that timing does not tell whether an account exists.
func (s *Store) CheckPassword(ctx context.Context, email, password string) (arsapi.Account, error) {
	e, normErr := NormalizeEmail(email)
	tooLong := len(password) > MaxPasswordLen
	if tooLong {
		// No account has such a password; spend the same time and refuse.
		password = password[:MaxPasswordLen]
		normErr = ErrBadCredentials
	}
	var (
		a    arsapi.Account
		hash string
		at   int64
	)
	err := sql.ErrNoRows
	if normErr == nil {
		err = s.DB.QueryRow(ctx, `SELECT id, email, name, password_hash, created_at FROM accounts WHERE email = ?`, e).
			Scan(&a.ID, &a.Email, &a.Name, &hash, &at)
	}
	if errors.Is(err, sql.ErrNoRows) {
		argon2.IDKey([]byte(password), dummySalt, argonTime, argonMemory, argonThreads, argonKeyLen)
		return arsapi.Account{}, ErrBadCredentials
	}
	if err != nil {
		return arsapi.Account{}, fmt.Errorf("check password: %w", err)
	}
	ok, err := verifyPassword(hash, password)
	if err != nil {
		return arsapi.Account{}, fmt.Errorf("check password of account %s: %w", a.ID, err)
	}
	if !ok {
		return arsapi.Account{}, ErrBadCredentials
	}
	a.CreatedAt = time.Unix(0, at).UTC()
	return a, nil
}

// GetAccount returns the account with this ID, or ErrNotFound.
func (s *Store) GetAccount(ctx context.Context, id string) (arsapi.Account, error) {
	var (
		a  arsapi.Account
		at int64
	)
	err := s.DB.QueryRow(ctx, `SELECT id, email, name, created_at FROM accounts WHERE id = ?`, id).
		Scan(&a.ID, &a.Email, &a.Name, &at)
	if err != nil {
		return arsapi.Account{}, readErr(err, "get account")
	}
	a.CreatedAt = time.Unix(0, at).UTC()
	return a, nil
}
