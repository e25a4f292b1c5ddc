-- Order states live in a table of their own, referenced by orders.state,
-- so that a new state is one INSERT, and two states are added:
-- unfulfilled (no fulfiller took the order; it waits in the owner's order
-- inbox) and bought (the owner bought the ink and said so). Orders that
-- went nowhere before ("placed" with fulfilment "none" and out of the
-- dispatch outbox) become unfulfilled inbox orders.
-- +goose Up
CREATE TABLE order_states (name TEXT PRIMARY KEY);
INSERT INTO order_states (name) VALUES
    ('placed'), ('unfulfilled'), ('in_progress'), ('shipped'), ('bought'), ('cancelled'), ('failed');
ALTER TABLE orders DROP CONSTRAINT orders_state_check;
ALTER TABLE orders ADD CONSTRAINT orders_state_fkey FOREIGN KEY (state) REFERENCES order_states (name);
CREATE INDEX orders_account ON orders (account_id, state, created_at, id);

INSERT INTO order_events (order_id, at, state, detail)
    SELECT id, updated_at, 'unfulfilled', 'no fulfiller took this order: it waits in the order inbox'
    FROM orders WHERE state = 'placed' AND fulfilment = 'none' AND next_attempt_at IS NULL;
UPDATE orders SET state = 'unfulfilled', fulfilment = 'inbox'
    WHERE state = 'placed' AND fulfilment = 'none' AND next_attempt_at IS NULL;

-- +goose Down
UPDATE orders SET state = 'placed', fulfilment = 'none' WHERE state IN ('unfulfilled', 'bought');
DELETE FROM order_events WHERE state IN ('unfulfilled', 'bought');
DROP INDEX orders_account;
ALTER TABLE orders DROP CONSTRAINT orders_state_fkey;
ALTER TABLE orders ADD CONSTRAINT orders_state_check
    CHECK (state IN ('placed', 'in_progress', 'shipped', 'cancelled', 'failed'));
DROP TABLE order_states;
