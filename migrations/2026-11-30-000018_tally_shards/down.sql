-- Folds the shards back into one row per key, then restores migration 000016's functions.
CREATE TEMP TABLE d AS
SELECT grain, start, lo, hi, sum(lo_n)::integer AS lo_n, sum(lo_severity) AS lo_severity,
       sum(hi_n)::integer AS hi_n, sum(hi_severity) AS hi_severity, max(last) AS last
FROM dyad_periods GROUP BY 1, 2, 3, 4;
CREATE TEMP TABLE c AS
SELECT grain, actor_id, start, category, sum(n)::integer AS n
FROM category_periods GROUP BY 1, 2, 3, 4;
TRUNCATE dyad_periods, category_periods;
ALTER TABLE dyad_periods DROP CONSTRAINT dyad_periods_pkey;
ALTER TABLE dyad_periods DROP COLUMN shard;
ALTER TABLE dyad_periods ADD PRIMARY KEY (grain, start, lo, hi);
ALTER TABLE category_periods DROP CONSTRAINT category_periods_pkey;
ALTER TABLE category_periods DROP COLUMN shard;
ALTER TABLE category_periods ADD PRIMARY KEY (grain, actor_id, start, category);
INSERT INTO dyad_periods SELECT * FROM d;
INSERT INTO category_periods SELECT * FROM c;
DROP TABLE d, c;

CREATE OR REPLACE FUNCTION apply_action_tallies(t action_tally[])
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    removed action_tally[] := ARRAY(SELECT x FROM unnest(t) x WHERE x.sign < 0);
BEGIN
    IF cardinality(t) = 0 THEN
        RETURN;
    END IF;
    INSERT INTO dyad_periods AS d
    SELECT * FROM dyad_period_sums(t) ORDER BY grain, start, lo, hi
    ON CONFLICT (grain, start, lo, hi) DO UPDATE
        SET lo_n = d.lo_n + excluded.lo_n, lo_severity = d.lo_severity + excluded.lo_severity,
            hi_n = d.hi_n + excluded.hi_n, hi_severity = d.hi_severity + excluded.hi_severity,
            last = greatest(d.last, excluded.last);
    INSERT INTO category_periods AS c
    SELECT * FROM category_period_sums(t) ORDER BY grain, actor_id, start, category
    ON CONFLICT (grain, actor_id, start, category) DO UPDATE SET n = c.n + excluded.n;
    IF cardinality(removed) = 0 THEN
        RETURN;
    END IF;
    DELETE FROM dyad_periods d USING dyad_period_sums(removed) r
    WHERE (d.grain, d.start, d.lo, d.hi) = (r.grain, r.start, r.lo, r.hi)
      AND d.lo_n = 0 AND d.hi_n = 0;
    UPDATE dyad_periods d
    SET last = (SELECT max(a.announced_on) FROM actions a
                WHERE a.initiator_id = ANY (ARRAY[d.lo, d.hi])
                  AND a.target_id = ANY (ARRAY[d.lo, d.hi])
                  AND a.deleted_at IS NULL
                  AND a.announced_on >= d.start
                  AND a.announced_on < tally_period_end(d.grain, d.start))
    FROM dyad_period_sums(removed) r
    WHERE (d.grain, d.start, d.lo, d.hi) = (r.grain, r.start, r.lo, r.hi);
    DELETE FROM category_periods c USING category_period_sums(removed) r
    WHERE (c.grain, c.actor_id, c.start, c.category) = (r.grain, r.actor_id, r.start, r.category)
      AND c.n = 0;
END;
$$;

DROP FUNCTION dyad_last_day(uuid, uuid, date, date);

DROP TRIGGER actions_tally_deleted ON actions;
DROP FUNCTION actions_tally_deleted();
CREATE TRIGGER actions_tally_deleted AFTER DELETE ON actions
    FOR EACH ROW WHEN (OLD.deleted_at IS NULL)
    EXECUTE FUNCTION actions_tally_changed();

CREATE OR REPLACE FUNCTION check_analysis_aggregates()
RETURNS TABLE (key text, problem text)
LANGUAGE sql STABLE AS $$
    WITH t AS MATERIALIZED (SELECT live_action_tallies() AS t)
    SELECT concat_ws(' ', 'dyad', coalesce(d.grain, e.grain), coalesce(d.start, e.start),
                     coalesce(d.lo, e.lo), coalesce(d.hi, e.hi)),
           'stored ' || coalesce(row(d.lo_n, d.lo_severity, d.hi_n, d.hi_severity, d.last)::text, 'nothing')
           || ' but computed '
           || coalesce(row(e.lo_n, e.lo_severity, e.hi_n, e.hi_severity, e.last)::text, 'nothing')
    FROM dyad_periods d
    FULL JOIN (SELECT s.* FROM t, dyad_period_sums(t.t) s) e
        ON (d.grain, d.start, d.lo, d.hi) = (e.grain, e.start, e.lo, e.hi)
    WHERE row(d.lo_n, d.lo_severity, d.hi_n, d.hi_severity, d.last)
          IS DISTINCT FROM row(e.lo_n, e.lo_severity, e.hi_n, e.hi_severity, e.last)
    UNION ALL
    SELECT concat_ws(' ', 'category', coalesce(c.grain, e.grain), coalesce(c.actor_id, e.actor_id),
                     coalesce(c.start, e.start), coalesce(c.category, e.category)),
           'stored ' || coalesce(c.n::text, 'nothing') || ' but computed '
           || coalesce(e.n::text, 'nothing')
    FROM category_periods c
    FULL JOIN (SELECT s.* FROM t, category_period_sums(t.t) s) e
        ON (c.grain, c.actor_id, c.start, c.category)
           = (e.grain, e.actor_id, e.start, e.category)
    WHERE c.n IS DISTINCT FROM e.n
$$;
