//! Keyset pagination with opaque page tokens.
//!
//! A token holds the sort key of the last item served and a fingerprint of the filters it
//! was issued for, so that a token replayed with other filters is refused instead of
//! silently returning a wrong page.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{AppError, AppResult};
use crate::extract::form_urlencoded_pairs;
use crate::limits::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
use crate::views::List;

pub const TOKEN_PARAM: &str = "page_token";

#[derive(Serialize, Deserialize)]
struct Token<K> {
    k: K,
    f: String,
}

/// The validated page size.
pub fn page_size(limit: Option<i64>) -> AppResult<i64> {
    match limit {
        None => Ok(DEFAULT_PAGE_SIZE),
        Some(n) if (1..=MAX_PAGE_SIZE).contains(&n) => Ok(n),
        Some(n) => Err(AppError::bad_param(
            "limit",
            format!("{n} is out of range; limit must be between 1 and {MAX_PAGE_SIZE}"),
        )),
    }
}

/// A fingerprint of every query parameter except the token and the page size.
fn fingerprint(req: &HttpRequest) -> String {
    let mut pairs: Vec<(String, String)> = form_urlencoded_pairs(req.query_string())
        .into_iter()
        .filter(|(k, _)| k != TOKEN_PARAM && k != "limit")
        .collect();
    pairs.sort();
    // FNV-1a: tokens only need to tell filter sets apart, not resist forgery.
    let mut hash: u64 = 0xcbf29ce484222325;
    for (k, v) in &pairs {
        for b in k.bytes().chain([0]).chain(v.bytes()).chain([1]) {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(0x100000001b3);
        }
    }
    format!("{:x}@{}", hash, req.path())
}

/// Reads the `page_token` parameter, if any, as the key of the last item served.
pub fn cursor<K: DeserializeOwned>(req: &HttpRequest, token: Option<&str>) -> AppResult<Option<K>> {
    let Some(token) = token else { return Ok(None) };
    let bad = |why: &str| AppError::bad_param(TOKEN_PARAM, why.to_string());
    let bytes = URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| bad("not a page token issued by this API"))?;
    let token: Token<K> =
        serde_json::from_slice(&bytes).map_err(|_| bad("not a page token issued by this API"))?;
    if token.f != fingerprint(req) {
        return Err(bad(
            "this page token was issued for other filters or another endpoint; repeat the \
             original query's parameters, or start again without a token",
        ));
    }
    Ok(Some(token.k))
}

/// Cuts a `limit + 1` fetch to one page; true when there is more.
pub fn split<R>(mut rows: Vec<R>, limit: i64) -> (Vec<R>, bool) {
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    (rows, more)
}

/// Answers a page, with the token and `Link` header for the next page when `next` (the key
/// of the page's last item) is given, and the total when it was asked for.
pub fn respond<T: Serialize, K: Serialize>(
    req: &HttpRequest,
    items: Vec<T>,
    next: Option<K>,
    total: Option<i64>,
) -> AppResult<HttpResponse> {
    let token = next
        .map(|k| {
            serde_json::to_vec(&Token {
                k,
                f: fingerprint(req),
            })
            .map(|bytes| URL_SAFE_NO_PAD.encode(bytes))
            .map_err(|e| AppError::Internal(e.to_string()))
        })
        .transpose()?;
    let mut response = crate::conditional::respond(
        req,
        &List {
            items,
            next_page_token: token.clone(),
            total,
        },
    )?;
    if let Some(token) = &token {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (k, v) in form_urlencoded_pairs(req.query_string()) {
            if k != TOKEN_PARAM {
                query.append_pair(&k, &v);
            }
        }
        query.append_pair(TOKEN_PARAM, token);
        let link = format!("<{}?{}>; rel=\"next\"", req.path(), query.finish());
        response.headers_mut().insert(
            header::LINK,
            header::HeaderValue::from_str(&link)
                .map_err(|e| AppError::Internal(format!("Link header: {e}")))?,
        );
    }
    Ok(response)
}
