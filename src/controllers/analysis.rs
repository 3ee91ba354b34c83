use actix_web::route;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{NaiveDate, Utc};

use super::parse_id;
use crate::analysis::chain::{self as chains, Chain};
use crate::analysis::dyad::{DyadRanking, DyadSummary, Interval, Timeline};
use crate::auth::Reader;
use crate::error::{AppError, AppResult};
use crate::extract::Query;
use crate::input::Day;
use crate::models::enums::ActionSort;
use crate::pagination;
use crate::state::{borrow_all, AppState};
use crate::views::{DesignationOn, List};

/// The whole episode around an action: every action connected to it through responses, in
/// either direction, with each one's generation, the edges, and a summary. At most 10,000
/// actions; a larger episode is a 400.
#[utoipa::path(get, path = "/v1/actions/{id}/chain", tag = "analysis",
    operation_id = "getActionChain",
    params(("id" = Uuid, Path, description = "Any action of the episode",
        example = "0a1f0000-0000-4000-8000-000000000008")),
    responses(
        (status = 200, description = "The episode, oldest action first", body = Chain),
        (status = 404, response = crate::openapi::NotFound)))]
#[route("/v1/actions/{id}/chain", method = "GET", method = "HEAD")]
pub async fn chain(
    req: HttpRequest,
    state: web::Data<AppState>,
    _reader: Reader,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = parse_id(&id)?;
    let chain = state
        .read(&req, async |conn| {
            chains::chain(conn, &state.actors, id).await
        })
        .await?;
    crate::conditional::respond(&req, &chain)
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DesignationParams {
    /// The day to report the status on (default: today, UTC).
    #[param(value_type = Option<String>, format = Date, example = "2020-08-01")]
    pub as_of: Option<Day>,
    /// Page size, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// `next_page_token` of the previous page, with the same parameters.
    pub page_token: Option<String>,
}

/// Every action that designates the actor, oldest first, with its status on `as_of`
/// ("was Chen Quanguo under US sanctions on 1 August 2020?").
#[utoipa::path(get, path = "/v1/actors/{actor}/designations", tag = "analysis",
    operation_id = "listActorDesignations",
    params(("actor" = String, Path, description = "The actor's UUID or code", example = "chen-quanguo"),
        DesignationParams),
    responses(
        (status = 200, description = "The designating actions", body = List<DesignationOn>),
        (status = 404, response = crate::openapi::NotFound)))]
#[route("/v1/actors/{actor}/designations", method = "GET", method = "HEAD")]
pub async fn designations(
    req: HttpRequest,
    state: web::Data<AppState>,
    _reader: Reader,
    key: web::Path<String>,
    Query(params): Query<DesignationParams>,
) -> AppResult<HttpResponse> {
    let day = params
        .as_of
        .map(|d| d.0)
        .unwrap_or_else(|| Utc::now().date_naive());
    let limit = pagination::page_size(params.limit)?;
    let after =
        super::filters::cursor(&req, params.page_token.as_deref(), ActionSort::OldestFirst)?;
    let (items, next) = state
        .read(&req, async |conn| {
            crate::service::action_reads::designations_on(
                conn,
                &state.actors,
                &key,
                day,
                after,
                limit,
            )
            .await
        })
        .await?;
    pagination::respond(&req, items, next, None)
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct WindowParams {
    /// Only actions announced on or after this day.
    #[param(value_type = Option<String>, format = Date, example = "2020-01-01")]
    pub from: Option<Day>,
    /// Only actions announced on or before this day; `in_force` is counted on it (default
    /// today).
    #[param(value_type = Option<String>, format = Date, example = "2020-12-31")]
    pub to: Option<Day>,
}

/// Both directions of a dyad: counts, severity, reciprocity and response times,
/// proportionality of answers, threat follow-through, and what is in force.
///
/// Definitions: an action of one direction is *answered* when a live action of the other
/// direction responds to it, announced no later than `to`; `median_response_days` is the median over answered
/// actions of the days to their earliest answer. `proportionality` classifies the answers this
/// direction gave (in the window) to the other's actions: `mirror` when the severities differ
/// by at most 1.0, `escalate` when the answer is more than 1.0 more negative, `de_escalate`
/// otherwise. A threat is *implemented* when an action of the same initiator responds to it
/// with `implements`, no later than `to`.
#[utoipa::path(get, path = "/v1/dyads/{a}/{b}", tag = "analysis",
    operation_id = "getDyad",
    params(
        ("a" = String, Path, description = "Code of one state or IGO", example = "USA"),
        ("b" = String, Path, description = "Code of the other", example = "CHN"),
        WindowParams),
    responses(
        (status = 200, description = "The dyad's summary", body = DyadSummary),
        (status = 404, response = crate::openapi::NotFound)))]
#[route("/v1/dyads/{a}/{b}", method = "GET", method = "HEAD")]
pub async fn dyad(
    req: HttpRequest,
    state: web::Data<AppState>,
    _reader: Reader,
    path: web::Path<(String, String)>,
    Query(params): Query<WindowParams>,
) -> AppResult<HttpResponse> {
    let (a, b) = path.into_inner();
    let (from, to) = window(&params)?;
    let today = Utc::now().date_naive();
    let summary = state
        .read(&req, async |conn| {
            let (a, b) = crate::analysis::dyad::members(conn, &a, &b).await?;
            let mut spare = conn.spares(1).await;
            let spare = borrow_all(&mut spare);
            crate::analysis::dyad::summary(conn, spare, a, b, from, to, today).await
        })
        .await?;
    crate::conditional::respond(&req, &summary)
}

fn window(params: &WindowParams) -> AppResult<(Option<NaiveDate>, Option<NaiveDate>)> {
    let (from, to) = (params.from.map(|d| d.0), params.to.map(|d| d.0));
    match crate::input::backwards(("from", from), ("to", to)) {
        Some(fault) => Err(AppError::bad_params(vec![fault])),
        None => Ok((from, to)),
    }
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TimelineParams {
    /// Bucket length. Default: `month`, or `quarter` or else `year` when the window holds
    /// more than 10,000 months (the answer's `interval` says which).
    pub interval: Option<Interval>,
    /// First day (default: the dyad's first action).
    #[param(value_type = Option<String>, format = Date, example = "2020-01-01")]
    pub from: Option<Day>,
    /// Last day (default: today, UTC, or the dyad's last action or `from` if later).
    #[param(value_type = Option<String>, format = Date, example = "2020-12-31")]
    pub to: Option<Day>,
}

/// The dyad over time: one bucket per interval, empty ones included, each with both
/// directions' count and severity sum and the running balance; ready to plot. At most 10,000
/// buckets; more is a 400.
#[utoipa::path(get, path = "/v1/dyads/{a}/{b}/timeline", tag = "analysis",
    operation_id = "getDyadTimeline",
    params(
        ("a" = String, Path, description = "Code of one state or IGO", example = "USA"),
        ("b" = String, Path, description = "Code of the other", example = "CHN"),
        TimelineParams),
    responses(
        (status = 200, description = "The buckets, oldest first", body = Timeline),
        (status = 404, response = crate::openapi::NotFound)))]
#[route("/v1/dyads/{a}/{b}/timeline", method = "GET", method = "HEAD")]
pub async fn timeline(
    req: HttpRequest,
    state: web::Data<AppState>,
    _reader: Reader,
    path: web::Path<(String, String)>,
    Query(params): Query<TimelineParams>,
) -> AppResult<HttpResponse> {
    let (a, b) = path.into_inner();
    let window_params = WindowParams {
        from: params.from,
        to: params.to,
    };
    let (from, to) = window(&window_params)?;
    let interval = params.interval;
    let timeline = state
        .read(&req, async |conn| {
            let (a, b) = crate::analysis::dyad::members(conn, &a, &b).await?;
            crate::analysis::dyad::timeline(conn, a, b, interval, from, to).await
        })
        .await?;
    crate::conditional::respond(&req, &timeline)
}

/// The optional `actor` parameter of the window endpoints: a state or IGO, by code. An
/// unknown code is a bad parameter (400 naming `actor`), as in every list's filters; a 404
/// is for what a path names.
async fn actor_param(
    conn: &mut diesel_async::AsyncPgConnection,
    code: &Option<String>,
) -> AppResult<Option<(uuid::Uuid, String)>> {
    let Some(code) = code else { return Ok(None) };
    match crate::analysis::dyad::member(conn, "actor", code).await {
        Err(AppError::NotFound(_)) => Err(AppError::bad_param(
            "actor",
            format!("unknown actor code `{code}`"),
        )),
        found => found.map(Some),
    }
}

/// Default number of dyads in the overview.
pub const DEFAULT_TOP_DYADS: i64 = 20;

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ActiveParams {
    /// Only this actor's dyads (code); it is then `a` in each.
    #[param(example = "CHN")]
    pub actor: Option<String>,
    /// Only actions announced on or after this day.
    #[param(value_type = Option<String>, format = Date, example = "2020-01-01")]
    pub from: Option<Day>,
    /// Only actions announced on or before this day.
    #[param(value_type = Option<String>, format = Date, example = "2020-12-31")]
    pub to: Option<Day>,
    /// How many dyads, 1 to 200 (default 20).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

/// The most active dyads in a window, busiest first: a dashboard's overview. Not paged: the
/// top `limit`, and how many dyads there are in all (`total`).
#[utoipa::path(get, path = "/v1/dyads", tag = "analysis",
    operation_id = "listDyads", params(ActiveParams),
    responses((status = 200, description = "The busiest dyads", body = DyadRanking)))]
#[route("/v1/dyads", method = "GET", method = "HEAD")]
pub async fn active(
    req: HttpRequest,
    state: web::Data<AppState>,
    _reader: Reader,
    Query(params): Query<ActiveParams>,
) -> AppResult<HttpResponse> {
    let window_params = WindowParams {
        from: params.from,
        to: params.to,
    };
    let (from, to) = window(&window_params)?;
    let limit = match params.limit {
        None => DEFAULT_TOP_DYADS,
        Some(n) => pagination::page_size(Some(n))?,
    };
    let ranking = state
        .read(&req, async |conn| {
            let actor = actor_param(conn, &params.actor).await?.map(|a| a.0);
            crate::analysis::dyad::most_active(conn, actor, from, to, limit).await
        })
        .await?;
    crate::conditional::respond(&req, &ranking)
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CountsParams {
    /// Only actions this actor (code of a state or IGO) initiated or was the target of.
    #[param(example = "CHN")]
    pub actor: Option<String>,
    /// Only actions announced on or after this day.
    #[param(value_type = Option<String>, format = Date, example = "2020-01-01")]
    pub from: Option<Day>,
    /// Only actions announced on or before this day.
    #[param(value_type = Option<String>, format = Date, example = "2020-12-31")]
    pub to: Option<Day>,
}

/// How many live actions were announced in a window, in all and by category (every
/// category, busiest first, zeros included): a dashboard's headline figures.
#[utoipa::path(get, path = "/v1/counts", tag = "analysis",
    operation_id = "getCounts", params(CountsParams),
    responses(
        (status = 200, description = "The counts", body = crate::analysis::counts::Counts)))]
#[route("/v1/counts", method = "GET", method = "HEAD")]
pub async fn counts(
    req: HttpRequest,
    state: web::Data<AppState>,
    _reader: Reader,
    Query(params): Query<CountsParams>,
) -> AppResult<HttpResponse> {
    let (from, to) = window(&WindowParams {
        from: params.from,
        to: params.to,
    })?;
    let counts = state
        .read(&req, async |conn| {
            let actor = actor_param(conn, &params.actor).await?;
            crate::analysis::counts::counts(conn, actor, from, to).await
        })
        .await?;
    crate::conditional::respond(&req, &counts)
}
