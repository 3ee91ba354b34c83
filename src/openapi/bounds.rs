//! The limits of `crate::limits` stated on the request schemas (`maxLength`, `maxItems`,
//! `minimum`/`maximum`), so that clients generated from the document check them before
//! sending. The numbers are the constants the checks use; which field each bounds is said
//! here once, and `tests/api/hardening.rs` (`every_documented_bound_holds_at_its_edge`)
//! sends every bound at and past its edge, so a wrong entry fails there.

use serde_json::{json, Value};

use crate::limits::*;

#[derive(Clone, Copy)]
enum Bound {
    /// Characters of a string.
    Chars(usize),
    /// Entries of a list.
    Items(usize),
    /// Characters of each string of a list.
    ItemChars(usize),
    /// A number's range, inclusive.
    Range(f64, f64),
}

use Bound::*;

const ACTION: &[&str] = &["NewAction", "ActionPatch"];
const ACTOR: &[&str] = &["NewActor", "ActorPatch"];

const BOUNDS: &[(&[&str], &str, Bound)] = &[
    (ACTION, "title", Chars(MAX_TITLE_LEN)),
    (ACTION, "summary", Chars(MAX_TEXT_LEN)),
    (ACTION, "legal_basis", Chars(MAX_SHORT_TEXT_LEN)),
    (ACTION, "program", Chars(MAX_NAME_LEN)),
    (ACTION, "severity", Range(MIN_SEVERITY, MAX_SEVERITY)),
    (ACTION, "tags", Items(MAX_TAGS)),
    (ACTION, "tags", ItemChars(MAX_TAG_LEN)),
    (ACTION, "designations", Items(MAX_DESIGNATIONS)),
    (ACTION, "sources", Items(MAX_SOURCES)),
    (ACTION, "responds_to", Items(MAX_RESPONDS_TO)),
    (&["NewAction"], "status_history", Items(MAX_STATUS_HISTORY)),
    (&["NewAction"], "external_id", Chars(MAX_EXTERNAL_ID_LEN)),
    (
        &["NewAction"],
        "source_dataset",
        Chars(MAX_SOURCE_DATASET_LEN),
    ),
    (&["ActionPatch"], "status_note", Chars(MAX_SHORT_TEXT_LEN)),
    (&["SourceInput"], "publisher", Chars(MAX_NAME_LEN)),
    (&["SourceInput"], "quote", Chars(MAX_TEXT_LEN)),
    (&["StatusEntryInput"], "note", Chars(MAX_SHORT_TEXT_LEN)),
    (ACTOR, "code", Chars(MAX_CODE_LEN)),
    (ACTOR, "name", Chars(MAX_NAME_LEN)),
    (ACTOR, "description", Chars(MAX_TEXT_LEN)),
    (ACTOR, "aliases", Items(MAX_ALIASES)),
    (ACTOR, "aliases", ItemChars(MAX_NAME_LEN)),
    // Not on NewWebhook: schemathesis 4.32's coverage phase then takes a new subscription
    // without a description (valid, 201) for invalid data and fails the run (.ci/run). The
    // bound holds there all the same (service::webhooks).
    (&["WebhookPatch"], "description", Chars(MAX_SHORT_TEXT_LEN)),
    (&["NewApiKey"], "name", Chars(MAX_KEY_NAME_LEN)),
];

/// Writes every bound into `doc`'s component schemas.
///
/// # Panics
/// When a schema or property of the table is not in the document: a renamed field must take
/// its bound along.
pub fn state(doc: &mut Value) {
    for (schemas, property, bound) in BOUNDS {
        for schema in *schemas {
            let target = doc
                .pointer_mut(&format!(
                    "/components/schemas/{schema}/properties/{property}"
                ))
                .and_then(Value::as_object_mut)
                .unwrap_or_else(|| panic!("{schema}.{property} is not in the document"));
            let (key, value, target) = match *bound {
                Chars(n) => ("maxLength", json!(n), target),
                Items(n) => ("maxItems", json!(n), target),
                ItemChars(n) => {
                    let items = target
                        .get_mut("items")
                        .and_then(Value::as_object_mut)
                        .unwrap_or_else(|| panic!("{schema}.{property} is not a list"));
                    ("maxLength", json!(n), items)
                }
                Range(min, max) => {
                    target.insert("minimum".into(), json!(min));
                    ("maximum", json!(max), target)
                }
            };
            target.insert(key.into(), value);
        }
    }
}
