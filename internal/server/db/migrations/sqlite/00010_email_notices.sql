-- Order emails. notify_settings holds an account's choice (no row: on,
-- to the account's own address). email_notices is the queue of order
-- emails: one row per order (the primary key is what makes a notice go
-- out once however many replicas queue it), claimed under a lease like the
-- dispatch outbox. used_links remembers the one-click links that were
-- used, until they would have expired anyway. link_keys holds the HMAC key
-- of the links when the configuration gives none, so that every replica
-- signs with the same key.
-- +goose Up
CREATE TABLE notify_settings (
    account_id TEXT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    email_off  INTEGER NOT NULL DEFAULT 0,
    email      TEXT NOT NULL DEFAULT '',
    updated_at BIGINT NOT NULL
);

CREATE TABLE email_notices (
    order_id        TEXT PRIMARY KEY REFERENCES orders (id),
    account_id      TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    next_attempt_at BIGINT,
    lease_until     BIGINT NOT NULL DEFAULT 0,
    attempts        INTEGER NOT NULL DEFAULT 0,
    sent_at         BIGINT,
    last_error      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX email_notices_due ON email_notices (next_attempt_at) WHERE next_attempt_at IS NOT NULL;
CREATE INDEX orders_created ON orders (created_at);

CREATE TABLE used_links (
    id         TEXT PRIMARY KEY,
    order_id   TEXT NOT NULL,
    used_at    BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX used_links_expires ON used_links (expires_at);

CREATE TABLE link_keys (
    id         INTEGER PRIMARY KEY,
    secret     TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE link_keys;
DROP TABLE used_links;
DROP INDEX orders_created;
DROP TABLE email_notices;
DROP TABLE notify_settings;
