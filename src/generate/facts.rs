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
            // Severities in tenths: "within 1.0" is exactly "within 10".
            let diff = ans.severity10 as i32 - trig.severity10 as i32;
            let f = &mut facts[e.from as usize];
            match diff {
                d if d.abs() <= 10 => f.answers_mirror += 1,
                d if d < -10 => f.answers_escalate += 1,
                _ => f.answers_de_escalate += 1,
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
