-- Responses of POSTs made with an Idempotency-Key, stored in the transaction of the write
-- itself: either both the record and its stored response exist, or neither.
CREATE TABLE idempotency_keys (
    key_id          uuid NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    idempotency_key text NOT NULL,
    request_hash    bytea NOT NULL,
    status          smallint NOT NULL,
    location        text,
    body            text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (key_id, idempotency_key),
    CONSTRAINT idempotency_keys_key_check CHECK (length(idempotency_key) BETWEEN 1 AND 255)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
