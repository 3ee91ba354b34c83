ALTER TABLE actions DROP COLUMN deleted_at, DROP COLUMN version;
ALTER TABLE actors DROP COLUMN deleted_at, DROP COLUMN version;
DROP TABLE audit_log;
DROP FUNCTION audit_log_refuse_change();
DROP TABLE api_keys;
