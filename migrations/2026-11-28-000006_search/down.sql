DROP INDEX actions_updated_idx;
DROP INDEX actions_severity_idx;
DROP INDEX actions_tags_idx;
DROP INDEX actions_search_idx;
ALTER TABLE actions DROP COLUMN search;
ALTER TABLE actions DROP COLUMN designated_names;
