//! The rows of each table for one planned action. Every text, designation and source is
//! drawn from a random stream of its own for (seed, purpose, action), so that each table can
//! be produced in its own pass, in any order, and still agree with the others: the
//! designations pass picks the same people the actions pass named in `designated_names`.

use super::data;
use super::plan::{to_date, Act, Day, Plan, TypeInfo};
use super::profiles::{Designates, PROFILES};
use super::rng::Rng;
use super::world::{slug, World};
use crate::models::enums::{ActionStatus, Category, Relation};
use crate::pgcopy::Encoder;

const DESIGNATIONS: u64 = 10;
const TITLE: u64 = 11;
const TEXT: u64 = 12;
const SOURCES: u64 = 13;
const STATUS: u64 = 14;

/// Unix time of 2000-01-01T00:00:00Z.
const DAY_ZERO_UNIX: i64 = 946_684_800;

fn unix(day: Day, seconds: i64) -> i64 {
    DAY_ZERO_UNIX + day as i64 * 86_400 + seconds
}

pub struct Source {
    pub url: String,
    pub publisher: &'static str,
    pub published_on: Day,
    pub quote: Option<&'static str>,
}

pub struct Renderer<'a> {
    pub world: &'a World,
    pub plan: &'a Plan,
    pub types: &'a [TypeInfo],
    pub seed: u64,
}

/// Replaces `{key}` placeholders through `value`.
fn fill(template: &str, out: &mut String, mut value: impl FnMut(&str, &mut String)) {
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = open + rest[open..].find('}').expect("closed placeholder");
        value(&rest[open + 1..close], out);
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
}

impl Renderer<'_> {
    fn member_name(&self, m: u16) -> &str {
        &self.world.actors[self.world.members[m as usize].actor].name
    }

    fn member_actor(&self, m: u16) -> &super::world::Actor {
        &self.world.actors[self.world.members[m as usize].actor]
    }

    /// The people and bodies action `i` designates (actor indices), 0 to 5 of the target's.
    pub fn designees(&self, i: usize) -> Vec<usize> {
        let act = &self.plan.acts[i];
        let profile = &PROFILES[act.kind as usize];
        let target = &self.world.members[act.target as usize];
        if profile.designates == Designates::Nobody || target.people.is_empty() {
            return Vec::new();
        }
        let mut rng = Rng::stream(self.seed, DESIGNATIONS, i as u64);
        let count = rng.weighted(&[25.0, 35.0, 20.0, 10.0, 6.0, 4.0]);
        let mut picked: Vec<usize> = Vec::with_capacity(count);
        let people_share = if profile.designates == Designates::People {
            0.85
        } else {
            0.15
        };
        for _ in 0..count {
            let pool = if rng.chance(people_share) {
                &target.people
            } else {
                &target.bodies
            };
            // A repeat draw is dropped: an actor is designated once per action.
            let actor = *rng.pick(pool);
            if !picked.contains(&actor) {
                picked.push(actor);
            }
        }
        picked
    }

    /// What full-text search sees of the designations: names in code order, as the API
    /// stores them (`models::action::designated_names_of`).
    pub fn designated_names(&self, designees: &[usize]) -> String {
        let mut sorted: Vec<&super::world::Actor> =
            designees.iter().map(|&a| &self.world.actors[a]).collect();
        sorted.sort_by(|a, b| a.code.cmp(&b.code));
        sorted
            .iter()
            .map(|a| a.name.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }

    pub fn title(&self, i: usize, designees: &[usize]) -> String {
        let act = &self.plan.acts[i];
        let profile = &PROFILES[act.kind as usize];
        let mut rng = Rng::stream(self.seed, TITLE, i as u64);
        let template = *rng.pick(profile.titles);
        let mut title = String::with_capacity(96);
        fill(template, &mut title, |key, out| match key {
            "I" => out.push_str(self.member_name(act.initiator)),
            "T" => out.push_str(self.member_name(act.target)),
            "topic" => out.push_str(data::TOPICS[act.topic as usize].0),
            "sector" => out.push_str(rng.word(data::SECTORS)),
            "goods" => out.push_str(rng.word(data::GOODS)),
            "n" => out.push_str(&rng.between(2, 40).to_string()),
            "pct" => out.push_str(&rng.pick(&[10, 15, 20, 25, 30, 50, 100]).to_string()),
            "who" => match designees {
                [] => {
                    out.push_str(self.member_name(act.target));
                    out.push_str(" officials");
                }
                [one] => out.push_str(&self.world.actors[*one].name),
                [first, rest @ ..] => {
                    out.push_str(&self.world.actors[*first].name);
                    out.push_str(&format!(" and {} others", rest.len()));
                }
            },
            other => unreachable!("unknown placeholder {other}"),
        });
        title
    }

    pub fn sources(&self, i: usize, title: &str) -> Vec<Source> {
        let act = &self.plan.acts[i];
        let mut rng = Rng::stream(self.seed, SOURCES, i as u64);
        let count = if rng.chance(0.3) { 2 } else { 1 };
        let date = to_date(act.announced);
        let mut path = slug(title);
        if path.len() > 80 {
            let cut = path[..80].rfind('-').unwrap_or(80);
            path.truncate(cut);
        }
        let first = rng.below(data::PUBLISHERS.len());
        let mut out = Vec::with_capacity(count);
        for k in 0..count {
            let p = if k == 0 {
                first
            } else {
                (first + 1 + rng.below(data::PUBLISHERS.len() - 1)) % data::PUBLISHERS.len()
            };
            let (publisher, host, prefix) = data::PUBLISHERS[p];
            let url = format!(
                "https://{host}/{prefix}/{}/{:02}/{:02}/{path}-{}{k}",
                date.format("%Y"),
                date.format("%m"),
                date.format("%d"),
                &act.id.simple().to_string()[..8]
            );
            out.push(Source {
                url,
                publisher,
                published_on: act.announced + rng.between(0, 1) as Day,
                quote: rng.chance(0.2).then(|| *rng.pick(data::QUOTES)),
            });
        }
        out
    }

    /// When the action was recorded, and last changed (its last status change, if later).
    fn times(&self, act: &Act, rng: &mut Rng) -> (i64, i64) {
        let created = unix(act.announced, rng.between(6 * 3_600, 22 * 3_600));
        let (_, last) = act.history.last();
        let updated = if last > act.announced {
            unix(last, rng.between(8 * 3_600, 20 * 3_600)).max(created)
        } else {
            created
        };
        (created, updated)
    }

    pub fn actors(&self, enc: &mut Encoder) {
        for a in &self.world.actors {
            enc.row(9);
            enc.uuid(a.id);
            enc.text(&a.code);
            enc.text(&a.name);
            enc.text(a.kind.as_str());
            enc.opt_text(a.country.map(|c| self.world.actors[c].code.as_str()));
            enc.opt_uuid(a.parent.map(|p| self.world.actors[p].id));
            enc.opt_text(a.description.as_deref());
            enc.timestamp(a.created_at.timestamp());
            enc.timestamp(a.created_at.timestamp());
        }
    }

    pub const ACTOR_COLUMNS: &'static str =
        "id, code, name, kind, country, parent_id, description, created_at, updated_at";

    pub const ACTION_COLUMNS: &'static str = "id, title, summary, initiator_id, initiator_kind, \
        target_id, target_kind, authority_id, type_code, status, announced_on, date_precision, \
        effective_from, effective_to, legal_basis, program, severity, tags, created_at, \
        updated_at, designated_names, episode_id, first_answer_on, first_implemented_on, \
        answers_mirror, answers_escalate, answers_de_escalate";

    pub fn action(&self, i: usize, enc: &mut Encoder) {
        let act = &self.plan.acts[i];
        let profile = &PROFILES[act.kind as usize];
        let info = &self.types[act.kind as usize];
        let designees = self.designees(i);
        let title = self.title(i, &designees);
        let mut rng = Rng::stream(self.seed, TEXT, i as u64);
        let member = &self.world.members[act.initiator as usize];
        let authority = member.ministries[profile.ministry]
            .filter(|_| rng.chance(0.9))
            .map(|a| &self.world.actors[a]);
        let edges = self.plan.edges_of(i);
        let summary = rng.chance(0.6).then(|| {
            let subject = authority.map_or(self.member_name(act.initiator), |a| &a.name);
            let preposition = match info.category {
                Category::Easing => "for",
                Category::Agreement => "with",
                _ => "against",
            };
            let mut s = format!(
                "{subject} announced {} {preposition} {}, citing {}.",
                profile.noun,
                self.member_name(act.target),
                data::TOPICS[act.topic as usize].0
            );
            if let Some(e) = edges.first() {
                let trigger = &self.plan.acts[e.to as usize];
                let date = to_date(trigger.announced).format("%-d %B %Y");
                let noun = PROFILES[trigger.kind as usize].noun;
                if e.relation == Relation::Implements {
                    s.push_str(&format!(" It carries out {noun} of {date}."));
                } else {
                    s.push_str(&format!(
                        " It answers {} of {date} by {}.",
                        noun,
                        self.member_name(trigger.initiator)
                    ));
                }
            }
            if rng.chance(0.25) {
                s.push(' ');
                s.push_str(rng.word(data::CODAS));
            }
            s
        });
        let legal = if matches!(info.category, Category::Sanction | Category::Legislation) {
            if !member.legal.is_empty() && rng.chance(0.85) {
                let (basis, program) = *rng.pick(member.legal);
                Some((basis.to_string(), program.to_string()))
            } else if rng.chance(0.5) {
                let year = to_date(act.announced).format("%Y");
                Some((
                    format!(
                        "{} decree No. {}/{year} on restrictive measures",
                        self.member_name(act.initiator),
                        rng.between(1, 400)
                    ),
                    format!(
                        "{}-{year}",
                        self.member_actor(act.target).code.to_uppercase()
                    ),
                ))
            } else {
                None
            }
        } else {
            None
        };
        let mut tags: Vec<&str> = vec!["synthetic", data::TOPICS[act.topic as usize].1];
        if !edges.is_empty() {
            tags.push("response");
        }
        if edges.iter().any(|e| e.relation == Relation::Implements) {
            tags.push("follow_through");
        }
        if act.designed > 0 {
            tags.push(super::plan::DESIGNED[act.designed as usize - 1].1);
        }
        let (created, updated) = self.times(act, &mut rng);
        let (status, _) = act.history.last();
        let initiator = self.member_actor(act.initiator);
        let target = self.member_actor(act.target);

        enc.row(27);
        enc.uuid(act.id);
        enc.text(&title);
        enc.opt_text(summary.as_deref());
        enc.uuid(initiator.id);
        enc.text(initiator.kind.as_str());
        enc.uuid(target.id);
        enc.text(target.kind.as_str());
        enc.opt_uuid(authority.map(|a| a.id));
        enc.text(&info.code);
        enc.text(status.as_str());
        enc.date(act.announced);
        enc.text(act.precision.as_str());
        enc.opt_date(act.effective_from);
        enc.opt_date(act.effective_to);
        enc.opt_text(legal.as_ref().map(|l| l.0.as_str()));
        enc.opt_text(legal.as_ref().map(|l| l.1.as_str()));
        enc.f64(act.severity());
        enc.text_array(&tags);
        enc.timestamp(created);
        enc.timestamp(updated);
        enc.text(&self.designated_names(&designees));
        let facts = &self.plan.facts[i];
        enc.uuid(facts.episode);
        enc.opt_date(facts.first_answer_on);
        enc.opt_date(facts.first_implemented_on);
        enc.i32(facts.answers_mirror);
        enc.i32(facts.answers_escalate);
        enc.i32(facts.answers_de_escalate);
    }

    pub fn designations(&self, i: usize, enc: &mut Encoder) -> usize {
        let act = &self.plan.acts[i];
        let designees = self.designees(i);
        // Listing dates: the day the measure took effect, when known and not given otherwise.
        let listed = act.effective_from.unwrap_or(act.announced);
        for (k, &a) in designees.iter().enumerate() {
            enc.row(3);
            enc.uuid(act.id);
            enc.uuid(self.world.actors[a].id);
            if k % 3 == 2 {
                enc.null();
            } else {
                enc.date(listed);
            }
        }
        designees.len()
    }

    pub fn source_rows(&self, i: usize, enc: &mut Encoder, next_id: &mut i64) -> usize {
        let act = &self.plan.acts[i];
        let title = self.title(i, &self.designees(i));
        let sources = self.sources(i, &title);
        for s in &sources {
            enc.row(6);
            enc.i64(*next_id);
            *next_id += 1;
            enc.uuid(act.id);
            enc.text(&s.url);
            enc.text(s.publisher);
            enc.date(s.published_on);
            enc.opt_text(s.quote);
        }
        sources.len()
    }

    pub fn responses(&self, i: usize, enc: &mut Encoder) -> usize {
        let edges = self.plan.edges_of(i);
        for e in edges {
            enc.row(3);
            enc.uuid(self.plan.acts[e.from as usize].id);
            enc.uuid(self.plan.acts[e.to as usize].id);
            enc.text(e.relation.as_str());
        }
        edges.len()
    }

    pub fn status_changes(&self, i: usize, enc: &mut Encoder, next_id: &mut i64) -> usize {
        let act = &self.plan.acts[i];
        let mut rng = Rng::stream(self.seed, STATUS, i as u64);
        let first_url = rng.chance(0.5).then(|| {
            let title = self.title(i, &self.designees(i));
            self.sources(i, &title).swap_remove(0).url
        });
        for (k, (status, day)) in act.history.iter().enumerate() {
            let note = match status {
                ActionStatus::InForce if k > 0 => Some("Entered into force."),
                ActionStatus::Lifted => Some("Lifted."),
                ActionStatus::Suspended => Some("Suspended pending talks."),
                ActionStatus::Expired => Some("Expired at the end of its term."),
                _ => None,
            };
            enc.row(7);
            enc.i64(*next_id);
            *next_id += 1;
            enc.uuid(act.id);
            enc.text(status.as_str());
            enc.date(day);
            enc.opt_text(if k == 0 { first_url.as_deref() } else { None });
            enc.opt_text(note);
            enc.timestamp(unix(day, rng.between(9 * 3_600, 19 * 3_600)));
        }
        act.history.len as usize
    }
}
