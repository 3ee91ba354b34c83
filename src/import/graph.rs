//! The graph work a set of lines needs as a whole. No cycles among the answers they give
//! each other: Kahn's algorithm over the lines' in-file edges (what remains once every line
//! whose targets are settled has been taken is on a cycle, or answers one). Episode labels
//! for all their edges at once: union-find (`label`), where the graph trigger would merge
//! episodes one edge at a time.

use std::collections::HashMap;

use uuid::Uuid;

/// `edges`: (answering line, answered line). Returns the lines on or above a cycle.
pub fn cyclic(edges: &[(i64, i64)]) -> Vec<i64> {
    let mut waiting: HashMap<i64, usize> = HashMap::new();
    let mut answered_by: HashMap<i64, Vec<i64>> = HashMap::new();
    for &(from, to) in edges {
        *waiting.entry(from).or_default() += 1;
        waiting.entry(to).or_default();
        answered_by.entry(to).or_default().push(from);
    }
    let mut ready: Vec<i64> = waiting
        .iter()
        .filter(|(_, n)| **n == 0)
        .map(|(line, _)| *line)
        .collect();
    while let Some(line) = ready.pop() {
        waiting.remove(&line);
        for from in answered_by.remove(&line).unwrap_or_default() {
            if let Some(n) = waiting.get_mut(&from) {
                *n -= 1;
                if *n == 0 {
                    ready.push(from);
                }
            }
        }
    }
    let mut left: Vec<i64> = waiting.into_keys().collect();
    left.sort_unstable();
    left
}

/// Episode labels for edges about to be inserted (the work `merge_episodes` does per edge,
/// for all of them at once): each edge is (answering action, its stored label, answered
/// action, its stored label); an action not stored yet has no label.
pub struct Labels {
    /// Stored labels to replace by another: components the new edges join.
    pub relabel: Vec<(Uuid, Uuid)>,
    /// The label of each action not stored yet that the edges touch.
    pub new: Vec<(Uuid, Uuid)>,
}

pub fn label(edges: &[(Uuid, Option<Uuid>, Uuid, Option<Uuid>)]) -> Labels {
    let mut index: HashMap<Uuid, usize> = HashMap::new();
    let mut stored: Vec<Option<Uuid>> = Vec::new();
    let mut parent: Vec<usize> = Vec::new();
    let mut node = |id: Uuid, label: Option<Uuid>, parent: &mut Vec<usize>| {
        *index.entry(id).or_insert_with(|| {
            parent.push(parent.len());
            stored.push(label);
            parent.len() - 1
        })
    };
    let mut pairs = Vec::with_capacity(edges.len());
    for &(a, la, b, lb) in edges {
        pairs.push((node(a, la, &mut parent), node(b, lb, &mut parent)));
    }
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for (a, b) in pairs {
        let (ra, rb) = (root(&mut parent, a), root(&mut parent, b));
        if ra != rb {
            parent[ra.max(rb)] = ra.min(rb);
        }
    }
    // The smallest stored label of a component survives; one without any gets a new one.
    let mut canon: HashMap<usize, Uuid> = HashMap::new();
    for (i, label) in stored.iter().enumerate() {
        if let Some(l) = *label {
            let r = root(&mut parent, i);
            let c = canon.entry(r).or_insert(l);
            if l < *c {
                *c = l;
            }
        }
    }
    let mut relabel = std::collections::BTreeSet::new();
    let mut new = Vec::new();
    for (id, i) in index {
        let r = root(&mut parent, i);
        let c = *canon.entry(r).or_insert_with(Uuid::new_v4);
        match stored[i] {
            Some(l) if l != c => {
                relabel.insert((l, c));
            }
            Some(_) => {}
            None => new.push((id, c)),
        }
    }
    Labels {
        relabel: relabel.into_iter().collect(),
        new,
    }
}

#[cfg(test)]
mod tests {
    use super::cyclic;

    #[test]
    fn finds_cycles_and_what_answers_them() {
        assert!(cyclic(&[(2, 1), (3, 2), (3, 1)]).is_empty());
        assert_eq!(cyclic(&[(1, 2), (2, 1), (3, 1), (4, 5)]), vec![1, 2, 3]);
        assert_eq!(cyclic(&[(7, 7)]), vec![7]);
    }

    #[test]
    fn labels_join_components_keeping_the_smallest_stored_label() {
        use uuid::Uuid;
        let id = |n: u128| Uuid::from_u128(n);
        // 1 and 2 stored in episodes 10 and 20; 3 new answers both; 4 new answers 5 new.
        let labels = super::label(&[
            (id(3), None, id(1), Some(id(10))),
            (id(3), None, id(2), Some(id(20))),
            (id(4), None, id(5), None),
        ]);
        assert_eq!(labels.relabel, vec![(id(20), id(10))]);
        let mut new = labels.new;
        new.sort();
        assert_eq!(new[0], (id(3), id(10)));
        assert_eq!(new[1].0, id(4));
        assert_eq!(new[2].0, id(5));
        assert_eq!(new[1].1, new[2].1);
        assert_ne!(new[1].1, id(10));
    }
}
