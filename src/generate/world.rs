//! The actors of a generated data set and who deals with whom: states and IGOs (the dyad
//! members), the ministries that act for them, the people and bodies they designate, and the
//! ranked dyads with their Zipf-skewed weights.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::data::{self, Region};
use super::rng::Rng;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    State,
    Igo,
    GovernmentBody,
    Person,
    Organization,
    Company,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::State => "state",
            Kind::Igo => "igo",
            Kind::GovernmentBody => "government_body",
            Kind::Person => "person",
            Kind::Organization => "organization",
            Kind::Company => "company",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Actor {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    pub kind: Kind,
    /// Index (into `World::actors`) of the state the actor belongs to.
    pub country: Option<usize>,
    pub parent: Option<usize>,
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A state or IGO that takes part in dyads, with what it acts through and whom it loses.
#[derive(Debug, Default)]
pub struct Member {
    pub actor: usize,
    pub region: Option<Region>,
    /// Acting bodies by `data::MINISTRIES` index (None: the action has no authority).
    pub ministries: [Option<usize>; 4],
    /// People of this state that others designate.
    pub people: Vec<usize>,
    /// Companies, organisations and security bodies of this state that others designate.
    pub bodies: Vec<usize>,
    /// (legal basis, programme) this member's sanctions cite, when it has well-known ones.
    pub legal: &'static [(&'static str, &'static str)],
}

/// Two members; `a` initiates `a_share` of the dyad's actions.
#[derive(Debug, Clone, Copy)]
pub struct Dyad {
    pub a: usize,
    pub b: usize,
    pub a_share: f64,
    pub weight: f64,
}

pub struct World {
    pub actors: Vec<Actor>,
    pub members: Vec<Member>,
    /// Busiest first.
    pub dyads: Vec<Dyad>,
}

/// How many undirected dyads are active, and the Zipf-Mandelbrot skew of their weights,
/// (rank + 1 + Q)^-S: the busiest dyad gets about 8% of all actions, the top 10 about 40%,
/// the top 100 about three quarters (see `dyad_weights_are_skewed_as_documented`).
const DYADS: usize = 6_000;
const ZIPF_S: f64 = 1.4;
const ZIPF_Q: f64 = 4.0;

/// Designated people and bodies, spread over states by how often they are targeted.
const PEOPLE: usize = 3_000;
const BODIES: usize = 1_500;
/// The most targeted states also get security organs that others designate.
const SECURITY_TARGETS: usize = 40;

/// Where every created_at of the actors points: before the first action.
fn actors_created_at() -> DateTime<Utc> {
    DateTime::from_timestamp(946_684_800, 0).expect("2000-01-01T00:00:00Z")
}

pub fn slug(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let c = match c {
            'é' | 'è' | 'ê' => 'e',
            'ô' | 'ö' => 'o',
            'ü' => 'u',
            'ã' | 'á' => 'a',
            'í' => 'i',
            c => c,
        };
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    out
}

struct Builder {
    actors: Vec<Actor>,
    codes: HashSet<String>,
    names: HashSet<String>,
}

impl Builder {
    fn add(&mut self, rng: &mut Rng, mut actor: Actor) -> usize {
        // Codes are unique in the table; a clash (two people with one name) gets a suffix.
        if !self.codes.insert(actor.code.clone()) {
            let base = actor.code.clone();
            let mut n = 2;
            while !self.codes.insert(format!("{base}-{n}")) {
                n += 1;
            }
            actor.code = format!("{base}-{n}");
        }
        actor.id = rng.uuid();
        self.names.insert(actor.name.clone());
        self.actors.push(actor);
        self.actors.len() - 1
    }
}

fn actor(code: String, name: String, kind: Kind) -> Actor {
    Actor {
        id: Uuid::nil(),
        code,
        name,
        kind,
        country: None,
        parent: None,
        description: None,
        created_at: actors_created_at(),
    }
}

pub fn build(seed: u64) -> World {
    let mut rng = Rng::stream(seed, 1, 0);
    let mut b = Builder {
        actors: Vec::new(),
        codes: HashSet::new(),
        names: HashSet::new(),
    };
    let mut members: Vec<Member> = Vec::new();

    for (code, name, region) in data::STATES {
        let i = b.add(
            &mut rng,
            actor(code.to_string(), name.to_string(), Kind::State),
        );
        members.push(Member {
            actor: i,
            region: Some(*region),
            legal: legal_of(code),
            ..Member::default()
        });
    }
    for (code, name, _) in data::IGOS {
        let i = b.add(
            &mut rng,
            actor(code.to_string(), name.to_string(), Kind::Igo),
        );
        members.push(Member {
            actor: i,
            legal: legal_of(code),
            ..Member::default()
        });
    }

    // Ministries act for states; an IGO acts through its own organs (IGOs themselves, since
    // a non-state, non-IGO actor needs a country).
    for m in members.iter_mut() {
        let owner = m.actor;
        let owner_code = b.actors[owner].code.clone();
        let owner_name = b.actors[owner].name.clone();
        if b.actors[owner].kind == Kind::State {
            for (slot, (suffix, pattern)) in data::MINISTRIES.iter().enumerate() {
                let name = data::MINISTRY_NAMES
                    .iter()
                    .find(|(c, s, _)| *c == owner_code && s == suffix)
                    .map(|(_, _, n)| n.to_string())
                    .unwrap_or_else(|| pattern.replace("{}", &owner_name));
                let mut a = actor(
                    format!("{}-{suffix}", owner_code.to_ascii_lowercase()),
                    name,
                    Kind::GovernmentBody,
                );
                a.country = Some(owner);
                a.parent = Some(owner);
                m.ministries[slot] = Some(b.add(&mut rng, a));
            }
        } else {
            let organs = data::IGOS
                .iter()
                .find(|(c, _, _)| *c == owner_code)
                .map(|(_, _, organs)| *organs)
                .unwrap_or(&[]);
            for (slot, (code, name)) in organs.iter().enumerate() {
                let mut a = actor(code.to_string(), name.to_string(), Kind::Igo);
                a.parent = Some(owner);
                let i = b.add(&mut rng, a);
                // The first organ decides on sanctions and foreign policy, a second one (the
                // Commission) on trade.
                if slot == 0 {
                    m.ministries = [Some(i), Some(i), Some(i), Some(i)];
                } else {
                    m.ministries[2] = Some(i);
                }
            }
        }
    }

    let dyads = rank_dyads(&members, &b.actors, &mut rng);

    // How much each member is targeted decides how many of its people and bodies exist.
    let mut targeted = vec![0.0; members.len()];
    for d in &dyads {
        targeted[d.b] += d.weight * d.a_share;
        targeted[d.a] += d.weight * (1.0 - d.a_share);
    }
    let states: Vec<usize> = (0..members.len())
        .filter(|&m| b.actors[members[m].actor].kind == Kind::State)
        .collect();
    let pull: Vec<f64> = states.iter().map(|&m| targeted[m].sqrt()).collect();
    let total: f64 = pull.iter().sum();
    for (&m, p) in states.iter().zip(&pull) {
        let share = p / total;
        let people = 2 + (share * (PEOPLE - 2 * states.len()) as f64).round() as usize;
        let bodies = 1 + (share * (BODIES - states.len()) as f64).round() as usize;
        for _ in 0..people {
            let i = person(&mut b, &mut rng, &members[m]);
            members[m].people.push(i);
        }
        for _ in 0..bodies {
            let i = organisation(&mut b, &mut rng, &members[m]);
            members[m].bodies.push(i);
        }
    }
    let mut by_target = states.clone();
    by_target.sort_by(|x, y| targeted[*y].total_cmp(&targeted[*x]).then(x.cmp(y)));
    for &m in by_target.iter().take(SECURITY_TARGETS) {
        let state = members[m].actor;
        let mut organs: Vec<&str> = data::SECURITY_BODIES.to_vec();
        for _ in 0..3 {
            let organ = organs.remove(rng.below(organs.len()));
            let name = format!("{} {organ}", b.actors[state].name);
            let mut a = actor(
                format!(
                    "{}-{}",
                    b.actors[state].code.to_ascii_lowercase(),
                    slug(organ)
                ),
                name,
                Kind::GovernmentBody,
            );
            a.country = Some(state);
            a.parent = Some(state);
            a.description = Some(format!(
                "Security organ of {} (synthetic).",
                b.actors[state].name
            ));
            let i = b.add(&mut rng, a);
            members[m].bodies.push(i);
        }
    }

    World {
        actors: b.actors,
        members,
        dyads,
    }
}

fn legal_of(code: &str) -> &'static [(&'static str, &'static str)] {
    data::LEGAL_BASES
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, l)| *l)
        .unwrap_or(&[])
}

fn person(b: &mut Builder, rng: &mut Rng, m: &Member) -> usize {
    let (given, family) = data::person_names(m.region.unwrap_or(Region::Anglo));
    let mut name = format!("{} {}", rng.pick(given), rng.pick(family));
    // A few retries keep names (and so search hits) distinct; real lists have namesakes too.
    for _ in 0..4 {
        if !b.names.contains(&name) {
            break;
        }
        name = format!("{} {}", rng.pick(given), rng.pick(family));
    }
    let state = m.actor;
    let role = rng.pick(data::ROLES);
    let mut a = actor(slug(&name), name, Kind::Person);
    a.country = Some(state);
    a.description = Some(format!(
        "{}{} of {} (synthetic).",
        role[..1].to_ascii_uppercase(),
        &role[1..],
        b.actors[state].name
    ));
    b.add(rng, a)
}

fn organisation(b: &mut Builder, rng: &mut Rng, m: &Member) -> usize {
    let state = m.actor;
    let make = |rng: &mut Rng| {
        let (field, kind, suffixes) = rng.pick(data::ORG_FIELDS);
        let name = format!(
            "{} {field} {}",
            rng.pick(data::ORG_LEADS),
            rng.pick(suffixes)
        );
        let kind = if *kind == "company" {
            Kind::Company
        } else {
            Kind::Organization
        };
        (name, kind)
    };
    let (mut name, mut kind) = make(rng);
    for _ in 0..4 {
        if !b.names.contains(&name) {
            break;
        }
        (name, kind) = make(rng);
    }
    if b.names.contains(&name) {
        name = format!("{} {name}", b.actors[state].name);
    }
    let mut a = actor(slug(&name), name, kind);
    a.country = Some(state);
    a.description = Some(format!(
        "{} based in {} (synthetic).",
        if kind == Kind::Company {
            "Company"
        } else {
            "Organisation"
        },
        b.actors[state].name
    ));
    b.add(rng, a)
}

/// Ranks the dyads: the hand-picked familiar pairs first, then pairs of members by the
/// product of their activity (protagonists first, the rest in a seeded order), jittered so
/// that the tail is not a strict grid.
fn rank_dyads(members: &[Member], actors: &[Actor], rng: &mut Rng) -> Vec<Dyad> {
    let index_of = |code: &str| {
        members
            .iter()
            .position(|m| actors[m.actor].code == code)
            .unwrap_or_else(|| panic!("{code} is not a member"))
    };
    let mut order: Vec<usize> = data::PROTAGONISTS.iter().map(|c| index_of(c)).collect();
    let mut rest: Vec<usize> = (0..members.len()).filter(|m| !order.contains(m)).collect();
    for i in (1..rest.len()).rev() {
        let j = rng.below(i + 1);
        rest.swap(i, j);
    }
    order.extend(rest);
    let mut activity = vec![0.0; members.len()];
    for (rank, &m) in order.iter().enumerate() {
        activity[m] = 1.0 / (rank as f64 + 1.0).powf(0.9);
    }

    let mut chosen: Vec<(usize, usize, f64)> = Vec::new();
    let mut seen = HashSet::new();
    for (a, b) in data::HOT_DYADS {
        let (a, b) = (index_of(a), index_of(b));
        seen.insert((a.min(b), a.max(b)));
        chosen.push((a, b, 0.58 + 0.14 * rng.unit()));
    }
    let igo = |m: usize| actors[members[m].actor].kind == Kind::Igo;
    let mut candidates: Vec<(f64, usize, usize)> = Vec::new();
    for x in 0..members.len() {
        for y in (x + 1)..members.len() {
            if seen.contains(&(x, y)) || (igo(x) && igo(y)) {
                continue;
            }
            let score = activity[x] * activity[y] * (0.5 + rng.unit());
            candidates.push((score, x, y));
        }
    }
    candidates.sort_by(|p, q| q.0.total_cmp(&p.0).then((p.1, p.2).cmp(&(q.1, q.2))));
    for (_, x, y) in candidates {
        if chosen.len() >= DYADS {
            break;
        }
        // The more active member initiates more.
        let (a, b) = if activity[x] >= activity[y] {
            (x, y)
        } else {
            (y, x)
        };
        chosen.push((a, b, 0.5 + 0.25 * rng.unit()));
    }
    chosen
        .into_iter()
        .enumerate()
        .map(|(rank, (a, b, a_share))| Dyad {
            a,
            b,
            a_share,
            weight: (rank as f64 + 1.0 + ZIPF_Q).powf(-ZIPF_S),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_valid_and_unique() {
        let w = build(1);
        let states = w.actors.iter().filter(|a| a.kind == Kind::State).count();
        assert_eq!(states, data::STATES.len());
        assert!((190..=200).contains(&states), "{states} states");
        let mut codes = HashSet::new();
        for a in &w.actors {
            assert!(codes.insert(a.code.clone()), "duplicate {}", a.code);
            if a.kind == Kind::State {
                assert!(crate::input::is_state_code(&a.code), "{}", a.code);
            } else {
                assert!(crate::input::is_slug(&a.code), "{}", a.code);
                assert!(a.kind == Kind::Igo || a.country.is_some(), "{}", a.code);
            }
            assert!(!a.name.trim().is_empty() && a.name.chars().count() <= 300);
        }
        let people = w.actors.iter().filter(|a| a.kind == Kind::Person).count();
        assert!((2_500..=3_500).contains(&people), "{people} people");
    }

    #[test]
    fn dyad_weights_are_skewed_as_documented() {
        let w = build(1);
        let total: f64 = w.dyads.iter().map(|d| d.weight).sum();
        let top = |n: usize| w.dyads.iter().take(n).map(|d| d.weight).sum::<f64>() / total;
        assert!((0.06..0.10).contains(&top(1)), "{}", top(1));
        assert!((0.35..0.45).contains(&top(10)), "{}", top(10));
        assert!((0.70..0.80).contains(&top(100)), "{}", top(100));
        assert_eq!(w.dyads.len(), DYADS);
    }

    #[test]
    fn same_seed_same_world() {
        let (a, b) = (build(9), build(9));
        assert_eq!(a.actors.len(), b.actors.len());
        assert!(a
            .actors
            .iter()
            .zip(&b.actors)
            .all(|(x, y)| x.id == y.id && x.code == y.code && x.name == y.name));
        assert_ne!(build(10).actors[0].id, a.actors[0].id);
    }
}
