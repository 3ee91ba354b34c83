-- Back to the 000008 versions.
CREATE OR REPLACE FUNCTION computed_answer_facts(ids uuid[])
RETURNS TABLE (id uuid, first_answer_on date, first_implemented_on date,
               answers_mirror integer, answers_escalate integer, answers_de_escalate integer)
LANGUAGE sql STABLE AS $$
    SELECT x.id,
           (SELECT min(ans.announced_on)
            FROM responses r JOIN actions ans ON ans.id = r.action_id
            WHERE r.responds_to_id = x.id AND ans.deleted_at IS NULL
              AND ans.initiator_id = x.target_id AND ans.target_id = x.initiator_id),
           (SELECT min(im.announced_on)
            FROM responses r JOIN actions im ON im.id = r.action_id
            WHERE r.responds_to_id = x.id AND r.relation = 'implements'
              AND im.deleted_at IS NULL AND im.initiator_id = x.initiator_id),
           coalesce(g.mirror, 0), coalesce(g.escalate, 0), coalesce(g.de_escalate, 0)
    FROM actions x
    LEFT JOIN LATERAL (
        SELECT count(*) FILTER (WHERE abs(x.severity - t.severity) <= 1.0 + 1e-9)::integer AS mirror,
               count(*) FILTER (WHERE x.severity - t.severity < -1.0 - 1e-9)::integer AS escalate,
               count(*) FILTER (WHERE x.severity - t.severity > 1.0 + 1e-9)::integer AS de_escalate
        FROM responses r JOIN actions t ON t.id = r.responds_to_id
        WHERE r.action_id = x.id AND t.deleted_at IS NULL
          AND t.initiator_id = x.target_id AND t.target_id = x.initiator_id
    ) g ON true
    WHERE x.id = ANY(ids)
$$;

CREATE OR REPLACE FUNCTION refresh_answer_facts(ids uuid[]) RETURNS void
LANGUAGE sql AS $$
    UPDATE actions a
    SET first_answer_on = f.first_answer_on, first_implemented_on = f.first_implemented_on,
        answers_mirror = f.answers_mirror, answers_escalate = f.answers_escalate,
        answers_de_escalate = f.answers_de_escalate
    FROM computed_answer_facts(ids) f
    WHERE a.id = f.id
      AND (a.first_answer_on, a.first_implemented_on, a.answers_mirror, a.answers_escalate,
           a.answers_de_escalate)
          IS DISTINCT FROM (f.first_answer_on, f.first_implemented_on, f.answers_mirror,
                            f.answers_escalate, f.answers_de_escalate)
$$;
