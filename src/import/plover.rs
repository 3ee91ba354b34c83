//! PLOVER / POLECAT event records to riposte import lines, and a streaming reader for files
//! of them (a JSON array, or JSON objects one after another, one per line as POLECAT ships
//! them).
//!
//! Rules, in the order they are applied (the first that fails names the skip reason):
//! 0. An object with none of `event`, `date`, `source`, `target` (a wrapper such as
//!    `{"events": [...]}`): `not_an_event`.
//! 1. `event` DOCUMENT describes the file: `document_record`; a record without an `id`
//!    could not be found again on a re-import: `no_id`.
//! 2. `date` must be `YYYY-MM-DD` (or `YYYY-MM`, `YYYY`): `bad_date`.
//! 3. `source` and `target` (lists of actors, a single actor, or an actor code) must name
//!    someone: `no_source`, `no_target` (absent, null, `""` or `[]`).
//! 4. event, mode and context must lead to a riposte type through CAMEO2PLOVER and the
//!    `TypeMap` (see `crosswalk::plover_type`): `unmapped_event`.
//! 5. The source must roll up to exactly one state: an actor counts when its `code` is a
//!    state (`crosswalk::state_code`) and its sector acts for the state
//!    (`crosswalk::acts_for_state`: rebels, opposition or civilians of a country are not
//!    the country acting). None: `source_not_a_state` (IGO, NGO, armed groups) or
//!    `source_non_state_sector`; several different states: `compound_source`.
//! 6. The target must roll up to exactly one state, whatever the sector (civilians or
//!    rebels of a state put that state on the receiving end): `target_not_a_state`,
//!    `compound_target`.
//! 7. `same_state` when both are the same state (internal events).
//!
//! Compound actors: PLOVER lists several actors when the act applies to each. One record
//! becomes one action, so when they roll up to different states the record is skipped
//! rather than kept for the first state only (which would silently drop the others).
//! What the action does not show is named in an import note at the end of the summary:
//! actors left out beside the one state (an IGO next to a state), and a target counted as
//! its state although it is not the state or one of its bodies (rebels, civilians).
//!
//! No `severity` is sent (the type's default applies) and no sources (gold-standard records
//! have no URL). The gold-standard dates are all 2000-01-01, a placeholder kept as given.

use std::io::{BufReader, Read};

use serde_json::Value;

use crate::extract::json_kind;
use crate::limits::MAX_IMPORT_LINE_BYTES;

use super::crosswalk::{self, Draft, Mapped, TypeMap};

/// Maps one PLOVER record (as read by `plover_records`).
pub fn plover(record: &Value, types: &TypeMap) -> Mapped {
    let Some(fields) = record.as_object() else {
        return Mapped::skip(
            "not_an_object",
            format!("the record is {}, not a JSON object", json_kind(record)),
        );
    };
    let text = |key: &str| fields.get(key).and_then(Value::as_str).unwrap_or("").trim();
    let id = match fields.get("id") {
        Some(Value::String(s)) => s.trim().to_string(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    // A wrapper (`{"events": [...]}`, `{"data": [...]}`) is no event: said so, rather than
    // skipped for the first rule it happens to break.
    if !["event", "date", "source", "target"]
        .iter()
        .any(|k| fields.contains_key(*k))
    {
        let keys: Vec<&str> = fields.keys().take(5).map(String::as_str).collect();
        let list = fields.iter().find(|(_, v)| v.is_array()).map(|(k, _)| k);
        return Mapped::skip(
            "not_an_event",
            match (keys.is_empty(), list) {
                (true, _) => "an empty object, not an event".to_string(),
                (false, Some(list)) => format!(
                    "the object has none of a PLOVER event's fields (event, date, source, \
                     target) but `{}`; if its events are the list `{list}`, unwrap them first \
                     (jq '.{list}[]')",
                    keys.join("`, `")
                ),
                (false, None) => format!(
                    "the object has none of a PLOVER event's fields (event, date, source, \
                     target), only `{}`",
                    keys.join("`, `")
                ),
            },
        );
    }
    let event = text("event");
    if event.eq_ignore_ascii_case("DOCUMENT") {
        return Mapped::skip(
            "document_record",
            format!("record `{id}` is a DOCUMENT record describing the file, not an event"),
        );
    }
    if id.is_empty() {
        return Mapped::skip(
            "no_id",
            "the record has no `id`, which riposte keeps as its external_id to find it again \
             when the file is imported again",
        );
    }
    let date = text("date");
    if !crosswalk::valid_date(date) {
        return Mapped::skip(
            "bad_date",
            format!("record `{id}` has date `{date}`, not YYYY-MM-DD"),
        );
    }
    let sources = actors(fields.get("source"));
    if sources.is_empty() {
        return Mapped::skip("no_source", format!("record `{id}` names no source actor"));
    }
    let targets = actors(fields.get("target").or_else(|| fields.get("recipient")));
    if targets.is_empty() {
        return Mapped::skip(
            "no_target",
            format!(
                "record `{id}` names no target ({})",
                describe_missing(fields.get("target"))
            ),
        );
    }
    let mode = text("mode");
    let contexts = contexts(fields.get("context"));
    let resolved = match crosswalk::plover_type(types, event, mode, &contexts) {
        Ok(resolved) => resolved,
        Err(why) => return Mapped::skip("unmapped_event", format!("record `{id}`: {why}")),
    };

    let mut notes: Vec<String> = Vec::new();
    let initiator = match roll_up(&sources, true, &mut notes) {
        Ok(state) => state,
        Err(RollUp::None { non_state_sector }) => {
            let (reason, why) = if non_state_sector {
                (
                    "source_non_state_sector",
                    "is not a body of its state (counted: no sector, GOV, MIL, COP, JUD, LEG, SPY)",
                )
            } else {
                ("source_not_a_state", "does not roll up to a state")
            };
            return Mapped::skip(
                reason,
                format!("record `{id}`: source {} {why}", list(&sources)),
            );
        }
        Err(RollUp::Several(states)) => {
            return Mapped::skip(
                "compound_source",
                format!(
                    "record `{id}`: source {} roll up to several states ({})",
                    list(&sources),
                    states.join(", ")
                ),
            );
        }
    };
    let target = match roll_up(&targets, false, &mut notes) {
        Ok(state) => state,
        Err(RollUp::None { .. }) => {
            return Mapped::skip(
                "target_not_a_state",
                format!(
                    "record `{id}`: target {} does not roll up to a state",
                    list(&targets)
                ),
            );
        }
        Err(RollUp::Several(states)) => {
            return Mapped::skip(
                "compound_target",
                format!(
                    "record `{id}`: target {} roll up to several states ({})",
                    list(&targets),
                    states.join(", ")
                ),
            );
        }
    };
    if initiator == target {
        return Mapped::skip(
            "same_state",
            format!(
                "record `{id}`: source {} and target {} are both {initiator}",
                list(&sources),
                list(&targets)
            ),
        );
    }

    let event_text = text("eventText");
    let what = if event_text.is_empty() {
        event.to_ascii_lowercase()
    } else {
        event_text.to_string()
    };
    let mut tags = vec!["plover".to_string(), event.to_string()];
    tags.extend((!mode.is_empty()).then(|| mode.to_string()));
    tags.extend(contexts.iter().cloned());
    tags.push(format!("cameo-{}", resolved.cameo));
    Mapped::Lines(
        Draft {
            title: crosswalk::title(initiator, target, &what),
            text: text("text").to_string(),
            notes,
            initiator,
            target,
            type_code: resolved.type_code,
            status: crosswalk::status_for(&resolved.cameo),
            announced_on: date.to_string(),
            severity: None,
            tags,
            sources: Vec::new(),
            external_id: id,
            source_dataset: "plover",
        }
        .into_lines(),
    )
}

/// An actor as PLOVER writes it.
#[derive(Debug)]
struct Actor {
    code: String,
    sector: String,
    text: String,
}

impl std::fmt::Display for Actor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A record may name an actor by its code alone.
        let text = crosswalk::truncate(&self.text, crosswalk::NOTE_NAME_CHARS);
        match (text.is_empty(), self.sector.is_empty()) {
            (true, true) => write!(f, "{}", self.code),
            (true, false) => write!(f, "{} (sector {})", self.code, self.sector),
            (false, true) => write!(f, "`{}` ({})", text, self.code),
            (false, false) => write!(f, "`{}` ({}, sector {})", text, self.code, self.sector),
        }
    }
}

/// Actors from a list of actor objects, one object, or a bare code. Strings and lists are
/// both seen in the gold-standard records (`"target": ""`, `"target": "diplomatic"`).
fn actors(value: Option<&Value>) -> Vec<Actor> {
    let one = |v: &Value| match v {
        Value::Object(o) => {
            let field = |k: &str| o.get(k).and_then(Value::as_str).unwrap_or("").trim();
            Some(Actor {
                code: field("code").to_ascii_uppercase(),
                sector: field("sector").to_string(),
                text: field("actorText").to_string(),
            })
        }
        Value::String(s) if !s.trim().is_empty() => Some(Actor {
            code: s.trim().to_ascii_uppercase(),
            sector: String::new(),
            text: s.trim().to_string(),
        }),
        _ => None,
    };
    match value {
        Some(Value::Array(items)) => items.iter().filter_map(one).collect(),
        Some(v) => one(v).into_iter().collect(),
        None => Vec::new(),
    }
}

fn describe_missing(value: Option<&Value>) -> &'static str {
    match value {
        None => "field absent",
        Some(Value::Null) => "null",
        Some(Value::String(_)) => "empty string",
        Some(Value::Array(_)) => "empty list",
        Some(_) => "not an actor",
    }
}

/// Contexts from a comma- or semicolon-separated string or a list of strings, lower case.
fn contexts(value: Option<&Value>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut add = |s: &str| {
        for part in s.split([',', ';']) {
            let part = part.trim().to_ascii_lowercase();
            if !part.is_empty() && !out.contains(&part) {
                out.push(part);
            }
        }
    };
    match value {
        Some(Value::String(s)) => add(s),
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).for_each(add),
        _ => {}
    }
    out
}

enum RollUp {
    None { non_state_sector: bool },
    Several(Vec<&'static str>),
}

/// The one state a list of actors rolls up to. For a source, the actor's sector must act for
/// the state. What the action will not show is noted: actors left out beside the state, and
/// targets that are not the state itself or one of its bodies.
fn roll_up(
    actors: &[Actor],
    as_source: bool,
    notes: &mut Vec<String>,
) -> Result<&'static str, RollUp> {
    let role = if as_source { "source" } else { "target" };
    let mut states: Vec<&'static str> = Vec::new();
    let mut left_out: Vec<String> = Vec::new();
    let mut rolled_up: Vec<String> = Vec::new();
    let mut non_state_sector = false;
    for actor in actors {
        let for_state = crosswalk::acts_for_state(&actor.sector);
        match crosswalk::state_code(&actor.code) {
            Some(state) if for_state || !as_source => {
                if !states.contains(&state) {
                    states.push(state);
                }
                if !for_state {
                    rolled_up.push(format!("{role} {actor} counted as {state}"));
                }
            }
            Some(_) => {
                non_state_sector = true;
                left_out.push(format!("{role} {actor}, not a body of its state"));
            }
            None => left_out.push(format!("{role} {actor}, not a state")),
        }
    }
    match states[..] {
        [state] => {
            notes.extend(left_out);
            notes.extend(rolled_up);
            Ok(state)
        }
        [] => Err(RollUp::None { non_state_sector }),
        _ => Err(RollUp::Several(states)),
    }
}

fn list(actors: &[Actor]) -> String {
    actors
        .iter()
        .map(Actor::to_string)
        .collect::<Vec<_>>()
        .join(" and ")
}

// ---------------------------------------------------------------------------------------
// Reading

/// Reads PLOVER records from a JSON array or from JSON objects one after another (NDJSON, as
/// POLECAT ships them, or pretty-printed), calling `each` with the 1-based record number and
/// the record, or why it is not one (a value that is not an object, a broken record). Each
/// record is cut out by a scan of its brackets and strings and parsed alone, never more than
/// one at a time in memory, so a broken record is that record's error and reading goes on
/// after it. An `Err` from `each` stops the reading and is returned as is; so is a record
/// over `MAX_IMPORT_LINE_BYTES`, whose end cannot be found without holding it.
pub fn plover_records<R: Read>(
    reader: R,
    mut each: impl FnMut(usize, Result<Value, String>) -> Result<(), String>,
) -> Result<(), String> {
    read_records(reader, &mut each)
}

/// Why a record over the bound is rejected.
fn too_big() -> String {
    format!("longer than {MAX_IMPORT_LINE_BYTES} bytes, the most one record may take")
}

type Each<'a> = dyn FnMut(usize, Result<Value, String>) -> Result<(), String> + 'a;

fn checked(value: Value) -> Result<Value, String> {
    if value.is_object() {
        Ok(value)
    } else {
        Err(format!("must be a JSON object, not {}", json_kind(&value)))
    }
}

/// Where the reading is with respect to a top-level array.
#[derive(Clone, Copy, PartialEq)]
enum Array {
    /// No array: records one after another.
    None,
    Open,
    Closed,
}

/// How a record is laid out, told by what follows its `{`: on the same line, or not.
/// Each record says it for itself, as some writers put short records on a line and long
/// ones over several (Prettier).
#[derive(Clone, Copy, PartialEq)]
enum Layout {
    /// On its line (NDJSON, PostgreSQL's `json_agg`, DuckDB's arrays): if it is not closed
    /// there, a line starting with `{` (after any indentation) starts another record.
    Line,
    /// Pretty-printed from `column`. When `indented` (its second line right of it), a line
    /// starting with `{` at that column starts another record; without indentation nested
    /// objects start lines there too, and no line says so.
    Pretty { column: usize, indented: bool },
}

/// The records of a file, one after another (commas between them are passed over), or the
/// elements of its top-level array. An object ends where its brackets close, once what
/// follows does not say it closed too early (after any commas, a string that is no
/// record's start: `"key": ...` left of a stray `}`, unless a line-laid record's next line);
/// any other element of an array ends before the `,` or `]` that follows it, and any other
/// value outside one at the end of its line. A broken object (never closed, or closed too
/// early) ends where its layout shows another record starts, else at the file's end.
fn read_records(input: impl Read, each: &mut Each) -> Result<(), String> {
    let mut bytes = BufReader::new(input).bytes();
    let mut number = 0;
    // Where the next byte is (1-based), and whether its line so far is white space only.
    let (mut line, mut column) = (1, 1);
    let mut blank = true;
    // Known at the first byte that is not white space.
    let mut array = None;
    // The record's layout, once its second byte that is not white space tells.
    let mut layout = None;
    // The record being read: its bytes, where it starts, how many of them are not white
    // space, the scan of its brackets.
    let mut record: Vec<u8> = Vec::new();
    let mut first = (1, 1);
    let mut significant = 0;
    let mut scan = Scan::default();
    // The line its brackets closed on; it is handed over once what follows agrees.
    let mut closed: Option<usize> = None;
    // Why it is broken, once what followed its close disagreed: it then ends only where
    // another record starts.
    let mut broken: Option<String> = None;
    // The record under way passed `MAX_IMPORT_LINE_BYTES`: what is held of it is cut short.
    let mut oversize = false;
    loop {
        let byte = match bytes.next() {
            None => break,
            Some(Ok(b)) => b,
            Some(Err(e)) => return Err(format!("record {}: {e}", number + 1)),
        };
        let at = (line, column);
        (line, column) = match byte {
            b'\n' => (line + 1, 1),
            _ => (line, column + 1),
        };
        let first_on_line = blank && !byte.is_ascii_whitespace();
        blank = byte == b'\n' || (blank && byte.is_ascii_whitespace());
        if byte.is_ascii_whitespace() && (record.is_empty() || closed.is_some()) {
            continue;
        }
        let within = match array {
            Some(within) => within,
            // The first byte that is not white space says which the file holds.
            None if byte == b'[' => {
                array = Some(Array::Open);
                continue;
            }
            None => *array.insert(Array::None),
        };
        if within == Array::Closed {
            let why = format!(
                "unexpected data after the array of records at line {} column {}; nothing \
                 after it is read",
                at.0, at.1
            );
            return each(number + 1, Err(why));
        }
        if let Some(closed_on) = closed {
            if byte == b',' {
                continue;
            }
            let follows = byte != b'"' || (at.0 > closed_on && layout == Some(Layout::Line));
            closed = None;
            if follows {
                hand_over(&mut number, first, &mut record, oversize, each)?;
            } else {
                broken = Some(format!(
                    "JSON syntax error: unexpected data after its end, at line {} column {}",
                    at.0, at.1
                ));
            }
        }
        let starts_another = match layout {
            Some(Layout::Line) => first_on_line,
            Some(Layout::Pretty { column, indented }) => {
                indented && first_on_line && at.1 == column
            }
            None => at.1 == 1,
        };
        if starts_another && byte == b'{' && !record.is_empty() {
            number += 1;
            let why = broken.take().unwrap_or_else(|| {
                format!(
                    "JSON syntax error: not closed before line {}, where another record \
                     starts",
                    at.0
                )
            });
            record.clear();
            each(number, Err(why))?;
        }
        // A value that is no object, outside its brackets and strings: a `,` or `]` ends it
        // in an array, and nowhere does it go on with a `{`: that starts a record (after a
        // stray `}` line, say).
        let value_at_rest =
            record.first().is_some_and(|&b| b != b'{') && scan.depth == 0 && !scan.in_string;
        if value_at_rest && byte == b'{' {
            hand_over(&mut number, first, &mut record, oversize, each)?;
        }
        if record.is_empty() {
            match (within, byte) {
                (_, b',') => continue,
                (Array::Open, b']') => {
                    array = Some(Array::Closed);
                    continue;
                }
                _ => {}
            }
            first = at;
            significant = 0;
            scan = Scan::default();
            broken = None;
            layout = None;
            oversize = false;
        }
        if value_at_rest && within == Array::Open && matches!(byte, b',' | b']') {
            hand_over(&mut number, first, &mut record, oversize, each)?;
            if byte == b']' {
                array = Some(Array::Closed);
            }
            continue;
        }
        // Past the bound a record is only scanned, for where it ends: rejected, never held.
        if record.len() < MAX_IMPORT_LINE_BYTES {
            record.push(byte);
        } else {
            oversize = true;
        }
        if !byte.is_ascii_whitespace() {
            significant += 1;
        }
        if layout.is_none() && record[0] == b'{' && significant == 2 {
            layout = match (at.0 == first.0, byte) {
                // `{}`: an empty record does not tell.
                (true, b'}') => None,
                (true, _) => Some(Layout::Line),
                (false, _) => Some(Layout::Pretty {
                    column: first.1,
                    indented: at.1 > first.1,
                }),
            };
        }
        let closes = scan.closes(byte);
        match record[0] {
            b'{' if closes && broken.is_none() => closed = Some(at.0),
            b'{' => {}
            _ if within == Array::None && byte == b'\n' => {
                hand_over(&mut number, first, &mut record, oversize, each)?;
            }
            _ => {}
        }
    }
    if closed.is_some() {
        hand_over(&mut number, first, &mut record, oversize, each)?;
    }
    let open = array == Some(Array::Open);
    if record.iter().any(|b| !b.is_ascii_whitespace()) {
        number += 1;
        // A value outside an array ends at the end of its line, here the file's.
        if record[0] != b'{' && !open {
            return each(number, parsed(first, &record, oversize));
        }
        let why =
            broken.unwrap_or_else(|| "JSON syntax error: the file ends inside it".to_string());
        // Said, not dropped: records sharing its line after it went into it unread.
        let why = match another_start(first, &record) {
            Some((line, column)) => format!(
                "{why}; where it ends could not be told, so the rest of the file was read as \
                 part of it, and what looks like another record at line {line} column \
                 {column} was not imported, nor anything after it (one record per line, or \
                 pretty-printed, lets a broken record end where the next starts)"
            ),
            None => why,
        };
        each(number, Err(why))?;
    } else if open {
        let why = "the file ends before the array of records is closed with `]`: it may be \
                   cut short";
        each(number + 1, Err(why.to_string()))?;
    }
    Ok(())
}

/// Where, in a record that starts at `first`, a `{` follows a `}` and a comma (white space
/// between): what looks like the start of another record that went into it.
fn another_start(first: (usize, usize), record: &[u8]) -> Option<(usize, usize)> {
    let (mut line, mut column) = first;
    let mut after_close = false;
    let mut comma = false;
    for &byte in record {
        match byte {
            b'{' if after_close && comma => return Some((line, column)),
            b'}' => (after_close, comma) = (true, false),
            b',' if after_close => comma = true,
            b if b.is_ascii_whitespace() => {}
            _ => (after_close, comma) = (false, false),
        }
        (line, column) = match byte {
            b'\n' => (line + 1, 1),
            _ => (line, column + 1),
        };
    }
    None
}

/// Gives `each` the next record, parsed, and empties `record` for the one after.
fn hand_over(
    number: &mut usize,
    first: (usize, usize),
    record: &mut Vec<u8>,
    oversize: bool,
    each: &mut Each,
) -> Result<(), String> {
    *number += 1;
    let result = each(*number, parsed(first, record, oversize));
    record.clear();
    result
}

/// Where a scan of one object is: how deep in brackets, and whether in a string.
#[derive(Default)]
struct Scan {
    depth: usize,
    in_string: bool,
    escaped: bool,
}

impl Scan {
    /// Takes the next byte of the object; whether it closes the object.
    fn closes(&mut self, byte: u8) -> bool {
        if self.in_string {
            match (self.escaped, byte) {
                (true, _) => self.escaped = false,
                (false, b'\\') => self.escaped = true,
                // A raw line break cannot be in a string: the record is broken (its parse
                // says where), and what follows is scanned as if the string had ended.
                (false, b'"' | b'\n') => self.in_string = false,
                _ => {}
            }
            return false;
        }
        match byte {
            b'"' => self.in_string = true,
            b'{' | b'[' => self.depth += 1,
            b'}' | b']' => {
                self.depth = self.depth.saturating_sub(1);
                return self.depth == 0;
            }
            _ => {}
        }
        false
    }
}

/// One record's bytes, parsed; a syntax error names the line and column in the file
/// (`first`: where the record starts).
fn parsed(first: (usize, usize), record: &[u8], oversize: bool) -> Result<Value, String> {
    if oversize {
        return Err(too_big());
    }
    match crate::json::from_slice(record) {
        Ok(value) => checked(value),
        Err(e) => {
            let fault = match e.classify() {
                // Well-formed, but a key given twice (`json`).
                serde_json::error::Category::Data => "ambiguous JSON",
                _ => "JSON syntax error",
            };
            let text = e.to_string();
            let what = text
                .rsplit_once(" at line ")
                .map_or(text.as_str(), |(w, _)| w);
            let line = first.0 + e.line() - 1;
            // serde_json puts an error at a line break in column 0 of the next line.
            if e.column() == 0 && e.line() > 1 {
                return Err(format!("{fault}: {what} at the end of line {}", line - 1));
            }
            let column = match e.line() {
                1 => first.1 + e.column() - 1,
                _ => e.column(),
            };
            Err(format!("{fault}: {what} at line {line} column {column}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::super::crosswalk::{check_lines, riposte_types};
    use super::*;

    /// The PLOVER gold-standard records, beside the checkout in CI (`../shared`).
    fn gold_standard() -> Vec<(String, Mapped)> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/data/plover-gsr-cameo.json");
        let file = std::fs::File::open(&path)
            .unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()));
        let types = TypeMap::new(&riposte_types());
        let mut out = Vec::new();
        plover_records(file, |n, record| {
            let record = record.unwrap_or_else(|e| panic!("record {n}: {e}"));
            let id = record["id"].as_str().unwrap_or_default().to_string();
            out.push((id, plover(&record, &types)));
            Ok(())
        })
        .unwrap();
        out
    }

    fn outcome<'a>(all: &'a [(String, Mapped)], id: &str) -> &'a Mapped {
        let mut found = all.iter().filter(|(i, _)| i == id);
        let (_, mapped) = found.next().unwrap_or_else(|| panic!("no record {id}"));
        mapped
    }

    fn action<'a>(all: &'a [(String, Mapped)], id: &str) -> &'a Value {
        match outcome(all, id) {
            Mapped::Lines(lines) => lines.last().unwrap(),
            other => panic!("{id} was {other:?}"),
        }
    }

    fn reason(all: &[(String, Mapped)], id: &str) -> (&'static str, String) {
        match outcome(all, id) {
            Mapped::Skipped { reason, detail } => (reason, detail.clone()),
            other => panic!("{id} was {other:?}"),
        }
    }

    #[test]
    fn gold_standard_counts_by_reason() {
        let all = gold_standard();
        assert_eq!(all.len(), 323);
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for (_, mapped) in &all {
            let key = match mapped {
                Mapped::Lines(_) => "action",
                Mapped::Skipped { reason, .. } => reason,
            };
            *counts.entry(key).or_default() += 1;
        }
        let expected: BTreeMap<&str, usize> = [
            // 12 THREATEN, 9 SANCTION, 2 CONCEDE (Serbia easing measures in Montenegro),
            // 1 COERCE (Ghana deporting Liberians).
            ("action", 24),
            ("compound_target", 1),
            ("document_record", 1),
            // ASSAULT-0009 has a target and no source.
            ("no_source", 1),
            // 25 absent targets and 8 empty strings (the DOCUMENT record, also without a
            // target, is counted as such).
            ("no_target", 33),
            ("same_state", 11),
            ("source_non_state_sector", 6),
            ("source_not_a_state", 7),
            ("target_not_a_state", 3),
            ("unmapped_event", 236),
        ]
        .into();
        assert_eq!(counts, expected);
    }

    #[test]
    fn every_action_passes_riposte_checks() {
        for (id, mapped) in gold_standard() {
            if let Mapped::Lines(lines) = mapped {
                assert_eq!(lines.len(), 3, "{id}");
                check_lines(&lines);
                let action = lines.last().unwrap();
                assert_eq!(action["external_id"], id.as_str());
                assert_eq!(action["source_dataset"], "plover");
                assert!(action.get("severity").is_none() && action["sources"] == json!([]));
            }
        }
    }

    #[test]
    fn the_document_record_is_skipped() {
        let all = gold_standard();
        assert_eq!(all[0].0, "PLOVER-GSR01-DOCUMENT-0001");
        let (reason, _) = reason(&all, "PLOVER-GSR01-DOCUMENT-0001");
        assert_eq!(reason, "document_record");
    }

    #[test]
    fn a_threat_becomes_a_threatened_action() {
        let all = gold_standard();
        let lines = match outcome(&all, "PLOVER-GSR01-THREATEN-0001") {
            Mapped::Lines(lines) => lines,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            lines[..2],
            [
                json!({"actor": {"code": "USA", "name": "United States", "kind": "state"}}),
                json!({"actor": {"code": "RUS", "name": "Russia", "kind": "state"}}),
            ]
        );
        assert_eq!(
            lines[2],
            json!({
                "title": "United States → Russia: threatened",
                "summary": "President Bush has threatened further action against Russia in an \
                    international television program beamed by satellite to more than 50 countries.",
                "initiator": "USA",
                "target": "RUS",
                "type": "threaten",
                "status": "threatened",
                "announced_on": "2000-01-01",
                "tags": ["plover", "threaten", "diplomatic", "cameo-130"],
                "sources": [],
                "external_id": "PLOVER-GSR01-THREATEN-0001",
                "source_dataset": "plover",
            })
        );
    }

    #[test]
    fn a_sanction_record_without_mode_is_a_reduction_of_relations() {
        let all = gold_standard();
        // "Japan said on Tuesday it had halted economic aid to Serbia": `JAP` is the old
        // KEDS code for Japan.
        let a = action(&all, "PLOVER-GSR01-SANCTION-0006");
        assert_eq!(
            (&a["initiator"], &a["target"]),
            (&json!("JPN"), &json!("SRB"))
        );
        assert_eq!(a["type"], "reduce_relations");
        assert_eq!(a["status"], "announced");
        assert_eq!(a["title"], "Japan → Serbia: halted economic aid");
        assert_eq!(
            action(&all, "PLOVER-GSR01-SANCTION-0001")["initiator"],
            "ITA"
        );
    }

    #[test]
    fn agree_records_do_not_say_which_agreement() {
        let all = gold_standard();
        // Finland will give Tanzania a grant: AGREE, economic matches 0311, 0331 and 0354.
        let (reason, detail) = reason(&all, "PLOVER-GSR01-AGREE-0011");
        assert_eq!(reason, "unmapped_event");
        assert!(
            detail.contains("AGREE") && detail.contains("0354"),
            "{detail}"
        );
    }

    #[test]
    fn empty_and_absent_targets() {
        let all = gold_standard();
        let (r, detail) = reason(&all, "PLOVER-GSR01-AGREE-0003");
        assert_eq!(r, "no_target");
        assert!(detail.contains("empty string"), "{detail}");
        let (r, detail) = reason(&all, "PLOVER-GSR01-AGREE-0001");
        assert_eq!(r, "no_target");
        assert!(detail.contains("absent"), "{detail}");
    }

    #[test]
    fn list_targets() {
        let all = gold_standard();
        // Pakistan threatened to break relations with Congo and Costa Rica.
        let (r, detail) = reason(&all, "PLOVER-GSR01-THREATEN-0006");
        assert_eq!(r, "compound_target");
        assert!(detail.contains("COG, CRI"), "{detail}");
        // Ghanaian authorities deported 168 Liberians: civilians put Liberia on the
        // receiving end, and the summary says so.
        let a = action(&all, "PLOVER-GSR01-COERCE-0013");
        assert_eq!(
            (&a["initiator"], &a["target"]),
            (&json!("GHA"), &json!("LBR"))
        );
        assert_eq!(a["type"], "expel_individuals");
        let summary = a["summary"].as_str().unwrap();
        assert!(
            summary
                .ends_with("[Import note: target `Liberians` (LBR, sector CVL) counted as LBR.]"),
            "{summary}"
        );
    }

    #[test]
    fn an_actor_without_text_is_named_by_its_code() {
        let actor = |text: &str, sector: &str| Actor {
            code: "XKX".into(),
            sector: sector.into(),
            text: text.into(),
        };
        assert_eq!(actor("", "REB").to_string(), "XKX (sector REB)");
        assert_eq!(actor("", "").to_string(), "XKX");
        assert_eq!(actor("Kosovo", "").to_string(), "`Kosovo` (XKX)");
        assert_eq!(
            actor("rebels", "REB").to_string(),
            "`rebels` (XKX, sector REB)"
        );
        // A name is quoted up to 100 characters: a record's notes stay short.
        let long = actor(&"y".repeat(5_000), "").to_string();
        assert_eq!(long, format!("`{}…` (XKX)", "y".repeat(99)));
    }

    #[test]
    fn sources_that_are_not_states() {
        let all = gold_standard();
        let (r, detail) = reason(&all, "PLOVER-GSR01-THREATEN-0022");
        assert_eq!(r, "source_not_a_state");
        assert!(detail.contains("`NATO` (IGO, sector MIL)"), "{detail}");
        let (r, detail) = reason(&all, "PLOVER-GSR01-THREATEN-0024");
        assert_eq!(r, "source_non_state_sector");
        assert!(detail.contains("`Hamas` (PSE, sector REB)"), "{detail}");
        let (r, _) = reason(&all, "PLOVER-GSR01-THREATEN-0012");
        assert_eq!(r, "same_state");
    }

    fn record(source: Value, target: Value) -> Value {
        json!({
            "id": "T-1", "date": "2020-07-10", "event": "THREATEN", "mode": "restrict",
            "context": "economic", "eventText": "vowed reciprocal sanctions",
            "text": "China vowed reciprocal action.", "source": source, "target": target,
        })
    }

    fn map(record: &Value) -> Mapped {
        plover(record, &TypeMap::new(&riposte_types()))
    }

    #[test]
    fn a_wrapper_object_is_not_an_event() {
        let event = record(json!({"code": "CHN"}), json!({"code": "USA"}));
        for (wrapper, says) in [
            (
                json!({"meta": {"v": 1}, "events": [event]}),
                "jq '.events[]'",
            ),
            (json!({}), "an empty object"),
            (json!({"meta": 1}), "only `meta`"),
        ] {
            match map(&wrapper) {
                Mapped::Skipped {
                    reason: "not_an_event",
                    detail,
                } => assert!(detail.contains(says), "{detail}"),
                other => panic!("{other:?}"),
            }
        }
    }

    /// Without an id a record could not be found again: a second import would store it
    /// twice. Skipped and counted, not stored.
    #[test]
    fn a_record_without_an_id_is_skipped() {
        let usa = json!({"code": "USA"});
        let chn = json!({"code": "CHN"});
        for id in [json!(null), json!(""), json!("  ")] {
            let mut r = record(chn.clone(), usa.clone());
            r["id"] = id.clone();
            assert!(
                matches!(
                    map(&r),
                    Mapped::Skipped {
                        reason: "no_id",
                        ..
                    }
                ),
                "{id}"
            );
        }
        let mut r = record(chn, usa);
        r.as_object_mut().unwrap().remove("id");
        assert!(matches!(
            map(&r),
            Mapped::Skipped {
                reason: "no_id",
                ..
            }
        ));
    }

    #[test]
    fn compound_sources() {
        let chn = json!({"code": "CHN", "sector": "GOV", "actorText": "China"});
        let usa = json!({"code": "USA", "actorText": "United States"});
        let mapped = map(&record(json!([chn, usa]), json!([usa])));
        assert!(matches!(
            mapped,
            Mapped::Skipped {
                reason: "compound_source",
                ..
            }
        ));
        // An IGO beside one state: the state acts, the IGO is noted.
        let igo = json!({"code": "IGO", "actorText": "SCO"});
        let Mapped::Lines(lines) = map(&record(json!([igo, chn]), json!({"code": "USA"}))) else {
            panic!()
        };
        check_lines(&lines);
        let a = lines.last().unwrap();
        assert_eq!(
            (&a["initiator"], &a["type"]),
            (&json!("CHN"), &json!("threaten_sanctions"))
        );
        assert!(a["summary"]
            .as_str()
            .unwrap()
            .contains("source `SCO` (IGO), not a state"));
    }

    #[test]
    fn odd_records() {
        let usa = json!([{"code": "USA"}]);
        let mut r = record(usa.clone(), json!("CHN"));
        assert!(matches!(map(&r), Mapped::Lines(_)), "a bare code as target");
        r["target"] = json!("diplomatic");
        assert!(matches!(
            map(&r),
            Mapped::Skipped {
                reason: "target_not_a_state",
                ..
            }
        ));
        r["target"] = json!([]);
        assert!(matches!(
            map(&r),
            Mapped::Skipped {
                reason: "no_target",
                ..
            }
        ));
        r["date"] = json!("2020-02-30");
        assert!(matches!(
            map(&r),
            Mapped::Skipped {
                reason: "bad_date",
                ..
            }
        ));
        let r = json!([1, 2]);
        assert!(matches!(
            map(&r),
            Mapped::Skipped {
                reason: "not_an_object",
                ..
            }
        ));
        let mut r = record(usa.clone(), json!([{"code": "CHN"}]));
        r["context"] = json!(["Economic", "cyber"]);
        r["text"] = json!("x".repeat(20_000));
        let Mapped::Lines(lines) = map(&r) else {
            panic!()
        };
        check_lines(&lines);
        assert_eq!(
            lines[2]["tags"],
            json!([
                "plover",
                "threaten",
                "restrict",
                "economic",
                "cyber",
                "cameo-1312"
            ])
        );
        let summary = lines[2]["summary"].as_str().unwrap();
        assert_eq!(summary.chars().count(), 10_000);
        assert!(summary.ends_with("characters.]"), "the cut is said");
        // A long text is cut around the import note, which stays whole.
        let mut r = record(
            usa,
            json!([{"code": "RUS", "sector": "REB", "actorText": "Russian rebels"}]),
        );
        r["text"] = json!("y".repeat(12_000));
        let Mapped::Lines(lines) = map(&r) else {
            panic!()
        };
        check_lines(&lines);
        let summary = lines[2]["summary"].as_str().unwrap();
        assert_eq!(summary.chars().count(), 10_000);
        assert!(
            summary.ends_with(
                "…\n\n[Import note: target `Russian rebels` (RUS, sector REB) counted as RUS; \
                 the record's text is cut to fit the summary's 10000 characters.]"
            ),
            "{}",
            &summary[summary.len() - 200..]
        );
    }

    type Seen = Vec<(usize, Result<Value, String>)>;

    fn read(input: &str) -> Result<Seen, String> {
        let mut seen = Vec::new();
        plover_records(input.as_bytes(), |n, r| {
            seen.push((n, r));
            Ok(())
        })
        .map(|()| seen)
    }

    #[test]
    fn reads_arrays_ndjson_and_concatenated_objects() {
        let expected = vec![(1, Ok(json!({"id": "a"}))), (2, Ok(json!({"id": "b"})))];
        assert_eq!(
            read("\n [{\"id\": \"a\"},\n {\"id\": \"b\"}]\n").unwrap(),
            expected
        );
        assert_eq!(
            read("{\"id\": \"a\"}\n{\"id\": \"b\"}\n").unwrap(),
            expected
        );
        assert_eq!(read("{\"id\": \"a\"}{\"id\": \"b\"}").unwrap(), expected);
        assert_eq!(read("").unwrap(), vec![]);
        assert_eq!(read(" \n ").unwrap(), vec![]);
        assert_eq!(read("[]").unwrap(), vec![]);
    }

    #[test]
    fn a_value_that_is_not_an_object_is_one_bad_record() {
        let seen = read("[{\"id\": \"a\"}, 42, {\"id\": \"c\"}]").unwrap();
        assert_eq!(seen.len(), 3);
        assert_eq!(
            seen[1],
            (2, Err("must be a JSON object, not a number".to_string()))
        );
        let seen = read("{\"id\": \"a\"}\n\"x\"\n{\"id\": \"c\"}").unwrap();
        assert_eq!(
            seen[1],
            (2, Err("must be a JSON object, not a string".to_string()))
        );
        assert_eq!(seen[2].1, Ok(json!({"id": "c"})));
    }

    /// On one line (json.dumps, JSON.stringify, jq -c), a record whose end cannot be found
    /// takes the rest of the file with it: the message says so, and from where.
    #[test]
    fn a_broken_record_that_runs_to_the_end_says_what_it_took() {
        let seen = read("[{\"id\": \"a\"}, {\"id\": \"b}, {\"id\": \"c\"}]").unwrap();
        assert_eq!(seen.len(), 2, "{seen:?}");
        assert_eq!(seen[0], (1, Ok(json!({"id": "a"}))));
        let why = seen[1].1.as_ref().unwrap_err();
        assert!(
            why.contains("another record at line 1 column 27 was not imported"),
            "{why}"
        );
        // Cut short alone, it took nothing: nothing is said of other records.
        let seen = read("{\"id\": \"a\"}\n{\"id\": \"b").unwrap();
        let why = seen[1].1.as_ref().unwrap_err();
        assert!(why.ends_with("the file ends inside it"), "{why}");
    }

    /// In an array too, a broken element is its own bad record, with its position in the
    /// file, and the reading goes on; an array cut short or followed by more data is one bad
    /// record at its end.
    #[test]
    fn a_broken_element_of_an_array_is_one_bad_record() {
        let seen = read("[{\"id\": \"a\"},\n {\"id\": }, {\"id\": \"c\"}]").unwrap();
        assert_eq!(seen.len(), 3, "{seen:?}");
        assert_eq!(seen[0], (1, Ok(json!({"id": "a"}))));
        assert_eq!(
            seen[1],
            (
                2,
                Err("JSON syntax error: expected value at line 2 column 9".into())
            )
        );
        assert_eq!(seen[2], (3, Ok(json!({"id": "c"}))));
        // A key given twice is that record's fault alone, not its last value taken.
        let seen = read("[{\"id\": \"a\", \"id\": \"b\"}, {\"id\": \"c\"}]").unwrap();
        assert_eq!(
            seen[0],
            (
                1,
                Err(
                    "ambiguous JSON: the key `id` is given twice in one object; give \
                     it once at line 1 column 23"
                        .into()
                )
            )
        );
        assert_eq!(seen[1], (2, Ok(json!({"id": "c"}))));
        // Elements that are no objects end at the `,` or `]` of their own depth.
        let seen = read("[[1, {\"a\": [2]}], \"x,]\\\"\", tru, {\"id\": \"d\"}]").unwrap();
        let got: Vec<_> = seen.iter().map(|(n, r)| (*n, r.clone())).collect();
        assert_eq!(
            got[0],
            (1, Err("must be a JSON object, not an array".into()))
        );
        assert_eq!(
            got[1],
            (2, Err("must be a JSON object, not a string".into()))
        );
        assert!(
            got[2]
                .1
                .as_ref()
                .unwrap_err()
                .starts_with("JSON syntax error: "),
            "{got:?}"
        );
        assert_eq!(got[3], (4, Ok(json!({"id": "d"}))));
        // Pretty-printed, as the PLOVER gold-standard file is: a record broken by a raw line
        // break in a string ends where the next record's `{` starts a line.
        let text = "[\n{\n  \"id\": \"a\n\"\n},\n{\n  \"id\": \"b\"\n}\n]\n";
        let seen = read(text).unwrap();
        assert_eq!(seen.len(), 2, "{seen:?}");
        assert!(seen[0].1.is_err());
        assert_eq!(seen[1], (2, Ok(json!({"id": "b"}))));
        // Cut short: inside a record, or between records.
        let seen = read("[{\"id\": \"a\"}, {\"id\": \"b").unwrap();
        assert_eq!(seen[0].1, Ok(json!({"id": "a"})));
        let why = seen[1].1.as_ref().unwrap_err();
        assert_eq!(why, "JSON syntax error: the file ends inside it");
        let seen = read("[{\"id\": \"a\"},\n").unwrap();
        assert_eq!(seen.len(), 2);
        let why = seen[1].1.as_ref().unwrap_err();
        assert!(
            why.contains("before the array of records is closed"),
            "{why}"
        );
        // Data after the array is one bad record, and nothing after it is read.
        let seen = read("[{\"id\": \"a\"}]\n x {\"id\": \"b\"}").unwrap();
        assert_eq!(seen.len(), 2);
        let why = seen[1].1.as_ref().unwrap_err();
        assert!(
            why.contains("after the array of records at line 2 column 2"),
            "{why}"
        );
    }

    /// Which records of `input` were read whole (their ids) and which were not (None).
    fn ids(input: &str) -> Vec<Option<String>> {
        let seen = read(input).unwrap();
        let numbers: Vec<usize> = seen.iter().map(|(n, _)| *n).collect();
        assert_eq!(numbers, (1..=seen.len()).collect::<Vec<_>>(), "{input:?}");
        seen.into_iter()
            .map(|(_, r)| r.ok().map(|r| r["id"].as_str().unwrap_or("").to_string()))
            .collect()
    }

    /// The layouts real tools write, each with a broken record: that record alone is lost.
    #[test]
    fn a_broken_record_costs_itself_in_the_layouts_tools_write() {
        let some = |ids: &[&str]| -> Vec<Option<String>> {
            ids.iter()
                .map(|id| (!id.is_empty()).then(|| id.to_string()))
                .collect()
        };
        let cases = [
            // PostgreSQL's json_agg: ", \n " between rows.
            (
                "[{\"id\": \"a\"}, \n {\"id\": \"b}, \n {\"id\": \"c\"}, \n {\"id\": \"d\"}]",
                some(&["a", "", "c", "d"]),
            ),
            // One per line, tab-indented (DuckDB's arrays).
            (
                "[\n\t{\"id\": \"a\"},\n\t{\"id\": \"b\", \"x\": [1},\n\t{\"id\": \"c\"}\n]\n",
                some(&["a", "", "c"]),
            ),
            // NDJSON whose first line is broken.
            ("{\"id\": \"a\"\n{\"id\": \"b\"}\n{\"id\": \"c\"}\n", some(&["", "b", "c"])),
            ("{\"id\": \"a\", \"x\": [1}\r\n{\"id\": \"b\"}\r\n", some(&["", "b"])),
            ("[\n{\"id\": \"a\",\n{\"id\": \"b\"},\n{\"id\": \"c\"}\n]\n", some(&["", "b", "c"])),
            // Pretty-printed without indentation, an empty record first: both whole.
            (
                "[\n{},\n{\n\"id\": \"a\",\n\"xs\": [\n{\n\"x\": 1\n}\n]\n}\n]",
                some(&["", "a"]),
            ),
            // ... and a raw line break in a string: its nested objects are not records.
            (
                "[\n{\n\"id\": \"a\",\n\"text\": \"x,\n\"source\": [\n{\n\"code\": \"USA\"\n}\n]\n},\n\
                 {\n\"id\": \"b\"\n},\n{\n\"id\": \"c\"\n}\n]\n",
                some(&["", "b", "c"]),
            ),
            // A stray `}` closes a record early: the front of it is not taken for a record.
            (
                "{\n  \"id\": \"a\",\n  \"event\": \"THREATEN\"},\n  \"mode\": \"restrict\"\n}\n\
                 {\n  \"id\": \"b\"\n}\n",
                some(&["", "b"]),
            ),
            (
                "{\"id\": \"a\", \"event\": \"T\"}, \"mode\": \"r\"}\n{\"id\": \"b\"}\n",
                some(&["", "b"]),
            ),
            (
                "[\n  {\n    \"id\": \"a\",\n    \"event\": \"T\"},\n    \"mode\": \"r\"\n  },\n  \
                 {\n    \"id\": \"b\"\n  }\n]",
                some(&["", "b"]),
            ),
            // Values that are no records between records: only they are rejected.
            (
                "[\n  {\n    \"id\": \"a\"\n  },\n  null,\n  {\n    \"id\": \"c\"\n  }\n]\n",
                some(&["a", "", "c"]),
            ),
            ("{\n  \"id\": \"a\"\n}\nnull\n{\n  \"id\": \"c\"\n}\n", some(&["a", "", "c"])),
            // A stray `}` line between records.
            (
                "[\n  {\n    \"id\": \"a\"\n  },\n  }\n  {\n    \"id\": \"c\"\n  }\n]\n",
                some(&["a", "", "c"]),
            ),
            // Prettier: short records on a line, long ones over several; both whole.
            (
                "[\n  { \"id\": \"a\" },\n  {\n    \"id\": \"b\",\n    \"source\": [\n      {\n        \
                 \"code\": \"USA\"\n      }\n    ]\n  }\n]\n",
                some(&["a", "b"]),
            ),
            // Jackson's default pretty printer, whole.
            (
                "[ {\n  \"id\" : \"a\",\n  \"source\" : [ {\n    \"code\" : \"USA\"\n  } ]\n}, {\n  \
                 \"id\" : \"b\"\n} ]",
                some(&["a", "b"]),
            ),
            // JSON.stringify(records, null, 2) with CRLF line ends, whole.
            (
                "[\r\n  {\r\n    \"id\": \"a\",\r\n    \"source\": [\r\n      {\r\n        \
                 \"code\": \"USA\"\r\n      }\r\n    ]\r\n  },\r\n  {\r\n    \"id\": \"b\"\r\n  }\r\n]",
                some(&["a", "b"]),
            ),
            // json_agg with a record's first key broken.
            (
                "[{id\": \"a\"}, \n {\"id\": \"b\"}, \n {\"id\": \"c\"}]",
                some(&["", "b", "c"]),
            ),
            // A stray `{` after a record's end.
            (
                "[\n{\n    \"id\": \"a\"\n}{,\n{\n    \"id\": \"b\"\n},\n{\n    \"id\": \"c\"\n}\n]\n",
                some(&["a", "", "b", "c"]),
            ),
        ];
        for (input, expected) in cases {
            let mut got = ids(input);
            // `{}` has no id: whole, but shown as "".
            for id in got.iter_mut() {
                if id.as_deref() == Some("") {
                    *id = None;
                }
            }
            let expected: Vec<Option<String>> = expected;
            assert_eq!(got, expected, "{input:?}");
        }
        let seen = read("[\n{},\n{\n\"id\": \"a\",\n\"xs\": [\n{\n\"x\": 1\n}\n]\n}\n]").unwrap();
        assert!(seen.iter().all(|(_, r)| r.is_ok()), "{seen:?}");
        // An error at a line break names the line it is on.
        let seen = read("{\"id\": 1}\n[1,\n{\"id\": 2}\n").unwrap();
        let why = seen[1].1.as_ref().unwrap_err();
        assert!(why.ends_with("at the end of line 2"), "{why}");
    }

    /// The gold-standard records read back the same from every layout a PLOVER file comes
    /// in; and with one byte of an array lost or added, wherever it is, the reading neither
    /// fails nor loses more than the record it was in.
    #[test]
    fn every_layout_reads_the_same_and_one_lost_byte_costs_one_record() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/data/plover-gsr-cameo.json");
        let original = std::fs::read_to_string(&path).unwrap();
        let gold: Vec<Value> = serde_json::from_str(&original).unwrap();
        let compact: Vec<String> = gold.iter().map(Value::to_string).collect();
        let pretty: Vec<String> = gold
            .iter()
            .map(|r| serde_json::to_string_pretty(r).unwrap())
            .collect();
        let per_line = format!("[\n{}\n]\n", compact.join(",\n"));
        let layouts = [
            serde_json::to_string(&gold).unwrap(),
            serde_json::to_string_pretty(&gold).unwrap(),
            per_line.clone(),
            compact.join("\n"),
            pretty.join("\n"),
        ];
        for layout in &layouts {
            let seen = read(layout).unwrap();
            let records: Vec<Value> = seen.into_iter().map(|(_, r)| r.unwrap()).collect();
            assert_eq!(records, gold);
        }
        // One structural byte (a quote, bracket, comma or colon) lost, or a quote added, in
        // the gold file as it is, an array of a record per line, PostgreSQL's json_agg
        // layout and serde's pretty one: no fragment is read as a record, and at most one
        // record is lost or changed.
        let json_agg = format!("[{}]", compact.join(", \n "));
        let whole_records: std::collections::HashSet<&String> = compact.iter().collect();
        for layout in [&original, &per_line, &json_agg, &layouts[1]] {
            let structural: Vec<usize> = (1..layout.len() - 1)
                .filter(|&i| b"\"{}[],:".contains(&layout.as_bytes()[i]))
                .collect();
            let step = structural.len() / 40;
            let lost = structural.iter().step_by(step).map(|&at| (at, None));
            let added = (step / 2..layout.len() - 1)
                .step_by(layout.len() / 20)
                .filter(|&at| layout.is_char_boundary(at))
                .map(|at| (at, Some(b'"')));
            for (at, change) in lost.chain(added) {
                let mut broken = layout.clone().into_bytes();
                match change {
                    None => _ = broken.remove(at),
                    Some(byte) => broken.insert(at, byte),
                }
                let seen = read(&String::from_utf8_lossy(&broken)).unwrap();
                let numbers: Vec<usize> = seen.iter().map(|(n, _)| *n).collect();
                assert_eq!(numbers, (1..=seen.len()).collect::<Vec<_>>());
                let whole: Vec<&Value> = seen.iter().filter_map(|(_, r)| r.as_ref().ok()).collect();
                // A byte lost inside a string leaves a record whole but changed; a nested
                // object read as a record would have no id and event.
                let fragment = whole
                    .iter()
                    .find(|r| r.get("id").is_none() || r.get("event").is_none());
                assert!(
                    fragment.is_none(),
                    "byte {at} ({change:?}): {fragment:?} read as a record"
                );
                let intact = whole
                    .iter()
                    .filter(|r| whole_records.contains(&r.to_string()))
                    .count();
                assert!(
                    intact + 1 >= gold.len(),
                    "byte {at} ({change:?}): {intact} of {}",
                    gold.len()
                );
            }
        }
    }

    /// Objects one after another: a broken one is its own bad record, with its position in
    /// the file, and the reading goes on (NDJSON with a bad line, a truncated last line).
    #[test]
    fn a_broken_object_of_a_stream_is_one_bad_record() {
        let seen = read("\n\n{\"id\": \"a\"}\n{\"id\" \"b\"}\n{\"id\": \"c\"}").unwrap();
        assert_eq!(seen[0].1, Ok(json!({"id": "a"})));
        assert_eq!(
            seen[1],
            (
                2,
                Err("JSON syntax error: expected `:` at line 4 column 7".into())
            )
        );
        assert_eq!(seen[2], (3, Ok(json!({"id": "c"}))));

        // One per line (the first fits on its line): one never closed ends where the next
        // line starts an object, or at the file's end. Commas between objects are passed over.
        let text = "{\"id\": \"z\"},\n{\"id\": \"a\", \"x\": [1,\n{\"id\": \"b\"}\n{\"id\": \"c\", \"t\": \"tr";
        let seen = read(text).unwrap();
        let numbers: Vec<usize> = seen.iter().map(|(n, _)| *n).collect();
        assert_eq!(numbers, [1, 2, 3, 4]);
        assert_eq!(seen[0].1, Ok(json!({"id": "z"})));
        let why = seen[1].1.as_ref().unwrap_err();
        assert!(why.contains("not closed before line 3"), "{why}");
        assert_eq!(seen[2].1, Ok(json!({"id": "b"})));
        let why = seen[3].1.as_ref().unwrap_err();
        assert!(why.contains("the file ends inside it"), "{why}");

        // Pretty-printed without indentation (Python's indent=0, Go's MarshalIndent with
        // ""): a nested object's `{` starts a line, and the record is whole.
        let text = "{\n\"id\": \"a\",\n\"xs\": [\n{\n\"x\": 1\n}\n]\n}\n{\n\"id\": \"b\"\n}\n";
        let seen = read(text).unwrap();
        assert_eq!(seen.len(), 2, "{seen:?}");
        assert_eq!(seen[0].1, Ok(json!({"id": "a", "xs": [{"x": 1}]})));
        assert_eq!(seen[1].1, Ok(json!({"id": "b"})));

        // Brackets and braces inside strings, escaped quotes, pretty-printed objects.
        let text = "{\n  \"id\": \"a}]\\\"{\",\n  \"t\": {\"x\": [1, {}]}\n}\n{\"id\": \"b\"}";
        let seen = read(text).unwrap();
        assert_eq!(seen[0].1, Ok(json!({"id": "a}]\"{", "t": {"x": [1, {}]}})));
        assert_eq!(seen[1].1, Ok(json!({"id": "b"})));
        // A raw line break in a string breaks that record only.
        let seen = read("{\"id\": \"a\"} {\"id\" 1}").unwrap();
        let why = seen[1].1.as_ref().unwrap_err();
        assert!(why.ends_with("at line 1 column 19"), "{why}");
        let seen = read("{\"id\": \"a\nb\"}\n{\"id\": \"c\"}").unwrap();
        assert!(seen[0].1.is_err(), "{seen:?}");
        assert_eq!(seen.last().unwrap().1, Ok(json!({"id": "c"})));
    }

    /// A record over the bound is one rejected record, found to end by its scan alone, and
    /// the reading goes on (it stopped the import, whose job then said `read: 0`).
    #[test]
    fn a_record_over_the_line_limit_is_rejected_without_holding_it() {
        let big = format!("{{\"id\": \"{}\"}}", "x".repeat(MAX_IMPORT_LINE_BYTES));
        let pretty = format!(
            "{{\n  \"id\": \"{}\",\n  \"n\": [1]\n}}",
            "x".repeat(MAX_IMPORT_LINE_BYTES)
        );
        for input in [
            format!("[{{}}, {big}, {{}}]"),
            format!("{{}} {big} {{}}"),
            format!("{{}}\n{big}\n{{}}\n"),
            format!("[\n{{}},\n{pretty},\n{{}}\n]\n"),
        ] {
            let seen = read(&input).unwrap();
            let too_big =
                format!("longer than {MAX_IMPORT_LINE_BYTES} bytes, the most one record may take");
            assert_eq!(
                seen,
                vec![(1, Ok(json!({}))), (2, Err(too_big)), (3, Ok(json!({})))]
            );
        }
        // Space between records is not part of any: more than the limit of it is no error.
        let spaced = format!("{{}}{}\n{{}}", " ".repeat(MAX_IMPORT_LINE_BYTES + 8192));
        assert_eq!(read(&spaced).unwrap().len(), 2);
        // Records just under the limit, one after another, are read.
        let fits = format!("{{\"id\": \"{}\"}}", "x".repeat(MAX_IMPORT_LINE_BYTES - 20));
        let input = format!("[{fits}, {fits}, {fits}]");
        let mut count = 0;
        plover_records(input.as_bytes(), |_, r| {
            count += usize::from(r.is_ok());
            Ok(())
        })
        .unwrap();
        assert_eq!(count, 3);
    }

    #[test]
    fn the_callback_can_stop_the_reading() {
        for input in ["[{}, {}, {}]", "{} {} {}"] {
            let mut calls = 0;
            let result = plover_records(input.as_bytes(), |n, _| {
                calls += 1;
                if n == 2 {
                    Err("enough".to_string())
                } else {
                    Ok(())
                }
            });
            assert_eq!((result, calls), (Err("enough".to_string()), 2));
        }
    }
}
