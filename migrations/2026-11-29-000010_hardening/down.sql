ALTER TABLE idempotency_keys DROP COLUMN etag;
DROP INDEX actors_code_lower_key;
DROP TABLE server_secrets;
