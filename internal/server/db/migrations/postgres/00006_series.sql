-- The series the printer reported for itself ("TS5300 series"), kept next
-- to the eligible model the owner confirmed ("TS5320"); empty for
-- enrollments made before it was recorded.
-- +goose Up
ALTER TABLE enrollments ADD COLUMN series TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE enrollments DROP COLUMN series;
