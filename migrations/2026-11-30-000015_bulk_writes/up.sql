-- Writes of many rows at once (imports) without a trigger call per row where one statement
-- can do the work:
--
-- * The change feed's entries for inserted actions and edges are written once per statement
--   from its transition table (the row triggers of 000012 keep updates and deletes, which
--   need OLD and NEW side by side). A single-row insert writes the same one entry as before.
-- * `actions_graph_insert` fires only when it has something to do: a row given its episode
--   label (imports compute them for whole components) skips the call.
-- * With `SET LOCAL riposte.graph_bulk = 'on'` the per-edge graph trigger leaves inserted
--   edges to the writer, which must then label their components and call
--   refresh_answer_facts() for their ends in the same transaction (src/import/resolve.rs
--   does; check_graph_facts() verifies it in the tests).

DROP TRIGGER actions_change ON actions;
CREATE TRIGGER actions_change AFTER UPDATE OR DELETE ON actions
    FOR EACH ROW EXECUTE FUNCTION actions_change();

CREATE FUNCTION actions_created() RETURNS trigger LANGUAGE plpgsql AS $$
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
CREATE TRIGGER actions_created AFTER INSERT ON actions
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION actions_created();

DROP TRIGGER responses_change ON responses;
CREATE TRIGGER responses_change AFTER DELETE ON responses
    FOR EACH ROW EXECUTE FUNCTION responses_change();

CREATE FUNCTION responses_added() RETURNS trigger LANGUAGE plpgsql AS $$
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
CREATE TRIGGER responses_added AFTER INSERT ON responses
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION responses_added();

DROP TRIGGER actions_graph_insert ON actions;
CREATE TRIGGER actions_graph_insert BEFORE INSERT ON actions
    FOR EACH ROW WHEN (NEW.episode_id IS NULL OR NEW.deleted_at IS NOT NULL)
    EXECUTE FUNCTION actions_graph_insert();

CREATE OR REPLACE FUNCTION responses_graph_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        PERFORM split_episodes(ARRAY[OLD.action_id, OLD.responds_to_id]);
        PERFORM refresh_answer_facts(ARRAY[OLD.action_id, OLD.responds_to_id]);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE')
       AND current_setting('riposte.graph_bulk', true) IS DISTINCT FROM 'on' THEN
        PERFORM merge_episodes(NEW.action_id, NEW.responds_to_id);
        PERFORM refresh_answer_facts(ARRAY[NEW.action_id, NEW.responds_to_id]);
    END IF;
    RETURN NULL;
END;
$$;
