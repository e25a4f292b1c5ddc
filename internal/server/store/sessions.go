package store

import (
	"context"
	"fmt"
	"time"

	"github.com/arsctl/arsctl/internal/server/core"
)

// Session is core.Session.
type Session = core.Session

// Sessions is core.Sessions.
type Sessions = core.Sessions

// RandomToken is core.RandomToken.
func RandomToken(n int) (string, error) { return core.RandomToken(n) }

// CreateSession starts a session for accountID lasting ttl, and returns
// its ID (256 random bits; give it to the browser, it is not stored).
func (s *Store) CreateSession(ctx context.Context, accountID string, ttl time.Duration) (string, Session, error) {
	id, err := RandomToken(32)
	if err != nil {
		return "", Session{}, err
	}
	csrf, err := RandomToken(32)
	if err != nil {
		return "", Session{}, err
	}
	now := s.Now()
	sess := Session{AccountID: accountID, CSRFToken: csrf, CreatedAt: now, ExpiresAt: now.Add(ttl)}
	_, err = s.DB.Exec(ctx,
		`INSERT INTO web_sessions (id_hash, account_id, csrf_token, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
		TokenHash(id), accountID, csrf, now.UnixNano(), sess.ExpiresAt.UnixNano())
	if err != nil {
		return "", Session{}, fmt.Errorf("create session: %w", err)
	}
	// The oldest sessions beyond MaxSessions end: every sign-in makes one
	// (the pages', arsctl auth login's, the device page's), and a
	// successful sign-in is not limited.
	if _, err := s.DB.Exec(ctx, `DELETE FROM web_sessions WHERE account_id = ? AND created_at < (
			SELECT created_at FROM web_sessions WHERE account_id = ? ORDER BY created_at DESC LIMIT 1 OFFSET ?)`,
		accountID, accountID, MaxSessions-1); err != nil {
		return "", Session{}, fmt.Errorf("end the oldest sessions: %w", err)
	}
	return id, sess, nil
}

// MaxSessions is the most web sessions an account keeps: a sign-in beyond
// them ends the oldest (that browser signs in again).
const MaxSessions = 50

// GetSession returns the live session with this ID, or ErrNotFound.
func (s *Store) GetSession(ctx context.Context, id string) (Session, error) {
	if id == "" || len(id) > 128 {
		return Session{}, ErrNotFound
	}
	var (
		sess             Session
		created, expires int64
	)
	err := s.DB.QueryRow(ctx,
		`SELECT account_id, csrf_token, created_at, expires_at FROM web_sessions WHERE id_hash = ? AND expires_at > ?`,
		TokenHash(id), s.Now().UnixNano()).Scan(&sess.AccountID, &sess.CSRFToken, &created, &expires)
	if err != nil {
		return Session{}, readErr(err, "get session")
	}
	sess.CreatedAt = time.Unix(0, created).UTC()
	sess.ExpiresAt = time.Unix(0, expires).UTC()
	return sess, nil
}

// DeleteSession ends a session (logout). Deleting an unknown session is
// not an error.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	if _, err := s.DB.Exec(ctx, `DELETE FROM web_sessions WHERE id_hash = ?`, TokenHash(id)); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// DeleteExpiredSessions removes expired sessions and returns how many. It
// also forgets attempt counts whose last attempt is a day old.
func (s *Store) DeleteExpiredSessions(ctx context.Context) (int64, error) {
	now := s.Now()
	res, err := s.DB.Exec(ctx, `DELETE FROM web_sessions WHERE expires_at <= ?`, now.UnixNano())
	if err != nil {
		return 0, fmt.Errorf("delete expired sessions: %w", err)
	}
	if _, err := s.DB.Exec(ctx, `DELETE FROM attempt_limits WHERE last_at <= ?`, nanos(now.Add(-attemptTTL))); err != nil {
		return 0, fmt.Errorf("delete old attempt counts: %w", err)
	}
	return res.RowsAffected()
}
