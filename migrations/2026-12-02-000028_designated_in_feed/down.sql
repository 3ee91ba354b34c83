DROP TRIGGER designations_removed ON designations;
DROP TRIGGER designations_added ON designations;
DROP FUNCTION designations_change();

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

CREATE OR REPLACE FUNCTION responses_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    r responses;
    a actions;
BEGIN
    r := CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    SELECT * INTO a FROM actions WHERE id = r.action_id;
    PERFORM record_change(CASE WHEN TG_OP = 'INSERT' THEN 'edge_added' ELSE 'edge_removed' END,
                          'response', r.action_id, r.responds_to_id, r.relation, NULL,
                          array_remove(ARRAY[a.initiator_id, a.target_id, a.authority_id], NULL),
                          CASE WHEN a.id IS NULL THEN NULL
                               ELSE ARRAY[a.initiator_id, a.target_id] END,
                          a.type_code);
    RETURN NULL;
END $$;

DROP FUNCTION action_actors(actions);
