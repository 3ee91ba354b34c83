-- Facts about each action's place in the response graph, kept by triggers on every write so
-- that analysis reads them instead of walking the graph (see src/analysis/ and
-- bench/RESULTS.md for the measurements that asked for this):
--
-- * episode_id: the weakly connected component of the response graph among live actions
--   (the chain of GET /v1/actions/{id}/chain); NULL for a deleted action. An opaque label:
--   the triggers draw fresh random ones (a restored action must not take a label its old
--   component may still carry), `riposte generate` uses a member's id; only equality matters.
-- * first_answer_on: the earliest announced_on of a live action of the reverse direction
--   (initiated by this one's target, aimed at its initiator) that answers this one.
-- * first_implemented_on: the earliest announced_on of a live action of the same initiator
--   that `implements` this one.
-- * answers_mirror / _escalate / _de_escalate: this action's answers to live actions of the
--   reverse direction, classified by severity (see analysis::dyad::Proportionality).
--
-- `riposte generate` loads these columns itself with the triggers disabled; check_graph_facts()
-- recomputes everything from scratch and returns what disagrees (tests call it).

ALTER TABLE actions
    ADD COLUMN episode_id uuid,
    ADD COLUMN first_answer_on date,
    ADD COLUMN first_implemented_on date,
    ADD COLUMN answers_mirror integer NOT NULL DEFAULT 0,
    ADD COLUMN answers_escalate integer NOT NULL DEFAULT 0,
    ADD COLUMN answers_de_escalate integer NOT NULL DEFAULT 0;

-- The live actions connected to `start` through responses, either way.
CREATE FUNCTION episode_members(start uuid) RETURNS TABLE (id uuid)
LANGUAGE sql STABLE AS $$
    WITH RECURSIVE component(id) AS (
        SELECT a.id FROM actions a WHERE a.id = start AND a.deleted_at IS NULL
        UNION
        SELECT next.id
        FROM component c
        CROSS JOIN LATERAL (
            SELECT r.responds_to_id AS id FROM responses r WHERE r.action_id = c.id
            UNION ALL
            SELECT r.action_id FROM responses r WHERE r.responds_to_id = c.id
        ) next
        JOIN actions a ON a.id = next.id AND a.deleted_at IS NULL
    )
    SELECT id FROM component
$$;

-- The facts of each given action, computed from the graph as it is now.
CREATE FUNCTION computed_answer_facts(ids uuid[])
RETURNS TABLE (id uuid, first_answer_on date, first_implemented_on date,
               answers_mirror integer, answers_escalate integer, answers_de_escalate integer)
LANGUAGE sql STABLE AS $$
    SELECT x.id,
           (SELECT min(ans.announced_on)
            FROM responses r JOIN actions ans ON ans.id = r.action_id
            WHERE r.responds_to_id = x.id AND ans.deleted_at IS NULL
              AND ans.initiator_id = x.target_id AND ans.target_id = x.initiator_id),
           (SELECT min(im.announced_on)
            FROM responses r JOIN actions im ON im.id = r.action_id
            WHERE r.responds_to_id = x.id AND r.relation = 'implements'
              AND im.deleted_at IS NULL AND im.initiator_id = x.initiator_id),
           coalesce(g.mirror, 0), coalesce(g.escalate, 0), coalesce(g.de_escalate, 0)
    FROM actions x
    LEFT JOIN LATERAL (
        SELECT count(*) FILTER (WHERE abs(x.severity - t.severity) <= 1.0 + 1e-9)::integer AS mirror,
               count(*) FILTER (WHERE x.severity - t.severity < -1.0 - 1e-9)::integer AS escalate,
               count(*) FILTER (WHERE x.severity - t.severity > 1.0 + 1e-9)::integer AS de_escalate
        FROM responses r JOIN actions t ON t.id = r.responds_to_id
        WHERE r.action_id = x.id AND t.deleted_at IS NULL
          AND t.initiator_id = x.target_id AND t.target_id = x.initiator_id
    ) g ON true
    WHERE x.id = ANY(ids)
$$;

-- Stores computed_answer_facts(ids) where it differs from what is stored.
CREATE FUNCTION refresh_answer_facts(ids uuid[]) RETURNS void
LANGUAGE sql AS $$
    UPDATE actions a
    SET first_answer_on = f.first_answer_on, first_implemented_on = f.first_implemented_on,
        answers_mirror = f.answers_mirror, answers_escalate = f.answers_escalate,
        answers_de_escalate = f.answers_de_escalate
    FROM computed_answer_facts(ids) f
    WHERE a.id = f.id
      AND (a.first_answer_on, a.first_implemented_on, a.answers_mirror, a.answers_escalate,
           a.answers_de_escalate)
          IS DISTINCT FROM (f.first_answer_on, f.first_implemented_on, f.answers_mirror,
                            f.answers_escalate, f.answers_de_escalate)
$$;

-- Joins the episodes of two live actions, relabelling the smaller one. Sizes are counted only
-- as far as needed: joining a new answer to a long chain touches a handful of rows.
CREATE FUNCTION merge_episodes(x uuid, y uuid) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    ex uuid := (SELECT episode_id FROM actions WHERE id = x AND deleted_at IS NULL);
    ey uuid := (SELECT episode_id FROM actions WHERE id = y AND deleted_at IS NULL);
    nx bigint;
    ny bigint;
BEGIN
    IF ex IS NULL OR ey IS NULL OR ex = ey THEN
        RETURN;
    END IF;
    nx := (SELECT count(*) FROM (SELECT FROM actions WHERE episode_id = ex LIMIT 100) s);
    ny := (SELECT count(*) FROM (SELECT FROM actions WHERE episode_id = ey LIMIT nx + 1) s);
    IF nx = 100 AND ny > nx THEN
        nx := (SELECT count(*) FROM actions WHERE episode_id = ex);
        ny := (SELECT count(*) FROM actions WHERE episode_id = ey);
    END IF;
    IF ny <= nx THEN
        UPDATE actions SET episode_id = ex WHERE episode_id = ey;
    ELSE
        UPDATE actions SET episode_id = ey WHERE episode_id = ex;
    END IF;
END;
$$;

-- After edges or actions went away: gives each given live action's component its own label
-- where it no longer holds every action of its old label.
CREATE FUNCTION split_episodes(starts uuid[]) RETURNS void
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

CREATE FUNCTION actions_graph_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.deleted_at IS NULL THEN
        NEW.episode_id := coalesce(NEW.episode_id, gen_random_uuid());
    ELSE
        NEW.episode_id := NULL;
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER actions_graph_insert BEFORE INSERT ON actions
    FOR EACH ROW EXECUTE FUNCTION actions_graph_insert();

CREATE FUNCTION actions_graph_update() RETURNS trigger
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

CREATE TRIGGER actions_graph_update
    AFTER UPDATE OF initiator_id, target_id, announced_on, severity, deleted_at ON actions
    FOR EACH ROW
    WHEN ((OLD.initiator_id, OLD.target_id, OLD.announced_on, OLD.severity, OLD.deleted_at IS NULL)
          IS DISTINCT FROM
          (NEW.initiator_id, NEW.target_id, NEW.announced_on, NEW.severity, NEW.deleted_at IS NULL))
    EXECUTE FUNCTION actions_graph_update();

CREATE FUNCTION responses_graph_change() RETURNS trigger
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

CREATE TRIGGER responses_graph_change AFTER INSERT OR UPDATE OR DELETE ON responses
    FOR EACH ROW EXECUTE FUNCTION responses_graph_change();

-- Everything stored that disagrees with a recomputation from scratch: facts that differ, and
-- actions whose episode label is not shared with exactly their component. Empty when the
-- triggers (and `riposte generate`) did their job.
CREATE FUNCTION check_graph_facts()
RETURNS TABLE (id uuid, problem text)
LANGUAGE sql STABLE AS $$
    SELECT a.id, 'answer facts ' || row(a.first_answer_on, a.first_implemented_on,
               a.answers_mirror, a.answers_escalate, a.answers_de_escalate)::text
               || ' but computed ' || row(f.first_answer_on, f.first_implemented_on,
               f.answers_mirror, f.answers_escalate, f.answers_de_escalate)::text
    FROM actions a
    JOIN computed_answer_facts(ARRAY(SELECT id FROM actions)) f ON f.id = a.id
    WHERE (a.first_answer_on, a.first_implemented_on, a.answers_mirror, a.answers_escalate,
           a.answers_de_escalate)
          IS DISTINCT FROM (f.first_answer_on, f.first_implemented_on, f.answers_mirror,
                            f.answers_escalate, f.answers_de_escalate)
    UNION ALL
    SELECT a.id, 'deleted but in episode ' || a.episode_id
    FROM actions a WHERE a.deleted_at IS NOT NULL AND a.episode_id IS NOT NULL
    UNION ALL
    SELECT a.id, 'live without an episode'
    FROM actions a WHERE a.deleted_at IS NULL AND a.episode_id IS NULL
    UNION ALL
    SELECT a.id, 'episode ' || a.episode_id || ' has ' || labelled.n
                 || ' actions but the component has ' || component.n
    FROM actions a
    JOIN (SELECT episode_id, count(*) AS n FROM actions GROUP BY episode_id) labelled
        ON labelled.episode_id = a.episode_id
    CROSS JOIN LATERAL (SELECT count(*) AS n,
                               count(*) FILTER (WHERE b.episode_id = a.episode_id) AS same
                        FROM episode_members(a.id) m JOIN actions b ON b.id = m.id) component
    WHERE a.deleted_at IS NULL AND (labelled.n <> component.n OR component.same <> component.n)
$$;

-- Backfill.
SELECT refresh_answer_facts(ARRAY(SELECT id FROM actions));

CREATE INDEX actions_episode_idx ON actions (episode_id, announced_on, id)
    WHERE episode_id IS NOT NULL;

DO $$
DECLARE
    s uuid;
BEGIN
    FOR s IN SELECT id FROM actions WHERE deleted_at IS NULL LOOP
        CONTINUE WHEN (SELECT episode_id FROM actions WHERE id = s) IS NOT NULL;
        UPDATE actions SET episode_id = fresh FROM (SELECT gen_random_uuid() AS fresh) f
        WHERE id = ANY(ARRAY(SELECT id FROM episode_members(s)));
    END LOOP;
END $$;

-- Dyad analysis reads every action of a dyad from this index alone.
DROP INDEX actions_dyad_idx;
CREATE INDEX actions_dyad_idx ON actions (initiator_id, target_id, announced_on DESC, id DESC)
    INCLUDE (severity, status, type_code, effective_to, deleted_at, first_answer_on,
             first_implemented_on, answers_mirror, answers_escalate, answers_de_escalate);
