-- Writes no longer NOTIFY. PostgreSQL serialises the commits of every transaction that has
-- notified (PreCommit_Notify holds a database-wide lock through the commit's WAL flush), so
-- a NOTIFY in each write transaction made concurrent writes commit one at a time: under 16
-- concurrent POSTs most backends waited on that lock (wait event Lock:object).
--
-- Who wakes the feed now (src/feed.rs, src/webhook/worker.rs):
-- * riposte's own writes wake the tasks of their process in memory after commit;
-- * those tasks run the sequencer, whose NOTIFY riposte_changes_sequenced (one per run, not
--   one per write) wakes every other riposte process on the database;
-- * imports send one NOTIFY riposte_changes after their commit;
-- * anything else (plain SQL) is found by the tasks' poll, at least once a second.
--
-- And the functions every write calls are made cheap to call. A LANGUAGE sql function that
-- the planner cannot inline is parsed and planned again on every call: the INSERTs of
-- record_change and mark_action_documents (now plpgsql, whose plans a session keeps), and
-- the JSON helpers of render_action_documents, which were declared IMMUTABLE around the
-- STABLE to_json and to_char (the planner inlines a function only when its body is no more
-- volatile than declared, and a STRICT one only when its body is strict too).
--
-- Two plpgsql functions keep one plan for the life of the session (plan_cache_mode): with
-- an array parameter PostgreSQL otherwise re-plans them on every call, inlining the SQL
-- functions they read each time (render_action_documents, dyad_period_sums), which cost
-- more than running them. The generic plans look rows up by index, which suits the few
-- ids of a request and still scales linearly for an import's million.
--
-- And the commit hook of the stored documents fires once per transaction, not once per
-- marked action: a sentinel row (the nil UUID) queues the deferred event. Fired once per
-- row, a million-action import made a million flushes at commit, each scanning the
-- million index entries the first one had deleted (quadratic: over four minutes).

CREATE OR REPLACE FUNCTION record_change(kind text, entity text, entity_id uuid, related_id uuid,
                              relation text, status text, actor_ids uuid[], dyad uuid[],
                              type_code text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO changes (kind, entity, entity_id, related_id, relation, status, actor_ids,
                         dyad, type_code)
    VALUES (kind, entity, entity_id, related_id, relation, status, actor_ids, dyad, type_code);
END $$;

CREATE OR REPLACE FUNCTION actions_created() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO changes (kind, entity, entity_id, status, actor_ids, dyad, type_code)
    SELECT 'created', 'action', n.id, n.status,
           array_remove(ARRAY[n.initiator_id, n.target_id, n.authority_id], NULL),
           ARRAY[n.initiator_id, n.target_id], n.type_code
    FROM new_rows n;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION responses_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO changes (kind, entity, entity_id, related_id, relation, actor_ids, dyad,
                         type_code)
    SELECT 'edge_added', 'response', n.action_id, n.responds_to_id, n.relation,
           array_remove(ARRAY[a.initiator_id, a.target_id, a.authority_id], NULL),
           CASE WHEN a.id IS NULL THEN NULL ELSE ARRAY[a.initiator_id, a.target_id] END,
           a.type_code
    FROM new_rows n LEFT JOIN actions a ON a.id = n.action_id;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION json_timestamp(t timestamptz) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT '"' || to_char(t AT TIME ZONE 'UTC',
        CASE WHEN extract(microseconds FROM t)::bigint % 1000000 = 0 THEN 'YYYY-MM-DD"T"HH24:MI:SS'
             WHEN extract(microseconds FROM t)::bigint % 1000 = 0 THEN 'YYYY-MM-DD"T"HH24:MI:SS.MS'
             ELSE 'YYYY-MM-DD"T"HH24:MI:SS.US' END) || 'Z"'
$$;

CREATE OR REPLACE FUNCTION json_value(v anyelement) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce(to_json(v)::text, 'null')
$$;

CREATE OR REPLACE FUNCTION json_float(v float8) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN v = trunc(v) THEN to_json(v)::text || '.0' ELSE to_json(v)::text END
$$;

CREATE OR REPLACE FUNCTION mark_action_documents(ids uuid[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF cardinality(ids) > 0 THEN
        INSERT INTO action_documents_dirty (id)
        SELECT DISTINCT x FROM unnest(ids || '00000000-0000-0000-0000-000000000000'::uuid) x
        ORDER BY 1
        ON CONFLICT DO NOTHING;
    END IF;
END $$;

CREATE OR REPLACE FUNCTION flush_action_documents() RETURNS void
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    ids uuid[];
BEGIN
    WITH taken AS (
        DELETE FROM action_documents_dirty WHERE tx = pg_current_xact_id() RETURNING id)
    SELECT array_agg(taken.id) INTO ids FROM taken
    WHERE taken.id <> '00000000-0000-0000-0000-000000000000';
    IF ids IS NULL THEN
        RETURN;
    END IF;
    INSERT INTO action_documents AS d (id, live, body)
    SELECT r.id, r.live, r.body FROM render_action_documents(ids) r ORDER BY r.id
    ON CONFLICT (id) DO UPDATE
        SET version = d.version + 1, live = excluded.live, body = excluded.body
    WHERE (d.live, d.body) IS DISTINCT FROM (excluded.live, excluded.body);
END;
$$;

DROP TRIGGER action_documents_at_commit ON action_documents_dirty;
CREATE CONSTRAINT TRIGGER action_documents_at_commit AFTER INSERT ON action_documents_dirty
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (NEW.id = '00000000-0000-0000-0000-000000000000')
    EXECUTE FUNCTION action_documents_at_commit();

ALTER FUNCTION apply_action_tallies(action_tally[]) SET plan_cache_mode = force_generic_plan;
