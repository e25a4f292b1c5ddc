-- A supply's class as the printer reported it (supplyThatIsConsumed or
-- receptacleThatIsFilled), so that a receptacle of no waste type is still
-- shown as the waste tank it is; empty when the printer did not say.
-- +goose Up
ALTER TABLE supply_levels ADD COLUMN class TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE supply_levels DROP COLUMN class;
