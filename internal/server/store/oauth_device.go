package store

import (
	"context"
	"fmt"
	"time"

	"github.com/arsctl/arsctl/internal/server/db"
)

// Device authorization states.
const (
	DevicePending  = "pending"
	DeviceApproved = "approved"
	DeviceDenied   = "denied"
	DeviceConsumed = "consumed"
)

// DeviceAuthorization is a device authorization request (RFC 8628).
type DeviceAuthorization struct {
	UserCode  string
	ClientID  string
	Scopes    []string
	State     string // DevicePending, DeviceApproved, DeviceDenied or DeviceConsumed
	AccountID string // set once approved
	AuthTime  time.Time
	// Interval is the current minimum time between two polls; each
	// slow_down answer adds 5 seconds to it.
	Interval  time.Duration
	CreatedAt time.Time
	ExpiresAt time.Time
}

// StoreDeviceAuthorization stores a new device authorization under the
// hash of its device code. It returns ErrUserCodeTaken when a live
// authorization holds the same user code; expired ones are purged first.
func (s *Store) StoreDeviceAuthorization(ctx context.Context, deviceCode string, d DeviceAuthorization) error {
	now := oaNanos(s.Now())
	return s.DB.InTx(ctx, func(tx *db.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM oauth_device_codes WHERE expires_at <= ?`, now); err != nil {
			return fmt.Errorf("purge device codes: %w", err)
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM oauth_device_codes WHERE user_code = ?`, d.UserCode).Scan(&n); err != nil {
			return fmt.Errorf("check user code: %w", err)
		}
		if n > 0 {
			return ErrUserCodeTaken
		}
		_, err := tx.Exec(ctx, `INSERT INTO oauth_device_codes (device_code_hash, user_code, client_id, scopes, state,
			interval_ns, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			TokenHash(deviceCode), d.UserCode, d.ClientID, joinList(d.Scopes), DevicePending,
			int64(d.Interval), now, oaNanos(d.ExpiresAt))
		if err != nil {
			return fmt.Errorf("store device authorization: %w", err)
		}
		return nil
	})
}

// CountLiveDeviceCodes counts the device codes not yet expired.
func (s *Store) CountLiveDeviceCodes(ctx context.Context) (int, error) {
	var n int
	if err := s.DB.QueryRow(ctx, `SELECT COUNT(*) FROM oauth_device_codes WHERE expires_at > ?`, oaNanos(s.Now())).Scan(&n); err != nil {
		return 0, fmt.Errorf("count device codes: %w", err)
	}
	return n, nil
}

const deviceCols = `user_code, client_id, scopes, state, account_id, auth_time, interval_ns, created_at, expires_at`

func scanDevice(row interface{ Scan(...any) error }) (DeviceAuthorization, error) {
	var d DeviceAuthorization
	var scopes string
	var authTime, interval, created, expires int64
	if err := row.Scan(&d.UserCode, &d.ClientID, &scopes, &d.State, &d.AccountID, &authTime, &interval, &created, &expires); err != nil {
		return DeviceAuthorization{}, err
	}
	d.Scopes = splitList(scopes)
	d.AuthTime, d.CreatedAt, d.ExpiresAt = oaTime(authTime), oaTime(created), oaTime(expires)
	d.Interval = time.Duration(interval)
	return d, nil
}

// GetDeviceAuthorization returns the device authorization of a device
// code (expired ones included, so that the caller can answer
// expired_token), or ErrNotFound.
func (s *Store) GetDeviceAuthorization(ctx context.Context, deviceCode string) (DeviceAuthorization, error) {
	d, err := scanDevice(s.DB.QueryRow(ctx, `SELECT `+deviceCols+` FROM oauth_device_codes WHERE device_code_hash = ?`, TokenHash(deviceCode)))
	if err != nil {
		return DeviceAuthorization{}, readErr(err, "read device authorization")
	}
	return d, nil
}

// DeviceByUserCode returns the live (unexpired) device authorization of a
// user code, or ErrNotFound.
func (s *Store) DeviceByUserCode(ctx context.Context, userCode string) (DeviceAuthorization, error) {
	d, err := scanDevice(s.DB.QueryRow(ctx, `SELECT `+deviceCols+` FROM oauth_device_codes WHERE user_code = ? AND expires_at > ?`,
		userCode, oaNanos(s.Now())))
	if err != nil {
		return DeviceAuthorization{}, readErr(err, "read device authorization")
	}
	return d, nil
}

// DecideDevice approves (for accountID) or denies a pending, live device
// authorization. It returns ErrDeviceDecided when the code is no longer
// pending, and ErrNotFound when no live authorization has this user code.
func (s *Store) DecideDevice(ctx context.Context, userCode, accountID string, approve bool) error {
	now := oaNanos(s.Now())
	state := DeviceDenied
	if approve {
		state = DeviceApproved
	}
	res, err := s.DB.Exec(ctx, `UPDATE oauth_device_codes SET state = ?, account_id = ?, auth_time = ?
		WHERE user_code = ? AND state = ? AND expires_at > ?`, state, accountID, now, userCode, DevicePending, now)
	if err != nil {
		return fmt.Errorf("decide device authorization: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := s.DeviceByUserCode(ctx, userCode); err != nil {
			return err
		}
		return ErrDeviceDecided
	}
	return nil
}

// ConsumeDevice moves an approved device authorization to consumed, so
// that its device code yields tokens exactly once. It returns
// ErrTokenReused when the code was already consumed.
func (s *Store) ConsumeDevice(ctx context.Context, deviceCode string) error {
	res, err := s.DB.Exec(ctx, `UPDATE oauth_device_codes SET state = ? WHERE device_code_hash = ? AND state = ?`,
		DeviceConsumed, TokenHash(deviceCode), DeviceApproved)
	if err != nil {
		return fmt.Errorf("consume device code: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrTokenReused
	}
	return nil
}

// PollDevice records a token request polling a device code. When the
// previous poll was less than the current interval ago, it adds 5 seconds
// to the interval and reports slowDown (RFC 8628, section 3.5). A fifth of
// the interval is forgiven, since network delays vary from poll to poll.
// It returns ErrNotFound for an unknown device code.
func (s *Store) PollDevice(ctx context.Context, deviceCode string) (slowDown bool, interval time.Duration, err error) {
	h := TokenHash(deviceCode)
	now := oaNanos(s.Now())
	err = s.DB.InTx(ctx, func(tx *db.Tx) error {
		res, err := tx.Exec(ctx, `UPDATE oauth_device_codes SET last_poll_at = ?
			WHERE device_code_hash = ? AND (last_poll_at = 0 OR last_poll_at + interval_ns * 4 / 5 <= ?)`, now, h, now)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			res, err := tx.Exec(ctx, `UPDATE oauth_device_codes SET last_poll_at = ?, interval_ns = interval_ns + ?
				WHERE device_code_hash = ?`, now, int64(5*time.Second), h)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return ErrNotFound
			}
			slowDown = true
		}
		var iv int64
		if err := tx.QueryRow(ctx, `SELECT interval_ns FROM oauth_device_codes WHERE device_code_hash = ?`, h).Scan(&iv); err != nil {
			return err
		}
		interval = time.Duration(iv)
		return nil
	})
	if err != nil {
		return false, 0, fmt.Errorf("poll device code: %w", err)
	}
	return slowDown, interval, nil
}
