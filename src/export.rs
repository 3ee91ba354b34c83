//! Bulk export of actions (`GET /v1/actions/export`, `riposte export`): every action a filter
//! of `GET /v1/actions` selects, as NDJSON (the API's documents, one per line) or CSV (flat,
//! the columns of `CSV_COLUMNS`), streamed from one snapshot in keyset batches, so memory
//! stays flat whatever the size and the export agrees with itself while writes go on.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel_async::{AnsiTransactionManager, TransactionManager};
use futures_util::Stream;
use serde::Serialize;
use uuid::Uuid;

use crate::db::DbConn;
use crate::documents::ActorSnapshot;
use crate::error::{AppError, AppResult};
use crate::models::action_list::{self, ActionFilter, Cursor};
use crate::models::document::Stored;
use crate::models::enums::ActionSort;
use crate::views::Action;

/// Actions read and written per batch.
const BATCH: i64 = 500;
/// A client that accepts no bytes for this long ends its export (`serve`), so that a stalled
/// download cannot hold a connection for ever. A client that keeps reading, however slowly,
/// is never cut off.
pub const DEFAULT_IDLE_TIMEOUT: &str = "60s";
/// The pieces a batch is handed to the socket in: small, so that the time between two of
/// them measures how long the client takes to accept bytes, not to drain a whole batch.
const PIECE: usize = 16 * 1024;

/// Exports running at once by default: a quarter of the pool, at least one, so that exports
/// that are slow to download (each holds a connection throughout) leave the rest of the
/// server its connections.
pub fn default_slots(pool_size: usize) -> usize {
    (pool_size / 4).max(1)
}

/// PostgreSQL's own bound on the snapshot's idle time, a backstop behind `serve`'s (which
/// keeps the transaction busy well within it): twice the idle bound.
fn backstop(idle: Duration) -> Duration {
    idle * 2
}

crate::models::enums::text_enum! {
    /// The export's format: `ndjson` (default) or `csv`.
    Format {
        Ndjson => "ndjson",
        Csv => "csv",
    }
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Ndjson => "application/x-ndjson",
            Format::Csv => "text/csv; charset=utf-8",
        }
    }
}

/// The CSV columns, in order; lists are joined with `;` (sources with spaces), dates are
/// ISO 8601, absent values empty. A text cell that a spreadsheet would run as a formula
/// (starting with `=`, `+`, `-`, `@`, tab or CR) starts with `'` (see `text_cell`).
pub const CSV_COLUMNS: &[&str] = &[
    "id",
    "title",
    "initiator",
    "target",
    "authority",
    "type",
    "category",
    "status",
    "announced_on",
    "date_precision",
    "effective_from",
    "effective_to",
    "severity",
    "legal_basis",
    "program",
    "tags",
    "designations",
    "sources",
    "responds_to",
    "summary",
    "created_at",
    "updated_at",
    "version",
    "deleted_at",
    "external_id",
    "source_dataset",
];

/// What an export is asked for: the actions a filter of `GET /v1/actions` selects, in its
/// sort, as `format`; with `include_actors`, an NDJSON export also carries the actors they
/// name (see `Export::write_actors`), with `include_history` each action's status history.
#[derive(Debug)]
pub struct Request {
    pub filter: ActionFilter,
    pub sort: ActionSort,
    pub format: Format,
    pub include_actors: bool,
    pub include_history: bool,
}

/// A status history entry as a line of `POST /v1/imports` gives it (`status_history` of
/// `NewAction`): `recorded_at` is left out, as each database records its own.
#[derive(Serialize)]
struct HistoryEntry<'a> {
    status: &'a str,
    on: chrono::NaiveDate,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<&'a str>,
}

/// An export in progress: its connection (inside the snapshot's transaction) and position.
pub struct Export {
    conn: DbConn,
    /// The actors as the snapshot has them (the shared cache has them as they are now).
    actors: ActorSnapshot,
    filter: ActionFilter,
    sort: ActionSort,
    format: Format,
    /// The actors written as actor lines so far, when the export carries them.
    actor_lines: Option<HashSet<Uuid>>,
    include_history: bool,
    after: Option<Cursor>,
    header_sent: bool,
    done: bool,
    /// Actions written so far.
    pub written: u64,
    /// Actor lines written so far.
    pub actors_written: u64,
    /// The newest feed entry the snapshot holds: a mirror built from the export follows
    /// `GET /v1/changes` after it and misses nothing (an entry numbered later may repeat
    /// what the export already has).
    pub feed_cursor: i64,
}

impl Export {
    /// Opens the snapshot every batch will read. PostgreSQL ends it when it stays idle for
    /// twice `idle` (`serve` keeps it busy; a caller that waits between batches, such as the
    /// CLI on a stalled pipe, is cut off then).
    pub async fn begin(mut conn: DbConn, request: Request, idle: Duration) -> AppResult<Self> {
        // Changes committed before are numbered first, so that the snapshot's feed cursor
        // is past them (a read of the feed does the same).
        crate::models::change::sequence(&mut conn).await?;
        AnsiTransactionManager::begin_transaction_sql(
            &mut *conn,
            &format!(
                "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY; \
                 SET LOCAL idle_in_transaction_session_timeout = '{}ms'",
                backstop(idle).as_millis().max(1)
            ),
        )
        .await?;
        // The snapshot's first statement: it sees every change numbered before it.
        let feed_cursor = crate::models::change::latest(&mut conn).await?;
        Ok(Export {
            feed_cursor,
            conn,
            actors: ActorSnapshot::default(),
            filter: request.filter,
            sort: request.sort,
            format: request.format,
            actor_lines: request.include_actors.then(HashSet::new),
            include_history: request.include_history,
            after: None,
            header_sent: false,
            done: false,
            written: 0,
            actors_written: 0,
        })
    }

    /// The next piece of the file, or None at its end (the snapshot is closed then).
    pub async fn next(&mut self) -> AppResult<Option<Vec<u8>>> {
        if self.done {
            return Ok(None);
        }
        let mut out = Vec::new();
        if !self.header_sent && self.format == Format::Csv {
            let mut writer = csv::Writer::from_writer(&mut out);
            writer.write_record(CSV_COLUMNS).map_err(csv_error)?;
            writer
                .flush()
                .map_err(|e| AppError::Internal(e.to_string()))?;
            drop(writer);
        }
        self.header_sent = true;
        let batch = action_list::page(
            &mut self.conn,
            &self.filter,
            self.sort,
            self.after,
            BATCH,
            crate::limits::MAX_PAGE_BYTES,
        )
        .await?;
        let rows = batch.rows;
        if (rows.len() as i64) < BATCH && !batch.cut {
            self.done = true;
        }
        self.after = rows.last().map(|r| r.cursor(self.sort));
        let stored = rows
            .into_iter()
            .map(crate::models::action_list::Listed::stored)
            .collect::<diesel::QueryResult<Vec<_>>>()?;
        self.write_actors(&stored, &mut out).await?;
        let docs = self.actors.complete(&mut self.conn, stored).await?;
        self.written += docs.len() as u64;
        match self.format {
            // The stored documents, as they are.
            Format::Ndjson if !self.include_history => {
                for doc in &docs {
                    out.extend_from_slice(doc.body.as_bytes());
                    out.push(b'\n');
                }
            }
            Format::Ndjson => {
                let ids: Vec<Uuid> = docs.iter().map(|d| d.id).collect();
                let rows = crate::models::action::histories(&mut self.conn, &ids).await?;
                let mut histories: HashMap<Uuid, Vec<HistoryEntry>> = HashMap::new();
                for row in &rows {
                    histories
                        .entry(row.action_id)
                        .or_default()
                        .push(HistoryEntry {
                            status: &row.status,
                            on: row.changed_on,
                            source_url: row.source_url.as_deref(),
                            note: row.note.as_deref(),
                        });
                }
                for doc in &docs {
                    // The document is a JSON object: its history goes in as its last member.
                    let open = doc.body.strip_suffix('}').ok_or_else(|| {
                        AppError::Internal(format!("stored document of {} is no object", doc.id))
                    })?;
                    match histories.remove(&doc.id) {
                        Some(history) => {
                            out.extend_from_slice(open.as_bytes());
                            out.extend_from_slice(b",\"status_history\":");
                            serde_json::to_writer(&mut out, &history)
                                .map_err(|e| AppError::Internal(e.to_string()))?;
                            out.push(b'}');
                        }
                        None => out.extend_from_slice(doc.body.as_bytes()),
                    }
                    out.push(b'\n');
                }
            }
            Format::Csv => {
                let mut writer = csv::Writer::from_writer(&mut out);
                for doc in &docs {
                    let action = crate::documents::parse(doc)?;
                    writer
                        .write_record(csv_record(&action))
                        .map_err(csv_error)?;
                }
                writer
                    .flush()
                    .map_err(|e| AppError::Internal(e.to_string()))?;
            }
        }
        if self.done {
            AnsiTransactionManager::commit_transaction(&mut *self.conn).await?;
        }
        Ok(Some(out))
    }

    /// When the export carries actors: the actors these documents name that no earlier line
    /// gave, each after the actors and state it belongs to (their lines first where no
    /// earlier line gave them either), as `{"actor": <its document>}`. So every actor line
    /// comes after what it belongs to and before the first action naming it, and
    /// `POST /v1/imports` of the file creates them in a database that lacks them.
    async fn write_actors(&mut self, stored: &[Stored], out: &mut Vec<u8>) -> AppResult<()> {
        let Some(written) = &mut self.actor_lines else {
            return Ok(());
        };
        let mut wanted = crate::documents::embedded_actor_ids(stored)?;
        wanted.retain(|id| !written.contains(id));
        for (row, parent) in crate::models::actor::with_ancestors(&mut self.conn, &wanted).await? {
            if written.insert(row.id) {
                let actor = crate::views::Actor::from_row(row, parent)?;
                serde_json::to_writer(&mut *out, &serde_json::json!({ "actor": actor }))
                    .map_err(|e| AppError::Internal(e.to_string()))?;
                out.push(b'\n');
                self.actors_written += 1;
            }
        }
        Ok(())
    }

    /// Runs a trivial statement in the snapshot, so that PostgreSQL does not end it as idle
    /// while its client is still reading the last batch.
    async fn touch(&mut self) -> AppResult<()> {
        if self.done {
            // Committed already: nothing left to keep open.
            return Ok(());
        }
        diesel_async::RunQueryDsl::execute(diesel::sql_query("SELECT 1"), &mut *self.conn).await?;
        Ok(())
    }

    /// The export as an HTTP body. A task of its own fetches the batches and hands them on in
    /// small pieces, and the export ends (its connection and `slot` given back) when the
    /// file is complete, when the client goes away, or when the client accepts no bytes for
    /// `idle`. A client that keeps reading is never cut off: while it drains a batch the task
    /// touches the snapshot every `idle / 2`. A file that ends early ends with an error, so
    /// that the response is cut off instead of looking complete.
    pub fn serve(
        self,
        slot: tokio::sync::OwnedSemaphorePermit,
        idle: Duration,
    ) -> impl Stream<Item = AppResult<actix_web::web::Bytes>> {
        let (tx, rx) = tokio::sync::mpsc::channel(1);
        let complete = Arc::new(AtomicBool::new(false));
        actix_web::rt::spawn(self.feed(tx, complete.clone(), slot, idle));
        futures_util::stream::unfold(Some(rx), move |rx| {
            let complete = complete.clone();
            async move {
                let mut rx = rx?;
                match rx.recv().await {
                    Some(item) => Some((item, Some(rx))),
                    None if complete.load(Ordering::SeqCst) => None,
                    None => Some((
                        Err(AppError::Unavailable("the export ended early".into())),
                        None,
                    )),
                }
            }
        })
    }

    async fn feed(
        mut self,
        tx: tokio::sync::mpsc::Sender<AppResult<actix_web::web::Bytes>>,
        complete: Arc<AtomicBool>,
        _slot: tokio::sync::OwnedSemaphorePermit,
        idle: Duration,
    ) {
        let started = Instant::now();
        loop {
            let mut batch = match self.next().await {
                Ok(Some(batch)) => actix_web::web::Bytes::from(batch),
                Ok(None) => {
                    complete.store(true, Ordering::SeqCst);
                    return;
                }
                Err(e) => {
                    // The status is sent already: the file ends short, and the log says why.
                    log::warn!("export ended early after {} actions: {e}", self.written);
                    let _ = tx.send(Err(e)).await;
                    return;
                }
            };
            let mut touched = Instant::now();
            while !batch.is_empty() {
                if touched.elapsed() >= idle / 2 {
                    if let Err(e) = self.touch().await {
                        log::warn!("export ended early after {} actions: {e}", self.written);
                        let _ = tx.send(Err(e)).await;
                        return;
                    }
                    touched = Instant::now();
                }
                let piece = batch.split_to(PIECE.min(batch.len()));
                match tokio::time::timeout(idle, tx.send(Ok(piece))).await {
                    Ok(Ok(())) => {}
                    Ok(Err(_)) => {
                        log::info!(
                            "export abandoned by its client after {} s",
                            started.elapsed().as_secs()
                        );
                        return;
                    }
                    Err(_) => {
                        log::warn!(
                            "export ended early: its client accepted no bytes for {} s; its \
                             connection is given back",
                            idle.as_secs_f32()
                        );
                        return;
                    }
                }
            }
        }
    }
}

fn csv_error(e: csv::Error) -> AppError {
    AppError::Internal(format!("CSV: {e}"))
}

/// Free text as a CSV cell. A writer's title of `=HYPERLINK(...)` would run as a formula
/// in the spreadsheet of whoever opens the export (OWASP "CSV injection"), so such a cell
/// starts with `'`, which spreadsheets show as text. NDJSON keeps the text as it is.
fn text_cell(text: String) -> String {
    match text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        true => format!("'{text}"),
        false => text,
    }
}

/// A time as the JSON documents write it (chrono's serde form: UTC, `Z`, 0, 3 or 6
/// fractional digits), so a CSV cell equals the document's value.
fn timestamp(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

fn csv_record(a: &Action) -> Vec<String> {
    let opt = |v: Option<String>| text_cell(v.unwrap_or_default());
    let day = |d: Option<chrono::NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
    vec![
        a.id.to_string(),
        text_cell(a.title.clone()),
        a.initiator.code.clone(),
        a.target.code.clone(),
        opt(a.authority.as_ref().map(|x| x.code.clone())),
        a.type_.clone(),
        a.category.to_string(),
        a.status.to_string(),
        a.announced_on.to_string(),
        a.date_precision.to_string(),
        day(a.effective_from),
        day(a.effective_to),
        a.severity.to_string(),
        opt(a.legal_basis.clone()),
        opt(a.program.clone()),
        text_cell(a.tags.join(";")),
        a.designations
            .iter()
            .map(|d| d.actor.code.as_str())
            .collect::<Vec<_>>()
            .join(";"),
        a.sources
            .iter()
            .map(|s| s.url.as_str())
            .collect::<Vec<_>>()
            .join(" "),
        a.responds_to
            .iter()
            .map(|r| format!("{}:{}", r.action, r.relation))
            .collect::<Vec<_>>()
            .join(";"),
        opt(a.summary.clone()),
        timestamp(a.created_at),
        timestamp(a.updated_at),
        a.version.to_string(),
        a.deleted_at.map(timestamp).unwrap_or_default(),
        opt(a.external_id.clone()),
        opt(a.source_dataset.clone()),
    ]
}
