//! Entity tags and conditional requests.
//!
//! The ETag of a resource is a strong validator that changes exactly when its representation
//! does (including an embedded actor's new name): a digest of its JSON for most; for an
//! action, its document's version and its embedded actors' (`documents`); for a webhook or
//! an API key, a revision (what If-Match compares) and a digest of the representation.
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
    format!("\"{}\"", digest_hex(json, 16))
}

/// Whether `If-None-Match` names `tag` (or `*`): weak comparison, as RFC 9110 asks of it.
pub fn none_match(req: &HttpRequest, tag: &str) -> bool {
    list_header(req, header::IF_NONE_MATCH).is_some_and(|v| names_weakly(&v, tag))
}

/// Whether an `If-None-Match` list names `tag` (or `*`), by weak comparison.
fn names_weakly(list: &str, tag: &str) -> bool {
    list.split(',')
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == "*" || t == tag)
}

/// A list-valued header as one value: RFC 9110 (5.3) makes several field lines of it one
/// comma-separated list, so a tag on the second line counts as much as one on the first.
/// A line that is not text stands as NUL, which matches no tag.
fn list_header(req: &HttpRequest, name: header::HeaderName) -> Option<String> {
    let lines: Vec<&str> = req
        .headers()
        .get_all(name)
        .map(|v| v.to_str().unwrap_or("\u{0}"))
        .collect();
    (!lines.is_empty()).then(|| lines.join(", "))
}

/// The first `n` bytes of the SHA-256 of `bytes`, in hex.
pub fn digest_hex(bytes: &[u8], n: usize) -> String {
    Sha256::digest(bytes)[..n]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub fn etag<T: Serialize>(value: &T) -> AppResult<String> {
    let json = serde_json::to_vec(value).map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(etag_of_json(&json))
}

/// The `If-Match` header of a request, if any.
pub fn if_match(req: &HttpRequest) -> Option<String> {
    list_header(req, header::IF_MATCH)
}

/// What a write's request makes it conditional on: `If-Match` and `If-None-Match`.
struct Preconditions {
    if_match: Option<String>,
    if_none_match: Option<String>,
    required: bool,
}

impl Preconditions {
    fn of(req: &HttpRequest, required: bool) -> Self {
        Preconditions {
            if_match: if_match(req),
            if_none_match: list_header(req, header::IF_NONE_MATCH),
            required,
        }
    }

    /// `If-Match` against the tag it compares (`same`), then, as RFC 9110 (13.2.2) orders
    /// them, `If-None-Match` against the whole current tag: on a write it fails when it
    /// names the resource as it is (or `*`, any representation). It used to be read only
    /// on the answer, which came back 304 for a change already made.
    fn check(&self, current: &str, same: fn(&str, &str) -> bool) -> AppResult<()> {
        check_if_match_by(self.if_match.as_deref(), current, self.required, same)?;
        if let Some(header) = &self.if_none_match {
            if names_weakly(header, current) {
                return Err(AppError::PreconditionFailed(format!(
                    "If-None-Match names the resource as it is (its ETag is {current}): a write \
                     under If-None-Match goes ahead only when the resource has changed since; \
                     send If-Match to change what you read"
                )));
            }
        }
        Ok(())
    }
}

/// The requirement of a PATCH or DELETE: its `If-Match` (if any, or required by
/// configuration) must match the ETag of the current representation, which the service
/// hands over inside its transaction.
pub fn expect_match<T: Serialize + 'static>(
    req: &HttpRequest,
    required: bool,
) -> crate::service::Expect<T> {
    let pre = Preconditions::of(req, required);
    std::sync::Arc::new(move |current: &T| {
        pre.check(&etag(current)?, |tag, current| tag == current)
    })
}

/// `expect_match` for a resource with a revision (`revision_etag`): `If-Match` holds when it
/// names the current revision, however far the rest has moved since.
pub fn expect_revision<T: Serialize + 'static>(
    req: &HttpRequest,
    required: bool,
    revision: fn(&T) -> String,
) -> crate::service::Expect<T> {
    let pre = Preconditions::of(req, required);
    std::sync::Arc::new(move |current: &T| {
        let json = serde_json::to_vec(current).map_err(|e| AppError::Internal(e.to_string()))?;
        let tag = revision_etag(&revision(current), &json);
        pre.check(&tag, same_revision)
    })
}

/// The ETag of a representation part of which moves on its own (a webhook's delivery
/// progress): `"<revision>.<whole>"`, a hash of the revision the client's settings were
/// written at, then the hash of the whole JSON. `If-None-Match` compares the whole tag, so a
/// cached copy is revalidated when anything moved; `If-Match` compares the revision part
/// (`expect_revision`), so a change guarded by it is refused only when somebody changed what
/// the revision covers. Comparing the whole tag there made every PATCH of a busy
/// subscription fail with 412: each delivery moved its cursor between GET and PATCH.
pub fn revision_etag(revision: &str, json: &[u8]) -> String {
    format!(
        "\"{}.{}\"",
        digest_hex(revision.as_bytes(), 8),
        digest_hex(json, 16)
    )
}

fn same_revision(tag: &str, current: &str) -> bool {
    match (tag.split_once('.'), current.split_once('.')) {
        (Some((tag, _)), Some((current, _))) => tag == current,
        _ => false,
    }
}

/// `value` as JSON, and its revision ETag.
pub fn revision_tagged<T: Serialize>(value: &T, revision: &str) -> AppResult<(String, Vec<u8>)> {
    let json = serde_json::to_vec(value).map_err(|e| AppError::Internal(e.to_string()))?;
    Ok((revision_etag(revision, &json), json))
}

/// The 200 answer of a write with the resource's revision ETag: never a 304, since the write
/// is done (`If-None-Match` is for reads).
pub fn written_revision<T: Serialize>(value: &T, revision: &str) -> AppResult<HttpResponse> {
    let (tag, json) = revision_tagged(value, revision)?;
    Ok(written_raw(tag, json))
}

/// A 200 answer with a revision ETag (`revision_etag`), or 304 when `If-None-Match` already
/// has the whole of it.
pub fn respond_revision<T: Serialize>(
    req: &HttpRequest,
    value: &T,
    revision: &str,
) -> AppResult<HttpResponse> {
    let (tag, json) = revision_tagged(value, revision)?;
    Ok(respond_raw(req, tag, json))
}

/// `expect_match` for an action, whose ETag comes from its stored document's versions.
pub fn expect_document(
    req: &HttpRequest,
    required: bool,
) -> crate::service::Expect<crate::documents::Doc> {
    let pre = Preconditions::of(req, required);
    std::sync::Arc::new(move |current: &crate::documents::Doc| {
        pre.check(&current.etag(), |tag, current| tag == current)
    })
}

fn check_if_match_by(
    if_match: Option<&str>,
    current: &str,
    required: bool,
    same: fn(&str, &str) -> bool,
) -> AppResult<()> {
    let Some(header) = if_match else {
        return if required {
            Err(AppError::if_match_required())
        } else {
            Ok(())
        };
    };
    let matches = header
        .split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || same(tag, current));
    if matches {
        Ok(())
    } else {
        Err(AppError::PreconditionFailed(format!(
            "the resource's current ETag is {current}, not {header}; GET it again, reapply your \
             change and retry"
        )))
    }
}

/// The 200 answer of a write with the value and its ETag: never a 304, since the write is
/// done (`If-None-Match` on a write is a precondition, `Preconditions::check`).
pub fn written<T: Serialize>(value: &T) -> AppResult<HttpResponse> {
    let json = serde_json::to_vec(value).map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(written_raw(etag_of_json(&json), json))
}

/// `written` for a JSON body made elsewhere (stored documents).
pub fn written_raw(tag: String, json: Vec<u8>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::ETAG, tag))
        .content_type("application/json")
        .body(json)
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
    if none_match(req, &tag) {
        return HttpResponse::NotModified()
            .insert_header((header::ETAG, tag))
            .finish();
    }
    written_raw(tag, json)
}

/// A file built into the binary (dashboard, Swagger UI, the OpenAPI document): 304 when
/// `If-None-Match` names `etag`, else the body; revalidated on every use (a 304 is cheap),
/// so a new binary's files show at once. `headers` go on both answers.
pub fn static_file(
    req: &HttpRequest,
    etag: &str,
    content_type: &str,
    body: actix_web::web::Bytes,
    headers: &[(header::HeaderName, &'static str)],
) -> HttpResponse {
    let fresh = none_match(req, etag);
    let mut res = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    res.insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, "no-cache"));
    for (name, value) in headers {
        res.insert_header((name.clone(), *value));
    }
    if fresh {
        return res.finish();
    }
    res.content_type(content_type).body(body)
}
