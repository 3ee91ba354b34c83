-- An import's changes to stored actions refresh the answer facts of what they touch in one
-- call, not one call per changed row.
--
-- A changed date, severity or party refreshes the answer facts of the action and of its
-- neighbours (what it answers and what answers it): the row trigger actions_graph_update
-- did so one row at a time. An import changing the severity of 2,000 stored actions of a
-- generated database called it 2,000 times, 23 ms each (46 s), holding the graph lock. As
-- for inserted edges (migration 000015), with `SET LOCAL riposte.graph_bulk = 'on'` the
-- trigger leaves such changes to the writer, which must then call
-- refresh_answer_facts(graph_neighbourhood(<the changed ids>)) in the same transaction
-- (src/import/resolve.rs does; check_graph_facts() verifies it in the tests). Deletions
-- and restores, which also split or merge episodes, stay with the trigger.

-- The actions whose answer facts a change of `ids` touches: themselves and their neighbours.
CREATE FUNCTION graph_neighbourhood(ids uuid[]) RETURNS uuid[]
LANGUAGE sql STABLE AS $$
    SELECT ARRAY(
        SELECT unnest(ids)
        UNION SELECT responds_to_id FROM responses WHERE action_id = ANY (ids)
        UNION SELECT action_id FROM responses WHERE responds_to_id = ANY (ids))
$$;

CREATE OR REPLACE FUNCTION actions_graph_update() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    neighbours uuid[];
    n uuid;
BEGIN
    IF (OLD.deleted_at IS NULL) = (NEW.deleted_at IS NULL)
       AND current_setting('riposte.graph_bulk', true) = 'on' THEN
        RETURN NULL;
    END IF;
    PERFORM refresh_answer_facts(graph_neighbourhood(ARRAY[NEW.id]));
    neighbours := ARRAY(
        SELECT responds_to_id FROM responses WHERE action_id = NEW.id
        UNION
        SELECT action_id FROM responses WHERE responds_to_id = NEW.id);
    IF OLD.deleted_at IS NULL AND NEW.deleted_at IS NOT NULL THEN
        UPDATE actions SET episode_id = NULL WHERE id = NEW.id;
        PERFORM split_episodes(neighbours);
    ELSIF OLD.deleted_at IS NOT NULL AND NEW.deleted_at IS NULL THEN
        UPDATE actions SET episode_id = gen_random_uuid() WHERE id = NEW.id;
        FOREACH n IN ARRAY neighbours LOOP
            PERFORM merge_episodes(NEW.id, n);
        END LOOP;
    END IF;
    RETURN NULL;
END;
$$;
