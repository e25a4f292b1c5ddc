package oauth

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"slices"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/arsctl/arsctl/internal/server/store"
	"github.com/arsctl/arsctl/pkg/arsapi"
)

// storage implements op.Storage (and op.DeviceAuthorizationStorage) on
// arsd's database. Nothing is kept in memory except the keys, which are
// the same in every replica.
type storage struct {
	st     *store.Store
	cfg    Config
	signer *signingKey
}

var (
	_ op.Storage                    = (*storage)(nil)
	_ op.DeviceAuthorizationStorage = (*storage)(nil)
	_ op.CanSetUserinfoFromRequest  = (*storage)(nil)
)

// errUnknownClient is a plain error: the library answers invalid_client.
var errUnknownClient = errors.New("unknown client")

// authRequest adapts a stored authorization request to op.AuthRequest.
type authRequest struct{ store.AuthRequest }

func (a *authRequest) GetID() string    { return a.ID }
func (a *authRequest) GetACR() string   { return "" }
func (a *authRequest) GetAMR() []string { return amrFor(a.AuthRequest.Done) }
func (a *authRequest) GetAudience() []string {
	return []string{a.ClientID}
}
func (a *authRequest) GetAuthTime() time.Time { return a.AuthTime }
func (a *authRequest) GetClientID() string    { return a.ClientID }
func (a *authRequest) GetCodeChallenge() *oidc.CodeChallenge {
	if a.CodeChallenge == "" {
		return nil
	}
	return &oidc.CodeChallenge{Challenge: a.CodeChallenge, Method: oidc.CodeChallengeMethod(a.CodeChallengeMethod)}
}
func (a *authRequest) GetNonce() string                   { return a.Nonce }
func (a *authRequest) GetRedirectURI() string             { return a.RedirectURI }
func (a *authRequest) GetResponseType() oidc.ResponseType { return oidc.ResponseType(a.ResponseType) }
func (a *authRequest) GetResponseMode() oidc.ResponseMode { return oidc.ResponseMode(a.ResponseMode) }
func (a *authRequest) GetScopes() []string                { return a.Scopes }
func (a *authRequest) GetState() string                   { return a.State }
func (a *authRequest) GetSubject() string                 { return a.AccountID }
func (a *authRequest) Done() bool                         { return a.AuthRequest.Done }

func amrFor(done bool) []string {
	if done {
		return []string{"pwd"}
	}
	return nil
}

// refreshRequest adapts a stored refresh token to op.RefreshTokenRequest.
type refreshRequest struct {
	store.RefreshToken
	scopes []string
}

func (r *refreshRequest) GetAMR() []string             { return r.Grant.AMR }
func (r *refreshRequest) GetAudience() []string        { return r.Grant.Audience }
func (r *refreshRequest) GetAuthTime() time.Time       { return r.Grant.AuthTime }
func (r *refreshRequest) GetClientID() string          { return r.Grant.ClientID }
func (r *refreshRequest) GetScopes() []string          { return r.scopes }
func (r *refreshRequest) GetSubject() string           { return r.Grant.AccountID }
func (r *refreshRequest) SetCurrentScopes(sc []string) { r.scopes = sc }

// CreateAuthRequest stores a validated authorization request. Public
// clients must use PKCE with S256; prompt=none cannot be honoured (there
// is no silent sign-in).
func (s *storage) CreateAuthRequest(ctx context.Context, req *oidc.AuthRequest, _ string) (op.AuthRequest, error) {
	if slices.Contains(req.Prompt, oidc.PromptNone) {
		return nil, oidc.ErrLoginRequired()
	}
	if req.CodeChallenge == "" || req.CodeChallengeMethod != oidc.CodeChallengeMethodS256 {
		return nil, oidc.ErrInvalidRequest().WithDescription("PKCE is required: send code_challenge with code_challenge_method=S256")
	}
	id, err := uuid.NewV7()
	if err != nil {
		return nil, err
	}
	now := s.st.Now()
	a := store.AuthRequest{
		ID: id.String(), ClientID: req.ClientID, RedirectURI: req.RedirectURI, State: req.State, Nonce: req.Nonce,
		Scopes: req.Scopes, ResponseType: string(req.ResponseType), ResponseMode: string(req.ResponseMode),
		CodeChallenge: req.CodeChallenge, CodeChallengeMethod: string(req.CodeChallengeMethod),
		CreatedAt: now, ExpiresAt: now.Add(s.cfg.AuthRequestTTL),
	}
	if err := s.st.CreateAuthRequest(ctx, a); err != nil {
		return nil, err
	}
	return &authRequest{a}, nil
}

func (s *storage) AuthRequestByID(ctx context.Context, id string) (op.AuthRequest, error) {
	a, err := s.st.GetAuthRequest(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("auth request: %w", err)
	}
	return &authRequest{a}, nil
}

// AuthRequestByCode claims a code: it works once.
func (s *storage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	a, err := s.st.ClaimAuthCode(ctx, code)
	if err != nil {
		return nil, err
	}
	return &authRequest{a}, nil
}

func (s *storage) SaveAuthCode(ctx context.Context, id, code string) error {
	return s.st.SaveAuthCode(ctx, id, code, s.cfg.AuthCodeTTL)
}

func (s *storage) DeleteAuthRequest(ctx context.Context, id string) error {
	return s.st.DeleteAuthRequest(ctx, id)
}

// grantOf extracts who and what a token is for from the library's
// request types.
func grantOf(req op.TokenRequest) (store.TokenGrant, error) {
	switch r := req.(type) {
	case *authRequest:
		return store.TokenGrant{AccountID: r.AccountID, ClientID: r.ClientID, Scopes: r.Scopes,
			Audience: r.GetAudience(), AMR: r.GetAMR(), AuthTime: r.AuthTime}, nil
	case *refreshRequest:
		g := r.Grant
		g.Scopes = r.scopes
		return g, nil
	case *op.DeviceAuthorizationState:
		return store.TokenGrant{AccountID: r.Subject, ClientID: r.ClientID, Scopes: r.Scopes,
			Audience: r.GetAudience(), AMR: r.AMR, AuthTime: r.AuthTime}, nil
	default:
		return store.TokenGrant{}, fmt.Errorf("unsupported token request %T", req)
	}
}

func (s *storage) CreateAccessToken(ctx context.Context, req op.TokenRequest) (string, time.Time, error) {
	g, err := grantOf(req)
	if err != nil {
		return "", time.Time{}, err
	}
	t, err := s.st.IssueAccessToken(ctx, g, s.cfg.AccessTokenTTL)
	if err != nil {
		return "", time.Time{}, err
	}
	if err := s.noteFamily(ctx, req, t.FamilyID); err != nil {
		return "", time.Time{}, err
	}
	return t.AccessID, t.AccessExpires, nil
}

// CreateAccessAndRefreshTokens issues tokens; with a current refresh
// token it rotates it (a reused one revokes its family).
func (s *storage) CreateAccessAndRefreshTokens(ctx context.Context, req op.TokenRequest, current string) (string, string, time.Time, error) {
	g, err := grantOf(req)
	if err != nil {
		return "", "", time.Time{}, err
	}
	var t store.IssuedToken
	if current == "" {
		t, err = s.st.IssueTokens(ctx, g, s.cfg.AccessTokenTTL, s.cfg.RefreshTokenTTL)
	} else {
		t, err = s.st.RotateRefreshToken(ctx, current, g, s.cfg.AccessTokenTTL, s.cfg.RefreshTokenTTL)
		if err != nil {
			return "", "", time.Time{}, oidc.ErrInvalidGrant().WithDescription("the refresh token is no longer valid; sign in again").WithParent(err)
		}
	}
	if err != nil {
		return "", "", time.Time{}, err
	}
	if err := s.noteFamily(ctx, req, t.FamilyID); err != nil {
		return "", "", time.Time{}, err
	}
	return t.AccessID, t.RefreshToken, t.AccessExpires, nil
}

// noteFamily links the tokens issued for an authorization code to its
// request, so that a replayed code revokes them.
func (s *storage) noteFamily(ctx context.Context, req op.TokenRequest, familyID string) error {
	if a, ok := req.(*authRequest); ok {
		return s.st.SetAuthRequestFamily(ctx, a.ID, familyID)
	}
	return nil
}

func (s *storage) TokenRequestByRefreshToken(ctx context.Context, token string) (op.RefreshTokenRequest, error) {
	rt, err := s.st.GetRefreshToken(ctx, token)
	if err != nil {
		return nil, err
	}
	return &refreshRequest{RefreshToken: rt, scopes: rt.Grant.Scopes}, nil
}

func (s *storage) TerminateSession(ctx context.Context, userID, clientID string) error {
	return s.st.RevokeClientTokens(ctx, userID, clientID)
}

// RevokeToken revokes an access token (by ID) or a refresh token (by ID
// or value); revoking a refresh token revokes its whole sign-in. Unknown
// tokens are ignored, as RFC 7009 asks.
func (s *storage) RevokeToken(ctx context.Context, tokenOrID, _ string, clientID string) *oidc.Error {
	if at, err := s.st.GetAccessToken(ctx, tokenOrID); err == nil {
		if at.ClientID != clientID {
			return oidc.ErrInvalidClient().WithDescription("token was not issued to this client")
		}
		if err := s.st.RevokeAccessToken(ctx, at.ID); err != nil {
			return oidc.ErrServerError().WithParent(err)
		}
		return nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return oidc.ErrServerError().WithParent(err)
	}
	_, client, family, err := s.st.RefreshTokenByID(ctx, tokenOrID)
	if errors.Is(err, store.ErrNotFound) {
		_, _, client, family, err = s.st.RefreshTokenInfo(ctx, tokenOrID)
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return oidc.ErrServerError().WithParent(err)
	}
	if client != clientID {
		return oidc.ErrInvalidClient().WithDescription("token was not issued to this client")
	}
	if err := s.st.RevokeFamily(ctx, family); err != nil {
		return oidc.ErrServerError().WithParent(err)
	}
	return nil
}

func (s *storage) GetRefreshTokenInfo(ctx context.Context, clientID, token string) (string, string, error) {
	id, account, client, _, err := s.st.RefreshTokenInfo(ctx, token)
	if errors.Is(err, store.ErrNotFound) || (err == nil && client != clientID) {
		return "", "", op.ErrInvalidRefreshToken
	}
	if err != nil {
		return "", "", err
	}
	return account, id, nil
}

func (s *storage) SigningKey(context.Context) (op.SigningKey, error) { return s.signer, nil }

func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{s.signer.alg}, nil
}

func (s *storage) KeySet(context.Context) ([]op.Key, error) {
	return []op.Key{&publicKey{s.signer}}, nil
}

func (s *storage) GetClientByClientID(_ context.Context, clientID string) (op.Client, error) {
	if clientID == arsapi.CLIClientID {
		return cliClient{}, nil
	}
	return nil, errUnknownClient
}

func (s *storage) AuthorizeClientIDSecret(context.Context, string, string) error {
	return errUnknownClient
}

func (s *storage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}

func (s *storage) SetUserinfoFromRequest(ctx context.Context, ui *oidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	return s.setUserinfo(ctx, ui, req.GetSubject(), scopes)
}

func (s *storage) setUserinfo(ctx context.Context, ui *oidc.UserInfo, accountID string, scopes []string) error {
	ui.Subject = accountID
	if !slices.Contains(scopes, oidc.ScopeEmail) && !slices.Contains(scopes, oidc.ScopeProfile) {
		return nil
	}
	a, err := s.st.GetAccount(ctx, accountID)
	if err != nil {
		return err
	}
	if slices.Contains(scopes, oidc.ScopeEmail) {
		ui.Email = a.Email
	}
	if slices.Contains(scopes, oidc.ScopeProfile) {
		ui.Name = a.Name
	}
	return nil
}

func (s *storage) SetUserinfoFromToken(ctx context.Context, ui *oidc.UserInfo, tokenID, subject, _ string) error {
	at, err := s.st.CheckAccessToken(ctx, tokenID)
	if err != nil {
		return err
	}
	if at.AccountID != subject {
		return errors.New("token subject does not match")
	}
	return s.setUserinfo(ctx, ui, at.AccountID, at.Scopes)
}

func (s *storage) SetIntrospectionFromToken(ctx context.Context, resp *oidc.IntrospectionResponse, tokenID, subject, _ string) error {
	at, err := s.st.CheckAccessToken(ctx, tokenID)
	if err != nil {
		return err
	}
	if at.AccountID != subject {
		return errors.New("token subject does not match")
	}
	resp.Subject = at.AccountID
	resp.ClientID = at.ClientID
	resp.Scope = at.Scopes
	resp.Expiration = oidc.FromTime(at.ExpiresAt)
	return nil
}

func (s *storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

func (s *storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errors.New("JWT profile client authentication is not supported")
}

func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errors.New("the JWT profile grant is not supported")
}

func (s *storage) Health(ctx context.Context) error { return s.st.DB.PingContext(ctx) }

// StoreDeviceAuthorization stores a device authorization. Unsupported
// scopes are dropped. The library computes expires on the wall clock;
// it is kept relative to the store's clock.
func (s *storage) StoreDeviceAuthorization(ctx context.Context, clientID, deviceCode, userCode string, expires time.Time, scopes []string) error {
	if clientID != arsapi.CLIClientID {
		return errUnknownClient
	}
	scopes = slices.DeleteFunc(slices.Clone(scopes), func(sc string) bool { return !slices.Contains(supportedScopes, sc) })
	err := s.st.StoreDeviceAuthorization(ctx, deviceCode, store.DeviceAuthorization{
		UserCode: userCode, ClientID: clientID, Scopes: scopes, Interval: s.cfg.DevicePollInterval,
		ExpiresAt: s.st.Now().Add(time.Until(expires)),
	})
	if errors.Is(err, store.ErrUserCodeTaken) {
		return op.ErrDuplicateUserCode
	}
	return err
}

// GetDeviceAuthorizatonState answers the token endpoint's poll. An
// approved authorization is consumed here, so that a device code yields
// tokens once.
func (s *storage) GetDeviceAuthorizatonState(ctx context.Context, clientID, deviceCode string) (*op.DeviceAuthorizationState, error) {
	d, err := s.st.GetDeviceAuthorization(ctx, deviceCode)
	if err != nil {
		return nil, err
	}
	if d.ClientID != clientID {
		return nil, errors.New("device code was issued to another client")
	}
	remaining := d.ExpiresAt.Sub(s.st.Now())
	state := &op.DeviceAuthorizationState{
		ClientID: d.ClientID,
		Scopes:   d.Scopes,
		Expires:  time.Now().Add(remaining),
	}
	switch {
	case d.State == store.DeviceDenied:
		state.Denied = true
	case d.State == store.DeviceConsumed:
		return nil, errors.New("device code was already used")
	case remaining <= 0:
		// expired, approved or not: the library answers expired_token
	case d.State == store.DeviceApproved:
		if err := s.st.ConsumeDevice(ctx, deviceCode); err != nil {
			return nil, err
		}
		state.Done = true
		state.Subject = d.AccountID
		state.AuthTime = d.AuthTime
		state.AMR = []string{"pwd"}
	}
	return state, nil
}

// signingKey is the JWT signing key, shared by all replicas.
type signingKey struct {
	id  string
	alg jose.SignatureAlgorithm
	key *ecdsa.PrivateKey
}

func (k *signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return k.alg }
func (k *signingKey) Key() any                                    { return k.key }
func (k *signingKey) ID() string                                  { return k.id }

type publicKey struct{ k *signingKey }

func (p *publicKey) ID() string                         { return p.k.id }
func (p *publicKey) Algorithm() jose.SignatureAlgorithm { return p.k.alg }
func (p *publicKey) Use() string                        { return "sig" }
func (p *publicKey) Key() any                           { return &p.k.key.PublicKey }
