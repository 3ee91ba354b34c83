ALTER TABLE imports DROP COLUMN skipped_first;
