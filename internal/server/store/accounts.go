package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/arsctl/arsctl/internal/server/core"
	"github.com/arsctl/arsctl/pkg/arsapi"
)

// Limits on account input.
const (
	MinPasswordLen = 10   // characters
	MaxPasswordLen = 1024 // bytes; longer input is refused before hashing
	maxEmailLen    = 254
	maxNameLen     = 100
)

// InvalidAccountError is core.InvalidAccountError.
type InvalidAccountError = core.InvalidAccountError

// NormalizeEmail is core.NormalizeEmail.
func NormalizeEmail(email string) (string, error) { return core.NormalizeEmail(email) }

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

// CreateAccount creates an account with a normalised email and an argon2id
// password hash. It returns *InvalidAccountError for input it refuses,
// ErrEmailTaken when the email already has an account, and an error
// wrapping password.ErrBusy when no hashing turn came free.
func (s *Store) CreateAccount(ctx context.Context, email, password, name string) (arsapi.Account, error) {
	e, err := NormalizeEmail(email)
	if err != nil {
		return arsapi.Account{}, err
	}
	if err := checkPasswordPolicy(password); err != nil {
		return arsapi.Account{}, err
	}
	name = strings.TrimSpace(name)
	if utf8.RuneCountInString(name) > maxNameLen {
		return arsapi.Account{}, &InvalidAccountError{Field: "name", Reason: fmt.Sprintf("a name has at most %d characters", maxNameLen)}
	}
	if err := arsapi.CheckText(name, utf8.UTFMax*maxNameLen, false); err != nil {
		return arsapi.Account{}, &InvalidAccountError{Field: "name", Reason: "the name " + err.Error()}
	}
	hash, err := s.Passwords.Hash(ctx, password)
	if err != nil {
		return arsapi.Account{}, fmt.Errorf("hash password: %w", err)
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
// one, so that timing does not tell whether an account exists. When no
// hashing turn came free the error wraps password.ErrBusy.
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
		if err := s.Passwords.Spend(ctx, password); err != nil {
			return arsapi.Account{}, fmt.Errorf("check password: %w", err)
		}
		return arsapi.Account{}, ErrBadCredentials
	}
	if err != nil {
		return arsapi.Account{}, fmt.Errorf("check password: %w", err)
	}
	ok, err := s.Passwords.Verify(ctx, hash, password)
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
