-- Imports in the audit log: each job has an entry when it is queued (entity `import`, with
-- the key that queued it), and each action it creates or updates an entry naming the job,
-- so that what a key did and who changed an action are answered for imports too.
ALTER TABLE audit_log ADD COLUMN import_id uuid;
-- GET /v1/audit?import_id= lists one job's entries among every other.
CREATE INDEX audit_log_import_idx ON audit_log (import_id, id) WHERE import_id IS NOT NULL;
ALTER TABLE audit_log DROP CONSTRAINT audit_log_entity_check,
    ADD CONSTRAINT audit_log_entity_check
        CHECK (entity IN ('actor', 'action', 'api_key', 'webhook', 'import'));
