use actix_web::{delete, patch, post, route};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use super::idempotency;
use super::{DeleteParams, ShowDeleted};
use crate::auth::{Caller, Reader, Scope, Writer};
use crate::conditional;
use crate::error::AppResult;
use crate::extract::{Checked, Query};
use crate::input::{ActorPatch, NewActor};
use crate::models::actor::ActorFilter;
use crate::models::enums::ActorKind;
use crate::pagination;
use crate::service::actors as service;
use crate::service::idempotency::Once;
use crate::state::AppState;
use crate::views::{Actor, List};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ActorListParams {
    /// Only actors of this kind.
    pub kind: Option<ActorKind>,
    /// Only actors of this state (alpha-3 code).
    #[param(example = "CHN")]
    pub country: Option<String>,
    /// Include deleted actors.
    pub show_deleted: Option<bool>,
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200, example = 50)]
    pub limit: Option<i64>,
    /// `next_page_token` of the previous page, with the same filters.
    pub page_token: Option<String>,
}

/// Actors in code order.
#[utoipa::path(get, path = "/v1/actors", tag = "actors",
    operation_id = "listActors", params(ActorListParams),
    responses((status = 200, description = "A page of actors, by code",
        body = List<Actor>,
        headers(("Link" = String, description = "`<...>; rel=\"next\"` when there is a next page")),
        example = json!({"items": [{"id": "0190f5c4-1f3a-7c2e-9a51-3c1d2e4f5a62", "code": "CHN",
            "name": "China", "kind": "state", "country": null, "parent": null,
            "aliases": ["People's Republic of China"], "wikidata_id": "Q148", "description": null,
            "created_at": "2026-11-28T12:00:00Z", "updated_at": "2026-11-28T12:00:00Z", "version": 1}],
            "next_page_token": "eyJrIjoiQ0hOIiwiZiI6IjEyMzQifQ"}))))]
#[route("/v1/actors", method = "GET", method = "HEAD")]
pub async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    _reader: Reader,
    Query(params): Query<ActorListParams>,
) -> AppResult<HttpResponse> {
    let limit = pagination::page_size(params.limit)?;
    let after: Option<String> = pagination::cursor(&req, params.page_token.as_deref())?;
    let filter = ActorFilter {
        show_deleted: params.show_deleted.unwrap_or(false),
        kind: params.kind.map(|k| k.as_str().to_string()),
        country: params.country.clone(),
        after_code: after,
        limit,
    };
    let (items, next) = state
        .read(&req, async |conn| service::list(conn, &filter).await)
        .await?;
    pagination::respond(&req, items, next, None)
}

/// Creates an actor.
#[utoipa::path(post, path = "/v1/actors", tag = "actors",
    operation_id = "createActor", request_body = NewActor,
    params(super::IdempotencyKey),
    responses(
        (status = 201, description = "Created", body = Actor,
            headers(("Location" = String, description = "The new actor's URL"))),
        (status = 409, response = crate::openapi::Conflict)))]
#[post("/v1/actors")]
pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    Writer(caller): Writer,
    Checked(input, faults): Checked<NewActor>,
) -> AppResult<HttpResponse> {
    let once = Once::new(idempotency(&req, &caller)?, |actor: &Actor| {
        super::answer(201, Some(format!("/v1/actors/{}", actor.code)), actor)
    });
    Ok(super::send(
        service::create(&state, &caller, input, faults, once).await?,
    ))
}

/// One actor, by UUID or code.
#[utoipa::path(get, path = "/v1/actors/{actor}", tag = "actors",
    operation_id = "getActor",
    params(("actor" = String, Path, description = "The actor's UUID or code", example = "CHN"), ShowDeleted),
    responses(
        (status = 200, description = "The actor", body = Actor),
        (status = 404, response = crate::openapi::NotFound)))]
#[route("/v1/actors/{actor}", method = "GET", method = "HEAD")]
pub async fn get(
    req: HttpRequest,
    state: web::Data<AppState>,
    _reader: Reader,
    key: web::Path<String>,
    Query(params): Query<ShowDeleted>,
) -> AppResult<HttpResponse> {
    let actor = state
        .read(&req, async |conn| {
            let row = service::get(conn, &key, params.show_deleted.unwrap_or(false)).await?;
            service::view(conn, row).await
        })
        .await?;
    conditional::respond(&req, &actor)
}

/// Changes an actor: absent fields are kept, `null` clears. A body that changes nothing
/// leaves the actor as it is (same `version`, no change-feed entry).
#[utoipa::path(patch, path = "/v1/actors/{actor}", tag = "actors",
    operation_id = "updateActor", request_body = ActorPatch,
    params(("actor" = String, Path, description = "The actor's UUID or code", example = "chen-quanguo"), super::IfMatch),
    responses(
        (status = 200, description = "The changed actor", body = Actor),
        (status = 404, response = crate::openapi::NotFound),
        (status = 409, response = crate::openapi::Conflict)))]
#[patch("/v1/actors/{actor}")]
pub async fn update(
    req: HttpRequest,
    state: web::Data<AppState>,
    Writer(caller): Writer,
    key: web::Path<String>,
    Checked(patch, faults): Checked<ActorPatch>,
) -> AppResult<HttpResponse> {
    let expect = conditional::expect_match(&req, state.config.require_if_match);
    let actor = service::update(&state, &caller, key.into_inner(), patch, faults, expect).await?;
    conditional::written(&actor)
}

/// Deletes an actor: it disappears from lists and answers 404 until restored. Refused with
/// 409 while actions or other actors refer to it. With `purge=true` (admin) it is removed for
/// good: refused with 409 while any action or actor, deleted or not, refers to it, or a
/// webhook subscription's filters name it.
#[utoipa::path(delete, path = "/v1/actors/{actor}", tag = "actors",
    operation_id = "deleteActor",
    params(("actor" = String, Path, description = "The actor's UUID or code", example = "chen-quanguo"), DeleteParams, super::IfMatch),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, response = crate::openapi::NotFound),
        (status = 409, response = crate::openapi::Conflict)))]
#[delete("/v1/actors/{actor}")]
pub async fn delete(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    key: web::Path<String>,
    Query(params): Query<DeleteParams>,
) -> AppResult<HttpResponse> {
    // A purge needs admin: the refusal names that scope, not write's.
    let purge = params.purge.unwrap_or(false);
    caller.require(if purge { Scope::Admin } else { Scope::Write })?;
    let expect = conditional::expect_match(&req, state.config.require_if_match);
    if purge {
        service::purge(&state, &caller, key.into_inner(), expect).await?;
    } else {
        service::delete(&state, &caller, key.into_inner(), expect).await?;
    }
    Ok(HttpResponse::NoContent().finish())
}

/// Brings back a deleted actor. `If-Match` takes the ETag it has deleted (as
/// `GET /v1/actors/{actor}?show_deleted=true` gives it).
#[utoipa::path(post, path = "/v1/actors/{actor}/restore", tag = "actors",
    operation_id = "restoreActor",
    params(("actor" = String, Path, description = "The actor's UUID or code", example = "chen-quanguo"), super::IfMatch, super::IdempotencyKey),
    responses(
        (status = 200, description = "The restored actor", body = Actor),
        (status = 404, response = crate::openapi::NotFound),
        (status = 409, response = crate::openapi::Conflict)))]
#[post("/v1/actors/{actor}/restore")]
pub async fn restore(
    req: HttpRequest,
    state: web::Data<AppState>,
    Writer(caller): Writer,
    key: web::Path<String>,
) -> AppResult<HttpResponse> {
    let once = Once::new(idempotency(&req, &caller)?, |actor: &Actor| {
        super::answer(200, None, actor)
    });
    let expect = conditional::expect_match(&req, state.config.require_if_match);
    Ok(super::send(
        service::restore(&state, &caller, key.into_inner(), expect, once).await?,
    ))
}
