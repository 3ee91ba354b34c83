-- API keys. Only a SHA-256 hash of each secret is stored; `prefix` (the secret's first 12
-- characters) lets people recognise a key in lists and logs.
CREATE TABLE api_keys (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name         text NOT NULL,
    scope        text NOT NULL,
    prefix       text NOT NULL,
    secret_hash  bytea NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz,
    revoked_at   timestamptz,
    last_used_at timestamptz,
    CONSTRAINT api_keys_name_check CHECK (length(btrim(name)) BETWEEN 1 AND 100),
    CONSTRAINT api_keys_scope_check CHECK (scope IN ('read', 'write', 'admin')),
    CONSTRAINT api_keys_secret_hash_key UNIQUE (secret_hash),
    CONSTRAINT api_keys_hash_length_check CHECK (octet_length(secret_hash) = 32)
);

-- Every create, update, delete, restore and purge, written in the transaction that made it.
CREATE TABLE audit_log (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    -- The API key that made the change; null for the command line (seed, keys).
    key_id      uuid REFERENCES api_keys (id) ON DELETE RESTRICT,
    request_id  text,
    operation   text NOT NULL,
    entity      text NOT NULL,
    entity_id   uuid NOT NULL,
    before      jsonb,
    after       jsonb,
    CONSTRAINT audit_log_operation_check
        CHECK (operation IN ('create', 'update', 'delete', 'restore', 'purge', 'revoke')),
    CONSTRAINT audit_log_entity_check CHECK (entity IN ('actor', 'action', 'api_key'))
);
CREATE INDEX audit_log_entity_idx ON audit_log (entity, entity_id, id);
CREATE INDEX audit_log_key_idx ON audit_log (key_id, id);

-- The log is append-only: the database itself refuses to change or remove a row.
CREATE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change();

-- Optimistic concurrency (exposed as ETag) and soft deletion.
ALTER TABLE actors ADD COLUMN version bigint NOT NULL DEFAULT 1,
                   ADD COLUMN deleted_at timestamptz;
ALTER TABLE actions ADD COLUMN version bigint NOT NULL DEFAULT 1,
                    ADD COLUMN deleted_at timestamptz;
