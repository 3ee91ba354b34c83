-- New actions are counted in the analysis aggregates after their commit, not inside it.
--
-- Adding one action to the aggregates (migrations 000016, 000018) upserts 17 rows: five
-- periods of its dyad and four of each of its two actors and of all actions. That was the
-- largest part of creating an action (0.64 ms of about 2.2 ms of database time on one
-- connection), and the rows of a busy dyad are the same for every writer. A statement that
-- inserts a few actions now appends one row per action to `action_tallies_pending` (no
-- index, no lock on shared rows); the sequencer, which runs soon after every commit (src/
-- wake.rs) and on every follower's poll, folds them into the aggregates in one batch. Under
-- 16 concurrent POSTs on one dyad: 499 → 585 actions/s by hand (three alternating 15 s runs).
--
-- Nothing reads a stale count: readers read the views `dyad_period_rows` and
-- `category_period_rows`, the stored rows plus the rows of the pending tallies, which they
-- sum as they already summed shards. Folding changes where a count is kept, not its value.
--
-- What stays in the writing transaction:
-- * statements that insert many actions (imports): one batched upsert serves all of them,
--   and the views must not sum an import's worth of pending rows on every read;
-- * taking away (updates of what counts, deletes, purges). A removal recomputes the last
--   day of its dyad's periods from the actions, so a pending addition to the same dyad
--   folded after it could bring back a day that no longer counts. A removal therefore first
--   takes and applies the pending tallies of its dyads; where a fold has already taken them,
--   its DELETE waits for that fold to commit and then sees them applied. Counts by category
--   have no last day: their additions and removals commute.
--
-- Folds skip the rows another transaction holds (SKIP LOCKED), so several processes fold
-- side by side. A fold gives up after `lock_timeout` when an aggregate row it must update is
-- held (a removal or an import still open): it must be the one that yields in a deadlock,
-- never a writer. What it gives back stays pending, still counted, for the next run.

CREATE TABLE action_tallies_pending (t action_tally NOT NULL)
    WITH (autovacuum_vacuum_threshold = 1000, autovacuum_vacuum_scale_factor = 0,
          autovacuum_vacuum_insert_threshold = 1000,
          autovacuum_vacuum_insert_scale_factor = 0);

-- The most actions one statement may leave pending; larger statements are applied at once.
CREATE FUNCTION tally_pending_max() RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT 64 $$;

-- Takes the pending tallies of the dyads that `removed` takes away from, waiting for a fold
-- that holds them.
CREATE FUNCTION take_pending_tallies(removed action_tally[]) RETURNS action_tally[]
LANGUAGE plpgsql AS $$
DECLARE
    taken action_tally[];
BEGIN
    WITH d AS (
        DELETE FROM action_tallies_pending p
        WHERE (least((p.t).initiator_id, (p.t).target_id),
               greatest((p.t).initiator_id, (p.t).target_id))
              IN (SELECT least(x.initiator_id, x.target_id), greatest(x.initiator_id, x.target_id)
                  FROM unnest(removed) x WHERE x.sign < 0)
        RETURNING p.t)
    SELECT array_agg(d.t) INTO taken FROM d;
    RETURN coalesce(taken, '{}');
END $$;

-- The sequencer's fold: how many pending tallies it applied.
CREATE FUNCTION fold_pending_tallies() RETURNS integer
LANGUAGE plpgsql SET lock_timeout = '100ms' AS $$
DECLARE
    t action_tally[];
BEGIN
    WITH d AS (
        DELETE FROM action_tallies_pending p
        WHERE p.ctid = ANY (ARRAY(SELECT q.ctid FROM action_tallies_pending q
                                  LIMIT 10000 FOR UPDATE SKIP LOCKED))
        RETURNING p.t)
    SELECT array_agg(d.t) INTO t FROM d;
    IF t IS NULL THEN
        RETURN 0;
    END IF;
    PERFORM store_action_tallies(t);
    RETURN cardinality(t);
EXCEPTION WHEN lock_not_available THEN
    RETURN 0;
END $$;

CREATE OR REPLACE FUNCTION actions_tally_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    t action_tally[] := ARRAY(
        SELECT ROW(n.initiator_id, n.target_id, n.announced_on, n.severity, n.type_code, 1)
               ::action_tally
        FROM new_rows n WHERE n.deleted_at IS NULL);
BEGIN
    IF cardinality(t) <= tally_pending_max() THEN
        INSERT INTO action_tallies_pending (t) SELECT x FROM unnest(t) x;
    ELSE
        PERFORM apply_action_tallies(t);
    END IF;
    RETURN NULL;
END;
$$;

-- Migration 000018's apply_action_tallies keeps its body under a new name, and the name
-- becomes a wrapper that first applies the pending tallies of the dyads a removal touches.
ALTER FUNCTION apply_action_tallies(action_tally[]) RENAME TO store_action_tallies;
CREATE FUNCTION apply_action_tallies(t action_tally[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM unnest(t) x WHERE x.sign < 0) THEN
        PERFORM store_action_tallies(take_pending_tallies(t));
    END IF;
    PERFORM store_action_tallies(t);
END $$;

-- What readers read: the stored rows and those of the pending tallies, one per pending
-- action (readers sum rows per key, as they sum shards).
CREATE VIEW dyad_period_rows AS
    SELECT grain, start, lo, hi, lo_n, lo_severity, hi_n, hi_severity, last FROM dyad_periods
    UNION ALL
    SELECT s.grain, s.start, s.lo, s.hi, s.lo_n, s.lo_severity, s.hi_n, s.hi_severity, s.last
    FROM action_tallies_pending p, dyad_period_sums(ARRAY[p.t]) s;

CREATE VIEW category_period_rows AS
    SELECT grain, actor_id, start, category, n FROM category_periods
    UNION ALL
    SELECT s.grain, s.actor_id, s.start, s.category, s.n
    FROM action_tallies_pending p, category_period_sums(ARRAY[p.t]) s;

CREATE OR REPLACE FUNCTION rebuild_analysis_aggregates()
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE dyad_periods, category_periods, action_tallies_pending;
    PERFORM store_action_tallies(live_action_tallies());
END;
$$;

-- As in migration 000018, comparing what readers see (the views) with a recomputation.
CREATE OR REPLACE FUNCTION check_analysis_aggregates()
RETURNS TABLE (key text, problem text)
LANGUAGE sql STABLE AS $$
    WITH t AS MATERIALIZED (SELECT live_action_tallies() AS t),
    d AS (SELECT grain, start, lo, hi, sum(lo_n)::integer AS lo_n,
                 sum(lo_severity) AS lo_severity, sum(hi_n)::integer AS hi_n,
                 sum(hi_severity) AS hi_severity, max(last) AS last
          FROM dyad_period_rows GROUP BY 1, 2, 3, 4),
    c AS (SELECT grain, actor_id, start, category, sum(n)::integer AS n
          FROM category_period_rows GROUP BY 1, 2, 3, 4)
    SELECT concat_ws(' ', 'dyad', coalesce(d.grain, e.grain), coalesce(d.start, e.start),
                     coalesce(d.lo, e.lo), coalesce(d.hi, e.hi)),
           'stored ' || coalesce(row(d.lo_n, d.lo_severity, d.hi_n, d.hi_severity, d.last)::text, 'nothing')
           || ' but computed '
           || coalesce(row(e.lo_n, e.lo_severity, e.hi_n, e.hi_severity, e.last)::text, 'nothing')
    FROM d
    FULL JOIN (SELECT s.* FROM t, dyad_period_sums(t.t) s) e
        ON (d.grain, d.start, d.lo, d.hi) = (e.grain, e.start, e.lo, e.hi)
    WHERE row(d.lo_n, d.lo_severity, d.hi_n, d.hi_severity, d.last)
          IS DISTINCT FROM row(e.lo_n, e.lo_severity, e.hi_n, e.hi_severity, e.last)
    UNION ALL
    SELECT concat_ws(' ', 'category', coalesce(c.grain, e.grain), coalesce(c.actor_id, e.actor_id),
                     coalesce(c.start, e.start), coalesce(c.category, e.category)),
           'stored ' || coalesce(c.n::text, 'nothing') || ' but computed '
           || coalesce(e.n::text, 'nothing')
    FROM c
    FULL JOIN (SELECT s.* FROM t, category_period_sums(t.t) s) e
        ON (c.grain, c.actor_id, c.start, c.category)
           = (e.grain, e.actor_id, e.start, e.category)
    WHERE c.n IS DISTINCT FROM e.n
$$;

-- Migration 000012's sequencer keeps its body under a new name; each run first folds the
-- pending tallies (the sequencer runs soon after every commit of riposte's and on every
-- follower's poll).
ALTER FUNCTION sequence_changes() RENAME TO number_changes;
CREATE FUNCTION sequence_changes() RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
    PERFORM fold_pending_tallies();
    RETURN number_changes();
END $$;
