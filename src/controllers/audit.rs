use actix_web::route;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use crate::auth::Admin;
use crate::error::{AppError, AppResult};
use crate::extract::Query;
use crate::input::Timestamp;
use crate::limits::MAX_PAGE_BYTES;
use crate::models::audit::{self, AuditEntity, AuditFilter, AuditOperation};
use crate::pagination;
use crate::state::AppState;
use crate::views::{AuditEntry, List};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// What the entries are about.
    pub entity: Option<AuditEntity>,
    /// Only changes of this record.
    #[serde(default, deserialize_with = "crate::ids::canonical_uuid_opt")]
    pub entity_id: Option<Uuid>,
    /// Only changes made with this API key.
    #[serde(default, deserialize_with = "crate::ids::canonical_uuid_opt")]
    pub key_id: Option<Uuid>,
    /// Only the changes this import job made (the actions it created or updated; the job's
    /// own entry is found by `entity_id`).
    #[serde(default, deserialize_with = "crate::ids::canonical_uuid_opt")]
    pub import_id: Option<Uuid>,
    /// What was done.
    pub operation: Option<AuditOperation>,
    /// Only changes at or after this time (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime)]
    pub since: Option<Timestamp>,
    /// Only changes at or before this time (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime)]
    pub until: Option<Timestamp>,
    /// Page size, 1 to 200 (default 50); a page whose entries' documents pass 8 MiB ends
    /// early (the first entry always comes), `next_page_token` going on from there.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// `next_page_token` of the previous page, with the same filters.
    pub page_token: Option<String>,
}

/// The audit log, newest first. Admin only.
#[utoipa::path(get, path = "/v1/audit", tag = "audit",
    operation_id = "listAuditEntries", params(AuditParams),
    responses((status = 200, description = "A page of audit entries", body = List<AuditEntry>)))]
#[route("/v1/audit", method = "GET", method = "HEAD")]
pub async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    _admin: Admin,
    Query(params): Query<AuditParams>,
) -> AppResult<HttpResponse> {
    if let Some(fault) = crate::input::backwards(("since", params.since), ("until", params.until)) {
        return Err(AppError::bad_params(vec![fault]));
    }
    let limit = pagination::page_size(params.limit)?;
    let before = pagination::cursor::<i64>(&req, params.page_token.as_deref())?;
    let filter = AuditFilter {
        entity: params.entity,
        entity_id: params.entity_id,
        key_id: params.key_id,
        import_id: params.import_id,
        operation: params.operation,
        since: params.since.map(|t| t.0),
        until: params.until.map(|t| t.0),
    };
    let mut conn = state.conn().await?;
    let (rows, more) = audit::list(&mut conn, &filter, before, limit, MAX_PAGE_BYTES).await?;
    let next = rows.last().filter(|_| more).map(|r| r.id);
    let items: Vec<AuditEntry> = rows.into_iter().map(AuditEntry::from_row).collect();
    pagination::respond(&req, items, next, None)
}
