-- Attempt budgets (sign-in, sign-up) in the database, so that they hold
-- across replicas: one row per key ("signin-pair:<account>@<address>",
-- "signin-ip:<address>", ...), taken and counted by one atomic upsert
-- before the attempt runs. n attempts were taken in the window that began
-- at since; last_at is the latest (for budgets that slow down instead of
-- stopping). Times are unix nanoseconds. It replaces login_failures, which
-- was counted after the password check and so could be raced.
-- +goose Up
CREATE TABLE attempt_limits (
    key     TEXT PRIMARY KEY,
    n       INTEGER NOT NULL,
    since   INTEGER NOT NULL,
    last_at INTEGER NOT NULL
);
CREATE INDEX attempt_limits_last_at ON attempt_limits (last_at);
DROP TABLE login_failures;

-- +goose Down
CREATE TABLE login_failures (
    key TEXT NOT NULL,
    at  INTEGER NOT NULL
);
CREATE INDEX login_failures_key_at ON login_failures (key, at);
DROP TABLE attempt_limits;
