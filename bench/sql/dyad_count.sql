-- The plain count behind GET /v1/dyads/{a}/{b}: the dyad's actions in both directions.
-- Written with `= ANY` on both columns (two index range scans, index-only), the fastest form
-- found: `(initiator_id = a AND target_id = b) OR (initiator_id = b AND target_id = a)` makes
-- PostgreSQL scan the whole dyad index, several times slower, which would flatter the ratio.
-- Variables: a, b (actor ids).
SELECT count(*) FROM actions
WHERE initiator_id = ANY (ARRAY[:a, :b]::uuid[]) AND target_id = ANY (ARRAY[:a, :b]::uuid[]);
