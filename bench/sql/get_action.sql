-- GET /v1/actions/{id}: one action as the API's JSON, with its actors, designations,
-- sources and the actions it answers (the view bench.action_doc of action_doc.sql). The id
-- is drawn from bench.bench_ids, the list of ids that wrk's by_id.lua draws from too (see
-- bench/README.md).
-- Variables: count (rows in bench.bench_ids).
\set n random(1, :count)
SELECT doc FROM bench.action_doc
WHERE id = (SELECT id FROM bench.bench_ids WHERE n = :n) AND deleted_at IS NULL;
