-- Aggregates of the live actions for the analysis endpoints (issue #13): the most active dyads,
-- timelines and counts by category of any window must not read every action of the window.
-- A window is answered as whole years, quarters and months from these tables plus the days at its
-- edges from the actions' indexes (src/analysis/window.rs); `all` rows answer a window with
-- no bounds at all.
--
-- They are kept in the writing transaction: inserts by a statement trigger over the transition
-- table (one call for a whole import), updates and deletes by row triggers that fire only when
-- something counted changes. `riposte generate` loads with the triggers off and calls
-- rebuild_analysis_aggregates(); check_analysis_aggregates() recomputes everything from scratch
-- and lists what disagrees (the tests call it after every kind of write).
--
-- Severity sums are numeric: sums of float8 added and taken away in any order drift, and the
-- check must compare exactly.

-- What one action counts for: +1 (added) or -1 (taken away).
CREATE TYPE action_tally AS (
    initiator_id uuid,
    target_id    uuid,
    announced_on date,
    severity     double precision,
    type_code    text,
    sign         integer
);

-- The periods an action is counted in: the whole time, its year, its quarter, its month and
-- its day. Quarters halve the rows a long window with uneven ends reads (a partial year is
-- at most two months, three quarters and two months instead of eleven months); days (kept
-- for dyads only, see category_period_sums) answer a window's edge days and day and week
-- timelines from small rows instead of the actions' wide ones.
CREATE FUNCTION tally_periods(day date)
RETURNS TABLE (grain text, start date)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    VALUES ('all', '-infinity'::date),
           ('year', date_trunc('year', day)::date),
           ('quarter', date_trunc('quarter', day)::date),
           ('month', date_trunc('month', day)::date),
           ('day', day)
$$;

-- The day after a period.
CREATE FUNCTION tally_period_end(grain text, start date)
RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE grain WHEN 'all' THEN 'infinity'::date
                      WHEN 'year' THEN (start + interval '1 year')::date
                      WHEN 'quarter' THEN (start + interval '3 months')::date
                      WHEN 'day' THEN start + 1
                      ELSE (start + interval '1 month')::date END
$$;

-- Per undirected dyad (lo < hi, the two actor ids) and period: each direction's count and
-- severity sum, and the last day with an action. The partitions keep each grain's rows
-- together, so a window's whole years are one small sequential scan.
CREATE TABLE dyad_periods (
    grain       text    NOT NULL,
    start       date    NOT NULL,
    lo          uuid    NOT NULL,
    hi          uuid    NOT NULL,
    lo_n        integer NOT NULL,
    lo_severity numeric NOT NULL,
    hi_n        integer NOT NULL,
    hi_severity numeric NOT NULL,
    -- Null only between the two statements of apply_action_tallies that take rows away.
    last        date,
    PRIMARY KEY (grain, start, lo, hi),
    CHECK (lo < hi)
) PARTITION BY LIST (grain);
CREATE TABLE dyad_periods_all PARTITION OF dyad_periods FOR VALUES IN ('all');
CREATE TABLE dyad_periods_year PARTITION OF dyad_periods FOR VALUES IN ('year');
CREATE TABLE dyad_periods_quarter PARTITION OF dyad_periods FOR VALUES IN ('quarter');
CREATE TABLE dyad_periods_month PARTITION OF dyad_periods FOR VALUES IN ('month');
CREATE TABLE dyad_periods_day PARTITION OF dyad_periods FOR VALUES IN ('day');
-- One dyad's periods (timelines, the details of the top dyads), and one actor's dyads.
CREATE INDEX dyad_periods_dyad_idx ON dyad_periods (lo, hi, grain, start);
CREATE INDEX dyad_periods_hi_idx ON dyad_periods (hi, grain, start);

-- Per actor and period, the actions it initiated or was the target of, by category; the
-- nil uuid stands for all actions.
CREATE TABLE category_periods (
    grain    text    NOT NULL,
    actor_id uuid    NOT NULL,
    start    date    NOT NULL,
    category text    NOT NULL,
    n        integer NOT NULL,
    PRIMARY KEY (grain, actor_id, start, category)
) PARTITION BY LIST (grain);
CREATE TABLE category_periods_all PARTITION OF category_periods FOR VALUES IN ('all');
CREATE TABLE category_periods_year PARTITION OF category_periods FOR VALUES IN ('year');
CREATE TABLE category_periods_quarter PARTITION OF category_periods FOR VALUES IN ('quarter');
CREATE TABLE category_periods_month PARTITION OF category_periods FOR VALUES IN ('month');

-- The one definition of both aggregates: what a set of tallies adds to each row (net). The
-- triggers, the rebuild and the check all go through these two functions.
CREATE FUNCTION dyad_period_sums(t action_tally[])
RETURNS TABLE (grain text, start date, lo uuid, hi uuid, lo_n integer, lo_severity numeric,
               hi_n integer, hi_severity numeric, last date)
LANGUAGE sql STABLE AS $$
    SELECT p.grain, p.start,
           least(x.initiator_id, x.target_id), greatest(x.initiator_id, x.target_id),
           coalesce(sum(x.sign) FILTER (WHERE x.initiator_id < x.target_id), 0)::integer,
           coalesce(sum(x.sign * x.severity::numeric)
                    FILTER (WHERE x.initiator_id < x.target_id), 0),
           coalesce(sum(x.sign) FILTER (WHERE x.initiator_id > x.target_id), 0)::integer,
           coalesce(sum(x.sign * x.severity::numeric)
                    FILTER (WHERE x.initiator_id > x.target_id), 0),
           max(x.announced_on) FILTER (WHERE x.sign > 0)
    FROM unnest(t) x, tally_periods(x.announced_on) p
    GROUP BY 1, 2, 3, 4
$$;

CREATE FUNCTION category_period_sums(t action_tally[])
RETURNS TABLE (grain text, actor_id uuid, start date, category text, n integer)
LANGUAGE sql STABLE AS $$
    SELECT p.grain, w.actor_id, p.start, ty.category, sum(x.sign)::integer
    FROM unnest(t) x
    JOIN action_types ty ON ty.code = x.type_code
    CROSS JOIN tally_periods(x.announced_on) p
    CROSS JOIN LATERAL (VALUES (x.initiator_id), (x.target_id),
                               ('00000000-0000-0000-0000-000000000000'::uuid)) w(actor_id)
    -- Counts by category read their edge days from the actions (three rows per action and
    -- day would cost more to write than they save).
    WHERE p.grain <> 'day'
    GROUP BY 1, 2, 3, 4
$$;

-- Adds the tallies to both tables. Rows emptied by removals go; where something was taken
-- away, `last` is read again from the actions (triggers run after the write, so the table
-- already holds the final state).
CREATE FUNCTION apply_action_tallies(t action_tally[])
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    removed action_tally[] := ARRAY(SELECT x FROM unnest(t) x WHERE x.sign < 0);
BEGIN
    IF cardinality(t) = 0 THEN
        RETURN;
    END IF;
    -- In key order, in every transaction, so that concurrent writers lock the rows they share
    -- in the same order and never deadlock.
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

CREATE FUNCTION actions_tally_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM apply_action_tallies(ARRAY(
        SELECT ROW(n.initiator_id, n.target_id, n.announced_on, n.severity, n.type_code, 1)
               ::action_tally
        FROM new_rows n WHERE n.deleted_at IS NULL));
    RETURN NULL;
END;
$$;
CREATE TRIGGER actions_tally_inserted AFTER INSERT ON actions
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION actions_tally_inserted();

-- Updates (a soft delete and a restore are updates of `deleted_at`) and purges: the old row
-- is taken away if it counted, the new one added if it counts.
CREATE FUNCTION actions_tally_changed() RETURNS trigger
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
CREATE TRIGGER actions_tally_updated
    AFTER UPDATE OF initiator_id, target_id, announced_on, severity, type_code, deleted_at
    ON actions FOR EACH ROW
    WHEN (OLD.initiator_id IS DISTINCT FROM NEW.initiator_id
          OR OLD.target_id IS DISTINCT FROM NEW.target_id
          OR OLD.announced_on IS DISTINCT FROM NEW.announced_on
          OR OLD.severity IS DISTINCT FROM NEW.severity
          OR OLD.type_code IS DISTINCT FROM NEW.type_code
          OR (OLD.deleted_at IS NULL) IS DISTINCT FROM (NEW.deleted_at IS NULL))
    EXECUTE FUNCTION actions_tally_changed();
CREATE TRIGGER actions_tally_deleted AFTER DELETE ON actions
    FOR EACH ROW WHEN (OLD.deleted_at IS NULL)
    EXECUTE FUNCTION actions_tally_changed();

-- Every live action, as tallies to add.
CREATE FUNCTION live_action_tallies()
RETURNS action_tally[]
LANGUAGE sql STABLE AS $$
    SELECT ARRAY(SELECT ROW(a.initiator_id, a.target_id, a.announced_on, a.severity,
                            a.type_code, 1)::action_tally
                 FROM actions a WHERE a.deleted_at IS NULL)
$$;

-- Both aggregates from scratch (`riposte generate`, which loads with the triggers off, and
-- this migration's backfill).
CREATE FUNCTION rebuild_analysis_aggregates()
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE dyad_periods, category_periods;
    PERFORM apply_action_tallies(live_action_tallies());
END;
$$;

-- The rows of both aggregates that differ from a recomputation from scratch: empty when the
-- triggers (and `riposte generate`) did their job.
CREATE FUNCTION check_analysis_aggregates()
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

SELECT rebuild_analysis_aggregates();
ANALYZE dyad_periods, category_periods;
