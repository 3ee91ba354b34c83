CREATE OR REPLACE FUNCTION actions_graph_update() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    neighbours uuid[] := ARRAY(
        SELECT responds_to_id FROM responses WHERE action_id = NEW.id
        UNION
        SELECT action_id FROM responses WHERE responds_to_id = NEW.id);
    n uuid;
BEGIN
    PERFORM refresh_answer_facts(NEW.id || neighbours);
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
DROP FUNCTION graph_neighbourhood(uuid[]);
