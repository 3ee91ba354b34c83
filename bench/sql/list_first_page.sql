-- GET /v1/actions?initiator=CODE&limit=50: the first page (newest first) of one initiator's
-- actions.
-- Like the server, it reads the page first and then everything embedded in it by action id
-- (actors, designations, sources, responses), and builds each action's JSON as in
-- get_action.sql.
-- Variables: initiator (an actor code).
WITH page AS MATERIALIZED (
    SELECT * FROM actions
    WHERE initiator_id = (SELECT id FROM actors WHERE code = :initiator) AND deleted_at IS NULL
    ORDER BY announced_on DESC, id DESC LIMIT 50),
refs AS (
    SELECT id, json_build_object('id', id, 'code', code, 'name', name, 'kind', kind) AS j FROM actors
    WHERE id IN (SELECT initiator_id FROM page UNION SELECT target_id FROM page
                 UNION SELECT authority_id FROM page)),
des AS (
    SELECT d.action_id, json_agg(json_build_object(
               'actor', json_build_object('id', x.id, 'code', x.code, 'name', x.name, 'kind', x.kind),
               'listed_on', d.listed_on) ORDER BY x.code) AS j
    FROM designations d JOIN actors x ON x.id = d.actor_id
    WHERE d.action_id IN (SELECT id FROM page) GROUP BY d.action_id),
src AS (
    SELECT s.action_id, json_agg(json_build_object('url', s.url, 'publisher', s.publisher,
               'published_on', s.published_on, 'quote', s.quote) ORDER BY s.id) AS j
    FROM sources s WHERE s.action_id IN (SELECT id FROM page) GROUP BY s.action_id),
resp AS (
    SELECT r.action_id, json_agg(json_build_object('action', r.responds_to_id, 'relation', r.relation)
               ORDER BY r.responds_to_id) AS j
    FROM responses r WHERE r.action_id IN (SELECT id FROM page) GROUP BY r.action_id)
SELECT json_build_object('items', coalesce(json_agg(json_build_object(
    'id', a.id, 'title', a.title, 'summary', a.summary,
    'initiator', i.j, 'target', tg.j, 'authority', au.j,
    'type', a.type_code, 'category', t.category, 'status', a.status,
    'announced_on', a.announced_on, 'date_precision', a.date_precision,
    'effective_from', a.effective_from, 'effective_to', a.effective_to,
    'legal_basis', a.legal_basis, 'program', a.program, 'severity', a.severity, 'tags', a.tags,
    'designations', coalesce(des.j, '[]'), 'sources', coalesce(src.j, '[]'),
    'responds_to', coalesce(resp.j, '[]'),
    'created_at', a.created_at, 'updated_at', a.updated_at, 'version', a.version)
    ORDER BY a.announced_on DESC, a.id DESC), '[]'))
FROM page a
JOIN action_types t ON t.code = a.type_code
JOIN refs i ON i.id = a.initiator_id
JOIN refs tg ON tg.id = a.target_id
LEFT JOIN refs au ON au.id = a.authority_id
LEFT JOIN des ON des.action_id = a.id
LEFT JOIN src ON src.action_id = a.id
LEFT JOIN resp ON resp.action_id = a.id;
