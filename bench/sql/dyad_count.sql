-- The plain count behind GET /v1/dyads/{a}/{b}: the dyad's actions in both directions.
-- Variables: a, b (actor ids).
SELECT count(*) FROM actions
WHERE (initiator_id = :a AND target_id = :b) OR (initiator_id = :b AND target_id = :a);
