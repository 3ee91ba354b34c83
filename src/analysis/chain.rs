//! Episodes: the weakly connected component of the response graph around an action.

use std::collections::HashMap;

use chrono::NaiveDate;
use diesel_async::AsyncPgConnection;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::models::action as action_model;
use crate::models::enums::Relation;
use crate::views::Action;

/// The largest episode `GET /v1/actions/{id}/chain` returns; larger ones are a 400.
pub const MAX_CHAIN: i64 = 10_000;
/// The most bytes of documents a chain answers with: it carries each action whole, and an
/// action's document runs to about 1 MB, so 150 large ones made one answer of 157 MB.
pub const MAX_CHAIN_BYTES: i64 = 32 * 1024 * 1024;

/// An edge's JSON in a chain, at most: `{"from":"<uuid>","to":"<uuid>","relation":"..."},`.
const EDGE_BYTES: i64 = 104;

fn too_large(id: Uuid, bytes: i64) -> AppError {
    AppError::bad_param(
        "id",
        format!(
            "the documents and edges of the episode of action {id} come to {:.1} MiB, more \
             than the {} MiB a chain returns; page through GET /v1/actions/{{id}}/responses \
             instead",
            bytes as f64 / (1024.0 * 1024.0),
            MAX_CHAIN_BYTES / (1024 * 1024)
        ),
    )
}

/// The generation of each of `n` actions, where `(from, to)` in `links` means `from` answers
/// `to`: 0 for an action that answers none, else one more than the largest generation of
/// those it answers. In one topological pass, each link looked at once, whatever the order
/// of the actions: a pass over the links until nothing changed took one pass per level when
/// answers were listed before what they answer (ids chosen so in one day: 10,000 actions
/// took 5 s of a worker). None for a cycle, which every write refuses.
fn generations(n: usize, links: &[(usize, usize)]) -> Option<Vec<u32>> {
    let mut waiting = vec![0usize; n];
    let mut answered_by: Vec<Vec<usize>> = vec![Vec::new(); n];
    for &(from, to) in links {
        waiting[from] += 1;
        answered_by[to].push(from);
    }
    let mut generation = vec![0u32; n];
    let mut ready: Vec<usize> = (0..n).filter(|&i| waiting[i] == 0).collect();
    let mut done = 0;
    while let Some(i) = ready.pop() {
        done += 1;
        for &from in &answered_by[i] {
            generation[from] = generation[from].max(generation[i] + 1);
            waiting[from] -= 1;
            if waiting[from] == 0 {
                ready.push(from);
            }
        }
    }
    (done == n).then_some(generation)
}

/// An action of the episode, with its generation.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChainNode {
    #[serde(flatten)]
    pub action: Action,
    /// 0 for an action that answers nothing in the episode, else 1 + the largest generation
    /// among the actions it answers.
    pub generation: u32,
}

/// An edge of the episode: `from` answers `to`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChainEdge {
    pub from: Uuid,
    pub to: Uuid,
    pub relation: Relation,
}

/// Count and severity of the episode's actions in one direction of one dyad.
#[derive(Debug, Serialize, ToSchema)]
pub struct DirectionTotal {
    /// Initiator code.
    pub initiator: String,
    /// Target code.
    pub target: String,
    pub count: u32,
    pub severity_sum: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChainSummary {
    /// Number of actions in the episode.
    pub actions: u32,
    pub first_announced_on: NaiveDate,
    pub last_announced_on: NaiveDate,
    /// Days from the first to the last `announced_on`.
    pub span_days: i64,
    /// Severity sums per direction, by initiator then target code.
    pub by_direction: Vec<DirectionTotal>,
}

/// A whole episode.
#[derive(Debug, Serialize, ToSchema)]
pub struct Chain {
    /// Oldest first (by `announced_on`, then id).
    pub nodes: Vec<ChainNode>,
    pub edges: Vec<ChainEdge>,
    pub summary: ChainSummary,
}

/// The episode of `id`, from the stored documents of its actions (one snapshot: one
/// statement after the episode's look-up, both in one read-only transaction).
pub async fn chain(
    conn: &mut AsyncPgConnection,
    actors: &std::sync::Arc<crate::documents::ActorCache>,
    id: Uuid,
) -> AppResult<Chain> {
    let stored = crate::service::read_together(conn, Vec::new(), "", |conn, _| {
        Box::pin(async move {
            // The episode is stored on each action (kept by triggers): one index read.
            let Some((episode, size)) = action_model::episode_of(conn, id, MAX_CHAIN + 1).await?
            else {
                return Err(crate::service::actions::not_live(conn, id).await);
            };
            if size > MAX_CHAIN {
                return Err(AppError::bad_param(
                    "id",
                    format!(
                        "the episode of action {id} has more than {MAX_CHAIN} actions, the most \
                         a chain returns; page through GET /v1/actions/{{id}}/responses instead"
                    ),
                ));
            }
            let bytes = crate::models::document::episode_bytes(conn, episode).await?;
            if bytes > MAX_CHAIN_BYTES {
                return Err(too_large(id, bytes));
            }
            Ok((
                bytes,
                crate::models::document::episode(conn, episode).await?,
            ))
        })
    })
    .await?;
    let (bytes, stored) = stored;
    let actions = actors
        .complete(conn, stored)
        .await?
        .iter()
        .map(crate::documents::parse)
        .collect::<AppResult<Vec<Action>>>()?;

    // Edges inside the episode, from the loaded actions' own responds_to; `links` holds the
    // same as positions, so that the generation passes below need no lookups.
    let position: HashMap<Uuid, usize> =
        actions.iter().enumerate().map(|(i, a)| (a.id, i)).collect();
    let mut edges = Vec::new();
    let mut links = Vec::new();
    for (from, a) in actions.iter().enumerate() {
        for link in &a.responds_to {
            if let Some(&to) = position.get(&link.action) {
                edges.push(ChainEdge {
                    from: a.id,
                    to: link.action,
                    relation: link.relation,
                });
                links.push((from, to));
            }
        }
    }
    // The edges repeat what the documents hold (each `responds_to` entry again, as `from`,
    // `to` and `relation`): 33 edges an action made a 70 MB answer of 32 MiB of documents.
    let answer = bytes + EDGE_BYTES * edges.len() as i64;
    if answer > MAX_CHAIN_BYTES {
        return Err(too_large(id, answer));
    }
    let generation = generations(actions.len(), &links).ok_or_else(|| {
        AppError::Internal(format!(
            "the responses of the episode of {id} form a cycle, which every write refuses: \
             a bug, to be reported with the episode's rows of `responses`"
        ))
    })?;
    let first = actions
        .as_slice()
        .first()
        .map(|a| a.announced_on)
        .ok_or_else(|| AppError::Internal(format!("episode of {id} came back empty")))?;
    let last = actions
        .iter()
        .map(|a| a.announced_on)
        .max()
        .unwrap_or(first);
    let mut totals: std::collections::BTreeMap<(String, String), (u32, f64)> = Default::default();
    for a in &actions {
        let t = totals
            .entry((a.initiator.code.clone(), a.target.code.clone()))
            .or_default();
        t.0 += 1;
        t.1 += a.severity;
    }
    let summary = ChainSummary {
        actions: actions.len() as u32,
        first_announced_on: first,
        last_announced_on: last,
        span_days: (last - first).num_days(),
        by_direction: totals
            .into_iter()
            .map(
                |((initiator, target), (count, severity_sum))| DirectionTotal {
                    initiator,
                    target,
                    count,
                    severity_sum: (severity_sum * 1000.0).round() / 1000.0,
                },
            )
            .collect(),
    };
    let nodes = actions
        .into_iter()
        .zip(generation)
        .map(|(action, generation)| ChainNode { action, generation })
        .collect();
    Ok(Chain {
        nodes,
        edges,
        summary,
    })
}

#[cfg(test)]
mod tests {
    use super::generations;

    #[test]
    fn generations_do_not_depend_on_the_order_of_the_actions() {
        // 0 answers 1, which answers 2, ...: listed before what they answer.
        let links: Vec<(usize, usize)> = (0..5).map(|i| (i, i + 1)).collect();
        assert_eq!(generations(6, &links), Some(vec![5, 4, 3, 2, 1, 0]));
        // The same, listed after.
        let links: Vec<(usize, usize)> = (0..5).map(|i| (i + 1, i)).collect();
        assert_eq!(generations(6, &links), Some(vec![0, 1, 2, 3, 4, 5]));
    }

    #[test]
    fn a_generation_follows_the_longest_way_back() {
        // 3 answers 0 directly and through 1 and 2; 4 answers nothing; 2 answers 1 twice.
        let links = [(1, 0), (2, 1), (2, 1), (3, 2), (3, 0)];
        assert_eq!(generations(5, &links), Some(vec![0, 1, 2, 3, 0]));
    }

    #[test]
    fn a_cycle_has_no_generations() {
        assert_eq!(generations(3, &[(0, 1), (1, 2), (2, 0)]), None);
        assert_eq!(generations(2, &[(0, 0)]), None);
    }
}
