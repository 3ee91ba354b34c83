//! Import jobs.

use super::*;

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
    /// Why nothing was stored, for failed and interrupted jobs.
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
