-- What the printer says of a supply in words rather than by its level
-- (low or empty, from its printer-state-reasons), so that a printer that
-- reports only "some remaining" can still say its ink is low; empty when
-- it says nothing.
-- +goose Up
ALTER TABLE supply_levels ADD COLUMN state TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE supply_levels DROP COLUMN state;
