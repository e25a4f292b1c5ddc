-- Order states live in a table of their own, referenced by orders.state,
-- so that a new state is one INSERT (no table rebuild), and two states
-- are added: unfulfilled (no fulfiller took the order; it waits in the
-- owner's order inbox) and bought (the owner bought the ink and said so).
-- Orders that went nowhere before ("placed" with fulfilment "none" and out
-- of the dispatch outbox) become unfulfilled inbox orders.
--
-- SQLite cannot change a CHECK constraint: orders is rebuilt, and
-- order_events with it so that its foreign key follows the new table.
-- +goose Up
CREATE TABLE order_states (name TEXT PRIMARY KEY);
INSERT INTO order_states (name) VALUES
    ('placed'), ('unfulfilled'), ('in_progress'), ('shipped'), ('bought'), ('cancelled'), ('failed');

CREATE TABLE orders_new (
    id              TEXT PRIMARY KEY,
    enrollment_id   TEXT NOT NULL REFERENCES enrollments (id),
    account_id      TEXT NOT NULL,
    supply          TEXT NOT NULL,
    supply_type     TEXT NOT NULL DEFAULT '',
    color           TEXT NOT NULL DEFAULT '',
    cycle           INTEGER NOT NULL,
    level_at_order  INTEGER NOT NULL,
    state           TEXT NOT NULL REFERENCES order_states (name),
    fulfilment      TEXT NOT NULL DEFAULT 'none',
    external_id     TEXT NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    next_attempt_at INTEGER,
    lease_until     INTEGER NOT NULL DEFAULT 0,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    UNIQUE (enrollment_id, supply, cycle)
);
INSERT INTO orders_new SELECT id, enrollment_id, account_id, supply, supply_type, color, cycle, level_at_order,
    state, fulfilment, external_id, created_at, updated_at, next_attempt_at, lease_until, attempts, last_error FROM orders;
CREATE TABLE order_events_new (
    id       INTEGER PRIMARY KEY,
    order_id TEXT NOT NULL REFERENCES orders_new (id),
    at       INTEGER NOT NULL,
    state    TEXT NOT NULL,
    detail   TEXT NOT NULL DEFAULT ''
);
INSERT INTO order_events_new SELECT id, order_id, at, state, detail FROM order_events;
DROP TABLE order_events;
DROP TABLE orders;
ALTER TABLE orders_new RENAME TO orders;
ALTER TABLE order_events_new RENAME TO order_events;
CREATE INDEX orders_enrollment ON orders (enrollment_id, created_at, id);
CREATE INDEX orders_outbox ON orders (next_attempt_at) WHERE next_attempt_at IS NOT NULL;
CREATE INDEX orders_account ON orders (account_id, state, created_at, id);
CREATE INDEX order_events_order ON order_events (order_id, id);

INSERT INTO order_events (order_id, at, state, detail)
    SELECT id, updated_at, 'unfulfilled', 'no fulfiller took this order: it waits in the order inbox'
    FROM orders WHERE state = 'placed' AND fulfilment = 'none' AND next_attempt_at IS NULL;
UPDATE orders SET state = 'unfulfilled', fulfilment = 'inbox'
    WHERE state = 'placed' AND fulfilment = 'none' AND next_attempt_at IS NULL;

-- +goose Down
UPDATE orders SET state = 'placed', fulfilment = 'none' WHERE state IN ('unfulfilled', 'bought');
DELETE FROM order_events WHERE state IN ('unfulfilled', 'bought');
CREATE TABLE orders_old (
    id              TEXT PRIMARY KEY,
    enrollment_id   TEXT NOT NULL REFERENCES enrollments (id),
    account_id      TEXT NOT NULL,
    supply          TEXT NOT NULL,
    supply_type     TEXT NOT NULL DEFAULT '',
    color           TEXT NOT NULL DEFAULT '',
    cycle           INTEGER NOT NULL,
    level_at_order  INTEGER NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('placed', 'in_progress', 'shipped', 'cancelled', 'failed')),
    fulfilment      TEXT NOT NULL DEFAULT 'none',
    external_id     TEXT NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    next_attempt_at INTEGER,
    lease_until     INTEGER NOT NULL DEFAULT 0,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    UNIQUE (enrollment_id, supply, cycle)
);
INSERT INTO orders_old SELECT id, enrollment_id, account_id, supply, supply_type, color, cycle, level_at_order,
    state, fulfilment, external_id, created_at, updated_at, next_attempt_at, lease_until, attempts, last_error FROM orders;
CREATE TABLE order_events_old (
    id       INTEGER PRIMARY KEY,
    order_id TEXT NOT NULL REFERENCES orders_old (id),
    at       INTEGER NOT NULL,
    state    TEXT NOT NULL,
    detail   TEXT NOT NULL DEFAULT ''
);
INSERT INTO order_events_old SELECT id, order_id, at, state, detail FROM order_events;
DROP TABLE order_events;
DROP TABLE orders;
ALTER TABLE orders_old RENAME TO orders;
ALTER TABLE order_events_old RENAME TO order_events;
CREATE INDEX orders_enrollment ON orders (enrollment_id, created_at, id);
CREATE INDEX orders_outbox ON orders (next_attempt_at) WHERE next_attempt_at IS NOT NULL;
CREATE INDEX order_events_order ON order_events (order_id, id);
DROP TABLE order_states;
