-- Secrets of the server kept with its data, so that every riposte process on this database
-- signs and checks page tokens alike (and tokens of another database's server are refused).
-- The row is made by the first server that starts (random bytes from the operating system),
-- not here: databases copied from a migrated template must not share one.
CREATE TABLE server_secrets (
    name text PRIMARY KEY,
    secret bytea NOT NULL CHECK (octet_length(secret) >= 32),
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Codes name actors in every request, so `QQE` and `qqe` must not both exist: a state's code
-- is upper case and everything else's lower case, and the two kinds would otherwise overlap.
CREATE UNIQUE INDEX actors_code_lower_key ON actors (lower(code));

-- A replayed write answers with the first answer's ETag too.
ALTER TABLE idempotency_keys ADD COLUMN etag text;
