//! The HTTP server: routes, middleware, docs.

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::http::header;
use actix_web::middleware::{Compress, Logger};
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

use crate::controllers;
use crate::error::AppError;
use crate::openapi::ApiDoc;
use crate::state::AppState;

/// How long a SIGTERM/SIGINT waits for in-flight requests before the workers stop.
pub const SHUTDOWN_GRACE_SECS: u64 = 30;

pub fn server(listener: TcpListener, state: AppState, workers: usize) -> std::io::Result<Server> {
    let doc = ApiDoc::openapi();
    let data = web::Data::new(state);
    Ok(HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .wrap(Compress::default())
            .wrap(Logger::new("%a \"%r\" %s %b %Dms"))
            .configure(controllers::routes)
            .service(web::redirect("/docs", "/docs/"))
            .service(SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", doc.clone()))
            .default_service(web::to(not_found))
    })
    .listen(listener)?
    .workers(workers)
    .shutdown_timeout(SHUTDOWN_GRACE_SECS)
    .run())
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
