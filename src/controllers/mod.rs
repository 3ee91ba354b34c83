//! HTTP handlers, one module per resource. Handlers parse, call `service` or `models`, and
//! shape the answer; the rules live elsewhere.

pub mod action_types;
pub mod actions;
pub mod actors;
pub mod analysis;
pub mod api_keys;
pub mod audit;
mod filters;
pub mod health;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};
use uuid::Uuid;

use crate::app::method_not_allowed;
use crate::auth::Caller;
use crate::error::{AppError, AppResult};
use crate::extract::BodyHash;
use crate::service::idempotency::{Answer, Idempotency, Written};

/// GET, and HEAD with the same handler (actix sends no body for HEAD).
fn read() -> actix_web::Route {
    web::route().guard(actix_web::guard::Any(actix_web::guard::Get()).or(actix_web::guard::Head()))
}

/// Registers every route of the API.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/v1/actors")
            .default_service(method_not_allowed("GET, POST"))
            .route(read().to(actors::list))
            .route(web::post().to(actors::create)),
    )
    .service(
        web::resource("/v1/actors/{actor}")
            .default_service(method_not_allowed("GET, PATCH, DELETE"))
            .route(read().to(actors::get))
            .route(web::patch().to(actors::update))
            .route(web::delete().to(actors::delete)),
    )
    .service(
        web::resource("/v1/dyads")
            .default_service(method_not_allowed("GET"))
            .route(read().to(analysis::active)),
    )
    .service(
        web::resource("/v1/dyads/{a}/{b}/timeline")
            .default_service(method_not_allowed("GET"))
            .route(read().to(analysis::timeline)),
    )
    .service(
        web::resource("/v1/dyads/{a}/{b}")
            .default_service(method_not_allowed("GET"))
            .route(read().to(analysis::dyad)),
    )
    .service(
        web::resource("/v1/actors/{actor}/designations")
            .default_service(method_not_allowed("GET"))
            .route(read().to(analysis::designations)),
    )
    .service(
        web::resource("/v1/actors/{actor}/restore")
            .default_service(method_not_allowed("POST"))
            .route(web::post().to(actors::restore)),
    )
    .service(
        web::resource("/v1/action-types")
            .default_service(method_not_allowed("GET"))
            .route(read().to(action_types::list)),
    )
    .service(
        web::resource("/v1/actions")
            .default_service(method_not_allowed("GET, POST"))
            .route(read().to(actions::list))
            .route(web::post().to(actions::create)),
    )
    .service(
        web::resource("/v1/actions/{id}")
            .default_service(method_not_allowed("GET, PATCH, DELETE"))
            .route(read().to(actions::get))
            .route(web::patch().to(actions::update))
            .route(web::delete().to(actions::delete)),
    )
    .service(
        web::resource("/v1/actions/{id}/chain")
            .default_service(method_not_allowed("GET"))
            .route(read().to(analysis::chain)),
    )
    .service(
        web::resource("/v1/actions/{id}/restore")
            .default_service(method_not_allowed("POST"))
            .route(web::post().to(actions::restore)),
    )
    .service(
        web::resource("/v1/actions/{id}/responses")
            .default_service(method_not_allowed("GET"))
            .route(read().to(actions::responses)),
    )
    .service(
        web::resource("/v1/actions/{id}/history")
            .default_service(method_not_allowed("GET"))
            .route(read().to(actions::history)),
    )
    .service(
        web::resource("/v1/api-keys")
            .default_service(method_not_allowed("GET, POST"))
            .route(read().to(api_keys::list))
            .route(web::post().to(api_keys::create)),
    )
    .service(
        web::resource("/v1/api-keys/{id}")
            .default_service(method_not_allowed("GET, DELETE"))
            .route(read().to(api_keys::get))
            .route(web::delete().to(api_keys::revoke)),
    )
    .service(
        web::resource("/v1/audit")
            .default_service(method_not_allowed("GET"))
            .route(read().to(audit::list)),
    )
    .service(
        web::resource("/healthz")
            .default_service(method_not_allowed("GET"))
            .route(read().to(health::healthz)),
    )
    .service(
        web::resource("/readyz")
            .default_service(method_not_allowed("GET"))
            .route(read().to(health::readyz)),
    );
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

/// The `Idempotency-Key` header.
pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";

/// The `Idempotency-Key` of a POST, bound to the caller's key and to the request (method,
/// path and body): None when absent, 400 when malformed.
pub fn idempotency(req: &HttpRequest, caller: &Caller) -> AppResult<Option<Idempotency>> {
    let Some(value) = req.headers().get(IDEMPOTENCY_HEADER) else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .filter(|k| !k.is_empty() && k.len() <= 255 && k.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| {
            AppError::bad_param(
                "Idempotency-Key",
                "must be 1 to 255 visible ASCII characters, e.g. a UUID",
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

/// An `{id}` path segment, in the one form ids are written in (`crate::input::parse_uuid`).
pub fn parse_id(raw: &str) -> AppResult<Uuid> {
    crate::input::parse_uuid(raw).ok_or_else(|| {
        AppError::bad_param(
            "id",
            format!("`{raw}` is not a UUID in its hyphenated form (8-4-4-4-12 hex digits)"),
        )
    })
}
