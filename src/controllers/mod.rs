//! HTTP handlers, one module per resource. Handlers parse the request, call `service` (every
//! write, and reads that hold a rule or span several queries) or, for a plain one-query
//! read, `models`, and shape the answer: status, headers, ETag. The rules live elsewhere.

pub mod action_types;
pub mod actions;
pub mod actors;
pub mod analysis;
pub mod api_keys;
pub mod audit;
pub mod changes;
pub mod docs;
mod filters;
pub mod health;
pub mod imports;
pub mod metrics;
pub mod pages;
pub mod webhooks;

use actix_web::http::{header, StatusCode};
use actix_web::{HttpMessage, HttpRequest, HttpResponse};
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::{AppError, AppResult};
use crate::extract::BodyHash;
use crate::limits::MAX_IDEMPOTENCY_KEY_LEN;
use crate::service::idempotency::{Answer, Idempotency, Written};
use utoipa_actix_web::service_config::ServiceConfig;

/// Every operation of the API, registered once: the routes actix serves and the paths of the
/// OpenAPI document (`openapi::api`) both come from this list. Each handler carries its
/// route (`#[get(...)]`, GETs also answering HEAD) and its `#[utoipa::path]`;
/// wrong methods on a known path get 405 from `app::not_found`, which reads the document.
///
/// actix tries routes in this order, and each pattern with a `{segment}` is a regular
/// expression run on the path: the busiest reads (actions by id and lists) come first.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(actions::list)
        .service(actions::create)
        // Before `{id}`, which would take `export` for an id; and its other methods are 405s
        // here rather than falling through to `{id}`'s PATCH and DELETE.
        .service(actions::export)
        .route(
            "/v1/actions/export",
            actix_web::web::route().to(crate::app::not_found),
        )
        .service(actions::get)
        .service(actions::update)
        .service(actions::delete)
        .service(actions::restore)
        .service(actions::responses)
        .service(actions::history)
        .service(actors::list)
        .service(actors::create)
        .service(actors::get)
        .service(actors::update)
        .service(actors::delete)
        .service(actors::restore)
        .service(action_types::list)
        .service(analysis::chain)
        .service(analysis::designations)
        .service(analysis::dyad)
        .service(analysis::timeline)
        .service(analysis::active)
        .service(analysis::counts)
        .service(api_keys::list)
        .service(api_keys::create)
        .service(api_keys::get)
        .service(api_keys::revoke)
        .service(audit::list)
        .service(changes::list)
        .service(changes::events)
        .service(imports::create)
        .service(imports::list)
        .service(imports::get)
        .service(webhooks::list)
        .service(webhooks::create)
        .service(webhooks::get)
        .service(webhooks::update)
        .service(webhooks::delete)
        .service(webhooks::deliveries)
        .service(webhooks::redeliver)
        .service(webhooks::rotate_secret)
        .service(health::healthz)
        .service(health::readyz)
        .service(metrics::metrics);
}

/// `If-Match` and `If-None-Match`, declared by the handlers that honour them (PATCH and
/// DELETE of a resource).
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
pub struct IfMatch {
    /// The ETag you read; 412 when the resource changed since. A server run with
    /// `--require-if-match true` answers 428 when it is missing.
    #[param(rename = "If-Match", nullable = false)]
    pub if_match: Option<String>,
    /// ETags (or `*`) the change must not apply to: 412 when one is the resource's current
    /// ETag (`*`: whatever it is), and nothing is changed.
    #[param(rename = "If-None-Match", nullable = false)]
    pub if_none_match: Option<String>,
}

/// `Idempotency-Key`, declared by the handlers whose writes go through
/// `service::write_once`.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
pub struct IdempotencyKey {
    /// Makes a retry safe: the same key with the same request (the same JSON body, however
    /// it is spaced, ordered or escaped) replays the first answer (status, Location, ETag
    /// and body, marked `Idempotent-Replayed: true`) and creates nothing; with another
    /// request it is a 422; while the first is still running, a 409.
    /// Scoped to the API key, kept 24 hours. 1 to 255 visible ASCII characters.
    #[param(
        rename = "Idempotency-Key",
        nullable = false,
        min_length = 1,
        max_length = 255,
        pattern = "^[!-~]+$"
    )]
    pub idempotency_key: Option<String>,
}

/// The parameters of `P` but the pages' own (`NOT_PAGED`), for an endpoint that reads the
/// query of a paged list whole and refuses its paging: the export, the event stream.
pub struct Unpaged<P>(std::marker::PhantomData<P>);

/// What a paged list's query has that an unpaged read of it refuses.
pub const NOT_PAGED: [&str; 3] = ["limit", "page_token", "include_total"];

impl<P: utoipa::IntoParams> utoipa::IntoParams for Unpaged<P> {
    fn into_params(
        parameter_in: impl Fn() -> Option<utoipa::openapi::path::ParameterIn>,
    ) -> Vec<utoipa::openapi::path::Parameter> {
        P::into_params(parameter_in)
            .into_iter()
            .filter(|p| !NOT_PAGED.contains(&p.name.as_str()))
            .collect()
    }
}

/// The first of `NOT_PAGED` given, refused: `what` names what has no pages.
pub fn refuse_paging(given: [bool; 3], what: &str) -> AppResult<()> {
    match NOT_PAGED.iter().zip(given).find(|(_, given)| *given) {
        Some((name, _)) => Err(AppError::bad_param(
            name,
            format!("{what} has no pages; leave it out"),
        )),
        None => Ok(()),
    }
}

/// No query parameters: any given is a 400.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoParams {}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ShowDeleted {
    /// Also find a deleted record (it then carries `deleted_at`).
    pub show_deleted: Option<bool>,
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeleteParams {
    /// Remove the record for good instead of hiding it (needs an `admin` key; audited).
    pub purge: Option<bool>,
}

pub use crate::extract::IDEMPOTENCY_HEADER;

/// Refuses an `Idempotency-Key` on a POST that cannot honour it: ignored, the key would
/// promise a retry that does the work again. `why` says why, and how to tell instead
/// whether a retried request went through.
pub fn refuse_idempotency(req: &HttpRequest, why: &str) -> AppResult<()> {
    match req.headers().contains_key(IDEMPOTENCY_HEADER) {
        true => Err(AppError::bad_param(
            "Idempotency-Key",
            format!("not supported here: {why}"),
        )),
        false => Ok(()),
    }
}

/// The `Idempotency-Key` of a POST, bound to the caller's key and to the request (method,
/// path and body): None when absent, 400 when malformed.
pub fn idempotency(req: &HttpRequest, caller: &Caller) -> AppResult<Option<Idempotency>> {
    let Some(value) = req.headers().get(IDEMPOTENCY_HEADER) else {
        return Ok(None);
    };
    // Two keys would make the request mean one of them silently.
    if req.headers().get_all(IDEMPOTENCY_HEADER).nth(1).is_some() {
        return Err(AppError::bad_param(
            "Idempotency-Key",
            "given more than once; give one key",
        ));
    }
    let key = value
        .to_str()
        .ok()
        .filter(|k| {
            !k.is_empty()
                && k.len() <= MAX_IDEMPOTENCY_KEY_LEN
                && k.bytes().all(|b| b.is_ascii_graphic())
        })
        .ok_or_else(|| {
            AppError::bad_param(
                "Idempotency-Key",
                format!(
                    "must be 1 to {MAX_IDEMPOTENCY_KEY_LEN} visible ASCII characters, e.g. a UUID"
                ),
            )
        })?;
    let key_id = caller
        .key_id()
        .ok_or_else(|| AppError::Internal("write without a key".into()))?;
    let body_hash = req
        .extensions()
        .get::<BodyHash>()
        .map(|h| h.0.clone())
        .unwrap_or_default();
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for part in [req.method().as_str().as_bytes(), req.path().as_bytes()] {
        hasher.update(part);
        hasher.update([0]);
    }
    hasher.update(&body_hash);
    Ok(Some(Idempotency::new(
        key_id,
        key.to_string(),
        hasher.finalize().to_vec(),
    )))
}

/// The answer a write gives, rendered inside its transaction (so that an `Idempotency-Key`
/// can store it): the status, `Location`, the `ETag` of the body, and the body.
pub fn answer<T: serde::Serialize>(
    status: u16,
    location: Option<String>,
    value: &T,
) -> AppResult<Answer> {
    let body = serde_json::to_string(value).map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(Answer {
        status,
        location,
        etag: Some(crate::conditional::etag_of_json(body.as_bytes())),
        body,
    })
}

/// A write's answer that is a stored document: sent as it is, with its ETag.
pub fn answer_document(
    status: u16,
    location: Option<String>,
    doc: &crate::documents::Doc,
) -> Answer {
    Answer {
        status,
        location,
        etag: Some(doc.etag()),
        body: doc.body.clone(),
    }
}

/// Sends a write's answer, fresh or replayed (then marked `Idempotent-Replayed: true`).
pub fn send<T>(written: Written<T>) -> HttpResponse {
    let (answer, replayed) = match written {
        Written::Fresh(_, answer) => (answer, false),
        Written::Replayed(answer) => (answer, true),
    };
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    let mut response = HttpResponse::build(status);
    response.content_type("application/json");
    if let Some(location) = answer.location {
        response.insert_header((header::LOCATION, location));
    }
    if let Some(etag) = answer.etag {
        response.insert_header((header::ETAG, etag));
    }
    if replayed {
        response.insert_header(("Idempotent-Replayed", "true"));
    }
    response.body(answer.body)
}

/// An `{id}` path segment, in the one form ids are written in (`crate::ids::parse_uuid`).
pub fn parse_id(raw: &str) -> AppResult<Uuid> {
    crate::ids::parse_uuid(raw).ok_or_else(|| {
        AppError::bad_param(
            "id",
            format!("`{raw}` is not a UUID in its hyphenated form (8-4-4-4-12 hex digits)"),
        )
    })
}
