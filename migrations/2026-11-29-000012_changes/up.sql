-- The change feed (GET /v1/changes, GET /v1/events, webhooks): one entry for every committed
-- change of an actor, an action (its status on its own line) or an edge of the response
-- graph, written by triggers in the transaction that makes the change.
--
-- Why two numbers. `id` comes from a sequence when the row is written; concurrent
-- transactions commit in another order than they drew their ids, so a reader that has seen
-- 41 could later find a 40 that committed late: following `id` can skip. `seq`, the cursor,
-- is given by the sequencer (`sequence_changes`) to committed entries only, in one
-- transaction at a time under an advisory lock held to its commit: every `seq` a reader can
-- see was given after all smaller ones became visible. A reader that follows `seq` never
-- misses or repeats an entry; it sees an entry once the sequencer has run after its commit
-- (riposte runs it when notified, and before every read of the feed).
CREATE TABLE changes (
    id         bigserial PRIMARY KEY,
    seq        bigint UNIQUE,
    at         timestamptz NOT NULL DEFAULT now(),
    -- created, updated, deleted, restored, purged, status_changed; edge_added, edge_removed
    kind       text NOT NULL,
    -- actor, action, response (an edge: entity_id answers related_id with `relation`)
    entity     text NOT NULL,
    entity_id  uuid NOT NULL,
    related_id uuid,
    relation   text,
    status     text,
    -- What the filters of the feed match: the actors concerned (an actor itself; an action's
    -- initiator, target and authority), the dyad members and the action type.
    actor_ids  uuid[] NOT NULL DEFAULT '{}',
    dyad       uuid[],
    type_code  text
);
CREATE INDEX changes_unsequenced ON changes (id) WHERE seq IS NULL;
CREATE SEQUENCE changes_seq;

CREATE FUNCTION sequence_changes() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    numbered bigint;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM changes WHERE seq IS NULL) THEN
        RETURN 0;
    END IF;
    -- One sequencer at a time, to its commit; another one running means the work is done.
    IF NOT pg_try_advisory_xact_lock(hashtextextended('riposte changes sequencer', 0)) THEN
        RETURN 0;
    END IF;
    UPDATE changes c SET seq = p.n
    FROM (SELECT id, nextval('changes_seq') AS n
          FROM (SELECT id FROM changes WHERE seq IS NULL ORDER BY id LIMIT 10000) o) p
    WHERE c.id = p.id;
    GET DIAGNOSTICS numbered = ROW_COUNT;
    IF numbered > 0 THEN
        PERFORM pg_notify('riposte_changes_sequenced', '');
    END IF;
    RETURN numbered;
END $$;

CREATE FUNCTION record_change(kind text, entity text, entity_id uuid, related_id uuid,
                              relation text, status text, actor_ids uuid[], dyad uuid[],
                              type_code text) RETURNS void LANGUAGE sql AS $$
    INSERT INTO changes (kind, entity, entity_id, related_id, relation, status, actor_ids,
                         dyad, type_code)
    VALUES (kind, entity, entity_id, related_id, relation, status, actor_ids, dyad, type_code);
    SELECT pg_notify('riposte_changes', '');
$$;

-- The kind of a row's change: deletes and restores by `deleted_at`, other edits by `version`
-- (the triggers that keep graph facts change neither).
CREATE FUNCTION change_kind(op text, was_deleted boolean, is_deleted boolean,
                            old_version bigint, new_version bigint) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN op = 'INSERT' THEN 'created'
        WHEN op = 'DELETE' THEN 'purged'
        WHEN NOT was_deleted AND is_deleted THEN 'deleted'
        WHEN was_deleted AND NOT is_deleted THEN 'restored'
        WHEN old_version IS DISTINCT FROM new_version THEN 'updated'
    END
$$;

CREATE FUNCTION actors_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    r actors;
    kind text;
BEGIN
    r := CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    kind := change_kind(TG_OP,
                        CASE WHEN TG_OP = 'INSERT' THEN false ELSE OLD.deleted_at IS NOT NULL END,
                        CASE WHEN TG_OP = 'DELETE' THEN true ELSE NEW.deleted_at IS NOT NULL END,
                        CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE OLD.version END,
                        CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE NEW.version END);
    IF kind IS NOT NULL THEN
        PERFORM record_change(kind, 'actor', r.id, NULL, NULL, NULL, ARRAY[r.id], NULL, NULL);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER actors_change AFTER INSERT OR UPDATE OR DELETE ON actors
    FOR EACH ROW EXECUTE FUNCTION actors_change();

CREATE FUNCTION actions_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    r actions;
    kind text;
    involved uuid[];
BEGIN
    r := CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    involved := array_remove(ARRAY[r.initiator_id, r.target_id, r.authority_id], NULL);
    kind := change_kind(TG_OP,
                        CASE WHEN TG_OP = 'INSERT' THEN false ELSE OLD.deleted_at IS NOT NULL END,
                        CASE WHEN TG_OP = 'DELETE' THEN true ELSE NEW.deleted_at IS NOT NULL END,
                        CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE OLD.version END,
                        CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE NEW.version END);
    IF kind IS NOT NULL THEN
        PERFORM record_change(kind, 'action', r.id, NULL, NULL, r.status, involved,
                              ARRAY[r.initiator_id, r.target_id], r.type_code);
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.status IS DISTINCT FROM NEW.status THEN
        PERFORM record_change('status_changed', 'action', r.id, NULL, NULL, r.status, involved,
                              ARRAY[r.initiator_id, r.target_id], r.type_code);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER actions_change AFTER INSERT OR UPDATE OR DELETE ON actions
    FOR EACH ROW EXECUTE FUNCTION actions_change();

CREATE FUNCTION responses_change() RETURNS trigger LANGUAGE plpgsql AS $$
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

CREATE TRIGGER responses_change AFTER INSERT OR DELETE ON responses
    FOR EACH ROW EXECUTE FUNCTION responses_change();
