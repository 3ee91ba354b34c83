//! The HTTP server: routes, middleware, docs.

use std::net::TcpListener;

use actix_web::body::MessageBody;
use actix_web::dev::Server;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::{from_fn, Compress, Condition, Logger, Next};
use actix_web::{web, App, HttpMessage, HttpRequest, HttpResponse, HttpServer};
use utoipa_swagger_ui::SwaggerUi;

use crate::auth::RequestId;
use crate::controllers;
use crate::error::AppError;
use crate::state::AppState;

/// How long a SIGTERM/SIGINT waits for in-flight requests before the workers stop.
pub const SHUTDOWN_GRACE_SECS: u64 = 30;

pub fn server(listener: TcpListener, state: AppState, workers: usize) -> std::io::Result<Server> {
    let doc = crate::openapi::document();
    let origins = state.config.cors_origins.clone();
    let data = web::Data::new(state);
    Ok(HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .wrap(Condition::new(!origins.is_empty(), cors(&origins)))
            .wrap(Compress::default())
            .wrap(Logger::new("%a \"%r\" %s %b %Dms %{x-request-id}o"))
            .wrap(from_fn(crate::ratelimit::middleware))
            .wrap(from_fn(request_id))
            .configure(controllers::routes)
            .service(web::redirect("/docs", "/docs/"))
            .service(
                SwaggerUi::new("/docs/{_:.*}").external_url_unchecked("/openapi.json", doc.clone()),
            )
            .default_service(web::to(not_found))
    })
    .listen(listener)?
    .workers(workers)
    .shutdown_timeout(SHUTDOWN_GRACE_SECS)
    .run())
}

/// Browser access for dashboards: only the configured origins, with the headers a client
/// needs to read (ETag, Link, rate limits, request id) exposed.
fn cors(origins: &[String]) -> actix_cors::Cors {
    let mut cors = actix_cors::Cors::default()
        .allowed_methods(["GET", "POST", "PATCH", "DELETE"])
        .allowed_headers([
            "authorization",
            "content-type",
            "if-match",
            "if-none-match",
            "idempotency-key",
            "x-request-id",
        ])
        .expose_headers([
            "etag",
            "link",
            "location",
            "ratelimit-limit",
            "ratelimit-remaining",
            "ratelimit-reset",
            "retry-after",
            "x-request-id",
            "idempotent-replayed",
        ])
        .max_age(3600);
    for origin in origins {
        cors = if origin == "*" {
            cors.allow_any_origin()
        } else {
            cors.allowed_origin(origin)
        };
    }
    cors
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Gives every request an id (the client's `X-Request-Id` when it is sane), echoed in the
/// response and written to the audit log with every change the request makes.
async fn request_id(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let given = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 200 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_owned);
    let id = given.unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    req.extensions_mut().insert(RequestId(id.clone()));
    let mut res = next.call(req).await?;
    if let Ok(value) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(REQUEST_ID, value);
    }
    Ok(res)
}

async fn not_found(req: HttpRequest) -> Result<HttpResponse, AppError> {
    Err(AppError::NotFound(format!(
        "no resource at {} {}; see /docs for the API",
        req.method(),
        req.path()
    )))
}

/// The 405 answer of a resource, with the methods it does allow.
pub fn method_not_allowed(allow: &'static str) -> actix_web::Route {
    web::to(move |req: HttpRequest| async move {
        let problem = serde_json::json!({
            "type": "/problems/method-not-allowed",
            "title": "Method not allowed",
            "status": 405,
            "detail": format!("{} is not allowed on {}; allowed: {allow}", req.method(), req.path()),
        });
        HttpResponse::MethodNotAllowed()
            .insert_header((header::ALLOW, allow))
            .content_type(crate::error::PROBLEM_JSON)
            .body(problem.to_string())
    })
}
