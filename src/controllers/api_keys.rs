use actix_web::http::header;
use actix_web::{delete, post, route};
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::actions::PageParams;
use super::parse_id;
use crate::auth::{Admin, Scope};
use crate::error::{AppError, AppResult};
use crate::extract::{JsonBody, Query};
use crate::input::Timestamp;
use crate::models::api_key;
use crate::pagination;
use crate::service::keys as service;
use crate::state::AppState;
use crate::views::{ApiKey, List, NewApiKeySecret};

/// A key to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "dashboard", "scope": "read", "expires_at": "2099-12-31T00:00:00Z"}))]
pub struct NewApiKey {
    /// What the key is for, 1 to 100 characters: no control or format characters (Unicode
    /// Cc and Cf: line breaks, escapes, zero-width spaces and joiners, so no emoji joined
    /// with U+200D, direction marks, byte-order marks), no separator but the plain space,
    /// no space at either end.
    pub name: String,
    pub scope: Scope,
    /// When the key stops working (RFC 3339). When absent: never, or, for a key made with a
    /// key that expires, when that one does (a key cannot outlive the key that made it: a
    /// later time is refused).
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<Timestamp>,
}

/// API keys, oldest first. Admin only; secrets are never shown again.
#[utoipa::path(get, path = "/v1/api-keys", tag = "api keys",
    operation_id = "listApiKeys", params(PageParams),
    responses((status = 200, description = "A page of keys", body = List<ApiKey>)))]
#[route("/v1/api-keys", method = "GET", method = "HEAD")]
pub async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    _admin: Admin,
    Query(params): Query<PageParams>,
) -> AppResult<HttpResponse> {
    let limit = pagination::page_size(params.limit)?;
    let after = pagination::cursor::<(DateTime<Utc>, Uuid)>(&req, params.page_token.as_deref())?;
    let mut conn = state.conn().await?;
    let rows = api_key::list(&mut conn, after, limit + 1).await?;
    let (rows, more) = crate::models::one_page(rows, limit);
    let next = rows.last().filter(|_| more).map(|r| (r.created_at, r.id));
    let items = rows
        .into_iter()
        .map(ApiKey::from_row)
        .collect::<AppResult<Vec<_>>>()?;
    pagination::respond(&req, items, next, None)
}

/// Creates a key and shows its secret, once. Admin only.
#[utoipa::path(post, path = "/v1/api-keys", tag = "api keys",
    operation_id = "createApiKey", request_body = NewApiKey,
    responses((status = 201, description = "Created; the secret is in the body, this once",
        body = NewApiKeySecret,
        headers(("Location" = String, description = "The key's URL")))))]
#[post("/v1/api-keys")]
pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    Admin(caller): Admin,
    JsonBody(input): JsonBody<NewApiKey>,
) -> AppResult<HttpResponse> {
    // A secret is never stored, so a stored answer could not be replayed.
    super::refuse_idempotency(
        &req,
        "an API key's secret is shown once and never stored; list the keys to see whether a \
         retried creation went through",
    )?;
    let created = service::create(
        &state.pool,
        &caller,
        &input.name,
        input.scope,
        input.expires_at.map(|t| t.0),
    )
    .await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/v1/api-keys/{}", created.key.id)))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(created))
}

/// One key. Admin only.
#[utoipa::path(get, path = "/v1/api-keys/{id}", tag = "api keys",
    operation_id = "getApiKey",
    params(("id" = Uuid, Path, description = "The key's id")),
    responses(
        (status = 200, description = "The key", body = ApiKey),
        (status = 404, response = crate::openapi::NotFound)))]
#[route("/v1/api-keys/{id}", method = "GET", method = "HEAD")]
pub async fn get(
    req: HttpRequest,
    state: web::Data<AppState>,
    _admin: Admin,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = parse_id(&id)?;
    let mut conn = state.conn().await?;
    let row = api_key::find(&mut conn, id)
        .await?
        .ok_or_else(|| AppError::not_found(format_args!("API key {id}")))?;
    let key = ApiKey::from_row(row)?;
    crate::conditional::respond_revision(&req, &key, &revision(&key))
}

/// What an admin's `If-Match` is about: the key's revocation. Its `last_used_at` moves on
/// its own (once a minute while the key is in use), which must not make the revocation of
/// a key in active use, a compromised one say, fail with 412.
fn revision(key: &ApiKey) -> String {
    format!("{}:{:?}", key.id, key.revoked_at)
}

/// Revokes a key: it is refused from the next request on. Admin only.
#[utoipa::path(delete, path = "/v1/api-keys/{id}", tag = "api keys",
    operation_id = "revokeApiKey",
    params(("id" = Uuid, Path, description = "The key's id"), super::IfMatch),
    responses(
        (status = 200, description = "The revoked key", body = ApiKey),
        (status = 404, response = crate::openapi::NotFound)))]
#[delete("/v1/api-keys/{id}")]
pub async fn revoke(
    req: HttpRequest,
    state: web::Data<AppState>,
    Admin(caller): Admin,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = parse_id(&id)?;
    let expect = crate::conditional::expect_revision(&req, state.config.require_if_match, revision);
    let (key, _) = service::revoke(&state.pool, &caller, &id.to_string(), expect).await?;
    // With the ETag a GET would give: the revoked key's, for the next If-Match.
    crate::conditional::written_revision(&key, &revision(&key))
}
