-- +goose Up
CREATE TABLE schema_note (id INTEGER PRIMARY KEY, note TEXT NOT NULL);
-- +goose Down
DROP TABLE schema_note;
