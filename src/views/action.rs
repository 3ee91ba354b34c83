//! Actions, what they name, their sources, answers, statuses and history; action types.

use super::*;

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
        {"at": "2026-11-28T12:00:00Z", "operation": "create", "author": null, "request_id": null, "changed": [], "import_id": null},
        {"at": "2026-11-28T12:30:00Z", "operation": "update", "author": {"key_id": "0190f5c4-1f3a-7c2e-9a51-3c1d2e4f5a70", "key_name": "newsroom"}, "request_id": "0190f5c4-8a3b-7000-8000-000000000001", "changed": ["effective_from", "status"], "import_id": null}
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
