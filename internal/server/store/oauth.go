package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/arsctl/arsctl/internal/server/db"
	"github.com/arsctl/arsctl/pkg/arsapi"
)

// Errors of the OAuth state.
var (
	// ErrTokenReused is returned when a refresh token or an authorization
	// code that was already used is presented again. The store has revoked
	// every token of the same sign-in (the token family) before returning.
	ErrTokenReused = errors.New("token was already used; its sign-in has been revoked")
	// ErrTokenRevoked is returned for a token that was revoked.
	ErrTokenRevoked = errors.New("token was revoked")
	// ErrTokenExpired is returned for a token past its expiry.
	ErrTokenExpired = errors.New("token has expired")
	// ErrUserCodeTaken is returned by StoreDeviceAuthorization when the user
	// code is held by another live device authorization.
	ErrUserCodeTaken = errors.New("user code already in use")
	// ErrDeviceDecided is returned by DecideDevice when the device
	// authorization was already approved, denied or has expired.
	ErrDeviceDecided = errors.New("this code was already used or has expired")
)

// Device authorization states.
const (
	DevicePending  = "pending"
	DeviceApproved = "approved"
	DeviceDenied   = "denied"
	DeviceConsumed = "consumed"
)

// TokenHash returns the hex SHA-256 of a token, code or secret: the only
// form in which the store keeps them.
func TokenHash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

func joinList(s []string) string { return strings.Join(s, " ") }

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Fields(s)
}

func oaNanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func oaTime(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// OAuthKey is a key of the OAuth server, persisted so that restarts and
// replicas share it.
type OAuthKey struct {
	Slot      string
	KID       string
	Alg       string
	Material  []byte
	CreatedAt time.Time
}

// EnsureOAuthKey returns the key stored in slot, creating it with gen
// when the slot is empty. Concurrent callers, in this process or in other
// replicas, all receive the same key: the first insert wins.
func (s *Store) EnsureOAuthKey(ctx context.Context, slot string, gen func() (kid, alg string, material []byte, err error)) (OAuthKey, error) {
	k, err := s.getOAuthKey(ctx, slot)
	if err == nil {
		return k, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return OAuthKey{}, err
	}
	kid, alg, material, err := gen()
	if err != nil {
		return OAuthKey{}, fmt.Errorf("generate %s key: %w", slot, err)
	}
	_, err = s.DB.Exec(ctx, `INSERT INTO oauth_keys (slot, kid, alg, material, created_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (slot) DO NOTHING`, slot, kid, alg, material, oaNanos(s.Now()))
	if err != nil {
		return OAuthKey{}, fmt.Errorf("store %s key: %w", slot, err)
	}
	return s.getOAuthKey(ctx, slot)
}

func (s *Store) getOAuthKey(ctx context.Context, slot string) (OAuthKey, error) {
	k := OAuthKey{Slot: slot}
	var created int64
	err := s.DB.QueryRow(ctx, `SELECT kid, alg, material, created_at FROM oauth_keys WHERE slot = ?`, slot).
		Scan(&k.KID, &k.Alg, &k.Material, &created)
	if err != nil {
		return OAuthKey{}, readErr(err, "read "+slot+" key")
	}
	k.CreatedAt = oaTime(created)
	return k, nil
}

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
		t.RefreshToken, err = s.insertRefresh(ctx, tx, g, fam, refreshTTL)
		return err
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

// PurgeOAuth deletes OAuth state that can no longer be used: expired
// authorization requests and device codes, and tokens that expired
// before olderThan.
func (s *Store) PurgeOAuth(ctx context.Context, olderThan time.Time) error {
	now := oaNanos(s.Now())
	old := oaNanos(olderThan)
	for _, q := range []struct {
		sql string
		arg int64
	}{
		{`DELETE FROM oauth_auth_requests WHERE expires_at <= ?`, now},
		{`DELETE FROM oauth_device_codes WHERE expires_at <= ?`, old},
		{`DELETE FROM oauth_access_tokens WHERE expires_at <= ?`, old},
		{`DELETE FROM oauth_refresh_tokens WHERE expires_at <= ?`, old},
	} {
		if _, err := s.DB.Exec(ctx, q.sql, q.arg); err != nil {
			return fmt.Errorf("purge oauth state: %w", err)
		}
	}
	return nil
}

// APITokenPrefix starts every API token, so that it is recognised (by
// arsd and by secret scanners) without a database lookup.
const APITokenPrefix = "ars_pat_"

// APIToken describes a named API token (without the token itself).
type APIToken struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Hint       string    `json:"hint"` // the last characters, to tell tokens apart
	CreatedAt  time.Time `json:"created_at"`
	ExpiresAt  time.Time `json:"expires_at,omitzero"`
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
	RevokedAt  time.Time `json:"revoked_at,omitzero"`
}

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
