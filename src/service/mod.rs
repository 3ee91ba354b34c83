//! Writes and the rules they enforce, shared by the HTTP handlers and the CLI.

use std::future::Future;

use crate::error::{AppError, AppResult};

pub mod actions;
pub mod actors;
pub mod idempotency;
pub mod keys;

/// Runs a write transaction as its own task. A handler future is dropped when its client
/// disconnects; a transaction driven by it could then leave a connection mid-transaction
/// (a known diesel-async hazard). The spawned task always runs to commit or rollback.
pub async fn spawn_write<T, F>(fut: F) -> AppResult<T>
where
    T: Send + 'static,
    F: Future<Output = AppResult<T>> + Send + 'static,
{
    tokio::spawn(fut)
        .await
        .map_err(|e| AppError::Internal(format!("write task failed: {e}")))?
}

/// Writes one audit entry, in the caller's transaction.
pub async fn audit<T: serde::Serialize>(
    conn: &mut diesel_async::AsyncPgConnection,
    caller: &crate::auth::Caller,
    operation: &str,
    entity: &str,
    entity_id: uuid::Uuid,
    before: Option<&T>,
    after: Option<&T>,
) -> AppResult<()> {
    let json = |v: Option<&T>| {
        v.map(serde_json::to_value)
            .transpose()
            .map_err(|e| AppError::Internal(e.to_string()))
    };
    let entry = crate::models::audit::NewAuditEntry {
        key_id: caller.key_id(),
        request_id: caller.request_id.clone(),
        operation: operation.to_string(),
        entity: entity.to_string(),
        entity_id,
        before: json(before)?,
        after: json(after)?,
    };
    crate::models::audit::insert(conn, &entry).await?;
    Ok(())
}
