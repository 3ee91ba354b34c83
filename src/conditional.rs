//! Entity tags and conditional requests.
//!
//! The ETag of a resource is a strong validator computed from its JSON representation, so it
//! changes exactly when the representation does (including an embedded actor's new name).
//! PATCH and DELETE compare `If-Match` with the ETag of the current representation, computed
//! inside the writing transaction with the row locked: of several writers holding the same
//! ETag, exactly one succeeds.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::{AppError, AppResult};

/// `"` + 32 hex digits of the SHA-256 of the JSON + `"`.
pub fn etag_of_json(json: &[u8]) -> String {
    let digest = Sha256::digest(json);
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

pub fn etag<T: Serialize>(value: &T) -> AppResult<String> {
    let json = serde_json::to_vec(value).map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(etag_of_json(&json))
}

/// The `If-Match` header of a request, if any.
pub fn if_match(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get(header::IF_MATCH)
        .map(|v| v.to_str().unwrap_or("\u{0}").to_string())
}

/// The requirement of a PATCH or DELETE: its `If-Match` (if any, or required by
/// configuration) must match the ETag of the current representation, which the service
/// hands over inside its transaction.
pub fn expect_match<T: Serialize + 'static>(
    req: &HttpRequest,
    required: bool,
) -> crate::service::Expect<T> {
    let header = if_match(req);
    Box::new(move |current: &T| check_if_match(header.as_deref(), &etag(current)?, required))
}

/// `expect_match` for an action, whose ETag comes from its stored document's versions.
pub fn expect_document(
    req: &HttpRequest,
    required: bool,
) -> crate::service::Expect<crate::documents::Doc> {
    let header = if_match(req);
    Box::new(move |current: &crate::documents::Doc| {
        check_if_match(header.as_deref(), &current.etag(), required)
    })
}

/// Checks `If-Match` against the current ETag (strong comparison; `*` matches anything).
pub fn check_if_match(if_match: Option<&str>, current: &str, required: bool) -> AppResult<()> {
    let Some(header) = if_match else {
        return if required {
            Err(AppError::PreconditionRequired(
                "this server requires `If-Match` with the resource's current ETag for changes; \
                 GET the resource and send its ETag"
                    .into(),
            ))
        } else {
            Ok(())
        };
    };
    let matches = header
        .split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag == current);
    if matches {
        Ok(())
    } else {
        Err(AppError::PreconditionFailed(format!(
            "the resource's current ETag is {current}, not {header}; GET it again, reapply your \
             change and retry"
        )))
    }
}

/// A 200 answer with the value and its ETag, or 304 when `If-None-Match` already has it.
pub fn respond<T: Serialize>(req: &HttpRequest, value: &T) -> AppResult<HttpResponse> {
    let json = serde_json::to_vec(value).map_err(|e| AppError::Internal(e.to_string()))?;
    let tag = etag_of_json(&json);
    Ok(respond_raw(req, tag, json))
}

/// A 200 answer with a JSON body made elsewhere (stored documents) and its ETag, or 304
/// when `If-None-Match` already has it.
pub fn respond_raw(req: &HttpRequest, tag: String, json: Vec<u8>) -> HttpResponse {
    let cached = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .map(|t| t.trim().trim_start_matches("W/"))
                .any(|t| t == "*" || t == tag)
        });
    if cached {
        return HttpResponse::NotModified()
            .insert_header((header::ETAG, tag))
            .finish();
    }
    HttpResponse::Ok()
        .insert_header((header::ETAG, tag))
        .content_type("application/json")
        .body(json)
}
