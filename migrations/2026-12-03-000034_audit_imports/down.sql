ALTER TABLE audit_log DROP COLUMN import_id;
ALTER TABLE audit_log DROP CONSTRAINT audit_log_entity_check,
    ADD CONSTRAINT audit_log_entity_check
        CHECK (entity IN ('actor', 'action', 'api_key', 'webhook')) NOT VALID;
