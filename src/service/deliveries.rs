//! The outcome of each webhook delivery attempt, for the worker: the cursor moves after a
//! success; a failure is retried with backoff until the give-up moment, when the
//! subscription is disabled (audited).

use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use super::audit;
use super::webhooks::view;
use crate::auth::Caller;
use crate::error::AppResult;
use crate::models::audit::{AuditEntity, AuditOperation};
use crate::models::webhook::{self, NewDelivery, WebhookRow};
use crate::webhook::sender::Outcome;
use crate::webhook::Settings;

fn attempt_row(row: &WebhookRow, seq: i64, outcome: &Outcome) -> NewDelivery {
    NewDelivery {
        webhook_id: row.id,
        seq,
        attempt: row.attempts + 1,
        status_code: outcome.status.map(i32::from),
        error: outcome.error.clone(),
        latency_ms: outcome.latency.as_millis().min(i32::MAX as u128) as i32,
        next_attempt_at: None,
    }
}

/// Entry `seq` was delivered: the cursor moves past it and the claim is renewed; the
/// subscription as it is now, or None when the claim was withdrawn (changed, redelivered,
/// deleted) and the worker must stop.
pub async fn delivered(
    conn: &mut AsyncPgConnection,
    row: &WebhookRow,
    token: Uuid,
    seq: i64,
    outcome: &Outcome,
    lease: Duration,
) -> AppResult<Option<WebhookRow>> {
    webhook::record(conn, &attempt_row(row, seq, outcome)).await?;
    Ok(webhook::advance(conn, row.id, token, seq, lease.as_millis() as i64).await?)
}

/// Entries up to `seq` do not match: the cursor moves past them.
pub async fn skipped(
    conn: &mut AsyncPgConnection,
    row: &WebhookRow,
    token: Uuid,
    seq: i64,
    lease: Duration,
) -> AppResult<Option<WebhookRow>> {
    Ok(webhook::advance(conn, row.id, token, seq, lease.as_millis() as i64).await?)
}

/// The wait before attempt `n + 1` after `n` failures: `retry_base` doubling up to
/// `retry_cap`, then a random share of it between a half and the whole (jitter, so that
/// subscriptions that failed together do not retry together).
pub fn backoff(settings: &Settings, failures: i32) -> Duration {
    let doublings = failures.saturating_sub(1).clamp(0, 30) as u32;
    let full = settings
        .retry_base
        .saturating_mul(1u32 << doublings)
        .min(settings.retry_cap);
    super::jittered(full)
}

/// Entry `seq` failed: the attempt is recorded and the next one scheduled with backoff, or
/// later when the receiver asked so (`Retry-After`), never later than the give-up moment; at that moment, with the entry still failing, the
/// subscription is disabled (and the audit log says so); whether it was. A receiver that
/// answers 410 Gone wants nothing more (Standard Webhooks): disabled at once.
pub async fn failed(
    conn: &mut AsyncPgConnection,
    row: &WebhookRow,
    token: Uuid,
    seq: i64,
    outcome: &Outcome,
    settings: &Settings,
) -> AppResult<bool> {
    let now = Utc::now();
    let since = row.failing_since.unwrap_or(now);
    let give_up_at = chrono::Duration::from_std(settings.give_up_after)
        .ok()
        .and_then(|after| since.checked_add_signed(after))
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    let gone = outcome.status == Some(410);
    let giving_up = gone || now >= give_up_at;
    let retry_at: DateTime<Utc> = if giving_up {
        now
    } else {
        // The receiver's wish is its own to make: any length, so never past the give-up
        // moment, and no arithmetic that could overflow.
        let asked = outcome.retry_after.unwrap_or_default();
        let wait = backoff(settings, row.attempts + 1).max(asked);
        chrono::Duration::from_std(wait)
            .ok()
            .and_then(|wait| now.checked_add_signed(wait))
            .map_or(give_up_at, |at| at.min(give_up_at))
    };
    let mut attempt = attempt_row(row, seq, outcome);
    attempt.next_attempt_at = (!giving_up).then_some(retry_at);
    webhook::record(conn, &attempt).await?;
    let Some(current) = webhook::fail(conn, row.id, token, since, retry_at).await? else {
        return Ok(false);
    };
    if !giving_up {
        log::info!(
            "webhook {}: entry {seq} not delivered ({outcome}); next attempt at {}",
            row.id,
            retry_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        );
        return Ok(false);
    }
    let before = view(conn, &current).await?;
    let reason = match gone {
        true => {
            format!("the receiver answered 410 Gone to entry {seq}: it wants no more deliveries")
        }
        false => format!(
            "entry {seq} could not be delivered for {} s (since {since}); last attempt: \
             {outcome}",
            settings.give_up_after.as_secs(),
        ),
    };
    let disabled = webhook::disable(conn, row.id, &reason).await?;
    let after = view(conn, &disabled).await?;
    log::warn!("webhook {}: disabled; {reason}", row.id);
    audit(
        conn,
        &Caller::cli(),
        AuditOperation::Disable,
        AuditEntity::Webhook,
        row.id,
        Some(&before),
        Some(&after),
    )
    .await?;
    Ok(true)
}
