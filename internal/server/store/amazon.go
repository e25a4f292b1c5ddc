package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Errors of the Amazon sign-in flow.
var (
	// ErrUsed is returned when a single-use value (sign-in state, start
	// token) is presented a second time.
	ErrUsed = errors.New("already used")
)

// AmazonState is one Login with Amazon authorization request in flight:
// the OAuth state (kept as a hash), the enrollment it activates and the
// PKCE verifier, sealed by the caller.
type AmazonState struct {
	StateHash    string
	EnrollmentID string
	AccountID    string
	Verifier     []byte // sealed
	CreatedAt    time.Time
	ExpiresAt    time.Time
}

// AmazonLink ties an enrollment to its Dash Replenishment registration.
// The tokens are sealed by the caller; the store never sees them in clear.
type AmazonLink struct {
	EnrollmentID    string
	AccountID       string
	DeviceModel     string
	Serial          string
	TestDevice      bool
	AccessToken     []byte // sealed
	RefreshToken    []byte // sealed
	AccessExpiresAt time.Time
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// AmazonLinks is the persistence of internal/server/amazon.
type AmazonLinks interface {
	// PutAmazonState stores a new sign-in state and drops expired ones.
	PutAmazonState(ctx context.Context, st AmazonState) error
	// TakeAmazonState marks the state used and returns it. A state seen
	// before answers ErrUsed, an unknown one ErrNotFound; expiry is for the
	// caller to check.
	TakeAmazonState(ctx context.Context, stateHash string) (AmazonState, error)
	// DeclineAmazonState records that the owner chose Cancel at Login with
	// Amazon for the (taken) state.
	DeclineAmazonState(ctx context.Context, stateHash string) error
	// AmazonSignInDeclined returns when the owner chose Cancel at the
	// enrollment's latest Login with Amazon, or the zero time when it
	// was not declined (or none was started).
	AmazonSignInDeclined(ctx context.Context, enrollmentID string) (time.Time, error)
	// UseAmazonStartToken records a start token as used; a second use
	// answers ErrUsed.
	UseAmazonStartToken(ctx context.Context, tokenHash string, expiresAt time.Time) error
	// PutAmazonLink creates or replaces the link of an enrollment.
	PutAmazonLink(ctx context.Context, l AmazonLink) error
	// GetAmazonLink returns the link of an enrollment, or ErrNotFound.
	GetAmazonLink(ctx context.Context, enrollmentID string) (AmazonLink, error)
	// UpdateAmazonTokens replaces the tokens after a refresh.
	UpdateAmazonTokens(ctx context.Context, enrollmentID string, access, refresh []byte, accessExpiresAt time.Time) error
	// DeleteAmazonLink removes the link and its tokens; deleting a missing
	// link is not an error.
	DeleteAmazonLink(ctx context.Context, enrollmentID string) error
	// ReserveDeviceStatus claims the DeviceStatus call of a linked
	// enrollment at now, unless a call was made (or claimed) after
	// notBefore: then ok is false. Replicas racing for one call see one
	// of them win. prev is the claim it replaced, for ReleaseDeviceStatus.
	// An enrollment with no link answers ErrNotFound.
	ReserveDeviceStatus(ctx context.Context, enrollmentID string, now, notBefore time.Time) (prev time.Time, ok bool, err error)
	// ReleaseDeviceStatus gives back a claim made at reserved whose call
	// failed, putting prev back unless a newer claim replaced it.
	ReleaseDeviceStatus(ctx context.Context, enrollmentID string, reserved, prev time.Time) error
}

var _ AmazonLinks = (*Store)(nil)

// PutAmazonState implements AmazonLinks.
func (s *Store) PutAmazonState(ctx context.Context, st AmazonState) error {
	now := s.now()
	if st.CreatedAt.IsZero() {
		st.CreatedAt = now
	}
	if _, err := s.DB.Exec(ctx, `DELETE FROM amazon_states WHERE expires_at < ?`, nanos(now.Add(-time.Hour))); err != nil {
		return fmt.Errorf("purge amazon states: %w", err)
	}
	_, err := s.DB.Exec(ctx, `INSERT INTO amazon_states (state_hash, enrollment_id, account_id, verifier, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?)`,
		st.StateHash, st.EnrollmentID, st.AccountID, st.Verifier, nanos(st.CreatedAt), nanos(st.ExpiresAt))
	if err != nil {
		return fmt.Errorf("store amazon state: %w", err)
	}
	return nil
}

// TakeAmazonState implements AmazonLinks.
func (s *Store) TakeAmazonState(ctx context.Context, stateHash string) (AmazonState, error) {
	res, err := s.DB.Exec(ctx, `UPDATE amazon_states SET used_at = ? WHERE state_hash = ? AND used_at IS NULL`,
		nanos(s.now()), stateHash)
	if err != nil {
		return AmazonState{}, fmt.Errorf("take amazon state: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return AmazonState{}, fmt.Errorf("take amazon state: %w", err)
	}
	var st AmazonState
	var created, expires int64
	err = s.DB.QueryRow(ctx, `SELECT state_hash, enrollment_id, account_id, verifier, created_at, expires_at
		FROM amazon_states WHERE state_hash = ?`, stateHash).
		Scan(&st.StateHash, &st.EnrollmentID, &st.AccountID, &st.Verifier, &created, &expires)
	if err != nil {
		return AmazonState{}, readErr(err, "read amazon state")
	}
	if n == 0 {
		return AmazonState{}, ErrUsed
	}
	st.CreatedAt, st.ExpiresAt = fromNanos(created), fromNanos(expires)
	return st, nil
}

// DeclineAmazonState implements AmazonLinks.
func (s *Store) DeclineAmazonState(ctx context.Context, stateHash string) error {
	if _, err := s.DB.Exec(ctx, `UPDATE amazon_states SET declined_at = ? WHERE state_hash = ?`, nanos(s.now()), stateHash); err != nil {
		return fmt.Errorf("decline amazon state: %w", err)
	}
	return nil
}

// AmazonSignInDeclined implements AmazonLinks.
func (s *Store) AmazonSignInDeclined(ctx context.Context, enrollmentID string) (time.Time, error) {
	var declined sql.NullInt64
	err := s.DB.QueryRow(ctx, `SELECT declined_at FROM amazon_states WHERE enrollment_id = ?
		ORDER BY created_at DESC LIMIT 1`, enrollmentID).Scan(&declined)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !declined.Valid) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("read amazon sign-in: %w", err)
	}
	return fromNanos(declined.Int64), nil
}

// UseAmazonStartToken implements AmazonLinks.
func (s *Store) UseAmazonStartToken(ctx context.Context, tokenHash string, expiresAt time.Time) error {
	now := s.now()
	if _, err := s.DB.Exec(ctx, `DELETE FROM amazon_start_tokens WHERE expires_at < ?`, nanos(now.Add(-time.Hour))); err != nil {
		return fmt.Errorf("purge amazon start tokens: %w", err)
	}
	res, err := s.DB.Exec(ctx, `INSERT INTO amazon_start_tokens (token_hash, used_at, expires_at) VALUES (?, ?, ?)
		ON CONFLICT (token_hash) DO NOTHING`, tokenHash, nanos(now), nanos(expiresAt))
	if err != nil {
		return fmt.Errorf("use amazon start token: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("use amazon start token: %w", err)
	}
	if n == 0 {
		return ErrUsed
	}
	return nil
}

// PutAmazonLink implements AmazonLinks.
func (s *Store) PutAmazonLink(ctx context.Context, l AmazonLink) error {
	now := s.now()
	_, err := s.DB.Exec(ctx, `INSERT INTO amazon_links (enrollment_id, account_id, device_model, serial, test_device,
			access_token, refresh_token, access_expires_at, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (enrollment_id) DO UPDATE SET account_id = excluded.account_id,
			device_model = excluded.device_model, serial = excluded.serial, test_device = excluded.test_device,
			access_token = excluded.access_token, refresh_token = excluded.refresh_token,
			access_expires_at = excluded.access_expires_at, updated_at = excluded.updated_at, status_at = 0`,
		l.EnrollmentID, l.AccountID, l.DeviceModel, l.Serial, l.TestDevice,
		l.AccessToken, l.RefreshToken, nanos(l.AccessExpiresAt), nanos(now), nanos(now))
	if err != nil {
		return fmt.Errorf("store amazon link: %w", err)
	}
	return nil
}

// GetAmazonLink implements AmazonLinks.
func (s *Store) GetAmazonLink(ctx context.Context, enrollmentID string) (AmazonLink, error) {
	var l AmazonLink
	var exp, created, updated int64
	err := s.DB.QueryRow(ctx, `SELECT enrollment_id, account_id, device_model, serial, test_device,
			access_token, refresh_token, access_expires_at, created_at, updated_at
		FROM amazon_links WHERE enrollment_id = ?`, enrollmentID).
		Scan(&l.EnrollmentID, &l.AccountID, &l.DeviceModel, &l.Serial, &l.TestDevice,
			&l.AccessToken, &l.RefreshToken, &exp, &created, &updated)
	if err != nil {
		return AmazonLink{}, readErr(err, "read amazon link")
	}
	l.AccessExpiresAt, l.CreatedAt, l.UpdatedAt = fromNanos(exp), fromNanos(created), fromNanos(updated)
	return l, nil
}

// UpdateAmazonTokens implements AmazonLinks.
func (s *Store) UpdateAmazonTokens(ctx context.Context, enrollmentID string, access, refresh []byte, accessExpiresAt time.Time) error {
	res, err := s.DB.Exec(ctx, `UPDATE amazon_links SET access_token = ?, refresh_token = ?, access_expires_at = ?, updated_at = ?
		WHERE enrollment_id = ?`, access, refresh, nanos(accessExpiresAt), nanos(s.now()), enrollmentID)
	if err != nil {
		return fmt.Errorf("update amazon tokens: %w", err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return ErrNotFound
	}
	return nil
}

// DeleteAmazonLink implements AmazonLinks.
func (s *Store) DeleteAmazonLink(ctx context.Context, enrollmentID string) error {
	if _, err := s.DB.Exec(ctx, `DELETE FROM amazon_links WHERE enrollment_id = ?`, enrollmentID); err != nil {
		return fmt.Errorf("delete amazon link: %w", err)
	}
	return nil
}

// ReserveDeviceStatus implements AmazonLinks: it reads the last claim and
// replaces it only if it is still the one read (compare and swap).
func (s *Store) ReserveDeviceStatus(ctx context.Context, enrollmentID string, now, notBefore time.Time) (time.Time, bool, error) {
	var prev int64
	err := s.DB.QueryRow(ctx, `SELECT status_at FROM amazon_links WHERE enrollment_id = ?`, enrollmentID).Scan(&prev)
	if err != nil {
		return time.Time{}, false, readErr(err, "read device status claim")
	}
	if prev > nanos(notBefore) {
		return fromNanos(prev), false, nil
	}
	res, err := s.DB.Exec(ctx, `UPDATE amazon_links SET status_at = ? WHERE enrollment_id = ? AND status_at = ?`,
		nanos(now), enrollmentID, prev)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("claim device status: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return time.Time{}, false, fmt.Errorf("claim device status: %w", err)
	}
	return fromNanos(prev), n == 1, nil
}

// ReleaseDeviceStatus implements AmazonLinks.
func (s *Store) ReleaseDeviceStatus(ctx context.Context, enrollmentID string, reserved, prev time.Time) error {
	if _, err := s.DB.Exec(ctx, `UPDATE amazon_links SET status_at = ? WHERE enrollment_id = ? AND status_at = ?`,
		nanos(prev), enrollmentID, nanos(reserved)); err != nil {
		return fmt.Errorf("release device status claim: %w", err)
	}
	return nil
}
