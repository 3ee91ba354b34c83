//! Bulk import: `riposte import` and `POST /v1/imports`.
//!
//! One import is one transaction on a connection of its own (diesel has no COPY, and the
//! pool's statement timeout is for requests):
//! 1. the actor pass reads the file for actor lines (and, for foreign formats, the states
//!    their records name) and creates the actors missing;
//! 2. the action pass parses and checks every action line on a thread of its own, with the
//!    rules of the API (`service::actions::check_static`, `check_references`), and COPYs
//!    each, good or rejected, into one staging table (`stage`);
//! 3. `resolve` settles in SQL what needs every line at once: ids and external ids, which
//!    lines update stored actions, the answers' targets, the graph rules; lines at fault
//!    are rejected;
//! 4. unless a line was rejected and the import is all-or-nothing, `resolve::write` stores
//!    the new and changed actions with set-based INSERTs, and the job's counts and rejected
//!    lines are written in the same transaction.
//!
//! Memory stays flat: lines are read one at a time and leave as COPY buffers; what stays per
//! line is a few bytes for the cycle check (`graph`).

pub mod crosswalk;
pub mod gdelt;
mod graph;
pub mod line;
pub mod plover;
mod resolve;
mod stage;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio_postgres::{Client, NoTls};
use uuid::Uuid;

use crate::models::import::ImportOrigin;

use crate::error::FieldError;
use crate::models::actor::ActorRefRow;
use crate::taxonomy::ActionTypes;

crate::models::enums::text_enum! {
    /// The formats an import reads.
    Format {
        /// One JSON object per line: actions in the API's `NewAction` shape (or whole action
        /// documents, as exports write them), and actors as `{"actor": {...}}`.
        Ndjson => "ndjson",
        /// PLOVER / POLECAT event records: a JSON array, or one object per line.
        Plover => "plover",
        /// GDELT 2.0 event export rows: 61 tab-separated columns, no header.
        Gdelt => "gdelt",
    }
}

impl Format {
    /// What a rejected line's number counts: a PLOVER file's records (which span lines, or
    /// share one), else its lines.
    pub fn unit(self) -> &'static str {
        match self {
            Format::Plover => "record",
            Format::Ndjson | Format::Gdelt => "line",
        }
    }
}

/// What to import and how.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: Uuid,
    pub format: Format,
    /// Store the good lines and report the bad ones; otherwise nothing is stored when a line
    /// is rejected.
    pub partial: bool,
    pub origin: ImportOrigin,
    pub file_name: Option<String>,
    pub api_key_id: Option<Uuid>,
    /// The request that queued it, for the audit log.
    pub request_id: Option<String>,
}

/// What an import did.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Report {
    /// Lines (or records) read, blank lines aside.
    pub read: u64,
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub rejected: u64,
    pub actors_created: u64,
    /// Records of a foreign format that cannot become actions, by reason.
    pub skipped: BTreeMap<String, u64>,
    /// For each reason of `skipped`, why its first record was skipped (`record 7: ...`).
    pub skipped_first: BTreeMap<String, String>,
    /// Whether anything was stored (false when an all-or-nothing import had rejections).
    pub stored: bool,
    /// The first rejected lines with their messages (at most `MAX_REPORTED_REJECTIONS`).
    pub rejections: Vec<Rejection>,
}

/// Reasons to skip a record that say it does not read as the format at all.
const FORMAT_FAULTS: &[&str] = &[
    "malformed_line",
    "not_an_event",
    "not_an_object",
    "no_id",
    "document_record",
    "bad_date",
];

impl Report {
    /// Why an import stored nothing, if it did not, though it ran to its end: the file held
    /// no lines, every record was skipped (most likely the wrong format), or with `partial`
    /// no line was good. Such a job failed, for the API as for the CLI. (Without `partial`,
    /// a rejected line stops everything: `finish` says so.)
    pub fn nothing_to_store(&self, format: Format) -> Option<String> {
        let skipped: u64 = self.skipped.values().sum();
        let actions = self.created + self.updated + self.unchanged;
        if self.read == 0 && skipped == 0 {
            Some("the file holds no lines: nothing was stored".into())
        } else if self.rejected == 0 && actions == 0 && self.actors_created == 0 && skipped > 0 {
            // The commonest reason, with its first record.
            let (reason, most) = self.skipped.iter().max_by_key(|(_, n)| **n)?;
            let first = self.skipped_first.get(reason).map_or("", String::as_str);
            let tied = self.skipped.values().filter(|n| *n == most).count() > 1;
            let lead = if tied { "as" } else { "most as" };
            // Records that do not read as the format's suggest another; records of it that
            // are no state-to-state action of a mapped type (a filtered feed) do not.
            let why = if FORMAT_FAULTS.contains(&reason.as_str()) {
                format!(" Is this file in the `{}` format?", format.as_str())
            } else {
                " None is an action between two states of an event type riposte maps.".into()
            };
            Some(format!(
                "nothing was stored: all {skipped} record(s) were skipped, {lead} {reason} \
                 ({first}).{why}"
            ))
        } else if self.stored
            && self.rejected > 0
            && actions == 0
            // NDJSON actor lines are lines of their own, and good; a foreign record's states
            // are only what it needs, made before its action was refused.
            && (self.actors_created == 0 || format != Format::Ndjson)
        {
            let skipped = match skipped {
                0 => String::new(),
                n => format!(" and {n} record(s) skipped"),
            };
            Some(match self.actors_created {
                0 => format!(
                    "nothing was stored: {} {}(s) rejected{skipped}, none good",
                    self.rejected,
                    format.unit()
                ),
                states => format!(
                    "no action was stored: {} {}(s) rejected{skipped}, none good; only the \
                     {states} state(s) their records name were created",
                    self.rejected,
                    format.unit()
                ),
            })
        } else {
            None
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Rejection {
    pub line: u64,
    pub errors: Vec<FieldError>,
}

/// How far a running import got, for progress bars and the job's heartbeat.
#[derive(Debug, Default)]
pub struct Progress {
    pub bytes: AtomicU64,
    pub lines: AtomicU64,
    phase: std::sync::Mutex<&'static str>,
    since: std::sync::Mutex<Option<std::time::Instant>>,
}

impl Progress {
    pub fn phase(&self) -> &'static str {
        *self.phase.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Moves to the next phase, logging how long the last one took.
    fn set_phase(&self, phase: &'static str) {
        let mut current = self.phase.lock().unwrap_or_else(|e| e.into_inner());
        let mut since = self.since.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(started) = *since {
            log::debug!(
                "import phase `{}` took {:.2} s",
                *current,
                started.elapsed().as_secs_f64()
            );
        }
        *since = Some(std::time::Instant::now());
        *current = phase;
    }
}

/// Why an import could not run at all (as opposed to lines it rejected).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ImportError {
    pub message: String,
    /// The import met a concurrent write (a deadlock; a key another transaction committed
    /// after the checks found it free): run again, it sees that write (`run` does).
    pub transient: bool,
}

impl ImportError {
    pub fn new(message: impl Into<String>) -> Self {
        ImportError {
            message: message.into(),
            transient: false,
        }
    }
}

/// How many times `run` runs an import that meets concurrent writes before it gives up.
const ATTEMPTS: u32 = 3;

/// Text quoting the file, made storable: PostgreSQL's text and jsonb hold no NUL, shown as
/// U+2400 (␀) instead.
fn storable(text: &str) -> String {
    text.replace('\0', "\u{2400}")
}

/// A line's faults as the text of a jsonb value. Messages quote the line: a NUL they quote
/// is shown (`storable`), so a line quoting it is rejected like any other.
fn errors_json(errors: &[FieldError]) -> String {
    let errors: Vec<FieldError> = errors
        .iter()
        .map(|e| FieldError::new(storable(&e.field), storable(&e.message)))
        .collect();
    serde_json::to_string(&errors).unwrap_or_else(|_| "[]".into())
}

fn db_err(what: &str) -> impl Fn(tokio_postgres::Error) -> ImportError + '_ {
    use tokio_postgres::error::SqlState;
    move |e| {
        let transient = e.code().is_some_and(|c| {
            [
                SqlState::T_R_DEADLOCK_DETECTED,
                SqlState::T_R_SERIALIZATION_FAILURE,
                // The checks and the writes see every key committed before the import took
                // its locks; one committed since (a POST of the same external id) is met
                // only when the INSERT reaches it.
                SqlState::UNIQUE_VIOLATION,
            ]
            .contains(c)
        });
        ImportError {
            message: match e.as_db_error() {
                Some(db) => format!(
                    "{what}: {}{}",
                    db.message(),
                    db.detail().map(|d| format!(" ({d})")).unwrap_or_default()
                ),
                None => format!("{what}: {e}"),
            },
            transient,
        }
    }
}

pub async fn connect(url: &str) -> Result<Client, ImportError> {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await.map_err(|e| {
        ImportError::new(format!(
            "cannot connect to the database: {}",
            crate::error::with_causes(&e)
        ))
    })?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            log::warn!("import connection ended: {e}");
        }
    });
    Ok(client)
}

/// Runs a recorded job (`service::imports::submit`, or the CLI) on the file at `path`. Lines at fault are reported in
/// the `Report`; `Err` only when the import could not run (the job is then marked failed).
pub async fn run(
    url: &str,
    types: Arc<ActionTypes>,
    job: &Job,
    path: &Path,
    progress: Arc<Progress>,
) -> Result<Report, ImportError> {
    let client = connect(url).await?;
    // A process stopped in the middle of a long statement (Ctrl-C, SIGKILL) would otherwise
    // leave its backend working on until the statement ends, holding the import lock.
    client
        .batch_execute(
            "SELECT set_config('client_connection_check_interval', '1s', false) \
             FROM pg_settings WHERE name = 'client_connection_check_interval'",
        )
        .await
        .map_err(db_err("cannot set up the import's connection"))?;
    client
        .execute(
            "UPDATE imports SET state = 'running', started_at = now(), heartbeat_at = now() \
             WHERE id = $1",
            &[&job.id],
        )
        .await
        .map_err(db_err("cannot start the import job"))?;
    let heartbeat = tokio::spawn(heartbeat(url.to_string(), job.id, progress.clone()));
    let mut attempt = 1;
    let result = loop {
        let result = import(&client, types.clone(), job, path, &progress).await;
        match result {
            Err(e) if e.transient && attempt < ATTEMPTS => {
                // Nothing of the attempt stays; the next one reads the file again.
                let _ = client.batch_execute("ROLLBACK").await;
                restore_statistics(&client, &progress).await;
                log::info!(
                    "import {}: {} (attempt {attempt} of {ATTEMPTS}); running it again",
                    job.id,
                    e.message
                );
                progress.lines.store(0, Ordering::Relaxed);
                progress.bytes.store(0, Ordering::Relaxed);
                attempt += 1;
            }
            Err(mut e) if e.transient => {
                e.message = format!(
                    "{}; the import met concurrent writes {ATTEMPTS} times: nothing was stored, \
                     submit the file again",
                    e.message
                );
                break Err(e);
            }
            result => break result,
        }
    };
    heartbeat.abort();
    if let Err(e) = &result {
        let _ = client.batch_execute("ROLLBACK").await;
        restore_statistics(&client, &progress).await;
        let _ = client
            .execute(
                "UPDATE imports SET state = 'failed', error = $2, finished_at = now(), \
                 read = $3 WHERE id = $1",
                &[
                    &job.id,
                    &e.message,
                    &(progress.lines.load(Ordering::Relaxed) as i64),
                ],
            )
            .await;
    }
    result
}

/// Moves the job's `heartbeat_at` and counts while it waits or runs, on a connection of its
/// own (the import's is inside its transaction).
pub async fn heartbeat(url: String, job: Uuid, progress: Arc<Progress>) {
    let Ok(client) = connect(&url).await else {
        return;
    };
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        let read = progress.lines.load(Ordering::Relaxed) as i64;
        let _ = client
            .execute(
                "UPDATE imports SET heartbeat_at = now(), read = $2 WHERE id = $1",
                &[&job, &read],
            )
            .await;
    }
}

async fn import(
    client: &Client,
    types: Arc<ActionTypes>,
    job: &Job,
    path: &Path,
    progress: &Arc<Progress>,
) -> Result<Report, ImportError> {
    // The server's own synchronous_commit: with it off here, an import reported done could
    // still be lost in a crash (tests/crash.rs), for a few milliseconds saved at the commit.
    // One import at a time, from before it reads the actors to its commit: two imports of
    // one file would otherwise both find its actors and actions new, and the second fail on
    // the first's codes and external ids.
    progress.set_phase("waiting for another import");
    client
        .batch_execute("BEGIN; SELECT pg_advisory_xact_lock(7236112); SAVEPOINT data")
        .await
        .map_err(db_err(
            "cannot begin the import (or wait for the imports before it)",
        ))?;
    check_key(client, job, false).await?;
    let mut report = Report::default();
    progress.set_phase("actors");
    let mut actors = load_actors(client).await?;
    let mut rejected: Vec<Rejection> = Vec::new();
    let actors_created =
        stage::actor_pass(client, job.format, path, &types, &mut actors, &mut rejected).await?;
    report.actors_created = actors_created.len() as u64;

    progress.set_phase("reading");
    let counts = stage::action_pass(
        client,
        job.format,
        path,
        Arc::new(actors),
        types,
        progress.clone(),
    )
    .await?;
    report.read = counts.read;
    report.skipped = counts.skipped;
    report.skipped_first = counts.skipped_first;

    progress.set_phase("checking");
    resolve::check(client, job.partial, &rejected, job.format).await?;
    let rejected_lines = resolve::rejected_count(client).await?;
    report.rejected = rejected_lines;
    report.stored = job.partial || rejected_lines == 0;
    if report.stored {
        // Before the writing, the long part of a large import: a key that expired while
        // the file was read stores nothing, and leaves nothing to undo.
        check_key(client, job, false).await?;
        progress.set_phase("writing");
        let written = resolve::write(client).await?;
        report.created = written.created;
        report.updated = written.updated;
        report.unchanged = written.unchanged;
    }
    report.rejections = resolve::rejections(client).await?;
    if !report.stored {
        // Actors the file brought go too: all or nothing.
        report.actors_created = 0;
        client
            .batch_execute("ROLLBACK TO SAVEPOINT data")
            .await
            .map_err(db_err("cannot undo the import"))?;
    }
    check_key(client, job, true).await?;
    if report.stored {
        audit(client, job, &actors_created).await?;
    }
    resolve::finish(client, job, &report).await?;
    progress.set_phase("committing");
    client
        .batch_execute("COMMIT")
        .await
        .map_err(db_err("cannot commit the import"))?;
    // Wakes the change feed of every riposte process at once (writes do not notify, see
    // src/wake.rs); without it they would find the import's changes at their next poll.
    if report.stored {
        let _ = client
            .batch_execute("SELECT pg_notify('riposte_changes', '')")
            .await;
    }
    progress.set_phase("done");
    Ok(report)
}

/// After an attempt undone once it was writing: the writing may have ANALYZEd `actions` and
/// `responses` counting its own rows (`resolve::write`), and ANALYZE's row counts outlive a
/// rollback. Left so, the next import of the file into an empty database was planned as if
/// its rows were there: 3 minutes where 25 s were enough.
async fn restore_statistics(client: &Client, progress: &Progress) {
    if matches!(progress.phase(), "writing" | "committing") {
        if let Err(e) = client
            .batch_execute("ANALYZE actions; ANALYZE responses")
            .await
        {
            log::warn!("cannot refresh the statistics after an undone import: {e}");
        }
    }
}

/// An import queued over HTTP stores what its key may store: a key revoked or expired
/// while the job waited for its turn or ran stores nothing (checked when the job starts,
/// before it writes, and just before it commits; its requests are refused from that moment,
/// and a job could wait behind others for hours). The last check holds the key's row
/// (`hold`): a revocation then waits the moment to the commit, so that none slips between.
async fn check_key(client: &Client, job: &Job, hold: bool) -> Result<(), ImportError> {
    let Some(key) = job.api_key_id else {
        return Ok(());
    };
    let lock = if hold { " FOR SHARE" } else { "" };
    let row = client
        .query_opt(
            &format!(
                "SELECT prefix, revoked_at IS NOT NULL,
                        coalesce(expires_at <= clock_timestamp(), false)
                 FROM api_keys WHERE id = $1{lock}"
            ),
            &[&key],
        )
        .await
        .map_err(db_err("cannot read the key that queued the import"))?;
    let what = match &row {
        None => "no longer exists",
        Some(row) if row.get::<_, bool>(1) => "was revoked",
        Some(row) if row.get::<_, bool>(2) => "has expired",
        Some(_) => return Ok(()),
    };
    let prefix = row
        .map(|r| format!(" {}…", r.get::<_, String>(0)))
        .unwrap_or_default();
    Err(ImportError::new(format!(
        "the API key{prefix} that queued this import {what}: nothing was stored; submit the \
         file again with a valid key"
    )))
}

/// An audit entry for each actor the import created and each action it created or
/// updated, naming the job (whose own entry, written when it was queued, has the file's
/// particulars): without documents, which the import does not read back, so the entries
/// cost little beside the actions.
async fn audit(client: &Client, job: &Job, actors: &[Uuid]) -> Result<(), ImportError> {
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 4] =
        [&job.api_key_id, &job.request_id, &job.id, &actors];
    for (rows, given) in [
        ("SELECT 'create', 'actor', id FROM unnest($4::uuid[]) id", 4),
        (
            "SELECT CASE fate WHEN 'new' THEN 'create' ELSE 'update' END, 'action', id
             FROM import_lines WHERE fate IN ('new', 'update') ORDER BY line",
            3,
        ),
    ] {
        client
            .execute(
                &format!(
                    "INSERT INTO audit_log (key_id, request_id, operation, entity, entity_id,
                                            changed, size, import_id)
                     SELECT $1, $2, r.*, '{{}}', 0, $3 FROM ({rows}) r"
                ),
                &params[..given],
            )
            .await
            .map_err(db_err("cannot write the import's audit entries"))?;
    }
    Ok(())
}

/// Every live actor by code: imports resolve codes from memory (actors are few next to
/// actions; a million-action database has tens of thousands).
async fn load_actors(client: &Client) -> Result<HashMap<String, ActorRefRow>, ImportError> {
    let rows = client
        .query(
            "SELECT id, code, name, kind FROM actors WHERE deleted_at IS NULL",
            &[],
        )
        .await
        .map_err(db_err("cannot read the actors"))?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let a = ActorRefRow {
                id: r.get(0),
                code: r.get(1),
                name: r.get(2),
                kind: r.get(3),
            };
            (a.code.clone(), a)
        })
        .collect())
}
