-- For each skip reason of an import, why its first record was skipped (`record 7: ...`):
-- the counts alone left users to guess which record of a large file a reason meant.
ALTER TABLE imports ADD COLUMN skipped_first jsonb NOT NULL DEFAULT '{}';
