-- When the last Dash Replenishment DeviceStatus call of a linked
-- enrollment was made (unix nanoseconds, 0 for never), in the database so
-- that replicas together call at most once a day per device.
-- +goose Up
ALTER TABLE amazon_links ADD COLUMN status_at BIGINT NOT NULL DEFAULT 0;
-- +goose Down
ALTER TABLE amazon_links DROP COLUMN status_at;
