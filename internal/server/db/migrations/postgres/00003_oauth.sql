-- +goose Up
-- Keys of the OAuth server, created on first start and shared by every
-- replica: "signing" (the JWT signing key, PKCS#8 DER), "crypto" (the
-- 32-byte AES key the OIDC library encrypts authorization codes with) and
-- "csrf" (the HMAC key of the device page's forms).
CREATE TABLE oauth_keys (
    slot       TEXT PRIMARY KEY,
    kid        TEXT NOT NULL UNIQUE,
    alg        TEXT NOT NULL,
    material   BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);

-- Authorization requests (authorization code flow). Only the SHA-256 of
-- the code is kept; family_id names the tokens issued for the code, which
-- are revoked if the code is presented again.
CREATE TABLE oauth_auth_requests (
    id                    TEXT PRIMARY KEY,
    client_id             TEXT NOT NULL,
    redirect_uri          TEXT NOT NULL,
    state                 TEXT NOT NULL DEFAULT '',
    nonce                 TEXT NOT NULL DEFAULT '',
    scopes                TEXT NOT NULL DEFAULT '',
    response_type         TEXT NOT NULL,
    response_mode         TEXT NOT NULL DEFAULT '',
    code_challenge        TEXT NOT NULL DEFAULT '',
    code_challenge_method TEXT NOT NULL DEFAULT '',
    account_id            TEXT NOT NULL DEFAULT '',
    auth_time             BIGINT NOT NULL DEFAULT 0,
    done                  BIGINT NOT NULL DEFAULT 0,
    code_hash             TEXT UNIQUE,
    code_used             BIGINT NOT NULL DEFAULT 0,
    family_id             TEXT NOT NULL DEFAULT '',
    created_at            BIGINT NOT NULL,
    expires_at            BIGINT NOT NULL
);
CREATE INDEX oauth_auth_requests_expires ON oauth_auth_requests (expires_at);

-- Device authorizations (RFC 8628). Only the SHA-256 of the device code
-- is kept; the user code is short-lived and typed by a person.
CREATE TABLE oauth_device_codes (
    device_code_hash TEXT PRIMARY KEY,
    user_code        TEXT NOT NULL UNIQUE,
    client_id        TEXT NOT NULL,
    scopes           TEXT NOT NULL DEFAULT '',
    state            TEXT NOT NULL DEFAULT 'pending',
    account_id       TEXT NOT NULL DEFAULT '',
    auth_time        BIGINT NOT NULL DEFAULT 0,
    interval_ns      BIGINT NOT NULL,
    last_poll_at     BIGINT NOT NULL DEFAULT 0,
    created_at       BIGINT NOT NULL,
    expires_at       BIGINT NOT NULL
);
CREATE INDEX oauth_device_codes_expires ON oauth_device_codes (expires_at);

-- Refresh tokens: one row per issued token, SHA-256 only. A token is
-- used once (rotation); every token descending from one sign-in shares
-- family_id, so the reuse of a rotated token revokes the whole family.
CREATE TABLE oauth_refresh_tokens (
    id         TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    family_id  TEXT NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    client_id  TEXT NOT NULL,
    scopes     TEXT NOT NULL DEFAULT '',
    audience   TEXT NOT NULL DEFAULT '',
    amr        TEXT NOT NULL DEFAULT '',
    auth_time  BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT NOT NULL DEFAULT 0,
    revoked_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX oauth_refresh_tokens_family ON oauth_refresh_tokens (family_id);
CREATE INDEX oauth_refresh_tokens_expires ON oauth_refresh_tokens (expires_at);

-- Access tokens are signed JWTs; their ID (jti) is kept so that they can
-- be revoked before they expire.
CREATE TABLE oauth_access_tokens (
    id         TEXT PRIMARY KEY,
    family_id  TEXT NOT NULL DEFAULT '',
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    client_id  TEXT NOT NULL,
    scopes     TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX oauth_access_tokens_family ON oauth_access_tokens (family_id);
CREATE INDEX oauth_access_tokens_expires ON oauth_access_tokens (expires_at);

-- Named API tokens for scripts and CI (ARS_TOKEN), SHA-256 only.
CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    hint         TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL DEFAULT 0,
    last_used_at BIGINT NOT NULL DEFAULT 0,
    revoked_at   BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX api_tokens_account ON api_tokens (account_id);

-- +goose Down
DROP TABLE api_tokens;
DROP TABLE oauth_access_tokens;
DROP TABLE oauth_refresh_tokens;
DROP TABLE oauth_device_codes;
DROP TABLE oauth_auth_requests;
DROP TABLE oauth_keys;
