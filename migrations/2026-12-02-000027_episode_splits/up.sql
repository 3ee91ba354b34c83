-- Removing answers from a large episode cost (ends of removed edges) x (episode size): each
-- end was walked over the whole episode, one after the other, and each removed edge ran its
-- own walks. Deleting an action answering 100 others in an episode of 46,514 took over
-- 15 s (an adversarial review). Now a walk's members are not walked again in the same call
-- (an end reached from an earlier one is in the same component, which that walk settled),
-- and edges removed by one statement are split together, once, by a statement trigger.

CREATE OR REPLACE FUNCTION split_episodes(starts uuid[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    s uuid;
    label uuid;
    members uuid[];
    walked uuid[] := '{}';
BEGIN
    FOREACH s IN ARRAY starts LOOP
        CONTINUE WHEN s = ANY(walked);
        label := (SELECT episode_id FROM actions WHERE id = s AND deleted_at IS NULL);
        CONTINUE WHEN label IS NULL;
        members := ARRAY(SELECT id FROM episode_members(s));
        walked := walked || members;
        IF cardinality(members) < (SELECT count(*) FROM actions WHERE episode_id = label) THEN
            UPDATE actions SET episode_id = fresh FROM (SELECT gen_random_uuid() AS fresh) f
            WHERE id = ANY(members);
        END IF;
    END LOOP;
END;
$$;

-- Row by row for inserts and updates, as before (migration 000015).
CREATE OR REPLACE FUNCTION responses_graph_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
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
CREATE TRIGGER responses_graph_change AFTER INSERT OR UPDATE ON responses
    FOR EACH ROW EXECUTE FUNCTION responses_graph_change();

CREATE FUNCTION responses_graph_removed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    ends uuid[] := ARRAY(SELECT action_id FROM old_rows UNION SELECT responds_to_id FROM old_rows);
BEGIN
    PERFORM split_episodes(ends);
    PERFORM refresh_answer_facts(ends);
    RETURN NULL;
END;
$$;
CREATE TRIGGER responses_graph_removed AFTER DELETE ON responses
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION responses_graph_removed();
