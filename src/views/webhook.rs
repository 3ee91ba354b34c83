//! Webhook subscriptions, their deliveries and what a delivery carries.

use super::*;

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
    "id": 17, "cursor": "1042", "message_id": "chg_1042_1796040000123456", "attempt": 2, "delivered": false,
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
            message_id: crate::webhook::signing::message_id(row.seq, row.entry_at),
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
