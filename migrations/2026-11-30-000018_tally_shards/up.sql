-- Shards for the analysis aggregates (migration 000016). Every insert adds to the rows of its
-- dyad and of its categories, and to the rows of all actors (the nil uuid): with one row per
-- key, every writing transaction held the same few rows from its insert to its commit, so
-- concurrent writers queued behind each other (16 writers posting: 180 actions/s, each
-- waiting about 75 ms in the trigger). Each key now has up to 16 rows; a transaction adds to
-- the one of its backend (pg_backend_pid() % 16), so concurrent writers rarely meet. Readers
-- already sum rows (over a window's periods) and take the latest `last`, so they read the
-- shards as they are; a key whose rows sum to nothing is removed with all its rows.
--
-- Taking rows away also only recomputes `last` where what was taken away was on or after it,
-- and reads it with two backward index scans (dyad_last_day) instead of a max() over every
-- action of the dyad in the period (the whole-time row of a busy dyad: about 24 ms a delete).

ALTER TABLE dyad_periods ADD COLUMN shard smallint NOT NULL DEFAULT 0;
ALTER TABLE dyad_periods DROP CONSTRAINT dyad_periods_pkey;
ALTER TABLE dyad_periods ADD PRIMARY KEY (grain, start, lo, hi, shard);
ALTER TABLE category_periods ADD COLUMN shard smallint NOT NULL DEFAULT 0;
ALTER TABLE category_periods DROP CONSTRAINT category_periods_pkey;
ALTER TABLE category_periods ADD PRIMARY KEY (grain, actor_id, start, category, shard);

-- The last day with a live action of the dyad {a, b}, either way, in [from_day, before):
-- the first entry of each direction in actions_dyad_idx, read from its end.
CREATE FUNCTION dyad_last_day(a uuid, b uuid, from_day date, before date)
RETURNS date
LANGUAGE sql STABLE AS $$
    SELECT max(s.day) FROM (
        (SELECT x.announced_on AS day FROM actions x
         WHERE x.initiator_id = a AND x.target_id = b AND x.deleted_at IS NULL
           AND x.announced_on >= from_day AND x.announced_on < before
         ORDER BY x.announced_on DESC LIMIT 1)
        UNION ALL
        (SELECT x.announced_on FROM actions x
         WHERE x.initiator_id = b AND x.target_id = a AND x.deleted_at IS NULL
           AND x.announced_on >= from_day AND x.announced_on < before
         ORDER BY x.announced_on DESC LIMIT 1)) s
$$;

CREATE OR REPLACE FUNCTION apply_action_tallies(t action_tally[])
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    removed action_tally[] := ARRAY(SELECT x FROM unnest(t) x WHERE x.sign < 0);
    my_shard smallint := pg_backend_pid() % 16;
BEGIN
    IF cardinality(t) = 0 THEN
        RETURN;
    END IF;
    -- In key order, in every transaction, so that concurrent writers lock the rows they share
    -- in the same order and never deadlock.
    INSERT INTO dyad_periods AS d
        (grain, start, lo, hi, lo_n, lo_severity, hi_n, hi_severity, last, shard)
    SELECT s.*, my_shard FROM dyad_period_sums(t) s ORDER BY 1, 2, 3, 4
    ON CONFLICT (grain, start, lo, hi, shard) DO UPDATE
        SET lo_n = d.lo_n + excluded.lo_n, lo_severity = d.lo_severity + excluded.lo_severity,
            hi_n = d.hi_n + excluded.hi_n, hi_severity = d.hi_severity + excluded.hi_severity,
            last = greatest(d.last, excluded.last);
    INSERT INTO category_periods AS c (grain, actor_id, start, category, n, shard)
    SELECT s.*, my_shard FROM category_period_sums(t) s ORDER BY 1, 2, 3, 4
    ON CONFLICT (grain, actor_id, start, category, shard) DO UPDATE SET n = c.n + excluded.n;
    IF cardinality(removed) = 0 THEN
        RETURN;
    END IF;
    -- Keys whose rows now sum to nothing go, all shards.
    DELETE FROM dyad_periods d
    USING (SELECT z.grain, z.start, z.lo, z.hi
           FROM dyad_periods z JOIN dyad_period_sums(removed) r
                ON (z.grain, z.start, z.lo, z.hi) = (r.grain, r.start, r.lo, r.hi)
           GROUP BY 1, 2, 3, 4 HAVING sum(z.lo_n) = 0 AND sum(z.hi_n) = 0) e
    WHERE (d.grain, d.start, d.lo, d.hi) = (e.grain, e.start, e.lo, e.hi);
    -- The last day, where what went was on or after it.
    UPDATE dyad_periods d
    SET last = dyad_last_day(d.lo, d.hi, d.start, tally_period_end(d.grain, d.start))
    FROM (SELECT p.grain, p.start, least(x.initiator_id, x.target_id) AS lo,
                 greatest(x.initiator_id, x.target_id) AS hi, max(x.announced_on) AS gone
          FROM unnest(removed) x, tally_periods(x.announced_on) p
          GROUP BY 1, 2, 3, 4) r
    WHERE (d.grain, d.start, d.lo, d.hi) = (r.grain, r.start, r.lo, r.hi)
      AND (d.last IS NULL OR r.gone >= d.last);
    DELETE FROM category_periods c
    USING (SELECT z.grain, z.actor_id, z.start, z.category
           FROM category_periods z JOIN category_period_sums(removed) r
                ON (z.grain, z.actor_id, z.start, z.category)
                   = (r.grain, r.actor_id, r.start, r.category)
           GROUP BY 1, 2, 3, 4 HAVING sum(z.n) = 0) e
    WHERE (c.grain, c.actor_id, c.start, c.category) = (e.grain, e.actor_id, e.start, e.category);
END;
$$;

-- Deletes by statement, like inserts: one call per statement. Row by row, a bulk delete of a
-- dyad's newest actions re-read each key's last day once per row, past every row the
-- statement had already deleted (quadratic: 25,000 deletes ran for over 15 minutes).
-- Updates stay row triggers: only they can name the columns that count, and a statement
-- trigger would capture every row the graph triggers update (an import's answer facts:
-- hundreds of thousands of wide rows) in its transition tables.
DROP TRIGGER actions_tally_deleted ON actions;
CREATE FUNCTION actions_tally_deleted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM apply_action_tallies(ARRAY(
        SELECT ROW(o.initiator_id, o.target_id, o.announced_on, o.severity, o.type_code, -1)
               ::action_tally
        FROM old_rows o WHERE o.deleted_at IS NULL));
    RETURN NULL;
END;
$$;
CREATE TRIGGER actions_tally_deleted AFTER DELETE ON actions
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION actions_tally_deleted();

-- As before, with the shards of each key summed.
CREATE OR REPLACE FUNCTION check_analysis_aggregates()
RETURNS TABLE (key text, problem text)
LANGUAGE sql STABLE AS $$
    WITH t AS MATERIALIZED (SELECT live_action_tallies() AS t),
    d AS (SELECT grain, start, lo, hi, sum(lo_n)::integer AS lo_n,
                 sum(lo_severity) AS lo_severity, sum(hi_n)::integer AS hi_n,
                 sum(hi_severity) AS hi_severity, max(last) AS last
          FROM dyad_periods GROUP BY 1, 2, 3, 4),
    c AS (SELECT grain, actor_id, start, category, sum(n)::integer AS n
          FROM category_periods GROUP BY 1, 2, 3, 4)
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
