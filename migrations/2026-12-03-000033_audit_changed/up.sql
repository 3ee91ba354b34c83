-- What each entry changed, and how large it is, recorded when it is written (by
-- service::audit, from the documents before and after): an action's history lists its
-- edits' fields from these, where it compared up to 200 pairs of whole documents on every
-- read (1.5-2 s for an action of a thousand designations, from anyone), and a page of
-- GET /v1/audit stops at its byte budget by `size`.
ALTER TABLE audit_log
    ADD COLUMN changed text[] NOT NULL DEFAULT '{}',
    ADD COLUMN size integer NOT NULL DEFAULT 0;

-- The entries written before: the fields present on either side whose values differ, less
-- the stamps every write sets (models::audit::STAMPS); a restore's `deleted_at`, absent
-- after, counts. The log refuses updates; this one fills what it did not have.
ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only;
UPDATE audit_log a SET
    changed = CASE WHEN jsonb_typeof(a.before) = 'object' AND jsonb_typeof(a.after) = 'object'
                   THEN ARRAY(SELECT k.key
                              FROM (SELECT jsonb_object_keys(a.before)
                                    UNION SELECT jsonb_object_keys(a.after)) k(key)
                              WHERE k.key NOT IN ('updated_at', 'version')
                                AND a.before -> k.key IS DISTINCT FROM a.after -> k.key
                              ORDER BY k.key COLLATE "C")
                   ELSE '{}'::text[] END,
    size = coalesce(octet_length(a.before::text), 0) + coalesce(octet_length(a.after::text), 0);
ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only;

ALTER TABLE audit_log ALTER COLUMN changed DROP DEFAULT, ALTER COLUMN size DROP DEFAULT;
