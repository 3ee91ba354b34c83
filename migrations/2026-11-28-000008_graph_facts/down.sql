DROP TRIGGER responses_graph_change ON responses;
DROP TRIGGER actions_graph_update ON actions;
DROP TRIGGER actions_graph_insert ON actions;
DROP FUNCTION check_graph_facts();
DROP FUNCTION responses_graph_change();
DROP FUNCTION actions_graph_update();
DROP FUNCTION actions_graph_insert();
DROP FUNCTION split_episodes(uuid[]);
DROP FUNCTION merge_episodes(uuid, uuid);
DROP FUNCTION refresh_answer_facts(uuid[]);
DROP FUNCTION computed_answer_facts(uuid[]);
DROP FUNCTION episode_members(uuid);
DROP INDEX actions_dyad_idx;
DROP INDEX actions_episode_idx;
ALTER TABLE actions
    DROP COLUMN episode_id,
    DROP COLUMN first_answer_on,
    DROP COLUMN first_implemented_on,
    DROP COLUMN answers_mirror,
    DROP COLUMN answers_escalate,
    DROP COLUMN answers_de_escalate;
CREATE INDEX actions_dyad_idx ON actions (initiator_id, target_id, announced_on DESC, id DESC)
    INCLUDE (severity, status, type_code, effective_to, deleted_at);
