DROP TABLE import_rejections;
DROP TABLE imports;
DROP FUNCTION actor_acts_for(uuid, uuid);
DROP INDEX actions_external_key;
ALTER TABLE actions DROP COLUMN source_dataset, DROP COLUMN external_id;
