-- When the owner chose Cancel at Login with Amazon, the sign-in state
-- records it (unix nanoseconds), so that arsctl, waiting for the plan to
-- become active, stops and says how to start again.
-- +goose Up
ALTER TABLE amazon_states ADD COLUMN declined_at INTEGER;

-- +goose Down
ALTER TABLE amazon_states DROP COLUMN declined_at;
