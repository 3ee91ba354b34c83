//! Writes and the rules they enforce, shared by the HTTP handlers and the CLI.

use std::future::Future;

use crate::error::{AppError, AppResult};

pub mod actions;
pub mod actors;

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
