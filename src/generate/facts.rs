//! The graph facts that triggers keep on `actions` for live writes (migration 000008,
//! `graph_facts`), computed here from the plan because `generate` loads with those triggers
//! off. Same definitions as the migration's `computed_answer_facts` and `episode_members`;
//! tests/generate.rs checks the loaded data with `check_graph_facts()`.

use uuid::Uuid;

use super::plan::{Act, Day, Edge};
use crate::models::enums::Relation;

#[derive(Debug, Clone, Copy, Default)]
pub struct GraphFacts {
    /// Label of the action's episode (the id of one of its members).
    pub episode: Uuid,
    pub first_answer_on: Option<Day>,
    pub first_implemented_on: Option<Day>,
    pub answers_mirror: i32,
    pub answers_escalate: i32,
    pub answers_de_escalate: i32,
}

/// How an answer's severity compares with what it answers (analysis::dyad::Proportionality),
/// on severities in tenths, where "within 1.0" is exactly "within 10".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Mirror,
    Escalate,
    DeEscalate,
}

impl Class {
    pub fn of(answer10: i16, trigger10: i16) -> Class {
        match answer10 as i32 - trigger10 as i32 {
            d if d.abs() <= 10 => Class::Mirror,
            d if d < -10 => Class::Escalate,
            _ => Class::DeEscalate,
        }
    }
}

fn earliest(slot: &mut Option<Day>, day: Day) {
    *slot = Some(slot.map_or(day, |d| d.min(day)));
}

fn root(parent: &mut [u32], mut i: u32) -> u32 {
    while parent[i as usize] != i {
        let up = parent[parent[i as usize] as usize];
        parent[i as usize] = up;
        i = up;
    }
    i
}

/// Generated actions are all live, so every edge counts.
pub fn compute(acts: &[Act], edges: &[Edge]) -> Vec<GraphFacts> {
    let mut facts = vec![GraphFacts::default(); acts.len()];
    let mut parent: Vec<u32> = (0..acts.len() as u32).collect();
    for e in edges {
        let (ans, trig) = (&acts[e.from as usize], &acts[e.to as usize]);
        if ans.initiator == trig.target && ans.target == trig.initiator {
            earliest(&mut facts[e.to as usize].first_answer_on, ans.announced);
            let f = &mut facts[e.from as usize];
            match Class::of(ans.severity10, trig.severity10) {
                Class::Mirror => f.answers_mirror += 1,
                Class::Escalate => f.answers_escalate += 1,
                Class::DeEscalate => f.answers_de_escalate += 1,
            }
        }
        if e.relation == Relation::Implements && ans.initiator == trig.initiator {
            earliest(
                &mut facts[e.to as usize].first_implemented_on,
                ans.announced,
            );
        }
        let (a, b) = (root(&mut parent, e.from), root(&mut parent, e.to));
        if a != b {
            parent[a.max(b) as usize] = a.min(b);
        }
    }
    for (i, f) in facts.iter_mut().enumerate() {
        f.episode = acts[root(&mut parent, i as u32) as usize].id;
    }
    facts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::plan::History;
    use crate::models::enums::DatePrecision;

    fn act(n: u128, initiator: u16, target: u16, announced: Day, severity10: i16) -> Act {
        Act {
            id: Uuid::from_u128(n),
            initiator,
            target,
            kind: 0,
            topic: 0,
            precision: DatePrecision::Day,
            designed: 0,
            announced,
            effective_from: None,
            effective_to: None,
            severity10,
            history: History::default(),
        }
    }

    fn edge(from: u32, to: u32, relation: Relation) -> Edge {
        Edge { from, to, relation }
    }

    #[test]
    fn classes_answers_and_episodes_as_the_migration_defines_them() {
        let acts = [
            act(1, 0, 1, 10, -50), // 0: A -> B, the trigger
            act(2, 1, 0, 12, -60), // 1: B -> A, 1.0 more negative: mirror
            act(3, 1, 0, 11, -61), // 2: B -> A, 1.1 more negative: escalate
            act(4, 1, 0, 15, -39), // 3: B -> A, 1.1 less negative: de-escalation
            act(5, 0, 1, 13, -50), // 4: A -> B, same direction: not an answer
            act(6, 0, 1, 20, -50), // 5: A -> B implements 0
            act(7, 1, 0, 21, -50), // 6: B "implements" 0: another initiator, not counted
            act(8, 2, 3, 30, -10), // 7: alone
        ];
        let edges = [
            edge(1, 0, Relation::Retaliates),
            edge(2, 0, Relation::Escalates),
            edge(3, 0, Relation::Retaliates),
            edge(4, 0, Relation::Reciprocates),
            edge(5, 0, Relation::Implements),
            edge(6, 0, Relation::Implements),
        ];
        let f = compute(&acts, &edges);
        assert_eq!(f[0].first_answer_on, Some(11));
        assert_eq!(f[0].first_implemented_on, Some(20));
        assert_eq!(
            [1, 2, 3].map(|i| (
                f[i].answers_mirror,
                f[i].answers_escalate,
                f[i].answers_de_escalate
            )),
            [(1, 0, 0), (0, 1, 0), (0, 0, 1)]
        );
        assert_eq!(
            (
                f[4].answers_mirror,
                f[4].answers_escalate,
                f[4].answers_de_escalate
            ),
            (0, 0, 0)
        );
        assert!(f[..7].iter().all(|x| x.episode == f[0].episode));
        assert_ne!(f[7].episode, f[0].episode);
        assert_eq!(f[7].first_answer_on, None);
    }
}
