package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/arsctl/arsctl/internal/server/db"
	"github.com/arsctl/arsctl/pkg/arsapi"
)

// APITokenPrefix starts every API token, so that it is recognised (by
// arsd and by secret scanners) without a database lookup.
const APITokenPrefix = arsapi.APITokenPrefix

// APIToken describes a named API token (without the token itself).
type APIToken = arsapi.APIToken

// MaxAPITokenName is the longest API token name, in bytes.
const MaxAPITokenName = 100

// CreateAPIToken creates a named API token for an account, lasting ttl
// (0: until revoked). The raw token is returned once; only its hash is
// stored.
func (s *Store) CreateAPIToken(ctx context.Context, accountID, name string, ttl time.Duration) (string, APIToken, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > MaxAPITokenName {
		return "", APIToken{}, &InvalidAccountError{Field: "name", Reason: fmt.Sprintf("give the token a name of 1 to %d bytes", MaxAPITokenName)}
	}
	if err := arsapi.CheckText(name, MaxAPITokenName, false); err != nil {
		return "", APIToken{}, &InvalidAccountError{Field: "name", Reason: "the token name " + err.Error()}
	}
	secret, err := RandomToken(32)
	if err != nil {
		return "", APIToken{}, err
	}
	raw := APITokenPrefix + secret
	id, err := uuid.NewV7()
	if err != nil {
		return "", APIToken{}, err
	}
	now := s.Now()
	t := APIToken{ID: id.String(), Name: name, Hint: raw[len(raw)-4:], CreatedAt: now}
	if ttl > 0 {
		t.ExpiresAt = now.Add(ttl)
	}
	err = s.inTx(ctx, func(tx *db.Tx) error {
		// The account's row lock keeps concurrent creations apart on
		// PostgreSQL (SQLite runs one writer at a time).
		var one int
		if err := tx.QueryRow(ctx, `SELECT 1 FROM accounts WHERE id = ?`+s.forUpdate(), accountID).Scan(&one); err != nil {
			return fmt.Errorf("lock account: %w", err)
		}
		var kept int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM api_tokens WHERE account_id = ?`, accountID).Scan(&kept); err != nil {
			return fmt.Errorf("count api tokens: %w", err)
		}
		if kept >= MaxAPITokens {
			// Revoked and expired tokens are kept only to be listed:
			// they make room for a new one.
			if _, err := tx.Exec(ctx, `DELETE FROM api_tokens WHERE account_id = ? AND (revoked_at <> 0 OR (expires_at <> 0 AND expires_at <= ?))`,
				accountID, oaNanos(now)); err != nil {
				return fmt.Errorf("drop spent api tokens: %w", err)
			}
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM api_tokens WHERE account_id = ?`, accountID).Scan(&kept); err != nil {
				return fmt.Errorf("count api tokens: %w", err)
			}
			if kept >= MaxAPITokens {
				return ErrTooManyAPITokens
			}
		}
		_, err := tx.Exec(ctx, `INSERT INTO api_tokens (id, account_id, name, token_hash, hint, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, t.ID, accountID, name, TokenHash(raw), t.Hint, oaNanos(now), oaNanos(t.ExpiresAt))
		if err != nil {
			return fmt.Errorf("store api token: %w", err)
		}
		return nil
	})
	if err != nil {
		return "", APIToken{}, err
	}
	return raw, t, nil
}

// MaxAPITokens is the most API tokens an account keeps, live ones and
// those revoked or expired (listed until a new token needs their room).
const MaxAPITokens = 100

// ErrTooManyAPITokens is CreateAPIToken's answer for an account that has
// MaxAPITokens live API tokens already.
var ErrTooManyAPITokens = fmt.Errorf("an account has at most %d live API tokens; revoke one first", MaxAPITokens)

// ListAPITokens lists an account's API tokens, newest first, revoked ones
// included.
func (s *Store) ListAPITokens(ctx context.Context, accountID string) ([]APIToken, error) {
	rows, err := s.DB.Query(ctx, `SELECT id, name, hint, created_at, expires_at, last_used_at, revoked_at
		FROM api_tokens WHERE account_id = ? ORDER BY created_at DESC, id DESC`, accountID)
	if err != nil {
		return nil, fmt.Errorf("list api tokens: %w", err)
	}
	defer rows.Close()
	out := []APIToken{}
	for rows.Next() {
		var t APIToken
		var c, e, l, r int64
		if err := rows.Scan(&t.ID, &t.Name, &t.Hint, &c, &e, &l, &r); err != nil {
			return nil, fmt.Errorf("list api tokens: %w", err)
		}
		t.CreatedAt, t.ExpiresAt, t.LastUsedAt, t.RevokedAt = oaTime(c), oaTime(e), oaTime(l), oaTime(r)
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeAPIToken revokes one of an account's API tokens; another
// account's token answers ErrNotFound.
func (s *Store) RevokeAPIToken(ctx context.Context, accountID, id string) error {
	res, err := s.DB.Exec(ctx, `UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND account_id = ? AND revoked_at = 0`,
		oaNanos(s.Now()), id, accountID)
	if err != nil {
		return fmt.Errorf("revoke api token: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		var x int
		err := s.DB.QueryRow(ctx, `SELECT 1 FROM api_tokens WHERE id = ? AND account_id = ?`, id, accountID).Scan(&x)
		if err != nil {
			return readErr(err, "revoke api token")
		}
	}
	return nil
}

// CheckAPIToken returns the account of a live API token, or ErrNotFound,
// ErrTokenRevoked or ErrTokenExpired. It notes the time of use, at most
// once a minute per token.
func (s *Store) CheckAPIToken(ctx context.Context, raw string) (accountID string, err error) {
	h := TokenHash(raw)
	var id string
	var exp, last, rev int64
	err = s.DB.QueryRow(ctx, `SELECT id, account_id, expires_at, last_used_at, revoked_at FROM api_tokens WHERE token_hash = ?`, h).
		Scan(&id, &accountID, &exp, &last, &rev)
	if err != nil {
		return "", readErr(err, "read api token")
	}
	now := s.Now()
	switch {
	case rev != 0:
		return "", ErrTokenRevoked
	case exp != 0 && exp <= oaNanos(now):
		return "", ErrTokenExpired
	}
	if oaNanos(now)-last >= int64(time.Minute) {
		if _, err := s.DB.Exec(ctx, `UPDATE api_tokens SET last_used_at = ? WHERE id = ? AND last_used_at < ?`,
			oaNanos(now), id, oaNanos(now.Add(-time.Minute))); err != nil {
			return "", fmt.Errorf("note api token use: %w", err)
		}
	}
	return accountID, nil
}
