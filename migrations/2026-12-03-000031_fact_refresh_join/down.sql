CREATE OR REPLACE FUNCTION refresh_answer_facts(ids uuid[]) RETURNS void
LANGUAGE sql AS $$
    UPDATE actions a
    SET first_answer_on = f.first_answer_on, first_implemented_on = f.first_implemented_on,
        answers_mirror = f.answers_mirror, answers_escalate = f.answers_escalate,
        answers_de_escalate = f.answers_de_escalate
    FROM computed_answer_facts(ids) f
    WHERE a.id = ANY(ids) AND a.id = f.id
      AND (a.first_answer_on, a.first_implemented_on, a.answers_mirror, a.answers_escalate,
           a.answers_de_escalate)
          IS DISTINCT FROM (f.first_answer_on, f.first_implemented_on, f.answers_mirror,
                            f.answers_escalate, f.answers_de_escalate)
$$;
