-- The rest of the statement of list_first_page.sql, list_deep_page.sql and search.sql, after
-- their `page` CTE (the page's actions). bench.py appends this file, without this comment,
-- to each of them and gives pgbench the result (bench/.work/sql/<script>).
-- Like the server, it reads the page first, then everything embedded in it by arrays of
-- ids (actors, designations, sources, responses), and builds each action's JSON as
-- bench.action_doc does (action_doc.sql). (Materialized CTEs: each is computed once;
-- letting the planner inline them into one large join was slower.)
refs AS MATERIALIZED (
    SELECT id, json_build_object('id', id, 'code', code, 'name', name, 'kind', kind) AS j FROM actors
    WHERE id = ANY(ARRAY(SELECT initiator_id FROM page UNION SELECT target_id FROM page
                         UNION SELECT authority_id FROM page))),
des AS MATERIALIZED (
    SELECT d.action_id, json_agg(json_build_object(
               'actor', json_build_object('id', x.id, 'code', x.code, 'name', x.name, 'kind', x.kind),
               'listed_on', d.listed_on) ORDER BY x.code) AS j
    FROM designations d JOIN actors x ON x.id = d.actor_id
    WHERE d.action_id = ANY(ARRAY(SELECT id FROM page)) GROUP BY d.action_id),
src AS MATERIALIZED (
    SELECT s.action_id, json_agg(json_build_object('url', s.url, 'publisher', s.publisher,
               'published_on', s.published_on, 'quote', s.quote) ORDER BY s.id) AS j
    FROM sources s WHERE s.action_id = ANY(ARRAY(SELECT id FROM page)) GROUP BY s.action_id),
resp AS MATERIALIZED (
    SELECT r.action_id, json_agg(json_build_object('action', r.responds_to_id, 'relation', r.relation)
               ORDER BY r.responds_to_id) AS j
    FROM responses r WHERE r.action_id = ANY(ARRAY(SELECT id FROM page)) GROUP BY r.action_id)
SELECT json_build_object('items', coalesce(json_agg(json_build_object(
    'id', a.id, 'title', a.title, 'summary', a.summary,
    'initiator', (SELECT j FROM refs WHERE id = a.initiator_id),
    'target', (SELECT j FROM refs WHERE id = a.target_id),
    'authority', (SELECT j FROM refs WHERE id = a.authority_id),
    'type', a.type_code, 'category', (SELECT category FROM action_types WHERE code = a.type_code),
    'status', a.status, 'announced_on', a.announced_on, 'date_precision', a.date_precision,
    'effective_from', a.effective_from, 'effective_to', a.effective_to,
    'legal_basis', a.legal_basis, 'program', a.program, 'severity', a.severity, 'tags', a.tags,
    'designations', coalesce((SELECT j FROM des WHERE action_id = a.id), '[]'),
    'sources', coalesce((SELECT j FROM src WHERE action_id = a.id), '[]'),
    'responds_to', coalesce((SELECT j FROM resp WHERE action_id = a.id), '[]'),
    'created_at', a.created_at, 'updated_at', a.updated_at, 'version', a.version)
    ORDER BY a.announced_on DESC, a.id DESC), '[]'))
FROM page a;
