//! The append-only audit log.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::Value;
use uuid::Uuid;

use crate::schema::audit_log;

// The table's CHECK constraints (migrations 000004 and 000014) hold the same two lists, as
// the database's own guard.
crate::models::enums::text_enum! {
    /// What an audit entry is about.
    AuditEntity {
        Actor => "actor",
        Action => "action",
        ApiKey => "api_key",
        Webhook => "webhook",
        Import => "import",
    }
}

crate::models::enums::text_enum! {
    /// What was done.
    AuditOperation {
        Create => "create",
        Update => "update",
        Delete => "delete",
        Restore => "restore",
        Purge => "purge",
        Revoke => "revoke",
        Redeliver => "redeliver",
        RotateSecret => "rotate_secret",
        Disable => "disable",
    }
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = audit_log, treat_none_as_default_value = false)]
pub struct NewAuditEntry {
    pub key_id: Option<Uuid>,
    pub request_id: Option<String>,
    pub operation: String,
    pub entity: String,
    pub entity_id: Uuid,
    pub before: Option<Value>,
    pub after: Option<Value>,
    /// `changed_fields(before, after)`: an action's history lists them without reading
    /// the documents.
    pub changed: Vec<String>,
    /// The bytes of `before` and `after` as JSON: a page of the log stops at its budget.
    pub size: i32,
    /// The import job that made the change.
    pub import_id: Option<Uuid>,
}

impl NewAuditEntry {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        key_id: Option<Uuid>,
        request_id: Option<String>,
        operation: AuditOperation,
        entity: AuditEntity,
        entity_id: Uuid,
        before: Option<Value>,
        after: Option<Value>,
    ) -> Self {
        let bytes = |v: &Option<Value>| v.as_ref().map_or(0, |v| v.to_string().len());
        let size = i32::try_from(bytes(&before) + bytes(&after)).unwrap_or(i32::MAX);
        NewAuditEntry {
            key_id,
            request_id,
            operation: operation.as_str().to_string(),
            entity: entity.as_str().to_string(),
            entity_id,
            changed: changed_fields(before.as_ref(), after.as_ref()),
            size,
            import_id: None,
            before,
            after,
        }
    }
}

/// The fields present in either state of a record whose values differ, less the `STAMPS`,
/// in byte order; none unless both states are objects. A restore's `deleted_at`, present
/// before and absent after, is one.
pub fn changed_fields(before: Option<&Value>, after: Option<&Value>) -> Vec<String> {
    let (Some(Value::Object(before)), Some(Value::Object(after))) = (before, after) else {
        return Vec::new();
    };
    let keys: std::collections::BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    keys.into_iter()
        .filter(|k| !STAMPS.contains(&k.as_str()) && before.get(*k) != after.get(*k))
        .cloned()
        .collect()
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_log)]
pub struct AuditRow {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub key_id: Option<Uuid>,
    pub request_id: Option<String>,
    pub operation: String,
    pub entity: String,
    pub entity_id: Uuid,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub import_id: Option<Uuid>,
}

pub async fn insert(conn: &mut AsyncPgConnection, entry: &NewAuditEntry) -> QueryResult<()> {
    diesel::insert_into(audit_log::table)
        .values(entry)
        .execute(conn)
        .await
        .map(|_| ())
}

#[derive(Debug, Default)]
pub struct AuditFilter {
    pub entity: Option<AuditEntity>,
    pub entity_id: Option<Uuid>,
    pub key_id: Option<Uuid>,
    pub import_id: Option<Uuid>,
    pub operation: Option<AuditOperation>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

/// Newest first, keyset-paged on the id: at most `limit` entries, fewer when their
/// documents would pass `max_bytes` (the first always comes); and whether more follow.
pub async fn list(
    conn: &mut AsyncPgConnection,
    f: &AuditFilter,
    before_id: Option<i64>,
    limit: i64,
    max_bytes: i64,
) -> QueryResult<(Vec<AuditRow>, bool)> {
    let sizes: Vec<(i64, i32)> = filtered(f, before_id)
        .select((audit_log::id, audit_log::size))
        .order(audit_log::id.desc())
        .limit(limit + 1)
        .load(conn)
        .await?;
    let mut total = 0;
    let taken = sizes
        .iter()
        .take(limit as usize)
        .take_while(|(_, size)| {
            total += i64::from(*size);
            total <= max_bytes
        })
        .count()
        .max(sizes.len().min(1));
    let more = sizes.len() > taken;
    let ids: Vec<i64> = sizes[..taken].iter().map(|(id, _)| *id).collect();
    let rows = audit_log::table
        .select(AuditRow::as_select())
        .filter(audit_log::id.eq_any(ids))
        .order(audit_log::id.desc())
        .load(conn)
        .await?;
    Ok((rows, more))
}

/// The entries `f` selects, older than `before_id`.
fn filtered(
    f: &AuditFilter,
    before_id: Option<i64>,
) -> audit_log::BoxedQuery<'static, diesel::pg::Pg> {
    let mut query = audit_log::table.into_boxed();
    if let Some(v) = f.entity {
        query = query.filter(audit_log::entity.eq(v.as_str()));
    }
    if let Some(v) = f.entity_id {
        query = query.filter(audit_log::entity_id.eq(v));
    }
    if let Some(v) = f.key_id {
        query = query.filter(audit_log::key_id.eq(v));
    }
    if let Some(v) = f.import_id {
        query = query.filter(audit_log::import_id.eq(v));
    }
    if let Some(v) = f.operation {
        query = query.filter(audit_log::operation.eq(v.as_str()));
    }
    if let Some(v) = f.since {
        query = query.filter(audit_log::at.ge(v));
    }
    if let Some(v) = f.until {
        query = query.filter(audit_log::at.le(v));
    }
    if let Some(id) = before_id {
        query = query.filter(audit_log::id.lt(id));
    }
    query
}

/// The fields every write stamps on a record: a change of theirs alone is no change, and
/// an edit's `changed` leaves them out.
pub const STAMPS: [&str; 2] = ["updated_at", "version"];

/// One change of a record as its history shows it: who, when, and which fields it altered.
#[derive(Debug, QueryableByName)]
pub struct EditRow {
    #[diesel(sql_type = diesel::sql_types::Timestamptz)]
    pub at: DateTime<Utc>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Uuid>)]
    pub key_id: Option<Uuid>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub key_name: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    pub request_id: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub operation: String,
    #[diesel(sql_type = diesel::sql_types::Array<diesel::sql_types::Text>)]
    pub changed: Vec<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Uuid>)]
    pub import_id: Option<Uuid>,
}

/// The newest `limit` changes of one record, oldest first, and how many older ones there
/// are besides. The fields each altered were recorded with the entry (`changed`): the
/// documents before and after (up to a request body's size each) are not read.
pub async fn edits_of(
    conn: &mut AsyncPgConnection,
    entity: AuditEntity,
    entity_id: Uuid,
    limit: i64,
) -> QueryResult<(Vec<EditRow>, i64)> {
    use diesel::sql_types::{BigInt, Text, Uuid as SqlUuid};
    let rows: Vec<EditRow> = diesel::sql_query(
        "SELECT a.at, a.key_id, k.name AS key_name, a.request_id, a.operation, a.changed,
                a.import_id
         FROM (SELECT id, at, key_id, request_id, operation, changed, import_id FROM audit_log
               WHERE entity = $1 AND entity_id = $2
               ORDER BY id DESC LIMIT $3) a
         LEFT JOIN api_keys k ON k.id = a.key_id
         ORDER BY a.id",
    )
    .bind::<Text, _>(entity.as_str())
    .bind::<SqlUuid, _>(entity_id)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await?;
    let all = audit_log::table
        .filter(audit_log::entity.eq(entity.as_str()))
        .filter(audit_log::entity_id.eq(entity_id))
        .count()
        .get_result(conn);
    let older = super::besides(rows.len(), limit, all).await?;
    Ok((rows, older))
}
