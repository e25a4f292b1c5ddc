-- Every supply's level history: one row each time a report's level of a
-- supply differs from the one stored before (and for a supply's first
-- report), with the time the printer was read. The janitor deletes rows
-- older than the configured period.
-- +goose Up
CREATE TABLE level_history (
    enrollment_id TEXT NOT NULL REFERENCES enrollments (id),
    supply        TEXT NOT NULL,
    read_at       BIGINT NOT NULL,
    level         INTEGER NOT NULL,
    PRIMARY KEY (enrollment_id, supply, read_at)
);
CREATE INDEX level_history_read_at ON level_history (read_at);

-- +goose Down
DROP TABLE level_history;
