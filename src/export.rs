//! Bulk export of actions (`GET /v1/actions/export`, `riposte export`): every action a filter
//! of `GET /v1/actions` selects, as NDJSON (the API's documents, one per line) or CSV (flat,
//! the columns of `CSV_COLUMNS`), streamed from one snapshot in keyset batches, so memory
//! stays flat whatever the size and the export agrees with itself while writes go on.

use diesel_async::{AnsiTransactionManager, TransactionManager};

use crate::db::DbConn;
use crate::documents::ActorCache;
use crate::error::{AppError, AppResult};
use crate::models::action_list::{self, ActionFilter, Cursor};
use crate::models::enums::ActionSort;
use crate::views::Action;

/// Actions read and written per batch.
const BATCH: i64 = 500;
/// A client that stops reading for this long ends its export (PostgreSQL closes the idle
/// transaction), so that a stalled download cannot hold a connection for ever.
pub const IDLE_TIMEOUT_SECS: u64 = 60;

/// Exports running at once by default: a quarter of the pool, at least one, so that exports
/// that are slow to download (each holds a connection throughout) leave the rest of the
/// server its connections.
pub fn default_slots(pool_size: usize) -> usize {
    (pool_size / 4).max(1)
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
/// ISO 8601, absent values empty.
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

/// An export in progress: its connection (inside the snapshot's transaction) and position.
pub struct Export {
    conn: DbConn,
    actors: std::sync::Arc<ActorCache>,
    filter: ActionFilter,
    sort: ActionSort,
    format: Format,
    after: Option<Cursor>,
    header_sent: bool,
    done: bool,
    /// Actions written so far.
    pub written: u64,
}

impl Export {
    /// Opens the snapshot every batch will read.
    pub async fn begin(
        mut conn: DbConn,
        actors: std::sync::Arc<ActorCache>,
        filter: ActionFilter,
        sort: ActionSort,
        format: Format,
    ) -> AppResult<Self> {
        AnsiTransactionManager::begin_transaction_sql(
            &mut *conn,
            &format!(
                "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY; \
                 SET LOCAL idle_in_transaction_session_timeout = '{IDLE_TIMEOUT_SECS}s'"
            ),
        )
        .await?;
        Ok(Export {
            conn,
            actors,
            filter,
            sort,
            format,
            after: None,
            header_sent: false,
            done: false,
            written: 0,
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
        let rows =
            action_list::page(&mut self.conn, &self.filter, self.sort, self.after, BATCH).await?;
        if (rows.len() as i64) < BATCH {
            self.done = true;
        }
        self.after = rows.last().map(|r| r.cursor(self.sort));
        let docs = crate::service::actions::documents(&mut self.conn, &self.actors, rows).await?;
        self.written += docs.len() as u64;
        match self.format {
            // The stored documents, as they are.
            Format::Ndjson => {
                for doc in &docs {
                    out.extend_from_slice(doc.body.as_bytes());
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
}

fn csv_error(e: csv::Error) -> AppError {
    AppError::Internal(format!("CSV: {e}"))
}

fn csv_record(a: &Action) -> Vec<String> {
    let opt = |v: Option<String>| v.unwrap_or_default();
    let day = |d: Option<chrono::NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
    vec![
        a.id.to_string(),
        a.title.clone(),
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
        a.tags.join(";"),
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
        a.created_at.to_rfc3339(),
        a.updated_at.to_rfc3339(),
        a.version.to_string(),
        a.deleted_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
        opt(a.external_id.clone()),
        opt(a.source_dataset.clone()),
    ]
}
