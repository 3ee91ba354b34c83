//! The OpenAPI document at `/openapi.json` and Swagger UI at `/docs/`, both from the binary.
//!
//! Both answer GET and HEAD with a strong ETag and `Cache-Control: no-cache`: a browser
//! opening /docs again, or a client generator polling the document, gets 304s instead of
//! 1.7 MB. Swagger UI runs under the dashboard's content policy.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use utoipa_swagger_ui::Config;

use crate::conditional::{digest_hex, static_file};
use crate::error::AppError;

/// The served document, serialized once.
struct Document {
    json: web::Bytes,
    etag: String,
}

/// Swagger UI reads the document at /openapi.json, and nothing else from anywhere: its
/// validator badge, on by default, had every browser opening /docs on a host other than
/// localhost send the document's address to validator.swagger.io.
static SWAGGER: LazyLock<Arc<Config<'static>>> =
    LazyLock::new(|| Arc::new(Config::new(["/openapi.json"]).validator_url("none")));

/// ETags of Swagger UI's files by path, computed on first use (the set is the files of the
/// vendored distribution, so it stays small).
static SWAGGER_ETAGS: LazyLock<Mutex<HashMap<String, String>>> = LazyLock::new(Default::default);

pub fn routes(cfg: &mut web::ServiceConfig, doc: &serde_json::Value) {
    let json = serde_json::to_vec(doc).expect("the OpenAPI document serializes");
    let document = web::Data::new(Document {
        etag: format!("\"{}\"", digest_hex(&json, 12)),
        json: json.into(),
    });
    cfg.service(
        web::resource("/openapi.json")
            .app_data(document)
            .route(web::get().to(openapi))
            .route(web::head().to(openapi)),
    )
    .service(web::redirect("/docs", "/docs/"))
    .service(
        web::resource("/docs/{file:.*}")
            .route(web::get().to(swagger_ui))
            .route(web::head().to(swagger_ui)),
    );
}

async fn openapi(req: HttpRequest, doc: web::Data<Document>) -> HttpResponse {
    static_file(&req, &doc.etag, "application/json", doc.json.clone(), &[])
}

async fn swagger_ui(req: HttpRequest, file: web::Path<String>) -> HttpResponse {
    let found = match utoipa_swagger_ui::serve(&file, SWAGGER.clone()) {
        Ok(found) => found,
        Err(e) => return AppError::Internal(format!("Swagger UI: {e}")).error_response(),
    };
    let Some(found) = found else {
        return AppError::NotFound(format!(
            "no file `{}` in Swagger UI; it starts at /docs/",
            file.as_str()
        ))
        .error_response();
    };
    let etag = SWAGGER_ETAGS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(file.into_inner())
        .or_insert_with(|| format!("\"{}\"", digest_hex(&found.bytes, 12)))
        .clone();
    let body = match found.bytes {
        std::borrow::Cow::Borrowed(bytes) => web::Bytes::from_static(bytes),
        std::borrow::Cow::Owned(bytes) => web::Bytes::from(bytes),
    };
    static_file(
        &req,
        &etag,
        &found.content_type,
        body,
        &[(header::CONTENT_SECURITY_POLICY, super::pages::CSP)],
    )
}
