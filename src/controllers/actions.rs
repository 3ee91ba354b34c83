use actix_web::http::header;
use actix_web::{delete, patch, post, route};
use actix_web::{web, HttpRequest, HttpResponse};
use diesel_async::AsyncPgConnection;
use serde::Deserialize;
use utoipa::IntoParams;

use super::idempotency;
use super::{filters, parse_id, DeleteParams, ShowDeleted};
use crate::auth::{Caller, Reader, Scope, Writer};
use crate::conditional;
use crate::documents::Doc;
use crate::error::{AppError, AppResult};
use crate::extract::{Checked, Query, Repeatable, RepeatableQuery};
use crate::input::{ActionPatch, Day, NewAction};
use crate::models::action_list::ActionFilter;
use crate::models::enums::{ActionSort, ActionStatus, Category};
use crate::pagination;
use crate::service::action_reads::{self as reads, Page, PageAsk};
use crate::service::actions as service;
use crate::service::idempotency::Once;
use crate::state::AppState;
use crate::views::{Action, ActionHistory, List};

/// The parameters of `GET /v1/actions`. Multi-valued filters take a comma-separated list or
/// the parameter repeated; an action matches any of the values. Different filters must all
/// match.
#[derive(Debug, Clone, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ActionListParams {
    /// Full-text search over title, designated actors' names, legal basis, programme and
    /// summary (English stemming; web-search syntax: `"exact phrase"`, `or`, `-excluded`).
    /// At most 500 characters, and 30 `-` signs in a row.
    #[param(example = "magnitsky OR \"chen quanguo\"")]
    pub q: Option<String>,
    /// Only actions by these states or IGOs (codes).
    #[param(value_type = Option<Vec<String>>, style = Form, explode, example = json!(["CHN"]))]
    pub initiator: Option<String>,
    /// Only actions aimed at these states or IGOs (codes).
    #[param(value_type = Option<Vec<String>>, style = Form, explode, example = json!(["USA"]))]
    pub target: Option<String>,
    /// Only actions between two states or IGOs, in either direction: `A,B`. For several
    /// dyads repeat the parameter or separate pairs with `;`.
    #[param(value_type = Option<Vec<String>>, style = Form, explode, example = json!(["USA,CHN"]))]
    pub dyad: Option<String>,
    /// Only actions of these types (codes; see `GET /v1/action-types`).
    #[serde(rename = "type")]
    #[param(rename = "type", value_type = Option<Vec<String>>, style = Form, explode,
        example = json!(["asset_freeze"]))]
    pub type_: Option<String>,
    /// Only actions of types in these categories.
    #[param(value_type = Option<Vec<Category>>, style = Form, explode, example = json!(["sanction"]))]
    pub category: Option<String>,
    /// Only actions with these current statuses.
    #[param(value_type = Option<Vec<ActionStatus>>, style = Form, explode, example = json!(["in_force"]))]
    pub status: Option<String>,
    /// Only actions that designate any of these actors (codes).
    #[param(value_type = Option<Vec<String>>, style = Form, explode, example = json!(["chen-quanguo"]))]
    pub designated: Option<String>,
    /// Only actions with any of these tags.
    #[param(value_type = Option<Vec<String>>, style = Form, explode, example = json!(["xinjiang"]))]
    pub tag: Option<String>,
    /// Only actions at least this severe (-10 to 10; more negative is more hostile).
    #[param(example = -8.0)]
    pub severity_min: Option<f64>,
    /// Only actions with at most this severity.
    #[param(example = -4.0)]
    pub severity_max: Option<f64>,
    /// Only actions announced on or after this day.
    #[param(value_type = Option<String>, format = Date, example = "2020-01-01")]
    pub from: Option<Day>,
    /// Only actions announced on or before this day.
    #[param(value_type = Option<String>, format = Date, example = "2020-12-31")]
    pub to: Option<Day>,
    /// Only actions created or changed at or after this time (RFC 3339, e.g.
    /// `2026-11-28T12:00:00Z`), for clients that sync. A change becomes visible when its
    /// transaction commits, a moment after the time it is stamped with: sync from a minute
    /// before the last `updated_at` you saw, and deduplicate by `id` and `version`.
    #[param(value_type = Option<String>, format = DateTime, example = "2026-11-28T12:00:00Z")]
    pub updated_since: Option<String>,
    /// `true`: only actions that another (not deleted) action answers; `false`: only those
    /// nobody answers.
    pub answered: Option<bool>,
    /// Order (default `-announced_on`). Ties are broken by id.
    pub sort: Option<ActionSort>,
    /// Only the action with this `external_id`, in `source_dataset` when that is given and
    /// otherwise among actions of no dataset: the key imports find actions by.
    #[param(example = "20200709-ofac-1")]
    pub external_id: Option<String>,
    /// Only actions of this dataset (with `external_id`: the dataset of that id).
    #[param(example = "ofac")]
    pub source_dataset: Option<String>,
    /// Include deleted actions.
    pub show_deleted: Option<bool>,
    /// Only actions in force on this day according to their status history: the last status
    /// change on or before it is `in_force`, and the day is not after `effective_to`. A change
    /// dated D applies from D on (in force on the day it takes effect; not on the day it is
    /// lifted).
    #[param(value_type = Option<String>, format = Date, example = "2020-08-01")]
    pub as_of: Option<Day>,
    /// Add `total`, the exact number of matching actions over all pages (costs a count).
    pub include_total: Option<bool>,
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200, example = 50)]
    pub limit: Option<i64>,
    /// `next_page_token` of the previous page, with the same filters and sort.
    pub page_token: Option<String>,
}

impl Repeatable for ActionListParams {
    const REPEATABLE: &'static [(&'static str, &'static str)] = &[
        ("initiator", ","),
        ("target", ","),
        ("dyad", ";"),
        ("type", ","),
        ("category", ","),
        ("status", ","),
        ("designated", ","),
        ("tag", ","),
    ];
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200, example = 50)]
    pub limit: Option<i64>,
    /// `next_page_token` of the previous page.
    pub page_token: Option<String>,
}

/// The page a list request asks for, from its parameters and token.
fn page_ask(
    req: &HttpRequest,
    sort: ActionSort,
    limit: Option<i64>,
    page_token: Option<&str>,
    include_total: bool,
) -> AppResult<PageAsk> {
    Ok(PageAsk {
        sort,
        limit: pagination::page_size(limit)?,
        after: filters::cursor(req, page_token, sort)?,
        include_total,
    })
}

/// A page's answer, with the token of the next.
fn respond_page(req: &HttpRequest, page: Page) -> AppResult<HttpResponse> {
    pagination::respond_documents(req, &page.docs, page.next, page.total)
}

/// Actions, filtered, searched and sorted, in pages.
#[utoipa::path(get, path = "/v1/actions", tag = "actions",
    operation_id = "listActions", params(ActionListParams),
    responses((status = 200, description = "A page of actions", body = List<Action>,
        headers(("Link" = String, description = "`<...>; rel=\"next\"` when there is a next page")),
        example = json!({"items": [crate::views::action_example()], "next_page_token": null}))))]
#[route("/v1/actions", method = "GET", method = "HEAD")]
pub async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    _reader: Reader,
    RepeatableQuery(params): RepeatableQuery<ActionListParams>,
) -> AppResult<HttpResponse> {
    let ask = page_ask(
        &req,
        params.sort.unwrap_or(ActionSort::NewestFirst),
        params.limit,
        params.page_token.as_deref(),
        params.include_total.unwrap_or(false),
    )?;
    // One connection for the whole request: the codes are resolved where they are read.
    let page = state
        .read(&req, async |conn| {
            let filter = filters::resolve(conn, &state.types, params.clone()).await?;
            reads::page(conn, &state.actors, &filter, ask).await
        })
        .await?;
    respond_page(&req, page)
}

/// The format of an export.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportFormat {
    /// `ndjson` (default: one action document per line, as `GET /v1/actions/{id}` gives it)
    /// or `csv` (flat; lists joined with `;`, sources with spaces; ISO dates; text that a
    /// spreadsheet would run as a formula starts with `'`).
    #[param(value_type = Option<crate::export::Format>, inline, example = "ndjson")]
    pub format: Option<String>,
    /// `true`: the file also carries the actors its actions name, with the bodies and
    /// states they belong to, as `{"actor": <GET /v1/actors/{actor}'s document>}` lines,
    /// each after what it belongs to and before the first action naming it; `POST
    /// /v1/imports` of it rebuilds the actions in a database that lacks their actors.
    /// NDJSON only.
    #[param(value_type = Option<bool>, example = true)]
    pub include_actors: Option<String>,
    /// `true`: each action's line also carries its whole status history, oldest first, as
    /// `status_history` (the entries of `NewAction`'s, without `recorded_at`); `POST
    /// /v1/imports` of it into another database records the same history, so `as_of` gives
    /// the same answers there. NDJSON only.
    #[param(value_type = Option<bool>, example = true)]
    pub include_history: Option<String>,
}

/// What an export's query string asks for: its format, actors and histories, and the
/// filters and sort of `GET /v1/actions` (also read by `riposte export --query`).
pub async fn export_query(
    conn: &mut AsyncPgConnection,
    types: &crate::taxonomy::ActionTypes,
    query: &str,
) -> AppResult<crate::export::Request> {
    const OWN: [&str; 3] = ["format", "include_actors", "include_history"];
    let mut format = None;
    let (mut include_actors, mut include_history) = (false, false);
    let mut given = Vec::new();
    let mut rest = form_urlencoded::Serializer::new(String::new());
    for (k, v) in crate::extract::form_urlencoded_pairs(query) {
        let Some(name) = OWN.iter().find(|name| **name == k) else {
            rest.append_pair(&k, &v);
            continue;
        };
        if given.contains(name) {
            return Err(AppError::bad_param(
                name,
                "given more than once; give it once",
            ));
        }
        given.push(name);
        let flag = || {
            v.parse::<bool>()
                .map_err(|_| AppError::bad_param(name, format!("`{v}` is not `true` or `false`")))
        };
        match *name {
            "format" => {
                format = Some(
                    v.parse::<crate::export::Format>()
                        .map_err(|e| AppError::bad_param("format", e))?,
                )
            }
            "include_actors" => include_actors = flag()?,
            _ => include_history = flag()?,
        }
    }
    let format = format.unwrap_or(crate::export::Format::Ndjson);
    for (name, asked, what) in [
        ("include_actors", include_actors, "actor lines"),
        ("include_history", include_history, "status histories"),
    ] {
        if asked && format != crate::export::Format::Ndjson {
            return Err(AppError::bad_param(
                name,
                format!("only an NDJSON export carries {what}; leave out `format=csv` or this"),
            ));
        }
    }
    let params: ActionListParams = crate::extract::parse_query_offering(
        &rest.finish(),
        ActionListParams::REPEATABLE,
        &super::NOT_PAGED,
        &OWN,
    )?;
    super::refuse_paging(
        [
            params.limit.is_some(),
            params.page_token.is_some(),
            params.include_total.is_some(),
        ],
        "an export",
    )?;
    let sort = params.sort.unwrap_or(ActionSort::NewestFirst);
    let filter = filters::resolve(conn, types, params).await?;
    Ok(crate::export::Request {
        filter,
        sort,
        format,
        include_actors,
        include_history,
    })
}

/// Every action the filters of `GET /v1/actions` select, in one file streamed from one
/// snapshot (gzip with `Accept-Encoding: gzip`). `sort` orders it; `limit`, `page_token` and
/// `include_total` are refused. A server runs a few exports at once (a quarter of its
/// database connections by default); beyond them the answer is 503 with `Retry-After`. A
/// client that accepts no bytes for 60 s has its download cut short.
#[utoipa::path(get, path = "/v1/actions/export", tag = "actions",
    operation_id = "exportActions",
    params(ExportFormat, super::Unpaged<ActionListParams>),
    responses((status = 200, description = "The actions, as NDJSON or CSV",
        content((String = "application/x-ndjson"), (String = "text/csv")),
        headers(("Riposte-Feed-Cursor" = String, description = "The newest entry of `GET \
            /v1/changes` the export's snapshot holds: follow the feed after it to keep a copy \
            made from the export up to date, missing nothing"))),
        (status = 503, response = crate::openapi::ExportsBusy)))]
#[route("/v1/actions/export", method = "GET", method = "HEAD")]
pub async fn export(
    req: HttpRequest,
    state: web::Data<AppState>,
    _reader: Reader,
) -> AppResult<HttpResponse> {
    // A slot before a connection: a refused export costs the pool nothing.
    let slot = state
        .exports
        .clone()
        .try_acquire_owned()
        .map_err(|_| AppError::exports_busy())?;
    let mut conn = state.conn().await?;
    let request = export_query(&mut conn, &state.types, req.query_string()).await?;
    let format = request.format;
    let idle = state.config.export_idle;
    let export = crate::export::Export::begin(conn, request, idle).await?;
    let feed_cursor = export.feed_cursor.to_string();
    let body = futures_util::StreamExt::map(export.serve(slot, idle), |piece| {
        piece.map_err(actix_web::Error::from)
    });
    Ok(HttpResponse::Ok()
        .content_type(format.content_type())
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"actions.{format}\""),
        ))
        .insert_header(("Riposte-Feed-Cursor", feed_cursor))
        .streaming(body))
}

/// Creates an action with its designations, sources, responses and status history, in one
/// transaction.
#[utoipa::path(post, path = "/v1/actions", tag = "actions",
    operation_id = "createAction", request_body = NewAction,
    params(super::IdempotencyKey),
    responses(
        (status = 201, description = "Created", body = Action,
            headers(("Location" = String, description = "The new action's URL"))),
        (status = 409, response = crate::openapi::Conflict)))]
#[post("/v1/actions")]
pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    Writer(caller): Writer,
    Checked(input, faults): Checked<NewAction>,
) -> AppResult<HttpResponse> {
    let once = Once::new(idempotency(&req, &caller)?, |doc: &Doc| {
        Ok(super::answer_document(
            201,
            Some(format!("/v1/actions/{}", doc.id)),
            doc,
        ))
    });
    Ok(super::send(
        service::create(&state, &caller, input, faults, None, once).await?,
    ))
}

/// One action with everything embedded.
#[utoipa::path(get, path = "/v1/actions/{id}", tag = "actions",
    operation_id = "getAction",
    params(("id" = Uuid, Path, description = "The action's id", example = "0a1f0000-0000-4000-8000-000000000008"), ShowDeleted),
    responses(
        (status = 200, description = "The action", body = Action),
        (status = 404, response = crate::openapi::NotFound)))]
#[route("/v1/actions/{id}", method = "GET", method = "HEAD")]
pub async fn get(
    req: HttpRequest,
    state: web::Data<AppState>,
    _reader: Reader,
    id: web::Path<String>,
    Query(params): Query<ShowDeleted>,
) -> AppResult<HttpResponse> {
    let id = parse_id(&id)?;
    let show_deleted = params.show_deleted.unwrap_or(false);
    let doc = state
        .read(&req, async |conn| {
            service::read(conn, &state.actors, id, show_deleted).await
        })
        .await?;
    Ok(conditional::respond_raw(
        &req,
        doc.etag(),
        doc.body.into_bytes(),
    ))
}

/// Changes an action. Lists given in the body replace the stored ones; a new `status` is
/// appended to the history. A body that changes nothing leaves the action as it is (same
/// `version`, no change-feed entry).
#[utoipa::path(patch, path = "/v1/actions/{id}", tag = "actions",
    operation_id = "updateAction", request_body = ActionPatch,
    params(("id" = Uuid, Path, description = "The action's id", example = "0a1f0000-0000-4000-8000-000000000008"), super::IfMatch),
    responses(
        (status = 200, description = "The changed action", body = Action),
        (status = 404, response = crate::openapi::NotFound),
        (status = 409, response = crate::openapi::Conflict)))]
#[patch("/v1/actions/{id}")]
pub async fn update(
    req: HttpRequest,
    state: web::Data<AppState>,
    Writer(caller): Writer,
    id: web::Path<String>,
    Checked(patch, faults): Checked<ActionPatch>,
) -> AppResult<HttpResponse> {
    let id = parse_id(&id)?;
    let expect = conditional::expect_document(&req, state.config.require_if_match);
    let doc = service::update(&state, &caller, id, patch, faults, expect).await?;
    Ok(conditional::written_raw(doc.etag(), doc.body.into_bytes()))
}

/// Deletes an action: it disappears from lists and answers 404 until restored. Refused with
/// 409 while other actions respond to it. With `purge=true` (admin) it is removed for good,
/// with its designations, sources, history and the responses it makes.
#[utoipa::path(delete, path = "/v1/actions/{id}", tag = "actions",
    operation_id = "deleteAction",
    params(("id" = Uuid, Path, description = "The action's id", example = "0a1f0000-0000-4000-8000-000000000008"), DeleteParams, super::IfMatch),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, response = crate::openapi::NotFound),
        (status = 409, response = crate::openapi::Conflict)))]
#[delete("/v1/actions/{id}")]
pub async fn delete(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    Query(params): Query<DeleteParams>,
) -> AppResult<HttpResponse> {
    // A purge needs admin: the refusal names that scope, not write's.
    let purge = params.purge.unwrap_or(false);
    caller.require(if purge { Scope::Admin } else { Scope::Write })?;
    let id = parse_id(&id)?;
    let expect = conditional::expect_document(&req, state.config.require_if_match);
    if purge {
        service::purge(&state, &caller, id, expect).await?;
    } else {
        service::delete(&state, &caller, id, expect).await?;
    }
    Ok(HttpResponse::NoContent().finish())
}

/// Brings back a deleted action. `If-Match` takes the ETag it has deleted (as
/// `GET /v1/actions/{id}?show_deleted=true` gives it).
#[utoipa::path(post, path = "/v1/actions/{id}/restore", tag = "actions",
    operation_id = "restoreAction",
    params(("id" = Uuid, Path, description = "The action's id", example = "0a1f0000-0000-4000-8000-000000000008"), super::IfMatch, super::IdempotencyKey),
    responses(
        (status = 200, description = "The restored action", body = Action),
        (status = 404, response = crate::openapi::NotFound),
        (status = 409, response = crate::openapi::Conflict)))]
#[post("/v1/actions/{id}/restore")]
pub async fn restore(
    req: HttpRequest,
    state: web::Data<AppState>,
    Writer(caller): Writer,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = parse_id(&id)?;
    let once = Once::new(idempotency(&req, &caller)?, |doc: &Doc| {
        Ok(super::answer_document(200, None, doc))
    });
    let expect = conditional::expect_document(&req, state.config.require_if_match);
    Ok(super::send(
        service::restore(&state, &caller, id, expect, once).await?,
    ))
}

/// The actions that respond to this one, oldest first, in pages.
#[utoipa::path(get, path = "/v1/actions/{id}/responses", tag = "actions",
    operation_id = "listActionResponses",
    params(("id" = Uuid, Path, description = "The action's id", example = "0a1f0000-0000-4000-8000-000000000008"), PageParams),
    responses(
        (status = 200, description = "The actions answering it; each one's `responds_to` \
            says how", body = List<Action>,
            headers(("Link" = String, description = "`<...>; rel=\"next\"` when there is a next page")),
            example = json!({"items": [crate::views::action_example()], "next_page_token": null})),
        (status = 404, response = crate::openapi::NotFound)))]
#[route("/v1/actions/{id}/responses", method = "GET", method = "HEAD")]
pub async fn responses(
    req: HttpRequest,
    state: web::Data<AppState>,
    _reader: Reader,
    id: web::Path<String>,
    Query(params): Query<PageParams>,
) -> AppResult<HttpResponse> {
    let id = parse_id(&id)?;
    let ask = page_ask(
        &req,
        ActionSort::OldestFirst,
        params.limit,
        params.page_token.as_deref(),
        false,
    )?;
    let filter = ActionFilter {
        answers: Some(id),
        ..Default::default()
    };
    let page = state
        .read(&req, async |conn| {
            reads::exists(conn, id).await?;
            reads::page(conn, &state.actors, &filter, ask).await
        })
        .await?;
    respond_page(&req, page)
}

/// The statuses the action has had, and the changes made to it with their authors, oldest
/// first: the newest 1,000 status changes and 200 changes (`older_items` and `older_edits`
/// count the rest; every change is in `GET /v1/audit`).
#[utoipa::path(get, path = "/v1/actions/{id}/history", tag = "actions",
    operation_id = "getActionHistory",
    params(("id" = Uuid, Path, description = "The action's id", example = "0a1f0000-0000-4000-8000-000000000008"), ShowDeleted),
    responses(
        (status = 200, description = "The status history; always one page",
            body = ActionHistory,
            example = json!({"items": [
                {"status": "announced", "on": "2020-05-22", "source_url": null, "note": null, "recorded_at": "2026-11-28T12:00:00Z"},
                {"status": "in_force", "on": "2020-06-05", "source_url": "https://www.federalregister.gov/d/2020-12245", "note": "published in the Federal Register", "recorded_at": "2026-11-28T12:00:00Z"}],
                "older_items": 0,
                "edits": [{"at": "2026-11-28T12:00:00Z", "operation": "create", "author": null, "request_id": null, "changed": [], "import_id": null}],
                "older_edits": 0,
                "next_page_token": null})),
        (status = 404, response = crate::openapi::NotFound)))]
#[route("/v1/actions/{id}/history", method = "GET", method = "HEAD")]
pub async fn history(
    req: HttpRequest,
    state: web::Data<AppState>,
    _reader: Reader,
    id: web::Path<String>,
    Query(params): Query<ShowDeleted>,
) -> AppResult<HttpResponse> {
    let id = parse_id(&id)?;
    let show_deleted = params.show_deleted.unwrap_or(false);
    let history = state
        .read(&req, async |conn| {
            reads::history(conn, id, show_deleted).await
        })
        .await?;
    conditional::respond(&req, &history)
}
