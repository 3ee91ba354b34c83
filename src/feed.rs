//! The change feed's entries as clients see them, and the live stream behind
//! `GET /v1/events`: one task per process, woken by PostgreSQL notifications (the
//! sequencer's, which `wake` runs after every process's commits; an import's) and by a poll,
//! runs the sequencer, reads the new entries once, renders them once, and broadcasts them to
//! every subscriber.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use diesel_async::{AsyncPgConnection, RunQueryDsl};
use futures_util::StreamExt;
use tokio::sync::broadcast;
use uuid::Uuid;

use crate::db::DbPool;
use crate::documents::ActorCache;
use crate::error::{AppError, AppResult};
use crate::models::change::{self, ChangeFilter, ChangeRow};
use crate::models::{actor, document};
use crate::views::Change;
use serde_json::value::RawValue;

/// A cursor as a client writes it (the decimal `seq` of an entry), given as `field`.
pub fn parse_cursor(field: &str, text: &str) -> Result<i64, crate::error::FieldError> {
    text.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
        crate::error::FieldError::new(field, format!("`{text}` is not a cursor of this feed"))
    })
}

/// The fault of a cursor past the newest entry, given as `field`: no entry gave it (cursors
/// only grow), so it comes from another database, or from this one before a restore, and
/// following it would pass over every entry up to it unseen. Every cursor a client can
/// hold is sequenced already, so this runs no sequencer (whose numbers a refusal's
/// rollback would lose, leaving gaps).
pub async fn unknown_cursor(
    conn: &mut AsyncPgConnection,
    field: &str,
    cursor: i64,
) -> AppResult<Option<crate::error::FieldError>> {
    let newest = change::latest(conn).await?;
    Ok((cursor > newest).then(|| {
        crate::error::FieldError::new(
            field,
            format!(
                "cursor {cursor} is past the newest entry of this feed ({newest}): it comes \
                 from another database, or from this one before it was restored from a \
                 backup; resume from {newest} or earlier"
            ),
        )
    }))
}

/// Entries read per pass of the live task.
const BATCH: i64 = 1000;
/// The live task looks for new entries at least this often, notification or not.
const POLL: Duration = Duration::from_secs(1);

/// The feed entries of `rows`, with the current documents of what they concern.
pub async fn entries(
    conn: &mut AsyncPgConnection,
    actors_cache: &Arc<ActorCache>,
    rows: &[ChangeRow],
) -> AppResult<Vec<Change>> {
    let mut action_ids: Vec<Uuid> = rows
        .iter()
        .filter(|r| r.entity != "actor")
        .map(|r| r.entity_id)
        .collect();
    action_ids.sort();
    action_ids.dedup();
    let stored = document::find_many(conn, &action_ids).await?;
    // Sent as stored: wrapped, not re-serialised.
    let actions: HashMap<Uuid, Box<RawValue>> = actors_cache
        .complete(conn, stored)
        .await?
        .into_iter()
        .map(|d| {
            let raw = RawValue::from_string(d.body)
                .map_err(|e| AppError::Internal(format!("stored document of {}: {e}", d.id)))?;
            Ok((d.id, raw))
        })
        .collect::<AppResult<_>>()?;
    let mut actors: HashMap<Uuid, Box<RawValue>> = HashMap::new();
    for r in rows.iter().filter(|r| r.entity == "actor") {
        if actors.contains_key(&r.entity_id) {
            continue;
        }
        let key = r.entity_id.to_string();
        if let Some(row) = actor::find(conn, &key, true).await? {
            let view = crate::service::actors::view(conn, row).await?;
            actors.insert(r.entity_id, json(&view)?);
        }
    }
    Ok(rows
        .iter()
        .map(|r| Change {
            cursor: r.seq.to_string(),
            kind: r.kind.clone(),
            entity: r.entity.clone(),
            id: r.entity_id,
            answers: r.related_id,
            relation: r.relation.clone(),
            status: r.status.clone(),
            at: r.at,
            document: match r.entity.as_str() {
                "actor" => actors.get(&r.entity_id).cloned(),
                _ => actions.get(&r.entity_id).cloned(),
            },
        })
        .collect())
}

fn json<T: serde::Serialize>(value: &T) -> AppResult<Box<RawValue>> {
    serde_json::value::to_raw_value(value).map_err(|e| AppError::Internal(e.to_string()))
}

/// A new entry as the live stream sends it: what filters read, and its JSON, made once.
#[derive(Debug)]
pub struct Event {
    pub row: ChangeRow,
    pub json: String,
}

/// The live stream of one process.
pub struct Feed {
    sender: broadcast::Sender<Arc<Event>>,
    /// The `seq` of the last entry broadcast.
    latest: AtomicI64,
}

impl Feed {
    /// Starts the live task; `capacity` entries are kept for subscribers that fall behind
    /// (one that falls further is dropped, with its resume point).
    pub async fn start(
        pool: DbPool,
        actors: Arc<ActorCache>,
        capacity: usize,
    ) -> AppResult<Arc<Feed>> {
        let mut conn = pool.get().await?;
        change::sequence(&mut conn).await?;
        let latest = change::latest(&mut conn).await?;
        drop(conn);
        let (sender, _) = broadcast::channel(capacity.max(1));
        let feed = Arc::new(Feed {
            sender,
            latest: AtomicI64::new(latest),
        });
        tokio::spawn(run(feed.clone(), pool, actors));
        Ok(feed)
    }

    /// Entries broadcast from now on, and the `seq` of the last one broadcast before.
    pub fn subscribe(&self) -> (broadcast::Receiver<Arc<Event>>, i64) {
        let receiver = self.sender.subscribe();
        (receiver, AtomicI64::load(&self.latest, Ordering::SeqCst))
    }
}

/// Listens, sequences, reads and broadcasts until the process ends; reconnects after a
/// database outage.
async fn run(feed: Arc<Feed>, pool: DbPool, actors: Arc<ActorCache>) {
    loop {
        if let Err(e) = listen(&feed, &pool, &actors).await {
            log::warn!("change feed: {e}; reconnecting in 1 s");
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn listen(feed: &Feed, pool: &DbPool, actors: &Arc<ActorCache>) -> AppResult<()> {
    // A connection of its own for LISTEN, taken out of the pool for as long as it lives.
    let mut listener = deadpool::managed::Object::take(pool.get().await?);
    diesel::sql_query("LISTEN riposte_changes")
        .execute(&mut listener)
        .await?;
    diesel::sql_query("LISTEN riposte_changes_sequenced")
        .execute(&mut listener)
        .await?;
    let mut notifications = std::pin::pin!(listener.notifications_stream());
    loop {
        // Whatever arrived meanwhile is covered by the pass below.
        let sequence = tokio::select! {
            woken = notifications.next() => match woken {
                Some(Err(e)) => return Err(e.into()),
                None => return Err(AppError::Unavailable("the LISTEN connection closed".into())),
                Some(Ok(n)) => crate::wake::needs_sequencing(&n),
            },
            _ = tokio::time::sleep(POLL) => true,
        };
        pass(feed, pool, actors, sequence).await?;
    }
}

/// Numbers what committed (unless the sequencer just did), then reads and broadcasts
/// everything after `latest`.
async fn pass(
    feed: &Feed,
    pool: &DbPool,
    actors: &Arc<ActorCache>,
    sequence: bool,
) -> AppResult<()> {
    let mut conn = pool.get().await?;
    if sequence {
        change::sequence(&mut conn).await?;
    }
    loop {
        let after = AtomicI64::load(&feed.latest, Ordering::SeqCst);
        let (rows, _) = change::page(&mut conn, after, BATCH, &ChangeFilter::default()).await?;
        let Some(last) = rows.last().map(|r| r.seq) else {
            return Ok(());
        };
        let rendered = entries(&mut conn, actors, &rows).await?;
        // Serialized first, then sent back to back: a subscriber further behind than the
        // buffer lags whatever the timing of the two cores (the test of dropping relies
        // on it).
        let events = rows
            .into_iter()
            .zip(rendered)
            .map(|(row, entry)| {
                let json =
                    serde_json::to_string(&entry).map_err(|e| AppError::Internal(e.to_string()))?;
                Ok(Arc::new(Event { row, json }))
            })
            .collect::<AppResult<Vec<_>>>()?;
        for event in events {
            // No subscriber is not an error.
            let _ = feed.sender.send(event);
        }
        feed.latest.store(last, Ordering::SeqCst);
    }
}
