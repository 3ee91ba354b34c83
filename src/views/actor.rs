//! Actors, and how other records show them.

use super::*;

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
