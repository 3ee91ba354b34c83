-- POST /v1/actions: the transaction the server runs to create an action with two
-- designations and two sources (the same as the bodies wrk posts): insert the action (its
-- actors looked up by code), its designations, sources and first status change, read it
-- back as JSON (the view bench.action_doc of action_doc.sql) and write that into the audit
-- log. Rows are tagged `bench-post`; the harness deletes them after the run (the audit rows
-- stay: the log is append-only).
-- Variables: initiator, target, designee1, designee2 (actor codes).
\set r random(1, 2000000000)
BEGIN;
INSERT INTO actions (id, title, initiator_id, initiator_kind, target_id, target_kind, type_code,
                     status, announced_on, date_precision, effective_from, legal_basis, program,
                     severity, tags, designated_names)
SELECT (substr(v.ms, 1, 12) || '7' || substr(v.r, 14, 3) || substr(v.r, 17, 16))::uuid,
       'Benchmark asset freeze ' || :r, i.id, i.kind, t.id, t.kind, 'asset_freeze',
       'in_force', DATE '2024-01-15', 'day', DATE '2024-01-15', 'Benchmark Act, section 1',
       'BENCH', -8.0, ARRAY['bench-post'],
       (SELECT string_agg(name, ' ' ORDER BY code) FROM actors
        WHERE code IN (:designee1, :designee2) AND deleted_at IS NULL)
FROM actors i, actors t,
     -- a time-ordered id like the server's Uuid::now_v7 (gen_random_uuid alone would
     -- scatter the inserts over the primary key's index)
     (SELECT lpad(to_hex(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint), 12, '0') AS ms,
             replace(gen_random_uuid()::text, '-', '') AS r) v
WHERE i.code = :initiator AND t.code = :target AND i.deleted_at IS NULL AND t.deleted_at IS NULL
RETURNING id AS action_id \gset
INSERT INTO designations (action_id, actor_id, listed_on)
SELECT :action_id, id, DATE '2024-01-15' FROM actors
WHERE code IN (:designee1, :designee2) AND deleted_at IS NULL;
INSERT INTO sources (action_id, url, publisher, published_on, quote)
VALUES (:action_id, 'https://example.org/bench/' || :r, 'Bench Wire', DATE '2024-01-15',
        'The measures take effect immediately.'),
       (:action_id, 'https://example.org/bench/' || :r || '/2', 'Bench Gazette',
        DATE '2024-01-16', NULL);
INSERT INTO status_changes (action_id, status, changed_on)
VALUES (:action_id, 'in_force', DATE '2024-01-15');
SELECT doc FROM bench.action_doc WHERE id = :action_id \gset
INSERT INTO audit_log (key_id, request_id, operation, entity, entity_id, before, after)
VALUES (NULL, 'pgbench-' || :r, 'create', 'action', :action_id, NULL, :doc::jsonb);
COMMIT;
