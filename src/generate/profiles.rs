//! How each of the 34 action types behaves in generated data: how often it occurs alone or
//! as an answer, its lifecycle, whom it names, which ministry acts, and its title patterns.
//! Category and default severity come from the database (migration 000002), not from here.

/// The statuses an action of this type goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifecycle {
    /// A measure: (announced ->) in force, later perhaps suspended, lifted or expired.
    Measure,
    /// Done once: announced, nothing follows (a demand, a criticism, an expulsion).
    OneOff,
    /// A threat: threatened; a later action of the same initiator may implement it.
    Threat,
    /// Legislation: announced, usually in force some weeks later.
    Law,
}

/// Whom an action of this type designates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Designates {
    Nobody,
    /// Mostly people (visa bans, asset freezes).
    People,
    /// Mostly companies and bodies (entity listings, investment bans).
    Bodies,
}

#[derive(Debug)]
pub struct Profile {
    pub code: &'static str,
    /// Relative frequency as an action that answers nothing (alone or opening an episode).
    pub opening: f64,
    /// Relative frequency as an answer to the other side.
    pub answer: f64,
    pub lifecycle: Lifecycle,
    pub designates: Designates,
    /// Index into `data::MINISTRIES` of the body that usually acts.
    pub ministry: usize,
    /// The measure as a noun phrase, for summaries ("an asset freeze").
    pub noun: &'static str,
    /// Title patterns; see `render::fill` for the placeholders.
    pub titles: &'static [&'static str],
}

const FOREIGN: usize = 0;
const FINANCE: usize = 1;
const TRADE: usize = 2;
const PARLIAMENT: usize = 3;

use Designates::*;
use Lifecycle::*;

pub const PROFILES: &[Profile] = &[
    Profile {
        code: "asset_freeze",
        opening: 14.0,
        answer: 6.0,
        lifecycle: Measure,
        designates: People,
        ministry: FINANCE,
        noun: "an asset freeze",
        titles: &[
            "{I} freezes assets of {T} officials over {topic}",
            "{I} sanctions {who} over {topic}",
            "{I} blocks property of {n} {T} individuals and entities linked to {topic}",
            "{I} imposes asset freeze on {T} {sector} executives",
        ],
    },
    Profile {
        code: "visa_ban",
        opening: 9.0,
        answer: 8.0,
        lifecycle: Measure,
        designates: People,
        ministry: FOREIGN,
        noun: "visa restrictions",
        titles: &[
            "{I} bars entry to {T} officials over {topic}",
            "{I} imposes visa restrictions on {who}",
            "{I} bans {n} {T} officials from entering over {topic}",
        ],
    },
    Profile {
        code: "export_control",
        opening: 5.0,
        answer: 3.0,
        lifecycle: Measure,
        designates: Bodies,
        ministry: TRADE,
        noun: "export controls",
        titles: &[
            "{I} restricts exports of {goods} to {T}",
            "{I} tightens export controls on {T} {sector} firms",
            "{I} requires licences for {goods} shipments to {T}",
        ],
    },
    Profile {
        code: "entity_listing",
        opening: 6.0,
        answer: 4.0,
        lifecycle: Measure,
        designates: Bodies,
        ministry: TRADE,
        noun: "an entity listing",
        titles: &[
            "{I} adds {n} {T} entities to trade blacklist over {topic}",
            "{I} blacklists {who}",
            "{I} puts {T} {sector} companies on entity list",
        ],
    },
    Profile {
        code: "import_ban",
        opening: 3.0,
        answer: 3.0,
        lifecycle: Measure,
        designates: Bodies,
        ministry: TRADE,
        noun: "an import ban",
        titles: &[
            "{I} bans imports of {T} {goods}",
            "{I} halts purchases of {goods} from {T} over {topic}",
        ],
    },
    Profile {
        code: "tariff",
        opening: 3.0,
        answer: 3.0,
        lifecycle: Measure,
        designates: Nobody,
        ministry: TRADE,
        noun: "punitive tariffs",
        titles: &[
            "{I} imposes {pct}% tariffs on {T} {goods}",
            "{I} raises duties on {goods} from {T} to {pct}%",
        ],
    },
    Profile {
        code: "financial_sanction",
        opening: 5.0,
        answer: 2.0,
        lifecycle: Measure,
        designates: Bodies,
        ministry: FINANCE,
        noun: "financial sanctions",
        titles: &[
            "{I} cuts {T} {sector} banks off from its financial system",
            "{I} imposes financial sanctions on {who}",
            "{I} restricts dealings in {T} sovereign debt over {topic}",
        ],
    },
    Profile {
        code: "investment_ban",
        opening: 2.0,
        answer: 1.0,
        lifecycle: Measure,
        designates: Bodies,
        ministry: FINANCE,
        noun: "an investment ban",
        titles: &[
            "{I} bans investment in {T} {sector} companies",
            "{I} orders divestment from {n} {T} firms",
        ],
    },
    Profile {
        code: "arms_embargo",
        opening: 1.5,
        answer: 0.3,
        lifecycle: Measure,
        designates: Nobody,
        ministry: FOREIGN,
        noun: "an arms embargo",
        titles: &[
            "{I} imposes arms embargo on {T} over {topic}",
            "{I} halts weapons sales to {T}",
        ],
    },
    Profile {
        code: "sectoral_sanction",
        opening: 2.0,
        answer: 1.0,
        lifecycle: Measure,
        designates: Bodies,
        ministry: FINANCE,
        noun: "sectoral sanctions",
        titles: &[
            "{I} targets {T} {sector} sector with sanctions",
            "{I} imposes sectoral sanctions on {T} over {topic}",
        ],
    },
    Profile {
        code: "confiscation",
        opening: 0.6,
        answer: 0.6,
        lifecycle: Measure,
        designates: Bodies,
        ministry: FINANCE,
        noun: "the confiscation of property",
        titles: &[
            "{I} seizes property of {who}",
            "{I} confiscates {T} {sector} assets",
        ],
    },
    Profile {
        code: "blockade",
        opening: 0.2,
        answer: 0.2,
        lifecycle: Measure,
        designates: Nobody,
        ministry: FOREIGN,
        noun: "a blockade",
        titles: &[
            "{I} blockades {T} ports",
            "{I} closes border crossings to {T} trade",
        ],
    },
    Profile {
        code: "stop_assistance",
        opening: 1.5,
        answer: 0.8,
        lifecycle: Measure,
        designates: Nobody,
        ministry: FINANCE,
        noun: "a halt of assistance",
        titles: &[
            "{I} suspends aid to {T} over {topic}",
            "{I} halts loans to {T}",
        ],
    },
    Profile {
        code: "sanctions_legislation",
        opening: 2.5,
        answer: 0.5,
        lifecycle: Law,
        designates: Nobody,
        ministry: PARLIAMENT,
        noun: "sanctions legislation",
        titles: &[
            "{I} lawmakers pass bill mandating sanctions on {T} over {topic}",
            "{I} enacts {T} accountability act",
            "{I} authorises sanctions on the {T} {sector} sector",
        ],
    },
    Profile {
        code: "counter_sanctions_legislation",
        opening: 0.5,
        answer: 1.5,
        lifecycle: Law,
        designates: Nobody,
        ministry: PARLIAMENT,
        noun: "counter-sanctions legislation",
        titles: &[
            "{I} adopts law to counter {T} sanctions",
            "{I} enacts blocking statute against {T} measures",
        ],
    },
    Profile {
        code: "threaten",
        opening: 3.0,
        answer: 12.0,
        lifecycle: Threat,
        designates: Nobody,
        ministry: FOREIGN,
        noun: "a vow of retaliation",
        titles: &[
            "{I} vows reciprocal action against {T}",
            "{I} warns {T} of consequences over {topic}",
            "{I} threatens to retaliate against {T}",
        ],
    },
    Profile {
        code: "threaten_sanctions",
        opening: 3.0,
        answer: 4.0,
        lifecycle: Threat,
        designates: Nobody,
        ministry: FOREIGN,
        noun: "a threat of sanctions",
        titles: &[
            "{I} threatens sanctions on {T} over {topic}",
            "{I} warns {T} {sector} firms of sanctions",
        ],
    },
    Profile {
        code: "threaten_relations",
        opening: 1.0,
        answer: 2.0,
        lifecycle: Threat,
        designates: Nobody,
        ministry: FOREIGN,
        noun: "a threat to reduce relations",
        titles: &[
            "{I} threatens to downgrade relations with {T}",
            "{I} warns it may expel {T} diplomats",
        ],
    },
    Profile {
        code: "ultimatum",
        opening: 0.5,
        answer: 0.5,
        lifecycle: Threat,
        designates: Nobody,
        ministry: FOREIGN,
        noun: "an ultimatum",
        titles: &[
            "{I} gives {T} {n} days to answer over {topic}",
            "{I} issues ultimatum to {T} over {topic}",
        ],
    },
    Profile {
        code: "demand_lifting",
        opening: 0.5,
        answer: 8.0,
        lifecycle: OneOff,
        designates: Nobody,
        ministry: FOREIGN,
        noun: "a demand to lift its measures",
        titles: &[
            "{I} urges {T} to withdraw its sanctions",
            "{I} demands {T} lift its measures",
            "{I} calls on {T} to revoke {sector} restrictions",
        ],
    },
    Profile {
        code: "demand_withdrawal",
        opening: 1.5,
        answer: 2.0,
        lifecycle: OneOff,
        designates: Nobody,
        ministry: FOREIGN,
        noun: "a demand for withdrawal",
        titles: &[
            "{I} demands {T} withdraw its forces",
            "{I} demands {T} reverse its decision on {topic}",
        ],
    },
    Profile {
        code: "criticize",
        opening: 9.0,
        answer: 9.0,
        lifecycle: OneOff,
        designates: Nobody,
        ministry: FOREIGN,
        noun: "a denunciation",
        titles: &[
            "{I} condemns {T} over {topic}",
            "{I} criticises {T} {sector} policy",
            "{I} denounces {T} measures as unlawful",
        ],
    },
    Profile {
        code: "accuse",
        opening: 7.0,
        answer: 5.0,
        lifecycle: OneOff,
        designates: Nobody,
        ministry: FOREIGN,
        noun: "an accusation",
        titles: &["{I} accuses {T} of {topic}", "{I} blames {T} for {topic}"],
    },
    Profile {
        code: "refuse_easing",
        opening: 0.7,
        answer: 2.0,
        lifecycle: OneOff,
        designates: Nobody,
        ministry: FOREIGN,
        noun: "a refusal to ease sanctions",
        titles: &[
            "{I} rejects calls to ease sanctions on {T}",
            "{I} refuses to lift measures against {T}",
        ],
    },
    Profile {
        code: "reduce_relations",
        opening: 1.5,
        answer: 2.0,
        lifecycle: Measure,
        designates: Nobody,
        ministry: FOREIGN,
        noun: "a downgrade of relations",
        titles: &[
            "{I} downgrades relations with {T}",
            "{I} suspends cooperation with {T} in {sector}",
        ],
    },
    Profile {
        code: "expel_diplomats",
        opening: 2.0,
        answer: 5.0,
        lifecycle: OneOff,
        designates: Nobody,
        ministry: FOREIGN,
        noun: "the expulsion of diplomats",
        titles: &[
            "{I} expels {n} {T} diplomats",
            "{I} declares {T} envoy persona non grata",
        ],
    },
    Profile {
        code: "close_mission",
        opening: 0.4,
        answer: 1.0,
        lifecycle: Measure,
        designates: Nobody,
        ministry: FOREIGN,
        noun: "the closure of a diplomatic mission",
        titles: &[
            "{I} orders closure of {T} consulate",
            "{I} shuts {T} embassy",
        ],
    },
    Profile {
        code: "halt_negotiations",
        opening: 1.0,
        answer: 1.5,
        lifecycle: Measure,
        designates: Nobody,
        ministry: FOREIGN,
        noun: "a halt of negotiations",
        titles: &[
            "{I} suspends talks with {T} over {topic}",
            "{I} walks out of {sector} negotiations with {T}",
        ],
    },
    Profile {
        code: "expel_individuals",
        opening: 1.0,
        answer: 1.5,
        lifecycle: OneOff,
        designates: People,
        ministry: FOREIGN,
        noun: "the expulsion of individuals",
        titles: &[
            "{I} expels {T} journalists",
            "{I} deports {n} {T} nationals over {topic}",
        ],
    },
    Profile {
        code: "intent_to_ease",
        opening: 1.0,
        answer: 1.0,
        lifecycle: OneOff,
        designates: Nobody,
        ministry: FOREIGN,
        noun: "an offer to ease sanctions",
        titles: &[
            "{I} signals readiness to ease sanctions on {T}",
            "{I} offers sanctions relief to {T}",
        ],
    },
    Profile {
        code: "ease_administrative",
        opening: 0.5,
        answer: 0.8,
        lifecycle: Measure,
        designates: People,
        ministry: FOREIGN,
        noun: "an easing of visa restrictions",
        titles: &[
            "{I} eases visa restrictions on {T} officials",
            "{I} lifts travel bans on {who}",
        ],
    },
    Profile {
        code: "ease_sanctions",
        opening: 0.8,
        answer: 1.0,
        lifecycle: Measure,
        designates: Nobody,
        ministry: FINANCE,
        noun: "an easing of sanctions",
        titles: &[
            "{I} issues general licence easing {T} {sector} sanctions",
            "{I} partially eases sanctions on {T}",
        ],
    },
    Profile {
        code: "lift_sanctions",
        opening: 0.8,
        answer: 0.5,
        lifecycle: Measure,
        designates: People,
        ministry: FINANCE,
        noun: "the lifting of sanctions",
        titles: &[
            "{I} lifts sanctions on the {T} {sector} sector",
            "{I} removes {who} from sanctions list",
        ],
    },
    Profile {
        code: "sign_agreement",
        opening: 0.6,
        answer: 0.8,
        lifecycle: Measure,
        designates: Nobody,
        ministry: FOREIGN,
        noun: "an agreement",
        titles: &[
            "{I} and {T} sign agreement on {sector}",
            "{I} and {T} reach deal ending dispute over {topic}",
        ],
    },
];

pub fn by_code(code: &str) -> Option<usize> {
    PROFILES.iter().position(|p| p.code == code)
}
