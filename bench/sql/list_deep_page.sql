-- GET /v1/actions?initiator=CODE&limit=50&page_token=...: the page after a given
-- (announced_on, id) position, the keyset condition a page token stands for; otherwise the
-- same as list_first_page.sql.
-- This file is the statement's `page` CTE; the rest, shared with the other list scripts, is
-- page_items.sql, which bench.py appends to it (into bench/.work/sql/) for pgbench.
-- Variables: initiator_id (the initiator's id: the server resolves the code first), after_date, after_id (the last item before the page).
WITH page AS MATERIALIZED (
    SELECT * FROM actions
    WHERE initiator_id = :initiator_id AND deleted_at IS NULL
      AND (announced_on, id) < (:after_date::date, :after_id::uuid)
    ORDER BY announced_on DESC, id DESC LIMIT 50),
