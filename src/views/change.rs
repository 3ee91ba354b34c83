//! The change feed.

use super::*;

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
    /// Pass as `after` for the next page (never skips, never repeats).
    pub next_cursor: String,
    /// Whether `next_cursor` is the newest entry numbered when the page was read: nothing
    /// more for now, ask again later (or follow `GET /v1/events`). When false, ask again now,
    /// even if this page holds no items: a filtered page looks at 10,000 entries at most and
    /// may find none of them matching.
    pub caught_up: bool,
}
