//! Keyset pagination with opaque, tamper-evident page tokens.
//!
//! A token is the sort key of the last item served, signed with HMAC-SHA256 under the
//! server's secret over that key, the endpoint and every filter of the query. A token replayed
//! with other filters, on another endpoint, edited, or made by a server with another secret
//! fails the check and is a 400; nothing in it is trusted before the check passes, and every
//! decoded value is range-checked all the same.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Datelike, Utc};
use hmac::{KeyInit, Mac};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{AppError, AppResult};
use crate::extract::form_urlencoded_pairs;
use crate::limits::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
use crate::state::AppState;
use crate::views::List;

pub const TOKEN_PARAM: &str = "page_token";
/// Bytes of the HMAC kept in a token: 128 bits.
const TAG_LEN: usize = 16;
/// The name of the signing secret in `server_secrets`.
pub const SECRET_NAME: &str = "page_tokens";
/// The shortest secret accepted from configuration.
pub const MIN_SECRET_LEN: usize = 32;

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// The key page tokens are signed with.
#[derive(Clone)]
pub struct TokenKey(Vec<u8>);

impl TokenKey {
    pub fn new(secret: Vec<u8>) -> Self {
        TokenKey(secret)
    }

    fn mac(&self, req: &HttpRequest, key_json: &[u8]) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("HMAC takes any key length");
        // What the query means, not how it is written: a parameter given twice is the list
        // of its values (`initiator=USA&initiator=CHN` is `initiator=USA,CHN`, and
        // `dyad=A,B&dyad=C,D` is `dyad=A,B;C,D`: lists are compared item by item, split at
        // either separator), and the page size and the exact total do not change which items
        // come next.
        let mut pairs: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        for (k, v) in form_urlencoded_pairs(req.query_string()) {
            if ![TOKEN_PARAM, "limit", "include_total"].contains(&k.as_str()) {
                let items = v.split([',', ';']).map(str::to_string);
                pairs.entry(k).or_default().extend(items);
            }
        }
        let pairs = pairs.into_iter().map(|(k, v)| (k, v.join("\u{0}")));
        mac.update(b"riposte page token v2\0");
        mac.update(req.path().as_bytes());
        for (k, v) in pairs {
            // Lengths first, so that no two filter sets give the same bytes.
            for part in [&k, &v] {
                mac.update(&(part.len() as u64).to_be_bytes());
                mac.update(part.as_bytes());
            }
        }
        mac.update(&[0xff]);
        mac.update(key_json);
        mac
    }
}

/// A value a page token may carry, checked to be one the database can take after decoding.
pub trait CursorKey: Serialize + DeserializeOwned {
    fn in_range(&self) -> bool;
}

/// Years PostgreSQL and the API agree on.
pub fn year_in_range(year: i32) -> bool {
    (1..=9999).contains(&year)
}

impl CursorKey for i64 {
    fn in_range(&self) -> bool {
        *self >= 0
    }
}

impl CursorKey for String {
    fn in_range(&self) -> bool {
        self.len() <= crate::limits::MAX_CODE_LEN && !self.contains('\0')
    }
}

impl CursorKey for (DateTime<Utc>, uuid::Uuid) {
    fn in_range(&self) -> bool {
        year_in_range(self.0.year())
    }
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

fn token_key(req: &HttpRequest) -> AppResult<&TokenKey> {
    req.app_data::<web::Data<AppState>>()
        .map(|state| &*state.token_key)
        .ok_or_else(|| AppError::Internal("no app state".into()))
}

/// Reads the `page_token` parameter, if any, as the key of the last item served.
pub fn cursor<K: CursorKey>(req: &HttpRequest, token: Option<&str>) -> AppResult<Option<K>> {
    let Some(token) = token else { return Ok(None) };
    let bad = |why: &str| AppError::bad_param(TOKEN_PARAM, why.to_string());
    let malformed = || bad("not a page token issued by this API");
    let (body, tag) = token.split_once('.').ok_or_else(malformed)?;
    let key_json = URL_SAFE_NO_PAD.decode(body).map_err(|_| malformed())?;
    let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| malformed())?;
    if tag.len() != TAG_LEN {
        return Err(malformed());
    }
    token_key(req)?
        .mac(req, &key_json)
        .verify_truncated_left(&tag)
        .map_err(|_| {
            bad(
                "this page token was not issued by this server for this query (other filters, \
                 another endpoint, or altered); repeat the original query's parameters, or \
                 start again without a token",
            )
        })?;
    let key: K = serde_json::from_slice(&key_json).map_err(|_| malformed())?;
    if !key.in_range() {
        return Err(malformed());
    }
    Ok(Some(key))
}

/// Answers a page, with the token and `Link` header for the next page when `next` (the key
/// of the page's last item) is given, and the total when it was asked for.
pub fn respond<T: Serialize, K: CursorKey>(
    req: &HttpRequest,
    items: Vec<T>,
    next: Option<K>,
    total: Option<i64>,
) -> AppResult<HttpResponse> {
    let token = next_token(req, next)?;
    let response = crate::conditional::respond(
        req,
        &List {
            items,
            next_page_token: token.clone(),
            total,
        },
    )?;
    link_next(req, response, token.as_deref())
}

/// `respond` for a page of stored documents: the body is written around them as they are,
/// and the ETag comes from their versions.
pub fn respond_documents<K: CursorKey>(
    req: &HttpRequest,
    docs: &[crate::documents::Doc],
    next: Option<K>,
    total: Option<i64>,
) -> AppResult<HttpResponse> {
    let token = next_token(req, next)?;
    let tag = crate::documents::list_etag(
        docs,
        &format!("{}|{}", token.as_deref().unwrap_or(""), total.unwrap_or(-1)),
    );
    let body = crate::documents::list_body(docs, token.as_deref(), total);
    let response = crate::conditional::respond_raw(req, tag, body);
    link_next(req, response, token.as_deref())
}

/// The signed token of the page after the item whose key is `next`.
fn next_token<K: CursorKey>(req: &HttpRequest, next: Option<K>) -> AppResult<Option<String>> {
    next.map(|k| {
        let key_json = serde_json::to_vec(&k).map_err(|e| AppError::Internal(e.to_string()))?;
        let tag = token_key(req)?.mac(req, &key_json).finalize().into_bytes();
        Ok::<_, AppError>(format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(&key_json),
            URL_SAFE_NO_PAD.encode(&tag[..TAG_LEN])
        ))
    })
    .transpose()
}

/// Adds the `Link` header of the next page, if there is one.
fn link_next(
    req: &HttpRequest,
    mut response: HttpResponse,
    token: Option<&str>,
) -> AppResult<HttpResponse> {
    if let Some(token) = token {
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
