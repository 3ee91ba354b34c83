-- GET /v1/actions?q=WORD&limit=50: full-text search, newest first.
-- This file is the statement's `page` CTE; the rest, shared with the other list scripts, is
-- page_items.sql, which bench.py appends to it (into bench/.work/sql/) for pgbench.
-- Variables: q (the search word).
WITH page AS MATERIALIZED (
    SELECT * FROM actions
    WHERE search @@ websearch_to_tsquery('english', :q) AND deleted_at IS NULL
    ORDER BY announced_on DESC, id DESC LIMIT 50),
