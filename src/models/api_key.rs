//! API key rows and their queries.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::schema::api_keys;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = api_keys)]
pub struct ApiKeyRow {
    pub id: Uuid,
    pub name: String,
    pub scope: String,
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// Where a key stands: the one rule for whether it is refused (requests, event streams,
/// `riposte keys list`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    Active,
    Revoked(DateTime<Utc>),
    Expired(DateTime<Utc>),
}

/// Whether a key with this expiry has expired (an expiry is the first moment it is refused).
pub fn expired(expires_at: Option<DateTime<Utc>>) -> bool {
    expires_at.is_some_and(|at| at <= Utc::now())
}

impl ApiKeyRow {
    pub fn standing(&self) -> Standing {
        match (self.revoked_at, self.expires_at) {
            (Some(at), _) => Standing::Revoked(at),
            (None, Some(at)) if expired(Some(at)) => Standing::Expired(at),
            _ => Standing::Active,
        }
    }
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = api_keys, treat_none_as_default_value = false)]
pub struct NewApiKeyRow {
    pub name: String,
    pub scope: String,
    pub prefix: String,
    pub secret_hash: Vec<u8>,
    pub expires_at: Option<DateTime<Utc>>,
}

pub async fn insert(conn: &mut AsyncPgConnection, row: &NewApiKeyRow) -> QueryResult<ApiKeyRow> {
    diesel::insert_into(api_keys::table)
        .values(row)
        .returning(ApiKeyRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn find_by_hash(
    conn: &mut AsyncPgConnection,
    hash: &[u8],
) -> QueryResult<Option<ApiKeyRow>> {
    api_keys::table
        .filter(api_keys::secret_hash.eq(hash))
        .select(ApiKeyRow::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<ApiKeyRow>> {
    api_keys::table
        .find(id)
        .select(ApiKeyRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// Finds by id or by the printed prefix (`rsk_…`, 12 characters).
pub async fn find_by_id_or_prefix(
    conn: &mut AsyncPgConnection,
    key: &str,
) -> QueryResult<Vec<ApiKeyRow>> {
    let query = api_keys::table.select(ApiKeyRow::as_select()).into_boxed();
    let query = match Uuid::parse_str(key) {
        Ok(id) => query.filter(api_keys::id.eq(id)),
        Err(_) => query.filter(api_keys::prefix.eq(key)),
    };
    query.load(conn).await
}

pub async fn list(
    conn: &mut AsyncPgConnection,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> QueryResult<Vec<ApiKeyRow>> {
    let mut query = api_keys::table.select(ApiKeyRow::as_select()).into_boxed();
    if let Some((at, id)) = after {
        query = query.filter(
            api_keys::created_at
                .gt(at)
                .or(api_keys::created_at.eq(at).and(api_keys::id.gt(id))),
        );
    }
    query
        .order((api_keys::created_at.asc(), api_keys::id.asc()))
        .limit(limit)
        .load(conn)
        .await
}

pub async fn revoke(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<ApiKeyRow> {
    diesel::update(api_keys::table.find(id))
        .set(api_keys::revoked_at.eq(Some(Utc::now())))
        .returning(ApiKeyRow::as_returning())
        .get_result(conn)
        .await
}

/// How often a key's `last_used_at` is recorded at most, in seconds.
const TOUCH_EVERY_SECS: i64 = 60;

impl ApiKeyRow {
    /// Whether its use is to be recorded (`touch`): not recorded for `TOUCH_EVERY_SECS`.
    pub fn touch_due(&self) -> bool {
        self.last_used_at
            .is_none_or(|t| Utc::now() - t > chrono::Duration::seconds(TOUCH_EVERY_SECS))
    }
}

/// Records use, at most once a `TOUCH_EVERY_SECS` per key, so that reads do not each cost a
/// write (checked again here: requests at once may all have found it due).
pub async fn touch(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<usize> {
    diesel::sql_query(
        "UPDATE api_keys SET last_used_at = now() WHERE id = $1 \
         AND (last_used_at IS NULL OR last_used_at < now() - $2 * interval '1 second')",
    )
    .bind::<diesel::sql_types::Uuid, _>(id)
    .bind::<diesel::sql_types::BigInt, _>(TOUCH_EVERY_SECS)
    .execute(conn)
    .await
}
