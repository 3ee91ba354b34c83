//! The one graph rule a set of lines needs as a whole: no cycles among the answers they
//! give each other. Kahn's algorithm over the lines' in-file edges: what remains once every
//! line whose targets are settled has been taken is on a cycle, or answers one.

use std::collections::HashMap;

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

#[cfg(test)]
mod tests {
    use super::cyclic;

    #[test]
    fn finds_cycles_and_what_answers_them() {
        assert!(cyclic(&[(2, 1), (3, 2), (3, 1)]).is_empty());
        assert_eq!(cyclic(&[(1, 2), (2, 1), (3, 1), (4, 5)]), vec![1, 2, 3]);
        assert_eq!(cyclic(&[(7, 7)]), vec![7]);
    }
}
