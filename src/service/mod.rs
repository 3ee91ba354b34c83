//! Writes and the rules they enforce, and the reads that need more than one query, shared
//! by the HTTP handlers and the CLI.

use std::future::Future;
use std::time::Duration;

use diesel_async::{AnsiTransactionManager, AsyncPgConnection, RunQueryDsl, TransactionManager};
use futures_util::future::BoxFuture;

use crate::error::{AppError, AppResult};
use crate::models::audit::{AuditEntity, AuditOperation};
use crate::state::AppState;

/// What the caller requires of a record's current state before changing it, checked inside
/// the writing transaction with the record locked (the handler builds it from `If-Match`).
pub type Expect<T> = std::sync::Arc<dyn Fn(&T) -> AppResult<()> + Send + Sync>;

/// No requirement.
pub fn anything<T>() -> Expect<T> {
    std::sync::Arc::new(|_| Ok(()))
}

pub mod action_reads;
pub mod actions;
pub mod actors;
pub mod deliveries;
pub mod idempotency;
pub mod imports;
pub mod keys;
pub mod webhooks;

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

/// How many times a write is run when PostgreSQL undoes it for a concurrent one (a deadlock,
/// a serialization failure: `AppError::Contended`). Nothing of an undone run was kept, so
/// the write runs again from its first statement; the last such failure is answered.
pub const WRITE_ATTEMPTS: u32 = 3;

/// Runs `f` in a transaction, as its own task (see `spawn_write`): committed when `f`
/// succeeds, rolled back when it fails, and run again when PostgreSQL undid it for a
/// concurrent write (`WRITE_ATTEMPTS`): `f` must do nothing outside the transaction. After a
/// commit the change sequencer is woken (`wake.rs`): that is how followers of the change log
/// hear of the write.
pub async fn write<T, F>(state: &AppState, f: F) -> AppResult<T>
where
    T: Send + 'static,
    F: for<'c> Fn(&'c mut AsyncPgConnection) -> BoxFuture<'c, AppResult<T>> + Send + Sync + 'static,
{
    let written = write_outside_feed(&state.pool, f).await?;
    state.sequencer.committed();
    Ok(written)
}

/// `write` for what the change log does not follow (webhook subscriptions): nothing to wake.
pub async fn write_outside_feed<T, F>(pool: &crate::db::DbPool, f: F) -> AppResult<T>
where
    T: Send + 'static,
    F: for<'c> Fn(&'c mut AsyncPgConnection) -> BoxFuture<'c, AppResult<T>> + Send + Sync + 'static,
{
    let pool = pool.clone();
    spawn_write(async move {
        let mut attempt = 1;
        loop {
            let mut conn = pool.get().await?;
            match transaction(&mut conn, &f).await {
                Err(AppError::Contended(_)) if attempt < WRITE_ATTEMPTS => {
                    log::info!(
                        "a write was undone for a concurrent one (attempt {attempt} of \
                         {WRITE_ATTEMPTS}); running it again"
                    );
                    drop(conn);
                    // The other write goes on meanwhile; a random share keeps two undone
                    // together from meeting again.
                    tokio::time::sleep(jittered(Duration::from_millis(20) * attempt)).await;
                    attempt += 1;
                }
                outcome => return outcome,
            }
        }
    })
    .await
}

/// A random share of `full`, between a half and the whole.
pub fn jittered(full: Duration) -> Duration {
    let mut random = [0u8; 4];
    let share = match getrandom::fill(&mut random) {
        Ok(()) => f64::from(u32::from_le_bytes(random)) / f64::from(u32::MAX),
        Err(_) => 1.0,
    };
    full.mul_f64(0.5 + share / 2.0)
}

/// Runs a write that accepts `Idempotency-Key`, in a transaction as its own task (see
/// `write`): with a key, a stored first answer is returned instead of doing the work again,
/// and a fresh answer is rendered by `once` and stored in the same transaction.
pub async fn write_once<T, F>(
    state: &AppState,
    once: idempotency::Once<T>,
    f: F,
) -> AppResult<idempotency::Written<T>>
where
    T: Send + 'static,
    F: for<'c> Fn(&'c mut AsyncPgConnection) -> BoxFuture<'c, AppResult<T>> + Send + Sync + 'static,
{
    use idempotency::Written;
    let (once, f) = (std::sync::Arc::new(once), std::sync::Arc::new(f));
    write(state, move |conn| {
        let (once, f) = (once.clone(), f.clone());
        Box::pin(async move {
            if let Some(idem) = &once.idem {
                if let Some(first) = idempotency::begin(conn, idem).await? {
                    return Ok(Written::Replayed(first));
                }
            }
            let value = f(conn).await?;
            let answer = (once.render)(&value)?;
            if let Some(idem) = &once.idem {
                idempotency::store(conn, idem, &answer).await?;
            }
            Ok(Written::Fresh(value, answer))
        })
    })
    .await
}

/// Runs `f` in a transaction on `conn`: committed when `f` succeeds, rolled back when it
/// fails.
pub(crate) async fn transaction<T, F>(conn: &mut AsyncPgConnection, f: F) -> AppResult<T>
where
    F: for<'c> FnOnce(&'c mut AsyncPgConnection) -> BoxFuture<'c, AppResult<T>>,
{
    AnsiTransactionManager::begin_transaction(conn).await?;
    let outcome = f(conn).await;
    finish(conn, outcome).await
}

/// Starts a read that sees one snapshot from its first statement to its last.
const BEGIN_SNAPSHOT: &str = "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY";

/// Runs `f` with `conn` and any `spares` (further connections), all in read-only
/// transactions that see the same snapshot (`pg_export_snapshot`): queries spread over the
/// connections to run at once agree with each other as if they were one statement.
/// `settings` (`SET LOCAL ...` statements, or nothing) goes with each `BEGIN`.
pub async fn read_together<T, F>(
    conn: &mut AsyncPgConnection,
    spares: Vec<&mut AsyncPgConnection>,
    settings: &str,
    f: F,
) -> AppResult<T>
where
    F: for<'c> FnOnce(
        &'c mut AsyncPgConnection,
        Vec<&'c mut AsyncPgConnection>,
    ) -> BoxFuture<'c, AppResult<T>>,
{
    AnsiTransactionManager::begin_transaction_sql(conn, &format!("{BEGIN_SNAPSHOT}; {settings}"))
        .await?;
    let mut begun = Vec::with_capacity(spares.len());
    let mut outcome = match share_snapshot(conn, spares, &mut begun, settings).await {
        Ok(()) => f(conn, begun.iter_mut().map(|s| &mut **s).collect()).await,
        Err(error) => Err(error),
    };
    // Every transaction begun ends, whatever happened on the other connections.
    for spare in begun {
        if let Err(error) = end(spare, outcome.is_ok()).await {
            outcome = Err(error);
        }
    }
    finish(conn, outcome).await
}

/// Begins on each spare a transaction with the snapshot of `conn`'s, moving it to `begun`.
async fn share_snapshot<'a>(
    conn: &mut AsyncPgConnection,
    spares: Vec<&'a mut AsyncPgConnection>,
    begun: &mut Vec<&'a mut AsyncPgConnection>,
    settings: &str,
) -> AppResult<()> {
    #[derive(diesel::QueryableByName)]
    struct Snapshot {
        #[diesel(sql_type = diesel::sql_types::Text)]
        id: String,
    }
    if spares.is_empty() {
        return Ok(());
    }
    let snapshot: Snapshot = diesel::sql_query("SELECT pg_export_snapshot() AS id")
        .get_result(conn)
        .await?;
    // The id comes from PostgreSQL (hex digits and dashes); quoted all the same.
    let begin = format!(
        "{BEGIN_SNAPSHOT}; SET TRANSACTION SNAPSHOT '{}'; {settings}",
        snapshot.id.replace('\'', "''")
    );
    for spare in spares {
        AnsiTransactionManager::begin_transaction_sql(&mut *spare, &begin).await?;
        begun.push(spare);
    }
    Ok(())
}

/// Ends the transaction `f` ran in: commit after success, else rollback and `f`'s error.
async fn finish<T>(conn: &mut AsyncPgConnection, outcome: AppResult<T>) -> AppResult<T> {
    end(conn, outcome.is_ok()).await?;
    outcome
}

/// Commits (`commit`) or rolls back the open transaction on `conn`.
async fn end(conn: &mut AsyncPgConnection, commit: bool) -> AppResult<()> {
    if commit {
        AnsiTransactionManager::commit_transaction(conn).await?;
    } else {
        // The caller's own error is the one to report; a failed rollback leaves the
        // connection marked broken, and the pool discards it.
        let _ = AnsiTransactionManager::rollback_transaction(conn).await;
    }
    Ok(())
}

/// Opens a savepoint in the current transaction; `end` closes it, keeping or undoing only
/// what was written since.
async fn savepoint(conn: &mut AsyncPgConnection) -> AppResult<()> {
    AnsiTransactionManager::begin_transaction(conn).await?;
    Ok(())
}

/// Closes the savepoint an update's writes ran under, and undoes them when they left the
/// record as it was (`before`, as JSON): a PATCH that changes nothing leaves no trace, no new
/// version, change-feed entry, delivery or audit entry. `outcome` is the writes' result, the
/// record as they left it, and whether they wrote anything else (a status change). Gives
/// the result and the record as JSON, or None when undone.
async fn settle_update<T, R: serde::Serialize>(
    conn: &mut AsyncPgConnection,
    before: &serde_json::Value,
    outcome: AppResult<(T, R, bool)>,
) -> AppResult<Option<(T, serde_json::Value)>> {
    let outcome = outcome.and_then(|(value, record, also)| {
        let after = serde_json::to_value(&record).map_err(|e| AppError::Internal(e.to_string()))?;
        Ok((value, after, also))
    });
    let unchanged = matches!(&outcome, Ok((_, after, false)) if same_record(before, after));
    end(conn, outcome.is_ok() && !unchanged).await?;
    let (value, after, _) = outcome?;
    Ok((!unchanged).then_some((value, after)))
}

/// Whether two states of a record are equal in all but what every write stamps on it.
fn same_record(before: &serde_json::Value, after: &serde_json::Value) -> bool {
    crate::models::audit::changed_fields(Some(before), Some(after)).is_empty()
}

/// Writes one audit entry, in the caller's transaction.
pub async fn audit<T: serde::Serialize>(
    conn: &mut AsyncPgConnection,
    caller: &crate::auth::Caller,
    operation: AuditOperation,
    entity: AuditEntity,
    entity_id: uuid::Uuid,
    before: Option<&T>,
    after: Option<&T>,
) -> AppResult<()> {
    let json = |v: Option<&T>| {
        v.map(serde_json::to_value)
            .transpose()
            .map_err(|e| AppError::Internal(e.to_string()))
    };
    let entry = crate::models::audit::NewAuditEntry::new(
        caller.key_id(),
        caller.request_id.clone(),
        operation,
        entity,
        entity_id,
        json(before)?,
        json(after)?,
    );
    crate::models::audit::insert(conn, &entry).await?;
    Ok(())
}
