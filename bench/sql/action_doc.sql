-- bench.action_doc: each action as the API's JSON (column `doc`), with its actors,
-- designations, sources and the actions it answers; read by get_action.sql and
-- create_action.sql. bench.py creates it in the `bench` schema before the measurements (the
-- schema is dropped at the end of the run). A plain view: PostgreSQL expands it into the
-- query that reads it before planning, so a script selecting from it does the same work as
-- with the projection written out in it.
CREATE OR REPLACE VIEW bench.action_doc AS
SELECT a.id, a.deleted_at, json_build_object(
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
    'created_at', a.created_at, 'updated_at', a.updated_at, 'version', a.version) AS doc
FROM actions a JOIN action_types t ON t.code = a.type_code;
