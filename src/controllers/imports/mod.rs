use actix_web::http::header;
use actix_web::{post, route};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

mod upload;
use upload::Upload;
pub use upload::{upload_too_long, upload_too_slow};

use super::actions::PageParams;
use super::parse_id;
use crate::auth::{Reader, Writer};
use crate::conditional;
use crate::error::AppResult;
use crate::extract::Query;
use crate::import::Format;
use crate::pagination;
use crate::service::imports as service;
use crate::state::AppState;
use crate::views::{Import, ImportState, List};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ImportParams {
    /// `ndjson` (default), `plover` or `gdelt`.
    pub format: Option<Format>,
    /// `true` to store the good lines and report the bad ones; by default nothing is stored
    /// when any line is rejected.
    pub partial: Option<bool>,
}

/// Imports a file of actions as a job: the body is the file (NDJSON in the API's shape,
/// PLOVER JSON, or GDELT event rows; gzip with `Content-Encoding: gzip`). It is kept on
/// disk, not in memory, and the job runs when a slot is free; follow it at the `Location`.
/// A server takes 8 jobs not finished, at most 4 of them from one API key (429 beyond).
/// Re-importing a file changes nothing: lines with an `id` or `external_id` update their
/// action. At most 2 GiB once decompressed (413); the body must keep arriving: 10 s without
/// data, more than 2 h in all, or slower than 16 KiB/s on average once 30 s behind that pace
/// is a 408 (the queue's slot is held from the upload's start).
#[utoipa::path(post, path = "/v1/imports", tag = "imports",
    operation_id = "createImport", params(ImportParams),
    request_body(description = "The file, as it is, compressed or not \
            (`Content-Encoding`). Its format is the `format` parameter's, whatever the \
            `Content-Type` says (any but multipart and media types is taken: `application/x-ndjson`, \
            `application/octet-stream`, `application/json` or `text/tab-separated-values` \
            alike). NDJSON: one action per line, or `{\"actor\": {...}}`.",
        content(
            (String = "application/x-ndjson", example = json!("{\"title\": \"US Treasury designates the Xinjiang Production and Construction Corps\", \"initiator\": \"USA\", \"target\": \"CHN\", \"authority\": \"us-ofac\", \"type\": \"asset_freeze\", \"status\": \"in_force\", \"announced_on\": \"2020-07-31\", \"external_id\": \"us-2020-07-31-xpcc\", \"source_dataset\": \"example\"}\n")),
            (inline(crate::openapi::FileBody) = "application/octet-stream"))),
    responses(
        (status = 202, description = "Accepted: the job, queued or running", body = Import,
            headers(("Location" = String, description = "The job's URL"))),
        (status = 408, response = crate::openapi::UploadTimeout),
        (status = 413, response = crate::openapi::FileTooLarge)))]
#[post("/v1/imports")]
pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    Writer(caller): Writer,
    Query(params): Query<ImportParams>,
    mut payload: web::Payload,
) -> AppResult<HttpResponse> {
    super::refuse_idempotency(
        &req,
        "a retried upload is imported again (lines with an `id` or `external_id` find what \
         the first stored, the others are stored twice); list the imports to see whether the \
         first went through",
    )?;
    let upload = Upload::begin(&req, &state)?;
    let slot = service::reserve(&state, &caller)?;
    let (path, bytes) = upload.receive(&mut payload).await?;
    let format = params.format.unwrap_or(Format::Ndjson);
    let partial = params.partial.unwrap_or(false);
    let job = service::submit(&state, slot, &caller, format, partial, path, bytes).await?;
    Ok(HttpResponse::Accepted()
        .insert_header((header::LOCATION, format!("/v1/imports/{}", job.id)))
        .json(job))
}

/// One import job: its state, counts, and the first 1,000 rejected lines with their
/// messages.
#[utoipa::path(get, path = "/v1/imports/{id}", tag = "imports",
    operation_id = "getImport",
    params(("id" = Uuid, Path, description = "The job's id")),
    responses(
        (status = 200, description = "The job", body = Import,
            headers(("Riposte-Consistency" = String, description = "Once the job has finished: the primary's WAL position, after the import's commit; send it back as `Riposte-Consistency` on reads to see what it stored"))),
        (status = 404, response = crate::openapi::NotFound)))]
#[route("/v1/imports/{id}", method = "GET", method = "HEAD")]
pub async fn get(
    req: HttpRequest,
    state: web::Data<AppState>,
    _reader: Reader,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = parse_id(&id)?;
    let mut conn = state.conn().await?;
    let job = service::get(&mut conn, id).await?;
    // What a finished job stored was committed by the job, not by the POST that queued it:
    // the token of that POST does not cover it.
    if matches!(job.state, ImportState::Succeeded | ImportState::Failed) {
        actix_web::HttpMessage::extensions_mut(&req).insert(crate::replicas::IssueToken);
    }
    conditional::respond(&req, &job)
}

/// Import jobs, newest first, without their rejected lines; paged.
#[utoipa::path(get, path = "/v1/imports", tag = "imports",
    operation_id = "listImports", params(PageParams),
    responses((status = 200, description = "A page of jobs, newest first", body = List<Import>)))]
#[route("/v1/imports", method = "GET", method = "HEAD")]
pub async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    _reader: Reader,
    Query(params): Query<PageParams>,
) -> AppResult<HttpResponse> {
    let limit = pagination::page_size(params.limit)?;
    let before = pagination::cursor(&req, params.page_token.as_deref())?;
    let mut conn = state.conn().await?;
    let (jobs, next) = service::latest(&mut conn, before, limit).await?;
    pagination::respond(&req, jobs, next, None)
}
