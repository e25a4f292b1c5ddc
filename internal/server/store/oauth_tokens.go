package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/arsctl/arsctl/internal/server/db"
)

// TokenGrant is what a token is issued for.
type TokenGrant struct {
	AccountID string
	ClientID  string
	Scopes    []string
	Audience  []string
	AMR       []string
	AuthTime  time.Time
}

// IssuedToken describes a freshly issued access token and, when asked
// for, its refresh token. RefreshToken is the raw token, returned once
// and never stored.
type IssuedToken struct {
	AccessID      string
	AccessExpires time.Time
	RefreshToken  string
	FamilyID      string
}

func (s *Store) insertAccess(ctx context.Context, tx *db.Tx, g TokenGrant, familyID string, ttl time.Duration) (string, time.Time, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return "", time.Time{}, err
	}
	now := s.Now()
	exp := now.Add(ttl)
	_, err = tx.Exec(ctx, `INSERT INTO oauth_access_tokens (id, family_id, account_id, client_id, scopes, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, id.String(), familyID, g.AccountID, g.ClientID, joinList(g.Scopes), oaNanos(now), oaNanos(exp))
	if err != nil {
		return "", time.Time{}, fmt.Errorf("store access token: %w", err)
	}
	return id.String(), exp, nil
}

func (s *Store) insertRefresh(ctx context.Context, tx *db.Tx, g TokenGrant, familyID string, ttl time.Duration) (string, error) {
	raw, err := RandomToken(32)
	if err != nil {
		return "", err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return "", err
	}
	now := s.Now()
	_, err = tx.Exec(ctx, `INSERT INTO oauth_refresh_tokens (id, token_hash, family_id, account_id, client_id, scopes,
		audience, amr, auth_time, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		id.String(), TokenHash(raw), familyID, g.AccountID, g.ClientID, joinList(g.Scopes), joinList(g.Audience),
		joinList(g.AMR), oaNanos(g.AuthTime), oaNanos(now), oaNanos(now.Add(ttl)))
	if err != nil {
		return "", fmt.Errorf("store refresh token: %w", err)
	}
	return raw, nil
}

// IssueAccessToken records an access token without a refresh token.
func (s *Store) IssueAccessToken(ctx context.Context, g TokenGrant, accessTTL time.Duration) (IssuedToken, error) {
	fam, err := uuid.NewV7()
	if err != nil {
		return IssuedToken{}, err
	}
	t := IssuedToken{FamilyID: fam.String()}
	err = s.DB.InTx(ctx, func(tx *db.Tx) error {
		var err error
		t.AccessID, t.AccessExpires, err = s.insertAccess(ctx, tx, g, t.FamilyID, accessTTL)
		return err
	})
	if err != nil {
		return IssuedToken{}, err
	}
	return t, nil
}

// IssueTokens records an access token and a refresh token starting a new
// token family (one sign-in).
func (s *Store) IssueTokens(ctx context.Context, g TokenGrant, accessTTL, refreshTTL time.Duration) (IssuedToken, error) {
	fam, err := uuid.NewV7()
	if err != nil {
		return IssuedToken{}, err
	}
	t := IssuedToken{FamilyID: fam.String()}
	err = s.DB.InTx(ctx, func(tx *db.Tx) error {
		var err error
		if t.AccessID, t.AccessExpires, err = s.insertAccess(ctx, tx, g, t.FamilyID, accessTTL); err != nil {
			return err
		}
		t.RefreshToken, err = s.insertRefresh(ctx, tx, g, t.FamilyID, refreshTTL)
		return err
	})
	if err != nil {
		return IssuedToken{}, err
	}
	return t, nil
}

// RefreshToken is a stored refresh token (without the token itself).
type RefreshToken struct {
	ID        string
	FamilyID  string
	Grant     TokenGrant
	CreatedAt time.Time
	ExpiresAt time.Time
}

// GetRefreshToken returns the refresh token's grant. A token that was
// already rotated is a reuse: the whole family is revoked and
// ErrTokenReused returned. Revoked and expired tokens answer
// ErrTokenRevoked and ErrTokenExpired, unknown ones ErrNotFound.
func (s *Store) GetRefreshToken(ctx context.Context, token string) (RefreshToken, error) {
	var rt RefreshToken
	var scopes, aud, amr string
	var authTime, created, expires, used, revoked int64
	err := s.DB.QueryRow(ctx, `SELECT id, family_id, account_id, client_id, scopes, audience, amr, auth_time,
		created_at, expires_at, used_at, revoked_at FROM oauth_refresh_tokens WHERE token_hash = ?`, TokenHash(token)).
		Scan(&rt.ID, &rt.FamilyID, &rt.Grant.AccountID, &rt.Grant.ClientID, &scopes, &aud, &amr, &authTime,
			&created, &expires, &used, &revoked)
	if err != nil {
		return RefreshToken{}, readErr(err, "read refresh token")
	}
	switch {
	case revoked != 0:
		return RefreshToken{}, ErrTokenRevoked
	case used != 0:
		if err := s.RevokeFamily(ctx, rt.FamilyID); err != nil {
			return RefreshToken{}, err
		}
		return RefreshToken{}, ErrTokenReused
	case expires <= oaNanos(s.Now()):
		return RefreshToken{}, ErrTokenExpired
	}
	rt.Grant.Scopes, rt.Grant.Audience, rt.Grant.AMR = splitList(scopes), splitList(aud), splitList(amr)
	rt.Grant.AuthTime, rt.CreatedAt, rt.ExpiresAt = oaTime(authTime), oaTime(created), oaTime(expires)
	return rt, nil
}

// RotateRefreshToken uses a refresh token once: it marks it used and
// issues a new access token and a new refresh token of the same family,
// for g (whose scopes may be narrower than the original ones). A token
// used twice, even concurrently, revokes its family and answers
// ErrTokenReused.
func (s *Store) RotateRefreshToken(ctx context.Context, token string, g TokenGrant, accessTTL, refreshTTL time.Duration) (IssuedToken, error) {
	h := TokenHash(token)
	var t IssuedToken
	reusedFamily := ""
	err := s.DB.InTx(ctx, func(tx *db.Tx) error {
		now := oaNanos(s.Now())
		res, err := tx.Exec(ctx, `UPDATE oauth_refresh_tokens SET used_at = ?
			WHERE token_hash = ? AND used_at = 0 AND revoked_at = 0 AND expires_at > ?`, now, h, now)
		if err != nil {
			return err
		}
		var fam, account, client string
		var used, revoked int64
		err = tx.QueryRow(ctx, `SELECT family_id, account_id, client_id, used_at, revoked_at FROM oauth_refresh_tokens WHERE token_hash = ?`, h).
			Scan(&fam, &account, &client, &used, &revoked)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			switch {
			case revoked != 0:
				return ErrTokenRevoked
			case used != 0:
				reusedFamily = fam
				return nil
			default:
				return ErrTokenExpired
			}
		}
		if account != g.AccountID || client != g.ClientID {
			return fmt.Errorf("refresh token grant does not match its token")
		}
		t.FamilyID = fam
		if t.AccessID, t.AccessExpires, err = s.insertAccess(ctx, tx, g, fam, accessTTL); err != nil {
			return err
		}
		if t.RefreshToken, err = s.insertRefresh(ctx, tx, g, fam, refreshTTL); err != nil {
			return err
		}
		return trimFamily(ctx, tx, fam)
	})
	if err != nil {
		return IssuedToken{}, fmt.Errorf("rotate refresh token: %w", err)
	}
	if reusedFamily != "" {
		if err := s.RevokeFamily(ctx, reusedFamily); err != nil {
			return IssuedToken{}, err
		}
		return IssuedToken{}, fmt.Errorf("rotate refresh token: %w", ErrTokenReused)
	}
	return t, nil
}

// RevokeFamily revokes every refresh and access token of a token family.
func (s *Store) RevokeFamily(ctx context.Context, familyID string) error {
	if familyID == "" {
		return nil
	}
	now := oaNanos(s.Now())
	return s.DB.InTx(ctx, func(tx *db.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE oauth_refresh_tokens SET revoked_at = ? WHERE family_id = ? AND revoked_at = 0`, now, familyID); err != nil {
			return fmt.Errorf("revoke refresh tokens: %w", err)
		}
		if _, err := tx.Exec(ctx, `UPDATE oauth_access_tokens SET revoked_at = ? WHERE family_id = ? AND revoked_at = 0`, now, familyID); err != nil {
			return fmt.Errorf("revoke access tokens: %w", err)
		}
		return nil
	})
}

// RefreshTokenInfo returns the ID, owner, client and family of a refresh
// token, whatever its state, or ErrNotFound.
func (s *Store) RefreshTokenInfo(ctx context.Context, token string) (id, accountID, clientID, familyID string, err error) {
	err = s.DB.QueryRow(ctx, `SELECT id, account_id, client_id, family_id FROM oauth_refresh_tokens WHERE token_hash = ?`, TokenHash(token)).
		Scan(&id, &accountID, &clientID, &familyID)
	if err != nil {
		return "", "", "", "", readErr(err, "read refresh token")
	}
	return id, accountID, clientID, familyID, nil
}

// RefreshTokenByID returns the client and family of a refresh token by
// its ID, or ErrNotFound.
func (s *Store) RefreshTokenByID(ctx context.Context, id string) (accountID, clientID, familyID string, err error) {
	err = s.DB.QueryRow(ctx, `SELECT account_id, client_id, family_id FROM oauth_refresh_tokens WHERE id = ?`, id).
		Scan(&accountID, &clientID, &familyID)
	if err != nil {
		return "", "", "", readErr(err, "read refresh token")
	}
	return accountID, clientID, familyID, nil
}

// AccessToken is a stored access token's record.
type AccessToken struct {
	ID        string
	FamilyID  string
	AccountID string
	ClientID  string
	Scopes    []string
	ExpiresAt time.Time
	RevokedAt time.Time
}

// GetAccessToken returns an access token's record, or ErrNotFound.
func (s *Store) GetAccessToken(ctx context.Context, id string) (AccessToken, error) {
	at := AccessToken{ID: id}
	var scopes string
	var exp, rev int64
	err := s.DB.QueryRow(ctx, `SELECT family_id, account_id, client_id, scopes, expires_at, revoked_at FROM oauth_access_tokens WHERE id = ?`, id).
		Scan(&at.FamilyID, &at.AccountID, &at.ClientID, &scopes, &exp, &rev)
	if err != nil {
		return AccessToken{}, readErr(err, "read access token")
	}
	at.Scopes, at.ExpiresAt, at.RevokedAt = splitList(scopes), oaTime(exp), oaTime(rev)
	return at, nil
}

// CheckAccessToken returns the live access token with this ID, or
// ErrNotFound, ErrTokenRevoked or ErrTokenExpired.
func (s *Store) CheckAccessToken(ctx context.Context, id string) (AccessToken, error) {
	at, err := s.GetAccessToken(ctx, id)
	if err != nil {
		return AccessToken{}, err
	}
	if !at.RevokedAt.IsZero() {
		return AccessToken{}, ErrTokenRevoked
	}
	if !s.Now().Before(at.ExpiresAt) {
		return AccessToken{}, ErrTokenExpired
	}
	return at, nil
}

// RevokeAccessToken revokes one access token.
func (s *Store) RevokeAccessToken(ctx context.Context, id string) error {
	if _, err := s.DB.Exec(ctx, `UPDATE oauth_access_tokens SET revoked_at = ? WHERE id = ? AND revoked_at = 0`, oaNanos(s.Now()), id); err != nil {
		return fmt.Errorf("revoke access token: %w", err)
	}
	return nil
}

// RevokeClientTokens revokes every token an account holds for a client
// (sign-out from that client everywhere).
func (s *Store) RevokeClientTokens(ctx context.Context, accountID, clientID string) error {
	now := oaNanos(s.Now())
	return s.DB.InTx(ctx, func(tx *db.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE oauth_refresh_tokens SET revoked_at = ? WHERE account_id = ? AND client_id = ? AND revoked_at = 0`, now, accountID, clientID); err != nil {
			return fmt.Errorf("revoke refresh tokens: %w", err)
		}
		if _, err := tx.Exec(ctx, `UPDATE oauth_access_tokens SET revoked_at = ? WHERE account_id = ? AND client_id = ? AND revoked_at = 0`, now, accountID, clientID); err != nil {
			return fmt.Errorf("revoke access tokens: %w", err)
		}
		return nil
	})
}

// FamilyTokensKept is how many used refresh tokens, and access tokens, of
// one token family (one sign-in) are kept: each refresh adds one of each,
// and a client refreshing in a loop would otherwise add rows for as long
// as they live (30 days and 15 minutes). A replay of one of the kept used
// refresh tokens revokes the family (ErrTokenReused); an older one is
// merely unknown. An access token older than the kept ones stops working,
// its client having refreshed that many times since.
const FamilyTokensKept = 10

// trimFamily deletes a family's used refresh tokens and access tokens
// older than the FamilyTokensKept latest.
func trimFamily(ctx context.Context, tx *db.Tx, family string) error {
	if _, err := tx.Exec(ctx, `DELETE FROM oauth_refresh_tokens WHERE family_id = ? AND used_at <> 0 AND used_at < (
			SELECT used_at FROM oauth_refresh_tokens WHERE family_id = ? AND used_at <> 0 ORDER BY used_at DESC LIMIT 1 OFFSET ?)`,
		family, family, FamilyTokensKept-1); err != nil {
		return fmt.Errorf("trim used refresh tokens: %w", err)
	}
	if _, err := tx.Exec(ctx, `DELETE FROM oauth_access_tokens WHERE family_id = ? AND created_at < (
			SELECT created_at FROM oauth_access_tokens WHERE family_id = ? ORDER BY created_at DESC LIMIT 1 OFFSET ?)`,
		family, family, FamilyTokensKept-1); err != nil {
		return fmt.Errorf("trim access tokens: %w", err)
	}
	return nil
}
