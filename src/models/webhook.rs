//! Webhook subscriptions and their delivery attempts (migration 000014): the rows, the
//! admin's queries, and the worker's claim/advance/fail steps, each guarded by the claim
//! token so that only the holder of a subscription's claim moves its cursor.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Nullable, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::models::change::ChangeFilter;
use crate::models::sql::{Bind, Sql};
use crate::schema::webhooks;

#[derive(Debug, Clone, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = webhooks)]
pub struct WebhookRow {
    pub id: Uuid,
    pub url: String,
    pub description: Option<String>,
    pub secret: String,
    pub kinds: Vec<String>,
    pub entities: Vec<String>,
    pub actor_ids: Vec<Uuid>,
    pub dyads: Vec<Uuid>,
    pub types: Vec<String>,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub delivered_seq: i64,
    pub attempts: i32,
    pub failing_since: Option<DateTime<Utc>>,
    pub next_attempt_at: DateTime<Utc>,
    pub claim: Option<Uuid>,
    pub claimed_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
    /// The secret before the last rotation, and until when it signs beside `secret`.
    pub previous_secret: Option<String>,
    pub previous_secret_until: Option<DateTime<Utc>>,
}

impl WebhookRow {
    /// The secrets that sign an attempt made at `now`: the current one, and the one it
    /// replaced while that still overlaps.
    pub fn signing_secrets(&self, now: DateTime<Utc>) -> Vec<&str> {
        let previous = self
            .previous_secret
            .as_deref()
            .filter(|_| self.previous_secret_until.is_some_and(|until| until > now));
        std::iter::once(self.secret.as_str())
            .chain(previous)
            .collect()
    }

    /// The entries the subscription wants.
    pub fn filter(&self) -> ChangeFilter {
        ChangeFilter {
            kinds: self.kinds.clone(),
            entities: self.entities.clone(),
            actors: self.actor_ids.clone(),
            dyads: self.dyads.chunks(2).map(|p| (p[0], p[1])).collect(),
            types: self.types.clone(),
        }
    }
}

/// What an admin sets: the target and the filter (a new subscription, or a changed one).
#[derive(Debug, Clone, PartialEq, Insertable, AsChangeset)]
#[diesel(table_name = webhooks, treat_none_as_null = true)]
pub struct WebhookWrite {
    pub url: String,
    pub description: Option<String>,
    pub kinds: Vec<String>,
    pub entities: Vec<String>,
    pub actor_ids: Vec<Uuid>,
    pub dyads: Vec<Uuid>,
    pub types: Vec<String>,
    pub enabled: bool,
}

impl WebhookWrite {
    pub fn set_filter(&mut self, f: &ChangeFilter) {
        self.kinds = f.kinds.clone();
        self.entities = f.entities.clone();
        self.actor_ids = f.actors.clone();
        self.dyads = f.dyads.iter().flat_map(|&(a, b)| [a, b]).collect();
        self.types = f.types.clone();
    }
}

impl From<&WebhookRow> for WebhookWrite {
    fn from(r: &WebhookRow) -> Self {
        WebhookWrite {
            url: r.url.clone(),
            description: r.description.clone(),
            kinds: r.kinds.clone(),
            entities: r.entities.clone(),
            actor_ids: r.actor_ids.clone(),
            dyads: r.dyads.clone(),
            types: r.types.clone(),
            enabled: r.enabled,
        }
    }
}

pub async fn insert(
    conn: &mut AsyncPgConnection,
    row: &WebhookWrite,
    secret: &str,
    delivered_seq: i64,
) -> QueryResult<WebhookRow> {
    diesel::insert_into(webhooks::table)
        .values((
            row,
            webhooks::secret.eq(secret),
            webhooks::delivered_seq.eq(delivered_seq),
        ))
        .returning(WebhookRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<WebhookRow>> {
    webhooks::table
        .find(id)
        .select(WebhookRow::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn find_for_update(
    conn: &mut AsyncPgConnection,
    id: Uuid,
) -> QueryResult<Option<WebhookRow>> {
    webhooks::table
        .find(id)
        .select(WebhookRow::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

/// Oldest first, keyset-paged on (created_at, id).
pub async fn list(
    conn: &mut AsyncPgConnection,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> QueryResult<Vec<WebhookRow>> {
    let mut query = webhooks::table.select(WebhookRow::as_select()).into_boxed();
    if let Some((at, id)) = after {
        query = query.filter(
            webhooks::created_at
                .gt(at)
                .or(webhooks::created_at.eq(at).and(webhooks::id.gt(id))),
        );
    }
    query
        .order((webhooks::created_at.asc(), webhooks::id.asc()))
        .limit(limit)
        .load(conn)
        .await
}

/// The subscriptions whose actor or dyad filters name `actor` (by id, as they are kept).
pub async fn naming_actor(conn: &mut AsyncPgConnection, actor: Uuid) -> QueryResult<Vec<Uuid>> {
    webhooks::table
        .filter(
            webhooks::actor_ids
                .contains(vec![actor])
                .or(webhooks::dyads.contains(vec![actor])),
        )
        .order(webhooks::created_at.asc())
        .select(webhooks::id)
        .load(conn)
        .await
}

/// How many subscriptions there are, counted under a transaction-scoped lock that every
/// creation takes, so that concurrent creations cannot pass the limit together.
pub async fn count_locked(conn: &mut AsyncPgConnection) -> QueryResult<i64> {
    diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended('riposte webhooks', 0))")
        .execute(conn)
        .await?;
    webhooks::table.count().get_result(conn).await
}

/// An admin's change (see `withdraw_claim`).
pub async fn update(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    row: &WebhookWrite,
    reset_failures: bool,
) -> QueryResult<WebhookRow> {
    let target = webhooks::table.find(id);
    let now = Utc::now();
    let bumped = (
        row,
        webhooks::updated_at.eq(now),
        webhooks::version.eq(webhooks::version + 1),
    );
    if reset_failures {
        diesel::update(target)
            .set((
                bumped,
                webhooks::disabled_reason.eq(None::<String>),
                webhooks::attempts.eq(0),
                webhooks::failing_since.eq(None::<DateTime<Utc>>),
                webhooks::next_attempt_at.eq(now),
            ))
            .returning(WebhookRow::as_returning())
            .get_result(conn)
            .await
    } else {
        diesel::update(target)
            .set(bumped)
            .returning(WebhookRow::as_returning())
            .get_result(conn)
            .await
    }
}

/// Moves the cursor (redelivery): entries after `seq` are sent again, from now; a disabled
/// subscription is enabled again.
pub async fn rewind(conn: &mut AsyncPgConnection, id: Uuid, seq: i64) -> QueryResult<WebhookRow> {
    diesel::update(webhooks::table.find(id))
        .set((
            webhooks::delivered_seq.eq(seq),
            webhooks::enabled.eq(true),
            webhooks::disabled_reason.eq(None::<String>),
            webhooks::attempts.eq(0),
            webhooks::failing_since.eq(None::<DateTime<Utc>>),
            webhooks::next_attempt_at.eq(Utc::now()),
            webhooks::updated_at.eq(Utc::now()),
            webhooks::version.eq(webhooks::version + 1),
        ))
        .returning(WebhookRow::as_returning())
        .get_result(conn)
        .await
}

/// Takes the claim away from whoever holds it, after an admin's change: the holder finishes
/// the attempt in flight, fails to record progress under its claim, and stops. The lease is
/// cut to `settle_ms` (the longest an attempt can still take), after which the next claim
/// works with the change; never two attempts in flight for one subscription. A subscription
/// nobody holds stays free (`least` ignores NULL: it would otherwise get a lease, and
/// deliveries would pause for `settle_ms`).
pub async fn withdraw_claim(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    settle_ms: i64,
) -> QueryResult<()> {
    diesel::sql_query(
        "UPDATE webhooks SET claim = NULL, \
                claimed_until = least(claimed_until, now() + $2 * interval '1 millisecond') \
         WHERE id = $1 AND claimed_until IS NOT NULL",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<BigInt, _>(settle_ms)
    .execute(conn)
    .await
    .map(|_| ())
}

/// Replaces the secret; the one replaced keeps signing beside it until `previous_until`.
pub async fn set_secret(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    secret: &str,
    previous_until: DateTime<Utc>,
) -> QueryResult<WebhookRow> {
    diesel::update(webhooks::table.find(id))
        .set((
            webhooks::previous_secret.eq(webhooks::secret.nullable()),
            webhooks::previous_secret_until.eq(previous_until),
            webhooks::secret.eq(secret),
            webhooks::updated_at.eq(Utc::now()),
            webhooks::version.eq(webhooks::version + 1),
        ))
        .returning(WebhookRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn delete(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<usize> {
    diesel::delete(webhooks::table.find(id)).execute(conn).await
}

/// Wakes the delivery workers of every process (sent at commit).
pub async fn notify(conn: &mut AsyncPgConnection) -> QueryResult<()> {
    diesel::sql_query("SELECT pg_notify('riposte_webhooks', '')")
        .execute(conn)
        .await
        .map(|_| ())
}

// The worker's steps.

/// Claims one subscription that is due and has entries past its cursor, for `lease_ms`:
/// `FOR UPDATE SKIP LOCKED` lets concurrent claimers pass over each other, and the lease
/// keeps others away until it runs out or is released.
pub async fn claim(
    conn: &mut AsyncPgConnection,
    token: Uuid,
    lease_ms: i64,
) -> QueryResult<Option<WebhookRow>> {
    // Kept prepared, like `next_due`: the worker runs both after every batch of commits.
    let mut sql = Sql::text(
        "UPDATE webhooks w SET claim = $1, \
                claimed_until = now() + $2 * interval '1 millisecond' \
         WHERE w.id = (SELECT id FROM webhooks \
                       WHERE enabled AND next_attempt_at <= now() \
                         AND (claimed_until IS NULL OR claimed_until < now()) \
                         AND delivered_seq < (SELECT coalesce(max(seq), 0) FROM changes) \
                       ORDER BY next_attempt_at LIMIT 1 \
                       FOR UPDATE SKIP LOCKED) \
         RETURNING w.*",
    );
    sql.bind(Bind::Uuid(token));
    sql.bind(Bind::Int(lease_ms));
    sql.get_result(conn).await.optional()
}

/// Moves the cursor to `seq` (delivered, or looked past) and renews the lease; None when
/// the claim is no longer `token`'s.
pub async fn advance(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    token: Uuid,
    seq: i64,
    lease_ms: i64,
) -> QueryResult<Option<WebhookRow>> {
    diesel::sql_query(
        "UPDATE webhooks SET delivered_seq = greatest(delivered_seq, $3), attempts = 0, \
                failing_since = NULL, next_attempt_at = now(), \
                claimed_until = now() + $4 * interval '1 millisecond' \
         WHERE id = $1 AND claim = $2 RETURNING *",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<SqlUuid, _>(token)
    .bind::<BigInt, _>(seq)
    .bind::<BigInt, _>(lease_ms)
    .get_result(conn)
    .await
    .optional()
}

/// Records a failed attempt at the entry after the cursor and releases the claim until
/// `next_attempt_at`; None when the claim is no longer `token`'s.
pub async fn fail(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    token: Uuid,
    failing_since: DateTime<Utc>,
    next_attempt_at: DateTime<Utc>,
) -> QueryResult<Option<WebhookRow>> {
    diesel::sql_query(
        "UPDATE webhooks SET attempts = attempts + 1, failing_since = $3, \
                next_attempt_at = $4, claim = NULL, claimed_until = NULL \
         WHERE id = $1 AND claim = $2 RETURNING *",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<SqlUuid, _>(token)
    .bind::<Timestamptz, _>(failing_since)
    .bind::<Timestamptz, _>(next_attempt_at)
    .get_result(conn)
    .await
    .optional()
}

/// Gives the claim back (nothing left to send for now).
pub async fn release(conn: &mut AsyncPgConnection, id: Uuid, token: Uuid) -> QueryResult<()> {
    diesel::sql_query(
        "UPDATE webhooks SET claim = NULL, claimed_until = NULL WHERE id = $1 AND claim = $2",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<SqlUuid, _>(token)
    .execute(conn)
    .await
    .map(|_| ())
}

/// Stops deliveries (given up); the cursor stays where it is, for a re-enable.
pub async fn disable(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    reason: &str,
) -> QueryResult<WebhookRow> {
    diesel::update(webhooks::table.find(id))
        .set((
            webhooks::enabled.eq(false),
            webhooks::disabled_reason.eq(reason),
            webhooks::updated_at.eq(Utc::now()),
            webhooks::version.eq(webhooks::version + 1),
        ))
        .returning(WebhookRow::as_returning())
        .get_result(conn)
        .await
}

/// When the soonest subscription with entries past its cursor can next be claimed (None:
/// none can): its retry time, or the end of the lease another delivery holds.
pub async fn next_due(conn: &mut AsyncPgConnection) -> QueryResult<Option<DateTime<Utc>>> {
    #[derive(QueryableByName)]
    struct Due {
        #[diesel(sql_type = Nullable<Timestamptz>)]
        at: Option<DateTime<Utc>>,
    }
    let due: Due = Sql::text(
        "SELECT min(greatest(next_attempt_at, coalesce(claimed_until, next_attempt_at))) AS at \
         FROM webhooks \
         WHERE enabled AND delivered_seq < (SELECT coalesce(max(seq), 0) FROM changes)",
    )
    .get_result(conn)
    .await?;
    Ok(due.at)
}

// Delivery attempts.

#[derive(Debug, Clone, QueryableByName)]
pub struct DeliveryRow {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = BigInt)]
    pub seq: i64,
    /// The feed entry's own time (`changes.at`), part of its `webhook-id`.
    #[diesel(sql_type = Timestamptz)]
    pub entry_at: DateTime<Utc>,
    #[diesel(sql_type = Integer)]
    pub attempt: i32,
    #[diesel(sql_type = Nullable<Integer>)]
    pub status_code: Option<i32>,
    #[diesel(sql_type = Nullable<diesel::sql_types::Text>)]
    pub error: Option<String>,
    #[diesel(sql_type = Integer)]
    pub latency_ms: i32,
    #[diesel(sql_type = Timestamptz)]
    pub at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub next_attempt_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct NewDelivery {
    pub webhook_id: Uuid,
    pub seq: i64,
    pub attempt: i32,
    pub status_code: Option<i32>,
    pub error: Option<String>,
    pub latency_ms: i32,
    pub next_attempt_at: Option<DateTime<Utc>>,
}

/// Records an attempt, unless the subscription was deleted meanwhile.
pub async fn record(conn: &mut AsyncPgConnection, d: &NewDelivery) -> QueryResult<()> {
    diesel::sql_query(
        "INSERT INTO webhook_deliveries \
             (webhook_id, seq, attempt, status_code, error, latency_ms, next_attempt_at) \
         SELECT $1, $2, $3, $4, $5, $6, $7 WHERE EXISTS (SELECT 1 FROM webhooks WHERE id = $1)",
    )
    .bind::<SqlUuid, _>(d.webhook_id)
    .bind::<BigInt, _>(d.seq)
    .bind::<Integer, _>(d.attempt)
    .bind::<Nullable<Integer>, _>(d.status_code)
    .bind::<Nullable<diesel::sql_types::Text>, _>(&d.error)
    .bind::<Integer, _>(d.latency_ms)
    .bind::<Nullable<Timestamptz>, _>(d.next_attempt_at)
    .execute(conn)
    .await
    .map(|_| ())
}

/// A subscription's attempts, newest first, keyset-paged on the id.
pub async fn deliveries(
    conn: &mut AsyncPgConnection,
    webhook_id: Uuid,
    before_id: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<DeliveryRow>> {
    diesel::sql_query(
        "SELECT d.id, d.seq, c.at AS entry_at, d.attempt, d.status_code, d.error, d.latency_ms,
                d.at, d.next_attempt_at
         FROM webhook_deliveries d JOIN changes c ON c.seq = d.seq
         WHERE d.webhook_id = $1 AND ($2::bigint IS NULL OR d.id < $2)
         ORDER BY d.id DESC LIMIT $3",
    )
    .bind::<SqlUuid, _>(webhook_id)
    .bind::<Nullable<BigInt>, _>(before_id)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await
}

/// Forgets attempts older than `days`.
pub async fn prune(conn: &mut AsyncPgConnection, days: i32) -> QueryResult<usize> {
    diesel::sql_query("DELETE FROM webhook_deliveries WHERE at < now() - $1 * interval '1 day'")
        .bind::<Integer, _>(days)
        .execute(conn)
        .await
}

/// The webhook subscriptions as the database has them, shared by every process on it.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct WebhookFigures {
    /// Enabled subscriptions whose last attempt succeeded (or that never failed).
    pub healthy: i64,
    /// Enabled subscriptions retrying a failed entry.
    pub failing: i64,
    pub disabled: i64,
    /// Sequenced feed entries past the cursors of enabled subscriptions, summed: the entries
    /// still to send or to pass over (those a filter leaves out count until the worker
    /// moves past them).
    pub backlog: i64,
}

/// The subscriptions by state and the entries past the enabled ones' cursors (`seq` is
/// gap-free, so the distance to the newest entry is a count), for `GET /metrics`.
pub async fn figures(conn: &mut AsyncPgConnection) -> QueryResult<WebhookFigures> {
    #[derive(QueryableByName)]
    struct Figures {
        #[diesel(sql_type = BigInt)]
        healthy: i64,
        #[diesel(sql_type = BigInt)]
        failing: i64,
        #[diesel(sql_type = BigInt)]
        disabled: i64,
        #[diesel(sql_type = BigInt)]
        backlog: i64,
    }
    let f: Figures = diesel::sql_query(
        "SELECT count(*) FILTER (WHERE enabled AND failing_since IS NULL) AS healthy, \
                count(*) FILTER (WHERE enabled AND failing_since IS NOT NULL) AS failing, \
                count(*) FILTER (WHERE NOT enabled) AS disabled, \
                coalesce(sum(greatest(newest.seq - delivered_seq, 0)) FILTER (WHERE enabled), \
                         0)::int8 AS backlog \
         FROM webhooks, (SELECT coalesce(max(seq), 0) AS seq FROM changes) AS newest",
    )
    .get_result(conn)
    .await?;
    Ok(WebhookFigures {
        healthy: f.healthy,
        failing: f.failing,
        disabled: f.disabled,
        backlog: f.backlog,
    })
}
