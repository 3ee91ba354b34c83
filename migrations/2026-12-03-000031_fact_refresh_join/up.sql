-- refresh_answer_facts(ids) joins the computed facts to `actions` by primary key only.
--
-- Its UPDATE (migration 000009) also named the rows `a.id = ANY (ids)`: the planner, which
-- cannot see the array's length and takes it for 10 ids, then looped over a materialized
-- scan of the computed facts for every row, both sides `= ANY (ids)`: quadratic in the ids.
-- An import of 20,000 new actions answering each other, into an empty database, spent 11 s
-- in this one statement (200 million comparisons); 1,900 actions with 100 answers each, 34 s.
-- Each computed row now finds its action by the primary key.

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
