DROP TRIGGER actions_tally_staged_apply ON actions;
DROP FUNCTION actions_tally_staged_apply();
CREATE OR REPLACE FUNCTION actions_tally_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    t action_tally[] := '{}';
BEGIN
    IF OLD.deleted_at IS NULL THEN
        t := t || ROW(OLD.initiator_id, OLD.target_id, OLD.announced_on, OLD.severity,
                      OLD.type_code, -1)::action_tally;
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.deleted_at IS NULL THEN
        t := t || ROW(NEW.initiator_id, NEW.target_id, NEW.announced_on, NEW.severity,
                      NEW.type_code, 1)::action_tally;
    END IF;
    PERFORM apply_action_tallies(t);
    RETURN NULL;
END;
$$;
DROP TABLE action_tallies_staged;
