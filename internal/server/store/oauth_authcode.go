package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/arsctl/arsctl/internal/server/db"
)

// AuthRequest is a stored authorization request of the authorization
// code flow.
type AuthRequest struct {
	ID                  string
	ClientID            string
	RedirectURI         string
	State               string
	Nonce               string
	Scopes              []string
	ResponseType        string
	ResponseMode        string
	CodeChallenge       string
	CodeChallengeMethod string
	// AccountID and AuthTime are set, and Done is true, once the user
	// has signed in.
	AccountID string
	AuthTime  time.Time
	Done      bool
	CreatedAt time.Time
	ExpiresAt time.Time
}

// CreateAuthRequest stores a new authorization request; ID, CreatedAt
// and ExpiresAt are set by the caller.
func (s *Store) CreateAuthRequest(ctx context.Context, a AuthRequest) error {
	_, err := s.DB.Exec(ctx, `INSERT INTO oauth_auth_requests (id, client_id, redirect_uri, state, nonce, scopes,
		response_type, response_mode, code_challenge, code_challenge_method, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.ID, a.ClientID, a.RedirectURI, a.State, a.Nonce, joinList(a.Scopes), a.ResponseType, a.ResponseMode,
		a.CodeChallenge, a.CodeChallengeMethod, oaNanos(a.CreatedAt), oaNanos(a.ExpiresAt))
	if err != nil {
		return fmt.Errorf("store auth request: %w", err)
	}
	return nil
}

const authRequestCols = `id, client_id, redirect_uri, state, nonce, scopes, response_type, response_mode,
	code_challenge, code_challenge_method, account_id, auth_time, done, created_at, expires_at`

func scanAuthRequest(row interface{ Scan(...any) error }) (AuthRequest, error) {
	var a AuthRequest
	var scopes string
	var authTime, created, expires, done int64
	err := row.Scan(&a.ID, &a.ClientID, &a.RedirectURI, &a.State, &a.Nonce, &scopes, &a.ResponseType, &a.ResponseMode,
		&a.CodeChallenge, &a.CodeChallengeMethod, &a.AccountID, &authTime, &done, &created, &expires)
	if err != nil {
		return AuthRequest{}, err
	}
	a.Scopes = splitList(scopes)
	a.AuthTime, a.CreatedAt, a.ExpiresAt = oaTime(authTime), oaTime(created), oaTime(expires)
	a.Done = done != 0
	return a, nil
}

// GetAuthRequest returns a live authorization request, or ErrNotFound
// when it does not exist or has expired.
func (s *Store) GetAuthRequest(ctx context.Context, id string) (AuthRequest, error) {
	a, err := scanAuthRequest(s.DB.QueryRow(ctx, `SELECT `+authRequestCols+` FROM oauth_auth_requests WHERE id = ? AND expires_at > ?`,
		id, oaNanos(s.Now())))
	if err != nil {
		return AuthRequest{}, readErr(err, "read auth request")
	}
	return a, nil
}

// CountLiveAuthRequests counts the authorization requests not yet expired.
func (s *Store) CountLiveAuthRequests(ctx context.Context) (int, error) {
	var n int
	if err := s.DB.QueryRow(ctx, `SELECT COUNT(*) FROM oauth_auth_requests WHERE expires_at > ?`, oaNanos(s.Now())).Scan(&n); err != nil {
		return 0, fmt.Errorf("count auth requests: %w", err)
	}
	return n, nil
}

// CompleteAuthRequest records that accountID signed in for the live
// authorization request id and allowed it; it is completed once.
func (s *Store) CompleteAuthRequest(ctx context.Context, id, accountID string) error {
	res, err := s.DB.Exec(ctx, `UPDATE oauth_auth_requests SET account_id = ?, auth_time = ?, done = 1
		WHERE id = ? AND expires_at > ? AND done = 0 AND code_hash IS NULL`, accountID, oaNanos(s.Now()), id, oaNanos(s.Now()))
	if err != nil {
		return fmt.Errorf("complete auth request: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// SaveAuthCode attaches an authorization code (kept hashed) to a
// completed authorization request, and shortens the request's life to
// codeTTL.
func (s *Store) SaveAuthCode(ctx context.Context, id, code string, codeTTL time.Duration) error {
	now := s.Now()
	res, err := s.DB.Exec(ctx, `UPDATE oauth_auth_requests SET code_hash = ?, expires_at = ?
		WHERE id = ? AND done = 1 AND code_hash IS NULL`, TokenHash(code), oaNanos(now.Add(codeTTL)), id)
	if err != nil {
		return fmt.Errorf("save auth code: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// ClaimAuthCode returns the authorization request of a code and marks
// the code used: a code works once. A code presented a second time
// answers ErrTokenReused.
func (s *Store) ClaimAuthCode(ctx context.Context, code string) (AuthRequest, error) {
	h := TokenHash(code)
	var a AuthRequest
	reusedFamily := ""
	err := s.DB.InTx(ctx, func(tx *db.Tx) error {
		now := oaNanos(s.Now())
		res, err := tx.Exec(ctx, `UPDATE oauth_auth_requests SET code_used = 1
			WHERE code_hash = ? AND code_used = 0 AND expires_at > ?`, h, now)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			var used int64
			err := tx.QueryRow(ctx, `SELECT code_used FROM oauth_auth_requests WHERE code_hash = ?`, h).Scan(&used)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				return ErrNotFound
			case err != nil:
				return err
			case used != 0:
				if err := tx.QueryRow(ctx, `SELECT family_id FROM oauth_auth_requests WHERE code_hash = ?`, h).Scan(&reusedFamily); err != nil {
					return err
				}
				return nil
			default:
				return ErrTokenExpired
			}
		}
		a, err = scanAuthRequest(tx.QueryRow(ctx, `SELECT `+authRequestCols+` FROM oauth_auth_requests WHERE code_hash = ?`, h))
		return err
	})
	if err != nil {
		return AuthRequest{}, fmt.Errorf("claim auth code: %w", err)
	}
	if a.ID == "" {
		// The code was used before: revoke what it gave (RFC 6749, 4.1.2).
		if err := s.RevokeFamily(ctx, reusedFamily); err != nil {
			return AuthRequest{}, err
		}
		return AuthRequest{}, fmt.Errorf("claim auth code: %w", ErrTokenReused)
	}
	return a, nil
}

// SetAuthRequestFamily records the token family issued for an
// authorization request's code.
func (s *Store) SetAuthRequestFamily(ctx context.Context, id, familyID string) error {
	if _, err := s.DB.Exec(ctx, `UPDATE oauth_auth_requests SET family_id = ? WHERE id = ?`, familyID, id); err != nil {
		return fmt.Errorf("record token family: %w", err)
	}
	return nil
}

// DeleteAuthRequest removes an authorization request. One whose code was
// used is kept until it expires (a minute), to recognise the code if it
// is presented again.
func (s *Store) DeleteAuthRequest(ctx context.Context, id string) error {
	if _, err := s.DB.Exec(ctx, `DELETE FROM oauth_auth_requests WHERE id = ? AND code_used = 0`, id); err != nil {
		return fmt.Errorf("delete auth request: %w", err)
	}
	return nil
}
