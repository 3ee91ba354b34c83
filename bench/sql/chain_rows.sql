-- The rows behind GET /v1/actions/{id}/chain: the episode's actions fetched by id.
-- Variables: ids (a uuid array literal, {id,id,...}: the chain's nodes).
SELECT * FROM actions WHERE id = ANY(:ids::uuid[]);
