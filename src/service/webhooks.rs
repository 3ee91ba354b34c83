//! Webhook subscriptions: their rules (target, filter, limits) and the admin's changes, each
//! audited in its transaction. The outcome of delivery attempts is in `deliveries`.

use std::collections::HashMap;
use std::time::Duration;

use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use super::audit;
use crate::auth::Caller;
use crate::db::DbPool;
use crate::error::{AppError, AppResult, FieldError};
use crate::input::check_text;
use crate::limits::{MAX_SHORT_TEXT_LEN, MAX_WEBHOOKS};
use crate::models::actor;
use crate::models::audit::{AuditEntity, AuditOperation};
use crate::models::change::{self, ChangeFilter};
use crate::models::webhook::{self, WebhookRow, WebhookWrite};
use crate::views::{NewWebhookSecret, Webhook};
use crate::webhook::{guard, signing, Settings};

/// A subscription as an admin asks for it (filters already resolved to ids).
#[derive(Debug, Clone)]
pub struct Subscription {
    pub url: String,
    pub description: Option<String>,
    pub filter: ChangeFilter,
    /// Start after this cursor instead of the feed's latest entry.
    pub after: Option<i64>,
}

/// Changes to a subscription; absent parts are kept.
#[derive(Debug, Clone, Default)]
pub struct Changes {
    pub url: Option<String>,
    pub description: Option<Option<String>>,
    pub kinds: Option<Vec<String>>,
    pub entities: Option<Vec<String>>,
    pub actors: Option<Vec<Uuid>>,
    pub dyads: Option<Vec<(Uuid, Uuid)>>,
    pub types: Option<Vec<String>>,
    pub enabled: Option<bool>,
}

/// The rules every subscription keeps.
fn check(errors: &mut Vec<FieldError>, row: &WebhookWrite, allow_private: bool) {
    if let Err(why) = guard::check_url(&row.url, allow_private) {
        errors.push(FieldError::new("url", why));
    }
    check_text(
        errors,
        "description",
        row.description.as_deref(),
        MAX_SHORT_TEXT_LEN,
        false,
    );
    for (i, kind) in row.kinds.iter().enumerate() {
        if kind.parse::<change::ChangeKind>().is_err() {
            let kinds: Vec<&str> = change::ChangeKind::ALL.iter().map(|k| k.as_str()).collect();
            errors.push(FieldError::new(
                "kinds",
                format!(
                    "`{kind}` is not a kind of change; one of {}",
                    kinds.join(", ")
                ),
            ));
        } else if row.kinds[..i].contains(kind) {
            errors.push(FieldError::new("kinds", format!("`{kind}` is given twice")));
        }
    }
}

fn fail_with(faults: Vec<FieldError>, rules: Vec<FieldError>) -> AppResult<()> {
    let all = crate::validation::merge(&faults, rules);
    if all.is_empty() {
        Ok(())
    } else {
        Err(AppError::invalid(all))
    }
}

/// Creates a subscription with a fresh secret (shown in the answer only).
pub async fn create(
    pool: &DbPool,
    caller: &Caller,
    settings: &Settings,
    sub: Subscription,
    faults: Vec<FieldError>,
) -> AppResult<NewWebhookSecret> {
    let caller = caller.clone();
    let settings = settings.clone();
    super::write_outside_feed(pool, move |conn| {
        let (caller, faults, settings, sub) = (caller.clone(), faults.clone(), settings.clone(), sub.clone());
        Box::pin(async move {
            let caller = &caller;
            let settings = &settings;
    let mut write = WebhookWrite {
        url: sub.url,
        description: sub.description,
        kinds: Vec::new(),
        entities: Vec::new(),
        actor_ids: Vec::new(),
        dyads: Vec::new(),
        types: Vec::new(),
        enabled: true,
    };
    write.set_filter(&sub.filter);
    let mut errors = Vec::new();
    check(&mut errors, &write, settings.allow_private);
    hold_named_actors(conn, &write, &mut errors).await?;
    let count = webhook::count_locked(conn).await?;
    if count >= MAX_WEBHOOKS {
        errors.push(FieldError::new(
            "url",
            format!("there are already {count} subscriptions, the most allowed ({MAX_WEBHOOKS}); delete one first"),
        ));
    }
    if let Some(after) = sub.after {
        errors.extend(crate::feed::unknown_cursor(conn, "after", after).await?);
    }
    fail_with(faults, errors)?;
    let after = match sub.after {
        Some(after) => after,
        // From the newest entry committed, sequenced or not: the subscription starts now.
        // Sequenced only here, once the request is sure to succeed (`feed::unknown_cursor`).
        None => {
            change::sequence(conn).await?;
            change::latest(conn).await?
        }
    };
    let secret = signing::new_secret()?;
    let row = webhook::insert(conn, &write, &secret, after).await?;
    let view = view(conn, &row).await?;
    changed(conn, caller, AuditOperation::Create, row.id, None, &view).await?;
    Ok(NewWebhookSecret {
        webhook: view,
        secret,
    })
        })
    })
    .await
}

/// Locks the actors the filters name until the write commits (`actor::lock_ids`): a purge
/// either waits for it and then refuses (the subscription names its actor), or commits
/// first and the actor is missing here. Resolved before the transaction, a purge committing
/// in between left the subscription naming an id no request can give back.
async fn hold_named_actors(
    conn: &mut AsyncPgConnection,
    write: &WebhookWrite,
    errors: &mut Vec<FieldError>,
) -> AppResult<()> {
    let mut ids: Vec<Uuid> = write
        .actor_ids
        .iter()
        .chain(&write.dyads)
        .copied()
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let found = crate::models::actor::lock_ids(conn, &ids).await?;
    for (field, named) in [("actor", &write.actor_ids), ("dyad", &write.dyads)] {
        if named.iter().any(|id| !found.contains(id)) {
            errors.push(FieldError::new(
                field,
                "an actor it names was purged meanwhile; send the filter again",
            ));
        }
    }
    Ok(())
}

/// How long an attempt in flight can still take, in milliseconds (with a margin).
fn settle(settings: &Settings) -> i64 {
    (settings.timeout + Duration::from_secs(1)).as_millis() as i64
}

async fn locked(conn: &mut AsyncPgConnection, id: Uuid) -> AppResult<WebhookRow> {
    webhook::find_for_update(conn, id)
        .await?
        .ok_or_else(|| AppError::not_found(format_args!("webhook {id}")))
}

/// Applies an admin's changes. Re-enabling (or a new URL) clears the failures, and
/// deliveries resume from the cursor.
pub async fn update(
    pool: &DbPool,
    caller: &Caller,
    settings: &Settings,
    id: Uuid,
    changes: Changes,
    faults: Vec<FieldError>,
    expect: super::Expect<Webhook>,
) -> AppResult<Webhook> {
    let caller = caller.clone();
    let settings = settings.clone();
    super::write_outside_feed(pool, move |conn| {
        let (caller, changes, expect, faults, settings) = (
            caller.clone(),
            changes.clone(),
            expect.clone(),
            faults.clone(),
            settings.clone(),
        );
        Box::pin(async move {
            let caller = &caller;
            let settings = &settings;
            let row = locked(conn, id).await?;
            let before = view(conn, &row).await?;
            // An unreadable body is refused whatever the subscription's state (422 before 412), as
            // for actions; rules that read the current state come after the caller's expectation.
            if faults.is_empty() {
                expect(&before)?;
            }
            let mut write = WebhookWrite::from(&row);
            let mut filter = row.filter();
            let reset = changes.url.as_ref().is_some_and(|u| *u != row.url)
                || (changes.enabled == Some(true) && !row.enabled);
            if let Some(url) = changes.url {
                write.url = url;
            }
            if let Some(description) = changes.description {
                write.description = description;
            }
            if let Some(enabled) = changes.enabled {
                write.enabled = enabled;
            }
            filter.kinds = changes.kinds.unwrap_or(filter.kinds);
            filter.entities = changes.entities.unwrap_or(filter.entities);
            filter.actors = changes.actors.unwrap_or(filter.actors);
            filter.dyads = changes.dyads.unwrap_or(filter.dyads);
            filter.types = changes.types.unwrap_or(filter.types);
            write.set_filter(&filter);
            let mut errors = Vec::new();
            check(&mut errors, &write, settings.allow_private);
            hold_named_actors(conn, &write, &mut errors).await?;
            fail_with(faults, errors)?;
            let before_json =
                serde_json::to_value(&before).map_err(|e| AppError::Internal(e.to_string()))?;
            // What deliveries depend on (the target, the filter, enabled): only a change of those
            // stops the delivery in flight. A new description alone used to, and the entry in
            // flight was sent twice.
            let delivering = WebhookWrite {
                description: write.description.clone(),
                ..WebhookWrite::from(&row)
            };
            let redirects = reset || write != delivering;
            super::savepoint(conn).await?;
            let outcome = async {
                let row = webhook::update(conn, id, &write, reset).await?;
                if redirects {
                    webhook::withdraw_claim(conn, id, settle(settings)).await?;
                }
                let after = view(conn, &row).await?;
                Ok((after.clone(), after, false))
            }
            .await;
            // Unchanged: the claim stays, so deliveries in flight go on undisturbed.
            let Some((after, _)) = super::settle_update(conn, &before_json, outcome).await? else {
                return Ok(before);
            };
            changed(
                conn,
                caller,
                AuditOperation::Update,
                id,
                Some(&before),
                &after,
            )
            .await?;
            Ok(after)
        })
    })
    .await
}

pub async fn delete(
    pool: &DbPool,
    caller: &Caller,
    id: Uuid,
    expect: super::Expect<Webhook>,
) -> AppResult<()> {
    let caller = caller.clone();
    super::write_outside_feed(pool, move |conn| {
        let (caller, expect) = (caller.clone(), expect.clone());
        Box::pin(async move {
            let caller = &caller;
            let row = locked(conn, id).await?;
            let before = view(conn, &row).await?;
            expect(&before)?;
            webhook::delete(conn, id).await?;
            audit(
                conn,
                caller,
                AuditOperation::Delete,
                AuditEntity::Webhook,
                id,
                Some(&before),
                None,
            )
            .await?;
            Ok(())
        })
    })
    .await
}

/// Moves the cursor to `from`: the entries after it are sent (again), in order. A disabled
/// subscription is enabled again, since a redelivery asks for deliveries (it used to answer
/// 200 and send nothing); the audit entry shows the change.
pub async fn redeliver(
    pool: &DbPool,
    caller: &Caller,
    settings: &Settings,
    id: Uuid,
    from: i64,
    expect: super::Expect<Webhook>,
) -> AppResult<Webhook> {
    let caller = caller.clone();
    let settings = settings.clone();
    super::write_outside_feed(pool, move |conn| {
        let (caller, settings, expect) = (caller.clone(), settings.clone(), expect.clone());
        Box::pin(async move {
            let caller = &caller;
            let settings = &settings;
            let row = locked(conn, id).await?;
            if let Some(fault) = crate::feed::unknown_cursor(conn, "from_cursor", from).await? {
                return Err(AppError::invalid(vec![fault]));
            }
            let before = view(conn, &row).await?;
            expect(&before)?;
            // Asked to go on from where it stands, with nothing to forget or re-enable: as a
            // PATCH that changes nothing, the subscription is left as it is (same version,
            // no audit entry, the attempt in flight undisturbed).
            let unchanged = row.delivered_seq == from
                && row.enabled
                && row.attempts == 0
                && row.failing_since.is_none();
            if unchanged {
                return Ok(before);
            }
            let row = webhook::rewind(conn, id, from).await?;
            webhook::withdraw_claim(conn, id, settle(settings)).await?;
            let after = view(conn, &row).await?;
            changed(
                conn,
                caller,
                AuditOperation::Redeliver,
                id,
                Some(&before),
                &after,
            )
            .await?;
            Ok(after)
        })
    })
    .await
}

/// Records a change of the subscription the workers follow: its audit entry, and a NOTIFY
/// so that every process's webhook worker picks it up.
async fn changed(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    operation: AuditOperation,
    id: Uuid,
    before: Option<&Webhook>,
    after: &Webhook,
) -> AppResult<()> {
    audit(
        conn,
        caller,
        operation,
        AuditEntity::Webhook,
        id,
        before,
        Some(after),
    )
    .await?;
    Ok(webhook::notify(conn).await?)
}

/// Replaces the secret; the new one signs every attempt from now on, and the replaced one
/// beside it for `SECRET_OVERLAP`.
pub async fn rotate_secret(
    pool: &DbPool,
    caller: &Caller,
    id: Uuid,
    expect: super::Expect<Webhook>,
) -> AppResult<NewWebhookSecret> {
    let caller = caller.clone();
    super::write_outside_feed(pool, move |conn| {
        let (caller, expect) = (caller.clone(), expect.clone());
        Box::pin(async move {
            let caller = &caller;
            let row = locked(conn, id).await?;
            let before = view(conn, &row).await?;
            expect(&before)?;
            let secret = signing::new_secret()?;
            let overlap = chrono::Duration::from_std(crate::webhook::SECRET_OVERLAP)
                .map_err(|e| AppError::Internal(e.to_string()))?;
            let row = webhook::set_secret(conn, id, &secret, chrono::Utc::now() + overlap).await?;
            let after = view(conn, &row).await?;
            audit(
                conn,
                caller,
                AuditOperation::RotateSecret,
                AuditEntity::Webhook,
                id,
                Some(&before),
                Some(&after),
            )
            .await?;
            Ok(NewWebhookSecret {
                webhook: after,
                secret,
            })
        })
    })
    .await
}

/// The public view of subscriptions, with actor codes for the ids of their filters.
pub async fn views(conn: &mut AsyncPgConnection, rows: &[WebhookRow]) -> AppResult<Vec<Webhook>> {
    let mut ids: Vec<Uuid> = rows
        .iter()
        .flat_map(|r| r.actor_ids.iter().chain(&r.dyads))
        .copied()
        .collect();
    ids.sort();
    ids.dedup();
    let codes: HashMap<Uuid, String> = actor::refs_by_ids(conn, &ids)
        .await?
        .into_iter()
        .map(|a| (a.id, a.code))
        .collect();
    // A purged actor has no code left; its id stands in.
    let code = |id: &Uuid| codes.get(id).cloned().unwrap_or_else(|| id.to_string());
    Ok(rows
        .iter()
        .map(|r| Webhook {
            id: r.id,
            url: r.url.clone(),
            description: r.description.clone(),
            kinds: r.kinds.clone(),
            entity: r.entities.clone(),
            actor: r.actor_ids.iter().map(code).collect(),
            dyad: r
                .dyads
                .chunks(2)
                .map(|p| format!("{},{}", code(&p[0]), code(&p[1])))
                .collect(),
            type_: r.types.clone(),
            enabled: r.enabled,
            disabled_reason: r.disabled_reason.clone(),
            delivered_cursor: r.delivered_seq.to_string(),
            failed_attempts: r.attempts,
            failing_since: r.failing_since,
            next_attempt_at: r.next_attempt_at,
            previous_secret_expires_at: r
                .previous_secret_until
                .filter(|until| *until > chrono::Utc::now()),
            created_at: r.created_at,
            updated_at: r.updated_at,
            version: r.version,
        })
        .collect())
}

pub async fn view(conn: &mut AsyncPgConnection, row: &WebhookRow) -> AppResult<Webhook> {
    let mut one = views(conn, std::slice::from_ref(row)).await?;
    one.pop()
        .ok_or_else(|| AppError::Internal("no view of a webhook".into()))
}
