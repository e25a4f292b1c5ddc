-- Order policy and notice-and-hold. An account and an enrollment may name
-- their order policy ('' inherits: the enrollment the account's, the
-- account the server's, "forecast") and their hold window in minutes
-- (NULL inherits; 0 is none). A new order is first 'scheduled': it stays
-- out of the dispatch outbox's reach (next_attempt_at = hold_until) until
-- its window ends, and the owner may skip it ('skipped') or ship it now.
-- scheduled_notice_at is when the order.scheduled webhook event is due
-- (NULL: sent, or none to send). reason is what the policy said. A supply
-- whose order was skipped is re-armed with low_only set: it orders again
-- at the printer's low level, not by forecast, until it is replaced.
-- +goose Up
INSERT INTO order_states (name) VALUES ('scheduled'), ('skipped');
ALTER TABLE accounts ADD COLUMN order_policy TEXT NOT NULL DEFAULT '';
ALTER TABLE accounts ADD COLUMN hold_minutes INTEGER;
ALTER TABLE enrollments ADD COLUMN order_policy TEXT NOT NULL DEFAULT '';
ALTER TABLE enrollments ADD COLUMN hold_minutes INTEGER;
ALTER TABLE orders ADD COLUMN hold_until BIGINT;
ALTER TABLE orders ADD COLUMN scheduled_notice_at BIGINT;
ALTER TABLE orders ADD COLUMN notice_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE orders ADD COLUMN reason TEXT NOT NULL DEFAULT '';
ALTER TABLE supply_levels ADD COLUMN low_only INTEGER NOT NULL DEFAULT 0;
CREATE INDEX orders_scheduled_notice ON orders (scheduled_notice_at) WHERE scheduled_notice_at IS NOT NULL;

-- +goose Down
DROP INDEX orders_scheduled_notice;
ALTER TABLE supply_levels DROP COLUMN low_only;
ALTER TABLE orders DROP COLUMN reason;
ALTER TABLE orders DROP COLUMN notice_attempts;
ALTER TABLE orders DROP COLUMN scheduled_notice_at;
ALTER TABLE orders DROP COLUMN hold_until;
ALTER TABLE enrollments DROP COLUMN hold_minutes;
ALTER TABLE enrollments DROP COLUMN order_policy;
ALTER TABLE accounts DROP COLUMN hold_minutes;
ALTER TABLE accounts DROP COLUMN order_policy;
UPDATE orders SET state = 'placed' WHERE state = 'scheduled';
UPDATE orders SET state = 'cancelled' WHERE state = 'skipped';
DELETE FROM order_states WHERE name IN ('scheduled', 'skipped');
