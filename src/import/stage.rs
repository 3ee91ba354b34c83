//! Reading the file: the actor pass, and the action pass that checks every line and COPYs
//! it into the staging table `import_lines`.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{BufRead, BufReader, Cursor, Read};
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use futures_util::SinkExt;
use serde_json::Value;
use tokio_postgres::Client;
use uuid::Uuid;

use super::crosswalk::{Mapped, TypeMap};
use super::line::{self, Parsed, Target};
use super::{db_err, Format, ImportError, Progress, Rejection};
use crate::error::FieldError;
use crate::input::{FuzzyDate, NewActor};
use crate::limits::MAX_IMPORT_LINE_BYTES;
use crate::models::actor::ActorRefRow;
use crate::models::enums::{ActorKind, DatePrecision};
use crate::pgcopy::{Encoder, DATE_OID, TEXT_ARRAY_OID, UUID_OID};
use crate::service::actions::{
    action_write, check_references, initial_history, resolved_precision,
};
use crate::taxonomy::ActionTypes;

/// Every line read, good or rejected; dropped at commit.
pub const STAGING: &str = "\
CREATE TEMP TABLE import_lines (
    line bigint PRIMARY KEY,
    given_id uuid, id uuid, external_id text, source_dataset text,
    title text, summary text, initiator_id uuid, initiator_kind text, target_id uuid,
    target_kind text, authority_id uuid, type_code text, status text, announced_on date,
    date_precision text, latest_on date, effective_from date, effective_to date,
    legal_basis text, program text, severity float8, tags text[], designated_names text,
    d_actor uuid[], d_listed date[],
    s_url text[], s_publisher text[], s_published date[], s_quote text[],
    r_id uuid[], r_external text[], r_dataset text[], r_relation text[],
    h_status text[], h_on date[], h_source text[], h_note text[],
    keeps_key boolean, deleted boolean,
    errors jsonb,
    -- set by resolve: new, update, same, rejected
    fate text,
    stored boolean NOT NULL DEFAULT false
) ON COMMIT DROP";

const COLUMNS: i16 = 41;
const COLUMN_LIST: &str = "line, given_id, id, external_id, source_dataset, title, summary, \
    initiator_id, initiator_kind, target_id, target_kind, authority_id, type_code, status, \
    announced_on, date_precision, latest_on, effective_from, effective_to, legal_basis, \
    program, severity, tags, designated_names, d_actor, d_listed, s_url, s_publisher, \
    s_published, s_quote, r_id, r_external, r_dataset, r_relation, h_status, h_on, h_source, \
    h_note, keeps_key, deleted, errors";

/// Buffers of about this size cross from the reading thread to the connection.
const CHUNK: usize = 256 * 1024;

/// One record of the file as the reader found it.
enum Item<'a> {
    Line(&'a [u8]),
    Json(Result<Value, String>),
    TooLong,
}

/// Calls `each` with every record of the file (blank lines skipped) and its line (or, for
/// PLOVER, record) number.
fn for_each_record(
    format: Format,
    path: &Path,
    progress: Option<&Progress>,
    mut each: impl FnMut(u64, Item) -> Result<(), ImportError>,
) -> Result<(), ImportError> {
    let file = File::open(path)
        .map_err(|e| ImportError::new(format!("cannot open {}: {e}", path.display())))?;
    let counted = Counted {
        inner: file,
        progress,
    };
    let mut reader = BufReader::with_capacity(1 << 20, counted);
    // A byte-order mark, as some editors on Windows write it, is not part of the first line.
    let bom = reader
        .fill_buf()
        .map_err(|e| ImportError::new(format!("cannot read {}: {e}", path.display())))?
        .starts_with(b"\xEF\xBB\xBF");
    if bom {
        reader.consume(3);
    }
    // A zip archive whose entry is stored uncompressed holds the rows themselves after its
    // header: read as lines, all but the first would be imported. Refused whole, whatever
    // the format (GDELT publishes its exports zipped).
    let zipped = reader
        .fill_buf()
        .map_err(|e| ImportError::new(format!("cannot read {}: {e}", path.display())))?
        .starts_with(b"PK\x03\x04");
    if zipped {
        return Err(ImportError::new(
            "the file is a zip archive (GDELT's exports are published as .CSV.zip): unzip it \
             and import the file inside; nothing was stored",
        ));
    }
    if format == Format::Plover {
        let mut failure = None;
        let result = super::plover::plover_records(reader, |n, record| {
            if let Some(p) = progress {
                p.lines.fetch_add(1, Ordering::Relaxed);
            }
            each(n as u64, Item::Json(record)).map_err(|e| {
                failure = Some(e);
                "stopped".to_string()
            })
        });
        if let Some(e) = failure {
            return Err(e);
        }
        return result.map_err(|e| ImportError::new(format!("cannot read the PLOVER file: {e}")));
    }
    let mut buf = Vec::new();
    let mut number = 0u64;
    loop {
        buf.clear();
        number += 1;
        let (n, too_long) = read_line(&mut reader, &mut buf)
            .map_err(|e| ImportError::new(format!("cannot read {}: {e}", path.display())))?;
        if n == 0 {
            return Ok(());
        }
        if buf.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        if let Some(p) = progress {
            p.lines.fetch_add(1, Ordering::Relaxed);
        }
        if too_long {
            each(number, Item::TooLong)?;
        } else {
            each(number, Item::Line(&buf))?;
        }
    }
}

/// Reads a line into `buf`, keeping at most `MAX_IMPORT_LINE_BYTES` of it besides its `\n` or
/// `\r\n`; returns the bytes consumed and whether the line was longer.
fn read_line(reader: &mut impl BufRead, buf: &mut Vec<u8>) -> std::io::Result<(usize, bool)> {
    // The line and its terminator, which does not count.
    const ROOM: usize = MAX_IMPORT_LINE_BYTES + 2;
    let mut consumed = 0;
    let mut too_long = false;
    loop {
        let available = reader.fill_buf()?;
        let (chunk, done) = match available.iter().position(|b| *b == b'\n') {
            Some(i) => (&available[..=i], true),
            None => (available, available.is_empty()),
        };
        let len = chunk.len();
        if buf.len() + len > ROOM {
            too_long = true;
        } else {
            buf.extend_from_slice(chunk);
        }
        reader.consume(len);
        consumed += len;
        if done {
            let text = buf.strip_suffix(b"\n").unwrap_or(buf);
            let text = text.strip_suffix(b"\r").unwrap_or(text);
            return Ok((consumed, too_long || text.len() > MAX_IMPORT_LINE_BYTES));
        }
    }
}

struct Counted<'p, R> {
    inner: R,
    progress: Option<&'p Progress>,
}

impl<R: Read> Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(p) = self.progress {
            p.bytes.fetch_add(n as u64, Ordering::Relaxed);
        }
        Ok(n)
    }
}

fn too_long() -> Vec<FieldError> {
    vec![FieldError::new(
        "line",
        format!("longer than {MAX_IMPORT_LINE_BYTES} bytes"),
    )]
}

fn type_map(types: &ActionTypes) -> TypeMap {
    let pairs: Vec<(&str, &str)> = types
        .all()
        .iter()
        .map(|t| (t.code.as_str(), t.cameo_code.as_str()))
        .collect();
    TypeMap::new(&pairs)
}

/// The first pass: creates the actors the file brings that are not stored yet (actor lines
/// of NDJSON; the states that foreign records name), in file order, so a `country` or
/// `parent` must come before the actors that name it. Returns how many were created.
pub async fn actor_pass(
    client: &Client,
    format: Format,
    path: &Path,
    types: &ActionTypes,
    actors: &mut HashMap<String, ActorRefRow>,
    rejected: &mut Vec<Rejection>,
) -> Result<Vec<Uuid>, ImportError> {
    let path = path.to_path_buf();
    let types = type_map(types);
    // Actor lines are few next to action lines; they are kept until created.
    let found = tokio::task::spawn_blocking(move || {
        let mut found: Vec<(u64, Result<NewActor, Refused>)> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for_each_record(format, &path, None, |n, item| {
            let mut mapped_actor = |value: Value| {
                let code = value["actor"]["code"].as_str().unwrap_or("").to_string();
                if seen.insert(code) {
                    if let Ok(Parsed::Actor(a)) = line::parse_value(value) {
                        found.push((n, Ok(*a)));
                    }
                }
            };
            match (format, item) {
                (Format::Ndjson, Item::Line(l)) if line::is_actor_line(l) => {
                    found.push((
                        n,
                        match line::parse(l) {
                            Ok(Parsed::Actor(a)) => Ok(*a),
                            Ok(Parsed::Action(_)) => unreachable!("an actor line"),
                            Err(errors) => Err(Refused::of(l, errors)),
                        },
                    ));
                }
                (Format::Plover, Item::Json(Ok(record))) => {
                    if let Mapped::Lines(lines) = super::plover::plover(&record, &types) {
                        lines
                            .into_iter()
                            .filter(|l| l.get("actor").is_some())
                            .for_each(&mut mapped_actor);
                    }
                }
                (Format::Gdelt, Item::Line(l)) => {
                    let text = String::from_utf8_lossy(l);
                    if let Mapped::Lines(lines) = super::gdelt::gdelt(&text, &types) {
                        lines
                            .into_iter()
                            .filter(|l| l.get("actor").is_some())
                            .for_each(&mut mapped_actor);
                    }
                }
                _ => {}
            }
            Ok(())
        })?;
        Ok::<_, ImportError>(found)
    })
    .await
    .map_err(|e| ImportError::new(format!("the actor pass failed: {e}")))??;

    let mut created = Vec::new();
    for (n, actor) in found {
        let actor = match actor {
            Ok(a) => a,
            Err(refused) => {
                let errors = refused.explained(actors);
                rejected.push(Rejection { line: n, errors });
                continue;
            }
        };
        match create_actor(client, &actor, actors).await? {
            Ok(true) => created.push(actors[&actor.code].id),
            Ok(false) => {}
            Err(errors) => rejected.push(Rejection { line: n, errors }),
        }
    }
    Ok(created)
}

/// An actor line that does not read as an actor, with the code and kind it gives.
struct Refused {
    code: Option<String>,
    kind: Option<String>,
    errors: Vec<FieldError>,
}

impl Refused {
    fn of(line: &[u8], errors: Vec<FieldError>) -> Self {
        let value: Option<Value> = crate::json::from_slice(line).ok();
        let text = |field: &str| {
            let v = value.as_ref()?.get("actor")?.get(field)?;
            v.as_str().map(String::from)
        };
        Refused {
            code: text("code"),
            kind: text("kind"),
            errors,
        }
    }

    /// The faults; for a stored actor given as another kind, that alone: the code-format
    /// rules of the kind given ("USA" is no person's code) miss the point.
    fn explained(self, actors: &HashMap<String, ActorRefRow>) -> Vec<FieldError> {
        match (&self.code, &self.kind) {
            (Some(code), Some(kind)) => match actors.get(code) {
                Some(stored) if stored.kind != *kind => stored_as(code, &stored.kind),
                _ => self.errors,
            },
            _ => self.errors,
        }
    }
}

/// A line giving a stored actor another kind.
fn stored_as(code: &str, kind: &str) -> Vec<FieldError> {
    vec![FieldError::new(
        "actor.kind",
        format!("actor `{code}` is stored as a {kind}"),
    )]
}

/// Creates an actor unless one with its code is stored: Ok(true) when created, Ok(false)
/// when already there (of the same kind), Err with the faults otherwise.
async fn create_actor(
    client: &Client,
    actor: &NewActor,
    actors: &mut HashMap<String, ActorRefRow>,
) -> Result<Result<bool, Vec<FieldError>>, ImportError> {
    let field = |f: &str, m: String| Err(vec![FieldError::new(format!("actor.{f}"), m)]);
    if let Some(stored) = actors.get(&actor.code) {
        return Ok(if stored.kind == actor.kind.as_str() {
            Ok(false)
        } else {
            Err(stored_as(&actor.code, &stored.kind))
        });
    }
    if let Some(country) = &actor.country {
        match actors.get(country) {
            Some(c) if c.kind == ActorKind::State.as_str() => {}
            Some(c) => {
                return Ok(field(
                    "country",
                    format!("`{country}` is a {}, not a state", c.kind),
                ))
            }
            None => {
                return Ok(field(
                    "country",
                    format!("unknown state `{country}`; give its actor line first"),
                ))
            }
        }
    }
    let parent_id = match &actor.parent {
        None => None,
        Some(p) => match actors.get(p) {
            Some(a) => Some(a.id),
            None => {
                return Ok(field(
                    "parent",
                    format!("unknown actor `{p}`; give its actor line first"),
                ))
            }
        },
    };
    let id = Uuid::now_v7();
    let aliases: Vec<&str> = actor.aliases.iter().map(String::as_str).collect();
    let inserted = client
        .query_opt(
            "INSERT INTO actors (id, code, name, kind, country, parent_id, aliases, wikidata_id, \
             description) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT DO NOTHING RETURNING id",
            &[
                &id,
                &actor.code,
                &actor.name,
                &actor.kind.as_str(),
                &actor.country,
                &parent_id,
                &aliases,
                &actor.wikidata_id,
                &actor.description,
            ],
        )
        .await
        .map_err(db_err("cannot create an actor"))?;
    if inserted.is_none() {
        return Ok(field(
            "code",
            format!(
                "actor `{}` conflicts with a stored one: deleted (restore it), the same code in \
                 another case, or the same wikidata_id",
                actor.code
            ),
        ));
    }
    actors.insert(
        actor.code.clone(),
        ActorRefRow {
            id,
            code: actor.code.clone(),
            name: actor.name.clone(),
            kind: actor.kind.as_str().to_string(),
        },
    );
    Ok(Ok(true))
}

pub struct Counts {
    pub read: u64,
    pub skipped: BTreeMap<String, u64>,
    pub skipped_first: BTreeMap<String, String>,
}

impl Counts {
    /// Counts a skipped record under its reason, keeping why the first of each was skipped
    /// (at most 500 characters of it, made `storable`: the text quotes
    /// the record).
    fn skip(&mut self, reason: &str, first: impl FnOnce() -> String) {
        *self.skipped.entry(reason.to_string()).or_default() += 1;
        self.skipped_first
            .entry(reason.to_string())
            .or_insert_with(|| super::storable(&first().chars().take(500).collect::<String>()));
    }
}

/// The second pass: every action line, checked on a thread of its own and COPYed into
/// `import_lines` (good lines with their resolved actors, rejected ones with their errors).
pub async fn action_pass(
    client: &Client,
    format: Format,
    path: &Path,
    actors: Arc<HashMap<String, ActorRefRow>>,
    types: Arc<ActionTypes>,
    progress: Arc<Progress>,
) -> Result<Counts, ImportError> {
    client
        .batch_execute(STAGING)
        .await
        .map_err(db_err("cannot create the staging table"))?;
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<u8>>(4);
    let path = path.to_path_buf();
    let reader = std::thread::spawn(move || -> Result<Counts, ImportError> {
        let map = type_map(&types);
        let mut enc = Encoder::new(CHUNK + 64 * 1024);
        enc.header();
        let mut counts = Counts {
            read: 0,
            skipped: BTreeMap::new(),
            skipped_first: BTreeMap::new(),
        };
        let send = |enc: &mut Encoder| {
            let full = std::mem::replace(&mut enc.buf, Vec::with_capacity(CHUNK + 64 * 1024));
            tx.blocking_send(full)
                .map_err(|_| ImportError::new("the database connection stopped taking rows"))
        };
        for_each_record(format, &path, Some(&progress), |n, item| {
            let parsed = match (format, item) {
                (_, Item::TooLong) => Some(Err(too_long())),
                (Format::Ndjson, Item::Line(l)) if line::is_actor_line(l) => None,
                (Format::Ndjson, Item::Line(l)) => Some(line::parse(l)),
                (Format::Plover, Item::Json(Err(e))) => {
                    Some(Err(vec![FieldError::new("record", e)]))
                }
                (Format::Plover, Item::Json(Ok(record))) => mapped(
                    super::plover::plover(&record, &map),
                    ("record", n),
                    &mut counts,
                ),
                (Format::Gdelt, Item::Line(l)) => {
                    let text = String::from_utf8_lossy(l);
                    mapped(super::gdelt::gdelt(&text, &map), ("line", n), &mut counts)
                }
                _ => None,
            };
            counts.read += 1;
            match parsed {
                None => {}
                Some(Ok(Parsed::Action(a))) => encode_action(&mut enc, n, *a, &actors, &types),
                // An actor line the actor pass did not see (its key written with escapes):
                // its actor was not created, and saying nothing would lose it.
                Some(Ok(Parsed::Actor(_))) => encode_rejected(
                    &mut enc,
                    n,
                    &[FieldError::new(
                        "actor",
                        "an actor line must begin with `{\"actor\"` written as it is (no \
                         escapes in the key)",
                    )],
                ),
                Some(Err(errors)) => encode_rejected(&mut enc, n, &errors),
            }
            if enc.buf.len() >= CHUNK {
                send(&mut enc)?;
            }
            Ok(())
        })?;
        enc.trailer();
        send(&mut enc)?;
        Ok(counts)
    });

    let sink = client
        .copy_in::<_, Cursor<Vec<u8>>>(&format!(
            "COPY import_lines ({COLUMN_LIST}) FROM STDIN (FORMAT binary)"
        ))
        .await
        .map_err(db_err("cannot start staging the lines"))?;
    futures_util::pin_mut!(sink);
    let mut sent = Ok(());
    while let Some(chunk) = rx.recv().await {
        if let Err(e) = sink.send(Cursor::new(chunk)).await {
            sent = Err(db_err("staging the lines failed")(e));
            break;
        }
    }
    drop(rx);
    let counts = reader
        .join()
        .map_err(|_| ImportError::new("the reading thread panicked"))?;
    // A failed COPY stops the reader too; the database's reason is the one to report.
    sent?;
    let counts = counts?;
    sink.finish()
        .await
        .map_err(db_err("staging the lines failed"))?;
    Ok(counts)
}

/// The action line of a mapped foreign record; None (counted) when it was skipped.
fn mapped(
    m: Mapped,
    (unit, n): (&str, u64),
    counts: &mut Counts,
) -> Option<Result<Parsed, Vec<FieldError>>> {
    match m {
        Mapped::Skipped { reason, detail } => {
            counts.skip(reason, || format!("{unit} {n}: {detail}"));
            None
        }
        Mapped::Lines(lines) => lines
            .into_iter()
            .find(|l| l.get("actor").is_none())
            .map(line::parse_value),
    }
}

fn encode_rejected(enc: &mut Encoder, n: u64, errors: &[FieldError]) {
    encode_rejected_as(enc, n, errors, None);
}

/// A rejected line with the id, external id and dataset it gives, where readable: a line
/// answering it is then told that the line it answers was rejected, not that no such
/// action exists.
fn encode_rejected_as(
    enc: &mut Encoder,
    n: u64,
    errors: &[FieldError],
    who: Option<&line::ActionLine>,
) {
    // PostgreSQL text holds no NUL: such a value names nothing (and is a fault already).
    let text = |t: &Option<String>| t.clone().filter(|t| !t.contains('\0'));
    enc.row(COLUMNS);
    enc.i64(n as i64);
    enc.opt_uuid(who.and_then(|a| a.id));
    enc.null();
    enc.opt_text(who.and_then(|a| text(&a.input.external_id)).as_deref());
    enc.opt_text(who.and_then(|a| text(&a.input.source_dataset)).as_deref());
    for _ in 5..COLUMNS - 1 {
        enc.null();
    }
    enc.jsonb(&super::errors_json(errors));
}

fn encode_action(
    enc: &mut Encoder,
    n: u64,
    mut a: line::ActionLine,
    actors: &HashMap<String, ActorRefRow>,
    types: &ActionTypes,
) {
    let input = &a.input;
    let mut broken = std::mem::take(&mut a.broken);
    // Whether the authority acts for the initiator is checked in SQL over all lines at once
    // (`actor_acts_for`), since it walks the parent chains.
    check_references(types, input, actors, true, &mut broken);
    let errors = crate::validation::merge(&a.faults, broken);
    if !errors.is_empty() {
        return encode_rejected_as(enc, n, &errors, Some(&a));
    }
    let precision = resolved_precision(input).unwrap_or(DatePrecision::Day);
    let write = action_write(types, input, actors, precision);
    let history = initial_history(input, &write);
    enc.row(COLUMNS);
    enc.i64(n as i64);
    enc.opt_uuid(a.id);
    enc.uuid(a.id.unwrap_or_else(Uuid::now_v7));
    enc.opt_text(write.external_id.as_deref());
    enc.opt_text(write.source_dataset.as_deref());
    enc.text(&write.title);
    enc.opt_text(write.summary.as_deref());
    enc.uuid(write.initiator_id);
    enc.text(&write.initiator_kind);
    enc.uuid(write.target_id);
    enc.text(&write.target_kind);
    enc.opt_uuid(write.authority_id);
    enc.text(&write.type_code);
    enc.text(&write.status);
    enc.day(write.announced_on);
    enc.text(&write.date_precision);
    enc.day(FuzzyDate::latest(write.announced_on, precision));
    enc.opt_day(write.effective_from);
    enc.opt_day(write.effective_to);
    enc.opt_text(write.legal_basis.as_deref());
    enc.opt_text(write.program.as_deref());
    enc.f64(write.severity);
    let tags: Vec<&str> = write.tags.iter().map(String::as_str).collect();
    enc.text_array(&tags);
    enc.text(&write.designated_names);

    let ds = &input.designations;
    let ids: Vec<[u8; 16]> = ds.iter().map(|d| *actors[&d.actor].id.as_bytes()).collect();
    enc.array(UUID_OID, ids.iter().map(|b| Some(&b[..])));
    let days: Vec<Option<[u8; 4]>> = ds
        .iter()
        .map(|d| {
            d.listed_on
                .map(|x| crate::pgcopy::pg_day(x.0).to_be_bytes())
        })
        .collect();
    enc.array(DATE_OID, days.iter().map(|d| d.as_ref().map(|b| &b[..])));

    let ss = &input.sources;
    enc.array(TEXT_ARRAY_OID, ss.iter().map(|s| Some(s.url.as_bytes())));
    enc.array(
        TEXT_ARRAY_OID,
        ss.iter().map(|s| s.publisher.as_deref().map(str::as_bytes)),
    );
    let days: Vec<Option<[u8; 4]>> = ss
        .iter()
        .map(|s| {
            s.published_on
                .map(|x| crate::pgcopy::pg_day(x.0).to_be_bytes())
        })
        .collect();
    enc.array(DATE_OID, days.iter().map(|d| d.as_ref().map(|b| &b[..])));
    enc.array(
        TEXT_ARRAY_OID,
        ss.iter().map(|s| s.quote.as_deref().map(str::as_bytes)),
    );

    let ids: Vec<Option<[u8; 16]>> = a
        .refs
        .iter()
        .map(|r| match &r.target {
            Target::Id(id) => Some(*id.as_bytes()),
            Target::External { .. } => None,
        })
        .collect();
    enc.array(UUID_OID, ids.iter().map(|b| b.as_ref().map(|b| &b[..])));
    enc.array(
        TEXT_ARRAY_OID,
        a.refs.iter().map(|r| match &r.target {
            Target::External { id, .. } => Some(id.as_bytes()),
            Target::Id(_) => None,
        }),
    );
    enc.array(
        TEXT_ARRAY_OID,
        a.refs.iter().map(|r| match &r.target {
            Target::External { dataset, .. } => dataset.as_deref().map(str::as_bytes),
            Target::Id(_) => None,
        }),
    );
    enc.array(
        TEXT_ARRAY_OID,
        a.refs.iter().map(|r| Some(r.relation.as_str().as_bytes())),
    );

    enc.array(
        TEXT_ARRAY_OID,
        history.iter().map(|h| Some(h.status.as_str().as_bytes())),
    );
    let days: Vec<[u8; 4]> = history
        .iter()
        .map(|h| crate::pgcopy::pg_day(h.on.0).to_be_bytes())
        .collect();
    enc.array(DATE_OID, days.iter().map(|d| Some(&d[..])));
    enc.array(
        TEXT_ARRAY_OID,
        history
            .iter()
            .map(|h| h.source_url.as_deref().map(str::as_bytes)),
    );
    enc.array(
        TEXT_ARRAY_OID,
        history.iter().map(|h| h.note.as_deref().map(str::as_bytes)),
    );
    enc.bool(a.keeps_key);
    enc.bool(a.deleted);
    enc.null();
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A line of exactly the limit is read, whatever ends it; one byte more is too long.
    #[test]
    fn the_line_limit_counts_the_line_not_its_terminator() {
        let max = MAX_IMPORT_LINE_BYTES;
        for (text, end, too_long) in [
            (max, "\n", false),
            (max, "\r\n", false),
            (max, "", false),
            (max + 1, "\n", true),
            (max + 1, "\r\n", true),
            (max + 1, "", true),
        ] {
            let mut file = vec![b'x'; text];
            file.extend_from_slice(end.as_bytes());
            if !end.is_empty() {
                file.extend_from_slice(b"next\n");
            }
            // A small buffer, so that lines arrive in many pieces.
            let mut reader = std::io::BufReader::with_capacity(4096, &file[..]);
            let mut buf = Vec::new();
            let (n, long) = read_line(&mut reader, &mut buf).unwrap();
            assert_eq!(long, too_long, "{text} bytes + {end:?}");
            if end.is_empty() {
                continue;
            }
            assert_eq!(n, text + end.len());
            buf.clear();
            assert_eq!(read_line(&mut reader, &mut buf).unwrap(), (5, false));
            assert_eq!(buf, b"next\n");
        }
    }
}
