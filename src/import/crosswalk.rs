//! The crosswalks both mappers share: CAMEO codes to riposte action types (`TypeMap`), PLOVER
//! (event, mode, context) to CAMEO codes (the CAMEO2PLOVER table), dataset country codes to
//! ISO 3166-1 alpha-3 states, and the builder of import lines.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde_json::{json, Map, Value};

use crate::limits::{MAX_TAG_LEN, MAX_TEXT_LEN, MAX_TITLE_LEN};

/// What a mapper made of one foreign record.
#[derive(Debug, Clone, PartialEq)]
pub enum Mapped {
    /// Import lines, each a JSON object as it would appear on one line of an NDJSON import:
    /// first any actor lines the action needs, then exactly one action line.
    Lines(Vec<Value>),
    /// Why the record cannot become an action: `reason` is a short stable key, `detail` a
    /// sentence naming the values. PLOVER: `not_an_object`, `document_record`, `bad_date`,
    /// `no_source`, `no_target`, `unmapped_event`, `source_not_a_state`,
    /// `source_non_state_sector`, `compound_source`, `target_not_a_state`,
    /// `compound_target`, `same_state`. GDELT: `malformed_line`, `unmapped_event`,
    /// `not_state_to_state`, `source_non_state_sector`, `same_state`.
    Skipped {
        reason: &'static str,
        detail: String,
    },
}

impl Mapped {
    pub(super) fn skip(reason: &'static str, detail: impl Into<String>) -> Self {
        Mapped::Skipped {
            reason,
            detail: detail.into(),
        }
    }
}

// ---------------------------------------------------------------------------------------
// CAMEO codes -> riposte action types

/// When several riposte types carry the same CAMEO code, the first of these that the taxonomy
/// has is chosen. A shared code without an entry here is refused rather than guessed, so that
/// a new type sharing a code shows up as `unmapped_event` until someone decides.
const PREFERRED_TYPES: &[(&str, &[&str])] = &[
    // CAMEO 163 is "impose embargo, boycott or sanctions" on a state, naming no instrument.
    // riposte has no generic sanction type (a `sanction` one would be taken first); of the
    // nine 163 types, `sectoral_sanction` is the one aimed at the target state's economy
    // rather than at listed persons or one instrument (tariff, export licence, asset freeze).
    ("163", &["sanction", "sectoral_sanction"]),
    // 1312 is the threat itself; the two legislation types are laws that authorise sanctions.
    ("1312", &["threaten_sanctions"]),
    // 161 "reduce or break diplomatic relations": expel_diplomats says exactly that, while
    // close_mission is one particular way of doing it.
    ("161", &["expel_diplomats"]),
    // 085 "ease economic sanctions, boycott, embargo": easing, not necessarily lifting.
    ("085", &["ease_sanctions"]),
];

/// CAMEO roots whose specific codes may roll up to the root's unspecified code (`13` ->
/// `130`). Only roots where every child is a kind of the root act as riposte defines it:
/// every 13x is a threat and riposte's `threaten` is the unspecified threat; every 16x
/// reduces relations (halting aid, negotiations, mediation, expelling observers) and
/// riposte's `reduce_relations` is that generic downgrade. Other roots are not rolled up:
/// 03 (intent to cooperate), 08 (yield), 10 (demand), 11 (disapprove), 12 (reject), 17
/// (coerce: arrests, repression, curfews) and 19 (force) hold many acts riposte does not
/// record, and their unspecified codes are not in the taxonomy anyway.
const ROLL_UP_ROOTS: &[&str] = &["13", "16"];

/// Four-digit codes that do not roll up to their three-digit parent: a government's
/// measures on its own people (speech, parties, curfews, martial law, and their easing),
/// filed under "administrative sanctions" (172) and their easing (081), whose riposte types
/// (`visa_ban`, `ease_administrative`) are measures against another state.
const DOMESTIC: &[&str] = &[
    "0811", "0812", "0813", "0814", "1721", "1722", "1723", "1724",
];

/// The riposte type a CAMEO code resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The riposte action type code.
    pub type_code: String,
    /// The CAMEO code the type carries in the taxonomy (differs from the asked one after a
    /// roll-up).
    pub cameo: String,
    /// Whether the asked code itself is the type's code.
    pub exact: bool,
}

/// riposte's action types indexed by CAMEO code.
#[derive(Debug, Clone, Default)]
pub struct TypeMap {
    by_cameo: HashMap<String, Vec<String>>,
}

impl TypeMap {
    /// `types` are riposte's action types as (type code, CAMEO code) pairs.
    pub fn new(types: &[(&str, &str)]) -> Self {
        let mut by_cameo: HashMap<String, Vec<String>> = HashMap::new();
        for (type_code, cameo) in types {
            let codes = by_cameo.entry(cameo.to_string()).or_default();
            if !codes.iter().any(|c| c == type_code) {
                codes.push(type_code.to_string());
            }
        }
        TypeMap { by_cameo }
    }

    /// The type for a CAMEO code: the code itself, else its three-digit parent, else (for the
    /// roots in `ROLL_UP_ROOTS`) the root's unspecified code. A two-digit root (`13`) stands
    /// for its unspecified code (`130`).
    pub fn resolve(&self, cameo: &str) -> Result<Resolved, String> {
        if !(2..=4).contains(&cameo.len()) || !cameo.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("`{cameo}` is not a CAMEO event code"));
        }
        let asked = if cameo.len() == 2 {
            format!("{cameo}0")
        } else {
            cameo.to_string()
        };
        let root = &asked[..2];
        if DOMESTIC.contains(&asked.as_str()) {
            let what = cameo_label(&asked).map_or(String::new(), |l| format!(" ({l})"));
            return Err(format!(
                "CAMEO {asked}{what} is a measure at home, not against another state: riposte \
                 has no type for it"
            ));
        }
        let mut chain = vec![asked.clone()];
        if asked.len() == 4 {
            chain.push(asked[..3].to_string());
        }
        let generic = format!("{root}0");
        if ROLL_UP_ROOTS.contains(&root) && !chain.contains(&generic) {
            chain.push(generic);
        }
        for code in &chain {
            if let Some(types) = self.by_cameo.get(code) {
                let type_code = preferred(code, types)?;
                return Ok(Resolved {
                    type_code,
                    cameo: code.clone(),
                    exact: *code == asked,
                });
            }
        }
        Err(if chain.len() > 1 {
            format!(
                "CAMEO {asked} has no riposte type, nor has {}",
                chain[1..].join(" or ")
            )
        } else {
            format!("CAMEO {asked} has no riposte type (root {root} is not rolled up)")
        })
    }
}

fn preferred(code: &str, types: &[String]) -> Result<String, String> {
    if let [only] = types {
        return Ok(only.clone());
    }
    PREFERRED_TYPES
        .iter()
        .filter(|(c, _)| *c == code)
        .flat_map(|(_, prefs)| prefs.iter())
        .find(|p| types.iter().any(|t| t == *p))
        .map(|p| p.to_string())
        .ok_or_else(|| {
            format!(
                "CAMEO {code} is carried by several riposte types ({}) and none is preferred",
                types.join(", ")
            )
        })
}

// ---------------------------------------------------------------------------------------
// PLOVER (event, mode, context) -> CAMEO

/// One row of CAMEO2PLOVER-2021.txt: a CAMEO code and the PLOVER event, mode and contexts it
/// becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PloverRow {
    pub cameo: String,
    pub event: String,
    /// Empty when the table gives none.
    pub mode: String,
    pub contexts: Vec<String>,
    /// The CAMEO description from the row's comment.
    pub label: String,
}

const CAMEO2PLOVER: &str = include_str!("CAMEO2PLOVER-2021.txt");

/// Codes whose meaning in the table's CAMEO edition differs from GDELT's (which riposte's
/// taxonomy follows: its `demand_withdrawal` is 106). The table has 105 "demand that target
/// yields", 106 "demand meeting", 107 "demand settling of dispute", 108 "demand mediation";
/// GDELT has 105 "demand mediation", 106 "demand withdrawal", 107 "demand ceasefire", 108
/// "demand meeting, negotiation". They are left out of the PLOVER lookup and their labels
/// are GDELT's.
const RENUMBERED: &[(&str, &str)] = &[
    ("105", "Demand mediation"),
    ("106", "Demand withdrawal"),
    ("107", "Demand ceasefire"),
    ("108", "Demand meeting, negotiation"),
];

/// The rows of CAMEO2PLOVER-2021.txt, parsed once.
pub fn cameo2plover() -> &'static [PloverRow] {
    static ROWS: OnceLock<Vec<PloverRow>> = OnceLock::new();
    ROWS.get_or_init(|| parse_cameo2plover(CAMEO2PLOVER))
}

fn parse_cameo2plover(text: &str) -> Vec<PloverRow> {
    let mut rows: Vec<PloverRow> = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        let Some((code, rest)) = line.split_once(':') else {
            continue;
        };
        let code = code.trim();
        // Two-digit lines ("03: AGREE") are section headings, not codes.
        if !(3..=4).contains(&code.len()) || !code.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let (fields, label) = rest.split_once('#').unwrap_or((rest, ""));
        let fields: Vec<&str> = fields.split(',').map(str::trim).collect();
        let [event, mode, context] = fields[..] else {
            continue;
        };
        // The table repeats 175; the first row is kept.
        if rows.iter().any(|r| r.cameo == code) {
            continue;
        }
        rows.push(PloverRow {
            cameo: code.to_string(),
            event: event.to_ascii_uppercase(),
            mode: mode.to_ascii_lowercase(),
            contexts: context
                .split(';')
                .map(|c| c.trim().to_ascii_lowercase())
                .filter(|c| !c.is_empty())
                .collect(),
            // A dated editors' note may follow the label after two spaces (0813's
            // `Ease curfew  21.09.17: "ease" is no longer a mode`): not part of a title.
            label: label.trim().split("  ").next().unwrap_or("").to_string(),
        });
    }
    rows
}

/// The description of a CAMEO code, for titles.
pub fn cameo_label(code: &str) -> Option<&'static str> {
    if let Some((_, label)) = RENUMBERED.iter().find(|(c, _)| *c == code) {
        return Some(label);
    }
    cameo2plover()
        .iter()
        .find(|r| r.cameo == code && !r.label.is_empty())
        .map(|r| r.label.as_str())
}

/// PLOVER events renamed in the 2021 revision the table follows: records coded with the
/// earlier names (the gold-standard records are version 0.5) are read as the new event, and
/// INVESTIGATE, now a mode of ACCUSE, brings its mode along when the record has none.
const RENAMED_EVENTS: &[(&str, &str, &str)] = &[
    ("DEMAND", "REQUEST", ""),
    ("DISAPPROVE", "ACCUSE", ""),
    ("INVESTIGATE", "ACCUSE", "investigate"),
    ("FIGHT", "ASSAULT", ""),
];

/// The CAMEO codes whose table row matches a PLOVER event, mode and contexts, from the most
/// specific match level that has any: (1) same mode and a shared context; (2) same mode, row
/// without context; (3) row without mode, a shared context; (4) row without mode or
/// context (the event's unspecified code). A row with a mode never matches a record
/// without one: the record does not say it.
pub fn plover_candidates(event: &str, mode: &str, contexts: &[String]) -> Vec<&'static PloverRow> {
    let event = event.trim().to_ascii_uppercase();
    let mut mode = mode.trim().to_ascii_lowercase();
    let contexts: Vec<String> = contexts
        .iter()
        .map(|c| c.trim().to_ascii_lowercase())
        .collect();
    let event = match RENAMED_EVENTS.iter().find(|(old, _, _)| *old == event) {
        Some((_, new, implied_mode)) => {
            if mode.is_empty() {
                mode = implied_mode.to_string();
            }
            new.to_string()
        }
        None => event,
    };
    let rows: Vec<&PloverRow> = cameo2plover()
        .iter()
        .filter(|r| r.event == event && !RENUMBERED.iter().any(|(c, _)| *c == r.cameo))
        .collect();
    let shares_context = |r: &PloverRow| r.contexts.iter().any(|c| contexts.contains(c));
    let has_mode = !mode.is_empty();
    let levels: [&dyn Fn(&PloverRow) -> bool; 4] = [
        &|r| has_mode && r.mode == mode && shares_context(r),
        &|r| has_mode && r.mode == mode && r.contexts.is_empty(),
        &|r| r.mode.is_empty() && shares_context(r),
        &|r| r.mode.is_empty() && r.contexts.is_empty(),
    ];
    for level in levels {
        let hits: Vec<&PloverRow> = rows.iter().copied().filter(|r| level(r)).collect();
        if !hits.is_empty() {
            return hits;
        }
    }
    Vec::new()
}

/// The riposte type for a PLOVER event, mode and contexts. When the matching CAMEO codes
/// resolve to different types (or some to none), the record does not say which act it is,
/// and only what the codes have in common is used: their longest common prefix, resolved
/// like any code (so THREATEN with mode `relations` is some 13x: `threaten`).
pub fn plover_type(
    types: &TypeMap,
    event: &str,
    mode: &str,
    contexts: &[String],
) -> Result<Resolved, String> {
    let what = || {
        let renamed = RENAMED_EVENTS
            .iter()
            .find(|(old, _, _)| old.eq_ignore_ascii_case(event.trim()))
            .map(|(_, new, _)| format!(" (read as {new})"))
            .unwrap_or_default();
        format!(
            "PLOVER event {event}{renamed}, mode `{mode}`, context `{}`",
            contexts.join(", ")
        )
    };
    let candidates = plover_candidates(event, mode, contexts);
    let Some(first) = candidates.first() else {
        return Err(format!("{} matches no row of CAMEO2PLOVER", what()));
    };
    let codes: Vec<&str> = candidates.iter().map(|r| r.cameo.as_str()).collect();
    let resolved: Vec<Result<Resolved, String>> =
        codes.iter().map(|code| types.resolve(code)).collect();
    if let Ok(one) = &resolved[0] {
        if resolved
            .iter()
            .all(|r| matches!(r, Ok(o) if o.type_code == one.type_code))
        {
            return Ok(one.clone());
        }
    }
    if let [only] = &resolved[..] {
        return only
            .clone()
            .map_err(|e| format!("{} is CAMEO {}: {e}", what(), first.cameo));
    }
    let prefix_len = codes
        .iter()
        .map(|c| {
            c.bytes()
                .zip(first.cameo.bytes())
                .take_while(|(a, b)| a == b)
                .count()
        })
        .min()
        .unwrap_or(0);
    let listed = codes.join(", ");
    if prefix_len < 2 {
        return Err(format!(
            "{} matches CAMEO {listed}, which span several roots",
            what()
        ));
    }
    let prefix = &first.cameo[..prefix_len];
    types.resolve(prefix).map_err(|e| {
        format!(
            "{} matches CAMEO {listed}, which have no one riposte type; for their common \
             code {prefix}: {e}",
            what()
        )
    })
}

// ---------------------------------------------------------------------------------------
// Country codes -> states

/// Country codes that event datasets write for a state whose ISO 3166-1 alpha-3 code is
/// another: KEDS/TABARI-era codes still found in the PLOVER gold-standard records (`JAP`
/// "Tokyo", `ITL` "Italy", `VTN` "Vietnamese-led forces" in 1980s Cambodia, i.e. the
/// Socialist Republic, continuing the North Vietnam the code once named), and withdrawn ISO
/// alpha-3 codes with a single successor (`ROM` until 2002, `ZAR` until 1997, `TMP` until
/// 2002). Codes of states that split (`YUG`, `SCG`, `CSK`, `SUN`) have no single successor
/// and stay unmapped, as do CAMEO regions (`AFR`, `EUR`, `WST`...) and Kosovo (no ISO code).
const NON_ISO_COUNTRY_CODES: &[(&str, &str)] = &[
    ("JAP", "JPN"),
    ("ITL", "ITA"),
    ("VTN", "VNM"),
    ("ROM", "ROU"),
    ("ZAR", "COD"),
    ("TMP", "TLS"),
];

/// ISO 3166-1 territories that are not states, by the state whose external relations they
/// fall under: an event of Hong Kong's government is China's, of Puerto Rico's the United
/// States' (CAMEO and GDELT give them codes of their own, and a `CHN` -> `HKG` sanction was
/// stored as one between two states). Antarctica falls under none and is no state. States
/// in free association (the Cook Islands, Niue), disputed ones (Western Sahara, Palestine,
/// Taiwan) and the Holy See stand as themselves.
const TERRITORIES: &[(&str, Option<&str>)] = &[
    ("ABW", Some("NLD")),
    ("AIA", Some("GBR")),
    ("ALA", Some("FIN")),
    ("ASM", Some("USA")),
    ("ATA", None),
    ("ATF", Some("FRA")),
    ("BES", Some("NLD")),
    ("BLM", Some("FRA")),
    ("BMU", Some("GBR")),
    ("BVT", Some("NOR")),
    ("CCK", Some("AUS")),
    ("CUW", Some("NLD")),
    ("CXR", Some("AUS")),
    ("CYM", Some("GBR")),
    ("FLK", Some("GBR")),
    ("FRO", Some("DNK")),
    ("GGY", Some("GBR")),
    ("GIB", Some("GBR")),
    ("GLP", Some("FRA")),
    ("GRL", Some("DNK")),
    ("GUF", Some("FRA")),
    ("GUM", Some("USA")),
    ("HKG", Some("CHN")),
    ("HMD", Some("AUS")),
    ("IMN", Some("GBR")),
    ("IOT", Some("GBR")),
    ("JEY", Some("GBR")),
    ("MAC", Some("CHN")),
    ("MAF", Some("FRA")),
    ("MNP", Some("USA")),
    ("MSR", Some("GBR")),
    ("MTQ", Some("FRA")),
    ("MYT", Some("FRA")),
    ("NCL", Some("FRA")),
    ("NFK", Some("AUS")),
    ("PCN", Some("GBR")),
    ("PRI", Some("USA")),
    ("PYF", Some("FRA")),
    ("REU", Some("FRA")),
    ("SGS", Some("GBR")),
    ("SHN", Some("GBR")),
    ("SJM", Some("NOR")),
    ("SPM", Some("FRA")),
    ("SXM", Some("NLD")),
    ("TCA", Some("GBR")),
    ("TKL", Some("NZL")),
    ("UMI", Some("USA")),
    ("VGB", Some("GBR")),
    ("VIR", Some("USA")),
    ("WLF", Some("FRA")),
];

/// Sectors (CAMEO primary role codes) whose actors act for their state: government,
/// military, police, judiciary, legislature, intelligence. Rebels, opposition, parties,
/// civilians, media, business, elites (including former officials) and the rest do not.
pub const STATE_BODY_SECTORS: &[&str] = &["GOV", "MIL", "COP", "JUD", "LEG", "SPY"];

/// The ISO 3166-1 alpha-3 code of the state a dataset's country code names (a territory's
/// the state it falls under, `TERRITORIES`).
pub fn state_code(code: &str) -> Option<&'static str> {
    let code = code.trim();
    if let Some((_, state)) = TERRITORIES.iter().find(|(territory, _)| *territory == code) {
        return *state;
    }
    if let Some((iso, _)) = COUNTRIES.iter().find(|(iso, _)| *iso == code) {
        return Some(iso);
    }
    NON_ISO_COUNTRY_CODES
        .iter()
        .find(|(other, _)| *other == code)
        .map(|(_, iso)| *iso)
}

/// The English short name of a state, by ISO 3166-1 alpha-3 code.
pub fn state_name(iso: &str) -> Option<&'static str> {
    COUNTRIES
        .iter()
        .find(|(code, _)| *code == iso)
        .map(|(_, name)| *name)
}

/// Whether an actor with this sector acts for its state. No sector (or PLOVER's `***`,
/// "not determined") means the code names the country itself ("Israel", "Tokyo"). A
/// qualified sector (`MILsrp`, `GOVMOS`) names an ethnic or religious group's body, not the
/// state's.
pub fn acts_for_state(sector: &str) -> bool {
    let sector = sector.trim();
    // Codes are upper case in PLOVER and CAMEO; a record written by hand may not be (its
    // actor codes are read in any case too).
    sector.is_empty()
        || sector == "***"
        || STATE_BODY_SECTORS
            .iter()
            .any(|s| s.eq_ignore_ascii_case(sector))
}

// ---------------------------------------------------------------------------------------
// Import lines

/// Tags kept of a record (riposte takes up to `MAX_TAGS`): the event's own come first, and
/// a record's twenty are more than any sample has.
const MAX_RECORD_TAGS: usize = 20;

/// An action about to become import lines.
pub(super) struct Draft {
    pub title: String,
    /// The record's own text, if any.
    pub text: String,
    /// What the action does not show of the record (`summary` puts them in an import note).
    pub notes: Vec<String>,
    pub initiator: &'static str,
    pub target: &'static str,
    pub type_code: String,
    pub status: &'static str,
    pub announced_on: String,
    pub severity: Option<f64>,
    pub tags: Vec<String>,
    pub sources: Vec<Value>,
    pub external_id: String,
    pub source_dataset: &'static str,
}

impl Draft {
    /// The two state actor lines, then the action line.
    pub fn into_lines(self) -> Vec<Value> {
        let mut lines: Vec<Value> = [self.initiator, self.target]
            .iter()
            .map(|code| {
                json!({"actor": {
                    "code": code,
                    "name": state_name(code).unwrap_or(code),
                    "kind": "state",
                }})
            })
            .collect();
        let mut action = Map::new();
        action.insert("title".into(), truncate(&self.title, MAX_TITLE_LEN).into());
        if let Some(summary) = summary(&self.text, self.notes) {
            action.insert("summary".into(), summary.into());
        }
        action.insert("initiator".into(), self.initiator.into());
        action.insert("target".into(), self.target.into());
        action.insert("type".into(), self.type_code.into());
        action.insert("status".into(), self.status.into());
        action.insert("announced_on".into(), self.announced_on.into());
        if let Some(severity) = self.severity {
            action.insert("severity".into(), json!(severity));
        }
        let mut tags: Vec<String> = Vec::new();
        for tag in self.tags.iter().filter_map(|t| clean_tag(t)) {
            if !tags.contains(&tag) && tags.len() < MAX_RECORD_TAGS {
                tags.push(tag);
            }
        }
        action.insert("tags".into(), json!(tags));
        action.insert("sources".into(), Value::Array(self.sources));
        if !self.external_id.is_empty() {
            action.insert("external_id".into(), self.external_id.into());
        }
        action.insert("source_dataset".into(), self.source_dataset.into());
        lines.push(Value::Object(action));
        lines
    }
}

/// The title `Initiator → Target: what`, `what` trimmed and whitespace collapsed.
pub(super) fn title(initiator: &str, target: &str, what: &str) -> String {
    let what = what.split_whitespace().collect::<Vec<_>>().join(" ");
    let names = |code| state_name(code).unwrap_or(code);
    truncate(
        &format!("{} → {}: {what}", names(initiator), names(target)),
        MAX_TITLE_LEN,
    )
}

/// The record's text, then an import note naming what the action does not show. The note
/// is kept whole where it fits (the names it quotes are cut to `NOTE_NAME_CHARS`): a text
/// too long for both is cut, and the note says so.
fn summary(text: &str, mut notes: Vec<String>) -> Option<String> {
    let text = text.trim();
    let compose = |text: &str, notes: &[String]| {
        let note = match notes.is_empty() {
            true => String::new(),
            false => format!("[Import note: {}.]", notes.join("; ")),
        };
        match (text.is_empty(), note.is_empty()) {
            (true, true) => None,
            (false, true) => Some(text.to_string()),
            (true, false) => Some(note),
            (false, false) => Some(format!("{text}\n\n{note}")),
        }
    };
    let whole = compose(text, &notes)?;
    if whole.chars().count() <= MAX_TEXT_LEN {
        return Some(whole);
    }
    if text.is_empty() {
        // Notes alone too long (a record naming thousands of actors): cut as they are.
        return Some(truncate(&whole, MAX_TEXT_LEN));
    }
    notes.push(format!(
        "the record's text is cut to fit the summary's {MAX_TEXT_LEN} characters"
    ));
    let note = compose("", &notes)?;
    // What is left for the text, with the blank line before the note.
    let room = MAX_TEXT_LEN.saturating_sub(note.chars().count() + 2);
    match room {
        0 => Some(truncate(&note, MAX_TEXT_LEN)),
        _ => compose(&truncate(text, room), &notes),
    }
}

/// Characters of a name an import note quotes (a record's actor text, a GDELT name).
pub(super) const NOTE_NAME_CHARS: usize = 100;

/// At most `max` characters, cut at a character boundary with an ellipsis.
pub(super) fn truncate(text: &str, max: usize) -> String {
    let text = text.trim();
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(max - 1).collect();
    cut.truncate(cut.trim_end().len());
    cut.push('…');
    cut
}

/// A tag as riposte takes it (`[a-z0-9_-]`, up to `MAX_TAG_LEN`): lower case, other characters
/// as `_`.
pub(super) fn clean_tag(raw: &str) -> Option<String> {
    let mut tag = String::new();
    for c in raw.trim().chars().flat_map(char::to_lowercase) {
        let c = if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' {
            c
        } else {
            '_'
        };
        if !(c == '_' && tag.ends_with('_')) {
            tag.push(c);
        }
    }
    let tag: String = tag.trim_matches('_').chars().take(MAX_TAG_LEN).collect();
    let tag = tag.trim_end_matches('_').to_string();
    (!tag.is_empty()).then_some(tag)
}

/// `YYYY-MM-DD` (or `YYYY-MM`, `YYYY`, which riposte also takes) with a year from 0001 to
/// 9999 and a real day.
pub(super) fn valid_date(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    let number = |s: &str, len: usize| {
        (s.len() == len && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<u32>().ok())
            .flatten()
    };
    let Some(year) = parts.first().and_then(|y| number(y, 4)) else {
        return false;
    };
    if year == 0 {
        return false;
    }
    let month = match parts.get(1) {
        None => return parts.len() == 1,
        Some(m) => match number(m, 2) {
            Some(m @ 1..=12) => m,
            _ => return false,
        },
    };
    let day = match parts.get(2) {
        None => return parts.len() == 2,
        Some(d) => match number(d, 2) {
            Some(d) => d,
            None => return false,
        },
    };
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    parts.len() == 3 && (1..=days).contains(&day)
}

/// The status an action of this CAMEO code starts with: a threat (13x) is `threatened`.
pub(super) fn status_for(cameo: &str) -> &'static str {
    if cameo.starts_with("13") {
        "threatened"
    } else {
        "announced"
    }
}

/// ISO 3166-1 alpha-3 codes of all 249 current entries (states and the territories ISO also
/// lists, which event data names too: Hong Kong, Puerto Rico) with English short names,
/// from the iso-codes package (4.15), reworded where ISO inverts them ("Palestine, State
/// of") and shortened as riposte names them ("Russia", "United States").
const COUNTRIES: &[(&str, &str)] = &[
    ("ABW", "Aruba"),
    ("AFG", "Afghanistan"),
    ("AGO", "Angola"),
    ("AIA", "Anguilla"),
    ("ALA", "Åland Islands"),
    ("ALB", "Albania"),
    ("AND", "Andorra"),
    ("ARE", "United Arab Emirates"),
    ("ARG", "Argentina"),
    ("ARM", "Armenia"),
    ("ASM", "American Samoa"),
    ("ATA", "Antarctica"),
    ("ATF", "French Southern Territories"),
    ("ATG", "Antigua and Barbuda"),
    ("AUS", "Australia"),
    ("AUT", "Austria"),
    ("AZE", "Azerbaijan"),
    ("BDI", "Burundi"),
    ("BEL", "Belgium"),
    ("BEN", "Benin"),
    ("BES", "Caribbean Netherlands"),
    ("BFA", "Burkina Faso"),
    ("BGD", "Bangladesh"),
    ("BGR", "Bulgaria"),
    ("BHR", "Bahrain"),
    ("BHS", "Bahamas"),
    ("BIH", "Bosnia and Herzegovina"),
    ("BLM", "Saint Barthélemy"),
    ("BLR", "Belarus"),
    ("BLZ", "Belize"),
    ("BMU", "Bermuda"),
    ("BOL", "Bolivia"),
    ("BRA", "Brazil"),
    ("BRB", "Barbados"),
    ("BRN", "Brunei"),
    ("BTN", "Bhutan"),
    ("BVT", "Bouvet Island"),
    ("BWA", "Botswana"),
    ("CAF", "Central African Republic"),
    ("CAN", "Canada"),
    ("CCK", "Cocos (Keeling) Islands"),
    ("CHE", "Switzerland"),
    ("CHL", "Chile"),
    ("CHN", "China"),
    ("CIV", "Côte d'Ivoire"),
    ("CMR", "Cameroon"),
    ("COD", "Democratic Republic of the Congo"),
    ("COG", "Congo"),
    ("COK", "Cook Islands"),
    ("COL", "Colombia"),
    ("COM", "Comoros"),
    ("CPV", "Cabo Verde"),
    ("CRI", "Costa Rica"),
    ("CUB", "Cuba"),
    ("CUW", "Curaçao"),
    ("CXR", "Christmas Island"),
    ("CYM", "Cayman Islands"),
    ("CYP", "Cyprus"),
    ("CZE", "Czechia"),
    ("DEU", "Germany"),
    ("DJI", "Djibouti"),
    ("DMA", "Dominica"),
    ("DNK", "Denmark"),
    ("DOM", "Dominican Republic"),
    ("DZA", "Algeria"),
    ("ECU", "Ecuador"),
    ("EGY", "Egypt"),
    ("ERI", "Eritrea"),
    ("ESH", "Western Sahara"),
    ("ESP", "Spain"),
    ("EST", "Estonia"),
    ("ETH", "Ethiopia"),
    ("FIN", "Finland"),
    ("FJI", "Fiji"),
    ("FLK", "Falkland Islands"),
    ("FRA", "France"),
    ("FRO", "Faroe Islands"),
    ("FSM", "Micronesia"),
    ("GAB", "Gabon"),
    ("GBR", "United Kingdom"),
    ("GEO", "Georgia"),
    ("GGY", "Guernsey"),
    ("GHA", "Ghana"),
    ("GIB", "Gibraltar"),
    ("GIN", "Guinea"),
    ("GLP", "Guadeloupe"),
    ("GMB", "Gambia"),
    ("GNB", "Guinea-Bissau"),
    ("GNQ", "Equatorial Guinea"),
    ("GRC", "Greece"),
    ("GRD", "Grenada"),
    ("GRL", "Greenland"),
    ("GTM", "Guatemala"),
    ("GUF", "French Guiana"),
    ("GUM", "Guam"),
    ("GUY", "Guyana"),
    ("HKG", "Hong Kong"),
    ("HMD", "Heard Island and McDonald Islands"),
    ("HND", "Honduras"),
    ("HRV", "Croatia"),
    ("HTI", "Haiti"),
    ("HUN", "Hungary"),
    ("IDN", "Indonesia"),
    ("IMN", "Isle of Man"),
    ("IND", "India"),
    ("IOT", "British Indian Ocean Territory"),
    ("IRL", "Ireland"),
    ("IRN", "Iran"),
    ("IRQ", "Iraq"),
    ("ISL", "Iceland"),
    ("ISR", "Israel"),
    ("ITA", "Italy"),
    ("JAM", "Jamaica"),
    ("JEY", "Jersey"),
    ("JOR", "Jordan"),
    ("JPN", "Japan"),
    ("KAZ", "Kazakhstan"),
    ("KEN", "Kenya"),
    ("KGZ", "Kyrgyzstan"),
    ("KHM", "Cambodia"),
    ("KIR", "Kiribati"),
    ("KNA", "Saint Kitts and Nevis"),
    ("KOR", "South Korea"),
    ("KWT", "Kuwait"),
    ("LAO", "Laos"),
    ("LBN", "Lebanon"),
    ("LBR", "Liberia"),
    ("LBY", "Libya"),
    ("LCA", "Saint Lucia"),
    ("LIE", "Liechtenstein"),
    ("LKA", "Sri Lanka"),
    ("LSO", "Lesotho"),
    ("LTU", "Lithuania"),
    ("LUX", "Luxembourg"),
    ("LVA", "Latvia"),
    ("MAC", "Macao"),
    ("MAF", "Saint Martin (French part)"),
    ("MAR", "Morocco"),
    ("MCO", "Monaco"),
    ("MDA", "Moldova"),
    ("MDG", "Madagascar"),
    ("MDV", "Maldives"),
    ("MEX", "Mexico"),
    ("MHL", "Marshall Islands"),
    ("MKD", "North Macedonia"),
    ("MLI", "Mali"),
    ("MLT", "Malta"),
    ("MMR", "Myanmar"),
    ("MNE", "Montenegro"),
    ("MNG", "Mongolia"),
    ("MNP", "Northern Mariana Islands"),
    ("MOZ", "Mozambique"),
    ("MRT", "Mauritania"),
    ("MSR", "Montserrat"),
    ("MTQ", "Martinique"),
    ("MUS", "Mauritius"),
    ("MWI", "Malawi"),
    ("MYS", "Malaysia"),
    ("MYT", "Mayotte"),
    ("NAM", "Namibia"),
    ("NCL", "New Caledonia"),
    ("NER", "Niger"),
    ("NFK", "Norfolk Island"),
    ("NGA", "Nigeria"),
    ("NIC", "Nicaragua"),
    ("NIU", "Niue"),
    ("NLD", "Netherlands"),
    ("NOR", "Norway"),
    ("NPL", "Nepal"),
    ("NRU", "Nauru"),
    ("NZL", "New Zealand"),
    ("OMN", "Oman"),
    ("PAK", "Pakistan"),
    ("PAN", "Panama"),
    ("PCN", "Pitcairn"),
    ("PER", "Peru"),
    ("PHL", "Philippines"),
    ("PLW", "Palau"),
    ("PNG", "Papua New Guinea"),
    ("POL", "Poland"),
    ("PRI", "Puerto Rico"),
    ("PRK", "North Korea"),
    ("PRT", "Portugal"),
    ("PRY", "Paraguay"),
    ("PSE", "Palestine"),
    ("PYF", "French Polynesia"),
    ("QAT", "Qatar"),
    ("REU", "Réunion"),
    ("ROU", "Romania"),
    ("RUS", "Russia"),
    ("RWA", "Rwanda"),
    ("SAU", "Saudi Arabia"),
    ("SDN", "Sudan"),
    ("SEN", "Senegal"),
    ("SGP", "Singapore"),
    ("SGS", "South Georgia and the South Sandwich Islands"),
    ("SHN", "Saint Helena"),
    ("SJM", "Svalbard and Jan Mayen"),
    ("SLB", "Solomon Islands"),
    ("SLE", "Sierra Leone"),
    ("SLV", "El Salvador"),
    ("SMR", "San Marino"),
    ("SOM", "Somalia"),
    ("SPM", "Saint Pierre and Miquelon"),
    ("SRB", "Serbia"),
    ("SSD", "South Sudan"),
    ("STP", "Sao Tome and Principe"),
    ("SUR", "Suriname"),
    ("SVK", "Slovakia"),
    ("SVN", "Slovenia"),
    ("SWE", "Sweden"),
    ("SWZ", "Eswatini"),
    ("SXM", "Sint Maarten (Dutch part)"),
    ("SYC", "Seychelles"),
    ("SYR", "Syria"),
    ("TCA", "Turks and Caicos Islands"),
    ("TCD", "Chad"),
    ("TGO", "Togo"),
    ("THA", "Thailand"),
    ("TJK", "Tajikistan"),
    ("TKL", "Tokelau"),
    ("TKM", "Turkmenistan"),
    ("TLS", "Timor-Leste"),
    ("TON", "Tonga"),
    ("TTO", "Trinidad and Tobago"),
    ("TUN", "Tunisia"),
    ("TUR", "Türkiye"),
    ("TUV", "Tuvalu"),
    ("TWN", "Taiwan"),
    ("TZA", "Tanzania"),
    ("UGA", "Uganda"),
    ("UKR", "Ukraine"),
    ("UMI", "United States Minor Outlying Islands"),
    ("URY", "Uruguay"),
    ("USA", "United States"),
    ("UZB", "Uzbekistan"),
    ("VAT", "Holy See"),
    ("VCT", "Saint Vincent and the Grenadines"),
    ("VEN", "Venezuela"),
    ("VGB", "British Virgin Islands"),
    ("VIR", "US Virgin Islands"),
    ("VNM", "Vietnam"),
    ("VUT", "Vanuatu"),
    ("WLF", "Wallis and Futuna"),
    ("WSM", "Samoa"),
    ("YEM", "Yemen"),
    ("ZAF", "South Africa"),
    ("ZMB", "Zambia"),
    ("ZWE", "Zimbabwe"),
];

/// riposte's action types as migration 2026-11-28-000002_action_types seeds them, read from
/// the migration itself so that the tests follow it.
#[cfg(test)]
pub(crate) fn riposte_types() -> Vec<(&'static str, &'static str)> {
    const SQL: &str = include_str!("../../migrations/2026-11-28-000002_action_types/up.sql");
    SQL.lines()
        .filter_map(|l| l.strip_prefix("('"))
        .map(|l| {
            let fields: Vec<&str> = l.split("', '").collect();
            (fields[0], fields[3].split('\'').next().unwrap_or(""))
        })
        .collect()
}

/// The checks riposte's `NewAction`/`NewActor` apply without a database, on a mapper's lines:
/// actor lines first, naming both states, then one action line.
#[cfg(test)]
pub(crate) fn check_lines(lines: &[Value]) {
    let (action, actors) = lines.split_last().expect("at least the action line");
    let action = action.as_object().expect("the action line is an object");
    let allowed = [
        "title",
        "summary",
        "initiator",
        "target",
        "type",
        "status",
        "announced_on",
        "severity",
        "tags",
        "sources",
        "external_id",
        "source_dataset",
    ];
    for key in action.keys() {
        assert!(allowed.contains(&key.as_str()), "unexpected field {key}");
    }
    let text = |key: &str| {
        action[key]
            .as_str()
            .unwrap_or_else(|| panic!("{key} is text"))
    };
    let title = text("title");
    assert!(!title.trim().is_empty() && title.chars().count() <= MAX_TITLE_LEN);
    if let Some(summary) = action.get("summary") {
        let summary = summary.as_str().unwrap();
        assert!(!summary.trim().is_empty() && summary.chars().count() <= MAX_TEXT_LEN);
    }
    let state = |c: &str| c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase());
    let (initiator, target) = (text("initiator"), text("target"));
    assert!(state(initiator) && state(target) && initiator != target);
    assert!(riposte_types().iter().any(|(t, _)| *t == text("type")));
    assert!(["announced", "threatened"].contains(&text("status")));
    assert!(valid_date(text("announced_on")));
    if let Some(severity) = action.get("severity") {
        assert!((-10.0..=10.0).contains(&severity.as_f64().unwrap()));
    }
    let tags = action["tags"].as_array().unwrap();
    assert!(tags.len() <= MAX_RECORD_TAGS);
    for (i, tag) in tags.iter().enumerate() {
        let tag = tag.as_str().unwrap();
        assert_eq!(clean_tag(tag).as_deref(), Some(tag));
        assert!(
            !tags[..i].contains(&Value::from(tag)),
            "duplicate tag {tag}"
        );
    }
    for source in action["sources"].as_array().unwrap() {
        assert!(crate::input::url_ok(source["url"].as_str().unwrap()));
    }
    assert!(["plover", "gdelt"].contains(&text("source_dataset")));
    let mut named: Vec<&str> = Vec::new();
    for line in actors {
        let actor = line["actor"].as_object().expect("an actor line");
        let code = actor["code"].as_str().unwrap();
        assert!(state(code) && actor["kind"] == "state");
        assert_eq!(actor["name"].as_str(), state_name(code));
        named.push(code);
    }
    assert!(named.contains(&initiator) && named.contains(&target));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn types() -> TypeMap {
        TypeMap::new(&riposte_types())
    }

    fn resolve(code: &str) -> (String, String, bool) {
        let r = types().resolve(code).unwrap();
        (r.type_code, r.cameo, r.exact)
    }

    #[test]
    fn table_parses_codes_and_skips_headings_and_repeats() {
        let rows = cameo2plover();
        assert!(rows.iter().all(|r| (3..=4).contains(&r.cameo.len())));
        assert_eq!(rows.iter().filter(|r| r.cameo == "175").count(), 1);
        let row = |code: &str| rows.iter().find(|r| r.cameo == code).unwrap();
        assert_eq!(
            (row("163").event.as_str(), row("163").mode.as_str()),
            ("COERCE", "restrict")
        );
        assert_eq!(row("163").contexts, ["diplomatic"]);
        assert_eq!(row("1121").contexts, ["crime", "corruption"]);
        assert_eq!(row("0861").mode, "access");
        assert_eq!(
            row("0354").label,
            "Express intent to ease economic sanctions, boycott, embargo"
        );
        // 257 code lines in the file, 175 twice.
        assert_eq!(rows.len(), 256);
    }

    #[test]
    fn exact_codes_resolve_to_their_type() {
        assert_eq!(resolve("172"), ("visa_ban".into(), "172".into(), true));
        assert_eq!(
            resolve("0354"),
            ("intent_to_ease".into(), "0354".into(), true)
        );
        assert_eq!(resolve("1711").0, "confiscation");
    }

    #[test]
    fn shared_codes_take_the_preferred_type() {
        assert_eq!(resolve("163").0, "sectoral_sanction");
        assert_eq!(resolve("1312").0, "threaten_sanctions");
        assert_eq!(resolve("161").0, "expel_diplomats");
        assert_eq!(resolve("085").0, "ease_sanctions");
        // A generic sanction type, if riposte adds one, comes first.
        let with_generic = TypeMap::new(&[("asset_freeze", "163"), ("sanction", "163")]);
        assert_eq!(with_generic.resolve("163").unwrap().type_code, "sanction");
    }

    #[test]
    fn every_code_riposte_shares_between_types_has_a_preference() {
        let types = types();
        for (_, cameo) in riposte_types() {
            assert!(types.resolve(cameo).is_ok(), "{cameo}");
        }
    }

    #[test]
    fn a_shared_code_without_preference_is_refused() {
        let types = TypeMap::new(&[("a", "112"), ("b", "112")]);
        let err = types.resolve("112").unwrap_err();
        assert!(
            err.contains("a, b") && err.contains("none is preferred"),
            "{err}"
        );
    }

    #[test]
    fn four_digit_codes_roll_up_to_their_parent() {
        assert_eq!(resolve("1122"), ("accuse".into(), "112".into(), false));
        assert_eq!(resolve("1613").0, "expel_diplomats");
    }

    #[test]
    fn only_threat_and_relations_roots_roll_up_to_the_root() {
        assert_eq!(resolve("138"), ("threaten".into(), "130".into(), false));
        assert_eq!(resolve("1385"), ("threaten".into(), "130".into(), false));
        assert_eq!(
            resolve("1622"),
            ("reduce_relations".into(), "160".into(), false)
        );
        assert_eq!(resolve("13"), ("threaten".into(), "130".into(), true));
        for code in ["0351", "1053", "113", "1241", "173", "0231", "190", "11"] {
            assert!(types().resolve(code).is_err(), "{code}");
        }
        // Children of 172 and 081 that act at home: a curfew is no visa ban.
        for code in [
            "1721", "1722", "1723", "1724", "0811", "0812", "0813", "0814",
        ] {
            let why = types().resolve(code).unwrap_err();
            assert!(why.contains("is a measure at home"), "{code}: {why}");
        }
        assert_eq!(cameo_label("0813"), Some("Ease curfew"));
        assert_eq!(resolve("172").0, "visa_ban");
        assert_eq!(resolve("081").0, "ease_administrative");
        assert!(types().resolve("16a").is_err());
        assert!(types().resolve("16321").is_err());
    }

    #[test]
    fn plover_lookup_prefers_mode_and_context() {
        let ctx = |c: &[&str]| c.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let codes = |e: &str, m: &str, c: &[&str]| {
            plover_candidates(e, m, &ctx(c))
                .iter()
                .map(|r| r.cameo.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(codes("THREATEN", "restrict", &["economic"]), ["1312"]);
        assert_eq!(codes("COERCE", "restrict", &["diplomatic"]), ["163"]);
        // No mode in the record: only rows without one.
        assert_eq!(codes("SANCTION", "", &["economic"]), ["160"]);
        assert_eq!(codes("CONCEDE", "", &["legal"]), ["081"]);
        // Earlier PLOVER names.
        assert_eq!(codes("DEMAND", "", &["economic"]), ["100"]);
        assert_eq!(codes("INVESTIGATE", "", &["military"]), ["093", "094"]);
        // The table's 106..108 mean something else than riposte's 106.
        assert_eq!(codes("REQUEST", "meet", &["diplomatic"]), ["100"]);
        assert_eq!(codes("NOSUCH", "", &[]), Vec::<String>::new());
    }

    #[test]
    fn plover_types_agree_or_fall_back_to_what_the_codes_share() {
        let types = types();
        let ty = |e: &str, m: &str, c: &[&str]| {
            let c: Vec<String> = c.iter().map(|s| s.to_string()).collect();
            plover_type(&types, e, m, &c).map(|r| r.type_code)
        };
        assert_eq!(
            ty("THREATEN", "restrict", &["economic"]).unwrap(),
            "threaten_sanctions"
        );
        // 1313, 134, 135 and 139 all match: some threat, not which one.
        assert_eq!(
            ty("THREATEN", "relations", &["diplomatic"]).unwrap(),
            "threaten"
        );
        assert_eq!(
            ty("RETREAT", "ease", &["economic"]).unwrap(),
            "ease_sanctions"
        );
        assert_eq!(
            ty("COERCE", "deport", &["legal"]).unwrap(),
            "expel_individuals"
        );
        // 0311, 0331 and 0354 match: not necessarily an intent to ease sanctions.
        let err = ty("AGREE", "", &["economic"]).unwrap_err();
        assert!(err.contains("0311, 0331, 0354"), "{err}");
        assert!(ty("DISAPPROVE", "", &["diplomatic"])
            .unwrap_err()
            .contains("read as ACCUSE"));
    }

    #[test]
    fn country_codes_roll_up_to_iso_states() {
        assert_eq!(state_code("USA"), Some("USA"));
        assert_eq!(state_code("JAP"), Some("JPN"));
        assert_eq!(state_code("ITL"), Some("ITA"));
        assert_eq!(state_code("ROM"), Some("ROU"));
        assert_eq!(state_code("HKG"), Some("CHN"));
        assert_eq!(state_code("PRI"), Some("USA"));
        assert_eq!(state_code("GRL"), Some("DNK"));
        assert_eq!(state_code("TWN"), Some("TWN"));
        assert_eq!(state_code("PSE"), Some("PSE"));
        for (territory, state) in TERRITORIES {
            assert!(
                state_name(territory).is_some(),
                "{territory} is an ISO code"
            );
            assert!(state.is_none_or(|s| state_name(s).is_some() && state_code(s) == Some(s)));
        }
        assert!(TERRITORIES.windows(2).all(|w| w[0].0 < w[1].0));
        for code in [
            "IGO", "NGO", "IMG", "EUR", "AFR", "WST", "YUG", "", "usa", "ATA",
        ] {
            assert_eq!(state_code(code), None, "{code}");
        }
        assert_eq!(state_name("USA"), Some("United States"));
        assert_eq!(state_name("CHN"), Some("China"));
        assert_eq!(state_name("PSE"), Some("Palestine"));
        assert_eq!(COUNTRIES.len(), 249);
        assert!(COUNTRIES.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn sectors_that_act_for_the_state() {
        for s in ["", "***", "GOV", "MIL", "JUD", "gov", "Mil"] {
            assert!(acts_for_state(s), "{s}");
        }
        for s in ["REB", "OPP", "CVL", "ELI", "MILsrp", "GOVMOS", "UAF"] {
            assert!(!acts_for_state(s), "{s}");
        }
    }

    #[test]
    fn text_helpers() {
        assert_eq!(clean_tag("  Human Rights "), Some("human_rights".into()));
        assert_eq!(clean_tag("heavy-weapons"), Some("heavy-weapons".into()));
        assert_eq!(clean_tag("***"), None);
        assert_eq!(clean_tag(&"a".repeat(80)).unwrap().len(), MAX_TAG_LEN);
        assert_eq!(truncate("  abc ", 5), "abc");
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("ééééé", 3).chars().count(), 3);
        for ok in ["2000-01-01", "2024-02-29", "2019-10", "2017"] {
            assert!(valid_date(ok), "{ok}");
        }
        for bad in [
            "",
            "2023-02-29",
            "0000-01-01",
            "2020-13-01",
            "2020-1-01",
            "20200101",
        ] {
            assert!(!valid_date(bad), "{bad}");
        }
        assert!(crate::input::url_ok("https://example.com/a"));
        assert!(
            !crate::input::url_ok("ftp://example.com")
                && !crate::input::url_ok("https://")
                && !crate::input::url_ok("http://a b")
        );
        assert_eq!(status_for("1312"), "threatened");
        assert_eq!(status_for("163"), "announced");
        assert_eq!(cameo_label("106"), Some("Demand withdrawal"));
        assert_eq!(
            cameo_label("163"),
            Some("Impose embargo, boycott, or sanctions")
        );
    }
}
