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

/// Runs `f` in a transaction, as its own task (see `spawn_write`): committed when `f`
/// succeeds, rolled back when it fails.
pub async fn write<T, F>(pool: &crate::db::DbPool, f: F) -> AppResult<T>
where
    T: Send + 'static,
    F: for<'c> FnOnce(
            &'c mut diesel_async::AsyncPgConnection,
        ) -> futures_util::future::BoxFuture<'c, AppResult<T>>
        + Send
        + 'static,
{
    let pool = pool.clone();
    spawn_write(async move {
        let mut conn = pool.get().await?;
        transaction(&mut conn, f).await
    })
    .await
}

/// Runs `f` in a transaction on `conn`: committed when `f` succeeds, rolled back when it
/// fails. Writes go through `write`; reads use this directly when they need `SET LOCAL`.
pub async fn transaction<T, F>(conn: &mut diesel_async::AsyncPgConnection, f: F) -> AppResult<T>
where
    F: for<'c> FnOnce(
        &'c mut diesel_async::AsyncPgConnection,
    ) -> futures_util::future::BoxFuture<'c, AppResult<T>>,
{
    use diesel_async::{AnsiTransactionManager, TransactionManager};
    AnsiTransactionManager::begin_transaction(conn).await?;
    match f(conn).await {
        Ok(value) => {
            AnsiTransactionManager::commit_transaction(conn).await?;
            Ok(value)
        }
        Err(error) => {
            // The caller's own error is the one to report; a failed rollback leaves the
            // connection marked broken, and the pool discards it.
            let _ = AnsiTransactionManager::rollback_transaction(conn).await;
            Err(error)
        }
    }
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
