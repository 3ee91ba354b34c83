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
    pub operation: Option<AuditOperation>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

/// Newest first, keyset-paged on the id.
pub async fn list(
    conn: &mut AsyncPgConnection,
    f: &AuditFilter,
    before_id: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<AuditRow>> {
    let mut query = audit_log::table.select(AuditRow::as_select()).into_boxed();
    if let Some(v) = f.entity {
        query = query.filter(audit_log::entity.eq(v.as_str()));
    }
    if let Some(v) = f.entity_id {
        query = query.filter(audit_log::entity_id.eq(v));
    }
    if let Some(v) = f.key_id {
        query = query.filter(audit_log::key_id.eq(v));
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
        .order(audit_log::id.desc())
        .limit(limit)
        .load(conn)
        .await
}

/// The changes of one record, oldest first, with the name of the key that made each.
pub async fn for_entity(
    conn: &mut AsyncPgConnection,
    entity: AuditEntity,
    entity_id: Uuid,
) -> QueryResult<Vec<(AuditRow, Option<String>)>> {
    use crate::schema::api_keys;
    audit_log::table
        .left_join(api_keys::table)
        .filter(audit_log::entity.eq(entity.as_str()))
        .filter(audit_log::entity_id.eq(entity_id))
        .order(audit_log::id.asc())
        .select((AuditRow::as_select(), api_keys::name.nullable()))
        .load(conn)
        .await
}
