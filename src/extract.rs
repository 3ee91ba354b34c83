//! Request extractors that turn every malformed input into a precise problem+json error,
//! naming the field at fault (actix's own extractors answer with plain-text messages).

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

use crate::error::{AppError, FieldError};

/// The largest request body accepted, in bytes. Documented in the README and the OpenAPI
/// description; larger bodies get 413.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// How long a request body may take to arrive, from the first byte the handler waits for to
/// the last (at least 100 KiB/s for the largest body). A client that stops sending gets 408
/// and the connection is closed, so it cannot hold a worker's connection slot for ever.
pub const BODY_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// SHA-256 of the raw request body, left in the request's extensions by `JsonBody` (for
/// `Idempotency-Key`).
#[derive(Debug, Clone)]
pub struct BodyHash(pub Vec<u8>);

/// A JSON request body, parsed strictly.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let content_type_ok = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                let essence = v
                    .split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase();
                essence == "application/json"
                    || (essence.starts_with("application/") && essence.ends_with("+json"))
            })
            .unwrap_or(false);
        let declared_len = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let mut payload = payload.take();
        let req = req.clone();
        Box::pin(async move {
            if !content_type_ok {
                return Err(AppError::UnsupportedMediaType(
                    "send the body as JSON with `Content-Type: application/json`".into(),
                ));
            }
            if declared_len.is_some_and(|n| n > MAX_BODY_BYTES) {
                return Err(AppError::PayloadTooLarge {
                    limit: MAX_BODY_BYTES,
                });
            }
            let mut body = Vec::with_capacity(declared_len.unwrap_or(1024).min(MAX_BODY_BYTES));
            let read = async {
                while let Some(chunk) = payload.next().await {
                    let chunk = chunk.map_err(|e| AppError::BadRequest {
                        detail: format!("could not read the request body: {e}"),
                        errors: Vec::new(),
                    })?;
                    if body.len() + chunk.len() > MAX_BODY_BYTES {
                        return Err(AppError::PayloadTooLarge {
                            limit: MAX_BODY_BYTES,
                        });
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(())
            };
            tokio::time::timeout(BODY_READ_TIMEOUT, read)
                .await
                .map_err(|_| AppError::RequestTimeout {
                    seconds: BODY_READ_TIMEOUT.as_secs(),
                })??;
            {
                use sha2::Digest;
                req.extensions_mut()
                    .insert(BodyHash(sha2::Sha256::digest(&body).to_vec()));
            }
            parse_json(&body).map(JsonBody)
        })
    }
}

/// Syntax errors are 400; a well-formed document of the wrong shape is 422 with the path of
/// the offending field.
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, AppError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let parsed: Result<T, _> = serde_path_to_error::deserialize(&mut de);
    match parsed {
        // Anything after the document is a syntax error too.
        Ok(value) => match de.end() {
            Ok(()) => Ok(value),
            Err(e) => Err(AppError::BadRequest {
                detail: format!("the request body is not valid JSON: {e}"),
                errors: Vec::new(),
            }),
        },
        Err(err) => {
            let path = err.path().to_string();
            let inner = err.into_inner();
            use serde_json::error::Category;
            match inner.classify() {
                Category::Data => {
                    let message = inner.to_string();
                    // serde names a missing field in its message, not in the path.
                    let missing = message
                        .strip_prefix("missing field `")
                        .and_then(|rest| rest.split('`').next());
                    let field = match (path.as_str(), missing) {
                        (".", Some(name)) => name.to_string(),
                        (_, Some(name)) => format!("{path}.{name}"),
                        (".", None) => "body".to_string(),
                        _ => path,
                    };
                    Err(AppError::invalid(vec![FieldError::new(
                        field,
                        strip_position(&inner.to_string()),
                    )]))
                }
                Category::Eof if body.iter().all(u8::is_ascii_whitespace) => {
                    Err(AppError::BadRequest {
                        detail: "the request body is empty; send a JSON object".into(),
                        errors: Vec::new(),
                    })
                }
                _ => Err(AppError::BadRequest {
                    detail: format!("the request body is not valid JSON: {inner}"),
                    errors: Vec::new(),
                }),
            }
        }
    }
}

fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(pos) => message[..pos].to_string(),
        None => message.to_string(),
    }
}

/// Query parameters, parsed strictly: unknown parameters, repeated parameters and bad values
/// are 400s naming the parameter.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = AppError;
    type Future = std::future::Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(parse_query(req.query_string(), &[]).map(Query))
    }
}

/// Query parameters of which some may be given more than once (see `Repeatable`).
pub struct RepeatableQuery<T>(pub T);

/// Names the parameters of `T` that may be repeated. The values of a repeated parameter are
/// joined with its separator before parsing, so `?initiator=USA&initiator=CHN` reads like
/// `?initiator=USA,CHN`.
pub trait Repeatable {
    /// (name, separator) of each repeatable parameter.
    const REPEATABLE: &'static [(&'static str, &'static str)];
}

impl<T: DeserializeOwned + Repeatable> FromRequest for RepeatableQuery<T> {
    type Error = AppError;
    type Future = std::future::Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(parse_query(req.query_string(), T::REPEATABLE).map(RepeatableQuery))
    }
}

pub fn parse_query<T: DeserializeOwned>(
    query: &str,
    repeatable: &[(&str, &str)],
) -> Result<T, AppError> {
    let mut merged: Vec<(String, String)> = Vec::new();
    for (key, value) in form_urlencoded_pairs(query) {
        match merged.iter_mut().find(|(k, _)| *k == key) {
            None => merged.push((key, value)),
            Some((_, joined)) => match repeatable.iter().find(|(name, _)| *name == key) {
                Some((_, separator)) => {
                    joined.push_str(separator);
                    joined.push_str(&value);
                }
                // A repeated parameter would silently keep one value; refuse it instead.
                None => {
                    return Err(AppError::bad_param(
                        &key,
                        "given more than once; give it once",
                    ))
                }
            },
        }
    }
    let mut encoded = form_urlencoded::Serializer::new(String::new());
    encoded.extend_pairs(&merged);
    let encoded = encoded.finish();
    let de = serde_urlencoded::Deserializer::new(url_pairs(&encoded));
    serde_path_to_error::deserialize(de).map_err(|err| {
        let path = err.path().to_string();
        let message = err.into_inner().to_string();
        let field = if path == "." {
            // serde names the unknown field in the message itself.
            message.split('`').nth(1).unwrap_or("query").to_string()
        } else {
            path
        };
        AppError::bad_param(&field, message)
    })
}

fn url_pairs(query: &str) -> form_urlencoded::Parse<'_> {
    form_urlencoded::parse(query.as_bytes())
}

/// The query's pairs, decoded, in order.
pub fn form_urlencoded_pairs(query: &str) -> Vec<(String, String)> {
    url_pairs(query)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The `Idempotency-Key` of a POST, bound to the caller's key and the request's body.
pub fn idempotency(
    req: &HttpRequest,
    caller: &crate::auth::Caller,
) -> Result<Option<crate::service::idempotency::Idempotency>, AppError> {
    let body_hash = req
        .extensions()
        .get::<BodyHash>()
        .map(|h| h.0.clone())
        .unwrap_or_default();
    crate::service::idempotency::Idempotency::from_request(
        req.headers(),
        caller.key_id(),
        req.method().as_str(),
        req.path(),
        &body_hash,
    )
}
