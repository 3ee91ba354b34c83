//! Import jobs (migration 000013): their rows and rejected lines. The import itself writes
//! through its own connection (`crate::import`).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::Value;
use uuid::Uuid;

use crate::schema::{import_rejections, imports};

crate::models::enums::text_enum! {
    /// A job's stored state (`views::ImportState` adds `interrupted`, read off its heartbeat).
    JobState {
        Queued => "queued",
        Running => "running",
        Succeeded => "succeeded",
        Failed => "failed",
    }
}

crate::models::enums::text_enum! {
    /// Where a job came from.
    ImportOrigin {
        Api => "api",
        Cli => "cli",
    }
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = imports)]
pub struct NewImport {
    pub id: Uuid,
    pub format: String,
    pub partial: bool,
    pub state: String,
    pub origin: String,
    pub file_name: Option<String>,
    pub bytes: i64,
    pub api_key_id: Option<Uuid>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = imports)]
pub struct ImportRow {
    pub id: Uuid,
    pub format: String,
    pub partial: bool,
    pub state: String,
    pub origin: String,
    pub file_name: Option<String>,
    pub bytes: i64,
    pub read: i64,
    pub created: i64,
    pub updated: i64,
    pub unchanged: i64,
    pub rejected: i64,
    pub actors_created: i64,
    pub skipped: Value,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub heartbeat_at: Option<DateTime<Utc>>,
    pub skipped_first: Value,
}

pub async fn insert(conn: &mut AsyncPgConnection, row: &NewImport) -> QueryResult<()> {
    diesel::insert_into(imports::table)
        .values(row)
        .execute(conn)
        .await
        .map(|_| ())
}

pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<ImportRow>> {
    imports::table
        .find(id)
        .select(ImportRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// Jobs newest first, keyset-paged: those created before `before` (its time and id).
pub async fn latest(
    conn: &mut AsyncPgConnection,
    before: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> QueryResult<Vec<ImportRow>> {
    let mut query = imports::table
        .order((imports::created_at.desc(), imports::id.desc()))
        .limit(limit)
        .select(ImportRow::as_select())
        .into_boxed();
    if let Some((at, id)) = before {
        query = query.filter(
            imports::created_at
                .lt(at)
                .or(imports::created_at.eq(at).and(imports::id.lt(id))),
        );
    }
    query.load(conn).await
}

/// The job's kept rejected lines, by line: (line, errors).
pub async fn rejections(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Vec<(i64, Value)>> {
    import_rejections::table
        .filter(import_rejections::import_id.eq(id))
        .order(import_rejections::line)
        .select((import_rejections::line, import_rejections::errors))
        .load(conn)
        .await
}

/// Marks a job failed unless it has finished: false when it had (an import that committed
/// as it was stopped stays `succeeded`). Waits for the job's transaction, which updates the
/// row as it commits.
pub async fn fail_unfinished(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    error: &str,
) -> QueryResult<bool> {
    diesel::update(
        imports::table
            .find(id)
            .filter(imports::state.eq_any([JobState::Queued.as_str(), JobState::Running.as_str()])),
    )
    .set((
        imports::state.eq(JobState::Failed.as_str()),
        imports::error.eq(error),
        imports::finished_at.eq(diesel::dsl::now),
    ))
    .execute(conn)
    .await
    .map(|n| n == 1)
}
