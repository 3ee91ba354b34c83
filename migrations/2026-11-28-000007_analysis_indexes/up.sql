-- Dyad analysis reads every action of a dyad: the dyad index carries the columns it needs,
-- so that it is answered from the index alone (once vacuum has set the visibility map).
DROP INDEX actions_dyad_idx;
CREATE INDEX actions_dyad_idx ON actions (initiator_id, target_id, announced_on DESC, id DESC)
    INCLUDE (severity, status, type_code, effective_to, deleted_at);

-- Finds the actions whose status changed after a given day, so that "in force on D" can use
-- the current status of every other action instead of reading its history.
CREATE INDEX status_changes_changed_on_idx ON status_changes (changed_on, action_id);

-- No JIT compilation: the analysis queries are estimated costly enough to trigger it, and
-- compiling them takes longer (about a second) than running them.
DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET jit = off', current_database()); END $$;
