CREATE OR REPLACE FUNCTION record_change(kind text, entity text, entity_id uuid, related_id uuid,
                              relation text, status text, actor_ids uuid[], dyad uuid[],
                              type_code text) RETURNS void LANGUAGE sql AS $$
    INSERT INTO changes (kind, entity, entity_id, related_id, relation, status, actor_ids,
                         dyad, type_code)
    VALUES (kind, entity, entity_id, related_id, relation, status, actor_ids, dyad, type_code);
    SELECT pg_notify('riposte_changes', '');
$$;

CREATE OR REPLACE FUNCTION actions_created() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO changes (kind, entity, entity_id, status, actor_ids, dyad, type_code)
    SELECT 'created', 'action', n.id, n.status,
           array_remove(ARRAY[n.initiator_id, n.target_id, n.authority_id], NULL),
           ARRAY[n.initiator_id, n.target_id], n.type_code
    FROM new_rows n;
    IF FOUND THEN
        PERFORM pg_notify('riposte_changes', '');
    END IF;
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
    IF FOUND THEN
        PERFORM pg_notify('riposte_changes', '');
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION mark_action_documents(ids uuid[]) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO action_documents_dirty (id)
    SELECT DISTINCT x FROM unnest(ids) x ORDER BY 1
    ON CONFLICT DO NOTHING
$$;

CREATE OR REPLACE FUNCTION json_timestamp(t timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT '"' || to_char(t AT TIME ZONE 'UTC',
        CASE WHEN extract(microseconds FROM t)::bigint % 1000000 = 0 THEN 'YYYY-MM-DD"T"HH24:MI:SS'
             WHEN extract(microseconds FROM t)::bigint % 1000 = 0 THEN 'YYYY-MM-DD"T"HH24:MI:SS.MS'
             ELSE 'YYYY-MM-DD"T"HH24:MI:SS.US' END) || 'Z"'
$$;

CREATE OR REPLACE FUNCTION json_value(v anyelement) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(to_json(v)::text, 'null')
$$;

CREATE OR REPLACE FUNCTION json_float(v float8) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT CASE WHEN v = trunc(v) THEN to_json(v)::text || '.0' ELSE to_json(v)::text END
$$;

ALTER FUNCTION apply_action_tallies(action_tally[]) RESET plan_cache_mode;

DROP TRIGGER action_documents_at_commit ON action_documents_dirty;
DELETE FROM action_documents_dirty WHERE id = '00000000-0000-0000-0000-000000000000';
CREATE CONSTRAINT TRIGGER action_documents_at_commit AFTER INSERT ON action_documents_dirty
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION action_documents_at_commit();

CREATE OR REPLACE FUNCTION flush_action_documents() RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    ids uuid[];
BEGIN
    WITH taken AS (
        DELETE FROM action_documents_dirty WHERE tx = pg_current_xact_id() RETURNING id)
    SELECT array_agg(taken.id) INTO ids FROM taken;
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
ALTER FUNCTION flush_action_documents() RESET plan_cache_mode;
