//! The delivery worker, one per `riposte serve` process. It wakes on notifications (changes
//! sequenced, see `wake`; an import; a subscription changed) and on a timer, numbers committed changes, and claims
//! due subscriptions (`models::webhook::claim`: `FOR UPDATE SKIP LOCKED` and a lease), up to
//! `Settings::concurrency` at a time. For each it sends the entries after the cursor one by
//! one, in order, moving the cursor after each 2xx; the first failure ends the turn with a
//! retry scheduled. No database transaction is open while a request is in flight.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::watch;
use tokio::task::JoinSet;
use uuid::Uuid;

use super::sender::Sender;
use super::{signing, Settings};
use crate::db::DbPool;
use crate::error::{AppError, AppResult};
use crate::limits::{MAX_WEBHOOK_PAYLOAD, WEBHOOK_ATTEMPTS_KEPT_DAYS};
use crate::models::change;
use crate::models::webhook::{self, WebhookRow};
use crate::service::deliveries as service;
use crate::views::{Change, WebhookPayload};

/// The worker looks for due subscriptions at least this often.
const POLL: Duration = Duration::from_secs(1);
/// Entries read and rendered together for one subscription.
const BATCH: i64 = 20;
/// Entries sent per claim before the subscription goes back in the queue (fairness).
const PER_TURN: usize = 200;
const PRUNE_EVERY: Duration = Duration::from_secs(600);

struct Context {
    pool: DbPool,
    actors: Arc<crate::documents::ActorCache>,
    settings: Settings,
    sender: Sender,
    metrics: Arc<crate::metrics::Metrics>,
    /// Set when the worker stops: deliveries end after the attempt in flight.
    stopping: watch::Receiver<bool>,
}

/// A running worker; `stop` ends it.
pub struct Worker {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    grace: Duration,
}

impl Worker {
    pub fn start(
        pool: DbPool,
        actors: Arc<crate::documents::ActorCache>,
        settings: Settings,
        metrics: Arc<crate::metrics::Metrics>,
    ) -> AppResult<Worker> {
        let sender = Sender::new(&settings)?;
        let grace = settings.timeout + Duration::from_secs(5);
        let (stop, stopped) = watch::channel(false);
        let context = Arc::new(Context {
            pool,
            actors,
            settings,
            sender,
            metrics,
            stopping: stopped.clone(),
        });
        let task = tokio::spawn(run(context, stopped));
        Ok(Worker { stop, task, grace })
    }

    /// Stops claiming, and lets the attempts in flight finish and be recorded (each is
    /// bounded by the delivery timeout).
    pub async fn stop(self) {
        self.stop.send_replace(true);
        if tokio::time::timeout(self.grace, self.task).await.is_err() {
            log::warn!("webhook deliveries did not stop in time; their claims will run out");
        }
    }
}

async fn run(cx: Arc<Context>, mut stopped: watch::Receiver<bool>) {
    let mut running = JoinSet::new();
    let mut pruned = tokio::time::Instant::now() - PRUNE_EVERY;
    while !*stopped.borrow() {
        if let Err(e) = listen(&cx, &mut running, &mut stopped, &mut pruned).await {
            log::warn!("webhook deliveries: {e}; again in 1 s");
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = stopped.changed() => {}
            }
        }
    }
    while running.join_next().await.is_some() {}
}

async fn listen(
    cx: &Arc<Context>,
    running: &mut JoinSet<()>,
    stopped: &mut watch::Receiver<bool>,
    pruned: &mut tokio::time::Instant,
) -> AppResult<()> {
    // A connection of its own for LISTEN, taken out of the pool for as long as it lives.
    let mut listener = deadpool::managed::Object::take(cx.pool.get().await?);
    for channel in [
        "riposte_changes",
        "riposte_changes_sequenced",
        "riposte_webhooks",
    ] {
        diesel::sql_query(format!("LISTEN {channel}"))
            .execute(&mut listener)
            .await?;
    }
    let mut notifications = std::pin::pin!(listener.notifications_stream());
    let mut sequence = true;
    loop {
        let wait = pass(cx, running, pruned, sequence).await?;
        sequence = tokio::select! {
            woken = notifications.next() => match woken {
                Some(Err(e)) => return Err(e.into()),
                None => return Err(AppError::Unavailable("the LISTEN connection closed".into())),
                Some(Ok(n)) => crate::wake::needs_sequencing(&n),
            },
            _ = tokio::time::sleep(wait) => true,
            Some(_) = running.join_next(), if !running.is_empty() => false,
            _ = stopped.changed() => return Ok(()),
        };
    }
}

use diesel_async::RunQueryDsl;

/// Numbers committed changes (unless the sequencer just did), claims what is due while there
/// is room, prunes old attempts now and then; how long to sleep before looking again.
async fn pass(
    cx: &Arc<Context>,
    running: &mut JoinSet<()>,
    pruned: &mut tokio::time::Instant,
    sequence: bool,
) -> AppResult<Duration> {
    let mut conn = cx.pool.get().await?;
    if sequence {
        change::sequence(&mut conn).await?;
    }
    let lease = cx.settings.lease().as_millis() as i64;
    while running.len() < cx.settings.concurrency.max(1) {
        let token = Uuid::new_v4();
        let Some(row) = webhook::claim(&mut conn, token, lease).await? else {
            break;
        };
        let cx = cx.clone();
        running.spawn(async move {
            let id = row.id;
            if let Err(e) = deliver(&cx, row, token).await {
                log::warn!("webhook {id}: {e}");
                // Give the claim back; the next turn starts from the cursor.
                if let Ok(mut conn) = cx.pool.get().await {
                    let _ = webhook::release(&mut conn, id, token).await;
                }
            }
        });
    }
    if pruned.elapsed() >= PRUNE_EVERY {
        *pruned = tokio::time::Instant::now();
        webhook::prune(&mut conn, WEBHOOK_ATTEMPTS_KEPT_DAYS).await?;
    }
    if running.len() >= cx.settings.concurrency.max(1) {
        // Full: a delivery ending wakes the loop.
        return Ok(POLL);
    }
    let due = webhook::next_due(&mut conn).await?;
    let until_due = due
        .map(|at| (at - chrono::Utc::now()).to_std().unwrap_or(Duration::ZERO))
        .unwrap_or(POLL);
    Ok(until_due.clamp(Duration::from_millis(25), POLL))
}

/// One turn of a claimed subscription: its entries after the cursor, in order, until one
/// fails, none is left, or the turn is used up.
async fn deliver(cx: &Context, mut row: WebhookRow, token: Uuid) -> AppResult<()> {
    let lease = cx.settings.lease();
    let mut sent = 0;
    loop {
        let filter = row.filter();
        let mut conn = cx.pool.get().await?;
        let (rows, scanned_to) = change::page(&mut conn, row.delivered_seq, BATCH, &filter).await?;
        if rows.is_empty() {
            if let Some(to) = scanned_to.filter(|to| *to > row.delivered_seq) {
                match service::skipped(&mut conn, &row, token, to, lease).await? {
                    Some(fresh) if fresh.enabled => {
                        row = fresh;
                        continue;
                    }
                    _ => return Ok(()),
                }
            }
            webhook::release(&mut conn, row.id, token).await?;
            return Ok(());
        }
        let entries = crate::feed::entries(&mut conn, &cx.actors, &rows).await?;
        drop(conn);
        for (change, entry) in rows.iter().zip(entries) {
            if *cx.stopping.borrow() {
                let mut conn = cx.pool.get().await?;
                webhook::release(&mut conn, row.id, token).await?;
                return Ok(());
            }
            let body = payload(entry)?;
            let id = signing::message_id(change.seq, change.at);
            let secrets = row.signing_secrets(chrono::Utc::now());
            let outcome = cx.sender.send(&row.url, &secrets, &id, body).await;
            cx.metrics.webhook_attempt(outcome.delivered());
            let mut conn = cx.pool.get().await?;
            if !outcome.delivered() {
                let settings = cx.settings.clone();
                let (row, seq) = (row.clone(), change.seq);
                let disabled = crate::service::write_outside_feed(&cx.pool, move |conn| {
                    let (outcome, row, settings) = (outcome.clone(), row.clone(), settings.clone());
                    Box::pin(async move {
                        service::failed(conn, &row, token, seq, &outcome, &settings).await
                    })
                })
                .await?;
                if disabled {
                    cx.metrics.webhook_disabled();
                }
                return Ok(());
            }
            let fresh =
                service::delivered(&mut conn, &row, token, change.seq, &outcome, lease).await?;
            match fresh {
                Some(fresh) if fresh.enabled && fresh.url == row.url => row = fresh,
                // Withdrawn, disabled or retargeted meanwhile: the next claim takes over.
                Some(_) => {
                    webhook::release(&mut conn, row.id, token).await?;
                    return Ok(());
                }
                None => return Ok(()),
            }
            sent += 1;
            if sent >= PER_TURN {
                webhook::release(&mut conn, row.id, token).await?;
                return Ok(());
            }
        }
    }
}

/// The body of a delivery, without the entry's document when that would make it larger than
/// `MAX_WEBHOOK_PAYLOAD` (the receiver GETs the record instead).
fn payload(entry: Change) -> AppResult<String> {
    let json = |body: &WebhookPayload| {
        serde_json::to_string(body).map_err(|e| AppError::Internal(e.to_string()))
    };
    let mut body = WebhookPayload::of(entry);
    let text = json(&body)?;
    if text.len() <= MAX_WEBHOOK_PAYLOAD {
        return Ok(text);
    }
    body.entry.document = None;
    json(&body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(summary_len: usize) -> Change {
        Change {
            cursor: "7".into(),
            kind: "created".into(),
            entity: "action".into(),
            id: Uuid::nil(),
            answers: None,
            relation: None,
            status: None,
            at: chrono::Utc::now(),
            document: Some(
                serde_json::value::to_raw_value(
                    &serde_json::json!({"summary": "x".repeat(summary_len)}),
                )
                .unwrap(),
            ),
        }
    }

    #[test]
    fn payloads_are_bounded() {
        let small: serde_json::Value =
            serde_json::from_str(&payload(entry(1000)).unwrap()).unwrap();
        assert_eq!(small["document"]["summary"].as_str().unwrap().len(), 1000);
        let body = payload(entry(MAX_WEBHOOK_PAYLOAD)).unwrap();
        assert!(body.len() < 1000, "{}", body.len());
        let large: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert!(large["document"].is_null());
        assert_eq!(large["cursor"], "7");
        assert_eq!(large["type"], "action.created");
        assert_eq!(small["timestamp"], small["at"]);
    }
}
