DROP TRIGGER responses_graph_removed ON responses;
DROP FUNCTION responses_graph_removed();
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
DROP TRIGGER responses_graph_change ON responses;
CREATE TRIGGER responses_graph_change AFTER INSERT OR UPDATE OR DELETE ON responses
    FOR EACH ROW EXECUTE FUNCTION responses_graph_change();
CREATE OR REPLACE FUNCTION split_episodes(starts uuid[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    s uuid;
    label uuid;
    members uuid[];
BEGIN
    FOREACH s IN ARRAY starts LOOP
        label := (SELECT episode_id FROM actions WHERE id = s AND deleted_at IS NULL);
        CONTINUE WHEN label IS NULL;
        members := ARRAY(SELECT id FROM episode_members(s));
        IF cardinality(members) < (SELECT count(*) FROM actions WHERE episode_id = label) THEN
            UPDATE actions SET episode_id = fresh FROM (SELECT gen_random_uuid() AS fresh) f
        WHERE id = ANY(members);
        END IF;
    END LOOP;
END;
$$;
