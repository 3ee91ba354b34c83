//! The JSON shapes the API returns. Field names are the public contract.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::AppResult;
use crate::models::action::StatusChangeRow;
use crate::models::action_type::ActionTypeRow;
use crate::models::actor::{ActorRefRow, ActorRow};
use crate::models::enums::{
    parse_stored, ActionStatus, ActorKind, Category, DatePrecision, Relation,
};

/// A page of results. Pass `next_page_token` back as `page_token` for the next page; it is
/// null on the last page.
#[derive(Debug, Serialize, ToSchema)]
pub struct List<T> {
    pub items: Vec<T>,
    /// Opaque cursor for the next page, or null when this is the last page.
    #[schema(required = true)]
    pub next_page_token: Option<String>,
    /// The exact number of matching items over all pages; only when asked for with
    /// `include_total=true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<i64>,
}

impl<T> List<T> {
    /// A list that is never paged.
    pub fn one_page(items: Vec<T>) -> Self {
        List {
            items,
            next_page_token: None,
            total: None,
        }
    }
}

/// An actor as other records show it.
#[derive(Debug, Clone, Serialize, ToSchema, serde::Deserialize)]
#[schema(example = json!({"id": "0190f5c4-1f3a-7c2e-9a51-3c1d2e4f5a60", "code": "USA", "name": "United States", "kind": "state"}))]
pub struct ActorRef {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    pub kind: ActorKind,
}

impl ActorRef {
    pub fn from_row(row: &ActorRefRow) -> AppResult<Self> {
        Ok(ActorRef {
            id: row.id,
            code: row.code.clone(),
            name: row.name.clone(),
            kind: parse_stored(&row.kind)?,
        })
    }
}

/// A state, IGO, government body, person, organisation or company.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0190f5c4-1f3a-7c2e-9a51-3c1d2e4f5a61",
    "code": "chen-quanguo",
    "name": "Chen Quanguo",
    "kind": "person",
    "country": "CHN",
    "parent": null,
    "aliases": ["陈全国"],
    "wikidata_id": null,
    "description": "Party Secretary of the Xinjiang Uyghur Autonomous Region (2016-2021).",
    "created_at": "2026-11-28T12:00:00Z",
    "updated_at": "2026-11-28T12:00:00Z",
    "version": 1
}))]
pub struct Actor {
    pub id: Uuid,
    /// ISO 3166-1 alpha-3 in upper case for states, a lower-case slug for everything else.
    pub code: String,
    pub name: String,
    pub kind: ActorKind,
    /// The state the actor belongs to (alpha-3); null for states and IGOs.
    #[schema(required = true)]
    pub country: Option<String>,
    /// Code of the body or state the actor belongs to.
    #[schema(required = true)]
    pub parent: Option<String>,
    pub aliases: Vec<String>,
    #[schema(required = true)]
    pub wikidata_id: Option<String>,
    #[schema(required = true)]
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Incremented by every change.
    pub version: i64,
    /// When the actor was deleted; only deleted actors shown with `show_deleted=true` have it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<DateTime<Utc>>,
}

impl Actor {
    pub fn from_row(row: ActorRow, parent_code: Option<String>) -> AppResult<Self> {
        Ok(Actor {
            id: row.id,
            kind: parse_stored(&row.kind)?,
            code: row.code,
            name: row.name,
            country: row.country,
            parent: parent_code,
            aliases: row.aliases,
            wikidata_id: row.wikidata_id,
            description: row.description,
            created_at: row.created_at,
            updated_at: row.updated_at,
            version: row.version,
            deleted_at: row.deleted_at,
        })
    }
}

/// A person or body an action names.
#[derive(Debug, Serialize, ToSchema, serde::Deserialize)]
pub struct Designation {
    pub actor: ActorRef,
    /// The designation's own listing date, when it differs from the action's.
    #[schema(required = true)]
    pub listed_on: Option<NaiveDate>,
}

/// Where an action is reported.
#[derive(Debug, Serialize, ToSchema, serde::Deserialize)]
pub struct Source {
    #[schema(example = "https://home.treasury.gov/news/press-releases/sm1055")]
    pub url: String,
    #[schema(required = true)]
    pub publisher: Option<String>,
    #[schema(required = true)]
    pub published_on: Option<NaiveDate>,
    /// A short verbatim passage supporting the record.
    #[schema(required = true)]
    pub quote: Option<String>,
}

/// An edge of the response graph: this action answers `action`.
#[derive(Debug, Serialize, ToSchema, serde::Deserialize)]
pub struct ResponseLink {
    /// The id of the earlier action answered.
    pub action: Uuid,
    pub relation: Relation,
}

/// An action of one state (or IGO) towards another, with what it names, its sources and
/// the earlier actions it answers.
#[derive(Debug, Serialize, ToSchema, serde::Deserialize)]
#[schema(example = action_example)]
pub struct Action {
    pub id: Uuid,
    pub title: String,
    #[schema(required = true)]
    pub summary: Option<String>,
    /// The state or IGO that acts.
    pub initiator: ActorRef,
    /// The state or IGO acted upon.
    pub target: ActorRef,
    /// The body that took the action for the initiator (e.g. the US Treasury).
    #[schema(required = true)]
    pub authority: Option<ActorRef>,
    /// The action type's code (see `GET /v1/action-types`).
    #[serde(rename = "type")]
    pub type_: String,
    /// The action type's category.
    pub category: Category,
    pub status: ActionStatus,
    /// When it was announced or listed: the first day of the month or year when only those
    /// are known (see `date_precision`).
    pub announced_on: NaiveDate,
    pub date_precision: DatePrecision,
    /// When it takes effect.
    #[schema(required = true)]
    pub effective_from: Option<NaiveDate>,
    /// When it ends (inclusive).
    #[schema(required = true)]
    pub effective_to: Option<NaiveDate>,
    #[schema(required = true)]
    pub legal_basis: Option<String>,
    #[schema(required = true)]
    pub program: Option<String>,
    /// Goldstein-scale weight, -10 (most hostile) to +10; defaults to the type's.
    pub severity: f64,
    pub tags: Vec<String>,
    /// Ordered by actor id (an order that no rename of an actor changes).
    pub designations: Vec<Designation>,
    pub sources: Vec<Source>,
    /// The earlier actions this one answers.
    pub responds_to: Vec<ResponseLink>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Incremented by every change.
    pub version: i64,
    /// When the action was deleted; only deleted actions shown with `show_deleted=true` have it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<DateTime<Utc>>,
    /// The identifier another dataset gives this action (see `NewAction`).
    #[schema(required = true)]
    pub external_id: Option<String>,
    #[schema(required = true)]
    pub source_dataset: Option<String>,
}

/// The vow of 10 July 2020, as the API shows it.
pub fn action_example() -> serde_json::Value {
    serde_json::json!({
        "id": "0a1f0000-0000-4000-8000-000000000008",
        "title": "China vows reciprocal action over US Xinjiang sanctions",
        "summary": "Foreign ministry spokesman Zhao Lijian announced reciprocal action against US institutions and individuals.",
        "initiator": {"id": "0190f5c4-1f3a-7c2e-9a51-3c1d2e4f5a62", "code": "CHN", "name": "China", "kind": "state"},
        "target": {"id": "0190f5c4-1f3a-7c2e-9a51-3c1d2e4f5a60", "code": "USA", "name": "United States", "kind": "state"},
        "authority": {"id": "0190f5c4-1f3a-7c2e-9a51-3c1d2e4f5a63", "code": "chn-mfa", "name": "Ministry of Foreign Affairs of the People's Republic of China", "kind": "government_body"},
        "type": "threaten",
        "category": "threat",
        "status": "threatened",
        "announced_on": "2020-07-10",
        "date_precision": "day",
        "effective_from": null,
        "effective_to": null,
        "legal_basis": null,
        "program": null,
        "severity": -4.4,
        "tags": ["xinjiang", "counter_sanctions"],
        "designations": [],
        "sources": [{"url": "https://www.scmp.com/news/china/diplomacy/article/3092676/china-vows-reciprocal-action-against-critics-xinjiang-policies", "publisher": "South China Morning Post", "published_on": "2020-07-10", "quote": "China has decided to take reciprocal action"}],
        "responds_to": [{"action": "0a1f0000-0000-4000-8000-000000000006", "relation": "retaliates"}],
        "external_id": null,
        "source_dataset": null,
        "created_at": "2026-11-28T12:00:00Z",
        "updated_at": "2026-11-28T12:00:00Z",
        "version": 1
    })
}

/// An entry of an action's status history.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatusChange {
    pub status: ActionStatus,
    /// The day the action took this status.
    pub on: NaiveDate,
    #[schema(required = true)]
    pub source_url: Option<String>,
    #[schema(required = true)]
    pub note: Option<String>,
    /// When this entry was recorded in riposte.
    pub recorded_at: DateTime<Utc>,
}

impl StatusChange {
    pub fn from_row(row: StatusChangeRow) -> AppResult<Self> {
        Ok(StatusChange {
            status: parse_stored(&row.status)?,
            on: row.changed_on,
            source_url: row.source_url,
            note: row.note,
            recorded_at: row.recorded_at,
        })
    }
}

/// A type of action in the taxonomy, with its CAMEO code and default Goldstein weight.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "code": "asset_freeze",
    "label": "Asset freeze / blocking",
    "description": "Blocking of property and interests in property of designated persons or bodies.",
    "category": "sanction",
    "cameo_code": "163",
    "quad_class": 4,
    "default_severity": -8.0
}))]
pub struct ActionType {
    pub code: String,
    pub label: String,
    pub description: String,
    pub category: Category,
    /// CAMEO event code, a string ("081" is not "81").
    pub cameo_code: String,
    /// 1 verbal cooperation, 2 material cooperation, 3 verbal conflict, 4 material conflict.
    #[schema(minimum = 1, maximum = 4)]
    pub quad_class: i16,
    /// Goldstein-scale weight, -10..+10.
    pub default_severity: f64,
}

impl ActionType {
    pub fn from_row(row: ActionTypeRow) -> AppResult<Self> {
        Ok(ActionType {
            category: parse_stored(&row.category)?,
            code: row.code,
            label: row.label,
            description: row.description,
            cameo_code: row.cameo_code,
            quad_class: row.quad_class,
            default_severity: row.default_severity,
        })
    }
}

/// Liveness and readiness answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: String,
    /// `/readyz` of a server with read replicas: each one's state. A replica out of rotation
    /// does not make the server unready: the primary serves its reads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replicas: Option<Vec<ReplicaHealth>>,
}

/// A read replica as the server's health checks (every second) last found it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({"name": "replica.internal:5432/riposte", "state": "in_rotation",
    "replay_lsn": "0/3000148", "lag_bytes": 0, "lag_seconds": 0.0, "error": null}))]
pub struct ReplicaHealth {
    /// Host, port and database (no credentials).
    pub name: String,
    /// `in_rotation` (serving reads), `starting` (not checked yet), `down` (unreachable),
    /// `lagging` (further behind than `--replica-max-lag`) or `promoted` (no longer a
    /// standby). Only `in_rotation` replicas serve reads.
    #[schema(example = "in_rotation")]
    pub state: String,
    /// The last WAL position it replayed.
    #[schema(required = true)]
    pub replay_lsn: Option<String>,
    /// Bytes of WAL the primary had that it had not replayed, at the last check.
    #[schema(required = true)]
    pub lag_bytes: Option<u64>,
    /// How long ago the primary first had WAL it has not replayed (0 when caught up; one
    /// second resolution).
    #[schema(required = true)]
    pub lag_seconds: Option<f64>,
    /// Why it is out of rotation.
    #[schema(required = true)]
    pub error: Option<String>,
}

/// An API key, without its secret.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0190f5c4-1f3a-7c2e-9a51-3c1d2e4f5a70",
    "name": "dashboard",
    "scope": "read",
    "prefix": "rsk_4fQ2xk9P",
    "created_at": "2026-11-28T12:00:00Z",
    "expires_at": null,
    "revoked_at": null,
    "last_used_at": "2026-11-28T12:05:00Z"
}))]
pub struct ApiKey {
    pub id: Uuid,
    pub name: String,
    pub scope: crate::auth::Scope,
    /// The first 12 characters of the secret, to recognise the key.
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    #[schema(required = true)]
    pub expires_at: Option<DateTime<Utc>>,
    #[schema(required = true)]
    pub revoked_at: Option<DateTime<Utc>>,
    /// When the key was last used: moved at most once a minute, so up to a minute behind.
    #[schema(required = true)]
    pub last_used_at: Option<DateTime<Utc>>,
}

impl ApiKey {
    pub fn from_row(row: crate::models::api_key::ApiKeyRow) -> AppResult<Self> {
        Ok(ApiKey {
            id: row.id,
            scope: parse_stored(&row.scope)?,
            name: row.name,
            prefix: row.prefix,
            created_at: row.created_at,
            expires_at: row.expires_at,
            revoked_at: row.revoked_at,
            last_used_at: row.last_used_at,
        })
    }
}

/// A new API key with its secret, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct NewApiKeySecret {
    #[serde(flatten)]
    pub key: ApiKey,
    /// The secret, to send as `Authorization: Bearer <secret>`. Only its hash is stored: it
    /// cannot be shown again.
    #[schema(example = "rsk_4fQ2xk9PzLm3hT8vQn2WcR5yB7dK1sJ6uE0aG4iX9oV1o79OB")]
    pub secret: String,
}

/// A webhook subscription (never with its secret).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "0190f5c4-1f3a-7c2e-9a51-3c1d2e4f5a80",
    "url": "https://hooks.example.org/riposte",
    "description": "newsroom alerts",
    "kinds": ["created", "status_changed"],
    "entity": ["action"],
    "actor": ["CHN"],
    "dyad": [],
    "type": [],
    "enabled": true,
    "disabled_reason": null,
    "delivered_cursor": "1042",
    "failed_attempts": 0,
    "failing_since": null,
    "next_attempt_at": "2026-11-30T12:00:00Z",
    "previous_secret_expires_at": null,
    "created_at": "2026-11-30T11:00:00Z",
    "updated_at": "2026-11-30T11:00:00Z",
    "version": 1
}))]
pub struct Webhook {
    pub id: Uuid,
    /// Where entries are POSTed.
    pub url: String,
    #[schema(required = true)]
    pub description: Option<String>,
    /// Change kinds sent (`created`, `updated`, ...); empty: every kind.
    #[schema(value_type = Vec<crate::models::change::ChangeKind>)]
    pub kinds: Vec<String>,
    /// `actor`, `action`, `response`; empty: every entity.
    #[schema(value_type = Vec<crate::models::change::ChangeEntity>)]
    pub entity: Vec<String>,
    /// Actor codes, as the `actor` filter of `GET /v1/changes`; empty: any.
    pub actor: Vec<String>,
    /// Dyads `A,B`, either way; empty: any.
    pub dyad: Vec<String>,
    /// Action type codes; empty: any.
    #[serde(rename = "type")]
    #[schema(rename = "type")]
    pub type_: Vec<String>,
    /// False when switched off, or disabled after failing for too long.
    pub enabled: bool,
    /// Why deliveries stopped on their own, if they did.
    #[schema(required = true)]
    pub disabled_reason: Option<String>,
    /// Every entry of the feed up to this cursor was delivered (or does not match).
    pub delivered_cursor: String,
    /// Failed attempts at the next entry.
    pub failed_attempts: i32,
    /// When the next entry first failed (null while deliveries succeed).
    #[schema(required = true)]
    pub failing_since: Option<DateTime<Utc>>,
    /// When the next entry is tried (again), while `enabled`; a disabled subscription keeps
    /// the time it had, and tries nothing until enabled again.
    pub next_attempt_at: DateTime<Utc>,
    /// Until when the secret replaced by the last rotation still signs every attempt, beside
    /// the new one (`webhook-signature` then holds two signatures); null when it no longer
    /// does.
    #[schema(required = true)]
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

/// A webhook subscription with its signing secret, shown only in this answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct NewWebhookSecret {
    #[serde(flatten)]
    pub webhook: Webhook,
    /// The signing secret (`whsec_` + base64 of 32 random bytes; the HMAC key is the decoded
    /// bytes). It is never shown again; rotate it to get a new one.
    #[schema(example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwMfKQ9r8GKYq=")]
    pub secret: String,
}

/// One delivery attempt.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": 17, "cursor": "1042", "message_id": "chg_1042", "attempt": 2, "delivered": false,
    "status_code": 503, "error": null, "latency_ms": 84, "at": "2026-11-30T12:00:05Z",
    "next_attempt_at": "2026-11-30T12:00:15Z"
}))]
pub struct Delivery {
    pub id: i64,
    /// The feed entry sent.
    pub cursor: String,
    /// Its `webhook-id` header: the same on every attempt and redelivery.
    pub message_id: String,
    /// 1 for the first attempt at this entry, 2 for the first retry, ...; a redelivery counts
    /// from 1 again.
    pub attempt: i32,
    /// A 2xx answer.
    pub delivered: bool,
    /// The receiver's answer, when it gave one.
    #[schema(required = true)]
    pub status_code: Option<i32>,
    /// What went wrong (no answer in time, refused address, connection refused, redirect).
    #[schema(required = true)]
    pub error: Option<String>,
    /// From sending to the answer (or the failure).
    pub latency_ms: i32,
    pub at: DateTime<Utc>,
    /// When this entry is tried again, after a failure (null after a success or a give-up).
    #[schema(required = true)]
    pub next_attempt_at: Option<DateTime<Utc>>,
}

impl Delivery {
    pub fn from_row(row: crate::models::webhook::DeliveryRow) -> Self {
        Delivery {
            id: row.id,
            cursor: row.seq.to_string(),
            message_id: crate::webhook::signing::message_id(row.seq),
            attempt: row.attempt,
            delivered: row.status_code.is_some_and(|s| (200..300).contains(&s)),
            status_code: row.status_code,
            error: row.error,
            latency_ms: row.latency_ms,
            at: row.at,
            next_attempt_at: row.next_attempt_at,
        }
    }
}

/// An entry of the audit log.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    /// The API key that made the change; null for the command line.
    #[schema(required = true)]
    pub key_id: Option<Uuid>,
    #[schema(required = true)]
    pub request_id: Option<String>,
    /// `create`, `update`, `delete`, `restore`, `purge`, `revoke`, and for webhooks
    /// `redeliver`, `rotate_secret` and `disable` (by the server, after failing too long).
    #[schema(value_type = crate::models::audit::AuditOperation)]
    pub operation: String,
    /// `actor`, `action`, `api_key` or `webhook`.
    #[schema(value_type = crate::models::audit::AuditEntity)]
    pub entity: String,
    pub entity_id: Uuid,
    /// The record before the change (null for a create).
    #[schema(value_type = Option<Object>)]
    #[schema(required = true)]
    pub before: Option<serde_json::Value>,
    /// The record after the change (null for a delete).
    #[schema(value_type = Option<Object>)]
    #[schema(required = true)]
    pub after: Option<serde_json::Value>,
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
    /// The fields whose values the change altered (for updates).
    pub changed: Vec<String>,
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
        }
    }
}

/// An action that designates an actor, with its status on the day asked about
/// (`GET /v1/actors/{actor}/designations`).
#[derive(Debug, Serialize, ToSchema)]
pub struct DesignationOn {
    pub action: Action,
    /// The designation's own listing date, if it has one.
    #[schema(required = true)]
    pub listed_on: Option<NaiveDate>,
    /// The action's status on `as_of` from its history; null before its first entry.
    #[schema(required = true)]
    pub status_on: Option<ActionStatus>,
    /// In force on `as_of`: `status_on` is `in_force` and the day is not after `effective_to`.
    pub in_force: bool,
}

/// An action's history: the statuses it had, and the changes made to the record (the newest
/// of each, with the count of older ones).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "items": [
        {"status": "threatened", "on": "2020-07-10", "source_url": null, "note": null, "recorded_at": "2026-11-28T12:00:00Z"},
        {"status": "in_force", "on": "2020-07-13", "source_url": null, "note": "details announced", "recorded_at": "2026-11-28T12:30:00Z"}
    ],
    "older_items": 0,
    "edits": [
        {"at": "2026-11-28T12:00:00Z", "operation": "create", "author": null, "request_id": null, "changed": []},
        {"at": "2026-11-28T12:30:00Z", "operation": "update", "author": {"key_id": "0190f5c4-1f3a-7c2e-9a51-3c1d2e4f5a70", "key_name": "newsroom"}, "request_id": "0190f5c4-8a3b-7000-8000-000000000001", "changed": ["effective_from", "status"]}
    ],
    "older_edits": 0,
    "next_page_token": null
}))]
pub struct ActionHistory {
    /// Status changes, oldest first: the newest 1,000.
    pub items: Vec<StatusChange>,
    /// How many older status changes there are besides `items`.
    pub older_items: i64,
    /// Changes to the record, oldest first, with their authors: the newest 200 (every one is
    /// in `GET /v1/audit?entity=action&entity_id=...`, for admins).
    pub edits: Vec<Edit>,
    /// How many older changes there are besides `edits`.
    pub older_edits: i64,
    /// Always null: the history is one page.
    #[schema(required = true)]
    pub next_page_token: Option<String>,
}

/// One entry of the change feed: a committed change of an actor, an action or an edge of the
/// response graph.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "cursor": "1042", "kind": "created", "entity": "action",
    "id": "0a1f0000-0000-4000-8000-000000000008", "at": "2026-11-29T12:00:00Z",
    "status": "threatened", "document": action_example()
}))]
pub struct Change {
    /// Where this entry is in the feed: pass it as `after` (or `Last-Event-ID`) to read what
    /// came after it. Opaque; ordered as the feed is.
    pub cursor: String,
    /// `created`, `updated`, `deleted`, `restored`, `purged`, `status_changed`, and for edges
    /// `edge_added`, `edge_removed`.
    #[schema(value_type = crate::models::change::ChangeKind)]
    pub kind: String,
    /// `actor`, `action` or `response` (an edge of the response graph).
    #[schema(value_type = crate::models::change::ChangeEntity)]
    pub entity: String,
    /// The actor's or action's id; for an edge, the answering action's.
    pub id: Uuid,
    /// For an edge: the action answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answers: Option<Uuid>,
    /// For an edge: how it answers.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<crate::models::enums::Relation>)]
    pub relation: Option<String>,
    /// For an action: its status after the change.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<crate::models::enums::ActionStatus>)]
    pub status: Option<String>,
    /// When the change was made (its transaction's time).
    pub at: DateTime<Utc>,
    /// The actor or action as it is now (`deleted_at` set when deleted), or null when it was
    /// purged; for an edge, the answering action.
    #[schema(value_type = Option<Object>)]
    #[schema(required = true)]
    pub document: Option<Box<serde_json::value::RawValue>>,
}

/// The body of a webhook delivery: the feed's entry with the Standard Webhooks `type` and
/// `timestamp` beside its fields (the specification lets the data be "squashed" into the
/// top level, which keeps the body the entry `GET /v1/changes` lists, plus two fields).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "action.created", "timestamp": "2026-11-29T12:00:00Z",
    "cursor": "1042", "kind": "created", "entity": "action",
    "id": "0a1f0000-0000-4000-8000-000000000008", "at": "2026-11-29T12:00:00Z",
    "status": "threatened", "document": action_example()
}))]
pub struct WebhookPayload {
    /// `{entity}.{kind}`: `action.created`, `actor.updated`, `response.edge_added`, ...
    #[serde(rename = "type")]
    #[schema(rename = "type", example = "action.created")]
    pub type_: String,
    /// When the change was made: the entry's `at`.
    pub timestamp: DateTime<Utc>,
    #[serde(flatten)]
    pub entry: Change,
}

impl WebhookPayload {
    pub fn of(entry: Change) -> Self {
        WebhookPayload {
            type_: format!("{}.{}", entry.entity, entry.kind),
            timestamp: entry.at,
            entry,
        }
    }
}

/// A page of the change feed, in commit order.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChangeList {
    pub items: Vec<Change>,
    /// Pass as `after` for the next page; when the page is not full it is the end of the feed
    /// as seen now: ask again later with it (never skips, never repeats).
    pub next_cursor: String,
}

/// Where an import job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImportState {
    /// Waiting for a free slot (at most `MAX_RUNNING_IMPORTS` run at once).
    Queued,
    Running,
    /// It ran: with `partial`, the good lines are stored; otherwise every line was.
    Succeeded,
    /// Nothing was stored: a line was rejected (all-or-nothing), the file held nothing to
    /// store (no lines, every record skipped, or with `partial` no line good), or the import
    /// could not run (`error` says why).
    Failed,
    /// Its server stopped while it ran; nothing was stored. Import the file again.
    Interrupted,
}

/// What an import job read and did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImportCounts {
    /// Lines (records, for PLOVER) read, blank lines aside; while running, so far. Of them,
    /// `created`, `updated`, `unchanged` and `rejected` count the action lines (and rejected
    /// actor lines); the rest are actor lines whose actor was created (`actors_created`) or
    /// found stored, and, for PLOVER and GDELT, skipped records (`skipped`; there
    /// `actors_created` counts states the records name, not lines).
    pub read: i64,
    pub created: i64,
    pub updated: i64,
    /// Lines equal to the action already stored under their id or external id.
    pub unchanged: i64,
    pub rejected: i64,
    pub actors_created: i64,
}

/// A rejected line with every fault found in it, named as the API names fields.
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema)]
pub struct RejectedLine {
    /// Line number in the file (1-based; for PLOVER JSON, the record number).
    pub line: i64,
    pub errors: Vec<crate::error::FieldError>,
}

/// An import job (`POST /v1/imports`, `riposte import`).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "01936b2e-5f2a-7c3d-8e4f-1a2b3c4d5e6f", "format": "ndjson", "partial": true,
    "state": "succeeded", "origin": "api", "file_name": null, "bytes": 5120,
    "counts": {"read": 10, "created": 8, "updated": 0, "unchanged": 1, "rejected": 1,
               "actors_created": 0},
    "skipped": {}, "skipped_first": {}, "error": null,
    "created_at": "2026-11-30T09:00:00Z", "started_at": "2026-11-30T09:00:00Z",
    "finished_at": "2026-11-30T09:00:01Z",
    "rejected_lines": [{"line": 4, "errors": [{"field": "initiator", "message": "unknown actor code `XXX`"}]}],
    "rejected_lines_truncated": false
}))]
pub struct Import {
    pub id: Uuid,
    pub format: crate::import::Format,
    /// Good lines stored and bad ones reported (true), or nothing stored on any fault.
    pub partial: bool,
    pub state: ImportState,
    pub origin: crate::models::import::ImportOrigin,
    #[schema(required = true)]
    pub file_name: Option<String>,
    /// Size of the file.
    pub bytes: i64,
    pub counts: ImportCounts,
    /// Records of a foreign format (PLOVER, GDELT) that cannot become actions, counted by
    /// reason (`no_target`, `unmapped_event`, `not_state_to_state`, ...).
    pub skipped: std::collections::BTreeMap<String, i64>,
    /// For each reason of `skipped`, why its first record was skipped, with its place in the
    /// file (`record 7: the record has no id ...`, `line 12: event 1066: ...`).
    pub skipped_first: std::collections::BTreeMap<String, String>,
    /// Why nothing was stored, for failed jobs.
    #[schema(required = true)]
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    #[schema(required = true)]
    pub started_at: Option<DateTime<Utc>>,
    #[schema(required = true)]
    pub finished_at: Option<DateTime<Utc>>,
    /// The first rejected lines (at most 1,000; `counts.rejected` is exact). Left out of
    /// lists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rejected_lines: Option<Vec<RejectedLine>>,
    /// Whether more lines were rejected than `rejected_lines` holds.
    pub rejected_lines_truncated: bool,
}
