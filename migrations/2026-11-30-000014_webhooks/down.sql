-- The audit log is append-only: its entries about subscriptions stay, so the old checks
-- come back only for new rows.
ALTER TABLE audit_log DROP CONSTRAINT audit_log_entity_check,
    ADD CONSTRAINT audit_log_entity_check
        CHECK (entity IN ('actor', 'action', 'api_key')) NOT VALID;
ALTER TABLE audit_log DROP CONSTRAINT audit_log_operation_check,
    ADD CONSTRAINT audit_log_operation_check
        CHECK (operation IN ('create', 'update', 'delete', 'restore', 'purge', 'revoke'))
        NOT VALID;
DROP TABLE webhook_deliveries;
DROP TABLE webhooks;
