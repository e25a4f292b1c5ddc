-- Core schema: enrollments, supply levels, orders with their dispatch
-- outbox, idempotency records. Times are BIGINT unix nanoseconds (UTC).

-- +goose Up
CREATE TABLE enrollments (
    id             TEXT PRIMARY KEY,
    account_id     TEXT NOT NULL,
    provider       TEXT NOT NULL CHECK (provider IN ('canon', 'amazon')),
    state          TEXT NOT NULL CHECK (state IN ('pending', 'active', 'paused', 'cancelled')),
    model          TEXT NOT NULL,
    serial         TEXT NOT NULL,
    -- serial_key is the serial as compared: trimmed and upper-cased.
    serial_key     TEXT NOT NULL,
    uuid           TEXT NOT NULL DEFAULT '',
    nickname       TEXT NOT NULL DEFAULT '',
    terms_version  TEXT NOT NULL,
    threshold      BIGINT NOT NULL CHECK (threshold BETWEEN 0 AND 100),
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    levels_read_at BIGINT,
    cancelled_at   BIGINT,
    cancel_reasons TEXT NOT NULL DEFAULT '[]', -- JSON array of reason IDs
    cancel_comment TEXT NOT NULL DEFAULT ''
);
-- A printer has at most one live enrollment.
CREATE UNIQUE INDEX enrollments_live_serial ON enrollments (serial_key)
    WHERE state IN ('pending', 'active', 'paused');
CREATE INDEX enrollments_account ON enrollments (account_id, created_at, id);

CREATE TABLE enrollment_events (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    enrollment_id TEXT NOT NULL REFERENCES enrollments (id),
    at            BIGINT NOT NULL,
    kind          TEXT NOT NULL,
    detail        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX enrollment_events_enrollment ON enrollment_events (enrollment_id, id);

-- Latest level of each supply, and its order guard: armed = 1 while no
-- order is open for the current cycle; cycle moves on when the supply is
-- seen replaced.
CREATE TABLE supply_levels (
    enrollment_id TEXT NOT NULL REFERENCES enrollments (id),
    supply        TEXT NOT NULL,
    pos           BIGINT NOT NULL,
    type          TEXT NOT NULL DEFAULT '',
    colors        TEXT NOT NULL DEFAULT '', -- comma-separated "#RRGGBB"
    color_name    TEXT NOT NULL DEFAULT '',
    level         BIGINT NOT NULL,
    low           BIGINT NOT NULL DEFAULT 0,
    high          BIGINT NOT NULL DEFAULT 0,
    read_at       BIGINT NOT NULL,
    armed         BIGINT NOT NULL DEFAULT 1 CHECK (armed IN (0, 1)),
    cycle         BIGINT NOT NULL DEFAULT 0,
    order_level   BIGINT,
    PRIMARY KEY (enrollment_id, supply)
);

CREATE TABLE orders (
    id              TEXT PRIMARY KEY,
    enrollment_id   TEXT NOT NULL REFERENCES enrollments (id),
    account_id      TEXT NOT NULL,
    supply          TEXT NOT NULL,
    supply_type     TEXT NOT NULL DEFAULT '',
    color           TEXT NOT NULL DEFAULT '',
    cycle           BIGINT NOT NULL,
    level_at_order  BIGINT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('placed', 'in_progress', 'shipped', 'cancelled', 'failed')),
    fulfilment      TEXT NOT NULL DEFAULT 'none',
    external_id     TEXT NOT NULL DEFAULT '',
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    -- Dispatch outbox: next_attempt_at is NULL once the order is handed
    -- over (or has failed for good); lease_until fences concurrent
    -- dispatchers.
    next_attempt_at BIGINT,
    lease_until     BIGINT NOT NULL DEFAULT 0,
    attempts        BIGINT NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    -- One order per supply per cycle: the database refuses a second.
    UNIQUE (enrollment_id, supply, cycle)
);
CREATE INDEX orders_enrollment ON orders (enrollment_id, created_at, id);
CREATE INDEX orders_outbox ON orders (next_attempt_at) WHERE next_attempt_at IS NOT NULL;

CREATE TABLE order_events (
    id       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id TEXT NOT NULL REFERENCES orders (id),
    at       BIGINT NOT NULL,
    state    TEXT NOT NULL,
    detail   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX order_events_order ON order_events (order_id, id);

CREATE TABLE idempotency_keys (
    account_id   TEXT NOT NULL,
    key          TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    status       BIGINT NOT NULL,
    body         BYTEA NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (account_id, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

-- +goose Down
DROP TABLE idempotency_keys;
DROP TABLE order_events;
DROP TABLE orders;
DROP TABLE supply_levels;
DROP TABLE enrollment_events;
DROP TABLE enrollments;
