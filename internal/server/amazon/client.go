package amazon

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/arsctl/arsctl/internal/server/fulfil"
	"github.com/arsctl/arsctl/internal/server/store"
)

// DRS versioned media types. Each DRS endpoint page ("Replenish
// Endpoint", "DeviceStatus Endpoint", "Deregistration Endpoint") requires
// both headers on every call.
const (
	replenishInput     = "com.amazon.dash.replenishment.DrsReplenishInput@1.0"
	replenishResult    = "com.amazon.dash.replenishment.DrsReplenishResult@1.0"
	deviceStatusInput  = "com.amazon.dash.replenishment.DrsDeviceStatusInput@1.0"
	deviceStatusResult = "com.amazon.dash.replenishment.DrsDeviceStatusResult@1.0"
	deregisterInput    = "com.amazon.dash.replenishment.DrsDeregisterInput@2.0"
	deregisterResult   = "com.amazon.dash.replenishment.DrsDeregisterResult@1.0"
)

// Replenish detail codes ("Replenish Endpoint", response example details).
const (
	DetailStandardOrderPlaced = "STANDARD_ORDER_PLACED"
	DetailTestOrderPlaced     = "TEST_ORDER_PLACED"
	DetailOrderInProgress     = "ORDER_INPROGRESS"
)

// tokens is the answer of the LWA token endpoint ("Authorization Code
// Grant", access token response): access_token, refresh_token,
// token_type "bearer", expires_in seconds.
type tokens struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
}

// LWAError is an error answer of the LWA token endpoint: the OAuth 2.0
// {"error","error_description"} body.
type LWAError struct {
	Status      int
	Code        string
	Description string
}

func (e *LWAError) Error() string {
	if e.Description != "" {
		return fmt.Sprintf("login with amazon: %s (%s)", e.Code, e.Description)
	}
	return fmt.Sprintf("login with amazon: %s (HTTP %d)", e.Code, e.Status)
}

// tokenRequest posts a form to the LWA token endpoint. Network failures
// and 5xx are returned as plain (retryable) errors; OAuth errors as
// *LWAError. Token values never enter error texts.
func (s *Service) tokenRequest(ctx context.Context, form url.Values) (tokens, error) {
	form.Set("client_id", s.cfg.ClientID)
	form.Set("client_secret", s.cfg.ClientSecret)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.TokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return tokens{}, fmt.Errorf("login with amazon: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded;charset=UTF-8")
	req.Header.Set("Accept", "application/json")
	resp, err := s.cfg.HTTPClient.Do(req)
	if err != nil {
		return tokens{}, fmt.Errorf("login with amazon: token endpoint unreachable: %w", redactURLError(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return tokens{}, fmt.Errorf("login with amazon: read token answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		if json.Unmarshal(body, &e) == nil && e.Error != "" && resp.StatusCode < 500 {
			return tokens{}, &LWAError{Status: resp.StatusCode, Code: e.Error, Description: e.Description}
		}
		return tokens{}, fmt.Errorf("login with amazon: token endpoint answered HTTP %d", resp.StatusCode)
	}
	var t tokens
	if err := json.Unmarshal(body, &t); err != nil || t.AccessToken == "" {
		return tokens{}, errors.New("login with amazon: token endpoint answer has no access_token")
	}
	if t.ExpiresIn <= 0 {
		t.ExpiresIn = 3600
	}
	return t, nil
}

// redactURLError drops the URL from a *url.Error: it carries no secret
// for our requests, but keeping errors short keeps logs tidy.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s %s: %w", ue.Op, hostOf(ue.URL), ue.Err)
	}
	return err
}

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "?"
	}
	return u.Host
}

// drsResponse is a DRS answer.
type drsResponse struct {
	Status int
	Body   []byte
}

// message returns the "message" member of a DRS error body.
func (r drsResponse) message() string {
	var m struct {
		Message string `json:"message"`
	}
	b := r.Body
	if json.Unmarshal(r.Body, &m) == nil && m.Message != "" {
		b = []byte(m.Message)
	}
	return strings.TrimSpace(string(bytes.ToValidUTF8(b[:min(len(b), 200)], nil)))
}

// invalidToken reports whether DRS refused the access token: 400 with
// {"message":"Invalid token"} (the DRS pages' "client error, e.g. bad
// token"), or 401.
func (r drsResponse) invalidToken() bool {
	if r.Status == http.StatusUnauthorized {
		return true
	}
	return r.Status == http.StatusBadRequest && strings.Contains(strings.ToLower(r.message()), "token")
}

func (s *Service) drsCall(ctx context.Context, method, path, typeVersion, acceptType, accessToken string, body any) (drsResponse, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return drsResponse{}, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.cfg.DRSBaseURL+path, rd)
	if err != nil {
		return drsResponse{}, fmt.Errorf("dash replenishment: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	req.Header.Set("x-amzn-type-version", typeVersion)
	req.Header.Set("x-amzn-accept-type", acceptType)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.cfg.HTTPClient.Do(req)
	if err != nil {
		return drsResponse{}, fmt.Errorf("dash replenishment %s %s: %w", method, path, redactURLError(err))
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return drsResponse{}, fmt.Errorf("dash replenishment %s %s: read answer: %w", method, path, err)
	}
	return drsResponse{Status: resp.StatusCode, Body: b}, nil
}

// errRevoked is wrapped when Amazon refuses the refresh token: the
// customer removed the device from their account, or it was deregistered.
var errRevoked = errors.New("amazon authorization was revoked; sign in with Amazon again")

// withToken runs call with the enrollment's access token, refreshing it
// first when it is known to be expired, and once more (then retrying once)
// when DRS refuses it as invalid or expired.
func (s *Service) withToken(ctx context.Context, enrollmentID string, call func(token string) (drsResponse, error)) (drsResponse, error) {
	link, err := s.st.GetAmazonLink(ctx, enrollmentID)
	if errors.Is(err, store.ErrNotFound) {
		return drsResponse{}, fmt.Errorf("enrollment %s is %w (sign-in with Amazon not completed): %w", enrollmentID, ErrNotLinked, fulfil.ErrPermanent)
	}
	if err != nil {
		return drsResponse{}, err
	}
	access, err := s.seal.open(link.AccessToken, adAccess(enrollmentID))
	if err != nil {
		return drsResponse{}, fmt.Errorf("enrollment %s: access token: %w: %w", enrollmentID, err, fulfil.ErrPermanent)
	}
	refreshed := false
	if !s.cfg.Now().Before(link.AccessExpiresAt.Add(-time.Minute)) {
		if access, err = s.refresh(ctx, link); err != nil {
			return drsResponse{}, err
		}
		refreshed = true
	}
	resp, err := call(access)
	if err == nil && resp.invalidToken() && !refreshed {
		if access, err = s.refresh(ctx, link); err != nil {
			return drsResponse{}, err
		}
		resp, err = call(access)
	}
	if err == nil && resp.invalidToken() {
		// A freshly issued token refused: the registration is gone.
		return resp, fmt.Errorf("dash replenishment refused a fresh access token (%s): %w: %w", resp.message(), errRevoked, fulfil.ErrPermanent)
	}
	return resp, err
}

// refresh trades the refresh token for a new access token and stores both
// (sealed). Concurrent refreshes of one enrollment share one request.
func (s *Service) refresh(ctx context.Context, link store.AmazonLink) (string, error) {
	v, err, _ := s.flight.Do(link.EnrollmentID, func() (any, error) {
		rt, err := s.seal.open(link.RefreshToken, adRefresh(link.EnrollmentID))
		if err != nil {
			return "", fmt.Errorf("enrollment %s: refresh token: %w: %w", link.EnrollmentID, err, fulfil.ErrPermanent)
		}
		t, err := s.tokenRequest(ctx, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
		var le *LWAError
		if errors.As(err, &le) && (le.Code == "invalid_grant" || le.Code == "unauthorized_client" || le.Code == "invalid_client") {
			return "", fmt.Errorf("%w: %w: %w", errRevoked, err, fulfil.ErrPermanent)
		}
		if err != nil {
			return "", err
		}
		if t.RefreshToken != "" {
			rt = t.RefreshToken
		}
		exp := s.cfg.Now().Add(time.Duration(t.ExpiresIn) * time.Second)
		if err := s.st.UpdateAmazonTokens(ctx, link.EnrollmentID, s.seal.seal(t.AccessToken, adAccess(link.EnrollmentID)),
			s.seal.seal(rt, adRefresh(link.EnrollmentID)), exp); err != nil {
			return "", fmt.Errorf("store refreshed amazon tokens: %w", err)
		}
		s.log.InfoContext(ctx, "amazon access token refreshed", "enrollment", link.EnrollmentID)
		return t.AccessToken, nil
	})
	if err != nil {
		return "", err
	}
	return v.(string), nil
}

func adAccess(enrollmentID string) string  { return "access|" + enrollmentID }
func adRefresh(enrollmentID string) string { return "refresh|" + enrollmentID }
func adVerifier(stateHash string) string   { return "verifier|" + stateHash }
