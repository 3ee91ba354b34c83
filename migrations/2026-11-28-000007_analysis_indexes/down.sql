DO $$ BEGIN EXECUTE format('ALTER DATABASE %I RESET jit', current_database()); END $$;
DROP INDEX status_changes_changed_on_idx;
DROP INDEX actions_dyad_idx;
CREATE INDEX actions_dyad_idx ON actions (initiator_id, target_id, announced_on DESC, id DESC);
