-- An update that takes an action out of a reader's filter (another target, another type, an
-- actor no longer its authority) is an entry that reader must get: without it a filtered
-- mirror (GET /v1/changes?dyad=..., a webhook with a `type` filter) keeps the action as it
-- was, for ever. The entry of an update now matches the action as it was as well as the
-- action as it is: `actor_ids` holds the actors concerned before and after, and `was_dyad`
-- and `was_type` the dyad and type before, where they changed (NULL where not). The readers
-- (models::change::page and ChangeFilter::matches) test both.
ALTER TABLE changes ADD COLUMN was_dyad uuid[], ADD COLUMN was_type text;

CREATE OR REPLACE FUNCTION actions_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    r actions;
    kind text;
    involved uuid[];
    was_dyad uuid[];
    was_type text;
BEGIN
    r := CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    involved := array_remove(ARRAY[r.initiator_id, r.target_id, r.authority_id], NULL);
    IF TG_OP = 'UPDATE' THEN
        involved := involved || ARRAY(
            SELECT o FROM unnest(ARRAY[OLD.initiator_id, OLD.target_id, OLD.authority_id]) o
            WHERE o IS NOT NULL AND o <> ALL (involved));
        IF (OLD.initiator_id, OLD.target_id) IS DISTINCT FROM (NEW.initiator_id, NEW.target_id)
        THEN
            was_dyad := ARRAY[OLD.initiator_id, OLD.target_id];
        END IF;
        IF OLD.type_code IS DISTINCT FROM NEW.type_code THEN
            was_type := OLD.type_code;
        END IF;
    END IF;
    kind := change_kind(TG_OP,
                        CASE WHEN TG_OP = 'INSERT' THEN false ELSE OLD.deleted_at IS NOT NULL END,
                        CASE WHEN TG_OP = 'DELETE' THEN true ELSE NEW.deleted_at IS NOT NULL END,
                        CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE OLD.version END,
                        CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE NEW.version END);
    IF kind IS NOT NULL THEN
        INSERT INTO changes (kind, entity, entity_id, status, actor_ids, dyad, type_code,
                             was_dyad, was_type)
        VALUES (kind, 'action', r.id, r.status, involved, ARRAY[r.initiator_id, r.target_id],
                r.type_code, was_dyad, was_type);
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.status IS DISTINCT FROM NEW.status THEN
        INSERT INTO changes (kind, entity, entity_id, status, actor_ids, dyad, type_code,
                             was_dyad, was_type)
        VALUES ('status_changed', 'action', r.id, r.status, involved,
                ARRAY[r.initiator_id, r.target_id], r.type_code, was_dyad, was_type);
    END IF;
    RETURN NULL;
END $$;
