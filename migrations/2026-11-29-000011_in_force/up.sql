-- The one definition of "in force on a day", used by the list filter `as_of`, the dyad
-- summary and an actor's designations: the status the action had that day (the last status
-- change on or before it) is `in_force`, and the day is not after `effective_to`. A change
-- dated D applies from D on: a measure lifted on D is no longer in force on D; one that takes
-- effect on D is. A plain SQL expression, so the planner inlines it where it is used.
CREATE FUNCTION in_force(status_on_day text, effective_to date, day date)
RETURNS boolean LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(status_on_day = 'in_force' AND (effective_to IS NULL OR effective_to >= day),
                    false)
$$;
