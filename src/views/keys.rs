//! API keys.

use super::*;

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
