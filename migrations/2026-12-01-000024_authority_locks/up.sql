-- An action's authority must act for its initiator (actor_acts_for, migration 000013), and a
-- change of an actor's country or parent is refused when it would break that for a stored
-- action. Both checks read committed data, so an action written while its authority's
-- chain is being changed could pass its check against the old chain while the change's
-- check cannot see the uncommitted action. A writer of actions locks the rows of each
-- authority's parent chain first (KEY SHARE: writers of actions do not wait for each other,
-- only for a change of one of those actors, which holds the row FOR UPDATE); its check then
-- runs in a statement that starts after any such change committed.
CREATE FUNCTION lock_actor_chains(ids uuid[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM actors
    WHERE id IN (
        WITH RECURSIVE up(id, parent_id, depth) AS (
            SELECT id, parent_id, 0 FROM actors WHERE id = ANY (ids)
            UNION ALL
            SELECT a.id, a.parent_id, up.depth + 1 FROM actors a JOIN up ON a.id = up.parent_id
            WHERE up.depth < 100)
        SELECT id FROM up)
    ORDER BY id
    FOR KEY SHARE;
END $$;
