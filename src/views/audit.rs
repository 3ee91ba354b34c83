//! The audit log, and an action's edits as it records them.

use super::*;

/// An entry of the audit log.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntry {
    pub id: i64,
    /// When the change's transaction began. A change that committed later can carry an
    /// earlier time and a lower id than one already listed, so polling with `since` can
    /// miss it: to follow every change without gaps, follow `GET /v1/changes`.
    pub at: DateTime<Utc>,
    /// The API key that made the change; null for the command line and for what the server
    /// does itself (a webhook subscription disabled).
    #[schema(required = true)]
    pub key_id: Option<Uuid>,
    #[schema(required = true)]
    pub request_id: Option<String>,
    /// `create`, `update`, `delete`, `restore`, `purge`, `revoke`, and for webhooks
    /// `redeliver`, `rotate_secret` and `disable` (by the server, after failing for a day,
    /// or at once when the receiver answers 410 Gone).
    #[schema(value_type = crate::models::audit::AuditOperation)]
    pub operation: String,
    /// `actor`, `action`, `api_key`, `webhook` or `import` (a job queued: `after` is the
    /// job as it was then).
    #[schema(value_type = crate::models::audit::AuditEntity)]
    pub entity: String,
    pub entity_id: Uuid,
    /// The record before the change (null for a create).
    #[schema(value_type = Option<Object>)]
    #[schema(required = true)]
    pub before: Option<serde_json::Value>,
    /// The record after the change: null for a purge and a webhook subscription's delete
    /// (which remove the record); a soft delete of an actor or action shows it deleted.
    #[schema(value_type = Option<Object>)]
    #[schema(required = true)]
    pub after: Option<serde_json::Value>,
    /// The import job that made the change (`GET /v1/imports/{id}`), on the entries of the
    /// actions it created or updated, which hold no documents (`before` and `after` null).
    /// Null for changes made otherwise, and on the job's own entry (entity `import`).
    #[schema(required = true)]
    pub import_id: Option<Uuid>,
}

impl AuditEntry {
    pub fn from_row(row: crate::models::audit::AuditRow) -> Self {
        AuditEntry {
            id: row.id,
            at: row.at,
            key_id: row.key_id,
            request_id: row.request_id,
            operation: row.operation,
            entity: row.entity,
            entity_id: row.entity_id,
            before: row.before,
            after: row.after,
            import_id: row.import_id,
        }
    }
}

/// Who made a change: an API key, or the command line (null).
#[derive(Debug, Serialize, ToSchema)]
pub struct Author {
    pub key_id: Uuid,
    pub key_name: String,
}

/// One change of an action, from the audit log.
#[derive(Debug, Serialize, ToSchema)]
pub struct Edit {
    pub at: DateTime<Utc>,
    /// `create`, `update`, `delete` or `restore`.
    #[schema(value_type = crate::models::audit::AuditOperation)]
    pub operation: String,
    /// Null for changes made from the command line (`riposte seed`).
    #[schema(required = true)]
    pub author: Option<Author>,
    #[schema(required = true)]
    pub request_id: Option<String>,
    /// The fields whose values the change altered (for updates; none for an import's).
    pub changed: Vec<String>,
    /// The import job that made the change (`GET /v1/imports/{id}`), null otherwise.
    #[schema(required = true)]
    pub import_id: Option<Uuid>,
}

impl Edit {
    pub fn from_row(row: crate::models::audit::EditRow) -> Self {
        Edit {
            at: row.at,
            operation: row.operation,
            author: row
                .key_id
                .zip(row.key_name)
                .map(|(key_id, key_name)| Author { key_id, key_name }),
            request_id: row.request_id,
            changed: row.changed,
            import_id: row.import_id,
        }
    }
}
