-- GET /v1/actions?initiator=CODE&limit=50: the first page (newest first) of one initiator's
-- actions.
-- This file is the statement's `page` CTE; the rest, shared with the other list scripts, is
-- page_items.sql, which bench.py appends to it (into bench/.work/sql/) for pgbench.
-- Variables: initiator_id (the initiator's id: the server resolves the code first).
WITH page AS MATERIALIZED (
    SELECT * FROM actions
    WHERE initiator_id = :initiator_id AND deleted_at IS NULL
    ORDER BY announced_on DESC, id DESC LIMIT 50),
