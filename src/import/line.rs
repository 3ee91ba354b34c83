//! One line of an NDJSON import: an actor (`{"actor": {...}}`) or an action, in the API's
//! `NewAction` shape or as a whole action document of `GET /v1/actions` or an export (actor
//! objects are read by their `code`, read-only fields are left out), so exports import as
//! they are.

use serde_json::{Map, Value};
use uuid::Uuid;

use crate::error::FieldError;
use crate::extract::lenient;
use crate::ids::parse_uuid;
use crate::input::{NewAction, NewActor};
use crate::limits::MAX_RESPONDS_TO;
use crate::models::enums::Relation;
use crate::service::actions::messages;
use crate::validation::merge;

/// Fields of an action document that the server sets: an import leaves them out.
const READ_ONLY: [&str; 5] = [
    "category",
    "created_at",
    "updated_at",
    "version",
    "deleted_at",
];

/// Fields of an actor's document (`GET /v1/actors/{actor}`, an export's actor line) that the
/// database sets: an actor line leaves them out, so that the document reads as its body. The
/// id is this database's own: a line names its actors by code.
const ACTOR_READ_ONLY: [&str; 4] = ["id", "created_at", "updated_at", "version"];

pub enum Parsed {
    Actor(Box<NewActor>),
    Action(Box<ActionLine>),
}

pub struct ActionLine {
    /// The action's id, when the line gives one: the import creates or updates that action.
    pub id: Option<Uuid>,
    /// The line is a deleted action's document (`deleted_at` set, as exports with
    /// `show_deleted=true` write them): it may stand for a stored deleted action, unchanged.
    pub deleted: bool,
    /// The line gives neither `external_id` nor `source_dataset`: a stored action it reaches
    /// by `id` keeps its own (`"external_id": null` removes them). Cleared, the next import
    /// of the file that gave them found no action under them and created a second one.
    pub keeps_key: bool,
    /// Values that could not be read (stand-ins took their place in `input`).
    pub faults: Vec<FieldError>,
    /// The API's static rules broken: the rules that need the stored actors and types add
    /// theirs, as the API's do, before the line is judged (`validation::merge` of both).
    pub broken: Vec<FieldError>,
    pub input: NewAction,
    pub refs: Vec<Ref>,
}

/// An earlier action a line answers, by id or by external id.
pub struct Ref {
    pub target: Target,
    pub relation: Relation,
}

#[derive(Clone, PartialEq, Eq, Hash)]
pub enum Target {
    Id(Uuid),
    /// An `external_id`, in the line's own dataset unless the reference names another
    /// (`Some("")`: no dataset, as `"source_dataset": null` says).
    External {
        id: String,
        dataset: Option<String>,
    },
}

/// Whether a line is an actor line: its first key is `actor`. Read without parsing, so that
/// the pass over a file that creates its actors costs little per action line.
pub fn is_actor_line(line: &[u8]) -> bool {
    let rest = trim_start(line);
    rest.first() == Some(&b'{') && trim_start(&rest[1..]).starts_with(b"\"actor\"")
}

fn trim_start(b: &[u8]) -> &[u8] {
    let n = b.iter().take_while(|c| c.is_ascii_whitespace()).count();
    &b[n..]
}

/// Reads one line; `Err` holds every fault found, named as the API names fields.
pub fn parse(line: &[u8]) -> Result<Parsed, Vec<FieldError>> {
    let value: Value = crate::json::from_slice(line)
        .map_err(|e| vec![FieldError::new("line", not_json(line, &e))])?;
    parse_value(value)
}

/// Why a line does not read as JSON. Placed by column: serde_json counts lines, and a line
/// read with its newline that ended early said "at line 2 column 0" (of a line 13). With a
/// hint when the file looks like another format, as a file of no good line most likely is.
fn not_json(line: &[u8], e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    if line.starts_with(&[0x1f, 0x8b]) {
        return "not valid JSON: the file is gzip-compressed; decompress it, or upload it with \
                `Content-Encoding: gzip`"
            .into();
    }
    let what = crate::extract::strip_position(&e.to_string());
    let mut message = match e.classify() {
        // Well-formed, but a key given twice (`json`).
        Category::Data => what,
        Category::Eof => format!("not valid JSON: {what} (the line ends before it does)"),
        _ => format!("not valid JSON: {what} at column {}", e.column()),
    };
    if !trim_start(line).starts_with(b"{") && line.contains(&b'\t') {
        message.push_str("; the line is tab-separated: is this a GDELT export (format `gdelt`)?");
    }
    message
}

/// Reads one line already parsed as JSON (as the foreign formats' mappers give them).
pub fn parse_value(value: Value) -> Result<Parsed, Vec<FieldError>> {
    let Value::Object(mut map) = value else {
        return Err(vec![FieldError::new(
            "line",
            "must be a JSON object: an action, or {\"actor\": {...}}",
        )]);
    };
    if let Some(actor) = map.remove("actor") {
        if let Some(extra) = map.keys().next() {
            return Err(vec![FieldError::new(
                extra.clone(),
                "an actor line holds only `actor`",
            )]);
        }
        let (actor, faults) =
            lenient::<NewActor>(actor_body(actor)?).map_err(|faults| in_actor(&faults))?;
        let mut own = actor.check();
        if actor.is_own_parent() {
            own.push(crate::input::own_parent());
        }
        let errors = merge(&faults, own);
        return if errors.is_empty() {
            Ok(Parsed::Actor(Box::new(actor)))
        } else {
            Err(in_actor(&errors))
        };
    }
    let mut errors = Vec::new();
    let id = match map.remove("id") {
        None | Some(Value::Null) => None,
        // The nil UUID marks the pending flush of the stored documents (migration 000019):
        // an action with it would never get a document, and every read would fail on it.
        Some(Value::String(s)) if parse_uuid(&s).is_some_and(|id| id.is_nil()) => {
            errors.push(FieldError::new(
                "id",
                "the nil UUID is reserved; give another id, or none to have one made",
            ));
            None
        }
        Some(Value::String(s)) if parse_uuid(&s).is_some() => parse_uuid(&s),
        Some(other) => {
            errors.push(FieldError::new(
                "id",
                format!("`{other}` is not a UUID in its hyphenated form"),
            ));
            None
        }
    };
    let refs = match map.remove("responds_to") {
        None | Some(Value::Null) => Vec::new(),
        Some(v) => read_refs(v, &mut errors),
    };
    let deleted = map.get("deleted_at").is_some_and(|v| !v.is_null());
    let keeps_key = !map.contains_key("external_id") && !map.contains_key("source_dataset");
    for key in READ_ONLY {
        map.remove(key);
    }
    for key in ["initiator", "target", "authority"] {
        by_code(map.get_mut(key));
    }
    if let Some(Value::Array(items)) = map.get_mut("designations") {
        for item in items {
            by_code(item.get_mut("actor"));
        }
    }
    let (input, faults) = lenient::<NewAction>(Value::Object(map)).map_err(|faults| {
        let mut faults: Vec<FieldError> = faults.into_iter().map(offer_id).collect();
        faults.extend(errors.iter().cloned());
        faults
    })?;
    errors.extend(faults.into_iter().map(offer_id));
    Ok(Parsed::Action(Box::new(ActionLine {
        id,
        deleted,
        keeps_key,
        broken: crate::service::actions::check_static(&input),
        input,
        refs,
        faults: errors,
    })))
}

/// serde offers the fields of the API's body for a key it does not know; a line takes an
/// `id` as well (read above, before serde sees the line).
fn offer_id(mut fault: FieldError) -> FieldError {
    if fault.message.starts_with("unknown field") && !fault.field.contains(['.', '[']) {
        fault.message.push_str(", `id`");
    }
    fault
}

/// An actor object sent as `{"code": ...}` (as documents embed actors) is read by its code.
fn by_code(value: Option<&mut Value>) {
    if let Some(v) = value {
        if let Some(code) = v.get("code").and_then(Value::as_str) {
            *v = Value::String(code.to_string());
        }
    }
}

/// An actor line's object, an actor's document read as its body; a deleted actor's document
/// is refused, as an import creates no deleted actors.
fn actor_body(actor: Value) -> Result<Value, Vec<FieldError>> {
    let Value::Object(mut map) = actor else {
        return Err(vec![FieldError::new("actor", "must be an actor object")]);
    };
    if map.get("deleted_at").is_some_and(|v| !v.is_null()) {
        return Err(vec![FieldError::new(
            "actor.deleted_at",
            "a deleted actor's document: an import creates no deleted actors; leave the \
             line out, or restore the actor where it came from",
        )]);
    }
    map.remove("deleted_at");
    for key in ACTOR_READ_ONLY {
        map.remove(key);
    }
    Ok(Value::Object(map))
}

fn in_actor(errors: &[FieldError]) -> Vec<FieldError> {
    errors
        .iter()
        .map(|e| FieldError::new(format!("actor.{}", e.field), e.message.clone()))
        .collect()
}

/// `responds_to`: `[{"action": <id or external id>, "relation": ..., "source_dataset"?: ...}]`;
/// other keys of a document's links are ignored.
fn read_refs(value: Value, errors: &mut Vec<FieldError>) -> Vec<Ref> {
    let Value::Array(items) = value else {
        errors.push(FieldError::new("responds_to", "must be a list"));
        return Vec::new();
    };
    if items.len() > MAX_RESPONDS_TO {
        errors.push(FieldError::new(
            "responds_to",
            format!("at most {MAX_RESPONDS_TO} entries ({} given)", items.len()),
        ));
        return Vec::new();
    }
    let mut refs = Vec::with_capacity(items.len());
    let mut seen = std::collections::HashSet::new();
    for (i, item) in items.into_iter().enumerate() {
        let field = |name: &str| format!("responds_to[{i}].{name}");
        let Value::Object(mut item) = item else {
            errors.push(FieldError::new(
                format!("responds_to[{i}]"),
                "must be an object with `action` and `relation`",
            ));
            continue;
        };
        // Absent: the line's own dataset; null: none (an action stored without one), which
        // the resolver's `coalesce(dataset, '')` reads as the empty name.
        let dataset = match item.remove("source_dataset") {
            None => None,
            Some(Value::Null) => Some(String::new()),
            Some(Value::String(s)) => Some(s),
            Some(_) => {
                errors.push(FieldError::new(field("source_dataset"), "must be a string"));
                None
            }
        };
        let target = match item.remove("action") {
            Some(Value::String(s)) if dataset.is_none() && parse_uuid(&s).is_some() => {
                parse_uuid(&s).map(Target::Id)
            }
            Some(Value::String(s)) if !s.is_empty() => Some(Target::External { id: s, dataset }),
            Some(_) => {
                errors.push(FieldError::new(
                    field("action"),
                    "must be an action's id or external_id",
                ));
                None
            }
            None => {
                errors.push(FieldError::new(field("action"), "missing field `action`"));
                None
            }
        };
        let relation = relation(&mut item, &field("relation"), errors);
        if let (Some(target), Some(relation)) = (target, relation) {
            if !seen.insert(target.clone()) {
                let named = match &target {
                    Target::Id(id) => id.to_string(),
                    Target::External { id, .. } => format!("`{id}`"),
                };
                errors.push(FieldError::new(
                    field("action"),
                    messages::listed_twice(named),
                ));
            } else {
                refs.push(Ref { target, relation });
            }
        }
    }
    refs
}

fn relation(
    item: &mut Map<String, Value>,
    field: &str,
    errors: &mut Vec<FieldError>,
) -> Option<Relation> {
    match item.remove("relation") {
        Some(Value::String(s)) => match s.parse::<Relation>() {
            Ok(r) => Some(r),
            Err(_) => {
                errors.push(FieldError::new(
                    field,
                    format!(
                        "unknown relation `{s}`; one of {}",
                        Relation::ALL
                            .iter()
                            .map(|r| r.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
                None
            }
        },
        _ => {
            errors.push(FieldError::new(field, "missing field `relation`"));
            None
        }
    }
}
