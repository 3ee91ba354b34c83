-- Applies what is pending, then restores the functions of migrations 000012, 000016 and
-- 000018.
SELECT store_action_tallies(ARRAY(SELECT t FROM action_tallies_pending));
DROP VIEW dyad_period_rows, category_period_rows;

DROP FUNCTION sequence_changes();
ALTER FUNCTION number_changes() RENAME TO sequence_changes;
DROP FUNCTION apply_action_tallies(action_tally[]);
ALTER FUNCTION store_action_tallies(action_tally[]) RENAME TO apply_action_tallies;

CREATE OR REPLACE FUNCTION actions_tally_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM apply_action_tallies(ARRAY(
        SELECT ROW(n.initiator_id, n.target_id, n.announced_on, n.severity, n.type_code, 1)
               ::action_tally
        FROM new_rows n WHERE n.deleted_at IS NULL));
    RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION rebuild_analysis_aggregates()
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE dyad_periods, category_periods;
    PERFORM apply_action_tallies(live_action_tallies());
END;
$$;

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

DROP FUNCTION fold_pending_tallies();
DROP FUNCTION take_pending_tallies(action_tally[]);
DROP FUNCTION tally_pending_max();
DROP TABLE action_tallies_pending;
