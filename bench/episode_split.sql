-- Cost of removing answers from one large episode (migration 000027), by hand: run inside
-- BEGIN ... ROLLBACK on a generated database (riposte generate --actions 10000), after
-- the migration's up.sql in the same transaction for the new functions, without for the old:
--   ( echo BEGIN; cat bench/episode_split.sql; echo ROLLBACK ) | psql ...
-- Every action is made one episode (a chain by date, labels set at once), the last answers
-- 100 others, then its 100 answers are deleted in one statement.
\timing off
SET client_min_messages = warning;
SET riposte.graph_bulk = 'on';
-- One episode of every action: a chain by date, labels set at once.
CREATE TEMP TABLE ordered AS SELECT id, row_number() OVER (ORDER BY announced_on, id) AS n FROM actions WHERE deleted_at IS NULL;
INSERT INTO responses (action_id, responds_to_id, relation)
SELECT b.id, a.id, 'retaliates' FROM ordered a JOIN ordered b ON b.n = a.n + 1
ON CONFLICT DO NOTHING;
UPDATE actions SET episode_id = '00000000-0000-4000-8000-000000000001' WHERE deleted_at IS NULL;
-- The hub: the last action answers 100 others.
INSERT INTO responses (action_id, responds_to_id, relation)
SELECT (SELECT id FROM ordered ORDER BY n DESC LIMIT 1), id, 'retaliates' FROM ordered WHERE n % 97 = 0 AND n < 9900 LIMIT 100
ON CONFLICT DO NOTHING;
SET riposte.graph_bulk = 'off';
SELECT count(*) AS hub_edges FROM responses WHERE action_id = (SELECT id FROM ordered ORDER BY n DESC LIMIT 1);
\timing on
DELETE FROM responses WHERE action_id = (SELECT id FROM ordered ORDER BY n DESC LIMIT 1) AND responds_to_id IN (SELECT id FROM ordered WHERE n % 97 = 0);
\timing off
SELECT count(DISTINCT episode_id) AS episodes FROM actions WHERE deleted_at IS NULL;
