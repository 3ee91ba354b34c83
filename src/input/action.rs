//! Request bodies of actions.

use super::*;

objects_only!(
    DesignationInput,
    SourceInput,
    ResponseInput,
    StatusEntryInput
);

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(remote = "Self", deny_unknown_fields)]
#[schema(example = json!({"actor": "chen-quanguo", "listed_on": "2020-07-09"}))]
pub struct DesignationInput {
    /// Code of the designated person or body.
    #[schema(example = "chen-quanguo")]
    pub actor: String,
    /// The designation's own listing date, when it differs from the action's.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Date)]
    pub listed_on: Option<Day>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(remote = "Self", deny_unknown_fields)]
#[schema(example = json!({
    "url": "https://home.treasury.gov/news/press-releases/sm1055",
    "publisher": "US Treasury",
    "published_on": "2020-07-09"
}))]
pub struct SourceInput {
    /// An http(s) URL, unique within the action.
    pub url: String,
    #[serde(default)]
    pub publisher: Option<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Date)]
    pub published_on: Option<Day>,
    #[serde(default)]
    pub quote: Option<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(remote = "Self", deny_unknown_fields)]
#[schema(example = json!({"action": "0a1f0000-0000-4000-8000-000000000001", "relation": "retaliates"}))]
pub struct ResponseInput {
    /// The id of an earlier action (announced no later than this one).
    #[serde(deserialize_with = "crate::ids::canonical_uuid")]
    pub action: Uuid,
    pub relation: Relation,
}

/// An entry of an explicit status history.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(remote = "Self", deny_unknown_fields)]
#[schema(example = json!({"status": "in_force", "on": "2020-07-09", "note": "Designations take effect"}))]
pub struct StatusEntryInput {
    pub status: ActionStatus,
    /// The day the action took this status.
    #[schema(value_type = String, format = Date)]
    pub on: Day,
    #[serde(default)]
    pub source_url: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
}

/// A new action, with what it names, its sources and the earlier actions it answers, all
/// created in one transaction.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "title": "US Treasury sanctions Xinjiang officials under Global Magnitsky",
    "initiator": "USA",
    "target": "CHN",
    "authority": "us-ofac",
    "type": "asset_freeze",
    "status": "in_force",
    "announced_on": "2020-07-09",
    "effective_from": "2020-07-09",
    "legal_basis": "Global Magnitsky Human Rights Accountability Act; Executive Order 13818",
    "program": "GLOMAG",
    "tags": ["xinjiang", "human_rights"],
    "designations": [{"actor": "chen-quanguo"}, {"actor": "xinjiang-psb"}],
    "sources": [{"url": "https://home.treasury.gov/news/press-releases/sm1055", "publisher": "US Treasury", "published_on": "2020-07-09"}]
}))]
pub struct NewAction {
    pub title: String,
    #[serde(default)]
    pub summary: Option<String>,
    /// Code of the acting state or IGO.
    pub initiator: String,
    /// Code of the state or IGO acted upon.
    pub target: String,
    /// Code of the body that acted for the initiator.
    #[serde(default)]
    pub authority: Option<String>,
    /// An action type code from `GET /v1/action-types`.
    #[serde(rename = "type")]
    pub type_: String,
    pub status: ActionStatus,
    /// `YYYY-MM-DD`, or `YYYY-MM` / `YYYY` when only the month or year is known.
    #[schema(value_type = String, example = "2020-07-09")]
    pub announced_on: FuzzyDate,
    /// Defaults to the precision `announced_on` was given with; if given, it must agree.
    #[serde(default)]
    pub date_precision: Option<DatePrecision>,
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Date)]
    pub effective_from: Option<Day>,
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Date)]
    pub effective_to: Option<Day>,
    #[serde(default)]
    pub legal_basis: Option<String>,
    #[serde(default)]
    pub program: Option<String>,
    /// -10..+10; defaults to the type's `default_severity`.
    #[serde(default)]
    pub severity: Option<f64>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub designations: Vec<DesignationInput>,
    #[serde(default)]
    pub sources: Vec<SourceInput>,
    #[serde(default)]
    pub responds_to: Vec<ResponseInput>,
    /// The statuses the action went through, oldest first, ending with `status`. When left
    /// out, one entry is recorded: `status` on `effective_from` (for `in_force`) or on
    /// `announced_on`.
    #[serde(default)]
    pub status_history: Option<Vec<StatusEntryInput>>,
    /// The identifier another dataset gives this action (a GDELT GLOBALEVENTID, a PLOVER id),
    /// at most 200 characters, unique within `source_dataset`: imports find the action by it.
    #[serde(default)]
    pub external_id: Option<String>,
    /// The dataset `external_id` belongs to: lower-case letters, digits, `_`, `.` or `-`, at
    /// most 50 characters (`gdelt`, `plover`).
    #[serde(default)]
    pub source_dataset: Option<String>,
}

/// Changes to an action: absent fields are kept, `null` clears a nullable field, and the
/// lists (`tags`, `designations`, `sources`, `responds_to`) are replaced whole when given.
/// A new `status` is appended to the history on `status_changed_on` (default: today).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"status": "in_force", "status_changed_on": "2020-07-13"}))]
pub struct ActionPatch {
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub title: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub summary: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub initiator: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub target: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub authority: Option<Option<String>>,
    #[serde(rename = "type")]
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub type_: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub status: Option<ActionStatus>,
    #[schema(value_type = Option<String>)]
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub announced_on: Option<FuzzyDate>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub date_precision: Option<DatePrecision>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, format = Date)]
    pub effective_from: Option<Option<Day>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, format = Date)]
    pub effective_to: Option<Option<Day>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub legal_basis: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub program: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub severity: Option<f64>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub tags: Option<Vec<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub designations: Option<Vec<DesignationInput>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub sources: Option<Vec<SourceInput>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub responds_to: Option<Vec<ResponseInput>>,
    /// The day a new `status` took effect (default: today, UTC).
    #[schema(value_type = Option<String>, format = Date)]
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub status_changed_on: Option<Day>,
    /// A source for the status change.
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub status_source_url: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub status_note: Option<String>,
}
