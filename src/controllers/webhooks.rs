//! /v1/webhooks (admin): subscriptions to the change feed, delivered by HTTP POST.

use actix_web::http::header;
use actix_web::{delete, patch, post, route};
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::actions::PageParams;
use super::{filters, parse_id};
use crate::auth::Admin;
use crate::conditional;
use crate::error::{AppError, AppResult, FieldError};
use crate::extract::{Checked, JsonBody, Query};
use crate::input::{nullable, present};
use crate::models::change::ChangeFilter;
use crate::models::webhook;
use crate::pagination;
use crate::service::webhooks::{self as service, Changes, Subscription};
use crate::state::AppState;
use crate::views::{Delivery, List, NewWebhookSecret, Webhook};

/// A subscription to create. Only `url` is required; every filter left out (or empty)
/// matches everything, and all given must match.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"url": "https://hooks.example.org/riposte", "kinds": ["created", "status_changed"], "entity": ["action"], "dyad": ["USA,CHN"], "description": "newsroom alerts"}))]
pub struct NewWebhook {
    /// Where to POST the entries: an http(s) URL with a host, at most 2000 characters, no
    /// spaces or control characters (the rule of sources' URLs), no user name or password;
    /// not an internal address unless the server allows it.
    pub url: String,
    pub description: Option<String>,
    /// Change kinds: `created`, `updated`, `deleted`, `restored`, `purged`,
    /// `status_changed`, `edge_added`, `edge_removed`.
    #[serde(default)]
    #[schema(value_type = Vec<crate::models::change::ChangeKind>)]
    pub kinds: Vec<String>,
    /// `actor`, `action` or `response`.
    #[serde(default)]
    #[schema(value_type = Vec<crate::models::change::ChangeEntity>)]
    pub entity: Vec<String>,
    /// Actor codes: changes of the actor, or of actions it initiates, targets or carries out
    /// or that designate it.
    #[serde(default)]
    pub actor: Vec<String>,
    /// Dyads `A,B` (states or IGOs), either way.
    #[serde(default)]
    pub dyad: Vec<String>,
    /// Action type codes.
    #[serde(default, rename = "type")]
    #[schema(rename = "type")]
    pub type_: Vec<String>,
    /// Start after this feed cursor (as `GET /v1/changes` gives it); by default after the
    /// latest entry, so only changes from now on are sent.
    #[schema(example = "0")]
    pub after: Option<String>,
}

/// Changes to a subscription: absent fields are kept; a filter given replaces that filter
/// (`[]` for everything). `enabled: true` on a disabled subscription resumes deliveries from
/// its cursor.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"enabled": true}))]
pub struct WebhookPatch {
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub url: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false, value_type = Option<Vec<crate::models::change::ChangeKind>>)]
    pub kinds: Option<Vec<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false, value_type = Option<Vec<crate::models::change::ChangeEntity>>)]
    pub entity: Option<Vec<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub actor: Option<Vec<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub dyad: Option<Vec<String>>,
    #[serde(default, rename = "type", deserialize_with = "present")]
    #[schema(rename = "type", nullable = false)]
    pub type_: Option<Vec<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(nullable = false)]
    pub enabled: Option<bool>,
}

/// Where to resume deliveries.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"from_cursor": "0"}))]
pub struct Redeliver {
    /// A feed cursor: every matching entry after it is sent again, in order, with its
    /// original `webhook-id`.
    pub from_cursor: String,
}

/// The values of a filter that can be looked up, each one that cannot a fault of its own
/// element (`actor[1]`): one with a NUL, or with the `separator` the feed's query splits
/// its list at (`["USA,CHN"]` is one element, not two codes).
fn lookable<'v>(
    faults: &mut Vec<FieldError>,
    field: &str,
    values: Option<&'v [String]>,
    separator: char,
) -> Option<Vec<&'v str>> {
    let values: Vec<&str> = values?.iter().map(String::as_str).collect();
    for (i, value) in values.iter().enumerate() {
        if value.contains(separator) {
            faults.push(FieldError::new(
                format!("{field}[{i}]"),
                format!("`{value}` holds a `{separator}`: give one value per element"),
            ));
        }
    }
    let mut kept = filters::without_nul(faults, values, |v| [*v], |i| format!("{field}[{i}]"));
    kept.retain(|v| !v.contains(separator));
    Some(kept)
}

/// A fault on each element of `values` that is the same as an earlier one (by `key`, of the
/// element trimmed), named by its position in the request.
fn given_twice(
    faults: &mut Vec<FieldError>,
    field: &str,
    values: Option<&[String]>,
    key: impl Fn(&str) -> Vec<String>,
) {
    let keys: Vec<Vec<String>> = values
        .unwrap_or_default()
        .iter()
        .map(|v| key(v.trim()))
        .collect();
    for (i, k) in keys.iter().enumerate() {
        if let Some(first) = keys[..i].iter().position(|earlier| earlier == k) {
            faults.push(FieldError::new(
                format!("{field}[{i}]"),
                format!("the same as {field}[{first}]; give each once"),
            ));
        }
    }
}

/// A list as the feed's query gives it; an empty list is no filter.
fn joined<S: AsRef<str>>(values: Option<&[S]>, separator: &str) -> Option<String> {
    let values = values.filter(|v| !v.is_empty())?;
    Some(
        values
            .iter()
            .map(AsRef::as_ref)
            .collect::<Vec<_>>()
            .join(separator),
    )
}

/// The filters' codes resolved as `GET /v1/changes` resolves them; a bad value is a fault of
/// its field. An absent list is None; an empty one matches everything. The filter returned
/// is only meaningful when no fault was added: the caller refuses the request otherwise.
async fn resolve(
    conn: &mut AsyncPgConnection,
    state: &AppState,
    faults: &mut Vec<FieldError>,
    entity: Option<&[String]>,
    actor: Option<&[String]>,
    dyad: Option<&[String]>,
    type_: Option<&[String]>,
) -> AppResult<ChangeFilter> {
    // A filter is a set: a value given twice is a mistake to point out, not to store. Only
    // the lists the request gives: one stored before this rule still takes other changes.
    given_twice(faults, "entity", entity, |v| vec![v.to_string()]);
    given_twice(faults, "actor", actor, |v| vec![v.to_string()]);
    given_twice(faults, "dyad", dyad, |v| {
        // Either way: `USA,CHN` and `CHN,USA` are one dyad.
        let mut codes: Vec<String> = v.split(',').map(|c| c.trim().to_string()).collect();
        codes.sort();
        codes
    });
    given_twice(faults, "type", type_, |v| vec![v.to_string()]);
    let lists = [
        ("entity", entity),
        ("actor", actor),
        ("dyad", dyad),
        ("type", type_),
    ];
    let entity = lookable(faults, "entity", entity, ',');
    let actor = lookable(faults, "actor", actor, ',');
    let dyad = lookable(faults, "dyad", dyad, ';');
    let type_ = lookable(faults, "type", type_, ',');
    let (actor, dyad) = (joined(actor.as_deref(), ","), joined(dyad.as_deref(), ";"));
    match filters::resolve_changes(
        conn,
        &state.types,
        // Kinds are a list of their own in a subscription (`service::webhooks`).
        &None,
        &joined(entity.as_deref(), ","),
        &actor,
        &dyad,
        &joined(type_.as_deref(), ","),
    )
    .await
    {
        Ok(filter) => Ok(filter),
        Err(AppError::BadRequest { detail, errors }) => {
            if errors.is_empty() {
                // A refusal naming no field (the database refusing a value) must still
                // refuse the request: blame the filters that reached the database.
                let looked_up = [("actor", &actor), ("dyad", &dyad)];
                let blamed = looked_up.iter().filter(|(_, v)| v.is_some());
                let mut blamed: Vec<FieldError> = blamed
                    .map(|(field, _)| FieldError::new(*field, detail.clone()))
                    .collect();
                if blamed.is_empty() {
                    return Err(AppError::BadRequest { detail, errors });
                }
                faults.append(&mut blamed);
            }
            faults.extend(errors.into_iter().map(|e| placed(e, &lists)));
            Ok(ChangeFilter::default())
        }
        Err(other) => Err(other),
    }
}

/// A fault the feed's filters name by parameter (`actor`), named by its place in the
/// request's list (`actor[1]`) when its message quotes one of the list's values, or one of
/// a dyad's two codes.
fn placed(fault: FieldError, lists: &[(&str, Option<&[String]>)]) -> FieldError {
    let Some((name, Some(values))) = lists.iter().find(|(name, _)| *name == fault.field) else {
        return fault;
    };
    let quotes = |v: &str| fault.message.contains(&format!("`{v}`"));
    let at = values.iter().position(|v| {
        quotes(v.trim()) || (*name == "dyad" && v.split(',').any(|code| quotes(code.trim())))
    });
    match at {
        Some(i) => FieldError::new(format!("{name}[{i}]"), fault.message),
        None => fault,
    }
}

/// Webhook subscriptions, oldest first. Admin only; secrets are never shown again.
#[utoipa::path(get, path = "/v1/webhooks", tag = "webhooks",
    operation_id = "listWebhooks", params(PageParams),
    responses((status = 200, description = "A page of subscriptions", body = List<Webhook>)))]
#[route("/v1/webhooks", method = "GET", method = "HEAD")]
pub async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    _admin: Admin,
    Query(params): Query<PageParams>,
) -> AppResult<HttpResponse> {
    let limit = pagination::page_size(params.limit)?;
    let after = pagination::cursor::<(DateTime<Utc>, Uuid)>(&req, params.page_token.as_deref())?;
    let mut conn = state.conn().await?;
    let rows = webhook::list(&mut conn, after, limit + 1).await?;
    let (rows, more) = crate::models::one_page(rows, limit);
    let next = rows.last().filter(|_| more).map(|r| (r.created_at, r.id));
    let items = service::views(&mut conn, &rows).await?;
    pagination::respond(&req, items, next, None)
}

/// Subscribes a URL to the change feed and shows its signing secret, once. Admin only.
/// Every matching entry after the start is POSTed to the URL, in order, at least once,
/// signed as Standard Webhooks specifies (see docs/API.md).
#[utoipa::path(post, path = "/v1/webhooks", tag = "webhooks",
    operation_id = "createWebhook", request_body = NewWebhook,
    responses((status = 201, description = "Created; the secret is in the body, this once",
        body = NewWebhookSecret,
        headers(("Location" = String, description = "The subscription's URL"),
            ("ETag" = String, description = "The subscription's, as `GET` gives it (without \
                the secret): send it as `If-Match` to change it")))))]
#[post("/v1/webhooks")]
pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    Admin(caller): Admin,
    Checked(input, mut faults): Checked<NewWebhook>,
) -> AppResult<HttpResponse> {
    // The answer holds the secret, which must not be kept anywhere else.
    super::refuse_idempotency(
        &req,
        "a subscription's secret is shown once and never stored; list the webhooks to see \
         whether a retried creation went through",
    )?;
    let after = match input
        .after
        .as_deref()
        .map(|a| crate::feed::parse_cursor("after", a))
    {
        Some(Err(fault)) => {
            faults.push(fault);
            None
        }
        Some(Ok(n)) => Some(n),
        None => None,
    };
    let mut filter = {
        let mut conn = state.conn().await?;
        resolve(
            &mut conn,
            &state,
            &mut faults,
            Some(&input.entity),
            Some(&input.actor),
            Some(&input.dyad),
            Some(&input.type_),
        )
        .await?
    };
    filter.kinds = input.kinds;
    let sub = Subscription {
        url: input.url,
        description: input.description,
        filter,
        after,
    };
    let created =
        service::create(&state.pool, &caller, &state.config.webhooks, sub, faults).await?;
    // The ETag GET gives: of the view without the secret.
    let (etag, _) = conditional::revision_tagged(&created.webhook, &revision(&created.webhook))?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/v1/webhooks/{}", created.webhook.id),
        ))
        .insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(created))
}

async fn find(state: &AppState, id: Uuid) -> AppResult<webhook::WebhookRow> {
    let mut conn = state.conn().await?;
    webhook::find(&mut conn, id)
        .await?
        .ok_or_else(|| AppError::not_found(format_args!("webhook {id}")))
}

/// One subscription (without its secret). Admin only.
#[utoipa::path(get, path = "/v1/webhooks/{id}", tag = "webhooks",
    operation_id = "getWebhook",
    params(("id" = Uuid, Path, description = "The subscription's id")),
    responses(
        (status = 200, description = "The subscription", body = Webhook),
        (status = 404, response = crate::openapi::NotFound)))]
#[route("/v1/webhooks/{id}", method = "GET", method = "HEAD")]
pub async fn get(
    req: HttpRequest,
    state: web::Data<AppState>,
    _admin: Admin,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let row = find(&state, parse_id(&id)?).await?;
    let mut conn = state.conn().await?;
    let view = service::view(&mut conn, &row).await?;
    conditional::respond_revision(&req, &view, &revision(&view))
}

/// What `If-Match` guards on a subscription: its settings, which every change of them
/// (PATCH, rotation, redelivery, disabling) moves to a new `version`; not its delivery
/// progress, which moves with every delivery.
fn revision(webhook: &Webhook) -> String {
    format!("{}/{}", webhook.id, webhook.version)
}

/// Changes a subscription: its URL, description, filters, or `enabled`. Admin only.
#[utoipa::path(patch, path = "/v1/webhooks/{id}", tag = "webhooks",
    operation_id = "updateWebhook", request_body = WebhookPatch,
    params(("id" = Uuid, Path, description = "The subscription's id"), super::IfMatch),
    responses(
        (status = 200, description = "The changed subscription", body = Webhook),
        (status = 404, response = crate::openapi::NotFound)))]
#[patch("/v1/webhooks/{id}")]
pub async fn update(
    req: HttpRequest,
    state: web::Data<AppState>,
    Admin(caller): Admin,
    id: web::Path<String>,
    Checked(patch, mut faults): Checked<WebhookPatch>,
) -> AppResult<HttpResponse> {
    let id = parse_id(&id)?;
    let filter = {
        let mut conn = state.conn().await?;
        resolve(
            &mut conn,
            &state,
            &mut faults,
            patch.entity.as_deref(),
            patch.actor.as_deref(),
            patch.dyad.as_deref(),
            patch.type_.as_deref(),
        )
        .await?
    };
    let changes = Changes {
        url: patch.url,
        description: patch.description,
        kinds: patch.kinds,
        entities: patch.entity.map(|_| filter.entities),
        actors: patch.actor.map(|_| filter.actors),
        dyads: patch.dyad.map(|_| filter.dyads),
        types: patch.type_.map(|_| filter.types),
        enabled: patch.enabled,
    };
    let expect = conditional::expect_revision(&req, state.config.require_if_match, revision);
    let changed = service::update(
        &state.pool,
        &caller,
        &state.config.webhooks,
        id,
        changes,
        faults,
        expect,
    )
    .await?;
    conditional::written_revision(&changed, &revision(&changed))
}

/// Deletes a subscription and its delivery attempts; nothing more is sent. Admin only.
#[utoipa::path(delete, path = "/v1/webhooks/{id}", tag = "webhooks",
    operation_id = "deleteWebhook",
    params(("id" = Uuid, Path, description = "The subscription's id"), super::IfMatch),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, response = crate::openapi::NotFound)))]
#[delete("/v1/webhooks/{id}")]
pub async fn delete(
    req: HttpRequest,
    state: web::Data<AppState>,
    Admin(caller): Admin,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = parse_id(&id)?;
    let expect = conditional::expect_revision(&req, state.config.require_if_match, revision);
    service::delete(&state.pool, &caller, id, expect).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A subscription's delivery attempts, newest first: the entry, the attempt number, the
/// receiver's status or the error, the latency and when it is retried. Kept 7 days. Admin
/// only.
#[utoipa::path(get, path = "/v1/webhooks/{id}/deliveries", tag = "webhooks",
    operation_id = "listWebhookDeliveries",
    params(("id" = Uuid, Path, description = "The subscription's id"), PageParams),
    responses(
        (status = 200, description = "A page of attempts, newest first", body = List<Delivery>),
        (status = 404, response = crate::openapi::NotFound)))]
#[route("/v1/webhooks/{id}/deliveries", method = "GET", method = "HEAD")]
pub async fn deliveries(
    req: HttpRequest,
    state: web::Data<AppState>,
    _admin: Admin,
    id: web::Path<String>,
    Query(params): Query<PageParams>,
) -> AppResult<HttpResponse> {
    let id = parse_id(&id)?;
    let limit = pagination::page_size(params.limit)?;
    let before = pagination::cursor::<i64>(&req, params.page_token.as_deref())?;
    find(&state, id).await?;
    let mut conn = state.conn().await?;
    let rows = webhook::deliveries(&mut conn, id, before, limit + 1).await?;
    let (rows, more) = crate::models::one_page(rows, limit);
    let next = rows.last().filter(|_| more).map(|r| r.id);
    let items: Vec<Delivery> = rows.into_iter().map(Delivery::from_row).collect();
    pagination::respond(&req, items, next, None)
}

/// Sends entries again: the cursor moves to `from_cursor`, and every matching entry after it
/// is delivered (again) in order, with its original `webhook-id`. Also moves forward, past
/// entries that should not be sent. Failures so far are forgotten, and a disabled
/// subscription is enabled again (as `PATCH {"enabled": true}` does). Admin only.
#[utoipa::path(post, path = "/v1/webhooks/{id}/redeliver", tag = "webhooks",
    operation_id = "redeliverWebhook",
    request_body = Redeliver,
    params(("id" = Uuid, Path, description = "The subscription's id"), super::IfMatch),
    responses(
        (status = 200, description = "The subscription, with its new cursor, enabled",
            body = Webhook),
        (status = 404, response = crate::openapi::NotFound)))]
#[post("/v1/webhooks/{id}/redeliver")]
pub async fn redeliver(
    req: HttpRequest,
    state: web::Data<AppState>,
    Admin(caller): Admin,
    id: web::Path<String>,
    JsonBody(input): JsonBody<Redeliver>,
) -> AppResult<HttpResponse> {
    super::refuse_idempotency(
        &req,
        "read the subscription's `delivered_cursor` to see whether a retried redelivery went \
         through",
    )?;
    let id = parse_id(&id)?;
    let from = crate::feed::parse_cursor("from_cursor", &input.from_cursor)
        .map_err(|fault| AppError::invalid(vec![fault]))?;
    let expect = conditional::expect_revision(&req, state.config.require_if_match, revision);
    let changed = service::redeliver(
        &state.pool,
        &caller,
        &state.config.webhooks,
        id,
        from,
        expect,
    )
    .await?;
    conditional::written_revision(&changed, &revision(&changed))
}

/// Replaces the signing secret and shows the new one, once; every attempt from now on is
/// signed with it, and for 24 hours with the old one too (two signatures in
/// `webhook-signature`), so receivers switch without refusing a delivery. Admin only.
#[utoipa::path(post, path = "/v1/webhooks/{id}/rotate-secret", tag = "webhooks",
    operation_id = "rotateWebhookSecret",
    params(("id" = Uuid, Path, description = "The subscription's id"), super::IfMatch),
    responses(
        (status = 200, description = "The subscription with its new secret, this once",
            body = NewWebhookSecret),
        (status = 404, response = crate::openapi::NotFound)))]
#[post("/v1/webhooks/{id}/rotate-secret")]
pub async fn rotate_secret(
    req: HttpRequest,
    state: web::Data<AppState>,
    Admin(caller): Admin,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    // A second rotation would end the first secret's overlap at once.
    super::refuse_idempotency(
        &req,
        "the new secret is shown once and never stored; read the subscription's \
         `previous_secret_expires_at` to see whether a retried rotation went through",
    )?;
    let id = parse_id(&id)?;
    let expect = conditional::expect_revision(&req, state.config.require_if_match, revision);
    let rotated = service::rotate_secret(&state.pool, &caller, id, expect).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(rotated))
}
