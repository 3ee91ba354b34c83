ALTER TABLE audit_log DROP COLUMN changed, DROP COLUMN size;
