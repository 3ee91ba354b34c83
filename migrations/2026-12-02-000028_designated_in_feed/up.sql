-- The change feed's actor filter (GET /v1/changes?actor=, /v1/events, webhooks' `actor`)
-- finds the actions that designate an actor, as GET /v1/actions?designated= does: a desk
-- following a company or an official hears when an action lists it, changes, or is
-- deleted. Before, `actor_ids` held an action's initiator, target and authority only, and
-- a follower of a designated person heard nothing of the actions naming it.
--
-- The actors an action concerns are written once, in action_actors(), which every entry of
-- an action and of its edges now takes (the four triggers below each spelled out the first
-- three). An action's designations are written after its row, so its `created` entry (and
-- an update's, for designations the update adds) is completed by the trigger on
-- designations: it adds the actors designated or no longer designated to the entries this
-- transaction wrote for those actions. With the actors before the update kept as they were
-- (000022), an update's entry matches the action as it was and as it is.
CREATE FUNCTION action_actors(a actions) RETURNS uuid[] LANGUAGE sql STABLE AS $$
    SELECT array_remove(ARRAY[a.initiator_id, a.target_id, a.authority_id], NULL)
           || ARRAY(SELECT d.actor_id FROM designations d WHERE d.action_id = a.id)
$$;

CREATE OR REPLACE FUNCTION actions_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    r actions;
    kind text;
    involved uuid[];
    was_dyad uuid[];
    was_type text;
BEGIN
    r := CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    involved := action_actors(r);
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
    SELECT 'created', 'action', n.id, n.status, action_actors(n),
           ARRAY[n.initiator_id, n.target_id], n.type_code
    FROM new_rows n;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION responses_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO changes (kind, entity, entity_id, related_id, relation, actor_ids, dyad,
                         type_code)
    SELECT 'edge_added', 'response', n.action_id, n.responds_to_id, n.relation,
           coalesce(action_actors(a), '{}'),
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
                          CASE WHEN a.id IS NULL THEN '{}' ELSE action_actors(a) END,
                          CASE WHEN a.id IS NULL THEN NULL
                               ELSE ARRAY[a.initiator_id, a.target_id] END,
                          a.type_code);
    RETURN NULL;
END $$;

-- `at` is the writing transaction's start (now()), and an entry is numbered only after its
-- transaction commits: `seq IS NULL AND at = now()` are this transaction's entries (another
-- transaction that began in the same microsecond and wrote the same action would have to
-- have committed before this one locked it; its entry would then match one actor more).
-- The planner's statistics of `changes` rarely count the entries not yet numbered (an
-- import writes thousands in one transaction): estimating one, it nested a loop over the
-- changed designations for each entry (31 s for the 7,128 designations of a 10,000-action
-- import), where one hash of them is linear whatever the counts.
CREATE FUNCTION designations_change() RETURNS trigger LANGUAGE plpgsql
SET enable_nestloop = off AS $$
BEGIN
    UPDATE changes c
    SET actor_ids = c.actor_ids || ARRAY(SELECT x FROM unnest(m.actors) x
                                         WHERE x <> ALL (c.actor_ids))
    FROM (SELECT action_id, array_agg(DISTINCT actor_id) AS actors
          FROM changed_rows GROUP BY action_id) m
    WHERE c.seq IS NULL AND c.at = now() AND c.entity IN ('action', 'response')
      AND c.entity_id = m.action_id AND NOT c.actor_ids @> m.actors;
    RETURN NULL;
END $$;
CREATE TRIGGER designations_added AFTER INSERT ON designations
    REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION designations_change();
CREATE TRIGGER designations_removed AFTER DELETE ON designations
    REFERENCING OLD TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION designations_change();
