-- An UPDATE statement's changes to what the analysis aggregates count are applied together,
-- once, at the end of the statement, not row by row.
--
-- A changed severity, date, type, party or deletion took its old row away from the
-- aggregates and added its new one in a row trigger: one call of apply_action_tallies per
-- row, each with its own statements (the pending tallies of the dyad taken, the upserts, the
-- keys summing to nothing removed, the last day recomputed). A PATCH changes one row; an
-- import that changed the severity of 2,000 stored actions made 2,000 calls, about 17 ms
-- each (33.5 s), holding the graph lock meanwhile. The row trigger now only stages its
-- row's tallies; a statement trigger applies what its transaction staged in one call.
--
-- The staged rows live only inside the transaction that wrote them (it deletes them at the
-- end of each statement), so the table is unlogged: nothing in it survives a crash, and
-- nothing needs to. Other transactions never see them uncommitted.

CREATE UNLOGGED TABLE action_tallies_staged (
    xid xid8 NOT NULL DEFAULT pg_current_xact_id(),
    t action_tally NOT NULL
) WITH (autovacuum_vacuum_threshold = 1000, autovacuum_vacuum_scale_factor = 0,
        autovacuum_vacuum_insert_threshold = 1000,
        autovacuum_vacuum_insert_scale_factor = 0);

CREATE OR REPLACE FUNCTION actions_tally_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.deleted_at IS NULL THEN
        INSERT INTO action_tallies_staged (t)
        VALUES (ROW(OLD.initiator_id, OLD.target_id, OLD.announced_on, OLD.severity,
                    OLD.type_code, -1)::action_tally);
    END IF;
    IF NEW.deleted_at IS NULL THEN
        INSERT INTO action_tallies_staged (t)
        VALUES (ROW(NEW.initiator_id, NEW.target_id, NEW.announced_on, NEW.severity,
                    NEW.type_code, 1)::action_tally);
    END IF;
    RETURN NULL;
END;
$$;

-- After the statement's row triggers: what this transaction staged, in one call.
CREATE FUNCTION actions_tally_staged_apply() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    t action_tally[];
BEGIN
    WITH d AS (DELETE FROM action_tallies_staged WHERE xid = pg_current_xact_id()
               RETURNING action_tallies_staged.t)
    SELECT array_agg(d.t) INTO t FROM d;
    IF t IS NOT NULL THEN
        PERFORM apply_action_tallies(t);
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER actions_tally_staged_apply AFTER UPDATE ON actions
    FOR EACH STATEMENT EXECUTE FUNCTION actions_tally_staged_apply();
