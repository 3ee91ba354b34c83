//! The graph work a set of lines needs as a whole. No cycles among the answers they give
//! each other: Kahn's algorithm over the lines' in-file edges (what remains once every line
//! whose targets are settled has been taken is on a cycle, or answers one). Episode labels
//! for all their edges at once: union-find (`Episodes`), where the graph trigger would merge
//! episodes one edge at a time.
//!
//! Both index lines by their number, so that memory is a few bytes per line and per edge
//! (4 bytes a line and 8 an edge for the cycles; 5 a line for the labels), not a map entry
//! per action.

use std::collections::HashMap;

use uuid::Uuid;

/// `edges`: (answering line, answered line), lines numbered up to `lines`. Returns the lines
/// on or above a cycle, in order.
pub fn cyclic(lines: usize, mut edges: Vec<(u32, u32)>) -> Vec<u32> {
    // What each line still waits for, and who answers each line (edges sorted by target).
    let mut waiting = vec![0u32; lines + 1];
    for &(from, _) in &edges {
        waiting[from as usize] += 1;
    }
    edges.sort_unstable_by_key(|&(_, to)| to);
    let answered_by = |to: u32, edges: &[(u32, u32)]| {
        let start = edges.partition_point(|&(_, t)| t < to);
        let end = edges.partition_point(|&(_, t)| t <= to);
        start..end
    };
    let mut ready: Vec<u32> = edges
        .iter()
        .map(|&(_, to)| to)
        .filter(|&to| waiting[to as usize] == 0)
        .collect();
    ready.dedup();
    while let Some(line) = ready.pop() {
        for i in answered_by(line, &edges) {
            let from = edges[i].0 as usize;
            waiting[from] -= 1;
            if waiting[from] == 0 {
                ready.push(from as u32);
            }
        }
    }
    (0..=lines as u32)
        .filter(|&l| waiting[l as usize] > 0)
        .collect()
}

/// Union-find over the lines of a file and the stored episodes their edges reach.
pub struct Episodes {
    /// Lines 0..=lines, then one node per stored label.
    parent: Vec<u32>,
    lines: usize,
    labels: Vec<Uuid>,
    by_label: HashMap<Uuid, u32>,
    /// Lines that are new actions touched by an edge: they get their component's label.
    new: Vec<bool>,
}

/// The labels of the new actions an edge touches, as (line, label), one at a time (see
/// `Episodes::finish`).
pub struct NewLabels {
    episodes: Episodes,
    canon: HashMap<u32, Uuid>,
    next: u32,
}

impl Iterator for NewLabels {
    type Item = (u32, Uuid);

    fn next(&mut self) -> Option<(u32, Uuid)> {
        while self.next as usize <= self.episodes.lines {
            let line = self.next;
            self.next += 1;
            if self.episodes.new[line as usize] {
                let r = self.episodes.root(line);
                return Some((line, *self.canon.entry(r).or_insert_with(Uuid::new_v4)));
            }
        }
        None
    }
}

impl Episodes {
    pub fn new(lines: usize) -> Self {
        Episodes {
            parent: (0..=lines as u32).collect(),
            lines,
            labels: Vec::new(),
            by_label: HashMap::new(),
            new: vec![false; lines + 1],
        }
    }

    fn root(&mut self, mut i: u32) -> u32 {
        while self.parent[i as usize] != i {
            let up = self.parent[self.parent[i as usize] as usize];
            self.parent[i as usize] = up;
            i = up;
        }
        i
    }

    fn union(&mut self, a: u32, b: u32) {
        let (ra, rb) = (self.root(a), self.root(b));
        if ra != rb {
            self.parent[ra.max(rb) as usize] = ra.min(rb);
        }
    }

    fn label_node(&mut self, label: Uuid) -> u32 {
        if let Some(&n) = self.by_label.get(&label) {
            return n;
        }
        let n = self.parent.len() as u32;
        self.parent.push(n);
        self.labels.push(label);
        self.by_label.insert(label, n);
        n
    }

    /// A line: whether it is a new action, and its stored label when it is stored.
    pub fn line(&mut self, line: u32, new: bool, stored: Option<Uuid>) {
        self.new[line as usize] |= new;
        if let Some(label) = stored {
            let n = self.label_node(label);
            self.union(line, n);
        }
    }

    /// An edge from a line to a line of the file.
    pub fn answers_line(&mut self, from: u32, to: u32) {
        self.union(from, to);
    }

    /// An edge from a line to a stored action outside the file, by its label.
    pub fn answers_stored(&mut self, from: u32, label: Uuid) {
        let n = self.label_node(label);
        self.union(from, n);
    }

    /// The smallest stored label of a component survives; one without any gets a new one.
    /// Returns the stored labels to replace, (old, new), and the new actions' labels.
    pub fn finish(mut self) -> (Vec<(Uuid, Uuid)>, NewLabels) {
        let mut canon: HashMap<u32, Uuid> = HashMap::new();
        for i in 0..self.labels.len() {
            let label = self.labels[i];
            let r = self.root((self.lines + 1 + i) as u32);
            let c = canon.entry(r).or_insert(label);
            if label < *c {
                *c = label;
            }
        }
        let mut relabel = Vec::new();
        for i in 0..self.labels.len() {
            let r = self.root((self.lines + 1 + i) as u32);
            if canon[&r] != self.labels[i] {
                relabel.push((self.labels[i], canon[&r]));
            }
        }
        let labels = NewLabels {
            episodes: self,
            canon,
            next: 0,
        };
        (relabel, labels)
    }
}

#[cfg(test)]
mod tests {
    use super::{cyclic, Episodes};
    use uuid::Uuid;

    #[test]
    fn finds_cycles_and_what_answers_them() {
        assert!(cyclic(3, vec![(2, 1), (3, 2), (3, 1)]).is_empty());
        assert_eq!(
            cyclic(5, vec![(1, 2), (2, 1), (3, 1), (4, 5)]),
            vec![1, 2, 3]
        );
        assert_eq!(cyclic(7, vec![(7, 7)]), vec![7]);
    }

    #[test]
    fn labels_join_components_keeping_the_smallest_stored_label() {
        let id = |n: u128| Uuid::from_u128(n);
        // Line 3 (new) answers stored actions of episodes 10 and 20; new 4 answers new 5;
        // stored line 6 (episode 30) answers nothing in the file.
        let mut e = Episodes::new(6);
        e.line(3, true, None);
        e.answers_stored(3, id(10));
        e.answers_stored(3, id(20));
        e.line(4, true, None);
        e.line(5, true, None);
        e.answers_line(4, 5);
        e.line(6, false, Some(id(30)));
        let (relabel, new) = e.finish();
        let new: Vec<(u32, Uuid)> = new.collect();
        assert_eq!(relabel, vec![(id(20), id(10))]);
        assert_eq!(new[0], (3, id(10)));
        assert_eq!(new[1].0, 4);
        assert_eq!(new[2].0, 5);
        assert_eq!(new[1].1, new[2].1);
        assert_ne!(new[1].1, id(10));
        assert_eq!(new.len(), 3);
    }
}
