-- Amazon Dash Replenishment: sign-in states and the link of an enrollment
-- to its DRS registration. Tokens are stored encrypted (AES-GCM, sealed by
-- internal/server/amazon); times are unix nanoseconds.
-- +goose Up
CREATE TABLE amazon_states (
    state_hash    TEXT PRIMARY KEY,
    enrollment_id TEXT NOT NULL,
    account_id    TEXT NOT NULL,
    verifier      BYTEA NOT NULL,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    used_at       BIGINT
);
CREATE INDEX amazon_states_expires ON amazon_states (expires_at);

CREATE TABLE amazon_start_tokens (
    token_hash TEXT PRIMARY KEY,
    used_at    BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX amazon_start_tokens_expires ON amazon_start_tokens (expires_at);

CREATE TABLE amazon_links (
    enrollment_id     TEXT PRIMARY KEY,
    account_id        TEXT NOT NULL,
    device_model      TEXT NOT NULL,
    serial            TEXT NOT NULL,
    test_device       BOOLEAN NOT NULL,
    access_token      BYTEA NOT NULL,
    refresh_token     BYTEA NOT NULL,
    access_expires_at BIGINT NOT NULL,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
);
-- +goose Down
DROP TABLE amazon_links;
DROP TABLE amazon_start_tokens;
DROP TABLE amazon_states;
