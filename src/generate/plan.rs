//! The skeleton of a generated data set: every action's dyad, type, dates, severity and
//! status history, and the response edges. Everything that links actions to each other is
//! decided here, in one sequential pass over one random stream, so that the text of each
//! action can later be rendered alone (see `render`).
//!
//! Answers come in episodes: disjoint groups of actions of one dyad in which every answer
//! responds only to earlier actions of the same group, so an episode is exactly one weakly
//! connected component of the response graph.

use chrono::{Datelike, NaiveDate};
use uuid::Uuid;

use super::facts::{Class, GraphFacts};
use super::profiles::{Lifecycle, PROFILES};
use super::rng::{Cumulative, Rng};
use super::world::World;
use crate::models::enums::{ActionStatus, Category, DatePrecision, Relation};

/// Days since 2000-01-01, which is also PostgreSQL's date epoch.
pub type Day = i32;

/// Actions are announced from 2000-01-01 to 2025-12-31; no status change comes later.
pub const LAST_DAY: Day = 9_496;

pub fn first_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2000, 1, 1).expect("valid date")
}

pub fn to_date(day: Day) -> NaiveDate {
    first_day() + chrono::Days::new(day as u64)
}

fn to_day(date: NaiveDate) -> Day {
    (date - first_day()).num_days() as Day
}

/// Share of actions that answer earlier ones.
pub const ANSWER_SHARE: f64 = 0.2;

/// Designed long episodes for benchmarks, built when there are at least this many actions:
/// (size, tag of the earliest action). The API returns chains of up to 10,000 actions.
pub const DESIGNED_MIN_ACTIONS: u64 = 100_000;
pub const DESIGNED: &[(usize, &str)] = &[
    (5_000, "episode-5000"),
    (2_000, "episode-2000"),
    (1_000, "episode-1000"),
];

/// Ordinary episodes have 2..=MAX_EPISODE actions, P(k) ∝ k^-2.5: mostly 2 to 5, some
/// tens, a few hundreds (mean about 4.4).
const MAX_EPISODE: usize = 400;
const EPISODE_EXPONENT: f64 = 2.5;

/// Share of threats in episodes that their author carries out later in the episode (when
/// the episode goes on long enough).
const IMPLEMENTED: f64 = 0.8;

/// Type data read from the database, by profile index.
#[derive(Debug, Clone)]
pub struct TypeInfo {
    pub code: String,
    pub category: Category,
    pub default_severity: f64,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct History {
    pub len: u8,
    pub entries: [(u8, Day); 4],
}

impl History {
    fn push(&mut self, status: ActionStatus, day: Day) {
        let code = ActionStatus::ALL
            .iter()
            .position(|s| *s == status)
            .expect("known status") as u8;
        self.entries[self.len as usize] = (code, day);
        self.len += 1;
    }

    pub fn iter(&self) -> impl Iterator<Item = (ActionStatus, Day)> + '_ {
        self.entries[..self.len as usize]
            .iter()
            .map(|(s, d)| (ActionStatus::ALL[*s as usize], *d))
    }

    pub fn last(&self) -> (ActionStatus, Day) {
        let (s, d) = self.entries[self.len as usize - 1];
        (ActionStatus::ALL[s as usize], d)
    }
}

#[derive(Debug, Clone)]
pub struct Act {
    pub id: Uuid,
    /// Member indices (see `World::members`).
    pub initiator: u16,
    pub target: u16,
    /// Index into `PROFILES` (and the type table).
    pub kind: u8,
    /// Index into `data::TOPICS`: one per episode, so its titles tell one story.
    pub topic: u8,
    pub precision: DatePrecision,
    /// 1-based index into `DESIGNED` for the earliest action of a designed episode.
    pub designed: u8,
    pub announced: Day,
    pub effective_from: Option<Day>,
    pub effective_to: Option<Day>,
    /// Severity in tenths, so that it is exact and the same everywhere.
    pub severity10: i16,
    pub history: History,
}

impl Act {
    pub fn severity(&self) -> f64 {
        self.severity10 as f64 / 10.0
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Edge {
    pub from: u32,
    pub to: u32,
    pub relation: Relation,
}

pub struct DesignedEpisode {
    pub tag: &'static str,
    pub size: usize,
    pub root: u32,
}

pub struct Plan {
    /// In (announced_on, id) order, the order they are loaded in.
    pub acts: Vec<Act>,
    /// Sorted by (from, to).
    pub edges: Vec<Edge>,
    /// The edges of act i are `edges[edge_start[i]..edge_start[i + 1]]`.
    pub edge_start: Vec<u32>,
    pub designed: Vec<DesignedEpisode>,
    /// Number of actions per dyad (same order as `World::dyads`).
    pub dyad_counts: Vec<u32>,
    pub episodes: usize,
    /// By act, what the database's graph triggers would have stored.
    pub facts: Vec<GraphFacts>,
}

impl Plan {
    pub fn edges_of(&self, i: usize) -> &[Edge] {
        &self.edges[self.edge_start[i] as usize..self.edge_start[i + 1] as usize]
    }
}

/// An action while its episode is being built.
#[derive(Clone)]
struct Draft {
    side: usize,
    kind: usize,
    day: Day,
    severity10: i16,
    history: History,
    effective_from: Option<Day>,
    /// Day it came into force, for measures that did.
    in_force_on: Option<Day>,
    lifted_on: Option<Day>,
    edges: Vec<(usize, Relation)>,
}

struct Gen<'a> {
    rng: Rng,
    world: &'a World,
    types: &'a [TypeInfo],
    acts: Vec<Act>,
    edges: Vec<Edge>,
    opening: Cumulative,
    /// Like `opening`, with fewer threats: a threat left alone is one never carried out.
    single: Cumulative,
    answer: Cumulative,
    /// What carries out a threat of sanctions, of reduced relations, or an unspecified one.
    implement_sanction: Cumulative,
    implement_relations: Cumulative,
    implement_any: Cumulative,
    sizes: Cumulative,
    lift: usize,
    demand_lifting: usize,
}

pub fn build(world: &World, types: &[TypeInfo], n: u64, seed: u64) -> Result<Plan, String> {
    let weights = |f: &dyn Fn(usize) -> f64| -> Cumulative {
        Cumulative::new(&(0..PROFILES.len()).map(f).collect::<Vec<_>>())
    };
    let category = |i: usize| types[i].category;
    let code = |c: &str| {
        PROFILES
            .iter()
            .position(|p| p.code == c)
            .expect("profile exists")
    };
    let mut g = Gen {
        rng: Rng::stream(seed, 2, 0),
        world,
        types,
        acts: Vec::with_capacity(n as usize),
        edges: Vec::with_capacity((n as f64 * ANSWER_SHARE * 1.2) as usize),
        opening: weights(&|i| PROFILES[i].opening),
        single: weights(&|i| {
            let w = PROFILES[i].opening;
            if PROFILES[i].lifecycle == Lifecycle::Threat {
                w * 0.3
            } else {
                w
            }
        }),
        answer: weights(&|i| PROFILES[i].answer),
        implement_sanction: weights(&|i| {
            if category(i) == Category::Sanction && PROFILES[i].lifecycle == Lifecycle::Measure {
                PROFILES[i].answer
            } else {
                0.0
            }
        }),
        implement_relations: weights(&|i| {
            if ["expel_diplomats", "reduce_relations", "close_mission"].contains(&PROFILES[i].code)
            {
                PROFILES[i].answer
            } else {
                0.0
            }
        }),
        implement_any: weights(&|i| {
            if matches!(category(i), Category::Sanction | Category::Diplomatic) {
                PROFILES[i].answer
            } else {
                0.0
            }
        }),
        sizes: Cumulative::new(
            &(2..=MAX_EPISODE)
                .map(|k| (k as f64).powf(-EPISODE_EXPONENT))
                .collect::<Vec<_>>(),
        ),
        lift: code("lift_sanctions"),
        demand_lifting: code("demand_lifting"),
    };

    // How many actions each dyad gets: n draws from the Zipf weights.
    let dyad_weights: Vec<f64> = world.dyads.iter().map(|d| d.weight).collect();
    let pick = Cumulative::new(&dyad_weights);
    let mut counts = vec![0u32; world.dyads.len()];
    for _ in 0..n {
        counts[pick.sample(&mut g.rng)] += 1;
    }

    // The designed episodes go to the busiest dyads, largest first.
    let designed_sizes: Vec<usize> = if n >= DESIGNED_MIN_ACTIONS {
        DESIGNED.iter().map(|(size, _)| *size).collect()
    } else {
        Vec::new()
    };
    for (d, size) in designed_sizes.iter().enumerate() {
        if (counts[d] as usize) < *size {
            return Err(format!(
                "internal: dyad {d} got {} actions, fewer than its designed episode of {size}",
                counts[d]
            ));
        }
    }

    // Dyads with a designed episode first (their episode takes more than their share of
    // answers: the deficit is carried), then from the quietest to the busiest, so that
    // answers small dyads cannot hold move up to busier ones.
    let mut order: Vec<usize> = (0..designed_sizes.len()).collect();
    order.extend((designed_sizes.len()..counts.len()).rev());
    let mut carry = 0.0;
    let mut designed = Vec::new();
    let mut episodes = 0;
    for d in order {
        let mut remaining = counts[d] as usize;
        let mut budget = ANSWER_SHARE * counts[d] as f64 + carry;
        if let Some(&size) = designed_sizes.get(d) {
            let root = g.episode(d, size, true);
            designed.push(DesignedEpisode {
                tag: DESIGNED[d].1,
                size,
                root: root as u32,
            });
            remaining -= size;
            budget -= (size - 1) as f64;
            episodes += 1;
        }
        while budget >= 1.0 && remaining >= 2 {
            let k = (g.sizes.sample(&mut g.rng) + 2)
                .min(budget as usize + 1)
                .min(remaining);
            g.episode(d, k, false);
            remaining -= k;
            budget -= (k - 1) as f64;
            episodes += 1;
        }
        carry = budget;
        for _ in 0..remaining {
            g.single(d);
        }
    }

    // Load order: by announcement, as a table that grew over time would be laid out.
    let Gen {
        mut acts,
        mut edges,
        ..
    } = g;
    let mut order: Vec<u32> = (0..acts.len() as u32).collect();
    order.sort_unstable_by_key(|&i| (acts[i as usize].announced, acts[i as usize].id));
    let mut position = vec![0u32; acts.len()];
    for (new, &old) in order.iter().enumerate() {
        position[old as usize] = new as u32;
    }
    let mut sorted = Vec::with_capacity(acts.len());
    for &old in &order {
        sorted.push(std::mem::replace(
            &mut acts[old as usize],
            Act {
                id: Uuid::nil(),
                initiator: 0,
                target: 0,
                kind: 0,
                topic: 0,
                precision: DatePrecision::Day,
                designed: 0,
                announced: 0,
                effective_from: None,
                effective_to: None,
                severity10: 0,
                history: History::default(),
            },
        ));
    }
    for e in edges.iter_mut() {
        e.from = position[e.from as usize];
        e.to = position[e.to as usize];
    }
    edges.sort_unstable_by_key(|e| (e.from, e.to));
    let mut edge_start = Vec::with_capacity(sorted.len() + 1);
    let mut next = 0usize;
    for i in 0..sorted.len() {
        edge_start.push(next as u32);
        while next < edges.len() && edges[next].from as usize == i {
            next += 1;
        }
    }
    edge_start.push(next as u32);
    for e in designed.iter_mut() {
        e.root = position[e.root as usize];
    }
    let facts = super::facts::compute(&sorted, &edges);
    Ok(Plan {
        facts,
        acts: sorted,
        edges,
        edge_start,
        designed,
        dyad_counts: counts,
        episodes,
    })
}

impl Gen<'_> {
    fn severity10(&mut self, kind: usize) -> i16 {
        let base = self.types[kind].default_severity * 10.0;
        (base + self.rng.normalish() * 6.0)
            .round()
            .clamp(-100.0, 100.0) as i16
    }

    /// A day in [0, latest], busier in later years (density rising linearly threefold).
    fn day_within(&mut self, latest: Day) -> Day {
        let u = self.rng.unit();
        let t = ((1.0 + 8.0 * u).sqrt() - 1.0) / 2.0;
        ((t * latest as f64) as Day).min(latest)
    }

    /// Days from an action to its answer: a quarter the same or the next day, most within
    /// two weeks, a few after months.
    fn lag(&mut self) -> Day {
        let u = self.rng.unit();
        let (lo, hi) = if u < 0.25 {
            (0, 1)
        } else if u < 0.70 {
            (2, 14)
        } else if u < 0.95 {
            (15, 90)
        } else {
            (91, 365)
        };
        self.rng.between(lo, hi) as Day
    }

    fn draft(&mut self, side: usize, kind: usize, day: Day) -> Draft {
        let severity10 = self.severity10(kind);
        let mut history = History::default();
        let mut effective_from = None;
        let mut in_force_on = None;
        match PROFILES[kind].lifecycle {
            Lifecycle::Threat => history.push(ActionStatus::Threatened, day),
            Lifecycle::OneOff => history.push(ActionStatus::Announced, day),
            Lifecycle::Measure => {
                let u = self.rng.unit();
                if u < 0.04 {
                    // Announced, not (yet) in force.
                    history.push(ActionStatus::Announced, day);
                } else {
                    let later = day + self.rng.between(1, 45) as Day;
                    let on = if u < 0.26 && later <= LAST_DAY {
                        history.push(ActionStatus::Announced, day);
                        later
                    } else {
                        day
                    };
                    history.push(ActionStatus::InForce, on);
                    effective_from = Some(on);
                    in_force_on = Some(on);
                }
            }
            Lifecycle::Law => {
                history.push(ActionStatus::Announced, day);
                let later = day + self.rng.between(7, 90) as Day;
                if self.rng.chance(0.7) && later <= LAST_DAY {
                    history.push(ActionStatus::InForce, later);
                    effective_from = Some(later);
                }
            }
        }
        Draft {
            side,
            kind,
            day,
            severity10,
            history,
            effective_from,
            in_force_on,
            lifted_on: None,
            edges: Vec::new(),
        }
    }

    /// How an answer relates to what it answers, consistent with the severities the dyad
    /// summary classifies (mirror within 1.0, escalation beyond).
    fn relation(&self, answer: &Draft, trigger: &Draft) -> Relation {
        let measure = |d: &Draft| {
            matches!(
                PROFILES[d.kind].lifecycle,
                Lifecycle::Measure | Lifecycle::Law
            )
        };
        let class = Class::of(answer.severity10, trigger.severity10);
        if answer.severity10 > 0 {
            Relation::DeEscalates
        } else if answer.kind == self.demand_lifting && measure(trigger) {
            Relation::DemandsLifting
        } else if answer.kind == trigger.kind && class == Class::Mirror {
            Relation::Reciprocates
        } else if measure(answer) && class == Class::Escalate {
            Relation::Escalates
        } else {
            Relation::Retaliates
        }
    }

    /// Builds one episode of `size` actions in dyad `d`; returns the index of its first.
    fn episode(&mut self, d: usize, size: usize, designed: bool) -> usize {
        let dyad = self.world.dyads[d];
        let topic = self.rng.below(super::data::TOPICS.len()) as u8;
        // Lags first, so that the whole episode fits in the calendar. Long episodes get
        // shorter lags: thousands of answers are then days, not weeks, apart.
        let max_span = LAST_DAY * 4 / 5;
        let mut lags: Vec<Day> = (1..size).map(|_| self.lag()).collect();
        if lags.iter().map(|l| *l as i64).sum::<i64>() > max_span as i64 {
            let mean = (max_span as usize / size.max(1)).max(1) as i64;
            for l in lags.iter_mut() {
                *l = self.rng.between(0, 2 * mean - 1) as Day;
            }
        }
        if designed {
            // The tagged first action must be the only earliest one.
            lags[0] = lags[0].max(1);
        }
        let span: Day = lags.iter().sum();
        let start = self.day_within((LAST_DAY - span).max(0));

        let first_side = if self.rng.chance(dyad.a_share) { 0 } else { 1 };
        let opening = self.opening.sample(&mut self.rng);
        let mut drafts = vec![self.draft(first_side, opening, start)];
        let mut by_side: [Vec<usize>; 2] = [Vec::new(), Vec::new()];
        by_side[first_side].push(0);
        // Threats their author will carry out, oldest first.
        let mut to_implement: Vec<usize> = Vec::new();
        if PROFILES[opening].lifecycle == Lifecycle::Threat && self.rng.chance(IMPLEMENTED) {
            to_implement.push(0);
        }
        let mut day = start;
        for lag in lags {
            day += lag;
            let j = drafts.len();
            let draft = if !to_implement.is_empty() && self.rng.chance(0.6) {
                // The author of the oldest pending threat carries it out.
                let threat = to_implement.remove(0);
                let side = drafts[threat].side;
                let kind = match PROFILES[drafts[threat].kind].code {
                    "threaten_sanctions" => self.implement_sanction.sample(&mut self.rng),
                    "threaten_relations" => self.implement_relations.sample(&mut self.rng),
                    _ => self.implement_any.sample(&mut self.rng),
                };
                let mut draft = self.draft(side, kind, day);
                draft.edges.push((threat, Relation::Implements));
                // It is also the answer to the other side's latest move, so the exchange
                // goes on from it (and chains grow long, not only wide).
                if let Some(&latest) = by_side[1 - side].last() {
                    let relation = self.relation(&draft, &drafts[latest]);
                    draft.edges.push((latest, relation));
                }
                draft
            } else if let Some((side, measure)) = self.liftable(&drafts, &by_side, day) {
                // A side lifts one of its own measures that is in force, in answer to the
                // other side's latest move.
                let mut draft = self.draft(side, self.lift, day);
                draft.edges.push((measure, Relation::Lifts));
                drafts[measure].lifted_on = Some(day);
                if let Some(&latest) = by_side[1 - side].last() {
                    let relation = self.relation(&draft, &drafts[latest]);
                    draft.edges.push((latest, relation));
                }
                draft
            } else {
                // Mostly the other side answers; sometimes the same side acts again. Either
                // way the answer is to the other side's latest move (tit for tat, so the
                // exchange grows long), and now and then also to an earlier one.
                let last = drafts[j - 1].side;
                let mut side = if self.rng.chance(0.8) { 1 - last } else { last };
                if by_side[1 - side].is_empty() {
                    side = 1 - side;
                }
                let theirs = &by_side[1 - side];
                let target = theirs[theirs.len() - 1];
                let mut kind = self.answer.sample(&mut self.rng);
                // Fewer threats where nothing can follow them, and no demand to lift a
                // threat: one redraw makes both rarer without ruling them out.
                let last_of_episode = j + 1 == size;
                if (kind == self.demand_lifting
                    && PROFILES[drafts[target].kind].lifecycle == Lifecycle::Threat)
                    || (last_of_episode && PROFILES[kind].lifecycle == Lifecycle::Threat)
                {
                    kind = self.answer.sample(&mut self.rng);
                }
                let mut draft = self.draft(side, kind, day);
                let relation = self.relation(&draft, &drafts[target]);
                draft.edges.push((target, relation));
                if theirs.len() >= 2 && self.rng.chance(0.2) {
                    let other = theirs[self.rng.below(theirs.len())];
                    if other != target {
                        let relation = self.relation(&draft, &drafts[other]);
                        draft.edges.push((other, relation));
                    }
                }
                if PROFILES[kind].lifecycle == Lifecycle::Threat && self.rng.chance(IMPLEMENTED) {
                    to_implement.push(j);
                }
                draft
            };
            by_side[draft.side].push(j);
            drafts.push(draft);
        }

        let base = self.acts.len();
        for (j, draft) in drafts.into_iter().enumerate() {
            for (to, relation) in &draft.edges {
                self.edges.push(Edge {
                    from: (base + j) as u32,
                    to: (base + to) as u32,
                    relation: *relation,
                });
            }
            let sides = [dyad.a, dyad.b];
            let (initiator, target) = (sides[draft.side], sides[1 - draft.side]);
            let tag = if designed && j == 0 {
                1 + DESIGNED
                    .iter()
                    .position(|(s, _)| *s == size)
                    .expect("designed size") as u8
            } else {
                0
            };
            self.push(draft, initiator, target, topic, DatePrecision::Day, tag);
        }
        base
    }

    /// Now and then (3% of steps) a side lifts one of its sanctions in force in the episode.
    fn liftable(
        &mut self,
        drafts: &[Draft],
        by_side: &[Vec<usize>; 2],
        day: Day,
    ) -> Option<(usize, usize)> {
        if drafts.len() < 3 || !self.rng.chance(0.03) {
            return None;
        }
        let side = self.rng.below(2);
        by_side[side]
            .iter()
            .rev()
            .copied()
            .find(|&m| {
                let d = &drafts[m];
                self.types[d.kind].category == Category::Sanction
                    && d.lifted_on.is_none()
                    && d.in_force_on.is_some_and(|on| on <= day)
            })
            .map(|m| (side, m))
    }

    /// An action that answers nothing and that nothing answers.
    fn single(&mut self, d: usize) {
        let dyad = self.world.dyads[d];
        let (initiator, target) = if self.rng.chance(dyad.a_share) {
            (dyad.a, dyad.b)
        } else {
            (dyad.b, dyad.a)
        };
        let kind = self.single.sample(&mut self.rng);
        let mut day = self.day_within(LAST_DAY);
        let u = self.rng.unit();
        let precision = if u < 0.04 {
            DatePrecision::Month
        } else if u < 0.05 {
            DatePrecision::Year
        } else {
            DatePrecision::Day
        };
        let date = to_date(day);
        day = match precision {
            DatePrecision::Day => day,
            DatePrecision::Month => to_day(date.with_day(1).expect("first of month")),
            DatePrecision::Year => {
                to_day(NaiveDate::from_ymd_opt(date.year(), 1, 1).expect("first of year"))
            }
        };
        let topic = self.rng.below(super::data::TOPICS.len()) as u8;
        let draft = self.draft(0, kind, day);
        self.push(draft, initiator, target, topic, precision, 0);
    }

    /// Settles what happened to a measure later (unless an answer lifted it) and stores it.
    fn push(
        &mut self,
        mut draft: Draft,
        initiator: usize,
        target: usize,
        topic: u8,
        precision: DatePrecision,
        designed: u8,
    ) {
        let mut effective_to = None;
        if let Some(day) = draft.lifted_on {
            draft.history.push(ActionStatus::Lifted, day);
        } else if let (Some(from), (ActionStatus::InForce, _)) =
            (draft.effective_from, draft.history.last())
        {
            let u = self.rng.unit();
            if u < 0.07 {
                // A sunset clause: in force until effective_to, expired the day after.
                let to = from + self.rng.between(90, 1_800) as Day;
                effective_to = Some(to);
                if to < LAST_DAY {
                    draft.history.push(ActionStatus::Expired, to + 1);
                }
            } else if u < 0.17 {
                let status = if u < 0.11 {
                    ActionStatus::Suspended
                } else {
                    ActionStatus::Lifted
                };
                let on = from + self.rng.between(30, 2_000) as Day;
                if on <= LAST_DAY {
                    draft.history.push(status, on);
                }
            }
        }
        let id = self.rng.uuid();
        self.acts.push(Act {
            id,
            initiator: initiator as u16,
            target: target as u16,
            kind: draft.kind as u8,
            topic,
            precision,
            designed,
            announced: draft.day,
            effective_from: draft.effective_from,
            effective_to,
            severity10: draft.severity10,
            history: draft.history,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::world;

    pub(crate) fn types() -> Vec<TypeInfo> {
        // The categories and default severities of migration 000002, enough for planning.
        PROFILES
            .iter()
            .map(|p| {
                let (category, severity) = match p.code {
                    "visa_ban" => (Category::Sanction, -5.0),
                    "stop_assistance" => (Category::Sanction, -5.6),
                    "confiscation" => (Category::Sanction, -9.2),
                    "blockade" => (Category::Sanction, -9.5),
                    c if c.contains("legislation") => (Category::Legislation, -5.8),
                    "threaten" => (Category::Threat, -4.4),
                    "ultimatum" => (Category::Threat, -7.0),
                    c if c.starts_with("threaten") => (Category::Threat, -5.8),
                    c if c.starts_with("demand") => (Category::Demand, -5.0),
                    "criticize" | "accuse" => (Category::Criticism, -2.0),
                    "refuse_easing" => (Category::Rejection, -4.0),
                    "halt_negotiations" => (Category::Diplomatic, -7.0),
                    "expel_individuals" => (Category::Diplomatic, -5.0),
                    "reduce_relations" | "expel_diplomats" | "close_mission" => {
                        (Category::Diplomatic, -4.0)
                    }
                    "ease_administrative" => (Category::Easing, 5.0),
                    "intent_to_ease" | "ease_sanctions" | "lift_sanctions" => {
                        (Category::Easing, 7.0)
                    }
                    "sign_agreement" => (Category::Agreement, 8.0),
                    _ => (Category::Sanction, -8.0),
                };
                TypeInfo {
                    code: p.code.to_string(),
                    category,
                    default_severity: severity,
                }
            })
            .collect()
    }

    /// The sizes of the episodes, from the labels `facts` gives them.
    fn components(plan: &Plan) -> Vec<usize> {
        let mut size: std::collections::HashMap<Uuid, usize> = Default::default();
        for f in &plan.facts {
            *size.entry(f.episode).or_default() += 1;
        }
        size.into_values().collect()
    }

    /// The API's `generation` of every action: 0 when it answers nothing, else 1 + the
    /// largest generation among what it answers.
    fn generations(plan: &Plan) -> Vec<u32> {
        let mut generation = vec![u32::MAX; plan.acts.len()];
        fn visit(plan: &Plan, g: &mut [u32], i: usize) -> u32 {
            if g[i] == u32::MAX {
                // Iterative deepening would be kinder to the stack; depths stay in the
                // thousands here and tests run with a large enough stack.
                let mut best = 0;
                for e in plan.edges_of(i) {
                    best = best.max(visit(plan, g, e.to as usize) + 1);
                }
                g[i] = best;
            }
            g[i]
        }
        for i in 0..plan.acts.len() {
            visit(plan, &mut generation, i);
        }
        generation
    }

    #[test]
    fn answers_are_earlier_same_dyad_and_about_a_fifth() {
        let w = world::build(5);
        let t = types();
        let plan = build(&w, &t, 120_000, 5).unwrap();
        assert_eq!(plan.acts.len(), 120_000);
        let answering = (0..plan.acts.len())
            .filter(|&i| !plan.edges_of(i).is_empty())
            .count();
        let share = answering as f64 / plan.acts.len() as f64;
        assert!((0.18..0.22).contains(&share), "{share}");
        for e in &plan.edges {
            let (from, to) = (&plan.acts[e.from as usize], &plan.acts[e.to as usize]);
            assert!(to.announced <= from.announced);
            let dyad = |a: &Act| (a.initiator.min(a.target), a.initiator.max(a.target));
            assert_eq!(dyad(from), dyad(to));
            if e.relation == Relation::Implements {
                assert_eq!(from.initiator, to.initiator);
                assert_eq!(t[to.kind as usize].category, Category::Threat);
            }
            if e.relation == Relation::Lifts {
                assert_eq!(from.initiator, to.initiator);
                assert_eq!(to.history.last().0, ActionStatus::Lifted);
            }
        }
        let largest = components(&plan).into_iter().max().unwrap();
        assert_eq!(largest, 5_000);
        // Designed episodes are long exchanges, not only wide ones.
        let depth = generations(&plan).into_iter().max().unwrap();
        assert!(depth >= 1_000, "deepest chain {depth}");
        for d in &plan.designed {
            let root = &plan.acts[d.root as usize];
            assert!(plan.edges_of(d.root as usize).is_empty());
            assert_eq!(DESIGNED[root.designed as usize - 1].0, d.size);
        }
        // Histories are chronological and end in the action's status.
        for a in &plan.acts {
            let days: Vec<Day> = a.history.iter().map(|(_, d)| d).collect();
            assert!(days.windows(2).all(|w| w[0] <= w[1]), "{days:?}");
            assert!(a.history.len >= 1);
            if let (Some(f), Some(t)) = (a.effective_from, a.effective_to) {
                assert!(f <= t);
            }
            assert!((-100..=100).contains(&a.severity10));
        }
    }

    #[test]
    fn same_seed_same_plan() {
        let w = world::build(3);
        let t = types();
        let a = build(&w, &t, 5_000, 3).unwrap();
        let b = build(&w, &t, 5_000, 3).unwrap();
        assert!(a.acts.iter().zip(&b.acts).all(|(x, y)| x.id == y.id
            && x.announced == y.announced
            && x.severity10 == y.severity10));
        assert_eq!(a.edges.len(), b.edges.len());
        let c = build(&w, &t, 5_000, 4).unwrap();
        assert_ne!(a.acts[0].id, c.acts[0].id);
    }
}
