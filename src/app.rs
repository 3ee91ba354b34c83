//! The HTTP server: routes, middleware, docs.

use std::net::TcpListener;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Server, ServerHandle};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::{header, Method};
use actix_web::middleware::{from_fn, Compress, Condition, DefaultHeaders, Logger, Next};
use actix_web::{web, App, HttpMessage, HttpRequest, HttpResponse, HttpServer, ResponseError};

use crate::auth::RequestId;
use crate::controllers;
use crate::error::AppError;
use crate::state::AppState;
use utoipa_actix_web::service_config::ServiceConfig;

/// Every request is answered within this time of its headers: a request still waiting on
/// the database then (frozen or unreachable server) gets 503 with `Retry-After`. It covers
/// the body (at most `BODY_READ_TIMEOUT`), the pool checkout (`POOL_WAIT`) and the
/// statements (`STATEMENT_TIMEOUT`, which PostgreSQL enforces on its side too).
pub const REQUEST_DEADLINE: std::time::Duration = std::time::Duration::from_secs(20);

/// The server; a stop waits up to `grace` for the requests in flight.
pub fn server(
    listener: TcpListener,
    state: AppState,
    workers: usize,
    grace: std::time::Duration,
) -> std::io::Result<Server> {
    let doc = crate::openapi::document();
    let allowed = web::Data::new(Allowed::from_document(&doc));
    let origins = state.config.cors_origins.clone();
    // Each worker gets a pool of its own, its share of `--pool-size` (at least one). A
    // connection's I/O task runs on the worker that opened it; used from another worker,
    // every query costs two wake-ups across threads (one shared pool: 13% fewer reads by id
    // a second). A worker actix starts again after a panic takes the place, and the share,
    // of the one whose pool closed with it.
    let workers = workers.max(1);
    let total = state.pool.status().max_size;
    let shared = state;
    Ok(HttpServer::new(move || {
        let mut state = shared.clone();
        let all = state.worker_pools.clone();
        let mut pools = all.lock().unwrap_or_else(|e| e.into_inner());
        let slot = pools
            .iter()
            .position(|p| p.upgrade().is_none())
            .unwrap_or(pools.len());
        let share = slot % workers;
        let size = (total / workers + usize::from(share < total % workers)).max(1);
        state.pool = crate::db::pool(&state.database_url, size)
            .expect("the same settings built the server's pool");
        if slot < pools.len() {
            pools[slot] = state.pool.weak();
        } else {
            pools.push(state.pool.weak());
        }
        drop(pools);
        // The last `wrap` is the outermost: CORS headers reach every answer, 429s included,
        // the access log has a line for CORS preflights and 429s too (the deadline's 503,
        // an error, is logged by `deadline`), and whatever a layer answers in plain text
        // leaves as problem+json.
        App::new()
            .app_data(web::Data::new(state))
            .app_data(allowed.clone())
            .wrap(from_fn(unknown_query_parameters))
            .wrap(from_fn(crate::replicas::middleware))
            .wrap(Compress::default())
            .wrap(from_fn(deadline))
            .wrap(from_fn(crate::ratelimit::middleware))
            .wrap(Condition::new(!origins.is_empty(), cors(&origins)))
            .wrap(access_log())
            .wrap(from_fn(request_id))
            .wrap(from_fn(plain_errors_as_problems))
            .wrap(
                crate::error::SECURITY_HEADERS
                    .into_iter()
                    .fold(DefaultHeaders::new(), DefaultHeaders::add),
            )
            // Outermost: counts every answer as the client gets it, 429s and refused
            // preflights included.
            .wrap(from_fn(crate::metrics::middleware))
            .configure(|cfg| controllers::routes(&mut ServiceConfig::new(cfg)))
            .configure(controllers::pages::routes)
            .configure(|cfg| controllers::docs::routes(cfg, &doc))
            .default_service(web::to(not_found))
    })
    .listen(listener)?
    .workers(workers)
    .shutdown_timeout(grace.as_secs().max(1))
    // Signals are ours (`stop_on_signals`): actix stops at once on SIGINT.
    .disable_signals()
    .run())
}

/// The access log. The request id is read from the request (`request_id` runs first): the
/// response header is added only after this layer has written its line.
fn access_log() -> Logger {
    use crate::logging::{
        ACCESS_FORMAT, ACCESS_TARGET, KEY_LABEL, REQUEST_ID_LABEL, REQUEST_LINE_LABEL,
    };
    Logger::new(ACCESS_FORMAT)
        .log_target(ACCESS_TARGET)
        .custom_request_replace(REQUEST_LINE_LABEL, |req| {
            let target = req.uri().path_and_query().map_or("/", |p| p.as_str());
            crate::logging::hide_keys(&format!("{} {target} {:?}", req.method(), req.version()))
        })
        .custom_request_replace(KEY_LABEL, |req| {
            // Its printed prefix (`riposte keys list`): the secret never reaches the log. A
            // header that holds no well-formed key (a typo, another scheme) is said as such,
            // so that failed attempts stand out, without quoting it.
            match crate::auth::presented(req.headers()) {
                crate::auth::Presented::Key(secret) => {
                    secret[..crate::auth::DISPLAY_PREFIX_LEN].to_string()
                }
                crate::auth::Presented::Malformed(_) => "malformed-key".to_string(),
                crate::auth::Presented::Nothing => "-".to_string(),
            }
        })
        .custom_request_replace(REQUEST_ID_LABEL, |req| {
            req.extensions()
                .get::<RequestId>()
                .map_or_else(|| "-".to_string(), |id| id.0.clone())
        })
}

/// SIGTERM or SIGINT (Ctrl-C) stop taking connections and let the requests in flight (and
/// the imports running, `service::imports::Imports::stop`) finish, for up to `grace`; a
/// second SIGINT stops them at once (`hurry`).
pub fn stop_on_signals(
    handle: ServerHandle,
    shutdown: std::sync::Arc<tokio::sync::watch::Sender<bool>>,
    grace: std::time::Duration,
    hurry: impl FnOnce() + 'static,
) {
    use tokio::signal::unix::{signal, SignalKind};
    actix_web::rt::spawn(async move {
        let (Ok(mut int), Ok(mut term)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) else {
            log::error!("cannot listen for SIGINT and SIGTERM; stop the server with SIGKILL");
            return;
        };
        let name = tokio::select! {
            _ = int.recv() => "SIGINT",
            _ = term.recv() => "SIGTERM",
        };
        let then = if name == "SIGINT" { "again" } else { "then" };
        log::info!(
            "{name}: finishing the requests in flight and running imports (up to {} s); \
             SIGINT (Ctrl-C) {then} to stop at once",
            grace.as_secs_f64()
        );
        shutdown.send_replace(true);
        let graceful = handle.stop(true);
        tokio::select! {
            _ = graceful => {
                // Imports may still be finishing.
                if int.recv().await.is_some() {
                    log::warn!("second SIGINT: stopping the running imports without waiting");
                    hurry();
                }
            }
            _ = int.recv() => {
                log::warn!(
                    "second SIGINT: stopping without waiting for requests in flight or imports"
                );
                hurry();
                handle.stop(false).await;
            }
        }
    });
}

/// Bounds the time of every request (`REQUEST_DEADLINE`). The request cannot be kept to
/// build the answer (routing needs it unshared), so the 503 travels as an error.
async fn deadline(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let what = format!("{} {}", req.method(), req.path());
    // An import's upload is as long as its file: it is bounded by its size and by its own
    // deadline, least rate and idle timeout (`controllers::imports::create`), and touches the
    // database only at its end.
    if req.method() == actix_web::http::Method::POST && req.path() == "/v1/imports" {
        return next.call(req).await;
    }
    match tokio::time::timeout(REQUEST_DEADLINE, next.call(req)).await {
        Ok(res) => res,
        Err(_) => {
            log::warn!(
                "{what} took over {} s and was answered with 503",
                REQUEST_DEADLINE.as_secs()
            );
            Err(AppError::Unavailable(format!(
                "the request could not be completed within {} s: the database is slow or \
                 unreachable; retry later",
                REQUEST_DEADLINE.as_secs()
            ))
            .into())
        }
    }
}

/// Answers that a layer below made in plain text (actix-cors refusing a preflight, actix's
/// own extractors) leave as problem+json like every other error.
async fn plain_errors_as_problems(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let res = next.call(req).await?;
    let status = res.status();
    let plain = status.is_client_error() || status.is_server_error();
    let typed = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    let page = res
        .response()
        .extensions()
        .contains::<controllers::pages::Page>();
    if !plain || typed || page || res.headers().contains_key(header::CONTENT_ENCODING) {
        return Ok(res.map_into_left_body());
    }
    let (http, response) = res.into_parts();
    let detail = actix_web::body::to_bytes_limited(response.into_body(), 4096)
        .await
        .ok()
        .and_then(Result::ok)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    Ok(ServiceResponse::new(http, problem_from_plain(status, &detail)).map_into_right_body())
}

/// A problem document for a status and the text a layer below gave.
fn problem_from_plain(status: actix_web::http::StatusCode, text: &str) -> HttpResponse {
    let detail = match text.trim() {
        "" => format!(
            "{}; see /docs for the API",
            status.canonical_reason().unwrap_or("Error")
        ),
        text => text.to_string(),
    };
    AppError::Relayed { status, detail }.error_response()
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
            "riposte-consistency",
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
            "riposte-consistency",
            "riposte-served-by",
            "riposte-feed-cursor",
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
        // Logged and audited: a key pasted into the header by mistake is cut to its prefix.
        .map(|v| crate::logging::hide_keys(v).replace('…', "..."));
    let id = given.unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    req.extensions_mut().insert(RequestId(id.clone()));
    let mut res = next.call(req).await?;
    if let Ok(value) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(REQUEST_ID, value);
    }
    Ok(res)
}

/// 404 for an unknown path (for a browser asking for HTML outside `/v1`, the dashboard's
/// page saying so); 405 with `Allow` for a known path and another method (the known paths
/// and their methods are the OpenAPI document's, so the route list is written once).
pub async fn not_found(req: HttpRequest, allowed: web::Data<Allowed>) -> HttpResponse {
    match allowed.methods(req.path()) {
        Some(allow) => method_not_allowed(&req, allow),
        None => match controllers::pages::not_found_page(&req) {
            Some(page) => page,
            None => AppError::NotFound(format!(
                "no resource at {} {}; see /docs for the API",
                req.method(),
                req.path()
            ))
            .error_response(),
        },
    }
}

/// Each documented path and its operations: for 405 answers, for the route label of
/// `/metrics` and for the query parameters each operation takes, found without actix's
/// regular expressions.
pub struct Allowed(Vec<DocumentedPath>);

struct DocumentedPath {
    segments: Vec<String>,
    template: String,
    /// The `Allow` value: the methods, HEAD wherever GET is.
    allow: String,
    /// Each method (upper case) and the names of its query parameters.
    queries: Vec<(String, Vec<String>)>,
}

impl Allowed {
    fn from_document(doc: &serde_json::Value) -> Self {
        let mut paths = Vec::new();
        for (path, item) in doc["paths"].as_object().into_iter().flatten() {
            let queries: Vec<(String, Vec<String>)> = item
                .as_object()
                .into_iter()
                .flatten()
                .map(|(method, op)| {
                    let names = op["parameters"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter(|p| p["in"] == "query")
                        .filter_map(|p| p["name"].as_str().map(str::to_string))
                        .collect();
                    (method.to_ascii_uppercase(), names)
                })
                .collect();
            let mut methods: Vec<&str> = queries.iter().map(|(m, _)| m.as_str()).collect();
            if methods.contains(&"GET") {
                methods.push("HEAD");
            }
            paths.push(DocumentedPath {
                segments: path.split('/').map(str::to_string).collect(),
                template: path.clone(),
                allow: methods.join(", "),
                queries,
            });
        }
        Allowed(paths)
    }

    /// The documented path `path` matches, if any. The document lists paths in order, where
    /// a literal segment comes before `{...}`.
    fn find(&self, path: &str) -> Option<&DocumentedPath> {
        let wanted = path.split('/');
        self.0.iter().find(|documented| {
            let mut wanted = wanted.clone();
            documented.segments.iter().all(|t| {
                wanted
                    .next()
                    .is_some_and(|w| t == w || (t.starts_with('{') && !w.is_empty()))
            }) && wanted.next().is_none()
        })
    }

    /// The `Allow` value of the documented path `path` matches, if any.
    fn methods(&self, path: &str) -> Option<&str> {
        self.find(path).map(|p| p.allow.as_str())
    }

    /// The template of the documented path `path` matches, if any (`/v1/actions/{id}`).
    pub fn template(&self, path: &str) -> Option<&str> {
        self.find(path).map(|p| p.template.as_str())
    }

    /// The query parameters of a documented operation, if it is one (HEAD is GET's).
    fn query_parameters(&self, method: &Method, path: &str) -> Option<&[String]> {
        let method = if method == Method::HEAD {
            "GET"
        } else {
            method.as_str()
        };
        let documented = self.find(path)?;
        documented
            .queries
            .iter()
            .find(|(m, _)| m == method)
            .map(|(_, names)| names.as_slice())
    }
}

/// A query parameter an operation of the API does not document is a 400 naming it, before
/// anything else reads the request: a client that sends `history?limit=10`, or misspells a
/// filter, learns that it was not taken rather than getting an answer that ignored it. The
/// names come from the OpenAPI document, the one list of what each operation takes.
async fn unknown_query_parameters(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    // A path whose escapes do not decode to UTF-8 names nothing: `/v1/actors/%FF` was looked
    // up as the actor `\u{FFFD}`.
    if req.path().starts_with("/v1/") && !crate::extract::well_escaped(req.path()) {
        let response = AppError::NotFound(format!(
            "no resource at `{}`: its percent escapes are malformed or not UTF-8",
            req.path()
        ))
        .error_response();
        return Ok(req.into_response(response).map_into_right_body());
    }
    if !req.query_string().is_empty() && req.path().starts_with("/v1/") {
        let unknown = req.app_data::<web::Data<Allowed>>().and_then(|allowed| {
            let taken = allowed.query_parameters(req.method(), req.path())?;
            crate::extract::form_urlencoded_pairs(req.query_string())
                .into_iter()
                .find(|(name, _)| !taken.contains(name))
                .map(|(name, _)| (name, taken.to_vec()))
        });
        if let Some((name, taken)) = unknown {
            let message = if taken.is_empty() {
                format!("unknown parameter `{name}`; this operation takes no query parameters")
            } else {
                let names: Vec<String> = taken.iter().map(|n| format!("`{n}`")).collect();
                format!(
                    "unknown parameter `{name}`, expected one of {}",
                    names.join(", ")
                )
            };
            let response = AppError::bad_param(&name, message).error_response();
            return Ok(req.into_response(response).map_into_right_body());
        }
    }
    Ok(next.call(req).await?.map_into_left_body())
}

/// The 405 answer, with the methods the path does allow.
fn method_not_allowed(req: &HttpRequest, allow: &str) -> HttpResponse {
    AppError::MethodNotAllowed {
        detail: format!(
            "{} is not allowed on {}; allowed: {allow}",
            req.method(),
            req.path()
        ),
        allow: allow.to_string(),
    }
    .error_response()
}
