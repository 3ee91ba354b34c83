-- GET /v1/actions/{id}: one action as the API's JSON, with its actors, designations,
-- sources and the actions it answers. The id is drawn from bench.bench_ids, the list of
-- ids that wrk's by_id.lua draws from too (see bench/README.md).
-- Variables: count (rows in bench.bench_ids).
\set n random(1, :count)
SELECT json_build_object(
    'id', a.id, 'title', a.title, 'summary', a.summary,
    'initiator', (SELECT json_build_object('id', x.id, 'code', x.code, 'name', x.name, 'kind', x.kind)
                  FROM actors x WHERE x.id = a.initiator_id),
    'target', (SELECT json_build_object('id', x.id, 'code', x.code, 'name', x.name, 'kind', x.kind)
               FROM actors x WHERE x.id = a.target_id),
    'authority', (SELECT json_build_object('id', x.id, 'code', x.code, 'name', x.name, 'kind', x.kind)
                  FROM actors x WHERE x.id = a.authority_id),
    'type', a.type_code, 'category', t.category, 'status', a.status,
    'announced_on', a.announced_on, 'date_precision', a.date_precision,
    'effective_from', a.effective_from, 'effective_to', a.effective_to,
    'legal_basis', a.legal_basis, 'program', a.program, 'severity', a.severity, 'tags', a.tags,
    'designations', coalesce((
        SELECT json_agg(json_build_object(
                   'actor', json_build_object('id', x.id, 'code', x.code, 'name', x.name, 'kind', x.kind),
                   'listed_on', d.listed_on) ORDER BY x.code)
        FROM designations d JOIN actors x ON x.id = d.actor_id WHERE d.action_id = a.id), '[]'),
    'sources', coalesce((
        SELECT json_agg(json_build_object('url', s.url, 'publisher', s.publisher,
                   'published_on', s.published_on, 'quote', s.quote) ORDER BY s.id)
        FROM sources s WHERE s.action_id = a.id), '[]'),
    'responds_to', coalesce((
        SELECT json_agg(json_build_object('action', r.responds_to_id, 'relation', r.relation)
                   ORDER BY r.responds_to_id)
        FROM responses r WHERE r.action_id = a.id), '[]'),
    'created_at', a.created_at, 'updated_at', a.updated_at, 'version', a.version)
FROM actions a JOIN action_types t ON t.code = a.type_code
WHERE a.id = (SELECT id FROM bench.bench_ids WHERE n = :n) AND a.deleted_at IS NULL;
