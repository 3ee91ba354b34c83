CREATE OR REPLACE FUNCTION responses_graph_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        PERFORM split_episodes(ARRAY[OLD.action_id, OLD.responds_to_id]);
        PERFORM refresh_answer_facts(ARRAY[OLD.action_id, OLD.responds_to_id]);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM merge_episodes(NEW.action_id, NEW.responds_to_id);
        PERFORM refresh_answer_facts(ARRAY[NEW.action_id, NEW.responds_to_id]);
    END IF;
    RETURN NULL;
END;
$$;
DROP TRIGGER actions_graph_insert ON actions;
CREATE TRIGGER actions_graph_insert BEFORE INSERT ON actions
    FOR EACH ROW EXECUTE FUNCTION actions_graph_insert();
DROP TRIGGER responses_added ON responses;
DROP FUNCTION responses_added();
DROP TRIGGER responses_change ON responses;
CREATE TRIGGER responses_change AFTER INSERT OR DELETE ON responses
    FOR EACH ROW EXECUTE FUNCTION responses_change();
DROP TRIGGER actions_created ON actions;
DROP FUNCTION actions_created();
DROP TRIGGER actions_change ON actions;
CREATE TRIGGER actions_change AFTER INSERT OR UPDATE OR DELETE ON actions
    FOR EACH ROW EXECUTE FUNCTION actions_change();
