//! Reporting every fault of a request body at once: the unreadable values found while
//! parsing (syntax: a malformed date, an unknown enum value, a missing field), and the rules
//! broken by the rest.
//!
//! The parser (`extract::parse_lenient`) records each unreadable value and puts a stand-in
//! in its place (an optional field is left out; a required one gets a value that breaks no
//! rule of its own, or an unknown code that only breaks its own field's), so that the rules
//! can still check everything else. `merge` then drops what the stand-ins could have caused:
//! errors on the faulty fields themselves, and on fields whose rules read them
//! (`READS`). The rules are written once, in the service; they know nothing of stand-ins.

use serde_json::Value;

use crate::error::FieldError;

/// Rules on the field on the left read the fields on the right: with one of those unreadable,
/// their verdict would be about a stand-in.
const READS: &[(&str, &[&str])] = &[
    (
        "status_history",
        &["status", "announced_on", "effective_from", "effective_to"],
    ),
    ("date_precision", &["announced_on"]),
    ("responds_to", &["announced_on"]),
    ("announced_on", &["responds_to"]),
    ("target", &["initiator"]),
    ("authority", &["initiator"]),
    ("effective_to", &["effective_from"]),
    ("code", &["kind"]),
    ("country", &["kind", "code"]),
    ("parent", &["code"]),
    ("kind", &["code"]),
    ("status_changed_on", &["status"]),
    ("source_dataset", &["external_id"]),
];

/// `field` is `prefix` or lies under it (`designations[0].actor` under `designations`).
fn under(field: &str, prefix: &str) -> bool {
    field == prefix
        || field
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
}

/// The top-level field a path starts with (`designations` of `designations[0].actor`).
fn top(field: &str) -> &str {
    field.split(['.', '[']).next().unwrap_or(field)
}

/// Whether a rule's verdict on `field` may be an artefact of the stand-ins for `faults`.
fn tainted(field: &str, faults: &[FieldError]) -> bool {
    faults.iter().any(|f| {
        under(field, &f.field)
            || under(&f.field, field)
            || READS
                .iter()
                .any(|(rule, reads)| top(field) == *rule && reads.contains(&top(&f.field)))
    })
}

/// The body's faults followed by the rule errors they cannot have caused.
pub fn merge(faults: &[FieldError], rules: Vec<FieldError>) -> Vec<FieldError> {
    let mut all = faults.to_vec();
    all.extend(rules.into_iter().filter(|e| !tainted(&e.field, faults)));
    all
}

/// A value for a required field that could not be read, by the field's name (or, for an
/// item of a list, the list's): one that breaks no rule but its own field's. None where no
/// stand-in fits, which ends the search for further faults.
pub fn stand_in(name: &str, path: &str) -> Option<Value> {
    let text = |s: &str| Some(Value::String(s.to_string()));
    match name {
        "status" => text("announced"),
        "kind" => text("organization"),
        "relation" => text("retaliates"),
        "scope" => text("read"),
        // The latest possible day: an action dated so answers everything before it.
        "announced_on" => text("9999-12-31"),
        "on" => text("0001-01-01"),
        "action" => text("00000000-0000-0000-0000-000000000000"),
        // Text and codes: a value unlike any real one (an unknown code, an invalid tag),
        // different for each place.
        "title" | "name" | "initiator" | "target" | "type" | "code" | "actor" | "url" | "tags"
        | "aliases" => text(&format!("\u{1}{path}")),
        _ => None,
    }
}
